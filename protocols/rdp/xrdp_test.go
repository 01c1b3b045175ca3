package rdp_test

import (
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
)

// TestXRDP logs into xrdp (TLS security, PAM user, the licence exchange
// xrdp always runs) and checks the decoded desktop against xwd of the
// session's Xorg display, at 32 bpp (planar) and 16 bpp (interleaved RLE).
func TestXRDP(t *testing.T) {
	peers.Require(t, "xwd", "xsetroot", "xterm")
	srv := peers.StartXRDP(t, peers.XRDPOptions{
		Session: "xsetroot -solid '#2a6f97'\n" +
			"xterm -geometry 40x8+600+300 -bg '#ffeedd' -fg '#113355' -e sh -c 'seq 1 30; exec sleep 600' &\n" +
			"exec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0' -e sh -c 'echo racgate xrdp test; ls -la /usr/bin | head -12; exec sleep 600'\n",
	})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls", Width: 1024, Height: 768})
	x := srv.WaitSession(t, 30*time.Second)
	waitMatch(t, x, s)
	x.Run(t, "xsetroot", "-solid", "#803050")
	waitMatch(t, x, s)
	// The pointer shape arrives once the pointer moves over an xterm.
	for i, deadline := 0, time.Now().Add(10*time.Second); !opaque(s.sink.cursorImage()); i++ {
		s.c.Pointer(0, 100+i%2*500, 100+i%2*250)
		time.Sleep(200 * time.Millisecond)
		if time.Now().After(deadline) {
			t.Fatal("no pointer shape with opaque pixels arrived")
		}
	}
	s.stop(t)
	if rdp.PlanarCount(s.c) == 0 {
		t.Error("no planar bitmap was decoded at 32 bpp")
	}
}
