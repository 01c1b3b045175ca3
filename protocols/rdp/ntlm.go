package rdp

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	//lint:ignore SA1019 NTLM's NT hash is MD4 by definition (MS-NLMP 3.3.1)
	"golang.org/x/crypto/md4"
)

// NTLM (MS-NLMP) with NTLMv2 responses, extended session security and key
// exchange: the authentication CredSSP carries for NLA.

// NegotiateFlags (MS-NLMP 2.2.2.5).
const (
	ntlmNegotiate56                      = 0x80000000
	ntlmNegotiateKeyExch                 = 0x40000000
	ntlmNegotiate128                     = 0x20000000
	ntlmNegotiateVersion                 = 0x02000000
	ntlmNegotiateTargetInfo              = 0x00800000
	ntlmNegotiateExtendedSessionSecurity = 0x00080000
	ntlmNegotiateAlwaysSign              = 0x00008000
	ntlmNegotiateNTLM                    = 0x00000200
	ntlmNegotiateSeal                    = 0x00000020
	ntlmNegotiateSign                    = 0x00000010
	ntlmRequestTarget                    = 0x00000004
	ntlmNegotiateUnicode                 = 0x00000001
)

const ntlmClientFlags = ntlmNegotiate56 | ntlmNegotiateKeyExch | ntlmNegotiate128 | ntlmNegotiateVersion |
	ntlmNegotiateExtendedSessionSecurity | ntlmNegotiateAlwaysSign | ntlmNegotiateNTLM |
	ntlmNegotiateSeal | ntlmNegotiateSign | ntlmRequestTarget | ntlmNegotiateUnicode

// AV pair IDs (MS-NLMP 2.2.2.1).
const (
	msvAvEOL       = 0
	msvAvFlags     = 6
	msvAvTimestamp = 7
)

var ntlmSignature = []byte("NTLMSSP\x00")

// ntlmVersion is the VERSION structure (2.2.2.10): Windows 10 build 19041,
// NTLMSSP_REVISION_W2K3.
var ntlmVersion = []byte{10, 0, 0x61, 0x4A, 0, 0, 0, 15}

// ntlmClient holds one NTLM authentication and its session security.
type ntlmClient struct {
	user, domain, password string
	// rand is the source of the client challenge and the exported session
	// key, read in that order; nil means crypto/rand.Reader.
	rand io.Reader
	// now is the clock for the NTLMv2 timestamp when the server sends none;
	// nil means time.Now.
	now func() time.Time

	clientChallenge []byte
	exportedKey     []byte // the random session key (3.4.5.1)

	negotiate, challenge []byte
	flags                uint32

	clientSign, serverSign []byte
	clientSeal, serverSeal *rc4.Cipher
	seqOut, seqIn          uint32
}

// negotiateMessage builds NEGOTIATE_MESSAGE (2.2.1.1).
func (n *ntlmClient) negotiateMessage() []byte {
	b := append([]byte(nil), ntlmSignature...)
	b = putU32(b, 1)
	b = putU32(b, ntlmClientFlags)
	b = append(b, make([]byte, 16)...) // DomainNameFields, WorkstationFields: empty
	b = append(b, ntlmVersion...)
	n.negotiate = b
	return b
}

type ntlmChallenge struct {
	flags      uint32
	challenge  []byte
	targetInfo []byte
	timestamp  []byte // from MsvAvTimestamp, if any
}

