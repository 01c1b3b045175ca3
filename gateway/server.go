// Package gateway is where racgate's parts meet: the HTTP server (endpoint list, web
// client, admin API, metrics), websocket sessions and the adapters that tie them to the
// protocol clients, connection sharing, and connection control (limits, timeouts, ending
// sessions). The configuration is package config's, identity authz's, signing in and out
// gateway/signin's, the connection registry gateway/store's; no package imports gateway.
package gateway

import (
	"cmp"
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

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/pages"
	"github.com/racgate/racgate/gateway/reqid"
	"github.com/racgate/racgate/gateway/sharing"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/protocols/pulse"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/webclient"
)

// state is what a reload replaces as a whole.
type state struct {
	cfg *config.Config
	src *signin.Sources // who may sign in, and how
}

// Server serves racgate over HTTP. Create it with NewServer.
type Server struct {
	log      *slog.Logger
	state    atomic.Pointer[state]
	store    store.Store
	pool     *render.Pool
	shares   *shares           // VNC connections that sessions share (share.go)
	links    *sharing.Registry // the share links of this instance's sessions (watch.go)
	metrics  *metrics
	web      fs.FS
	mux      *http.ServeMux
	handler  http.Handler // mux behind withBodyDeadline
	dial     dialFunc
	dialTerm termDialFunc // terminal endpoints (ssh)
	// dialPulse connects to a PulseAudio server for a VNC endpoint's sound.
	dialPulse func(context.Context, pulse.Config) (*pulse.Recorder, error)
	now       func() time.Time

	pingInterval time.Duration // websocket keepalive
	pingTimeout  time.Duration // for the pong
	promptWait   time.Duration // for the answer to a login prompt; defaultPromptWait when 0

	randomKey []byte // signs login cookies while the config names no secret-file
	signin    *signin.Service
	// bodyTimeout bounds reading a request body (a stalled POST must not hold a
	// connection): defaultBodyTimeout when 0.
	bodyTimeout time.Duration

	mu       sync.Mutex
	sessions map[*session]struct{}
	closing  bool
	draining bool           // Drain: /readyz says so, new sessions still start
	wg       sync.WaitGroup // live sessions

	releaseOnce sync.Once

	audit    *audit.Log // the audit trail (audit-log); nil: none
	auditCfg string     // its path: a reload may not change it
	// idpClient talks to the identity providers (the forward-auth proxy's auth endpoint,
	// the OIDC provider); its idle connections close with the server.
	idpClient *http.Client

	metricsHandler http.Handler // the registry's exposition (metrics.go)

	// connection control (control.go, admin.go)
	storeCfg   config.StoreConfig // a reload may not change it
	closeStore func()
}

