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
	"net/url"
	"slices"
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
	// errBeforeRestart: a memory-store instance without a state-file cannot know which
	// logins ended before its start, so it refuses all of them (StoreConfig.StateFile).
	errBeforeRestart = errors.New("login from before racgate restarted")
)

// login is a verified session cookie.
type login struct {
	ID      string // random per login, for logout and ending its connections
	User    *authz.User
	Expires time.Time
}

// loginClaims are what a login cookie says.
type loginClaims struct {
	ID       string
	Username string
	Issued   time.Time // for the memory store's restart rule (Server.bootEpoch)
	Expires  time.Time
}

// signLogin makes the cookie value:
//
//	"v2.<id>.<issued unix>.<expiry unix>.<base64url username>.<mac>"
//
// mac = base64url(HMAC-SHA256(key, everything before it, NUL, stamp)). stamp is the
// user's credential stamp (userStamp): it is not in the cookie, so a cookie made before a
// password change no longer verifies.
func signLogin(key []byte, c loginClaims, stamp string) string {
	payload := "v2." + c.ID + "." + strconv.FormatInt(c.Issued.Unix(), 10) + "." +
		strconv.FormatInt(c.Expires.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(c.Username))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload, stamp))
}

func mac(key []byte, payload, stamp string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	h.Write([]byte{0})
	h.Write([]byte(stamp))
	return h.Sum(nil)
}

// userStamp is what a login cookie is bound to besides the key: the password hash, which
// changes with the password (bcrypt salts every hash).
func userStamp(u *authz.User) string { return u.PasswordHash }

// parseLogin checks a cookie value's signature and expiry and returns what it says. stamp
// returns the credential stamp of a user, or false for a user that does not exist.
func parseLogin(key []byte, value string, now time.Time, stamp func(username string) (string, bool)) (loginClaims, error) {
	var c loginClaims
	if len(value) > maxCookieLen {
		return c, errBadSignature
	}
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return c, errBadSignature
	}
	payload, sig := value[:i], value[i+1:]
	parts := strings.Split(payload, ".")
	if len(parts) != 5 || parts[0] != "v2" {
		return c, errBadSignature
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil {
		return c, errBadSignature
	}
	st, known := stamp(string(name))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	// An unknown user's cookie is checked against an empty stamp, so both cases take the
	// same path; it cannot verify unless someone holds the key.
	if err != nil || !hmac.Equal(got, mac(key, payload, st)) {
		return c, errBadSignature
	}
	if !known {
		// signed by us, for a user removed from the config since
		return c, fmt.Errorf("user %q no longer exists: %w", name, errNoLogin)
	}
	iat, err1 := strconv.ParseInt(parts[2], 10, 64)
	exp, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return c, errBadSignature
	}
	c = loginClaims{ID: parts[1], Username: string(name), Issued: time.Unix(iat, 0), Expires: time.Unix(exp, 0)}
	if !now.Before(c.Expires) {
		return c, errExpired
	}
	return c, nil
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
	c, err := parseLogin(st.key, ck.Value, s.now(), st.stamp)
	if err != nil {
		return nil, err
	}
	if c.Issued.Before(s.bootEpoch) {
		return nil, errBeforeRestart
	}
	if s.isRevoked(r.Context(), c.ID) {
		return nil, errRevoked
	}
	u, _ := st.users.Lookup(c.Username) // parseLogin found it
	return &login{ID: c.ID, User: u, Expires: c.Expires}, nil
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
	origin := originOf(u)
	cfg := s.state.Load().cfg
	if slices.Contains(cfg.AllowedOrigins, origin) {
		return true
	}
	if cfg.PublicURL != nil {
		return origin == originOf(cfg.PublicURL)
	}
	if r.Host == "" {
		return false
	}
	own := &url.URL{Scheme: "https", Host: r.Host}
	if origin == originOf(own) {
		return true
	}
	// Plain HTTP here may still be https at a proxy in front: accept either then.
	own.Scheme = "http"
	return r.TLS == nil && origin == originOf(own)
}
