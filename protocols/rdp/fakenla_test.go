package rdp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rc4"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/render"
)

// A fake NLA server for the CredSSP versions and the HYBRID_EX early user
// authorization that no peer on this machine offers (freerdp-shadow speaks
// CredSSP 6 and refuses HYBRID_EX). It runs the server side of MS-CSSP 3.1.5
// with its own NTLM acceptor (MS-NLMP 3.2.5) and then stops after reading the
// MCS Connect Initial.

// statusLogonFailure is STATUS_LOGON_FAILURE (MS-ERREF 2.3).
const statusLogonFailure = 0xC000006D

type fakeNLA struct {
	version  int    // CredSSP version the server speaks (2-6)
	selected uint32 // protocolHybrid or protocolHybridEx
	user     string
	domain   string
	password string
	authz    uint32 // Early User Authorization Result sent for HYBRID_EX
	// badProof answers pubKeyAuth for another public key, as a man in the
	// middle that terminates TLS itself would.
	badProof bool
	// echoProof returns the client's own pubKeyAuth, as a relay that
	// does not know the session keys could.
	echoProof bool
	// reset ends a rejected logon with a TCP reset instead of a FIN, as
	// Windows servers do.
	reset bool
	// shortAuthz sends half an Early User Authorization Result and closes.
	shortAuthz bool
}

// fakeNLAResult is what the fake observed.
type fakeNLAResult struct {
	stage string           // the last step the fake completed
	creds *tsPasswordCreds // decrypted TSCredentials, if the client sent them
	err   error            // a check the fake made failed
}

var errFakeRejected = errors.New("fake: credentials rejected")

// nlaCert makes a self-signed certificate: ECDSA P-256, or RSA as Windows
// servers have (then pubKeyAuth binds a DER RSAPublicKey).
func nlaCert(t *testing.T, useRSA bool) (tls.Certificate, []byte) {
	t.Helper()
	var k crypto.Signer
	var err error
	if useRSA {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, der
}

// startFakeNLA serves one connection; the result arrives on the channel once
// the fake is done with it.
func startFakeNLA(t *testing.T, f fakeNLA, cert tls.Certificate) (string, <-chan fakeNLAResult) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	res := make(chan fakeNLAResult, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			res <- fakeNLAResult{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(15 * time.Second))
		var r fakeNLAResult
		r.err = f.serve(c, cert, &r)
		res <- r
	}()
	return l.Addr().String(), res
}

// readTPKTFrame reads one TPKT frame (T.123), bounded by its 16-bit length.
func readTPKTFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 3 {
		return nil, fmt.Errorf("fake: TPKT version %d", hdr[0])
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n < 4 {
		return nil, fmt.Errorf("fake: TPKT length %d", n)
	}
	b := make([]byte, n)
	copy(b, hdr[:])
	_, err := io.ReadFull(r, b[4:])
	return b, err
}

