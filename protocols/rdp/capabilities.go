package rdp

// Capability exchange (MS-RDPBCGR 2.2.1.13): the server's Demand Active PDU
// lists its capability sets; the client answers with Confirm Active.

// Capability set types (2.2.1.13.1.1.1 TS_CAPS_SET).
const (
	capsTypeGeneral        = 0x0001
	capsTypeBitmap         = 0x0002
	capsTypeOrder          = 0x0003
	capsTypeBitmapCache    = 0x0004
	capsTypeControl        = 0x0005
	capsTypeActivation     = 0x0007
	capsTypePointer        = 0x0008
	capsTypeShare          = 0x0009
	capsTypeColorCache     = 0x000A
	capsTypeSound          = 0x000C
	capsTypeInput          = 0x000D
	capsTypeFont           = 0x000E
	capsTypeBrush          = 0x000F
	capsTypeGlyphCache     = 0x0010
	capsTypeOffscreenCache = 0x0011
	capsTypeVirtualChannel = 0x0014
	capsTypeMultifragment  = 0x001A
	capsTypeLargePointer   = 0x001B
)

// General capability extraFlags (2.2.7.1.1).
const (
	fastPathOutputSupported  = 0x0001
	noBitmapCompressionHdr   = 0x0400
	longCredentialsSupported = 0x0004
	autoReconnectSupported   = 0x0008
	encSaltedChecksum        = 0x0010
)

// Input capability flags (2.2.7.1.6).
const (
	inputFlagScancodes      = 0x0001
	inputFlagMouseX         = 0x0004
	inputFlagFastPathInput  = 0x0008
	inputFlagUnicode        = 0x0010
	inputFlagFastPathInput2 = 0x0020
	inputFlagMouseHWheel    = 0x0100
)

// maxMultifragSize is the largest reassembled fast-path update we accept and
// advertise (2.2.7.2.6): a full 32 bpp screen of 4096x2048 plus headers.
const maxMultifragSize = 4096*2048*4 + 0x10000

// demandActive is what we use of the server's Demand Active PDU (2.2.1.13.1).
type demandActive struct {
	shareID        uint32
	width, height  int
	bpp            int
	fastPathOutput bool
	inputFlags     uint16
	multifragSize  uint32
	largePointer   bool
}

// parseDemandActive parses TS_DEMAND_ACTIVE_PDU after the share control header.
func parseDemandActive(p []byte) (*demandActive, error) {
	const pdu, sec = "Demand Active PDU", "MS-RDPBCGR 2.2.1.13.1"
	d := decoder{b: p}
	da := &demandActive{shareID: d.u32()}
	lenSource := int(d.u16())
	lenCaps := int(d.u16())
	d.skip(lenSource)
	caps := d.bytes(lenCaps)
	if d.err != nil {
		return nil, protoErr(pdu, sec, "descriptor %d and capabilities %d bytes exceed the %d-byte PDU", lenSource, lenCaps, len(p))
	}
	cd := decoder{b: caps}
	n := int(cd.u16())
	cd.u16() // pad2Octets
	for i := 0; i < n && cd.err == nil; i++ {
		typ, length := cd.u16(), int(cd.u16())
		if cd.err != nil {
			break
		}
		if length < 4 {
			return nil, protoErr(pdu, "MS-RDPBCGR 2.2.1.13.1.1.1", "capability set %#x length %d", typ, length)
		}
		body := cd.bytes(length - 4)
		if cd.err != nil {
			return nil, protoErr(pdu, "MS-RDPBCGR 2.2.1.13.1.1.1", "capability set %#x length %d exceeds the data", typ, length)
		}
		bd := decoder{b: body}
		switch typ {
		case capsTypeGeneral: // 2.2.7.1.1
			bd.skip(10)
			da.fastPathOutput = bd.u16()&fastPathOutputSupported != 0
		case capsTypeBitmap: // 2.2.7.1.2
			da.bpp = int(bd.u16())
			bd.skip(6)
			da.width, da.height = int(bd.u16()), int(bd.u16())
		case capsTypeInput: // 2.2.7.1.6
			da.inputFlags = bd.u16()
		case capsTypeMultifragment: // 2.2.7.2.6
			da.multifragSize = bd.u32()
		case capsTypeLargePointer: // 2.2.7.2.7
			da.largePointer = bd.u16()&1 != 0
		}
		if bd.err != nil {
			return nil, protoErr(pdu, "MS-RDPBCGR 2.2.7", "capability set %#x of %d bytes is truncated", typ, length)
		}
	}
	if cd.err != nil {
		return nil, protoErr(pdu, sec, "capability sets truncated")
	}
	if da.width <= 0 || da.height <= 0 || da.width > maxDesktopSize || da.height > maxDesktopSize {
		return nil, protoErr(pdu, "MS-RDPBCGR 2.2.7.1.2", "desktop size %dx%d", da.width, da.height)
	}
	return da, nil
}

// maxDesktopSize bounds each desktop dimension (8192 is the largest any RDP
// server supports, 2.2.1.3.6 monitor limits).
const maxDesktopSize = 8192

// capSet appends one capability set with its header.
func capSet(b []byte, typ uint16, body []byte) []byte {
	b = putU16(b, typ)
	b = putU16(b, uint16(4+len(body)))
	return append(b, body...)
}

