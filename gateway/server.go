// Package gateway is where racgate's parts meet: the HTTP server (login, endpoint list,
// web client, admin API, metrics), websocket sessions and the adapters that tie them to
// the protocol clients, connection sharing, and connection control (limits, timeouts,
// ending sessions). The configuration is package config's, identity authz's, the
// connection registry gateway/store's; no package imports gateway.
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/policy"
	"github.com/racgate/racgate/protocols/pulse"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/webclient"
)

// state is what a reload replaces as a whole.
type state struct {
	cfg     *config.Config
	users   *authz.Users
	forward *authz.ForwardAuth // nil: forward-auth is off
	oidc    *authz.OIDC        // nil: OIDC is off
	key     []byte             // cookie HMAC key
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
	handler  http.Handler // mux behind withBodyDeadline
	dial     dialFunc
	dialTerm termDialFunc // terminal endpoints (ssh)
	// dialPulse connects to a PulseAudio server for a VNC endpoint's sound.
	dialPulse func(context.Context, pulse.Config) (*pulse.Recorder, error)
	now       func() time.Time

	pingInterval time.Duration // websocket keepalive
	pingTimeout  time.Duration // for the pong
	promptWait   time.Duration // for the answer to a login prompt; defaultPromptWait when 0

	randomKey []byte        // used while the config names no secret-file
	loginSem  chan struct{} // bounds concurrent bcrypt checks, so a login flood cannot take every CPU
	// loginFloor is how long after the request a failed login is answered, so that the
	// answer's timing says nothing about whether the user name exists.
	loginFloor time.Duration
	// throttle holds back logins after failures (authz/throttle.go), counted in the store
	// or, while it cannot, in localThrottle.
	throttle      *authz.Throttle
	localThrottle *store.Memory
	// bootEpoch: logins issued before it are refused (a memory store without a
	// state-file forgets logouts when it stops). Zero when logouts are kept.
	bootEpoch time.Time
	// bodyTimeout bounds reading a request body (a stalled POST must not hold a
	// connection): defaultBodyTimeout when 0.
	bodyTimeout time.Duration

	mu       sync.Mutex
	sessions map[*session]struct{}
	revoked  map[string]time.Time // logged-out login IDs, until their expiry
	closing  bool
	wg       sync.WaitGroup // live sessions

	releaseOnce sync.Once

	audit    *audit.Log // the audit trail (audit-log); nil: none
	auditCfg string     // its path: a reload may not change it
	// idpClient talks to the identity providers (the forward-auth proxy's auth endpoint,
	// the OIDC provider); its idle connections close with the server.
	idpClient *http.Client

	// connection control (control.go, admin.go)
	control    *controlMetrics
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
	s := &Server{
		log:           logger,
		control:       newControlMetrics(),
		shares:        newShares(),
		metrics:       newMetrics(),
		web:           webclient.FS(),
		now:           time.Now,
		pingInterval:  30 * time.Second,
		pingTimeout:   30 * time.Second,
		randomKey:     key,
		loginSem:      make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		loginFloor:    defaultLoginFloor,
		localThrottle: store.NewMemory("local", ""),
		sessions:      map[*session]struct{}{},
		revoked:       map[string]time.Time{},
		idpClient:     &http.Client{Timeout: 15 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	s.dial = s.dialDesktop
	s.dialTerm = s.dialSSH
	s.dialPulse = pulse.Dial
	st, closeStore, err := openStore(cfg, logger, s.control.storeOp)
	if err != nil {
		s.localThrottle.Close()
		return nil, err
	}
	s.store, s.closeStore, s.storeCfg = st, closeStore, cfg.Store
	if s.auditCfg = cfg.AuditLog; s.auditCfg != "" {
		if s.audit, err = audit.Open(cfg.AuditLog, st.InstanceID()); err != nil {
			closeStore()
			s.localThrottle.Close()
			return nil, fmt.Errorf("gateway: audit-log: %w", err)
		}
	}
	s.throttle = authz.NewThrottle(st, s.localThrottle, logger)
	if cfg.Store.Kind == "memory" && cfg.Store.StateFile == "" {
		// Cookies carry whole seconds.
		s.bootEpoch = s.now().Truncate(time.Second)
	}
	if err := s.Reload(cfg); err != nil {
		closeStore()
		s.localThrottle.Close()
		return nil, err
	}
	// Last: nothing after it can fail, so a failed NewServer leaves no workers behind.
	s.pool = render.NewPool(runtime.GOMAXPROCS(0))
	s.routes()
	return s, nil
}

// defaultLoginFloor: a bcrypt check takes 50-100 ms here; every failed login is answered
// no sooner than this, whatever it did.
const defaultLoginFloor = 250 * time.Millisecond

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
	users, err := authz.NewUsers(cfg.Users)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	key := cfg.Session.Secret
	if len(key) == 0 {
		key = s.randomKey
	}
	st := &state{cfg: cfg, users: users, key: key}
	if f := cfg.Auth.ForwardAuth; f != nil {
		st.forward = authz.NewForwardAuth(*f, s.idpClient)
	}
	if o := cfg.Auth.OIDC; o != nil {
		st.oidc = authz.NewOIDC(*o, s.idpClient)
	}
	s.state.Store(st)
	// After the Store: a session registering from now on checks st itself (handleWS).
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if why := st.access(ss.who, ss.stamp, ss.ep.Name, ss.preq); why != nil {
			ss.log.Info("access withdrawn by a config reload", "audit", true, "why", why.Reason)
			s.audit.Record(audit.AccessWithdrawn, ss.auditAttrs(slog.String("reason", why.Reason))...)
			ss.end(why)
		}
	}
	return nil
}