func (f *fakeNLA) serve(c net.Conn, cert tls.Certificate, r *fakeNLAResult) error {
	// X.224 Connection Request with RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1.1) last.
	cr, err := readTPKTFrame(c)
	if err != nil {
		return fmt.Errorf("fake: Connection Request: %w", err)
	}
	if len(cr) < 19 || cr[len(cr)-8] != 1 {
		return fmt.Errorf("fake: Connection Request without RDP_NEG_REQ: % x", cr)
	}
	if req := binary.LittleEndian.Uint32(cr[len(cr)-4:]); req&f.selected == 0 {
		return fmt.Errorf("fake: client offered %#x, not %#x", req, f.selected)
	}
	// Connection Confirm with RDP_NEG_RSP (2.2.1.2.1).
	cc := []byte{3, 0, 0, 19, 14, 0xD0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0}
	cc = binary.LittleEndian.AppendUint32(cc, f.selected)
	if _, err := c.Write(cc); err != nil {
		return err
	}
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("fake: TLS: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return err
	}
	pubKey, err := subjectPublicKey(leaf.RawSubjectPublicKeyInfo)
	if err != nil {
		return err
	}
	r.stage = "tls"

	// NEGOTIATE_MESSAGE -> CHALLENGE_MESSAGE.
	req, err := readTSRequest(tc)
	if err != nil {
		return fmt.Errorf("fake: TSRequest 1: %w", err)
	}
	if len(req.NegoTokens) != 1 || !bytes.HasPrefix(req.NegoTokens[0].Token, append(ntlmSignature, 1, 0, 0, 0)) {
		return errors.New("fake: first TSRequest has no NEGOTIATE_MESSAGE")
	}
	negotiate := req.NegoTokens[0].Token
	serverChallenge := make([]byte, 8)
	rand.Read(serverChallenge)
	challenge := fakeChallengeMessage(serverChallenge)
	if err := writeTSRequest(tc, &tsRequest{Version: f.version, NegoTokens: []negoToken{{challenge}}}); err != nil {
		return err
	}

	// AUTHENTICATE_MESSAGE with pubKeyAuth (MS-CSSP 3.1.5 step 3).
	req, err = readTSRequest(tc)
	if err != nil {
		return fmt.Errorf("fake: TSRequest 2: %w", err)
	}
	if len(req.NegoTokens) != 1 {
		return errors.New("fake: second TSRequest has no AUTHENTICATE_MESSAGE")
	}
	exported, err := f.acceptAuthenticate(negotiate, challenge, req.NegoTokens[0].Token, serverChallenge)
	if errors.Is(err, errFakeRejected) {
		r.stage = "rejected"
		// From version 3 on a server reports the failure (errorCode);
		// before that it just closes.
		if f.version >= 3 {
			writeTSRequest(tc, &tsRequest{Version: f.version, ErrorCode: statusLogonFailure})
		}
		if tcp, ok := c.(*net.TCPConn); ok && f.reset {
			tcp.SetLinger(0)
		}
		return nil
	}
	if err != nil {
		return err
	}
	r.stage = "ntlm"

	// The server's session security is the client's with the directions
	// swapped: it seals with the server-to-client keys (MS-NLMP 3.4.5.2).
	s := &ntlmClient{exportedKey: exported}
	s.initSessionSecurity()
	s.clientSign, s.serverSign = s.serverSign, s.clientSign
	s.clientSeal, s.serverSeal = s.serverSeal, s.clientSeal

	got, err := s.unseal(req.PubKeyAuth)
	if err != nil {
		return fmt.Errorf("fake: client pubKeyAuth: %w", err)
	}
	proofKey := pubKey
	if f.badProof {
		proofKey = append([]byte(nil), pubKey...)
		proofKey[len(proofKey)-1] ^= 0xFF
	}
	var want, answer []byte
	if f.version >= 5 {
		if len(req.ClientNonce) != 32 {
			return fmt.Errorf("fake: clientNonce of %d bytes for version %d", len(req.ClientNonce), f.version)
		}
		want = fakeBindingHash("CredSSP Client-To-Server Binding Hash\x00", req.ClientNonce, pubKey)
		answer = fakeBindingHash("CredSSP Server-To-Client Binding Hash\x00", req.ClientNonce, proofKey)
	} else {
		if req.ClientNonce != nil {
			return fmt.Errorf("fake: clientNonce sent to a version %d server", f.version)
		}
		want = pubKey
		answer = append([]byte(nil), proofKey...)
		answer[0]++
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("fake: client pubKeyAuth (version %d) is %x, want %x", f.version, got, want)
	}
	sealed := s.seal(answer)
	if f.echoProof {
		sealed = req.PubKeyAuth
	}
	if err := writeTSRequest(tc, &tsRequest{Version: f.version, PubKeyAuth: sealed}); err != nil {
		return err
	}
	r.stage = "pubKeyAuth"

	// TSCredentials (2.2.1.2).
	req, err = readTSRequest(tc)
	if err != nil {
		if f.badProof || f.echoProof {
			r.stage = "refused" // the client did not send the password
			return nil
		}
		return fmt.Errorf("fake: TSRequest 3: %w", err)
	}
	if f.badProof || f.echoProof {
		return errors.New("fake: the client sent its credentials after a wrong pubKeyAuth")
	}
	plain, err := s.unseal(req.AuthInfo)
	if err != nil {
		return fmt.Errorf("fake: authInfo: %w", err)
	}
	var ts tsCredentials
	if rest, err := asn1.Unmarshal(plain, &ts); err != nil || len(rest) != 0 || ts.CredType != 1 {
		return fmt.Errorf("fake: TSCredentials (credType %d): %v", ts.CredType, err)
	}
	var pc tsPasswordCreds
	if rest, err := asn1.Unmarshal(ts.Credentials, &pc); err != nil || len(rest) != 0 {
		return fmt.Errorf("fake: TSPasswordCreds: %v", err)
	}
	r.creds = &pc
	r.stage = "credentials"

	if f.selected == protocolHybridEx {
		// Early User Authorization Result PDU (MS-RDPBCGR 2.2.10.2).
		res := binary.LittleEndian.AppendUint32(nil, f.authz)
		if f.shortAuthz {
			res = res[:2]
		}
		if _, err := tc.Write(res); err != nil {
			return err
		}
		r.stage = "authz"
		if f.authz != authzSuccess || f.shortAuthz {
			return nil
		}
	}
	// MCS Connect Initial (2.2.1.3), then close instead of answering.
	p, err := readTPKTFrame(tc)
	if err != nil {
		return fmt.Errorf("fake: MCS Connect Initial: %w", err)
	}
	if len(p) < 9 || p[7] != 0x7F || p[8] != 0x65 {
		return fmt.Errorf("fake: not an MCS Connect Initial: % x", p[:min(len(p), 16)])
	}
	r.stage = "mcs"
	return nil
}

