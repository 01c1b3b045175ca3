package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// TestBrowserVNCShared: two browsers on one VNC endpoint share one connection to Xvnc
// (and so receive IMAGE ZRGB1/ZPALETTE1 from the display's cache); both canvases equal
// the X screen, and what one types the other sees.
func TestBrowserVNCShared(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xterm", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "800x600"})
	x.Run(t, "xsetroot", "-solid", "#446688")
	x.Start(t, "xterm", "-geometry", "70x20+20+20", "-fa", "", "-bg", "white", "-fg", "black")
	_, portStr, _ := strings.Cut(x.Addr, ":")
	port, _ := strconv.Atoi(portStr)
	url := startGateway(t, x.Addr, "quality: lossless")

	var bs []*browser
	for range 2 {
		b := startBrowser(t, url)
		b.do(map[string]any{"setViewport": map[string]any{"width": 800, "height": 600}})
		b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
		b.do(map[string]any{"open": "desk"})
		b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
		bs = append(bs, b)
	}
	if n := peers.Accepted(t, port); n != 1 {
		t.Fatalf("Xvnc has %d connections for two browsers, want 1 (shared)", n)
	}
	for i, b := range bs {
		waitCanvasEquals(t, b, x, "browser "+strconv.Itoa(i+1)+" after connect")
	}

	typeInXterm(t, bs[1], x, "echo shared-e2e") // what the second browser types
	for i, b := range bs {
		waitCanvasEquals(t, b, x, "browser "+strconv.Itoa(i+1)+" after typing")
	}
}

// TestBrowserVNCSharedSize: two browsers of different sizes share one desktop; the one
// that joined last sets its size, and when it closes its tab the desktop goes back to the
// first browser's size, which its canvas shows equal to the X screen.
func TestBrowserVNCSharedSize(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "1024x768"})
	x.Run(t, "xsetroot", "-solid", "#446688")
	url := startGateway(t, x.Addr, "quality: lossless")

	a := openDesk(t, url, 640, 480, 15*time.Second)
	x.WaitScreenSize(t, 640, 480, 10*time.Second)
	b := openDesk(t, url, 800, 560, 15*time.Second)
	x.WaitScreenSize(t, 800, 560, 10*time.Second)
	waitCanvasEquals(t, b, x, "the second browser at its size")

	b.close()
	x.WaitScreenSize(t, 640, 480, 10*time.Second)
	if img := waitCanvasEquals(t, a, x, "the first browser after the second left"); img.Rect.Dx() != 640 || img.Rect.Dy() != 480 {
		t.Fatalf("the first browser's canvas is %v, want 640x480", img.Rect)
	}
}
