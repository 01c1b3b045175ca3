package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/racgate/racgate/authz"
)

// cookieName holds the signed login.
const cookieName = "racgate_session"

// maxCookieLen bounds what we parse: a real cookie is about 150 bytes.
const maxCookieLen = 1024

var (
	errNoLogin      = errors.New("not logged in")
	errBadSignature = errors.New("login cookie signature invalid")
	errExpired      = errors.New("login expired")
	errRevoked      = errors.New("logged out")
)

// login is a verified session cookie.
type login struct {
	ID      string // random per login, for logout and ending its connections
	User    *authz.User
	Expires time.Time
}

// signLogin makes the cookie value: "v1.<id>.<expiry unix>.<base64url username>.<mac>",
// mac = base64url(HMAC-SHA256(key, everything before it)).
func signLogin(key []byte, id, username string, expires time.Time) string {
	payload := "v1." + id + "." + strconv.FormatInt(expires.Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(username))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// parseLogin checks a cookie value's signature and expiry and returns its fields.
func parseLogin(key []byte, value string, now time.Time) (id, username string, expires time.Time, err error) {
	if len(value) > maxCookieLen {
		return "", "", time.Time{}, errBadSignature
	}
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return "", "", time.Time{}, errBadSignature
	}
	payload, sig := value[:i], value[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return "", "", time.Time{}, errBadSignature
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return "", "", time.Time{}, errBadSignature
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", time.Time{}, errBadSignature
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return "", "", time.Time{}, errBadSignature
	}
	expires = time.Unix(exp, 0)
	if !now.Before(expires) {
		return "", "", time.Time{}, errExpired
	}
	return parts[1], string(name), expires, nil
}

func newLoginID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// currentLogin returns the request's verified login, or an error saying why not.
func (s *Server) currentLogin(r *http.Request) (*login, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errNoLogin
	}
	st := s.state.Load()
	id, name, exp, err := parseLogin(st.key, ck.Value, s.now())
	if err != nil {
		return nil, err
	}
	if s.isRevoked(r.Context(), id) {
		return nil, errRevoked
	}
	u, ok := st.users.Lookup(name)
	if !ok {
		// removed from the config since: the login no longer counts
		return nil, fmt.Errorf("user %q no longer exists: %w", name, errNoLogin)
	}
	return &login{ID: id, User: u, Expires: exp}, nil
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

// sameOrigin reports whether a request's Origin header (when present) is this server:
// the request's own Host or public-url. Browsers always send Origin on websockets and
// cross-site POSTs, so a missing one is a non-browser client.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if o == "null" {
		return false
	}
	scheme, host, ok := strings.Cut(o, "://")
	if !ok {
		return false
	}
	if pu := s.state.Load().cfg.PublicURL; pu != nil && strings.EqualFold(scheme, pu.Scheme) && strings.EqualFold(host, pu.Host) {
		return true
	}
	return strings.EqualFold(host, r.Host)
}