// fakeChallengeMessage builds CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) with a
// timestamp, so that the client adds a MIC.
func fakeChallengeMessage(serverChallenge []byte) []byte {
	target := utf16le("FAKE")
	var ti []byte
	for _, av := range []struct {
		id uint16
		v  []byte
	}{
		{2, target},             // MsvAvNbDomainName
		{1, utf16le("FAKESRV")}, // MsvAvNbComputerName
		{msvAvTimestamp, binary.LittleEndian.AppendUint64(nil, uint64(time.Now().UnixNano()/100)+116444736000000000)},
		{msvAvEOL, nil},
	} {
		ti = putU16(ti, av.id)
		ti = putU16(ti, uint16(len(av.v)))
		ti = append(ti, av.v...)
	}
	const headerLen = 56
	b := append([]byte(nil), ntlmSignature...)
	b = putU32(b, 2)
	b = putU16(b, uint16(len(target)))
	b = putU16(b, uint16(len(target)))
	b = putU32(b, headerLen)
	b = putU32(b, ntlmClientFlags|ntlmNegotiateTargetInfo)
	b = append(b, serverChallenge...)
	b = append(b, make([]byte, 8)...) // Reserved
	b = putU16(b, uint16(len(ti)))
	b = putU16(b, uint16(len(ti)))
	b = putU32(b, uint32(headerLen+len(target)))
	b = append(b, ntlmVersion...)
	b = append(b, target...)
	return append(b, ti...)
}

// ntlmField returns the payload a (Len, MaxLen, BufferOffset) field at off
// of an NTLM message points at, bounded by the message.
func ntlmField(m []byte, off int) ([]byte, error) {
	if off+8 > len(m) {
		return nil, fmt.Errorf("fake: field at %d outside %d bytes", off, len(m))
	}
	n := int(binary.LittleEndian.Uint16(m[off:]))
	at := int(binary.LittleEndian.Uint32(m[off+4:]))
	if at > len(m) || n > len(m)-at {
		return nil, fmt.Errorf("fake: field %d+%d outside %d bytes", at, n, len(m))
	}
	return m[at : at+n], nil
}

