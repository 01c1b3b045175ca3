package rdp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render"
)

// fakeServer accepts one connection, reads the X.224 Connection Request
// and runs serve on the connection.
func fakeServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c, int64(int(hdr[2])<<8|int(hdr[3]))-4); err != nil {
			return
		}
		serve(c)
	}()
	return l.Addr().String()
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// confirmSSL is an X.224 Connection Confirm selecting PROTOCOL_SSL.
var confirmSSL = []byte{3, 0, 0, 19, 14, 0xD0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0}

// TestHostileServer: malformed or unexpected server messages end Dial with
// an error that says what was wrong, never a panic or a hang.
func TestHostileServer(t *testing.T) {
	cert := selfSigned(t)
	cases := []struct {
		name  string
		serve func(c net.Conn)
		check func(err error) bool
	}{
		{"short TPKT", func(c net.Conn) { c.Write([]byte{3, 0, 0, 3}) }, isProtocolError},
		{"not a confirm", func(c net.Conn) { c.Write([]byte{3, 0, 0, 9, 2, 0xF0, 0x80, 0, 0}) }, isProtocolError},
		{"negotiation failure", func(c net.Conn) {
			c.Write([]byte{3, 0, 0, 19, 14, 0xD0, 0, 0, 0x12, 0x34, 0, 3, 0, 8, 0, 2, 0, 0, 0})
		}, func(err error) bool { var nf *rdp.NegotiationFailure; return errors.As(err, &nf) && nf.Code == 2 }},
		{"protocol not offered", func(c net.Conn) {
			c.Write([]byte{3, 0, 0, 11, 6, 0xD0, 0, 0, 0x12, 0x34, 0}) // legacy: standard RDP security
		}, func(err error) bool { return errors.Is(err, rdp.ErrUnsupported) }},
		{"closed", func(c net.Conn) {}, func(err error) bool { return errors.Is(err, io.EOF) }},
		{"garbage MCS response over TLS", func(c net.Conn) {
			c.Write(confirmSSL)
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			if tc.Handshake() != nil {
				return
			}
			buf := make([]byte, 4096)
			tc.Read(buf) // MCS Connect-Initial
			tc.Write([]byte{3, 0, 0, 12, 2, 0xF0, 0x80, 0x7F, 0x66, 0x82, 0xFF, 0xFF})
			tc.Read(buf)
		}, isProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.serve)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := rdp.Dial(ctx, addr, rdp.Config{IgnoreCert: true, Security: "tls"}, render.NewFramebuffer(1, 1))
			t.Logf("%v", err)
			if err == nil || !tc.check(err) {
				t.Fatalf("Dial: %v", err)
			}
		})
	}
}

func isProtocolError(err error) bool {
	var pe *rdp.ProtocolError
	return errors.As(err, &pe) && pe.Section != ""
}

// TestDialCancel: cancelling the context ends a Dial that waits for a
// server that never answers.
func TestDialCancel(t *testing.T) {
	addr := fakeServer(t, func(c net.Conn) { time.Sleep(5 * time.Second) })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := rdp.Dial(ctx, addr, rdp.Config{IgnoreCert: true}, render.NewFramebuffer(1, 1))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("Dial after %v: %v", time.Since(start), err)
	}
}