// stamp is a user's credential stamp (User.Stamp), or false for an unknown user.
func (st *state) stamp(username string) (string, bool) {
	u, ok := st.users.Lookup(username)
	if !ok {
		return "", false
	}
	return u.Stamp(), true
}

// access says why a session of username to endpoint, made with a login bound to stamp,
// may not go on under this state; nil when it may.
func (st *state) access(who *authz.User, stamp, endpoint string, req policy.Request) *sessionEnd {
	u := who // a user from elsewhere is as the identity provider named them
	if who.Source == authz.SourceBuiltin {
		var ok bool
		u, ok = st.users.Lookup(who.Username)
		switch {
		case !ok:
			return &sessionEnd{Code: closeSessionEnded, Reason: "Your racgate account was removed."}
		case u.Stamp() != stamp:
			return &sessionEnd{Code: closeSessionEnded, Reason: "Your password was changed: log in again."}
		}
	} else if (who.Source == authz.SourceForwardAuth && st.forward == nil) || (who.Source == authz.SourceOIDC && st.oidc == nil) {
		return &sessionEnd{Code: closeSessionEnded, Reason: "Your way of signing in was turned off."}
	}
	ep := st.cfg.Endpoint(endpoint)
	switch {
	case ep == nil:
		return &sessionEnd{Code: closeForbidden, Reason: fmt.Sprintf("The endpoint %q was removed.", endpoint)}
	}
	req.Time = time.Now()
	var d *authz.Denied
	if err := authz.MayOpen(context.Background(), st.cfg, u, ep, req); errors.As(err, &d) && d.Policy == "" {
		return &sessionEnd{Code: closeForbidden, Reason: fmt.Sprintf("You no longer have access to %q.", endpoint)}
	} else if err != nil {
		return &sessionEnd{Code: closeForbidden, Reason: err.Error(), Err: err}
	}
	return nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves /metrics without asking who is there: for metrics.listen, an
// address only scrapers reach.
func (s *Server) MetricsHandler() http.Handler { return http.HandlerFunc(s.writeMetrics) }

// defaultBodyTimeout bounds reading a request body: forms and API calls are small.
const defaultBodyTimeout = 10 * time.Second

// withBodyDeadline gives a request with a body a read deadline for it, so a client that
// stalls mid-body does not hold a connection and a goroutine. (http.Server's ReadTimeout
// cannot do it: it would also cut the websockets, which outlive their request. net/http
// lifts the deadline itself before the connection's next request.)
func (s *Server) withBodyDeadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(cmp.Or(s.bodyTimeout, defaultBodyTimeout)))
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("GET /login", s.handleLoginForm)
	m.HandleFunc("POST /login", s.handleLogin)
	m.HandleFunc("GET /auth/oidc/login", s.handleOIDCLogin)
	m.HandleFunc("GET /auth/oidc/callback", s.handleOIDCCallback)
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
	s.handler = s.withBodyDeadline(m)
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	lg, err := s.currentLogin(r)
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
	s.render(w, http.StatusOK, "index", indexPage{User: lg.User.Username, Endpoints: eps})
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	st, next := s.state.Load(), safeNext(r.URL.Query().Get("next"))
	switch {
	case !st.cfg.Auth.Builtin && st.oidc != nil:
		http.Redirect(w, r, "/auth/oidc/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	case !st.cfg.Auth.Builtin:
		s.builtinOff(w)
		return
	}
	page := loginPage{Next: next}
	if st.oidc != nil {
		page.OIDC = st.oidc.Config().DisplayName
		if page.OIDC == "" {
			page.OIDC = "single sign-on"
		}
	}
	s.render(w, http.StatusOK, "login", page)
}