// parseChallengeMessage parses CHALLENGE_MESSAGE (2.2.1.2).
func parseChallengeMessage(p []byte) (*ntlmChallenge, error) {
	const pdu, sec = "NTLM CHALLENGE_MESSAGE", "MS-NLMP 2.2.1.2"
	d := decoder{b: p}
	sig := d.bytes(8)
	typ := d.u32()
	d.skip(8) // TargetNameFields
	ch := &ntlmChallenge{flags: d.u32(), challenge: d.bytes(8)}
	d.skip(8) // Reserved
	tiLen := int(d.u16())
	d.u16()
	tiOff := int(d.u32())
	if d.err != nil || !bytes.Equal(sig, ntlmSignature) || typ != 2 {
		return nil, protoErr(pdu, sec, "not a CHALLENGE_MESSAGE")
	}
	if tiOff < 0 || tiOff > len(p) || tiLen > len(p)-tiOff {
		return nil, protoErr(pdu, sec, "TargetInfoFields %d+%d outside %d bytes", tiOff, tiLen, len(p))
	}
	ch.targetInfo = p[tiOff : tiOff+tiLen]
	ad := decoder{b: ch.targetInfo}
	for ad.remaining() >= 4 {
		id, l := ad.u16(), int(ad.u16())
		v := ad.bytes(l)
		if ad.err != nil {
			return nil, protoErr(pdu, "MS-NLMP 2.2.2.1", "AV pair %d of %d bytes overruns the target info", id, l)
		}
		if id == msvAvTimestamp && l == 8 {
			ch.timestamp = v
		}
		if id == msvAvEOL {
			break
		}
	}
	if ch.flags&ntlmNegotiateExtendedSessionSecurity == 0 || ch.flags&ntlmNegotiateKeyExch == 0 {
		return nil, fmt.Errorf("%w: NTLM server without extended session security and key exchange (flags %#x)", ErrUnsupported, ch.flags)
	}
	return ch, nil
}

func utf16Bytes(s string) []byte { return utf16le(s) }

// ntowfv2 is NTOWFv2 (MS-NLMP 3.3.2).
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16Bytes(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16Bytes(strings.ToUpper(user) + domain))
	return m.Sum(nil)
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// authenticateMessage builds AUTHENTICATE_MESSAGE (2.2.1.3) with NTLMv2
// responses (3.3.2) and a MIC, and sets up session security (3.4).
func (n *ntlmClient) authenticateMessage(challengeMsg []byte) ([]byte, error) {
	ch, err := parseChallengeMessage(challengeMsg)
	if err != nil {
		return nil, err
	}
	n.challenge = challengeMsg
	n.flags = ntlmClientFlags & ch.flags
	random := n.rand
	if random == nil {
		random = rand.Reader
	}
	n.clientChallenge = make([]byte, 8)
	n.exportedKey = make([]byte, 16)
	if _, err := io.ReadFull(random, n.clientChallenge); err != nil {
		return nil, fmt.Errorf("rdp: NTLM client challenge: %w", err)
	}
	if _, err := io.ReadFull(random, n.exportedKey); err != nil {
		return nil, fmt.Errorf("rdp: NTLM session key: %w", err)
	}
	ts := ch.timestamp
	if ts == nil {
		now := time.Now
		if n.now != nil {
			now = n.now
		}
		ts = binary.LittleEndian.AppendUint64(nil, fileTime(now()))
	}
	useMIC := ch.timestamp != nil
	// The server's AV pairs, with MsvAvFlags "MIC present" added (3.1.5.1.2).
	avPairs := ch.targetInfo
	if useMIC {
		avPairs = addAVFlags(ch.targetInfo, 0x2)
	}
	responseKey := ntowfv2(n.password, n.user, n.domain)
	var temp []byte
	temp = append(temp, 1, 1, 0, 0, 0, 0, 0, 0)
	temp = append(temp, ts...)
	temp = append(temp, n.clientChallenge...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, avPairs...)
	temp = append(temp, 0, 0, 0, 0)
	ntProof := hmacMD5(responseKey, ch.challenge, temp)
	ntResponse := append(append([]byte(nil), ntProof...), temp...)
	lmResponse := make([]byte, 24) // Z(24) when the server sent a timestamp
	if !useMIC {
		lmResponse = append(hmacMD5(responseKey, ch.challenge, n.clientChallenge), n.clientChallenge...)
	}
	sessionBaseKey := hmacMD5(responseKey, ntProof)
	keyExchangeKey := sessionBaseKey // NTLMv2 (3.4.5.1)
	encryptedKey := make([]byte, 16)
	c, _ := rc4.NewCipher(keyExchangeKey)
	c.XORKeyStream(encryptedKey, n.exportedKey)

	domain, user, ws := utf16Bytes(n.domain), utf16Bytes(n.user), utf16Bytes("RACGATE")
	const headerLen = 88
	b := append([]byte(nil), ntlmSignature...)
	b = putU32(b, 3)
	off := headerLen
	fields := [][]byte{lmResponse, ntResponse, domain, user, ws, encryptedKey}
	for _, f := range fields {
		b = putU16(b, uint16(len(f)))
		b = putU16(b, uint16(len(f)))
		b = putU32(b, uint32(off))
		off += len(f)
	}
	b = putU32(b, n.flags)
	b = append(b, ntlmVersion...)
	micOff := len(b)
	b = append(b, make([]byte, 16)...) // MIC
	for _, f := range fields {
		b = append(b, f...)
	}
	if useMIC {
		copy(b[micOff:], hmacMD5(n.exportedKey, n.negotiate, n.challenge, b))
	}
	n.initSessionSecurity()
	return b, nil
}

