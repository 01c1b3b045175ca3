package rdp

import (
	"strings"
	"unicode/utf16"
)

// The PDUs of the Clipboard Virtual Channel Extension (MS-RDPECLIP 2.2),
// named as the spec names them. Every PDU starts with a Clipboard PDU
// Header; cliprdr.go runs the client's state machine. File copy (File
// Contents Request/Response, the File List format), clipboard data locking
// and the Temporary Directory PDU are not implemented.

// msgType values of the Clipboard PDU Header (2.2.1).
const (
	cbMonitorReady         = 0x0001
	cbFormatList           = 0x0002
	cbFormatListResponse   = 0x0003
	cbFormatDataRequest    = 0x0004
	cbFormatDataResponse   = 0x0005
	cbTempDirectory        = 0x0006
	cbClipCaps             = 0x0007
	cbFileContentsRequest  = 0x0008
	cbFileContentsResponse = 0x0009
	cbLockClipdata         = 0x000A
	cbUnlockClipdata       = 0x000B
)

// msgFlags of the Clipboard PDU Header (2.2.1).
const (
	cbResponseOK   = 0x0001
	cbResponseFail = 0x0002
	cbASCIINames   = 0x0004
)

// The General Capability Set (2.2.2.1.1.1).
const (
	cbCapstypeGeneral        = 0x0001
	cbCapsVersion1           = 0x00000001
	cbCapsVersion2           = 0x00000002
	cbUseLongFormatNames     = 0x00000002
	cbStreamFileclipEnabled  = 0x00000004
	cbFileclipNoFilePaths    = 0x00000008
	cbCanLockClipdata        = 0x00000010
	cbHugeFileSupportEnabled = 0x00000020
)

const (
	clipHeaderSize       = 8  // CLIPRDR_HEADER (2.2.1)
	clipCapsSetHeader    = 4  // capabilitySetType, lengthCapability (2.2.2.1.1)
	clipGeneralCapsSize  = 12 // CLIPRDR_GENERAL_CAPABILITY (2.2.2.1.1.1)
	clipShortNameSize    = 36 // CLIPRDR_SHORT_FORMAT_NAME (2.2.3.1.1.1)
	clipShortNameField   = 32 // its formatName
	clipLongNameMinSize  = 6  // CLIPRDR_LONG_FORMAT_NAME with an empty name (2.2.3.1.2.1)
	clipDataRequestSize  = 4  // requestedFormatId (2.2.5.1)
	clipMaxTrailingBytes = 4  // padding tolerated after dataLen (xrdp adds 4 bytes to some PDUs)
)

// Standard clipboard format IDs (Windows CF_* values, MS-RDPECLIP 1.3.1.2)
// and the name of the registered HTML format.
const (
	CFText        = 1  // CF_TEXT: ANSI (here Windows-1252) text ending in NUL
	CFOEMText     = 7  // CF_OEMTEXT: OEM code page text ending in NUL
	CFDIB         = 8  // CF_DIB: BITMAPINFO followed by the bits
	CFUnicodeText = 13 // CF_UNICODETEXT: UTF-16LE text ending in NUL
	CFDIBV5       = 17 // CF_DIBV5: BITMAPV5HEADER followed by the bits
	// CFNameHTML is the name under which Windows registers the HTML
	// clipboard format; its ID is chosen by the sender (0xC000 and up).
	CFNameHTML = "HTML Format"
)

// ClipboardFormat is one format a clipboard offers: a Clipboard Format ID
// and, for registered formats, its name (MS-RDPECLIP 2.2.3.1).
type ClipboardFormat struct {
	ID   uint32
	Name string // "" for the standard formats (CF_*)
}

// clipHeader is a Clipboard PDU Header (CLIPRDR_HEADER, 2.2.1).
type clipHeader struct {
	msgType  uint16
	msgFlags uint16
	dataLen  uint32
}

// parseClipHeader reads the header of msg and returns the dataLen bytes
// after it. A few bytes of padding after them are tolerated (and
// dropped): xrdp sends 4 extra bytes with some PDUs.
func parseClipHeader(msg []byte) (clipHeader, []byte, error) {
	const pdu, sec = "Clipboard PDU Header", "MS-RDPECLIP 2.2.1"
	if len(msg) < clipHeaderSize {
		return clipHeader{}, nil, protoErr(pdu, sec, "%d bytes", len(msg))
	}
	d := decoder{b: msg}
	h := clipHeader{msgType: d.u16(), msgFlags: d.u16(), dataLen: d.u32()}
	rest := uint64(d.remaining())
	if uint64(h.dataLen) > rest {
		return h, nil, protoErr(pdu, sec, "dataLen %d, but %d bytes follow the header (msgType %d)", h.dataLen, rest, h.msgType)
	}
	if rest-uint64(h.dataLen) > clipMaxTrailingBytes {
		return h, nil, protoErr(pdu, sec, "dataLen %d, but %d bytes follow the header (msgType %d)", h.dataLen, rest, h.msgType)
	}
	return h, d.bytes(int(h.dataLen)), nil
}

