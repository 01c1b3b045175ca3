package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/racgate/racgate/config"
)

// Forward-auth: a proxy in front of racgate (authentik's proxy outpost, Authelia,
// oauth2-proxy) signs the user in and names them in request headers. Only requests whose
// source address is a trusted proxy may do that: from anywhere else the same headers are
// ignored, since anyone can send them.

// Bounds on what the headers may hold.
const (
	maxHeaderValue = 4096
	maxGroups      = 256
	maxAttributes  = 64
)

// ErrBadHeader is wrapped by the error for a forward-auth header that is repeated, too
// long, or not clean UTF-8 text: a broken proxy, or one that does not strip what the
// client sent.
var ErrBadHeader = errors.New("authz: malformed forward-auth header")

// ForwardAuth reads users from a trusted proxy's headers and asks the proxy whether they
// are still signed in. It is safe for concurrent use.
type ForwardAuth struct {
	cfg    config.ForwardAuthConfig
	client *http.Client
}

// NewForwardAuth returns the forward-auth source cfg describes. client makes the
// rechecks (nil: a default client); it must not follow redirects, which NewForwardAuth
// sees to.
func NewForwardAuth(cfg config.ForwardAuthConfig, client *http.Client) *ForwardAuth {
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &ForwardAuth{cfg: cfg, client: c}
}

// Config is the configuration f was made from.
func (f *ForwardAuth) Config() config.ForwardAuthConfig { return f.cfg }

// Trusted reports whether a request from addr may name its user in headers.
func (f *ForwardAuth) Trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range f.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// User returns the user h names; false when it names none (no username header). The
// caller checks Trusted first.
func (f *ForwardAuth) User(h http.Header) (*User, bool, error) {
	hn := f.cfg.Headers
	name, err := headerValue(h, hn.Username)
	if err != nil || name == "" {
		return nil, false, err
	}
	u := &User{Username: name, Source: SourceForwardAuth}
	for _, p := range []struct {
		header string
		dst    *string
	}{{hn.Email, &u.Email}, {hn.Name, &u.Name}, {hn.UID, &u.UID}} {
		if *p.dst, err = headerValue(h, p.header); err != nil {
			return nil, false, err
		}
	}
	groups, err := headerValue(h, hn.Groups)
	if err != nil {
		return nil, false, err
	}
	for g := range strings.SplitSeq(groups, hn.GroupSeparator) {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(u.Groups, g) {
			u.Groups = append(u.Groups, g)
		}
	}
	if len(u.Groups) > maxGroups {
		return nil, false, fmt.Errorf("%w: %s names %d groups (at most %d)", ErrBadHeader, hn.Groups, len(u.Groups), maxGroups)
	}
	if hn.MetaPrefix != "" {
		p := hn.MetaPrefix
		for k := range h {
			if len(k) <= len(p) || !strings.EqualFold(k[:len(p)], p) {
				continue
			}
			rest := k[len(p):]
			v, err := headerValue(h, k)
			if err != nil {
				return nil, false, err
			}
			if u.Attributes == nil {
				u.Attributes = map[string]string{}
			}
			u.Attributes[strings.ToLower(rest)] = v
			if len(u.Attributes) > maxAttributes {
				return nil, false, fmt.Errorf("%w: more than %d %s* headers", ErrBadHeader, maxAttributes, hn.MetaPrefix)
			}
		}
	}
	return u, true, nil
}

// headerValue is the one value of header name ("" if absent or name is "").
func headerValue(h http.Header, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	vs := h.Values(name)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %s given %d times", ErrBadHeader, name, len(vs))
	case len(vs[0]) > maxHeaderValue:
		return "", fmt.Errorf("%w: %s of %d bytes (at most %d)", ErrBadHeader, name, len(vs[0]), maxHeaderValue)
	case !plainText(vs[0]):
		return "", fmt.Errorf("%w: %s holds control characters or invalid UTF-8", ErrBadHeader, name)
	}
	return strings.TrimSpace(vs[0]), nil
}