// NewServer makes a server for cfg. logger may be nil (logs are discarded). Close (or
// Shutdown) releases what it holds.
func NewServer(cfg *config.Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	rand.Read(key)
	logger = slog.New(reqid.Handler(logger.Handler())) // HTTP lines carry request=ID
	s := &Server{
		log:          logger,
		shares:       newShares(),
		metrics:      newMetrics(),
		web:          webclient.FS(),
		now:          time.Now,
		pingInterval: 30 * time.Second,
		pingTimeout:  30 * time.Second,
		randomKey:    key,
		sessions:     map[*session]struct{}{},
		idpClient:    &http.Client{Timeout: 15 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	s.dial = s.dialDesktop
	s.dialTerm = s.dialSSH
	s.dialPulse = pulse.Dial
	s.metricsHandler = s.newMetricsHandler()
	st, closeStore, err := openStore(cfg, logger, s.metrics.storeOp)
	if err != nil {
		return nil, err
	}
	s.store, s.closeStore, s.storeCfg = st, closeStore, cfg.Store
	s.links = sharing.New(st.InstanceID(), func() time.Time { return s.now() })
	if s.auditCfg = cfg.AuditLog; s.auditCfg != "" {
		if s.audit, err = audit.Open(cfg.AuditLog, st.InstanceID()); err != nil {
			closeStore()
			return nil, fmt.Errorf("gateway: audit-log: %w", err)
		}
	}
	so := signin.Options{Log: logger, Store: st, Audit: s.audit, Sources: func() *signin.Sources { return s.state.Load().src },
		EndLogin: s.endLogin, Now: func() time.Time { return s.now() }}
	if cfg.Store.Kind == "memory" && cfg.Store.StateFile == "" {
		so.BootEpoch = s.now().Truncate(time.Second) // cookies carry whole seconds
	}
	if err := s.Reload(cfg); err != nil {
		closeStore()
		s.audit.Close()
		return nil, err
	}
	s.signin = signin.New(so)
	// Last: nothing after it can fail, so a failed NewServer leaves no workers behind.
	s.pool = render.NewPool(runtime.GOMAXPROCS(0))
	s.routes()
	return s, nil
}

// ErrStoreChanged: Reload refused a config that names another connection store; live
// connections cannot move to it, so it takes a restart.
var ErrStoreChanged = errors.New("gateway: store changes need a restart")

// ErrAuditLogChanged: Reload refused a config that names another audit-log.
var ErrAuditLogChanged = errors.New("gateway: audit-log changes need a restart")

// Reload switches to a new config. Live connections keep the settings they started with,
// but those the new config no longer allows end: their user removed or out of the
// endpoint's groups, their endpoint removed, or the user's password changed (which also
// ends the user's logins).
func (s *Server) Reload(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("gateway: nil config")
	}
	if !cfg.Store.Equal(s.storeCfg) {
		return ErrStoreChanged
	}
	if cfg.AuditLog != s.auditCfg {
		return ErrAuditLogChanged
	}
	src, err := signin.NewSources(cfg, s.randomKey, s.idpClient)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	st := &state{cfg: cfg, src: src}
	s.state.Store(st)
	// After the Store: a session registering from now on checks st itself (handleWS).
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if why := st.sessionAccess(ss); why != nil {
			ss.log.Info("access withdrawn by a config reload", "audit", true, "why", why.Reason)
			s.audit.Record(audit.AccessWithdrawn, ss.auditAttrs(slog.String("reason", why.Reason))...)
			ss.end(why)
		}
	}
	return nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves /metrics without asking who is there: for metrics.listen, an
// address only scrapers reach.
func (s *Server) MetricsHandler() http.Handler { return s.metricsHandler }

// defaultBodyTimeout bounds reading a request body: forms and API calls are small.
const defaultBodyTimeout = 10 * time.Second

// withBodyDeadline gives a request with a body a read deadline for it, so a client that
// stalls mid-body does not hold a connection and a goroutine. (http.Server's ReadTimeout
// cannot do it: it would also cut the websockets, which outlive their request. net/http
// lifts the deadline itself before the connection's next request.)
//
// It also sets HSTS on requests that came over TLS (racgate's own, tls:): a browser
// that once reached racgate over HTTPS will not be talked into plain HTTP. Behind a
// proxy that terminates TLS, the proxy's configuration decides.
func (s *Server) withBodyDeadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Body != nil && r.Body != http.NoBody {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(cmp.Or(s.bodyTimeout, defaultBodyTimeout)))
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	s.signin.Routes(m)
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
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.HandleFunc("GET /metrics", s.handleMetrics)
	s.adminRoutes(m)
	s.recordingRoutes(m)
	s.watchRoutes(m)
	s.filesRoutes(m)
	// Browsers ask for it on every page; no icon, and no 404 in their consoles.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux = m
	s.handler = reqid.Middleware(s.withBodyDeadline(m))
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	lg, err := s.signin.Current(r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	var eps []*config.Endpoint
	cfg, req := s.state.Load().cfg, s.policyRequest(r)
	for _, e := range cfg.Endpoints {
		if authz.MayOpen(r.Context(), cfg, lg.User, e, req) == nil {
			eps = append(eps, e)
		}
	}
	w.Header().Set("Content-Security-Policy", pages.CSP(s.signin.LogoutTargets(r.Context(), lg)...))
	admin := cfg.AdminGroup != "" && lg.User.InGroup(cfg.AdminGroup)
	auditor := admin || cfg.AuditorGroup != "" && lg.User.InGroup(cfg.AuditorGroup)
	s.render(w, http.StatusOK, "index", pages.Index{User: lg.User.Username, UserGroups: strings.Join(lg.User.Groups, ", "),
		Admin: admin, Recordings: auditor && len(cfg.RecordingPaths()) > 0, Groups: pages.GroupEndpoints(eps)})
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	lg, err := s.signin.Current(r)
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.EscapedPath()), http.StatusSeeOther)
		return
	}
	cfg := s.state.Load().cfg
	ep := cfg.Endpoint(r.PathValue("endpoint"))
	var d *authz.Denied
	if err := s.mayOpen(r, cfg, lg, ep); errors.As(err, &d) && d.Policy != "" {
		s.render(w, http.StatusForbidden, "message", pages.Message{Title: "Not now", Text: d.Error()})
		return
	} else if err != nil {
		s.render(w, http.StatusNotFound, "message", pages.Message{Title: "No such endpoint",
			Text: "There is no endpoint of that name open to you."})
		return
	}
	if u := s.lessLoaded(r); u != nil { // route-to-least-loaded (control.go)
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	s.serveClient(w)
}

