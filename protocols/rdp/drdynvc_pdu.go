package rdp

import (
	"bytes"
	"fmt"
)

// The PDUs of the Dynamic Virtual Channel Extension (MS-RDPEDYC 2.2), named
// as the spec names them. Every PDU starts with a one-byte header: cbId in
// the low 2 bits (the size of ChannelId), Sp in the next 2 (Pri or Len for
// some PDUs) and Cmd in the high 4. Each PDU is one message on the static
// channel "drdynvc"; drdynvc.go runs the client's DVC manager.

// Cmd values of the DVC header (2.2).
const (
	dynvcCreate              = 0x01 // DYNVC_CREATE_REQ, DYNVC_CREATE_RSP
	dynvcDataFirst           = 0x02 // DYNVC_DATA_FIRST
	dynvcData                = 0x03 // DYNVC_DATA
	dynvcClose               = 0x04 // DYNVC_CLOSE
	dynvcCapabilities        = 0x05 // DYNVC_CAPS_VERSION1-3, DYNVC_CAPS_RSP
	dynvcDataFirstCompressed = 0x06 // DYNVC_DATA_FIRST_COMPRESSED (version 3)
	dynvcDataCompressed      = 0x07 // DYNVC_DATA_COMPRESSED (version 3)
	dynvcSoftSyncRequest     = 0x08 // DYNVC_SOFT_SYNC_REQUEST (multitransport)
	dynvcSoftSyncResponse    = 0x09 // DYNVC_SOFT_SYNC_RESPONSE
)

// Sizes and limits.
const (
	// dynvcMaxPDU is the longest DVC PDU a sender may build (2.2.3.1,
	// 2.2.3.2): 1,600 bytes, header included.
	dynvcMaxPDU = 1600
	// dynvcMaxSingleData is the longest message sent in one DYNVC_DATA
	// (1.3.3.2.1); a longer one is fragmented.
	dynvcMaxSingleData = 1590
	// maxDynvcMessage bounds one reassembled DVC message, whatever the
	// channel's own limit.
	maxDynvcMessage = 8 << 20
	// maxDrdynvcPDU bounds one message on the static channel. The spec's
	// DVC PDUs are at most 1,600 bytes; this leaves room for servers that
	// send larger ones, and each DVC's reassembly is bounded on its own.
	maxDrdynvcPDU = 64 << 10
	// maxDynvcChannelName bounds a DYNVC_CREATE_REQ's ChannelName.
	maxDynvcChannelName = 256
)

// dynvcHeader is the first byte of every DVC PDU (2.2).
type dynvcHeader struct {
	cbID uint8 // size code of ChannelId: 0, 1, 2 for 1, 2, 4 bytes
	sp   uint8 // Sp, Pri (2.2.2.1) or Len (2.2.3.1)
	cmd  uint8
}

func parseDynvcHeader(b uint8) dynvcHeader {
	return dynvcHeader{cbID: b & 0x03, sp: b >> 2 & 0x03, cmd: b >> 4}
}

func (h dynvcHeader) byte() uint8 { return h.cmd<<4 | h.sp<<2 | h.cbID }

// dynvcPDUName names a PDU by its Cmd for error messages.
func dynvcPDUName(cmd uint8) string {
	switch cmd {
	case dynvcCreate:
		return "DYNVC_CREATE_REQ"
	case dynvcDataFirst:
		return "DYNVC_DATA_FIRST"
	case dynvcData:
		return "DYNVC_DATA"
	case dynvcClose:
		return "DYNVC_CLOSE"
	case dynvcCapabilities:
		return "DYNVC_CAPS"
	case dynvcDataFirstCompressed:
		return "DYNVC_DATA_FIRST_COMPRESSED"
	case dynvcDataCompressed:
		return "DYNVC_DATA_COMPRESSED"
	case dynvcSoftSyncRequest:
		return "DYNVC_SOFT_SYNC_REQUEST"
	}
	return fmt.Sprintf("DVC PDU with Cmd %#x", cmd)
}

// readDynvcUint reads a ChannelId or Length of the size that code gives
// (2.2.2.1 cbId, 2.2.3.1 Len): 0, 1, 2 for 1, 2 and 4 bytes; 3 is
// invalid (ok false).
func readDynvcUint(d *decoder, code uint8) (v uint32, ok bool) {
	switch code {
	case 0:
		return uint32(d.u8()), true
	case 1:
		return uint32(d.u16()), true
	case 2:
		return d.u32(), true
	}
	return 0, false
}

