package anontls

import (
	"math/big"
)

// Record content types (RFC 5246 §6.2.1).
const (
	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23
)

// Handshake message types (RFC 5246 §7.4).
const (
	typeHelloRequest      = 0
	typeClientHello       = 1
	typeServerHello       = 2
	typeServerKeyExchange = 12
	typeServerHelloDone   = 14
	typeClientKeyExchange = 16
	typeFinished          = 20
)

// Cipher suites (RFC 5288 §3).
const (
	TLS_DH_anon_WITH_AES_128_GCM_SHA256 uint16 = 0x00A6
	TLS_DH_anon_WITH_AES_256_GCM_SHA384 uint16 = 0x00A7
)

// Extensions.
const (
	extSupportedGroups      = 10     // RFC 7919 §2
	extExtendedMasterSecret = 23     // RFC 7627 §5.1
	extRenegotiationInfo    = 0xff01 // RFC 5746 §3.2
)

// RFC 7919 §A named groups, offered so the server can use a well-known prime.
var ffdheGroups = []uint16{0x0100, 0x0101, 0x0102} // ffdhe2048, ffdhe3072, ffdhe4096

const (
	versionTLS12 = 0x0303
	randomLen    = 32
	verifyLen    = 12 // verify_data length, RFC 5246 §7.4.9
	maxSessionID = 32

	minDHBits = 1024
	maxDHBits = 8192
)

// clientHelloMsg is ClientHello (RFC 5246 §7.4.1.2).
type clientHelloMsg struct {
	random       [randomLen]byte
	cipherSuites []uint16
}

// marshal returns the whole handshake message, header included.
func (m *clientHelloMsg) marshal() []byte {
	var body []byte
	body = append(body, versionTLS12>>8, versionTLS12&0xff)
	body = append(body, m.random[:]...)
	body = append(body, 0) // session_id: empty, no resumption
	body = u16(body, uint16(2*len(m.cipherSuites)))
	for _, s := range m.cipherSuites {
		body = u16(body, s)
	}
	body = append(body, 1, 0) // compression_methods: null only

	var ext []byte
	ext = u16(ext, extSupportedGroups)
	ext = u16(ext, uint16(2+2*len(ffdheGroups)))
	ext = u16(ext, uint16(2*len(ffdheGroups)))
	for _, g := range ffdheGroups {
		ext = u16(ext, g)
	}
	ext = u16(ext, extExtendedMasterSecret)
	ext = u16(ext, 0)
	ext = u16(ext, extRenegotiationInfo)
	ext = u16(ext, 1)
	ext = append(ext, 0) // renegotiated_connection: empty on the first handshake
	body = u16(body, uint16(len(ext)))
	body = append(body, ext...)
	return handshakeMsg(typeClientHello, body)
}

// serverHelloMsg is ServerHello (RFC 5246 §7.4.1.3).
type serverHelloMsg struct {
	version              uint16
	random               [randomLen]byte
	cipherSuite          uint16
	extendedMasterSecret bool
	secureRenegotiation  bool
}

// unmarshal parses the body of a ServerHello (without the 4-byte header).
func (m *serverHelloMsg) unmarshal(b []byte) error {
	s := parser(b)
	var ok bool
	if m.version, ok = s.u16(); !ok {
		return protoErr(alertDecodeError, "ServerHello too short")
	}
	rnd, ok := s.bytes(randomLen)
	if !ok {
		return protoErr(alertDecodeError, "ServerHello too short")
	}
	copy(m.random[:], rnd)
	if _, ok = s.vec8(maxSessionID); !ok {
		return protoErr(alertDecodeError, "ServerHello session_id")
	}
	if m.cipherSuite, ok = s.u16(); !ok {
		return protoErr(alertDecodeError, "ServerHello too short")
	}
	comp, ok := s.u8()
	if !ok {
		return protoErr(alertDecodeError, "ServerHello too short")
	}
	if comp != 0 {
		return protoErr(alertIllegalParameter, "ServerHello compression method %d", comp)
	}
	if len(s) == 0 {
		return nil // no extensions
	}
	exts, ok := s.vec16()
	if !ok || len(s) != 0 {
		return protoErr(alertDecodeError, "ServerHello extensions")
	}
	seen := map[uint16]bool{}
	for len(exts) > 0 {
		typ, ok1 := exts.u16()
		data, ok2 := exts.vec16()
		if !ok1 || !ok2 {
			return protoErr(alertDecodeError, "ServerHello extension")
		}
		if seen[typ] {
			return protoErr(alertDecodeError, "ServerHello repeats extension %d", typ)
		}
		seen[typ] = true
		switch typ {
		case extExtendedMasterSecret:
			if len(data) != 0 {
				return protoErr(alertDecodeError, "extended_master_secret not empty")
			}
			m.extendedMasterSecret = true
		case extRenegotiationInfo:
			// RFC 5746 §3.4: on the first handshake it must be empty.
			if len(data) != 1 || data[0] != 0 {
				return protoErr(alertHandshakeFailure, "renegotiation_info not empty")
			}
			m.secureRenegotiation = true
		default:
			// RFC 5246 §7.4.1.4: only extensions we offered may come back.
			return protoErr(alertUnsupportedExtension, "ServerHello has extension %d we did not offer", typ)
		}
	}
	return nil
}

