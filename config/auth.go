package config

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// AuthConfig is auth: where users come from. A request's user is looked for in this
// order: forward-auth headers (from a trusted proxy only), then racgate's own login
// cookie (built-in users, and users who signed in at the OIDC provider).
type AuthConfig struct {
	ForwardAuth *ForwardAuthConfig // nil: off
	OIDC        *OIDCConfig        // nil: off
	// Builtin turns the login form for the users: list on or off (default on).
	Builtin bool
}

// ForwardAuthConfig is auth.forward-auth: a proxy in front of racgate (authentik's proxy
// outpost, oauth2-proxy, Authelia…) that signs users in and names them in headers.
type ForwardAuthConfig struct {
	// TrustedProxies are the addresses whose headers name the user. From any other
	// address the headers are ignored.
	TrustedProxies []netip.Prefix
	Headers        ForwardAuthHeaders
	// SignOutURL is where racgate's sign-out sends the browser (authentik:
	// /outpost.goauthentik.io/sign_out); "" = racgate's login page.
	SignOutURL string
	// SessionCookies are the name prefixes of the proxy's session cookies, which make
	// the login ID and go with a recheck; empty: every cookie but racgate's own.
	SessionCookies []string
	// RecheckURL is the proxy's auth endpoint, asked with the user's cookies every
	// RecheckInterval while they have connections: a 401, 403 or redirect there ends
	// them. nil: no recheck.
	RecheckURL      *url.URL
	RecheckInterval time.Duration
}

// ForwardAuthHeaders names the headers the proxy sets. Empty names are not read.
type ForwardAuthHeaders struct {
	Username, Groups, Email, Name, UID string
	// GroupSeparator splits Groups: "|" for authentik, "," for Remote-Groups.
	GroupSeparator string
	// MetaPrefix starts headers whose rest is an attribute's name
	// (X-authentik-meta-app: "app").
	MetaPrefix string
}

// Header presets (auth.forward-auth.headers: authentik | remote).
var (
	// AuthentikHeaders are what authentik's proxy outpost sets.
	AuthentikHeaders = ForwardAuthHeaders{Username: "X-authentik-username", Groups: "X-authentik-groups",
		Email: "X-authentik-email", Name: "X-authentik-name", UID: "X-authentik-uid",
		GroupSeparator: "|", MetaPrefix: "X-authentik-meta-"}
	// RemoteHeaders are the generic ones of Authelia, oauth2-proxy and others.
	RemoteHeaders = ForwardAuthHeaders{Username: "Remote-User", Groups: "Remote-Groups",
		Email: "Remote-Email", Name: "Remote-Name", GroupSeparator: ","}
)

// DefaultRecheckInterval is recheck-interval when left out.
const DefaultRecheckInterval = time.Minute

func (d *decoder) auth(k string, v *yaml.Node, file string, a *AuthConfig) {
	d.mapping(v, k, map[string]fieldFunc{
		"builtin":      func(k string, v *yaml.Node) { d.boolean(v, k, &a.Builtin) },
		"forward-auth": func(k string, v *yaml.Node) { a.ForwardAuth = d.forwardAuth(k, v) },
		"oidc":         func(k string, v *yaml.Node) { a.OIDC = d.oidc(k, v, file) },
	})
}

func (d *decoder) forwardAuth(k string, v *yaml.Node) *ForwardAuthConfig {
	f := &ForwardAuthConfig{Headers: AuthentikHeaders, RecheckInterval: DefaultRecheckInterval}
	cookiesSet := false
	d.mapping(v, k, map[string]fieldFunc{
		"trusted-proxies": func(k string, v *yaml.Node) {
			d.sequence(v, k, func(k string, v *yaml.Node) {
				s, ok := d.scalar(v, k)
				if !ok {
					return
				}
				p, err := netip.ParsePrefix(s)
				if err != nil {
					a, aerr := netip.ParseAddr(s)
					if aerr != nil {
						d.errorf(v, k, "want an address or CIDR such as 10.0.0.0/8, got %q", s)
						return
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				f.TrustedProxies = append(f.TrustedProxies, p.Masked())
			})
		},
		"headers": func(k string, v *yaml.Node) { d.forwardHeaders(k, v, &f.Headers) },
		"session-cookies": func(k string, v *yaml.Node) {
			cookiesSet = true
			d.strList(v, k, &f.SessionCookies)
		},
		"sign-out-url":     func(k string, v *yaml.Node) { d.str(v, k, &f.SignOutURL) },
		"recheck-url":      func(k string, v *yaml.Node) { f.RecheckURL = d.httpURL(v, k, "the proxy's auth endpoint") },
		"recheck-interval": func(k string, v *yaml.Node) { d.durationAtLeast(v, k, &f.RecheckInterval, time.Second) },
	})
	if len(f.TrustedProxies) == 0 {
		d.errorf(v, k, "trusted-proxies is required: without it anyone could name themselves in a header")
	}
	if !cookiesSet && f.Headers == AuthentikHeaders {
		f.SessionCookies = []string{"authentik_proxy_"} // the outpost's session cookie
	}
	return f
}

// forwardHeaders reads headers: a preset name, or the names one by one over authentik's.
func (d *decoder) forwardHeaders(k string, v *yaml.Node, h *ForwardAuthHeaders) {
	if v.Kind == yaml.ScalarNode {
		switch v.Value {
		case "authentik":
			*h = AuthentikHeaders
		case "remote":
			*h = RemoteHeaders
		default:
			d.errorf(v, k, "want authentik, remote or a mapping of header names, got %q", v.Value)
		}
		return
	}
	name := func(dst *string) fieldFunc {
		return func(k string, v *yaml.Node) {
			s, ok := d.scalar(v, k)
			if !ok {
				return
			}
			if s != "" && !validHeaderName(s) {
				d.errorf(v, k, "%q is not a header name", s)
				return
			}
			*dst = http.CanonicalHeaderKey(s)
		}
	}
	d.mapping(v, k, map[string]fieldFunc{
		"username":    name(&h.Username),
		"groups":      name(&h.Groups),
		"email":       name(&h.Email),
		"name":        name(&h.Name),
		"uid":         name(&h.UID),
		"meta-prefix": name(&h.MetaPrefix),
		"group-separator": func(k string, v *yaml.Node) {
			d.str(v, k, &h.GroupSeparator)
			if h.GroupSeparator == "" {
				d.errorf(v, k, "must not be empty")
			}
		},
	})
	if h.Username == "" {
		d.errorf(v, k, "username: the header that names the user is required")
	}
}

// validHeaderName reports whether s is an RFC 9110 field name (a token).
func validHeaderName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	}) < 0
}

