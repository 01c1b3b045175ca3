// Package signin is who a request to racgate comes from, and the pages that sign people
// in and out: racgate's own login form, sign-in at an OIDC provider, a trusted proxy's
// forward-auth headers, logout, and the record of ended logins that every instance shares
// through the connection store. Identity itself (users, signed cookies, OIDC, the proxy's
// headers) is package authz's; this package is its HTTP side.
package signin

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/pages"
	"github.com/racgate/racgate/gateway/store"
)

// Sources are the identity sources of one config; a reload replaces them whole.
type Sources struct {
	Config  *config.Config
	Users   *authz.Users
	Forward *authz.ForwardAuth // nil: forward-auth is off
	OIDC    *authz.OIDC        // nil: OIDC is off
	Key     []byte             // the login cookie's HMAC key
}

// NewSources makes cfg's sources. randomKey signs cookies while cfg names no
// session secret; client talks to the identity providers.
func NewSources(cfg *config.Config, randomKey []byte, client *http.Client) (*Sources, error) {
	users, err := authz.NewUsers(cfg.Users)
	if err != nil {
		return nil, err
	}
	src := &Sources{Config: cfg, Users: users, Key: cfg.Session.Secret}
	if len(src.Key) == 0 {
		src.Key = randomKey
	}
	if f := cfg.Auth.ForwardAuth; f != nil {
		src.Forward = authz.NewForwardAuth(*f, client)
	}
	if o := cfg.Auth.OIDC; o != nil {
		src.OIDC = authz.NewOIDC(*o, client)
	}
	return src, nil
}

// Stamp is a built-in user's credential stamp (User.Stamp), or false for an unknown user.
func (src *Sources) Stamp(username string) (string, bool) {
	u, ok := src.Users.Lookup(username)
	if !ok {
		return "", false
	}
	return u.Stamp(), true
}

// Options are what a Service works with.
type Options struct {
	Log   *slog.Logger
	Store store.Store // shares ended logins and failed-login counts between instances
	Audit *audit.Log  // nil: no audit trail
	// Sources returns the current config's sources.
	Sources func() *Sources
	// EndLogin ends every live connection of a login, on every instance, with why as
	// the reason its user sees.
	EndLogin func(ctx context.Context, loginID, why string)
	// BootEpoch: logins issued before it are refused (a memory store without a
	// state-file forgets logouts when it stops). Zero when logouts are kept.
	BootEpoch time.Time
	Now       func() time.Time // nil: time.Now
}

// Service signs people in and out and says who a request comes from. Make it with New;
// Close releases it.
type Service struct {
	o Options
	// LoginFloor is how long after the request a failed login is answered, so that the
	// answer's timing says nothing about whether the user name exists. Set it before
	// serving.
	LoginFloor time.Duration

	loginSem chan struct{} // bounds concurrent bcrypt checks, so a login flood cannot take every CPU
	// throttle holds back logins after failures (authz/throttle.go), counted in the store
	// or, while it cannot, in localThrottle.
	throttle      *authz.Throttle
	localThrottle *store.Memory

	mu        sync.Mutex
	revoked   map[string]time.Time // logged-out login IDs, until their expiry
	logins    map[string]uint64    // login attempts by result
	throttled map[string]uint64    // throttled logins by the key that held them
}

// DefaultLoginFloor: a bcrypt check takes 50-100 ms here; every failed login is answered
// no sooner than this, whatever it did.
const DefaultLoginFloor = 250 * time.Millisecond

// New returns a Service with o.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	local := store.NewMemory("local", "")
	return &Service{
		o:             o,
		LoginFloor:    DefaultLoginFloor,
		loginSem:      make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		throttle:      authz.NewThrottle(o.Store, local, o.Log),
		localThrottle: local,
		revoked:       map[string]time.Time{},
		logins:        map[string]uint64{},
		throttled:     map[string]uint64{"user": 0, "address": 0},
	}
}

// Close releases what s holds.
func (s *Service) Close() { s.localThrottle.Close() }

// Routes adds the sign-in pages to m.
func (s *Service) Routes(m *http.ServeMux) {
	m.HandleFunc("GET /login", s.handleLoginForm)
	m.HandleFunc("POST /login", s.handleLogin)
	m.HandleFunc("GET /auth/oidc/login", s.handleOIDCLogin)
	m.HandleFunc("GET /auth/oidc/callback", s.handleOIDCCallback)
	m.HandleFunc("POST /auth/oidc/backchannel-logout", s.handleBackchannelLogout)
	m.HandleFunc("POST /logout", s.handleLogout)
}

// Counts returns login attempts by result, and throttled ones by the key that held them.
func (s *Service) Counts() (logins, throttled map[string]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.logins), maps.Clone(s.throttled)
}

func (s *Service) count(which map[string]uint64, label string) {
	s.mu.Lock()
	which[label]++
	s.mu.Unlock()
}

