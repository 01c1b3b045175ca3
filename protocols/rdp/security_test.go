package rdp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render"
)

func dialErr(t *testing.T, addr string, cfg rdp.Config) (*rdp.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := rdp.Dial(ctx, addr, cfg, render.NewFramebuffer(1, 1))
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// TestShadowCertificate checks the server identity: the self-signed
// certificate of freerdp-shadow is refused by default with its fingerprint
// in the error, accepted once pinned, and refused with another pin.
func TestShadowCertificate(t *testing.T) {
	peers.Require(t, "Xvfb", "freerdp-shadow-cli")
	x := peers.StartXvfb(t, "640x480", 24)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	cfg := rdp.Config{Username: srv.User, Password: srv.Password}
	_, err := dialErr(t, srv.Addr, cfg)
	if !errors.Is(err, rdp.ErrCertificate) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	var ce *rdp.CertificateError
	if !errors.As(err, &ce) || len(ce.Fingerprint) != len("sha256:")+64 || !strings.Contains(err.Error(), ce.Fingerprint) {
		t.Fatalf("no fingerprint in %v", err)
	}
	fp := ce.Fingerprint
	t.Logf("refused: %v", err)

	cfg.CertFingerprints = []string{fp}
	c, err := dialErr(t, srv.Addr, cfg)
	if err != nil {
		t.Fatalf("pinned %s: %v", fp, err)
	}
	if w, h := c.Size(); w != 640 || h != 480 {
		t.Fatalf("size %dx%d", w, h)
	}
	c.Close()

	cfg.CertFingerprints = []string{"sha256:" + strings.Repeat("ab", 32)}
	if _, err := dialErr(t, srv.Addr, cfg); !errors.Is(err, rdp.ErrCertificate) {
		t.Fatalf("wrong pin: %v", err)
	}
}

// TestShadowWrongPassword: with +auth freerdp-shadow checks the Client Info
// credentials with PAM.
func TestShadowWrongPassword(t *testing.T) {
	peers.Require(t, "Xvfb", "freerdp-shadow-cli")
	x := peers.StartXvfb(t, "640x480", 24)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	c, err := dialErr(t, srv.Addr, rdp.Config{Username: srv.User, Password: "wrong-" + srv.Password, IgnoreCert: true, Security: "tls"})
	if err == nil {
		err = c.Run(context.Background())
	}
	t.Logf("wrong password: %v", err)
	if !errors.Is(err, rdp.ErrAuthFailed) {
		t.Fatalf("wrong password: %v\n%s", err, srv.Log())
	}
}
