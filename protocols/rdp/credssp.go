package rdp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// CredSSP (MS-CSSP): NLA over the TLS connection before the MCS exchange.
// TSRequest messages carry NTLM tokens, then the server's public key bound
// to the session (pubKeyAuth), then the sealed credentials.

// credSSPVersion is the highest TSRequest version we speak (MS-CSSP 2.2.1).
const credSSPVersion = 6

// maxTSRequest bounds one TSRequest from the server.
const maxTSRequest = 64 * 1024

type negoToken struct {
	Token []byte `asn1:"explicit,tag:0"`
}

// tsRequest is TSRequest (MS-CSSP 2.2.1).
type tsRequest struct {
	Version     int         `asn1:"explicit,tag:0"`
	NegoTokens  []negoToken `asn1:"optional,explicit,tag:1"`
	AuthInfo    []byte      `asn1:"optional,explicit,tag:2"`
	PubKeyAuth  []byte      `asn1:"optional,explicit,tag:3"`
	ErrorCode   int64       `asn1:"optional,explicit,tag:4"`
	ClientNonce []byte      `asn1:"optional,explicit,tag:5"`
}

// tsCredentials is TSCredentials (2.2.1.2) with TSPasswordCreds (2.2.1.2.1).
type tsCredentials struct {
	CredType    int    `asn1:"explicit,tag:0"`
	Credentials []byte `asn1:"explicit,tag:1"`
}

type tsPasswordCreds struct {
	DomainName []byte `asn1:"explicit,tag:0"`
	UserName   []byte `asn1:"explicit,tag:1"`
	Password   []byte `asn1:"explicit,tag:2"`
}

func writeTSRequest(w io.Writer, r *tsRequest) error {
	b, err := asn1.Marshal(*r)
	if err != nil {
		return fmt.Errorf("rdp: encode TSRequest: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("rdp: write TSRequest: %w", err)
	}
	return nil
}

// readTSRequest reads one DER TSRequest, bounded by maxTSRequest.
func readTSRequest(r io.Reader) (*tsRequest, error) {
	const pdu, sec = "TSRequest", "MS-CSSP 2.2.1"
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("rdp: read TSRequest: %w", err)
	}
	if hdr[0] != 0x30 {
		return nil, protoErr(pdu, sec, "tag %#x is not a SEQUENCE", hdr[0])
	}
	msg := hdr[:]
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7F
		if k == 0 || k > 3 {
			return nil, protoErr(pdu, sec, "length of %d bytes", k)
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return nil, fmt.Errorf("rdp: read TSRequest: %w", err)
		}
		msg = append(msg, lb...)
		n = 0
		for _, v := range lb {
			n = n<<8 | int(v)
		}
	}
	if n > maxTSRequest {
		return nil, protoErr(pdu, sec, "length %d exceeds %d", n, maxTSRequest)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("rdp: read TSRequest: %w", err)
	}
	msg = append(msg, body...)
	var req tsRequest
	if rest, err := asn1.Unmarshal(msg, &req); err != nil || len(rest) != 0 {
		return nil, &ProtocolError{PDU: pdu, Section: sec, Reason: "malformed DER", Err: err}
	}
	return &req, nil
}

// NTSTATUS values a server reports in TSRequest.errorCode (MS-ERREF 2.3).
var logonStatus = map[uint32]string{
	0xC000006D: "STATUS_LOGON_FAILURE",
	0xC000006E: "STATUS_ACCOUNT_RESTRICTION",
	0xC0000070: "STATUS_INVALID_WORKSTATION",
	0xC0000071: "STATUS_PASSWORD_EXPIRED",
	0xC0000072: "STATUS_ACCOUNT_DISABLED",
	0xC0000064: "STATUS_NO_SUCH_USER",
	0xC000006A: "STATUS_WRONG_PASSWORD",
	0xC0000193: "STATUS_ACCOUNT_EXPIRED",
	0xC0000224: "STATUS_PASSWORD_MUST_CHANGE",
	0xC0000234: "STATUS_ACCOUNT_LOCKED_OUT",
	0xC0000022: "STATUS_ACCESS_DENIED",
}