// confirmActivePDU builds TS_CONFIRM_ACTIVE_PDU (2.2.1.13.2) with its share
// control header. We advertise no drawing orders, no bitmap cache and no
// bulk compression, so the server sends plain bitmap updates.
func confirmActivePDU(b []byte, userID uint16, da *demandActive, cfg *Config) []byte {
	var caps []byte
	n := 0
	add := func(typ uint16, body []byte) { caps = capSet(caps, typ, body); n++ }

	var g []byte          // General (2.2.7.1.1)
	g = putU16(g, 1)      // osMajorType: Windows
	g = putU16(g, 3)      // osMinorType: Windows NT
	g = putU16(g, 0x0200) // protocolVersion
	g = putU16(g, 0)      // pad
	g = putU16(g, 0)      // generalCompressionTypes
	g = putU16(g, fastPathOutputSupported|noBitmapCompressionHdr|longCredentialsSupported|encSaltedChecksum)
	g = putU16(g, 0)    // updateCapabilityFlag
	g = putU16(g, 0)    // remoteUnshareFlag
	g = putU16(g, 0)    // generalCompressionLevel
	g = append(g, 1, 0) // refreshRectSupport, suppressOutputSupport
	add(capsTypeGeneral, g)

	var bm []byte // Bitmap (2.2.7.1.2)
	bm = putU16(bm, uint16(cfg.ColorDepth))
	bm = putU16(bm, 1)
	bm = putU16(bm, 1)
	bm = putU16(bm, 1)
	bm = putU16(bm, uint16(cfg.Width))
	bm = putU16(bm, uint16(cfg.Height))
	bm = putU16(bm, 0)
	bm = putU16(bm, 1)       // desktopResizeFlag
	bm = putU16(bm, 1)       // bitmapCompressionFlag
	bm = append(bm, 0, 0x08) // highColorFlags; drawingFlags: DRAW_ALLOW_SKIP_ALPHA
	bm = putU16(bm, 1)       // multipleRectangleSupport
	bm = putU16(bm, 0)
	add(capsTypeBitmap, bm)

	o := make([]byte, 0, 84)           // Order (2.2.7.1.3): no orders supported
	o = append(o, make([]byte, 16)...) // terminalDescriptor
	o = putU32(o, 0)
	o = putU16(o, 1)  // desktopSaveXGranularity
	o = putU16(o, 20) // desktopSaveYGranularity
	o = putU16(o, 0)
	o = putU16(o, 1)                   // maximumOrderLevel
	o = putU16(o, 0)                   // numberFonts
	o = putU16(o, 0x0002|0x0008)       // NEGOTIATEORDERSUPPORT | ZEROBOUNDSDELTASSUPPORT
	o = append(o, make([]byte, 32)...) // orderSupport: none
	o = putU16(o, 0)                   // textFlags
	o = putU16(o, 0)                   // orderSupportExFlags
	o = putU32(o, 0)
	o = putU32(o, 0) // desktopSaveSize
	o = putU16(o, 0)
	o = putU16(o, 0)
	o = putU16(o, 0) // textANSICodePage
	o = putU16(o, 0)
	add(capsTypeOrder, o)

	add(capsTypeBitmapCache, make([]byte, 36)) // rev1 with no cells (2.2.7.1.4.1)

	var p []byte      // Pointer (2.2.7.1.5)
	p = putU16(p, 1)  // colorPointerFlag
	p = putU16(p, 25) // colorPointerCacheSize
	p = putU16(p, 25) // pointerCacheSize
	add(capsTypePointer, p)

	var in []byte // Input (2.2.7.1.6)
	in = putU16(in, inputFlagScancodes|inputFlagMouseX|inputFlagFastPathInput|inputFlagUnicode|inputFlagFastPathInput2|inputFlagMouseHWheel)
	in = putU16(in, 0)
	in = putU32(in, cfg.KeyboardLayout)
	in = putU32(in, 4)
	in = putU32(in, 0)
	in = putU32(in, 12)
	in = append(in, make([]byte, 64)...)
	add(capsTypeInput, in)

	add(capsTypeBrush, make([]byte, 4)) // BRUSH_DEFAULT (2.2.7.1.7)
	gc := make([]byte, 48)              // Glyph cache (2.2.7.1.8): GLYPH_SUPPORT_NONE
	add(capsTypeGlyphCache, gc)
	add(capsTypeOffscreenCache, make([]byte, 8)) // not supported (2.2.7.1.9)
	var vc []byte                                // Virtual channel (2.2.7.1.10)
	vc = putU32(vc, 0)
	vc = putU32(vc, 1600)
	add(capsTypeVirtualChannel, vc)
	add(capsTypeSound, make([]byte, 4)) // no beeps (2.2.7.1.11)
	add(capsTypeShare, make([]byte, 4))
	add(capsTypeFont, []byte{1, 0, 0, 0}) // FONTSUPPORT_FONTLIST
	add(capsTypeControl, []byte{0, 0, 0, 0, 2, 0, 2, 0})
	add(capsTypeActivation, make([]byte, 8))
	add(capsTypeColorCache, []byte{6, 0, 0, 0})
	add(capsTypeMultifragment, putU32(nil, maxMultifragSize))
	add(capsTypeLargePointer, []byte{1, 0}) // LARGE_POINTER_FLAG_96x96

	start := len(b)
	b = putU16(b, 0) // totalLength, set below
	b = putU16(b, pduTypeConfirmActive|pduVersion)
	b = putU16(b, userID)
	b = putU32(b, da.shareID)
	b = putU16(b, 0x03EA) // originatorId: the server channel
	src := []byte("RACGATE\x00")
	b = putU16(b, uint16(len(src)))
	b = putU16(b, uint16(4+len(caps)))
	b = append(b, src...)
	b = putU16(b, uint16(n))
	b = putU16(b, 0)
	b = append(b, caps...)
	setU16(b[start:], uint16(len(b)-start))
	return b
}