// maxFormBytes bounds a login form body.
const maxFormBytes = 8 << 10

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
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
	if !st.cfg.Auth.Builtin {
		s.builtinOff(w)
		return
	}
	tc := st.cfg.LoginThrottle
	throttled := func(wait time.Duration, by string) {
		ra := authz.RetryAfter(wait)
		s.metrics.inc(s.metrics.loginsTotal, "throttled")
		s.metrics.inc(s.metrics.throttledTotal, by)
		s.log.Warn("login throttled", "user", username, "remote", r.RemoteAddr, "by", by, "retry_after", ra)
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		s.render(w, http.StatusTooManyRequests, "login", loginPage{Next: next, Username: username,
			Error: fmt.Sprintf("Too many failed logins: try again in %d s.", ra)})
	}
	// Refused before waiting for a bcrypt slot, so a flood of guesses does not hold up
	// other people's logins; and looked at again once the slot is ours, so that guesses
	// sent all at once cannot all pass the first look.
	if wait, by := s.throttle.Wait(r.Context(), tc, username, r.RemoteAddr); wait > 0 {
		throttled(wait, by)
		return
	}
	select {
	case s.loginSem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	if wait, by := s.throttle.Wait(r.Context(), tc, username, r.RemoteAddr); wait > 0 {
		<-s.loginSem
		throttled(wait, by)
		return
	}
	u, err := st.users.Authenticate(username, password)
	var wait time.Duration
	if err != nil {
		wait, _ = s.throttle.Failed(r.Context(), tc, username, r.RemoteAddr) // before the slot is free: see above
	}
	<-s.loginSem
	if err != nil {
		s.metrics.inc(s.metrics.loginsTotal, "failed")
		s.log.Info("login failed", "user", username, "remote", r.RemoteAddr)
		s.audit.Record(audit.LoginFailed, slog.String("user", username), slog.String("remote", r.RemoteAddr))
		msg := "Wrong username or password."
		if wait > 0 {
			msg += fmt.Sprintf(" Too many failed logins: try again in %d s.", authz.RetryAfter(wait))
		}
		// Every failure answers at the same time after the request came, whether the
		// name exists or not.
		if d := s.loginFloor - time.Since(start); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		s.render(w, http.StatusUnauthorized, "login", loginPage{Error: msg, Next: next, Username: username})
		return
	}
	s.throttle.Succeeded(r.Context(), tc, username, r.RemoteAddr)
	s.metrics.inc(s.metrics.loginsTotal, "ok")
	now := s.now()
	exp := now.Add(st.cfg.Session.Lifetime)
	s.setLoginCookie(w, authz.SignLogin(st.key, authz.Claims{ID: authz.NewLoginID(), Username: u.Username, Issued: now, Expires: exp}, u.Stamp()), exp)
	s.log.Info("login", "user", u.Username, "remote", r.RemoteAddr)
	s.audit.Record(audit.Login, slog.String("user", u.Username), slog.String("source", u.Source), slog.String("remote", r.RemoteAddr))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site: a path, as the browser will read it.
// Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so
// "/\t/evil.example" and "/\\evil.example" are "//evil.example" to them: another
// host. Anything with a control character or a backslash is refused outright.
func safeNext(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return p
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		http.Error(w, "cross-origin logout refused", http.StatusForbidden)
		return
	}
	next := "/login"
	if lg, err := s.currentLogin(r); err == nil {
		s.revoke(r.Context(), lg.ID, lg.Expires)
		s.endSessions(func(ss *session) bool { return ss.loginID == lg.ID },
			endWith(closeSessionEnded, "you logged out"))
		s.terminateLogin(r.Context(), lg.ID, logoutReason) // on the other instances
		s.log.Info("logout", "audit", true, "user", lg.User.Username, "source", lg.User.Source, "remote", r.RemoteAddr)
		s.audit.Record(audit.Logout, slog.String("user", lg.User.Username), slog.String("source", lg.User.Source), slog.String("remote", r.RemoteAddr))
		if f := s.state.Load().forward; f != nil && lg.User.Source == authz.SourceForwardAuth && f.Config().SignOutURL != "" {
			next = f.Config().SignOutURL // the proxy's own sign-out, or it signs the user straight back in
		}
	}
	s.clearLoginCookie(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// builtinOff answers the login form and its POST when auth.builtin is false.
func (s *Server) builtinOff(w http.ResponseWriter) {
	s.render(w, http.StatusForbidden, "message", messagePage{"Sign in elsewhere",
		"Signing in with a racgate password is turned off here: sign in through your organisation's sign-in page, then open racgate again."})
}

func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	lg, err := s.currentLogin(r)
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.EscapedPath()), http.StatusSeeOther)
		return
	}
	cfg := s.state.Load().cfg
	ep := cfg.Endpoint(r.PathValue("endpoint"))
	var d *authz.Denied
	if err := s.mayOpen(r, cfg, lg, ep); errors.As(err, &d) && d.Policy != "" {
		s.render(w, http.StatusForbidden, "message", messagePage{"Not now", d.Error()})
		return
	} else if err != nil {
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
		s.localThrottle.Close()
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