// acceptAuthenticate checks AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) against
// the fake's account as a server does (3.2.5.1.2) and returns the
// ExportedSessionKey.
func (f *fakeNLA) acceptAuthenticate(negotiate, challenge, m, serverChallenge []byte) ([]byte, error) {
	if len(m) < 88 || !bytes.HasPrefix(m, append(ntlmSignature, 3, 0, 0, 0)) {
		return nil, errors.New("fake: not an AUTHENTICATE_MESSAGE")
	}
	var fields [6][]byte // Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey
	for i := range fields {
		v, err := ntlmField(m, 12+8*i)
		if err != nil {
			return nil, err
		}
		fields[i] = v
	}
	nt, domain, user, encKey := fields[1], fields[2], fields[3], fields[5]
	if !bytes.Equal(user, utf16le(f.user)) || !bytes.Equal(domain, utf16le(f.domain)) {
		return nil, fmt.Errorf("fake: AUTHENTICATE for user %x domain %x", user, domain)
	}
	if len(nt) < 16+28 || len(encKey) != 16 {
		return nil, fmt.Errorf("fake: NtChallengeResponse of %d bytes, EncryptedRandomSessionKey of %d", len(nt), len(encKey))
	}
	// NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge || temp) (3.3.2).
	key := ntowfv2(f.password, f.user, f.domain)
	proof := hmacMD5(key, serverChallenge, nt[16:])
	if !hmac.Equal(proof, nt[:16]) {
		return nil, errFakeRejected
	}
	sessionBaseKey := hmacMD5(key, proof)
	exported := make([]byte, 16)
	c, err := rc4.NewCipher(sessionBaseKey)
	if err != nil {
		return nil, err
	}
	c.XORKeyStream(exported, encKey)
	// With a server timestamp the client sends Z(24) as the LMv2 response
	// and flags the MIC in its AV pairs (3.1.5.1.2).
	if !bytes.Equal(fields[0], make([]byte, 24)) {
		return nil, fmt.Errorf("fake: LmChallengeResponse % x, want Z(24)", fields[0])
	}
	if avFlags, err := fakeAVFlags(nt[16+28:]); err != nil || avFlags&0x2 == 0 {
		return nil, fmt.Errorf("fake: MsvAvFlags %#x without MIC present: %v", avFlags, err)
	}
	// MIC over the three messages with the MIC zeroed (3.2.5.1.2).
	zeroed := append([]byte(nil), m...)
	clear(zeroed[72:88])
	if mic := hmacMD5(exported, negotiate, challenge, zeroed); !hmac.Equal(mic, m[72:88]) {
		return nil, fmt.Errorf("fake: MIC %x, want %x", m[72:88], mic)
	}
	return exported, nil
}

// fakeAVFlags returns MsvAvFlags from AV pairs (MS-NLMP 2.2.2.1).
func fakeAVFlags(av []byte) (uint32, error) {
	for len(av) >= 4 {
		id, n := binary.LittleEndian.Uint16(av), int(binary.LittleEndian.Uint16(av[2:]))
		if n > len(av)-4 {
			return 0, fmt.Errorf("fake: AV pair %d of %d bytes overruns", id, n)
		}
		if id == msvAvEOL {
			break
		}
		if id == msvAvFlags && n == 4 {
			return binary.LittleEndian.Uint32(av[4:]), nil
		}
		av = av[4+n:]
	}
	return 0, errors.New("fake: no MsvAvFlags")
}

func fakeBindingHash(magic string, nonce, pubKey []byte) []byte {
	h := sha256.New()
	h.Write([]byte(magic))
	h.Write(nonce)
	h.Write(pubKey)
	return h.Sum(nil)
}

