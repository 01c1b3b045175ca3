package rdp

import (
	"errors"
	"fmt"
)

// Slow-path PDUs: a Share Control Header (MS-RDPBCGR 2.2.8.1.1.1.1) and, for
// data PDUs, a Share Data Header (2.2.8.1.1.1.2), inside MCS Send Data.

// Share control PDU types (2.2.8.1.1.1.1 pduType).
const (
	pduTypeDemandActive  = 0x1
	pduTypeConfirmActive = 0x3
	pduTypeDeactivateAll = 0x6
	pduTypeData          = 0x7
	pduTypeServerRedir   = 0xA
	pduVersion           = 0x10 // TS_PROTOCOL_VERSION in the high bits
)

// Share data PDU types (2.2.8.1.1.1.2 pduType2).
const (
	pduType2Update                = 2
	pduType2Control               = 20
	pduType2Pointer               = 27
	pduType2Input                 = 28
	pduType2Synchronize           = 31
	pduType2RefreshRect           = 33
	pduType2PlaySound             = 34
	pduType2SuppressOutput        = 35
	pduType2ShutdownRequest       = 36
	pduType2ShutdownDenied        = 37
	pduType2SaveSessionInfo       = 38
	pduType2FontList              = 39
	pduType2FontMap               = 40
	pduType2SetKeyboardIndicators = 41
	pduType2SetErrorInfo          = 47
	pduType2StatusInfo            = 54
	pduType2MonitorLayout         = 55
)

const streamLow = 1 // STREAM_LOW

// shareControl is a parsed Share Control Header with its body.
type shareControl struct {
	pduType uint16 // without the version bits
	source  uint16
	body    []byte
}

// parseShareControl splits one Share Control PDU off p and returns the rest:
// a Send Data Indication may hold several concatenated PDUs.
func parseShareControl(p []byte) (sc shareControl, rest []byte, err error) {
	const pdu, sec = "Share Control Header", "MS-RDPBCGR 2.2.8.1.1.1.1"
	d := decoder{b: p}
	total := int(d.u16())
	if total == 0x8000 { // a Flow PDU (2.2.8.1.1.1.1): 8 bytes, ignored
		if len(p) < 8 {
			return sc, nil, protoErr("Flow PDU", "MS-RDPBCGR 2.2.8.1.1.1.1", "truncated")
		}
		return shareControl{}, p[8:], nil
	}
	typ := d.u16()
	src := d.u16()
	if d.err != nil || total < 6 || total > len(p) {
		return sc, nil, protoErr(pdu, sec, "totalLength %d of %d bytes", total, len(p))
	}
	return shareControl{pduType: typ & 0xF, source: src, body: p[6:total]}, p[total:], nil
}

// shareData is a parsed Share Data Header with its body.
type shareData struct {
	pduType2 uint8
	body     []byte
}

// Compression flags in the Share Data Header (2.2.8.1.1.1.2 compressedType).
const packetCompressed = 0x20

func parseShareData(p []byte) (shareData, error) {
	const pdu, sec = "Share Data Header", "MS-RDPBCGR 2.2.8.1.1.1.2"
	d := decoder{b: p}
	d.u32() // shareId
	d.u8()  // pad1
	d.u8()  // streamId
	d.u16() // uncompressedLength
	typ2 := d.u8()
	compressed := d.u8()
	d.u16() // compressedLength
	if d.err != nil {
		return shareData{}, protoErr(pdu, sec, "truncated")
	}
	if compressed&packetCompressed != 0 {
		return shareData{}, protoErr(pdu, sec, "bulk-compressed PDU type %d, but no compression was advertised", typ2)
	}
	return shareData{pduType2: typ2, body: d.rest()}, nil
}

