package e2e

import (
	"strconv"
	"strings"
	"testing"

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
