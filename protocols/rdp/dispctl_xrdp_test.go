package rdp_test

import (
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
)

// TestXRDPResize asks xrdp for new desktop sizes over Display Control: xrdp
// (enable_dynamic_resizing, its default) opens the channel at connect,
// resizes the Xorg session's screen (xorgxrdp), and reactivates the client
// at the new size; the framebuffer then equals the X screen. Twice, so the
// second reactivation is seen too; an odd width is made even.
func TestXRDPResize(t *testing.T) {
	srv := peers.StartXRDP(t, peers.XRDPOptions{Session: "xsetroot -solid '#2a6f97'\nexec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0'\n"})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls",
		Width: 800, Height: 600, DisplayControl: true})
	x := srv.WaitSession(t, 30*time.Second)
	for deadline := time.Now().Add(15 * time.Second); !s.c.CanResize(); {
		if time.Now().After(deadline) {
			t.Fatal("xrdp never opened Display Control")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, size := range [][2]int{{1001, 700}, {640, 480}} {
		want := [2]int{size[0] &^ 1, size[1]}
		if err := s.c.Resize(size[0], size[1], 100); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(15 * time.Second); ; {
			w, h := s.c.Size()
			if [2]int{w, h} == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("desktop %dx%d after asking for %v", w, h, size)
			}
			time.Sleep(50 * time.Millisecond)
		}
		x.WaitScreenSize(t, want[0], want[1], 15*time.Second)
		waitMatch(t, x, s)
	}
}