// OIDCConfig is auth.oidc: an OpenID Connect provider users sign in at (authentik's
// OAuth2/OpenID provider, Keycloak, ...), with the authorization code flow and PKCE.
type OIDCConfig struct {
	Issuer       string // discovery at Issuer/.well-known/openid-configuration
	ClientID     string
	ClientSecret string   // from client-secret-file; "" for a public client (PKCE alone)
	Scopes       []string // default openid, profile, email
	// Claims naming the user, their groups, e-mail and display name (defaults
	// preferred_username, groups, email, name); uid is always sub.
	UsernameClaim, GroupsClaim, EmailClaim, NameClaim string
	// AttributeClaims are copied into the user's attributes (policies' user.attributes),
	// by their names in lower case; a claim that is not a string as its JSON.
	AttributeClaims []string
	// RedirectURL is the callback the provider sends the browser back to; default
	// public-url + /auth/oidc/callback.
	RedirectURL string
	// DisplayName labels the sign-in button ("Sign in with ..."); default the issuer's host.
	DisplayName string
	// ProviderLogout: logging out of racgate also ends the sign-in at the provider
	// (RP-initiated logout, where the provider offers it). Default true.
	ProviderLogout bool
	// PostLogoutRedirectURL is where the provider sends the browser after that logout;
	// it must be registered there. "": the provider's own page.
	PostLogoutRedirectURL string
	// RefreshInterval is how often, while a user has live connections, racgate refreshes
	// their tokens (and so learns whether the provider still signs them in). 0: when the
	// access token is four-fifths through its life.
	RefreshInterval time.Duration
}

func (d *decoder) oidc(k string, v *yaml.Node, file string) *OIDCConfig {
	o := &OIDCConfig{Scopes: []string{"openid", "profile", "email"}, UsernameClaim: "preferred_username",
		GroupsClaim: "groups", EmailClaim: "email", NameClaim: "name", ProviderLogout: true}
	d.mapping(v, k, map[string]fieldFunc{
		"issuer": func(k string, v *yaml.Node) {
			if s, ok := d.scalar(v, k); ok {
				if u, err := url.Parse(s); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					d.errorf(v, k, "want the provider's issuer URL, got %q", s)
					return
				}
				o.Issuer = s
			}
		},
		"client-id":          func(k string, v *yaml.Node) { d.str(v, k, &o.ClientID) },
		"client-secret-file": func(k string, v *yaml.Node) { o.ClientSecret = string(d.fileSecret(k, v, file, 0)) },
		"scopes":             func(k string, v *yaml.Node) { o.Scopes = nil; d.strList(v, k, &o.Scopes) },
		"username-claim":     func(k string, v *yaml.Node) { d.str(v, k, &o.UsernameClaim) },
		"groups-claim":       func(k string, v *yaml.Node) { d.str(v, k, &o.GroupsClaim) },
		"email-claim":        func(k string, v *yaml.Node) { d.str(v, k, &o.EmailClaim) },
		"name-claim":         func(k string, v *yaml.Node) { d.str(v, k, &o.NameClaim) },
		"attribute-claims": func(k string, v *yaml.Node) {
			d.strList(v, k, &o.AttributeClaims)
			if len(o.AttributeClaims) > 32 {
				d.errorf(v, k, "at most 32 claims")
			}
		},
		"redirect-url":    func(k string, v *yaml.Node) { d.str(v, k, &o.RedirectURL) },
		"display-name":    func(k string, v *yaml.Node) { d.str(v, k, &o.DisplayName) },
		"provider-logout": func(k string, v *yaml.Node) { d.boolean(v, k, &o.ProviderLogout) },
		"post-logout-redirect-url": func(k string, v *yaml.Node) {
			if u := d.httpURL(v, k, "where the provider sends the browser"); u != nil {
				o.PostLogoutRedirectURL = u.String()
			}
		},
		"refresh-interval": func(k string, v *yaml.Node) { d.durationAtLeast(v, k, &o.RefreshInterval, time.Second) },
	})
	d.required(v, k, "issuer", o.Issuer)
	d.required(v, k, "client-id", o.ClientID)
	if !slices.Contains(o.Scopes, "openid") {
		d.errorf(v, k, "scopes must include openid")
	}
	return o
}

// httpURL reads an absolute http(s) URL; nil after an error. what says what it is for.
func (d *decoder) httpURL(v *yaml.Node, k, what string) *url.URL {
	s, ok := d.scalar(v, k)
	if !ok {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(v, k, "want %s as an absolute http(s) URL, got %q", what, s)
		return nil
	}
	return u
}

// durationAtLeast reads a duration of at least least.
func (d *decoder) durationAtLeast(v *yaml.Node, k string, dst *time.Duration, least time.Duration) {
	d.duration(v, k, dst)
	if *dst < least {
		d.errorf(v, k, "must be at least %v", least)
	}
}
