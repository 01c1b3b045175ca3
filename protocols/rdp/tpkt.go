package rdp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// TPKT (RFC 1006 / T.123 8) frames every slow-path PDU: version 3, a reserved
// byte and a big-endian length that includes the 4-byte header. Fast-path PDUs
// share the stream and are told apart by the first byte's action bits
// (MS-RDPBCGR 2.2.9.1.2, 2.2.8.1.2).
const (
	tpktVersion    = 3
	tpktHeaderSize = 4
	// x224DataHeader is an X.224 Data TPDU header (X.224 13.7): LI 2, DT
	// code 0xF0, EOT set (MS-RDPBCGR 2.2.1.5 x224Data).
	x224DataHeaderSize = 3
)

// maxPDUSize bounds one TPKT or fast-path frame; both length fields are 16
// bits (fast-path 15), so 64 KiB holds any frame the wire can describe.
const maxPDUSize = 0xFFFF

// frameReader reads TPKT and fast-path frames into one reused buffer.
type frameReader struct {
	r   *bufio.Reader
	buf [maxPDUSize]byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 32*1024)}
}

// next returns the next frame. For TPKT it is the payload after the TPKT
// header; for fast-path it is the whole frame including its header, so the
// caller can read the header flags. The slice is valid until the next call.
func (f *frameReader) next() (fastPath bool, frame []byte, err error) {
	h0, err := f.r.ReadByte()
	if err != nil {
		return false, nil, err
	}
	if h0 == tpktVersion {
		var h [3]byte
		if _, err := io.ReadFull(f.r, h[:]); err != nil {
			return false, nil, fmt.Errorf("rdp: TPKT header: %w", err)
		}
		n := int(binary.BigEndian.Uint16(h[1:]))
		if n < tpktHeaderSize+1 {
			return false, nil, protoErr("TPKT header", "T.123 8", "length %d", n)
		}
		body := f.buf[:n-tpktHeaderSize]
		if _, err := io.ReadFull(f.r, body); err != nil {
			return false, nil, fmt.Errorf("rdp: TPKT body: %w", err)
		}
		return false, body, nil
	}
	if h0&0x3 != fastPathActionFastPath {
		return false, nil, protoErr("frame header", "MS-RDPBCGR 2.2.9.1.2", "action %#x is neither TPKT nor fast-path", h0&3)
	}
	l1, err := f.r.ReadByte()
	if err != nil {
		return false, nil, fmt.Errorf("rdp: fast-path length: %w", err)
	}
	n, hdr := int(l1), 2
	if l1&0x80 != 0 {
		l2, err := f.r.ReadByte()
		if err != nil {
			return false, nil, fmt.Errorf("rdp: fast-path length: %w", err)
		}
		n, hdr = int(l1&0x7F)<<8|int(l2), 3
	}
	if n < hdr {
		return false, nil, protoErr("fast-path header", "MS-RDPBCGR 2.2.9.1.2", "length %d", n)
	}
	frame = f.buf[:n]
	frame[0] = h0
	frame[1] = l1
	if hdr == 3 {
		frame[2] = byte(n)
	}
	if _, err := io.ReadFull(f.r, frame[hdr:]); err != nil {
		return false, nil, fmt.Errorf("rdp: fast-path body: %w", err)
	}
	return true, frame, nil
}

// x224Data strips the X.224 Data TPDU header from a TPKT payload.
func x224Data(p []byte) ([]byte, error) {
	if len(p) < x224DataHeaderSize || p[0] != 2 || p[1] != 0xF0 {
		return nil, protoErr("X.224 Data TPDU", "MS-RDPBCGR 2.2.1.5", "header % x", p[:min(len(p), 3)])
	}
	return p[x224DataHeaderSize:], nil
}

// appendTPKT starts a TPKT frame in b; finishTPKT fills in its length.
func appendTPKT(b []byte) []byte { return append(b, tpktVersion, 0, 0, 0) }

