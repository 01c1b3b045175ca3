package rdp_test

import (
	"testing"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
)

func TestShadowTLS(t *testing.T) {
	x := desktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true})
	if w, h := s.c.Size(); w != 1024 || h != 768 {
		t.Fatalf("Size = %dx%d, want the shadowed screen's 1024x768", w, h)
	}
	waitMatch(t, x, s)
}
