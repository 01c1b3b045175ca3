package rdp_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/keys"
	"github.com/racgate/racgate/protocols/rdp"
)

// TestXRDP logs into xrdp (TLS security, PAM user, the licence exchange
// xrdp always runs) and checks the decoded desktop against xwd of the
// session's Xorg display at 32 bpp (planar); TestXRDPColourDepths covers
// the lower depths (interleaved RLE).
func TestXRDP(t *testing.T) {
	peers.Require(t, "xwd", "xsetroot", "xterm")
	srv := peers.StartXRDP(t, peers.XRDPOptions{
		Session: "xsetroot -solid '#2a6f97'\n" +
			"xterm -geometry 40x8+600+300 -bg '#ffeedd' -fg '#113355' -e sh -c 'seq 1 30; exec sleep 600' &\n" +
			"exec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0' -e sh -c 'echo racgate xrdp test; ls -la /usr/bin | head -12; exec sleep 600'\n",
	})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls", Width: 1024, Height: 768, DPI: 144})
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

// TestXRDPTyping types into an xterm in an xrdp session with scancodes and
// reads what arrived from the file cat writes. A unicode event for 'é' is
// sent too; xrdp 0.9 drops unicode events for characters its keymap lacks,
// so it is only logged.
func TestXRDPTyping(t *testing.T) {
	peers.Require(t, "xterm")
	out := "/tmp/racgate-xrdp-typed-" + strconv.Itoa(os.Getpid())
	os.Remove(out)
	t.Cleanup(func() { os.Remove(out) })
	srv := peers.StartXRDP(t, peers.XRDPOptions{
		Session: "exec xterm -geometry 60x15+0+0 -title typing -e sh -c 'cat > " + out + "'\n",
	})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true} /* security "any": xrdp picks TLS */)
	x := srv.WaitSession(t, 30*time.Second)
	x.WaitWindow(t, "^typing$", 10*time.Second)
	if err := s.c.Pointer(0, 100, 50); err != nil {
		t.Fatal(err)
	}
	// Without a window manager the keyboard follows the pointer.
	x.WaitPointer(t, 100, 50, 10*time.Second)
	for _, code := range []string{"KeyX", "KeyR", "KeyD", "KeyP"} {
		sc, _ := keys.XTScancode(code)
		s.c.KeyScancode(sc, true)
		s.c.KeyScancode(sc, false)
	}
	s.c.KeyUnicode('é', true)
	s.c.KeyUnicode('é', false)
	s.c.KeyScancode(0x1C, true) // Enter
	s.c.KeyScancode(0x1C, false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if strings.HasPrefix(string(b), "xrdp") && strings.HasSuffix(string(b), "\n") {
			t.Logf("typed %q", b)
			if string(b) != "xrdpé\n" {
				t.Logf("unicode event not applied by xrdp: %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("typed %q, want xrdp...", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestXRDPColourDepths logs into xrdp at 24, 16 and 15 bpp, which xrdp
// encodes as interleaved RLE at that depth (its planar codec is for 32 bpp
// only), and compares the decoded desktop with xwd of the session's Xorg
// display. xorgxrdp reduces the 24-bit screen by truncation; at 24 bpp the
// match is exact, so a 16 or 15 bpp stream would not pass, nor would a swap
// of red and blue (the colours below differ in red and blue).
func TestXRDPColourDepths(t *testing.T) {
	peers.Require(t, "xwd", "xsetroot", "xterm")
	for _, tc := range []struct {
		depth    int
		quantize func(r, g, b byte) (byte, byte, byte)
	}{{24, nil}, {16, rgb565}, {15, rgb555}} {
		t.Run(itoa(tc.depth), func(t *testing.T) {
			srv := peers.StartXRDP(t, peers.XRDPOptions{
				Session: "xsetroot -solid '#2a6f97'\n" +
					"xterm -geometry 30x6+600+300 -bg '#ffeedd' -fg '#113355' -e sh -c 'seq 1 10; exec sleep 600' &\n" +
					"exec xterm -geometry 40x8+20+20 -bg '#c03010' -fg '#10e0a0' -e sh -c 'echo racgate depth; exec sleep 600'\n",
			})
			s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls", ColorDepth: tc.depth})
			s.sink.quantize = tc.quantize
			x := srv.WaitSession(t, 30*time.Second)
			waitMatch(t, x, s)
			x.Run(t, "xsetroot", "-solid", "#803050")
			waitMatch(t, x, s)
			s.stop(t)
			if rdp.InterleavedCount(s.c) == 0 {
				t.Error("no interleaved RLE bitmap was decoded")
			}
		})
	}
}

// rgb555 is what a 15 bpp session shows of a colour: each channel truncated
// to 5 bits, then widened again by repeating its top bits.
func rgb555(r, g, b byte) (byte, byte, byte) {
	r, g, b = r>>3, g>>3, b>>3
	return r<<3 | r>>2, g<<3 | g>>2, b<<3 | b>>2
}