// plainText reports whether s, from a header or a claim, is UTF-8 without control
// characters.
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// ForwardLoginID is the login ID of a proxy's session: the same for every request of
// one browser session (on every racgate instance), so that signing out there ends that
// session's connections and no other's. cookies are the request's cookies except
// racgate's own.
func ForwardLoginID(username string, cookies []*http.Cookie) string {
	h := sha256.New()
	h.Write([]byte("racgate forward-auth login\x00" + username))
	for _, c := range cookies {
		h.Write([]byte("\x00" + c.Name + "=" + c.Value))
	}
	return "fa-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Recheck asks the proxy's auth endpoint whether the session cookies hold is still
// signed in as username. true on a 2xx whose username header, if any, names the same
// user; false on 401, 403 or a redirect (to the sign-in page); an error otherwise (the
// proxy is down or broken, which says nothing about the user: the caller asks again
// later). originalURL is what the browser opened, for a proxy that picks its application
// by it (authentik's X-Original-URL).
func (f *ForwardAuth) Recheck(ctx context.Context, username string, cookies []*http.Cookie, originalURL string) (bool, error) {
	if f.cfg.RecheckURL == nil {
		return true, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.cfg.RecheckURL.String(), nil)
	if err != nil {
		return false, err
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if originalURL != "" {
		req.Header.Set("X-Original-URL", originalURL)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("authz: forward-auth recheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
		(resp.StatusCode >= 300 && resp.StatusCode < 400):
		return false, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return false, fmt.Errorf("authz: forward-auth recheck: %s answered %s", f.cfg.RecheckURL.Redacted(), resp.Status)
	}
	if name, err := headerValue(resp.Header, f.cfg.Headers.Username); err == nil && name != "" && name != username {
		return false, nil // the cookies now belong to someone else
	}
	return true, nil
}

// ForwardLogin is a request's user as a trusted proxy names them.
type ForwardLogin struct {
	User *User
	ID   string // ForwardLoginID
	// Cookies are the proxy's session cookies (config's SessionCookies; else all but
	// the caller's own), to ask the proxy about later (Watch).
	Cookies []*http.Cookie
	URL     string // what the browser opened, for the proxy's X-Original-URL
}

// Login reads the user a trusted proxy names in r; nil, nil when r comes from another
// address (its headers are then ignored: anyone can send them) or names no one. own is
// the caller's own cookie, left out of the proxy's; public is the caller's public URL
// (nil: r's own host).
func (f *ForwardAuth) Login(r *http.Request, own string, public *url.URL) (*ForwardLogin, error) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !f.Trusted(ap.Addr()) {
		return nil, nil
	}
	u, ok, err := f.User(r.Header)
	if err != nil || !ok {
		return nil, err
	}
	l := &ForwardLogin{User: u}
	prefixes := f.cfg.SessionCookies
	for _, c := range r.Cookies() {
		if c.Name != own && (len(prefixes) == 0 || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(c.Name, p) })) {
			l.Cookies = append(l.Cookies, c)
		}
	}
	l.ID = ForwardLoginID(u.Username, l.Cookies)
	base := public
	if base == nil {
		base = &url.URL{Scheme: "http", Host: r.Host}
		if r.TLS != nil {
			base.Scheme = "https"
		}
	}
	l.URL = base.ResolveReference(&url.URL{Path: r.URL.Path}).String()
	return l, nil
}

// ClientIP is the address r comes from: behind a trusted proxy (f may be nil), the one
// the proxy appended to X-Forwarded-For.
func ClientIP(f *ForwardAuth, r *http.Request) string {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && f != nil && f.Trusted(ap.Addr()) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			ip = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	return ip
}

// Watch asks the proxy every RecheckInterval whether l is still signed in (Recheck), and
// returns false once it says no, true when ctx ends first. A proxy that does not answer
// says nothing about the user: onErr hears of it, and Watch asks again next time.
func (f *ForwardAuth) Watch(ctx context.Context, l *ForwardLogin, onErr func(error)) bool {
	every := f.cfg.RecheckInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, min(every, 10*time.Second))
		ok, err := f.Recheck(rctx, l.User.Username, l.Cookies, l.URL)
		cancel()
		switch {
		case ctx.Err() != nil:
			return true
		case err != nil:
			onErr(err)
		case !ok:
			return false
		}
	}
}
