package vnc

import (
	"encoding/binary"
	"strconv"
)

// Message types and encodings, named as in RFC 6143 and the community
// specification (rfbproto, https://github.com/rfbproto/rfbproto).

// Security types (RFC 6143 §7.1.2, rfbproto "Security Types").
const (
	SecurityInvalid  uint8 = 0
	SecurityNone     uint8 = 1
	SecurityVNCAuth  uint8 = 2
	SecurityVeNCrypt uint8 = 19
)

// VeNCrypt subtypes (rfbproto "VeNCrypt").
const (
	vencryptPlain     uint32 = 256
	vencryptTLSNone   uint32 = 257
	vencryptTLSVnc    uint32 = 258
	vencryptTLSPlain  uint32 = 259
	vencryptX509None  uint32 = 260
	vencryptX509Vnc   uint32 = 261
	vencryptX509Plain uint32 = 262
)

// Client-to-server message types (RFC 6143 §7.5, rfbproto).
const (
	msgSetPixelFormat           uint8 = 0
	msgSetEncodings             uint8 = 2
	msgFramebufferUpdateRequest uint8 = 3
	msgKeyEvent                 uint8 = 4
	msgPointerEvent             uint8 = 5
	msgClientCutText            uint8 = 6
	msgEnableContinuousUpdates  uint8 = 150
	msgClientFence              uint8 = 248
	msgSetDesktopSize           uint8 = 251
	msgQEMUClientMessage        uint8 = 255
	qemuExtendedKeyEvent        uint8 = 0 // QEMU client message submessage type
)

// Server-to-client message types (RFC 6143 §7.6, rfbproto).
const (
	msgFramebufferUpdate      uint8 = 0
	msgSetColourMapEntries    uint8 = 1
	msgBell                   uint8 = 2
	msgServerCutText          uint8 = 3
	msgEndOfContinuousUpdates uint8 = 150
	msgServerFence            uint8 = 248
)

// Encodings and pseudo-encodings (RFC 6143 §7.7-7.8, rfbproto "Encodings").
const (
	EncodingRaw      int32 = 0
	EncodingCopyRect int32 = 1
	EncodingRRE      int32 = 2
	EncodingHextile  int32 = 5
	EncodingZlib     int32 = 6
	EncodingTight    int32 = 7
	EncodingZRLE     int32 = 16

	PseudoEncodingCompressLevel0       int32 = -256 // ..-247 for levels 0..9
	PseudoEncodingQualityLevel0        int32 = -32  // ..-23 for levels 0..9
	PseudoEncodingQEMUExtendedKeyEvent int32 = -258
	PseudoEncodingCursor               int32 = -239
	PseudoEncodingDesktopSize          int32 = -223
	PseudoEncodingLastRect             int32 = -224
	PseudoEncodingDesktopName          int32 = -307
	PseudoEncodingExtendedDesktopSize  int32 = -308
	PseudoEncodingFence                int32 = -312
	PseudoEncodingContinuousUpdates    int32 = -313
	PseudoEncodingExtendedClipboard    int32 = -1063131698 // 0xc0a1e5ce
)

// pseudoEncodings are always announced after the caller's encodings.
var pseudoEncodings = [...]int32{
	PseudoEncodingDesktopSize,
	PseudoEncodingExtendedDesktopSize,
	PseudoEncodingLastRect,
	PseudoEncodingCursor,
	PseudoEncodingDesktopName,
	PseudoEncodingFence,
	PseudoEncodingContinuousUpdates,
	PseudoEncodingQEMUExtendedKeyEvent,
	PseudoEncodingExtendedClipboard,
}

// defaultEncodings is the order used when Config.Encodings is nil.
var defaultEncodings = [...]int32{
	EncodingTight, EncodingZRLE, EncodingHextile, EncodingZlib, EncodingRRE, EncodingCopyRect, EncodingRaw,
}