func credSSPError(code int64) error {
	c := uint32(code)
	if name, ok := logonStatus[c]; ok {
		return fmt.Errorf("%w: CredSSP error %s (%#08x) (MS-CSSP 2.2.1)", ErrAuthFailed, name, c)
	}
	return fmt.Errorf("rdp: CredSSP error %#08x (MS-CSSP 2.2.1)", c)
}

// subjectPublicKey returns the subjectPublicKey bits of a certificate's
// SubjectPublicKeyInfo: what pubKeyAuth binds (MS-CSSP 3.1.5).
func subjectPublicKey(rawSPKI []byte) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(rawSPKI, &spki); err != nil {
		return nil, fmt.Errorf("rdp: server public key: %w", err)
	}
	return spki.PublicKey.Bytes, nil
}

// credSSP runs NLA (MS-CSSP 3.1.5) over the TLS connection conn whose
// server public key is pubKey.
func credSSP(conn net.Conn, pubKey []byte, cfg *Config) error {
	user, domain := cfg.Username, cfg.Domain
	n := &ntlmClient{user: user, domain: domain, password: cfg.Password}
	if err := writeTSRequest(conn, &tsRequest{Version: credSSPVersion, NegoTokens: []negoToken{{n.negotiateMessage()}}}); err != nil {
		return err
	}
	resp, err := readTSRequest(conn)
	if err != nil {
		return err
	}
	if resp.ErrorCode != 0 {
		return credSSPError(resp.ErrorCode)
	}
	if len(resp.NegoTokens) == 0 {
		return protoErr("TSRequest", "MS-CSSP 3.1.5", "no NTLM CHALLENGE_MESSAGE")
	}
	version := min(resp.Version, credSSPVersion)
	auth, err := n.authenticateMessage(resp.NegoTokens[0].Token)
	if err != nil {
		return err
	}
	req := &tsRequest{Version: credSSPVersion, NegoTokens: []negoToken{{auth}}}
	var nonce []byte
	if version >= 5 {
		nonce = make([]byte, 32)
		rand.Read(nonce)
		req.ClientNonce = nonce
		req.PubKeyAuth = n.seal(bindingHash("CredSSP Client-To-Server Binding Hash\x00", nonce, pubKey))
	} else {
		req.PubKeyAuth = n.seal(pubKey)
	}
	if err := writeTSRequest(conn, req); err != nil {
		return err
	}
	resp, err = readTSRequest(conn)
	if err != nil {
		// Servers before version 3 report a failed logon by closing, with
		// a FIN or, as Windows does, a reset.
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("%w: the server closed the connection after the NTLM AUTHENTICATE_MESSAGE (MS-CSSP 3.1.5): %w", ErrAuthFailed, err)
		}
		return err
	}
	if resp.ErrorCode != 0 {
		return credSSPError(resp.ErrorCode)
	}
	got, err := n.unseal(resp.PubKeyAuth)
	if err != nil {
		return &ProtocolError{PDU: "TSRequest pubKeyAuth", Section: "MS-CSSP 3.1.5", Reason: "server's proof of the public key", Err: err}
	}
	var want []byte
	if version >= 5 {
		want = bindingHash("CredSSP Server-To-Client Binding Hash\x00", nonce, pubKey)
	} else {
		want = append([]byte(nil), pubKey...)
		if len(want) > 0 {
			want[0]++
		}
	}
	if string(got) != string(want) {
		// The TLS endpoint is not the one that checked our credentials: a
		// man in the middle. Do not send the password.
		return fmt.Errorf("%w: the server's CredSSP public key proof does not match the TLS certificate (MS-CSSP 3.1.5)", ErrCertificate)
	}
	creds, err := asn1.Marshal(tsPasswordCreds{DomainName: utf16le(domain), UserName: utf16le(user), Password: utf16le(cfg.Password)})
	if err != nil {
		return err
	}
	ts, err := asn1.Marshal(tsCredentials{CredType: 1, Credentials: creds})
	if err != nil {
		return err
	}
	return writeTSRequest(conn, &tsRequest{Version: credSSPVersion, AuthInfo: n.seal(ts)})
}

func bindingHash(magic string, nonce, pubKey []byte) []byte {
	h := sha256.New()
	h.Write([]byte(magic))
	h.Write(nonce)
	h.Write(pubKey)
	return h.Sum(nil)
}
