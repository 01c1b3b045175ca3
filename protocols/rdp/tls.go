package rdp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
)

// upgradeTLS starts TLS on conn after the X.224 negotiation selected
// PROTOCOL_SSL or CredSSP (MS-RDPBCGR 5.4.5.1). The server certificate must
// chain to cfg.RootCAs (system roots when nil) for host, or match one of
// cfg.CertFingerprints, unless cfg.IgnoreCert.
func upgradeTLS(ctx context.Context, conn net.Conn, host string, cfg *Config) (*tls.Conn, error) {
	pins, err := parseFingerprints(cfg.CertFingerprints)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{
		ServerName: host,
		// Verification is ours (VerifyConnection): pinning and opting out
		// must bypass the standard chain check, which would otherwise fail
		// first for the self-signed certificates most RDP servers have.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyServerCert(cs, host, cfg, pins)
		},
	}
	t := tls.Client(conn, tc)
	if err := t.HandshakeContext(ctx); err != nil {
		if errors.Is(err, ErrCertificate) {
			return nil, err
		}
		var ce *CertificateError
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, fmt.Errorf("rdp: TLS handshake: %w", err)
	}
	return t, nil
}

// CertificateError is a refused server certificate. It matches
// ErrCertificate with errors.Is.
type CertificateError struct {
	// Fingerprint is the certificate's SHA-256 fingerprint in the form
	// Config.CertFingerprints accepts ("sha256:<hex>"), so that an
	// administrator can pin it.
	Fingerprint string
	Reason      error // why it is not trusted
}

func (e *CertificateError) Error() string {
	return fmt.Sprintf("%v (%s): %v", ErrCertificate, e.Fingerprint, e.Reason)
}

func (e *CertificateError) Unwrap() []error { return []error{ErrCertificate, e.Reason} }

func verifyServerCert(cs tls.ConnectionState, host string, cfg *Config, pins [][sha256.Size]byte) error {
	if len(cs.PeerCertificates) == 0 {
		return &CertificateError{Reason: errors.New("no certificate")}
	}
	leaf := cs.PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	if cfg.IgnoreCert {
		return nil
	}
	for _, p := range pins {
		if p == sum {
			return nil
		}
	}
	opts := x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: host, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		if len(pins) > 0 {
			err = fmt.Errorf("not one of the %d pinned fingerprints and %w", len(pins), err)
		}
		return &CertificateError{Fingerprint: "sha256:" + hex.EncodeToString(sum[:]), Reason: err}
	}
	return nil
}

// parseFingerprints accepts "sha256:<hex>" (colons inside the hex allowed,
// as openssl prints them) or bare hex.
func parseFingerprints(fps []string) ([][sha256.Size]byte, error) {
	var out [][sha256.Size]byte
	for _, fp := range fps {
		s := strings.TrimSpace(fp)
		if low := strings.ToLower(s); strings.HasPrefix(low, "sha256:") {
			s = s[len("sha256:"):]
		}
		s = strings.ReplaceAll(s, ":", "")
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("rdp: cert-fingerprints: %q is not a SHA-256 fingerprint", fp)
		}
		out = append(out, [sha256.Size]byte(b))
	}
	return out, nil
}