// serveClient serves the web client's page (/connect, /share, /watch).
func (s *Server) serveClient(w http.ResponseWriter) {
	page, err := fs.ReadFile(s.web, "client.html")
	if _, jsErr := fs.Stat(s.web, "client.js"); err != nil || jsErr != nil {
		s.render(w, http.StatusServiceUnavailable, "message", pages.Message{Title: "Web client not built",
			Text: "The browser client is missing from this racgate build: run make web, then rebuild racgate."})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Write(page)
}

// endLogin ends a login's live sessions, here and on the other instances.
func (s *Server) endLogin(ctx context.Context, loginID, why string) {
	s.endSessions(func(ss *session) bool { return ss.loginID == loginID }, endWith(closeSessionEnded, why))
	s.terminateLogin(ctx, loginID, why)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	if err := pages.Render(w, status, name, data); err != nil {
		s.log.Warn("render page", "page", name, "err", err)
	}
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

// Shutdown ends every session with CLOSE "racgate is shutting down" and waits for them,
// and for the shared connections they leave, to finish, or for ctx. Either way it then
// releases what the server holds (the render pool, the store); sessions still open past
// ctx lose their slots within the store's lease TTL. New websockets are refused from
// now on. Stopping the listener is the caller's (http.Server.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.endSessions(func(*session) bool { return true }, endWith(closeShutdown, "racgate is shutting down"))
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
		s.shares.endIdle() // those kept for a session to come back: none will now
		err = s.shares.wait(ctx)
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.release()
	if err != nil {
		return fmt.Errorf("gateway: sessions still open: %w", err)
	}
	return nil
}

// Close ends every session at once and releases what the server holds. It waits a few
// seconds at most for sessions to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	return s.Shutdown(ctx)
}

// release frees the server's workers and store, once.
func (s *Server) release() {
	s.releaseOnce.Do(func() {
		s.pool.Close() // late viewers encode on their own goroutines
		s.closeStore() // held leases are released, or expire with their TTL
		s.signin.Close()
		s.audit.Close()
		s.idpClient.CloseIdleConnections()
	})
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
	var dropped uint64
	if l := ss.listener.Load(); l != nil {
		dropped = l.Dropped()
	}
	s.metrics.viewerDone(f, e, dropped)
	s.mu.Unlock()
	s.wg.Done()
}