// TestFakeNLA runs Dial against the fake for every CredSSP version, both
// NLA protocols, a wrong password, a refused early authorization and a man
// in the middle.
func TestFakeNLA(t *testing.T) {
	cert, der := nlaCert(t, false)
	rsaCert, rsaDER := nlaCert(t, true)
	pinOf := func(der []byte) string { sum := sha256.Sum256(der); return "sha256:" + hex.EncodeToString(sum[:]) }
	const user, domain, password = "alice", "CORP", "s3cret-Pässword"
	type tc struct {
		name      string
		fake      fakeNLA
		password  string
		security  string
		wantStage string
		ignore    bool // IgnoreCert instead of pinning the fingerprint
		noDomain  bool // a local account: empty domain
		useRSA    bool // the server has an RSA certificate
		check     func(t *testing.T, err error)
	}
	reachedMCS := func(t *testing.T, err error) {
		t.Helper()
		// The fake closes instead of sending the MCS Connect Response: NLA
		// passed and the error must be about MCS, not authentication.
		if err == nil || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "MCS Connect-Response") {
			t.Fatalf("Dial = %v, want an error reading the MCS Connect-Response", err)
		}
	}
	authFailed := func(want string) func(t *testing.T, err error) {
		return func(t *testing.T, err error) {
			t.Helper()
			if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), want) {
				t.Fatalf("Dial = %v, want ErrAuthFailed naming %q", err, want)
			}
		}
	}
	var cases []tc
	for v := 2; v <= 6; v++ {
		for _, sel := range []uint32{protocolHybrid, protocolHybridEx} {
			sec := "nla"
			if sel == protocolHybridEx {
				sec = "nla-ext"
			}
			cases = append(cases, tc{
				name:     fmt.Sprintf("v%d/%s", v, sec),
				fake:     fakeNLA{version: v, selected: sel, authz: authzSuccess},
				password: password, security: sec, wantStage: "mcs", check: reachedMCS,
			})
		}
		wrong := tc{
			name:     fmt.Sprintf("v%d/wrong password", v),
			fake:     fakeNLA{version: v, selected: protocolHybrid},
			password: "guess", security: "nla", wantStage: "rejected",
			check: authFailed("STATUS_LOGON_FAILURE"),
		}
		if v == 2 {
			wrong.check = authFailed("closed the connection after the NTLM AUTHENTICATE_MESSAGE")
		}
		cases = append(cases, wrong)
		cases = append(cases, tc{
			name:     fmt.Sprintf("v%d/man in the middle", v),
			fake:     fakeNLA{version: v, selected: protocolHybrid, badProof: true},
			password: password, security: "nla", wantStage: "refused",
			check: func(t *testing.T, err error) {
				t.Helper()
				if !errors.Is(err, ErrCertificate) || !strings.Contains(err.Error(), "public key proof") {
					t.Fatalf("Dial = %v, want ErrCertificate about the public key proof", err)
				}
			},
		})
	}
	refused := func(t *testing.T, err error) {
		t.Helper()
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "pubKeyAuth") {
			t.Fatalf("Dial = %v, want a ProtocolError about pubKeyAuth", err)
		}
	}
	cases = append(cases,
		// A server that picks HYBRID from an offer with HYBRID_EX sends no
		// Early User Authorization Result: the client must not wait for one.
		tc{
			name:     "v6/HYBRID from an nla-ext offer",
			fake:     fakeNLA{version: 6, selected: protocolHybrid},
			password: password, security: "nla-ext", wantStage: "mcs", check: reachedMCS,
		},
		tc{
			name:     "v4/HYBRID from an any offer",
			fake:     fakeNLA{version: 4, selected: protocolHybrid},
			password: password, security: "any", wantStage: "mcs", check: reachedMCS,
		},
		tc{
			name:     "v6/local account",
			fake:     fakeNLA{version: 6, selected: protocolHybridEx},
			password: password, security: "nla-ext", wantStage: "mcs", noDomain: true, check: reachedMCS,
		},
		tc{
			name:     "v2/local account",
			fake:     fakeNLA{version: 2, selected: protocolHybrid},
			password: password, security: "nla", wantStage: "mcs", noDomain: true, check: reachedMCS,
		},
		tc{
			name:     "v2/RSA certificate",
			fake:     fakeNLA{version: 2, selected: protocolHybrid},
			password: password, security: "nla", wantStage: "mcs", useRSA: true, check: reachedMCS,
		},
		tc{
			name:     "v4/RSA certificate, man in the middle",
			fake:     fakeNLA{version: 4, selected: protocolHybrid, badProof: true},
			password: password, security: "nla", wantStage: "refused", useRSA: true,
			check: func(t *testing.T, err error) {
				t.Helper()
				if !errors.Is(err, ErrCertificate) {
					t.Fatalf("Dial = %v, want ErrCertificate", err)
				}
			},
		},
		tc{
			name:     "v6/RSA certificate",
			fake:     fakeNLA{version: 6, selected: protocolHybridEx},
			password: password, security: "nla-ext", wantStage: "mcs", useRSA: true, check: reachedMCS,
		},
		tc{
			name:     "v2/wrong password, reset",
			fake:     fakeNLA{version: 2, selected: protocolHybrid, reset: true},
			password: "guess", security: "nla", wantStage: "rejected",
			check: authFailed("closed the connection after the NTLM AUTHENTICATE_MESSAGE"),
		},
		tc{
			name:     "v2/echoed pubKeyAuth",
			fake:     fakeNLA{version: 2, selected: protocolHybrid, echoProof: true},
			password: password, security: "nla", wantStage: "refused", check: refused,
		},
		tc{
			name:     "v6/echoed pubKeyAuth",
			fake:     fakeNLA{version: 6, selected: protocolHybrid, echoProof: true},
			password: password, security: "nla", wantStage: "refused", check: refused,
		},
		tc{
			name:     "v6/HYBRID_EX truncated result",
			fake:     fakeNLA{version: 6, selected: protocolHybridEx, shortAuthz: true},
			password: password, security: "nla-ext", wantStage: "authz",
			check: func(t *testing.T, err error) {
				t.Helper()
				if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "Early User Authorization Result") {
					t.Fatalf("Dial = %v, want an unexpected EOF in the Early User Authorization Result", err)
				}
			},
		},
		tc{
			name:     "v6/HYBRID_EX access denied",
			fake:     fakeNLA{version: 6, selected: protocolHybridEx, authz: authzAccessDenied},
			password: password, security: "nla-ext", wantStage: "authz",
			check: authFailed("AUTHZ_ACCESS_DENIED"),
		},
		tc{
			name:     "v3/HYBRID_EX access denied",
			fake:     fakeNLA{version: 3, selected: protocolHybridEx, authz: authzAccessDenied},
			password: password, security: "any", wantStage: "authz", ignore: true,
			check: authFailed("AUTHZ_ACCESS_DENIED"),
		},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dom := domain
			if c.noDomain {
				dom = ""
			}
			c.fake.user, c.fake.domain, c.fake.password = user, dom, password
			crt, pin := cert, pinOf(der)
			if c.useRSA {
				crt, pin = rsaCert, pinOf(rsaDER)
			}
			addr, res := startFakeNLA(t, c.fake, crt)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cfg := Config{Username: user, Domain: dom, Password: c.password, Security: c.security, CertFingerprints: []string{pin}}
			if c.ignore {
				cfg.CertFingerprints, cfg.IgnoreCert = nil, true
			}
			cl, err := Dial(ctx, addr, cfg, render.NewFramebuffer(1, 1))
			if cl != nil {
				cl.Close()
			}
			t.Logf("Dial: %v", err)
			c.check(t, err)
			r := <-res
			if r.err != nil {
				t.Fatalf("fake server: %v (after %s)", r.err, r.stage)
			}
			if r.stage != c.wantStage {
				t.Fatalf("fake server stopped after %q, want %q", r.stage, c.wantStage)
			}
			if c.wantStage == "mcs" || c.wantStage == "authz" {
				if r.creds == nil || string(r.creds.Password) != string(utf16le(password)) ||
					string(r.creds.UserName) != string(utf16le(user)) || string(r.creds.DomainName) != string(utf16le(dom)) {
					t.Fatalf("TSPasswordCreds = %+v", r.creds)
				}
			} else if r.creds != nil {
				t.Fatalf("the client sent its credentials: %+v", r.creds)
			}
		})
	}
}