func (s *Service) render(w http.ResponseWriter, status int, name string, data any) {
	if err := pages.Render(w, status, name, data); err != nil {
		s.o.Log.Warn("render page", "page", name, "err", err)
	}
}

// CookieName is the cookie that holds a signed login (authz.SignLogin).
const CookieName = "racgate_session"

var (
	// ErrNoLogin: the request carries no login.
	ErrNoLogin = errors.New("not logged in")
	// ErrRevoked: the request's login was logged out, here or on another instance.
	ErrRevoked = errors.New("logged out")
	// ErrBeforeRestart: a memory-store instance without a state-file cannot know which
	// logins ended before its start, so it refuses all of them.
	ErrBeforeRestart = errors.New("login from before racgate restarted")
)

// Login is who a request comes from: a verified login cookie, or a trusted proxy's
// headers.
type Login struct {
	ID      string // per login, for logout and ending its connections
	User    *authz.User
	Expires time.Time
	// Of a forward-auth login: what the proxy said, to ask it again later whether the
	// user is still signed in.
	Forward *authz.ForwardLogin
}

// Current returns the request's verified login, or an error saying why there is none. A
// trusted proxy's headers come first (config.AuthConfig), then racgate's cookie.
func (s *Service) Current(r *http.Request) (*Login, error) {
	src := s.o.Sources()
	if lg, err := s.forwardLogin(src, r); lg != nil || err != nil {
		return lg, err
	}
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return nil, ErrNoLogin
	}
	c, err := authz.ParseLogin(src.Key, ck.Value, s.o.Now(), src.Stamp)
	if err != nil {
		return nil, err
	}
	if c.Issued.Before(s.o.BootEpoch) {
		return nil, ErrBeforeRestart
	}
	if s.Revoked(r.Context(), c.ID) {
		return nil, ErrRevoked
	}
	u := c.User // an OIDC sign-in's
	if u == nil {
		u, _ = src.Users.Lookup(c.Username) // ParseLogin found it
	} else if src.OIDC == nil {
		return nil, ErrNoLogin
	}
	return &Login{ID: c.ID, User: u, Expires: c.Expires}, nil
}

// forwardLogin is the user a trusted proxy names in r's headers (authz.ForwardAuth.Login);
// nil, nil when there is none.
func (s *Service) forwardLogin(src *Sources, r *http.Request) (*Login, error) {
	if src.Forward == nil {
		return nil, nil
	}
	fl, err := src.Forward.Login(r, CookieName, src.Config.PublicURL)
	if err != nil {
		s.o.Log.WarnContext(r.Context(), "forward-auth: headers refused", "remote", r.RemoteAddr, "err", err)
	}
	if fl == nil {
		return nil, err
	}
	if s.Revoked(r.Context(), fl.ID) {
		return nil, ErrRevoked
	}
	return &Login{ID: fl.ID, User: fl.User, Expires: s.o.Now().Add(src.Config.Session.Lifetime), Forward: fl}, nil
}

func (s *Service) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	pub := s.o.Sources().Config.PublicURL
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: value, Path: "/", Expires: expires,
		MaxAge:   max(1, int(time.Until(expires).Seconds())),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: pub != nil && pub.Scheme == "https",
	})
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// Revoke remembers an ended login until it would have expired anyway: here, and in the
// store so that every instance refuses its cookie.
func (s *Service) Revoke(ctx context.Context, id string, until time.Time) {
	s.mu.Lock()
	now := s.o.Now()
	for k, t := range s.revoked {
		if !now.Before(t) {
			delete(s.revoked, k)
		}
	}
	s.revoked[id] = until
	s.mu.Unlock()
	if err := s.o.Store.Revoke(ctx, id, until); err != nil {
		s.o.Log.Warn("logout: cannot record it for the other instances", "err", err)
	}
}

// Revoked reports whether a login was logged out, here or on another instance. When the
// store cannot answer, only this instance's own logouts count: refusing every login while
// Redis is away would lock everyone out, and connecting needs the store anyway.
func (s *Service) Revoked(ctx context.Context, id string) bool {
	s.mu.Lock()
	_, ok := s.revoked[id]
	s.mu.Unlock()
	if ok {
		return true
	}
	ok, err := s.o.Store.Revoked(ctx, id)
	if err != nil {
		s.o.Log.Warn("cannot check for a logout on another instance", "err", err)
		return false
	}
	return ok
}

// signedIn records a new login: log, audit trail and cookie.
func (s *Service) signedIn(w http.ResponseWriter, r *http.Request, value string, u *authz.User, expires time.Time) {
	s.setCookie(w, value, expires)
	s.o.Log.InfoContext(r.Context(), "login", "user", u.Username, "source", u.Source, "remote", r.RemoteAddr)
	s.o.Audit.Record(audit.Login, slog.String("user", u.Username), slog.String("source", u.Source), slog.String("remote", r.RemoteAddr))
}

// The reasons users see when a login's connections end with it.
const (
	ReasonLogout    = "You logged out."
	ReasonSignedOut = "Your sign-in has ended: sign in again." // ended outside racgate
)