// appendShareDataPDU wraps body in Share Control and Share Data headers.
func appendShareDataPDU(b []byte, userID uint16, shareID uint32, pduType2 uint8, body []byte) []byte {
	total := 18 + len(body)
	b = putU16(b, uint16(total))
	b = putU16(b, pduTypeData|pduVersion)
	b = putU16(b, userID)
	b = putU32(b, shareID)
	b = append(b, 0, streamLow)
	b = putU16(b, uint16(4+len(body))) // uncompressedLength: from pduType2 on
	b = append(b, pduType2, 0)
	b = putU16(b, 0)
	return append(b, body...)
}

// Slow-path update types (2.2.9.1.1.3.1 updateType).
const (
	updateTypeOrders      = 0
	updateTypeBitmap      = 1
	updateTypePalette     = 2
	updateTypeSynchronize = 3
)

// Slow-path pointer message types (2.2.9.1.1.4 messageType).
const (
	ptrMsgTypeSystem   = 0x0001
	ptrMsgTypePosition = 0x0003
	ptrMsgTypeColor    = 0x0006
	ptrMsgTypeCached   = 0x0007
	ptrMsgTypePointer  = 0x0008
	ptrMsgTypeLarge    = 0x0009
)

// handleSlowPath handles one TPKT frame after the channel connection.
func (c *Client) handleSlowPath(p []byte) error {
	p, err := x224Data(p)
	if err != nil {
		return err
	}
	ch, data, err := parseMCSDomainPDU(p)
	if err != nil {
		var de *disconnectError
		if errors.As(err, &de) {
			return c.readError(err)
		}
		return err
	}
	if ch != c.server.ioChannel {
		return c.handleChannelData(ch, data)
	}
	for len(data) > 0 {
		var sc shareControl
		sc, data, err = parseShareControl(data)
		if err != nil {
			return err
		}
		switch sc.pduType {
		case 0: // Flow PDU
		case pduTypeDemandActive:
			if err := c.activate(sc.body); err != nil {
				return err
			}
		case pduTypeDeactivateAll:
			// 1.3.1.3: the server starts a new capability exchange.
			c.active = false
			c.log.Debug("rdp: deactivate all")
		case pduTypeData:
			if err := c.handleData(sc.body); err != nil {
				return err
			}
		case pduTypeServerRedir:
			return fmt.Errorf("%w: server redirection (MS-RDPBCGR 2.2.13)", ErrUnsupported)
		default:
			c.log.Debug("rdp: ignoring share control PDU", "type", sc.pduType)
		}
	}
	return nil
}

// activate answers a Demand Active PDU with Confirm Active and the client
// finalization PDUs (1.3.1.1 phases 8 and 9; also reactivation, 1.3.1.3).
func (c *Client) activate(body []byte) error {
	da, err := parseDemandActive(body)
	if err != nil {
		return err
	}
	if da.bpp != 0 && da.bpp != c.cfg.ColorDepth {
		c.log.Debug("rdp: server chose another colour depth", "bpp", da.bpp)
	}
	c.mu.Lock()
	c.shareID = da.shareID
	resized := da.width != c.width || da.height != c.height
	c.width, c.height = da.width, da.height
	c.fastInputShared = da.inputFlags&(inputFlagFastPathInput|inputFlagFastPathInput2) != 0
	c.mu.Unlock()
	if resized {
		c.dropBigBuffers(da.width, da.height)
		c.sink.Resize(da.width, da.height)
	}
	if err := c.sendIO(func(b []byte) []byte { return confirmActivePDU(b, c.userID, da, &c.cfg) }); err != nil {
		return err
	}
	for _, f := range finalizationPDUs() {
		if err := c.sendIO(func(b []byte) []byte {
			return appendShareDataPDU(b, c.userID, da.shareID, f.typ, f.body)
		}); err != nil {
			return err
		}
	}
	return nil
}