// fileTime is t as a FILETIME: 100 ns intervals since 1601 (UTC).
func fileTime(t time.Time) uint64 {
	const secondsFrom1601To1970 = 11644473600
	return uint64(t.Unix()+secondsFrom1601To1970)*10_000_000 + uint64(t.Nanosecond()/100)
}

// addAVFlags returns target info with MsvAvFlags set to include flags.
func addAVFlags(ti []byte, flags uint32) []byte {
	var out []byte
	d := decoder{b: ti}
	found := false
	for d.remaining() >= 4 {
		id, l := d.u16(), int(d.u16())
		v := d.bytes(l)
		if d.err != nil || id == msvAvEOL {
			break
		}
		if id == msvAvFlags && l == 4 {
			v = putU32(nil, binary.LittleEndian.Uint32(v)|flags)
			found = true
		}
		out = putU16(out, id)
		out = putU16(out, uint16(len(v)))
		out = append(out, v...)
	}
	if !found {
		out = putU16(out, msvAvFlags)
		out = putU16(out, 4)
		out = putU32(out, flags)
	}
	return append(out, 0, 0, 0, 0) // MsvAvEOL
}

func md5Sum(parts ...[]byte) []byte {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// initSessionSecurity derives the signing and sealing keys (3.4.5.2, 3.4.5.3).
func (n *ntlmClient) initSessionSecurity() {
	k := n.exportedKey
	n.clientSign = md5Sum(k, []byte("session key to client-to-server signing key magic constant\x00"))
	n.serverSign = md5Sum(k, []byte("session key to server-to-client signing key magic constant\x00"))
	n.clientSeal, _ = rc4.NewCipher(md5Sum(k, []byte("session key to client-to-server sealing key magic constant\x00")))
	n.serverSeal, _ = rc4.NewCipher(md5Sum(k, []byte("session key to server-to-client sealing key magic constant\x00")))
}

// seal encrypts msg and returns signature || ciphertext, as CredSSP carries
// it (MS-NLMP 3.4.3, 3.4.4.2; MS-CSSP 3.1.5).
func (n *ntlmClient) seal(msg []byte) []byte {
	out := make([]byte, 16+len(msg))
	n.clientSeal.XORKeyStream(out[16:], msg)
	seq := putU32(nil, n.seqOut)
	mac := hmacMD5(n.clientSign, seq, msg)[:8]
	n.clientSeal.XORKeyStream(mac, mac) // key exchange: the checksum is sealed too
	binary.LittleEndian.PutUint32(out, 1)
	copy(out[4:12], mac)
	copy(out[12:16], seq)
	n.seqOut++
	return out
}

var errNTLMSignature = errors.New("rdp: NTLM message signature does not verify")

// unseal decrypts signature || ciphertext from the server and verifies it.
func (n *ntlmClient) unseal(p []byte) ([]byte, error) {
	if len(p) < 16 {
		return nil, protoErr("NTLM sealed message", "MS-NLMP 2.2.2.9.1", "%d bytes", len(p))
	}
	msg := make([]byte, len(p)-16)
	n.serverSeal.XORKeyStream(msg, p[16:])
	seq := putU32(nil, n.seqIn)
	mac := hmacMD5(n.serverSign, seq, msg)[:8]
	n.serverSeal.XORKeyStream(mac, mac)
	n.seqIn++
	if binary.LittleEndian.Uint32(p) != 1 || !hmac.Equal(mac, p[4:12]) || !bytes.Equal(seq, p[12:16]) {
		return nil, errNTLMSignature
	}
	return msg, nil
}
