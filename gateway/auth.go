package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/policy"
)

// cookieName holds the signed login (authz.SignLogin).
const cookieName = "racgate_session"

var (
	errNoLogin = errors.New("not logged in")
	errRevoked = errors.New("logged out")
	// errBeforeRestart: a memory-store instance without a state-file cannot know which
	// logins ended before its start, so it refuses all of them (StoreConfig.StateFile).
	errBeforeRestart = errors.New("login from before racgate restarted")
)

// login is who a request comes from: a verified session cookie, or a trusted proxy's
// headers.
type login struct {
	ID      string // per login, for logout and ending its connections
	User    *authz.User
	Expires time.Time
	// Of a forward-auth login: what the proxy said, to ask it again later whether the
	// user is still signed in.
	forward *authz.ForwardLogin
}

// currentLogin returns the request's verified login, or an error saying why not. A
// trusted proxy's headers come first (config.AuthConfig), then racgate's cookie.
func (s *Server) currentLogin(r *http.Request) (*login, error) {
	st := s.state.Load()
	if lg, err := s.forwardLogin(st, r); lg != nil || err != nil {
		return lg, err
	}
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errNoLogin
	}
	c, err := authz.ParseLogin(st.key, ck.Value, s.now(), st.stamp)
	if err != nil {
		return nil, err
	}
	if c.Issued.Before(s.bootEpoch) {
		return nil, errBeforeRestart
	}
	if s.isRevoked(r.Context(), c.ID) {
		return nil, errRevoked
	}
	u := c.User // an OIDC sign-in's
	if u == nil {
		u, _ = st.users.Lookup(c.Username) // ParseLogin found it
	} else if st.oidc == nil {
		return nil, errNoLogin
	}
	return &login{ID: c.ID, User: u, Expires: c.Expires}, nil
}

// forwardLogin is the user a trusted proxy names in r's headers (authz.ForwardAuth.Login);
// nil, nil when there is none.
func (s *Server) forwardLogin(st *state, r *http.Request) (*login, error) {
	if st.forward == nil {
		return nil, nil
	}
	fl, err := st.forward.Login(r, cookieName, st.cfg.PublicURL)
	if err != nil {
		s.log.Warn("forward-auth: headers refused", "remote", r.RemoteAddr, "err", err)
	}
	if fl == nil {
		return nil, err
	}
	if s.isRevoked(r.Context(), fl.ID) {
		return nil, errRevoked
	}
	return &login{ID: fl.ID, User: fl.User, Expires: s.now().Add(st.cfg.Session.Lifetime), forward: fl}, nil
}

// policyRequest is what policies see of r.
func (s *Server) policyRequest(r *http.Request) policy.Request {
	return policy.Request{IP: authz.ClientIP(s.state.Load().forward, r), UserAgent: r.UserAgent(), Time: s.now()}
}

// mayOpen is authz.MayOpen for r; a nil ep is not open to anyone.
func (s *Server) mayOpen(r *http.Request, cfg *config.Config, lg *login, ep *config.Endpoint) error {
	if ep == nil {
		return &authz.Denied{}
	}
	err := authz.MayOpen(r.Context(), cfg, lg.User, ep, s.policyRequest(r))
	var d *authz.Denied
	if errors.As(err, &d) && d.Policy != "" {
		s.log.Info("policy refused", "audit", true, "user", lg.User.Username, "endpoint", ep.Name, "policy", d.Policy, "err", d.Err)
		attrs := []slog.Attr{slog.String("user", lg.User.Username), slog.String("source", lg.User.Source),
			slog.String("endpoint", ep.Name), slog.String("policy", d.Policy), slog.String("remote", r.RemoteAddr)}
		if d.Err != nil {
			attrs = append(attrs, slog.String("error", d.Err.Error()))
		}
		s.audit.Record(audit.PolicyDenied, attrs...)
	}
	return err
}

func (s *Server) setLoginCookie(w http.ResponseWriter, value string, expires time.Time) {
	st := s.state.Load()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/", Expires: expires,
		MaxAge:   max(1, int(time.Until(expires).Seconds())),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: st.cfg.PublicURL != nil && st.cfg.PublicURL.Scheme == "https",
	})
}

func (s *Server) clearLoginCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// revoke remembers a logged-out login until it would have expired anyway: here, and in
// the store so that every instance refuses the cookie.
func (s *Server) revoke(ctx context.Context, id string, until time.Time) {
	s.mu.Lock()
	now := s.now()
	for k, t := range s.revoked {
		if !now.Before(t) {
			delete(s.revoked, k)
		}
	}
	s.revoked[id] = until
	s.mu.Unlock()
	if err := s.store.Revoke(ctx, id, until); err != nil {
		s.log.Warn("logout: cannot record it for the other instances", "err", err)
	}
}

// isRevoked reports whether a login was logged out, here or on another instance. When
// the store cannot answer, only this instance's own logouts count: refusing every login
// while Redis is away would lock everyone out, and connecting needs the store anyway.
func (s *Server) isRevoked(ctx context.Context, id string) bool {
	s.mu.Lock()
	_, ok := s.revoked[id]
	s.mu.Unlock()
	if ok {
		return true
	}
	ok, err := s.store.Revoked(ctx, id)
	if err != nil {
		s.log.Warn("cannot check for a logout on another instance", "err", err)
		return false
	}
	return ok
}

// sameOrigin reports whether a request's Origin header (when present) is one whose pages
// may act here. With public-url set: its origin and allowed-origins, nothing else (not
// the request's Host, which a DNS-rebinding page controls). Without it: the request's own
// Host (with https when served over TLS) and allowed-origins. Browsers always send Origin
// on websockets and cross-site POSTs, so a missing one is a non-browser client.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false // "null" (a sandboxed or file: page) and anything malformed
	}
	origin := config.OriginOf(u)
	cfg := s.state.Load().cfg
	if slices.Contains(cfg.AllowedOrigins, origin) {
		return true
	}
	if cfg.PublicURL != nil {
		return origin == config.OriginOf(cfg.PublicURL)
	}
	if r.Host == "" {
		return false
	}
	own := &url.URL{Scheme: "https", Host: r.Host}
	if origin == config.OriginOf(own) {
		return true
	}
	// Plain HTTP here may still be https at a proxy in front: accept either then.
	own.Scheme = "http"
	return r.TLS == nil && origin == config.OriginOf(own)
}