// handleData handles a Share Data PDU (2.2.8.1.1.1.2).
func (c *Client) handleData(p []byte) error {
	sd, err := parseShareData(p)
	if err != nil {
		return err
	}
	switch sd.pduType2 {
	case pduType2Update:
		return c.handleSlowPathUpdate(sd.body)
	case pduType2Pointer:
		return c.handleSlowPathPointer(sd.body)
	case pduType2FontMap: // 2.2.1.22: the last finalization PDU
		c.active = true
	case pduType2SetErrorInfo: // 2.2.5.1.1
		d := decoder{b: sd.body}
		if v := d.u32(); d.err == nil {
			c.errorInfo = v
			if v != 0 {
				c.log.Debug("rdp: server error info", "code", v)
			}
		}
	case pduType2SaveSessionInfo: // 2.2.10.1
		return c.handleSaveSessionInfo(sd.body)
	case pduType2Synchronize, pduType2Control, pduType2SetKeyboardIndicators,
		pduType2PlaySound, pduType2StatusInfo, pduType2MonitorLayout, pduType2ShutdownDenied:
	default:
		c.log.Debug("rdp: ignoring data PDU", "pduType2", sd.pduType2)
	}
	return nil
}

// Save Session Info (2.2.10.1.1): extended logon info (2.2.10.1.1.4) may
// carry logon errors (2.2.10.1.1.4.1.1).
const (
	infoTypeLogonExtendedInfo  = 3
	logonExAutoReconnectCookie = 0x1
	logonExLogonErrors         = 0x2
)

func (c *Client) handleSaveSessionInfo(p []byte) error {
	const pdu, sec = "Save Session Info PDU", "MS-RDPBCGR 2.2.10.1.1.4"
	d := decoder{b: p}
	if d.u32() != infoTypeLogonExtendedInfo {
		return nil
	}
	d.u16() // Length
	present := d.u32()
	if present&logonExAutoReconnectCookie != 0 {
		d.skip(int(d.u32()))
	}
	if present&logonExLogonErrors == 0 {
		return nil
	}
	d.u32() // cbFieldData
	typ, data := d.u32(), d.u32()
	if d.err != nil {
		return protoErr(pdu, sec, "truncated logon errors")
	}
	c.log.Debug("rdp: logon error info", "type", typ, "data", data)
	if name, ok := logonStatus[typ]; ok {
		return fmt.Errorf("%w: the server reports %s (%#08x) (MS-RDPBCGR 2.2.10.1.1.4.1.1)", ErrAuthFailed, name, typ)
	}
	return nil
}

// handleSlowPathUpdate handles TS_UPDATE_* in a slow-path Update PDU.
func (c *Client) handleSlowPathUpdate(p []byte) error {
	d := decoder{b: p}
	typ := d.u16()
	if d.err != nil {
		return protoErr("Update PDU", "MS-RDPBCGR 2.2.9.1.1.3", "truncated")
	}
	switch typ {
	case updateTypeBitmap: // 2.2.9.1.1.3.1.2: updateType is part of TS_UPDATE_BITMAP_DATA
		return c.handleBitmapUpdate(p)
	case updateTypePalette:
		return c.handlePalette(p)
	case updateTypeSynchronize:
		return nil
	case updateTypeOrders:
		return protoErr("Orders Update", "MS-RDPEGDI 2.2.2.1", "drawing orders were not advertised")
	}
	return protoErr("Update PDU", "MS-RDPBCGR 2.2.9.1.1.3", "update type %d", typ)
}

// dropBigBuffers lets go of bitmap scratch bigger than the largest bitmap of a w x h
// desktop (drawBitmap's bound): it grows to the largest bitmap seen, and after the
// desktop shrank one sized for the old desktop would be kept for good.
func (c *Client) dropBigBuffers(w, h int) {
	n := (w + 64) * (h + 64)
	if cap(c.pix) > 4*n {
		c.pix = nil
	}
	if cap(c.planes) > 4*n {
		c.planes = nil
	}
	if cap(c.native) > n {
		c.native = nil
	}
}
