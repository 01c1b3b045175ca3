// Package browser measures what a remote desktop costs the browser that shows it:
// racgate's web client, noVNC and guacamole-common-js, each in headless Chromium, on the
// same desktop. Server serves the two peers' pages with the websockets they expect (a
// websocket-to-TCP bridge to the VNC server for noVNC, as websockify is; a Guacamole
// WebSocket tunnel to guacd for guacamole-common-js, as the Guacamole web application
// is); Driver runs Chromium and reads its main thread's time.
package browser

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/bench/guac"
)

//go:embed pages
var pages embed.FS

// Peers are the remote desktop the peers' pages show.
type Peers struct {
	VNC   string      // the VNC server's host:port, for noVNC
	Guacd string      // guacd's host:port, for guacamole-common-js ("": no such page)
	Guac  guac.Config // the connection guacd makes
	// Dir is bench/browser, whose node_modules hold the peers' files (npm ci there).
	Dir string
	Log *slog.Logger
}

// Server serves /novnc.html and /guac.html with their scripts and websockets.
type Server struct {
	URL string // http://127.0.0.1:PORT
	srv *http.Server
	ln  net.Listener
}

// NewServer checks that the peers' files are installed and starts serving on loopback.
func NewServer(p Peers) (*Server, error) {
	novnc := filepath.Join(p.Dir, "node_modules", "@novnc", "novnc")
	guacJS := filepath.Join(p.Dir, "node_modules", "guacamole-common-js", "dist", "esm", "guacamole-common.js")
	for _, f := range []string{filepath.Join(novnc, "core", "rfb.js"), guacJS} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("browser: %w (run npm ci in %s)", err, p.Dir)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /novnc/", http.StripPrefix("/novnc/", http.FileServer(http.Dir(novnc))))
	mux.HandleFunc("GET /guac/guacamole-common.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, guacJS)
	})
	for _, page := range []string{"novnc.html", "guac.html"} {
		mux.HandleFunc("GET /"+page, func(w http.ResponseWriter, r *http.Request) {
			http.ServeFileFS(w, r, pages, "pages/"+page)
		})
	}
	mux.HandleFunc("GET /ws/vnc", func(w http.ResponseWriter, r *http.Request) { bridgeVNC(w, r, p) })
	mux.HandleFunc("GET /ws/guac", func(w http.ResponseWriter, r *http.Request) { tunnelGuacd(w, r, p) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops serving and ends the bridges.
func (s *Server) Close() error { return s.srv.Close() }

// bridgeVNC is websockify: binary messages both ways, RFB inside.
func bridgeVNC(w http.ResponseWriter, r *http.Request, p Peers) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var d net.Dialer
	tc, err := d.DialContext(ctx, "tcp", p.VNC)
	if err != nil {
		ws.Close(websocket.StatusInternalError, "VNC server unreachable")
		return
	}
	defer tc.Close()
	nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	done := make(chan error, 2)
	go func() { _, err := io.Copy(tc, nc); done <- err }()
	go func() { _, err := io.Copy(nc, tc); done <- err }()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) && p.Log != nil {
		p.Log.Debug("browser: VNC bridge ended", "err", err)
	}
}
