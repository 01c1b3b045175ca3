// Package gateway is racgate's front: the YAML config, the HTTP server (login, endpoint
// list, web client, websocket sessions), connection control (limits, timeouts, ending
// sessions) and metrics.
package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/webclient"
)

// state is what a reload replaces as a whole.
type state struct {
	cfg   *Config
	users *authz.Users
	key   []byte // cookie HMAC key
}

// Server serves racgate over HTTP. Create it with NewServer.
type Server struct {
	log      *slog.Logger
	state    atomic.Pointer[state]
	store    store.Store
	pool     *render.Pool
	shares   *shares // VNC connections that sessions share (share.go)
	metrics  *metrics
	web      fs.FS
	mux      *http.ServeMux
	dial     dialFunc
	dialTerm termDialFunc // terminal endpoints (ssh)
	now      func() time.Time

	pingInterval time.Duration // websocket keepalive
	pingTimeout  time.Duration // for the pong
	promptWait   time.Duration // for the answer to a login prompt; defaultPromptWait when 0

	randomKey []byte        // used while the config names no secret-file
	loginSem  chan struct{} // bounds concurrent bcrypt checks, so a login flood cannot take every CPU

	mu       sync.Mutex
	sessions map[*session]struct{}
	revoked  map[string]time.Time // logged-out login IDs, until their expiry
	closing  bool
	wg       sync.WaitGroup // live sessions

	// connection control (control.go, admin.go)
	control    *controlMetrics
	storeCfg   StoreConfig // a reload may not change it
	closeStore func()
}

// NewServer makes a server for cfg. logger may be nil (logs are discarded).
func NewServer(cfg *Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := &Server{
		log:          logger,
		control:      newControlMetrics(),
		pool:         render.NewPool(runtime.GOMAXPROCS(0)),
		shares:       newShares(),
		metrics:      newMetrics(),
		web:          webclient.FS(),
		now:          time.Now,
		pingInterval: 30 * time.Second,
		pingTimeout:  30 * time.Second,
		randomKey:    key,
		loginSem:     make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		sessions:     map[*session]struct{}{},
		revoked:      map[string]time.Time{},
	}
	s.dial = s.dialDesktop
	s.dialTerm = s.dialSSH
	st, closeStore, err := openStore(cfg, logger, s.control.storeOp)
	if err != nil {
		return nil, err
	}
	s.store, s.closeStore, s.storeCfg = st, closeStore, cfg.Store
	if err := s.Reload(cfg); err != nil {
		closeStore()
		return nil, err
	}
	s.routes()
	return s, nil
}

// Reload switches to a new config. Live connections keep the settings they started with.
// Logins stay valid unless the user was removed or the cookie key changed.
func (s *Server) Reload(cfg *Config) error {
	if cfg == nil {
		return errors.New("gateway: nil config")
	}
	if !cfg.Store.Equal(s.storeCfg) {
		return errors.New("gateway: store changes need a restart")
	}
	users, err := authz.NewUsers(cfg.Users)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	key := cfg.Session.Secret
	if len(key) == 0 {
		key = s.randomKey
	}
	s.state.Store(&state{cfg: cfg, users: users, key: key})
	return nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("GET /login", s.handleLoginForm)
	m.HandleFunc("POST /login", s.handleLogin)
	m.HandleFunc("POST /logout", s.handleLogout)
	m.HandleFunc("GET /connect/{endpoint}", s.handleConnect)
	m.HandleFunc("GET /ws/{endpoint}", s.handleWS)
	static := http.StripPrefix("/static/", http.FileServerFS(s.web))
	m.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		static.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	m.HandleFunc("GET /metrics", s.handleMetrics)
	s.adminRoutes(m)
	// Browsers ask for it on every page; no icon, and no 404 in their consoles.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux = m
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	lg, err := s.currentLogin(r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	var eps []*Endpoint
	for _, e := range s.state.Load().cfg.Endpoints {
		if lg.User.Allowed(e.Groups) {
			eps = append(eps, e)
		}
	}
	s.render(w, http.StatusOK, "index", indexPage{User: lg.User.Username, Endpoints: eps})
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// maxFormBytes bounds a login form body.
const maxFormBytes = 8 << 10

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		http.Error(w, "cross-origin login refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	st := s.state.Load()
	select {
	case s.loginSem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	u, err := st.users.Authenticate(username, password)
	<-s.loginSem
	if err != nil {
		s.metrics.inc(s.metrics.loginsTotal, "failed")
		s.log.Info("login failed", "user", username, "remote", r.RemoteAddr)
		s.render(w, http.StatusUnauthorized, "login", loginPage{
			Error: "Wrong username or password.", Next: next, Username: username})
		return
	}
	s.metrics.inc(s.metrics.loginsTotal, "ok")
	exp := s.now().Add(st.cfg.Session.Lifetime)
	s.setLoginCookie(w, signLogin(st.key, newLoginID(), u.Username, exp), exp)
	s.log.Info("login", "user", u.Username, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site.
func safeNext(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	return p
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		http.Error(w, "cross-origin logout refused", http.StatusForbidden)
		return
	}
	if lg, err := s.currentLogin(r); err == nil {
		s.revoke(r.Context(), lg.ID, lg.Expires)
		s.endSessions(func(ss *session) bool { return ss.loginID == lg.ID },
			endWith(closeSessionEnded, "you logged out"))
		s.terminateLogin(r.Context(), lg.ID) // on the other instances
		s.log.Info("logout", "user", lg.User.Username, "remote", r.RemoteAddr)
	}
	s.clearLoginCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	lg, err := s.currentLogin(r)
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.EscapedPath()), http.StatusSeeOther)
		return
	}
	ep := s.state.Load().cfg.Endpoint(r.PathValue("endpoint"))
	if ep == nil || !lg.User.Allowed(ep.Groups) {
		s.render(w, http.StatusNotFound, "message", messagePage{"No such endpoint",
			"There is no endpoint of that name open to you."})
		return
	}
	if u := s.lessLoaded(r); u != nil { // route-to-least-loaded (control.go)
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	page, err := fs.ReadFile(s.web, "client.html")
	if _, jsErr := fs.Stat(s.web, "client.js"); err != nil || jsErr != nil {
		s.render(w, http.StatusServiceUnavailable, "message", messagePage{"Web client not built",
			"The browser client is missing from this racgate build: run make web, then rebuild racgate."})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Write(page)
}

// endSessions ends every live session match selects.
func (s *Server) endSessions(match func(*session) bool, why error) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for ss := range s.sessions {
		if match(ss) {
			ss.end(why)
			n++
		}
	}
	return n
}

// Shutdown ends every session with CLOSE "racgate is shutting down" and waits for them to
// finish, or for ctx. New websockets are refused from now on. Stopping the listener is
// the caller's (http.Server.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.endSessions(func(*session) bool { return true }, endWith(closeShutdown, "racgate is shutting down"))
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.pool.Close() // idempotent; late viewers encode on their own goroutines
		s.closeStore() // every lease is released: leave the registry
		return nil
	case <-ctx.Done():
		s.closeStore() // leases still held expire with their TTL
		return fmt.Errorf("gateway: sessions still open: %w", ctx.Err())
	}
}

// register adds a session unless the server is shutting down.
func (s *Server) register(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[ss] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	// Under s.mu, as the metrics handler sums live sessions: counted once, never twice.
	f, e := ss.viewerStats()
	s.metrics.viewerDone(f, e)
	s.mu.Unlock()
	s.wg.Done()
}
