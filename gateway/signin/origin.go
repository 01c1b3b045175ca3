package signin

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/racgate/racgate/config"
)

// SameOrigin reports whether a request's Origin header (when present) is one whose pages
// may act here. With public-url set: its origin and allowed-origins, nothing else (not
// the request's Host, which a DNS-rebinding page controls). Without it: the request's own
// Host (with https when served over TLS) and allowed-origins. Browsers always send Origin
// on websockets and cross-site POSTs, so a missing one is a non-browser client.
func SameOrigin(cfg *config.Config, r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false // "null" (a sandboxed or file: page) and anything malformed
	}
	origin := config.OriginOf(u)
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