func encodingName(e int32) string {
	switch e {
	case EncodingRaw:
		return "Raw"
	case EncodingCopyRect:
		return "CopyRect"
	case EncodingRRE:
		return "RRE"
	case EncodingHextile:
		return "Hextile"
	case EncodingZlib:
		return "Zlib"
	case EncodingTight:
		return "Tight"
	case EncodingZRLE:
		return "ZRLE"
	case PseudoEncodingCursor:
		return "Cursor"
	case PseudoEncodingDesktopSize:
		return "DesktopSize"
	case PseudoEncodingLastRect:
		return "LastRect"
	case PseudoEncodingDesktopName:
		return "DesktopName"
	case PseudoEncodingExtendedDesktopSize:
		return "ExtendedDesktopSize"
	case PseudoEncodingQEMUExtendedKeyEvent:
		return "QEMUExtendedKeyEvent"
	case PseudoEncodingFence:
		return "Fence"
	case PseudoEncodingContinuousUpdates:
		return "ContinuousUpdates"
	case PseudoEncodingExtendedClipboard:
		return "ExtendedClipboard"
	}
	return "encoding " + strconv.Itoa(int(e))
}

// pixelFormat is the PIXEL_FORMAT structure (RFC 6143 §7.4).
type pixelFormat struct {
	BitsPerPixel, Depth             uint8
	BigEndian, TrueColour           bool
	RedMax, GreenMax, BlueMax       uint16
	RedShift, GreenShift, BlueShift uint8
}

// framebufferFormat is what the client asks for: pixels arrive in the render
// framebuffer layout (R, G, B, X bytes), so raw data needs no conversion.
var framebufferFormat = pixelFormat{
	BitsPerPixel: 32, Depth: 24, BigEndian: false, TrueColour: true,
	RedMax: 255, GreenMax: 255, BlueMax: 255,
	RedShift: 0, GreenShift: 8, BlueShift: 16,
}

func (p pixelFormat) marshal(b []byte) []byte {
	return append(b, p.BitsPerPixel, p.Depth, boolByte(p.BigEndian), boolByte(p.TrueColour),
		byte(p.RedMax>>8), byte(p.RedMax), byte(p.GreenMax>>8), byte(p.GreenMax),
		byte(p.BlueMax>>8), byte(p.BlueMax), p.RedShift, p.GreenShift, p.BlueShift, 0, 0, 0)
}

func unmarshalPixelFormat(b []byte) pixelFormat {
	return pixelFormat{
		BitsPerPixel: b[0], Depth: b[1], BigEndian: b[2] != 0, TrueColour: b[3] != 0,
		RedMax: binary.BigEndian.Uint16(b[4:]), GreenMax: binary.BigEndian.Uint16(b[6:]),
		BlueMax: binary.BigEndian.Uint16(b[8:]), RedShift: b[10], GreenShift: b[11], BlueShift: b[12],
	}
}

// rectHeader precedes each rectangle of a FramebufferUpdate (RFC 6143 §7.6.1).
type rectHeader struct {
	X, Y, Width, Height uint16
	Encoding            int32
}

// screen is one screen of an ExtendedDesktopSize layout (rfbproto "ExtendedDesktopSize").
type screen struct {
	ID                  uint32
	X, Y, Width, Height uint16
	Flags               uint32
}

// Fence flags (rfbproto "Fence").
const (
	fenceBlockBefore uint32 = 1 << 0
	fenceBlockAfter  uint32 = 1 << 1
	fenceSyncNext    uint32 = 1 << 2
	fenceRequest     uint32 = 1 << 31
	fenceKnown              = fenceBlockBefore | fenceBlockAfter | fenceSyncNext
)

// Extended clipboard flags (rfbproto "Extended Clipboard Pseudo-Encoding").
const (
	clipText    uint32 = 1 << 0
	clipRTF     uint32 = 1 << 1
	clipHTML    uint32 = 1 << 2
	clipDIB     uint32 = 1 << 3
	clipFiles   uint32 = 1 << 4
	clipFormats uint32 = 0xffff
	clipCaps    uint32 = 1 << 24
	clipRequest uint32 = 1 << 25
	clipPeek    uint32 = 1 << 26
	clipNotify  uint32 = 1 << 27
	clipProvide uint32 = 1 << 28
	clipActions uint32 = 0x1f << 24
)

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
