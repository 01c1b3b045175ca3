package rdp_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/keys"
	"github.com/racgate/racgate/protocols/rdp"
)

func TestShadowTLS(t *testing.T) {
	peers.Require(t, "xdotool")
	x := desktop(t)
	x.Start(t, "xlogo", "-geometry", "120x120+700+40")
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls", DPI: 120})
	if w, h := s.c.Size(); w != 1024 || h != 768 {
		t.Fatalf("Size = %dx%d, want the shadowed screen's 1024x768", w, h)
	}
	waitMatch(t, x, s)
	if s.sink.frames() == 0 {
		t.Error("no end of frame reached the sink")
	}
	// Changes on the X screen arrive as updates.
	x.Run(t, "xsetroot", "-solid", "#803050")
	x.Run(t, "xdotool", "search", "--class", "xlogo", "windowmove", "%@", "800", "300")
	waitMatch(t, x, s)
	s.stop(t)
	if rdp.PlanarCount(s.c) == 0 {
		t.Error("no planar bitmap was decoded at 32 bpp")
	}
}

// TestShadowTyping types into an xterm on the shadowed display with
// scancodes and unicode events and checks the X screen shows the text.
func TestShadowTyping(t *testing.T) {
	peers.Require(t, "xdotool")
	x := desktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls"})
	waitMatch(t, x, s)
	// A second xterm running cat, focused by clicking into it.
	x.Start(t, "xterm", "-geometry", "40x5+500+400", "-bg", "white", "-fg", "black", "-title", "typing",
		"-e", "sh", "-c", "cat > typed.txt")
	x.WaitWindow(t, "^typing$", 10*time.Second)
	before := x.Screenshot(t)
	if err := s.c.Pointer(0, 600, 440); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Pointer(1, 600, 440); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Pointer(0, 600, 440); err != nil {
		t.Fatal(err)
	}
	// Without a window manager the keyboard follows the pointer.
	x.WaitPointer(t, 600, 440, 10*time.Second)
	press := func(code string, shift bool) {
		sc, ok := keys.XTScancode(code)
		if !ok {
			t.Fatalf("no scancode for %s", code)
		}
		if shift {
			s.c.KeyScancode(0x2A, true)
		}
		if err := s.c.KeyScancode(sc, true); err != nil {
			t.Fatal(err)
		}
		if err := s.c.KeyScancode(sc, false); err != nil {
			t.Fatal(err)
		}
		if shift {
			s.c.KeyScancode(0x2A, false)
		}
	}
	for _, k := range []string{"KeyR", "KeyD", "KeyP"} {
		press(k, false)
	}
	press("Digit1", true) // '!'
	press("Enter", false)
	// The file shows what the X server delivered to the focused xterm.
	file := x.Dir + "/typed.txt"
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := readFile(file)
		if strings.Contains(b, "rdp!\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("typed.txt = %q, want rdp!", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// And the framebuffer shows the changed screen.
	waitMatch(t, x, s)
	if after := x.Screenshot(t); string(after.Pix) == string(before.Pix) {
		t.Fatal("screen did not change")
	}
	// The pointer over an xterm is its I-beam, over the root window X's
	// default cursor: moving between them changes the shape, which the
	// server sends as pointer updates.
	for i, deadline := 0, time.Now().Add(10*time.Second); !opaque(s.sink.cursorImage()); i++ {
		if i%2 == 0 {
			s.c.Pointer(0, 900, 700)
		} else {
			s.c.Pointer(0, 100, 100)
		}
		time.Sleep(300 * time.Millisecond)
		if time.Now().After(deadline) {
			t.Fatal("no pointer shape with opaque pixels arrived")
		}
	}
}

// TestShadowNLA logs in with NLA (CredSSP over NTLMv2) against a SAM file,
// draws the screen, and checks that a wrong password is refused as such.
func TestShadowNLA(t *testing.T) {
	x := desktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{Security: "nla"})
	for _, sec := range []string{"nla", "any"} {
		t.Run(sec, func(t *testing.T) {
			s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: sec})
			waitMatch(t, x, s)
		})
	}
	_, err := dialErr(t, srv.Addr, rdp.Config{Username: srv.User, Password: "wrong-" + srv.Password, IgnoreCert: true, Security: "nla"})
	t.Logf("wrong password: %v", err)
	if !errors.Is(err, rdp.ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	// TLS alone is refused by this server (HYBRID_REQUIRED_BY_SERVER).
	_, err = dialErr(t, srv.Addr, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls"})
	var nf *rdp.NegotiationFailure
	if !errors.As(err, &nf) || nf.Code != 5 {
		t.Fatalf("TLS-only against an NLA server: %v", err)
	}
}

// TestShadowColorDepths draws at 24 and 16 bpp, which freerdp-shadow sends
// as 16 bpp bitmaps with interleaved RLE (it announces 24 in Demand Active
// but encodes 16). The screen is compared after the same reduction to
// RGB565 (truncation) and our expansion to 8 bits a channel.
//
// FreeRDP 2.11's encoder writes the two colours of a dithered run of odd
// length swapped (its bicolour "count--" branch), so a few glyph pixels
// differ from the screen in any spec-conforming decoder, FreeRDP's own
// included (MS-RDPBCGR 3.1.9: pixelA is written first). We allow 0.1% of
// the screen for that; interleaved_test.go checks the decoder exactly.
func TestShadowColorDepths(t *testing.T) {
	x := desktop(t)
	x.Start(t, "xterm", "-geometry", "30x8+500+300", "-bg", "#ffeedd", "-fg", "#113355", "-e", "sh", "-c", "seq 1 20; exec sleep 600")
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	for _, depth := range []int{24, 16} {
		t.Run(itoa(depth), func(t *testing.T) {
			s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls", ColorDepth: depth})
			s.sink.quantize = rgb565
			maxBad := x.Width * x.Height / 1000
			waitMatchWithin(t, x, s, maxBad)
			x.Run(t, "xsetroot", "-solid", "#4080c0")
			waitMatchWithin(t, x, s, maxBad)
			x.Run(t, "xsetroot", "-solid", "#2a6f97")
			s.stop(t)
			if rdp.InterleavedCount(s.c) == 0 {
				t.Error("no interleaved RLE bitmap was decoded")
			}
		})
	}
}

func rgb565(r, g, b byte) (byte, byte, byte) {
	r, g, b = r>>3, g>>2, b>>3
	return r<<3 | r>>2, g<<2 | g>>4, b<<3 | b>>2
}

func itoa(v int) string { return strconv.Itoa(v) }