// appendClipHeader appends a Clipboard PDU Header.
func appendClipHeader(b []byte, msgType, msgFlags uint16, dataLen int) []byte {
	b = putU16(b, msgType)
	b = putU16(b, msgFlags)
	return putU32(b, uint32(dataLen))
}

// clipCaps is what the client keeps of a Clipboard Capabilities PDU
// (CLIPRDR_CAPS, 2.2.2.1): its General Capability Set.
type clipCaps struct {
	general      bool // a General Capability Set was present
	version      uint32
	generalFlags uint32
}

// parseClipCaps reads a Clipboard Capabilities PDU's body (after the
// header). Capability sets of other types are skipped.
func parseClipCaps(body []byte) (clipCaps, error) {
	const pdu, sec = "Clipboard Capabilities PDU", "MS-RDPECLIP 2.2.2.1"
	d := decoder{b: body}
	n := int(d.u16())
	d.skip(2) // pad1
	if d.err != nil {
		return clipCaps{}, protoErr(pdu, sec, "%d bytes", len(body))
	}
	var caps clipCaps
	for i := range n {
		typ, length := d.u16(), int(d.u16())
		if d.err != nil || length < clipCapsSetHeader || length-clipCapsSetHeader > d.remaining() {
			return clipCaps{}, protoErr(pdu, sec, "capability set %d of %d overruns the PDU", i, n)
		}
		set := decoder{b: d.bytes(length - clipCapsSetHeader)}
		if typ != cbCapstypeGeneral {
			continue
		}
		// 2.2.2.1.1.1: lengthCapability is 12.
		if length != clipGeneralCapsSize {
			return clipCaps{}, protoErr(pdu, sec, "General Capability Set of %d bytes", length)
		}
		caps.general, caps.version, caps.generalFlags = true, set.u32(), set.u32()
	}
	if d.remaining() != 0 {
		return clipCaps{}, protoErr(pdu, sec, "%d bytes after %d capability sets", d.remaining(), n)
	}
	return caps, nil
}

// appendClipCaps appends a Clipboard Capabilities PDU with one General
// Capability Set (2.2.2.1, 2.2.2.1.1.1).
func appendClipCaps(b []byte, version, generalFlags uint32) []byte {
	b = appendClipHeader(b, cbClipCaps, 0, 4+clipGeneralCapsSize)
	b = putU16(b, 1) // cCapabilitiesSets
	b = putU16(b, 0) // pad1
	b = putU16(b, cbCapstypeGeneral)
	b = putU16(b, clipGeneralCapsSize)
	b = putU32(b, version)
	return putU32(b, generalFlags)
}

// parseFormatList reads a Format List PDU's body (2.2.3.1): Long Format
// Names (2.2.3.1.2) when both sides announced CB_USE_LONG_FORMAT_NAMES,
// else Short Format Names (2.2.3.1.1), in ASCII when msgFlags has
// CB_ASCII_NAMES and in UTF-16LE otherwise.
func parseFormatList(body []byte, long bool, msgFlags uint16) ([]ClipboardFormat, error) {
	const pdu = "Format List PDU"
	if !long {
		if len(body)%clipShortNameSize != 0 {
			return nil, protoErr(pdu, "MS-RDPECLIP 2.2.3.1.1", "%d bytes of Short Format Names, not a multiple of %d", len(body), clipShortNameSize)
		}
		formats := make([]ClipboardFormat, 0, len(body)/clipShortNameSize)
		for d := (decoder{b: body}); d.remaining() > 0; {
			id := d.u32()
			field := d.bytes(clipShortNameField)
			var name string
			if msgFlags&cbASCIINames != 0 {
				name = decodeWindows1252(field)
			} else {
				name = decodeUTF16Z(field)
			}
			formats = append(formats, ClipboardFormat{ID: id, Name: name})
		}
		return formats, nil
	}
	// Each Long Format Name takes at least clipLongNameMinSize bytes.
	formats := make([]ClipboardFormat, 0, len(body)/clipLongNameMinSize)
	for d := (decoder{b: body}); d.remaining() > 0; {
		id := d.u32()
		if d.err != nil {
			return nil, protoErr(pdu, "MS-RDPECLIP 2.2.3.1.2.1", "%d bytes left for a Long Format Name", d.remaining())
		}
		rest := d.b[d.off:]
		end := utf16NUL(rest)
		if end < 0 {
			return nil, protoErr(pdu, "MS-RDPECLIP 2.2.3.1.2.1", "format %#x: wszFormatName without a terminating NUL", id)
		}
		formats = append(formats, ClipboardFormat{ID: id, Name: decodeUTF16(rest[:end])})
		d.skip(end + 2)
	}
	return formats, nil
}

// utf16NUL returns the offset of the first UTF-16 NUL (two zero bytes at
// an even offset) in b, or -1.
func utf16NUL(b []byte) int {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return i
		}
	}
	return -1
}

