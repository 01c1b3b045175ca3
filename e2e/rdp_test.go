package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// startRDPGateway serves a gateway with one user and one RDP endpoint "desk" at addr.
func startRDPGateway(t *testing.T, addr, endpointSettings string) string {
	t.Helper()
	return serveGateway(t, fmt.Sprintf(`  - name: desk
    provider: test
    protocol: rdp
    host: %s
    settings: {%s}
`, addr, endpointSettings))
}

// TestBrowserRDP opens an RDP endpoint (freerdp-shadow on Xvfb, TLS with the password
// checked by the server) in Chromium: the canvas shows the X screen exactly, and typing
// in the page reaches an xterm there.
func TestBrowserRDP(t *testing.T) {
	peers.Require(t, "Xvfb", "xwd", "xterm", "xsetroot", "freerdp-shadow-cli")
	x := peers.StartXvfb(t, "1024x768", 24)
	x.Run(t, "xsetroot", "-solid", "#336699")
	x.Start(t, "xterm", "-geometry", "60x10+20+20", "-bg", "white", "-fg", "black",
		"-e", "sh", "-c", "echo racgate e2e rdp; exec cat > typed.txt")
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{Security: "tls"})
	url := startRDPGateway(t, srv.Addr, fmt.Sprintf("username: %s, password: %s, security: tls, ignore-cert: true, color-depth: 32", srv.User, srv.Password))

	b := openDesk(t, url, 1024, 768, 20*time.Second)

	t.Run("canvas equals X screen", func(t *testing.T) {
		waitCanvasEquals(t, b, x, "after connect")
	})

	t.Run("typing reaches the xterm", func(t *testing.T) {
		// Without a window manager X focus follows the pointer: put it over the xterm.
		b.do(map[string]any{"click": map[string]any{"x": 100, "y": 60}})
		b.do(map[string]any{"type": "rdp e2e"})
		b.do(map[string]any{"press": "Enter"})
		file := filepath.Join(x.Dir, "typed.txt")
		for deadline := time.Now().Add(10 * time.Second); ; {
			got, _ := os.ReadFile(file)
			if string(got) == "rdp e2e\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("typed.txt = %q, want %q", got, "rdp e2e\n")
			}
			time.Sleep(100 * time.Millisecond)
		}
		waitCanvasEquals(t, b, x, "after typing")
	})
}

// TestBrowserXRDP: an xrdp session in Chromium. The clipboard both ways: text copied
// in the X session reaches the page's clipboard, and text written to the page's
// clipboard reaches the X session's (xrdp's chansrv serves the CLIPBOARD selection;
// the text stays in the BMP: xrdp 0.9 cuts characters beyond it to 16 bits). And the
// remote screen follows the window over Display Control, the canvas equal to it.
func TestBrowserXRDP(t *testing.T) {
	peers.Require(t, "xrdp-chansrv", "xclip")
	srv := peers.StartXRDP(t, peers.XRDPOptions{})
	url := startRDPGateway(t, srv.Addr, fmt.Sprintf("username: %s, password: %s, ignore-cert: true", srv.User, srv.Password))
	b := openDesk(t, url, 800, 600, 30*time.Second)
	x := srv.WaitSession(t, 30*time.Second)

	t.Run("remote to browser", func(t *testing.T) {
		const text = "Grüße aus X ✓\nzweite Zeile"
		copyInX(t, x, text)
		waitBrowserClipboard(t, b, text, 15*time.Second)
	})

	t.Run("browser to remote", func(t *testing.T) {
		const text = "héllo ✓ from the browser\nline two"
		b.do(map[string]any{"writeClipboard": text})
		waitXClipboard(t, x, text, false, 15*time.Second)
	})

	// Images: a BMP copied in X (xrdp's chansrv maps image/bmp to CF_DIB) is an image/png
	// on the page's clipboard with the same pixels, and the page's image reaches X.
	t.Run("images both ways", func(t *testing.T) {
		bmp, want := peers.BMP(64, 48)
		x.CopyBMP(t, bmp)
		for deadline := time.Now().Add(20 * time.Second); ; {
			res := b.do(map[string]any{"readClipboardImage": true})
			if p, _ := base64.StdEncoding.DecodeString(fmt.Sprint(res["png"])); len(p) > 0 {
				img, err := png.Decode(bytes.NewReader(p))
				if err != nil {
					t.Fatal(err)
				}
				if bad, first := peers.DiffImages(want, img); bad != 0 {
					t.Fatalf("the X session's image is on the page's clipboard with %d pixels wrong: %s", bad, first)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no image on the page's clipboard (types %v)", res["types"])
			}
			time.Sleep(200 * time.Millisecond)
		}

		// Over 32 KiB as a DIB: xrdp 0.9.21 cuts 14 bytes off a smaller one.
		_, pic := peers.BMP(128, 96)
		var p bytes.Buffer
		if err := png.Encode(&p, pic); err != nil {
			t.Fatal(err)
		}
		b.do(map[string]any{"writeClipboardImage": map[string]any{"png": base64.StdEncoding.EncodeToString(p.Bytes())}})
		x.WaitClipboardBMP(t, pic, 20*time.Second)
	})

	t.Run("remote screen follows the window", func(t *testing.T) {
		waitCanvasEquals(t, b, x, "before resize")
		// The remote's area is the window less the menu handle's strip at the left.
		b.do(map[string]any{"setViewport": map[string]any{"width": 1000 + menuHandle, "height": 700}})
		deadline := time.Now().Add(15 * time.Second)
		for {
			s, err := x.Capture() // fails while xrdp resizes the screen
			if err == nil && s.Rect.Dx() == 1000 && s.Rect.Dy() <= 700 && s.Rect.Dy() >= 600 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("X screen after the window became 1000x700: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		waitCanvasEquals(t, b, x, "after resize")
	})
}

// TestBrowserXRDPReconnect: with resize-method reconnect, a larger window reconnects the
// RDP session at the window's size; the page says so, xrdp reattaches the same session
// with its X screen at that size, and the canvas equals the screen.
func TestBrowserXRDPReconnect(t *testing.T) {
	peers.Require(t, "xwd", "xsetroot", "xterm")
	srv := peers.StartXRDP(t, peers.XRDPOptions{
		Session: "xsetroot -solid '#2a6f97'\nexec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0'\n",
	})
	url := startRDPGateway(t, srv.Addr, fmt.Sprintf("username: %s, password: %s, ignore-cert: true, resize-method: reconnect", srv.User, srv.Password))
	b := openDesk(t, url, 800, 600, 30*time.Second)
	x := srv.WaitSession(t, 30*time.Second)
	waitCanvasEquals(t, b, x, "before resize")
	before, err := x.Capture()
	if err != nil {
		t.Fatal(err)
	}

	b.do(map[string]any{"setViewport": map[string]any{"width": 1000 + menuHandle, "height": 700}})
	var told bool
	deadline := time.Now().Add(20 * time.Second)
	for {
		if txt, _ := b.do(map[string]any{"text": "#notice"})["text"].(string); strings.Contains(txt, "Reconnecting at 1000x") {
			told = true
		}
		s, err := x.Capture() // fails while xrdp resizes the screen
		if err == nil && s.Rect != before.Rect && told {
			if s.Rect.Dx() != 1000 || s.Rect.Dy() > 700 || s.Rect.Dy() < 600 {
				t.Fatalf("X screen %v after the window became 1000x700", s.Rect)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the window became 1000x700: X screen %v (%v), the page told of a reconnect: %v", s, err, told)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitCanvasEquals(t, b, x, "after the reconnect")
}