// dynvcUintCode is the smallest size code that holds v.
func dynvcUintCode(v uint32) uint8 {
	switch {
	case v <= 0xFF:
		return 0
	case v <= 0xFFFF:
		return 1
	}
	return 2
}

// dynvcUintSize is the size in bytes that code stands for.
func dynvcUintSize(code uint8) int { return 1 << code }

// appendDynvcUint appends v in the size that code gives.
func appendDynvcUint(b []byte, v uint32, code uint8) []byte {
	switch code {
	case 0:
		return append(b, uint8(v))
	case 1:
		return putU16(b, uint16(v))
	}
	return putU32(b, v)
}

// dynvcCaps is a server's Capabilities Request: DYNVC_CAPS_VERSION1 (Pad,
// Version), or DYNVC_CAPS_VERSION2/3, which add the four PriorityCharge
// fields (2.2.1.1.1-3).
type dynvcCaps struct {
	version uint16
	charges [4]uint16 // version 2 and 3 only
}

func parseDynvcCaps(h dynvcHeader, body []byte) (dynvcCaps, error) {
	const pdu, sec = "DVC Capabilities Request PDU", "MS-RDPEDYC 2.2.1.1"
	d := decoder{b: body}
	d.skip(1) // Pad
	c := dynvcCaps{version: d.u16()}
	if d.err != nil {
		return c, protoErr(pdu, sec, "%d bytes after the header", len(body))
	}
	if c.version == 0 {
		return c, protoErr(pdu, sec, "Version 0")
	}
	if c.version >= 2 {
		for i := range c.charges {
			c.charges[i] = d.u16()
		}
		if d.err != nil {
			return c, protoErr(pdu, sec, "version %d without its four PriorityCharge fields (%d bytes)", c.version, len(body))
		}
	}
	// Versions above 3 would add fields; the version-3 layout is what
	// the client can read of them.
	if c.version <= 3 && d.remaining() != 0 {
		return c, protoErr(pdu, sec, "%d bytes after version %d's fields", d.remaining(), c.version)
	}
	return c, nil
}

// appendDynvcCapsRsp appends DYNVC_CAPS_RSP (2.2.1.2): cbId 0, Sp 0, Pad 0.
func appendDynvcCapsRsp(b []byte, version uint16) []byte {
	b = append(b, dynvcHeader{cmd: dynvcCapabilities}.byte(), 0)
	return putU16(b, version)
}

// dynvcCreateReq is DYNVC_CREATE_REQ (2.2.2.1).
type dynvcCreateReq struct {
	channelID uint32
	pri       uint8 // priority class 0-3 (version 2 and later)
	name      string
}

func parseDynvcCreateReq(h dynvcHeader, body []byte) (dynvcCreateReq, error) {
	const pdu, sec = "DVC Create Request PDU", "MS-RDPEDYC 2.2.2.1"
	d := decoder{b: body}
	id, ok := readDynvcUint(&d, h.cbID)
	if !ok {
		return dynvcCreateReq{}, protoErr(pdu, sec, "cbId 3")
	}
	if d.err != nil {
		return dynvcCreateReq{}, protoErr(pdu, sec, "ChannelId truncated")
	}
	name := d.rest()
	n := bytes.IndexByte(name, 0)
	if n < 0 {
		return dynvcCreateReq{}, protoErr(pdu, sec, "ChannelName without a null terminator")
	}
	if n > maxDynvcChannelName {
		return dynvcCreateReq{}, protoErr(pdu, sec, "ChannelName of %d bytes", n)
	}
	if n+1 != len(name) {
		return dynvcCreateReq{}, protoErr(pdu, sec, "%d bytes after the ChannelName", len(name)-n-1)
	}
	return dynvcCreateReq{channelID: id, pri: h.sp, name: string(name[:n])}, nil
}

// HRESULT values for CreationStatus (MS-ERREF 2.1): zero or positive is
// success, negative failure.
const (
	hresultOK    = 0x00000000 // S_OK
	hresultEFail = 0x80004005 // E_FAIL: no listener of that name
)

