package e2e

import (
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// cutProxy passes TCP connections on to a target until cut drops every one open.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// cut drops every connection through the proxy, as a network that went away.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, not a goodbye
		}
		c.Close()
	}
	p.conns = nil
}

// TestBrowserReconnect: a websocket cut in the middle of a VNC session (a proxy between
// the browser and racgate drops it) comes back by itself after a countdown, onto the
// same VNC connection, which racgate kept open for it meanwhile; the desktop is live
// again.
func TestBrowserReconnect(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	x.Run(t, "xsetroot", "-solid", "#345678")
	_, portStr, _ := strings.Cut(x.Addr, ":")
	port, _ := strconv.Atoi(portStr)
	base, err := url.Parse(startGateway(t, x.Addr, ""))
	if err != nil {
		t.Fatal(err)
	}
	p := startCutProxy(t, base.Host)
	b := startBrowser(t, "http://"+p.ln.Addr().String())
	b.do(map[string]any{"setViewport": map[string]any{"width": 640 + menuHandle, "height": 480}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	waitCanvasEquals(t, b, x, "before the cut")
	if n := peers.Accepted(t, port); n != 1 {
		t.Fatalf("Xvnc has %d connections, want 1", n)
	}

	p.cut()
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#status-text", "text": "reconnecting in", "timeoutMs": 5000}})
	if n := peers.Accepted(t, port); n != 1 {
		t.Fatalf("during the countdown Xvnc has %d connections: racgate did not keep the VNC connection", n)
	}
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
	x.Run(t, "xsetroot", "-solid", "#7a3b22")
	waitCanvasEquals(t, b, x, "after reconnecting by itself")
	if n := peers.Accepted(t, port); n != 1 {
		t.Fatalf("after the reconnect Xvnc has %d connections, want the one kept", n)
	}
	time.Sleep(100 * time.Millisecond)
}
