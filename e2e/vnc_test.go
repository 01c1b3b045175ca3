// Package e2e runs racgate end to end: a real Xvnc desktop, the gateway, and the web
// client in headless Chromium, checking what the browser shows against xwd of the X screen.
package e2e

import (
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/gateway"
	"github.com/racgate/racgate/internal/peers"
)

const (
	testUser     = "alice"
	testPassword = "correct horse"
)

// serveGateway writes a config with one user (testUser/testPassword), a provider "test"
// and the given endpoint (YAML mapping lines, indented for the endpoints list), loads it
// and serves it on a loopback httptest server. It returns the base URL.
func serveGateway(t *testing.T, endpoint string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, fmt.Sprintf(`
store: memory
users:
  - username: %s
    password-hash: %q
providers:
  - name: test
endpoints:
%s`, testUser, hash, endpoint))
}

// serveConfig loads the config text cfg and serves it on a loopback httptest server. It
// returns the base URL.
func serveConfig(t *testing.T, cfg string) string {
	t.Helper()
	return serveConfigAt(t, func(string) string { return cfg })
}

// serveConfigAt is serveConfig for a config that names racgate's own URL (public-url).
func serveConfigAt(t *testing.T, cfg func(base string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // once served, hs.Close closes it first
	base := "http://" + ln.Addr().String()
	path := filepath.Join(t.TempDir(), "racgate.yaml")
	if err := os.WriteFile(path, []byte(cfg(base)), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := gateway.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(&testWriter{t: t, prefix: "racgate: "}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := gateway.NewServer(c, logger)
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler()}}
	hs.Start()
	t.Cleanup(hs.Close)
	return base
}

// startGateway serves one VNC endpoint named "desk" at addr.
func startGateway(t *testing.T, addr string, endpointSettings string) string {
	t.Helper()
	return serveGateway(t, fmt.Sprintf(`  - name: desk
    provider: test
    protocol: vnc
    host: %s
    settings: {%s}
`, addr, endpointSettings))
}

// canvasImage reads the browser canvas at framebuffer resolution.
func canvasImage(t *testing.T, b *browser) *image.RGBA {
	t.Helper()
	path := filepath.Join(t.TempDir(), "canvas.rgba")
	res := b.do(map[string]any{"canvasRaw": path})
	w, _ := res["width"].(float64)
	h, _ := res["height"].(float64)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("canvasRaw: %v", err)
	}
	img := &image.RGBA{Pix: data, Stride: int(w) * 4, Rect: image.Rect(0, 0, int(w), int(h))}
	if len(data) != int(w)*int(h)*4 {
		t.Fatalf("canvasRaw: %d bytes for %vx%v", len(data), w, h)
	}
	return img
}

// waitCanvasEquals polls until the canvas equals the X screen, which must be still.
func waitCanvasEquals(t *testing.T, b *browser, x *peers.X, what string) *image.RGBA {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		screen := peers.WaitStill(t, x, 150*time.Millisecond, 10*time.Second)
		canvas := canvasImage(t, b)
		n, first := peers.DiffRGB(canvas, screen)
		if n == 0 {
			return screen
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: canvas differs from the X screen in %d pixels (%s)", what, n, first)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// typeInXterm types text and Enter into the xterm under (100, 100) and waits until the X
// screen has changed.
func typeInXterm(t *testing.T, b *browser, x *peers.X, text string) {
	t.Helper()
	before := peers.WaitStill(t, x, 150*time.Millisecond, 10*time.Second)
	// Without a window manager X focus follows the pointer: put it over the xterm.
	b.do(map[string]any{"click": map[string]any{"x": 100, "y": 100}})
	b.do(map[string]any{"type": text})
	b.do(map[string]any{"press": "Enter"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := peers.WaitStill(t, x, 150*time.Millisecond, 10*time.Second)
		if n, _ := peers.DiffRGB(before, after); n > 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("typing changed nothing on the X screen")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestBrowserVNC(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xterm", "xclip", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "1024x768"})
	x.Run(t, "xsetroot", "-solid", "#336699")
	x.Start(t, "xterm", "-geometry", "80x24+20+20", "-fa", "", "-bg", "white", "-fg", "black")
	url := startGateway(t, x.Addr, "quality: lossless")

	b := startBrowser(t, url)
	b.do(map[string]any{"setViewport": map[string]any{"width": 1024, "height": 768}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})

	t.Run("canvas equals X screen", func(t *testing.T) {
		waitCanvasEquals(t, b, x, "after connect")
	})

	t.Run("typing reaches the xterm", func(t *testing.T) {
		typeInXterm(t, b, x, "echo racgate-e2e")
		waitCanvasEquals(t, b, x, "after typing")
	})

	// Scrolling comes as COPY messages, several composed into one per frame, which the
	// page draws through its scratch canvas: what it shows after 300 lines scrolled one
	// by one must still be the X screen.
	t.Run("scrolling equals X screen", func(t *testing.T) {
		typeInXterm(t, b, x, "for i in $(seq 300); do echo line $i; sleep 0.005; done")
		time.Sleep(3 * time.Second)
		waitCanvasEquals(t, b, x, "after scrolling")
	})

	t.Run("clipboard browser to remote", func(t *testing.T) {
		const text = "héllo ✓ 世界 from the browser"
		b.do(map[string]any{"writeClipboard": text})
		waitXClipboard(t, x, text, true, 10*time.Second)
	})

	t.Run("clipboard remote to browser", func(t *testing.T) {
		const text = "ünïcödé ✓ 世界 from the remote"
		copyInX(t, x, text)
		waitBrowserClipboard(t, b, text, 10*time.Second)
	})

	t.Run("remote screen follows the window", func(t *testing.T) {
		// The remote's area is the window less the menu handle's strip at the left.
		b.do(map[string]any{"setViewport": map[string]any{"width": 800 + menuHandle, "height": 600}})
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := x.Screenshot(t)
			if s.Rect.Dx() == 800 && s.Rect.Dy() <= 600 && s.Rect.Dy() >= 500 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("X screen is %v after the window became 800x600", s.Rect.Size())
			}
			time.Sleep(200 * time.Millisecond)
		}
		waitCanvasEquals(t, b, x, "after resize")
	})

	t.Run("killed server shows closed with a reason", func(t *testing.T) {
		if p, err := os.FindProcess(x.PID); err == nil {
			p.Kill()
		}
		b.do(map[string]any{"waitState": "closed", "timeoutMs": 15000})
		res := b.do(map[string]any{"statusText": true})
		if s, _ := res["text"].(string); strings.TrimSpace(s) == "" {
			t.Fatalf("status after the server died: %q", res["text"])
		}
	})
}