// appendFormatList appends a Format List PDU (2.2.3.1) announcing formats,
// with Long Format Names when long, else Short Format Names in UTF-16LE
// (names cut to 15 characters).
func appendFormatList(b []byte, formats []ClipboardFormat, long bool) []byte {
	var names [][]byte
	size := 0
	for _, f := range formats {
		u := utf16le(f.Name)
		names = append(names, u)
		if long {
			size += 4 + len(u) + 2
		} else {
			size += clipShortNameSize
		}
	}
	b = appendClipHeader(b, cbFormatList, 0, size)
	for i, f := range formats {
		b = putU32(b, f.ID)
		if long {
			b = append(append(b, names[i]...), 0, 0)
		} else {
			b = putFixedUTF16(b, f.Name, clipShortNameField)
		}
	}
	return b
}

// appendFormatListResponse appends a Format List Response PDU (2.2.3.2).
func appendFormatListResponse(b []byte, ok bool) []byte {
	return appendClipHeader(b, cbFormatListResponse, responseFlags(ok), 0)
}

func responseFlags(ok bool) uint16 {
	if ok {
		return cbResponseOK
	}
	return cbResponseFail
}

// parseFormatDataRequest reads a Format Data Request PDU's body (2.2.5.1).
func parseFormatDataRequest(body []byte) (uint32, error) {
	if len(body) != clipDataRequestSize {
		return 0, protoErr("Format Data Request PDU", "MS-RDPECLIP 2.2.5.1", "%d bytes, want %d", len(body), clipDataRequestSize)
	}
	d := decoder{b: body}
	return d.u32(), nil
}

// appendFormatDataRequest appends a Format Data Request PDU (2.2.5.1).
func appendFormatDataRequest(b []byte, format uint32) []byte {
	b = appendClipHeader(b, cbFormatDataRequest, 0, clipDataRequestSize)
	return putU32(b, format)
}

// appendFormatDataResponse appends a Format Data Response PDU (2.2.5.2):
// data with CB_RESPONSE_OK, or nothing with CB_RESPONSE_FAIL.
func appendFormatDataResponse(b []byte, ok bool, data []byte) []byte {
	if !ok {
		data = nil
	}
	b = appendClipHeader(b, cbFormatDataResponse, responseFlags(ok), len(data))
	return append(b, data...)
}

// checkResponseFlags checks that a response PDU's msgFlags has exactly
// one of CB_RESPONSE_OK and CB_RESPONSE_FAIL (2.2.1) and returns which.
func checkResponseFlags(pdu, sec string, flags uint16) (ok bool, err error) {
	switch flags &^ cbASCIINames {
	case cbResponseOK:
		return true, nil
	case cbResponseFail:
		return false, nil
	}
	return false, protoErr(pdu, sec, "msgFlags %#04x has neither CB_RESPONSE_OK nor CB_RESPONSE_FAIL alone", flags)
}

// Text in the clipboard formats.

// encodeUnicodeText encodes s as CF_UNICODETEXT: UTF-16LE ending in NUL.
func encodeUnicodeText(s string) []byte {
	return append(utf16le(s), 0, 0)
}

// encodeANSIText encodes s as CF_TEXT in Windows-1252, ending in NUL;
// characters it lacks (and NUL) become '?'.
func encodeANSIText(s string) []byte {
	b := make([]byte, 0, len(s)+1)
	for _, r := range s {
		c, ok := encode1252(r)
		if !ok || c == 0 {
			c = '?'
		}
		b = append(b, c)
	}
	return append(b, 0)
}

// ClipboardText decodes clipboard data in a text format: CF_UNICODETEXT
// (UTF-16LE up to the first NUL; unpaired surrogates become U+FFFD) or
// CF_TEXT and CF_OEMTEXT (Windows-1252 up to the first NUL; OEM text is
// read as Windows-1252 too, which is right for ASCII). ok is false for
// other formats.
func ClipboardText(format uint32, data []byte) (text string, ok bool) {
	switch format {
	case CFUnicodeText:
		return decodeUTF16Z(data), true
	case CFText, CFOEMText:
		return decodeWindows1252(data), true
	}
	return "", false
}

// decodeUTF16Z decodes UTF-16LE up to the first NUL (or the end; an odd
// last byte is dropped).
func decodeUTF16Z(b []byte) string {
	if end := utf16NUL(b); end >= 0 {
		b = b[:end]
	}
	return decodeUTF16(b)
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// cp1252High maps Windows-1252 bytes 0x80-0x9F to Unicode; the five
// unassigned bytes map to the C1 controls of the same value, as Windows
// converts them. 0xA0-0xFF are Latin-1.
var cp1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// decodeWindows1252 decodes Windows-1252 up to the first NUL.
func decodeWindows1252(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == 0:
			return s.String()
		case c >= 0x80 && c < 0xA0:
			s.WriteRune(cp1252High[c-0x80])
		default:
			s.WriteRune(rune(c))
		}
	}
	return s.String()
}

// encode1252 returns the Windows-1252 byte for r.
func encode1252(r rune) (byte, bool) {
	if r < 0x80 || (r >= 0xA0 && r <= 0xFF) {
		return byte(r), true
	}
	for i, m := range cp1252High {
		if m == r {
			return byte(0x80 + i), true
		}
	}
	return 0, false
}
