package vnc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/vnc"
	"github.com/racgate/racgate/render"
)

func dialErr(addr string, cfg vnc.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := vnc.Dial(ctx, addr, cfg, render.NewFramebuffer(0, 0))
	if err == nil {
		c.Close()
	}
	return err
}

func TestXvncVNCAuth(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc", "vncpasswd")
	x := desktop(t, peers.XvncOptions{Password: "t0ps3cret"})
	err := dialErr(x.Addr, vnc.Config{Password: "wrong", QualityLevel: -1, CompressLevel: -1})
	if !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("wrong password: err = %v, want ErrAuthFailed", err)
	}
	s := connect(t, x.Addr, vnc.Config{Password: "t0ps3cret", QualityLevel: -1, CompressLevel: -1})
	waitMatch(t, x, s, 0)
	// A config that does not allow VNC authentication must not use it.
	err = dialErr(x.Addr, vnc.Config{SecurityTypes: []uint8{vnc.SecurityNone}, QualityLevel: -1, CompressLevel: -1})
	if !errors.Is(err, vnc.ErrUnsupported) {
		t.Fatalf("None only against VncAuth server: err = %v, want ErrUnsupported", err)
	}
}

// TestXvncAskPassword: without a Password, VNC authentication asks AskPassword (with the
// handshake's context) and uses its answer; its error ends the dial; without either the
// dial stops at ErrPasswordNeeded, having sent nothing.
func TestXvncAskPassword(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc", "vncpasswd")
	x := desktop(t, peers.XvncOptions{Password: "t0ps3cret"})
	asked := 0
	cfg := vnc.Config{QualityLevel: -1, CompressLevel: -1, AskPassword: func(ctx context.Context) (string, error) {
		asked++
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "t0ps3cret", nil
	}}
	s := connect(t, x.Addr, cfg)
	waitMatch(t, x, s, 0)
	if asked != 1 {
		t.Errorf("asked %d times", asked)
	}
	cancelled := errors.New("the user cancelled")
	cfg.AskPassword = func(context.Context) (string, error) { return "", cancelled }
	if err := dialErr(x.Addr, cfg); !errors.Is(err, cancelled) {
		t.Errorf("AskPassword's error: dial err = %v", err)
	}
	cfg.AskPassword = nil
	if err := dialErr(x.Addr, cfg); !errors.Is(err, vnc.ErrPasswordNeeded) {
		t.Errorf("no password: dial err = %v, want ErrPasswordNeeded", err)
	}
	cfg.Password = "wrong"
	cfg.AskPassword = func(context.Context) (string, error) { t.Error("asked with a Password set"); return "", nil }
	if err := dialErr(x.Addr, cfg); !errors.Is(err, vnc.ErrAuthFailed) {
		t.Errorf("a wrong Password: dial err = %v", err)
	}
}

// selfSigned writes a certificate for localhost/127.0.0.1 and its key to dir
// and returns a TLS config that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cfg *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "racgate test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

func TestXvncVeNCryptX509Vnc(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc", "vncpasswd")
	certFile, keyFile, tlsCfg := selfSigned(t, t.TempDir())
	x := desktop(t, peers.XvncOptions{SecurityTypes: "X509Vnc", Password: "x509pass",
		ExtraArgs: []string{"-X509Cert", certFile, "-X509Key", keyFile}})
	// Without a TLS config the X509 subtypes cannot be used.
	err := dialErr(x.Addr, vnc.Config{Password: "x509pass", QualityLevel: -1, CompressLevel: -1})
	if !errors.Is(err, vnc.ErrUnsupported) {
		t.Fatalf("no TLSConfig: err = %v, want ErrUnsupported", err)
	}
	// A certificate we do not trust fails the TLS handshake.
	err = dialErr(x.Addr, vnc.Config{Password: "x509pass", TLSConfig: &tls.Config{ServerName: "localhost"}, QualityLevel: -1, CompressLevel: -1})
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("untrusted cert: err = %v, want x509.UnknownAuthorityError", err)
	}
	err = dialErr(x.Addr, vnc.Config{Password: "nope", TLSConfig: tlsCfg, QualityLevel: -1, CompressLevel: -1})
	if !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("wrong password over TLS: err = %v, want ErrAuthFailed", err)
	}
	s := connect(t, x.Addr, vnc.Config{Password: "x509pass", TLSConfig: tlsCfg, QualityLevel: -1, CompressLevel: -1})
	waitMatch(t, x, s, 0)
}