// appendDynvcCreateRsp appends DYNVC_CREATE_RSP (2.2.2.2) with the
// smallest cbId that holds id.
func appendDynvcCreateRsp(b []byte, id uint32, status uint32) []byte {
	code := dynvcUintCode(id)
	b = append(b, dynvcHeader{cbID: code, cmd: dynvcCreate}.byte())
	b = appendDynvcUint(b, id, code)
	return putU32(b, status)
}

// dynvcDataPDU is DYNVC_DATA_FIRST (2.2.3.1) or DYNVC_DATA (2.2.3.2);
// length is DYNVC_DATA_FIRST's Length, the whole message's.
type dynvcDataPDU struct {
	channelID uint32
	length    uint32
	data      []byte // a sub-slice of the PDU
}

func parseDynvcDataFirst(h dynvcHeader, body []byte) (dynvcDataPDU, error) {
	const pdu, sec = "DVC Data First PDU", "MS-RDPEDYC 2.2.3.1"
	d := decoder{b: body}
	id, ok := readDynvcUint(&d, h.cbID)
	if !ok {
		return dynvcDataPDU{}, protoErr(pdu, sec, "cbId 3")
	}
	length, ok := readDynvcUint(&d, h.sp)
	if !ok {
		return dynvcDataPDU{}, protoErr(pdu, sec, "Len 3")
	}
	if d.err != nil {
		return dynvcDataPDU{}, protoErr(pdu, sec, "%d bytes: ChannelId or Length truncated", len(body)+1)
	}
	p := dynvcDataPDU{channelID: id, length: length, data: d.rest()}
	if uint64(len(p.data)) > uint64(length) {
		return p, protoErr(pdu, sec, "%d bytes of data, but a Length of %d", len(p.data), length)
	}
	return p, nil
}

func parseDynvcData(h dynvcHeader, body []byte) (dynvcDataPDU, error) {
	const pdu, sec = "DVC Data PDU", "MS-RDPEDYC 2.2.3.2"
	d := decoder{b: body}
	id, ok := readDynvcUint(&d, h.cbID)
	if !ok {
		return dynvcDataPDU{}, protoErr(pdu, sec, "cbId 3")
	}
	if d.err != nil {
		return dynvcDataPDU{}, protoErr(pdu, sec, "ChannelId truncated")
	}
	return dynvcDataPDU{channelID: id, data: d.rest()}, nil
}

// appendDynvcDataFirst appends DYNVC_DATA_FIRST with the smallest cbId
// and Len that hold id and total.
func appendDynvcDataFirst(b []byte, id uint32, total uint32, data []byte) []byte {
	code, lcode := dynvcUintCode(id), dynvcUintCode(total)
	b = append(b, dynvcHeader{cbID: code, sp: lcode, cmd: dynvcDataFirst}.byte())
	b = appendDynvcUint(b, id, code)
	b = appendDynvcUint(b, total, lcode)
	return append(b, data...)
}

// appendDynvcData appends DYNVC_DATA with the smallest cbId that holds id.
func appendDynvcData(b []byte, id uint32, data []byte) []byte {
	code := dynvcUintCode(id)
	b = append(b, dynvcHeader{cbID: code, cmd: dynvcData}.byte())
	b = appendDynvcUint(b, id, code)
	return append(b, data...)
}

func parseDynvcClose(h dynvcHeader, body []byte) (uint32, error) {
	const pdu, sec = "DVC Close PDU", "MS-RDPEDYC 2.2.4"
	d := decoder{b: body}
	id, ok := readDynvcUint(&d, h.cbID)
	if !ok {
		return 0, protoErr(pdu, sec, "cbId 3")
	}
	if d.err != nil || d.remaining() != 0 {
		return 0, protoErr(pdu, sec, "%d bytes after the header for a %d-byte ChannelId", len(body), dynvcUintSize(h.cbID))
	}
	return id, nil
}

// appendDynvcClose appends DYNVC_CLOSE (2.2.4) with the smallest cbId
// that holds id.
func appendDynvcClose(b []byte, id uint32) []byte {
	code := dynvcUintCode(id)
	b = append(b, dynvcHeader{cbID: code, cmd: dynvcClose}.byte())
	return appendDynvcUint(b, id, code)
}