func finishTPKT(b []byte, start int) error {
	n := len(b) - start
	if n > maxPDUSize {
		return fmt.Errorf("rdp: PDU of %d bytes exceeds TPKT's limit", n)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return nil
}

// appendX224Data starts a TPKT frame carrying an X.224 Data TPDU.
func appendX224Data(b []byte) []byte {
	b = appendTPKT(b)
	return append(b, 2, 0xF0, 0x80)
}

// Negotiation protocols (MS-RDPBCGR 2.2.1.1.1 requestedProtocols).
const (
	protocolRDP      uint32 = 0x0
	protocolSSL      uint32 = 0x1
	protocolHybrid   uint32 = 0x2
	protocolRDSTLS   uint32 = 0x4
	protocolHybridEx uint32 = 0x8
)

const (
	typeRDPNegReq     = 0x01
	typeRDPNegRsp     = 0x02
	typeRDPNegFailure = 0x03
)

// x224ConnectionRequest builds the Client X.224 Connection Request PDU
// (MS-RDPBCGR 2.2.1.1) with a routing cookie and an RDP Negotiation Request.
func x224ConnectionRequest(cookie string, protocols uint32) []byte {
	b := appendTPKT(nil)
	li := len(b)
	b = append(b, 0, 0xE0, 0, 0, 0, 0, 0) // LI, CR CDT, DST-REF, SRC-REF, CLASS 0
	if cookie != "" {
		b = append(b, "Cookie: mstshash="+cookie+"\r\n"...)
	}
	b = append(b, typeRDPNegReq, 0)
	b = putU16(b, 8)
	b = putU32(b, protocols)
	b[li] = byte(len(b) - li - 1)
	_ = finishTPKT(b, 0)
	return b
}

// NegotiationFailure is the server's RDP Negotiation Failure (MS-RDPBCGR
// 2.2.1.2.2): it offered none of the protocols we allow.
type NegotiationFailure struct{ Code uint32 }

var negFailureNames = map[uint32]string{
	1: "SSL_REQUIRED_BY_SERVER",
	2: "SSL_NOT_ALLOWED_BY_SERVER",
	3: "SSL_CERT_NOT_ON_SERVER",
	4: "INCONSISTENT_FLAGS",
	5: "HYBRID_REQUIRED_BY_SERVER",
	6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
}

func (e *NegotiationFailure) Error() string {
	name := negFailureNames[e.Code]
	if name == "" {
		name = fmt.Sprintf("code %#x", e.Code)
	}
	return "rdp: server refused the security negotiation (MS-RDPBCGR 2.2.1.2.2): " + name
}

func (e *NegotiationFailure) Unwrap() error { return ErrUnsupported }

// parseX224ConnectionConfirm parses the Server X.224 Connection Confirm PDU
// (MS-RDPBCGR 2.2.1.2) from a TPKT payload and returns the selected protocol.
// A confirm without negotiation data means standard RDP security.
func parseX224ConnectionConfirm(p []byte) (selected uint32, flags uint8, err error) {
	const pdu, sec = "X.224 Connection Confirm", "MS-RDPBCGR 2.2.1.2"
	if len(p) < 7 || p[1]&0xF0 != 0xD0 {
		return 0, 0, protoErr(pdu, sec, "not a Connection Confirm TPDU")
	}
	li := int(p[0])
	if li+1 > len(p) || li < 6 {
		return 0, 0, protoErr(pdu, sec, "length indicator %d of %d bytes", li, len(p))
	}
	neg := p[7 : li+1]
	if len(neg) == 0 {
		return protocolRDP, 0, nil
	}
	d := decoder{b: neg}
	typ, fl, length := d.u8(), d.u8(), d.u16()
	v := d.u32()
	if d.err != nil || length != 8 {
		return 0, 0, protoErr(pdu, sec, "negotiation data of %d bytes (length field %d)", len(neg), length)
	}
	switch typ {
	case typeRDPNegRsp:
		return v, fl, nil
	case typeRDPNegFailure:
		return 0, 0, &NegotiationFailure{Code: v}
	}
	return 0, 0, protoErr(pdu, sec, "negotiation type %#x", typ)
}