// Anonymous TLS (VeNCrypt TLSNone/TLSVnc, protocols/vnc/anontls) against
// Xvnc's GnuTLS: the session must decode the real screen.
func TestXvncVeNCryptAnonymousTLS(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc", "vncpasswd")
	t.Run("TLSNone", func(t *testing.T) {
		t.Parallel()
		x := desktop(t, peers.XvncOptions{SecurityTypes: "TLSNone"})
		// Refused when the config forbids anonymous TLS.
		err := dialErr(x.Addr, vnc.Config{NoAnonymousTLS: true, QualityLevel: -1, CompressLevel: -1})
		if !errors.Is(err, vnc.ErrAnonymousTLS) || !errors.Is(err, vnc.ErrUnsupported) {
			t.Fatalf("NoAnonymousTLS: err = %v, want ErrAnonymousTLS", err)
		}
		if !strings.Contains(err.Error(), "anonymous TLS") {
			t.Fatalf("error does not say why: %v", err)
		}
		s := connect(t, x.Addr, vnc.Config{Encodings: []int32{vnc.EncodingZRLE}, QualityLevel: -1, CompressLevel: -1})
		waitMatch(t, x, s, 0)
	})
	t.Run("TLSVnc", func(t *testing.T) {
		t.Parallel()
		x := desktop(t, peers.XvncOptions{SecurityTypes: "TLSVnc", Password: "anon"})
		err := dialErr(x.Addr, vnc.Config{Password: "wrong", QualityLevel: -1, CompressLevel: -1})
		if !errors.Is(err, vnc.ErrAuthFailed) {
			t.Fatalf("wrong password: err = %v, want ErrAuthFailed", err)
		}
		// Raw moves the most bytes through the record layer.
		s := connect(t, x.Addr, vnc.Config{Password: "anon", Encodings: []int32{vnc.EncodingRaw}, QualityLevel: -1, CompressLevel: -1})
		waitMatch(t, x, s, 0)
	})
}

func TestXvncVeNCryptTLSPlain(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc")
	user, pass := peers.TempUser(t)
	x := desktop(t, peers.XvncOptions{SecurityTypes: "TLSPlain", ExtraArgs: []string{"-PlainUsers", user}})
	err := dialErr(x.Addr, vnc.Config{Username: user, Password: "wrong", QualityLevel: -1, CompressLevel: -1})
	if !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("wrong password: err = %v, want ErrAuthFailed", err)
	}
	s := connect(t, x.Addr, vnc.Config{Username: user, Password: pass, QualityLevel: -1, CompressLevel: -1})
	waitMatch(t, x, s, 0)
}

// X509Plain and Plain check the user name and password with PAM (service
// "tigervnc"), so a real local user is needed: created here when running as root.
func TestXvncVeNCryptPlain(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc")
	user, pass := peers.TempUser(t)
	certFile, keyFile, tlsCfg := selfSigned(t, t.TempDir())
	x := desktop(t, peers.XvncOptions{SecurityTypes: "X509Plain",
		ExtraArgs: []string{"-X509Cert", certFile, "-X509Key", keyFile, "-PlainUsers", user}})
	err := dialErr(x.Addr, vnc.Config{Username: user, Password: "wrong", TLSConfig: tlsCfg, QualityLevel: -1, CompressLevel: -1})
	if !errors.Is(err, vnc.ErrAuthFailed) {
		t.Fatalf("wrong password: err = %v, want ErrAuthFailed", err)
	}
	s := connect(t, x.Addr, vnc.Config{Username: user, Password: pass, TLSConfig: tlsCfg, QualityLevel: -1, CompressLevel: -1})
	waitMatch(t, x, s, 0)

	// VeNCrypt Plain: the same, without TLS (the password crosses in clear).
	xp := peers.StartXvnc(t, peers.XvncOptions{SecurityTypes: "Plain", ExtraArgs: []string{"-PlainUsers", user}})
	if err := dialErr(xp.Addr, vnc.Config{Username: user, Password: pass, QualityLevel: -1, CompressLevel: -1}); err != nil {
		t.Fatalf("Plain: %v", err)
	}
}

func TestXvncVeNCryptX509None(t *testing.T) {
	t.Parallel()
	certFile, keyFile, tlsCfg := selfSigned(t, t.TempDir())
	x := desktop(t, peers.XvncOptions{SecurityTypes: "X509None",
		ExtraArgs: []string{"-X509Cert", certFile, "-X509Key", keyFile}})
	s := connect(t, x.Addr, vnc.Config{TLSConfig: tlsCfg, QualityLevel: -1, CompressLevel: -1})
	waitMatch(t, x, s, 0)
}