// serverKeyExchangeMsg is ServerKeyExchange for DH_anon: ServerDHParams
// without a signature (RFC 5246 §7.4.3).
type serverKeyExchangeMsg struct {
	p, g, ys *big.Int
}

// unmarshal parses and validates the body of a ServerKeyExchange.
func (m *serverKeyExchangeMsg) unmarshal(b []byte) error {
	s := parser(b)
	p, ok1 := s.vec16()
	g, ok2 := s.vec16()
	ys, ok3 := s.vec16()
	if !ok1 || !ok2 || !ok3 || len(s) != 0 {
		return protoErr(alertDecodeError, "ServerKeyExchange length")
	}
	// Lengths are at most 2^16-1 bytes, so big.Int conversion is bounded;
	// checking the byte length first keeps the work small for junk.
	if len(p) > maxDHBits/8+1 {
		return protoErr(alertInsufficientSecurity, "DH prime longer than %d bits", maxDHBits)
	}
	m.p = new(big.Int).SetBytes(p)
	if n := m.p.BitLen(); n < minDHBits || n > maxDHBits {
		return protoErr(alertInsufficientSecurity, "DH prime of %d bits (want %d to %d)", n, minDHBits, maxDHBits)
	}
	if m.p.Bit(0) == 0 {
		return protoErr(alertIllegalParameter, "DH prime is even")
	}
	pm2 := new(big.Int).Sub(m.p, big.NewInt(2))
	two := big.NewInt(2)
	if len(g) > len(p) || len(ys) > len(p) {
		return protoErr(alertIllegalParameter, "DH value longer than the prime")
	}
	m.g = new(big.Int).SetBytes(g)
	m.ys = new(big.Int).SetBytes(ys)
	if m.g.Cmp(two) < 0 || m.g.Cmp(pm2) > 0 {
		return protoErr(alertIllegalParameter, "DH generator out of range")
	}
	if m.ys.Cmp(two) < 0 || m.ys.Cmp(pm2) > 0 {
		return protoErr(alertIllegalParameter, "DH public value out of range")
	}
	return nil
}

// handshakeMsg frames body as a handshake message (RFC 5246 §7.4).
func handshakeMsg(typ uint8, body []byte) []byte {
	b := make([]byte, 4, 4+len(body))
	b[0] = typ
	b[1], b[2], b[3] = byte(len(body)>>16), byte(len(body)>>8), byte(len(body))
	return append(b, body...)
}

func u16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

// parser reads big-endian fields and length-prefixed vectors; every method
// reports false instead of reading past the end.
type parser []byte

func (s *parser) u8() (uint8, bool) {
	if len(*s) < 1 {
		return 0, false
	}
	v := (*s)[0]
	*s = (*s)[1:]
	return v, true
}

func (s *parser) u16() (uint16, bool) {
	if len(*s) < 2 {
		return 0, false
	}
	v := uint16((*s)[0])<<8 | uint16((*s)[1])
	*s = (*s)[2:]
	return v, true
}

func (s *parser) bytes(n int) (parser, bool) {
	if n < 0 || len(*s) < n {
		return nil, false
	}
	v := (*s)[:n:n]
	*s = (*s)[n:]
	return v, true
}

func (s *parser) vec8(max int) (parser, bool) {
	n, ok := s.u8()
	if !ok || int(n) > max {
		return nil, false
	}
	return s.bytes(int(n))
}

func (s *parser) vec16() (parser, bool) {
	n, ok := s.u16()
	if !ok {
		return nil, false
	}
	return s.bytes(int(n))
}
