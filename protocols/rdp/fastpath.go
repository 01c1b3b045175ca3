package rdp

import "fmt"

// Fast-path output (MS-RDPBCGR 2.2.9.1.2) and input (2.2.8.1.2).

const (
	fastPathActionFastPath  = 0x0
	fastPathOutputEncrypted = 0x2 << 6 // FASTPATH_OUTPUT_ENCRYPTED in fpOutputHeader
)

// Fast-path update codes (2.2.9.1.2.1 updateCode).
const (
	fpUpdateOrders       = 0x0
	fpUpdateBitmap       = 0x1
	fpUpdatePalette      = 0x2
	fpUpdateSynchronize  = 0x3
	fpUpdateSurfCmds     = 0x4
	fpUpdatePtrNull      = 0x5
	fpUpdatePtrDefault   = 0x6
	fpUpdatePtrPosition  = 0x8
	fpUpdateColor        = 0x9
	fpUpdateCached       = 0xA
	fpUpdatePointer      = 0xB
	fpUpdateLargePointer = 0xC
)

// Fragmentation (2.2.9.1.2.1 fragmentation).
const (
	fragmentSingle = 0x0
	fragmentLast   = 0x1
	fragmentFirst  = 0x2
	fragmentNext   = 0x3
)

const fastPathOutputCompressionUsed = 0x2

// handleFastPath handles one fast-path output PDU (the whole frame).
func (c *Client) handleFastPath(p []byte) error {
	const pdu, sec = "Fast-Path Update PDU", "MS-RDPBCGR 2.2.9.1.2"
	if p[0]&fastPathOutputEncrypted != 0 {
		return fmt.Errorf("%w: encrypted fast-path output (standard RDP security)", ErrUnsupported)
	}
	hdr := 2
	if p[1]&0x80 != 0 {
		hdr = 3
	}
	d := decoder{b: p[hdr:]}
	for d.remaining() > 0 {
		uh := d.u8()
		code, frag, comp := uh&0xF, (uh>>4)&0x3, uh>>6
		if comp == fastPathOutputCompressionUsed {
			flags := d.u8()
			if flags&packetCompressed != 0 {
				return protoErr(pdu, sec, "bulk-compressed update, but no compression was advertised")
			}
		}
		size := int(d.u16())
		data := d.bytes(size)
		if d.err != nil {
			return protoErr(pdu, sec, "update size %d exceeds the %d bytes left", size, d.remaining())
		}
		switch frag {
		case fragmentSingle:
			if c.fragging {
				return protoErr(pdu, "MS-RDPBCGR 2.2.9.1.2.1", "unfragmented update inside a fragmented one")
			}
		case fragmentFirst:
			if c.fragging {
				return protoErr(pdu, "MS-RDPBCGR 2.2.9.1.2.1", "first fragment inside a fragmented update")
			}
			c.fragging, c.fragCode = true, code
			c.frag = append(c.frag[:0], data...)
			continue
		case fragmentNext, fragmentLast:
			if !c.fragging || code != c.fragCode {
				return protoErr(pdu, "MS-RDPBCGR 2.2.9.1.2.1", "fragment without a first fragment")
			}
			if len(c.frag)+len(data) > maxMultifragSize {
				return protoErr(pdu, "MS-RDPBCGR 2.2.7.2.6", "reassembled update exceeds %d bytes", maxMultifragSize)
			}
			c.frag = append(c.frag, data...)
			if frag == fragmentNext {
				continue
			}
			c.fragging = false
			data = c.frag
		}
		if err := c.handleFastPathUpdate(code, data); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) handleFastPathUpdate(code uint8, data []byte) error {
	switch code {
	case fpUpdateBitmap:
		return c.handleBitmapUpdate(data)
	case fpUpdatePalette:
		return c.handlePalette(data)
	case fpUpdateSynchronize:
		return nil
	case fpUpdatePtrNull:
		c.sink.SetCursor(nil, pointZero)
		return nil
	case fpUpdatePtrDefault:
		c.setDefaultPointer()
		return nil
	case fpUpdatePtrPosition:
		return handlePointerPosition(data)
	case fpUpdateColor:
		return c.handleColorPointer(data, 24)
	case fpUpdatePointer:
		return c.handleNewPointer(data)
	case fpUpdateLargePointer:
		return c.handleLargePointer(data)
	case fpUpdateCached:
		return c.handleCachedPointer(data)
	case fpUpdateOrders:
		return protoErr("Fast-Path Orders Update", "MS-RDPEGDI 2.2.2.2", "drawing orders were not advertised")
	case fpUpdateSurfCmds:
		return protoErr("Fast-Path Surface Commands Update", "MS-RDPBCGR 2.2.9.1.2.1.10", "surface commands were not advertised")
	}
	c.log.Debug("rdp: ignoring fast-path update", "code", code)
	return nil
}

// Fast-path input event codes (2.2.8.1.2.2 eventCode) and flags.
const (
	fpInputScancode = 0x0
	fpInputMouse    = 0x1
	fpInputMouseX   = 0x2
	fpInputSync     = 0x3
	fpInputUnicode  = 0x4

	kbdFlagsRelease  = 0x01
	kbdFlagsExtended = 0x02
)

// appendFastPathInput builds a fast-path input PDU (2.2.8.1.2) holding the
// events that ev appends. numEvents goes in the header (up to 15 events).
func appendFastPathInput(b []byte, numEvents int, ev func(b []byte) []byte) []byte {
	start := len(b)
	b = append(b, byte(numEvents<<2)|fastPathActionFastPath, 0x80, 0) // 2-byte length
	b = ev(b)
	n := len(b) - start
	b[start+1] = 0x80 | byte(n>>8)
	b[start+2] = byte(n)
	return b
}
