package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuthConfig(t *testing.T) {
	c, err := Parse("t.yaml", []byte(goodConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.Builtin || c.Auth.ForwardAuth != nil {
		t.Fatalf("default auth: %+v", c.Auth)
	}
	c, err = Parse("t.yaml", []byte(goodConfig+`auth:
  builtin: false
  forward-auth:
    trusted-proxies: [10.1.2.3, "192.168.0.0/16", "fd00::/8"]
    sign-out-url: /outpost.goauthentik.io/sign_out
    recheck-url: http://outpost:9000/outpost.goauthentik.io/auth/nginx
    recheck-interval: 30s
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Auth.ForwardAuth
	if c.Auth.Builtin || f == nil || len(f.TrustedProxies) != 3 || f.TrustedProxies[0] != netip.MustParsePrefix("10.1.2.3/32") ||
		f.Headers != AuthentikHeaders || f.RecheckInterval != 30*time.Second || f.RecheckURL.Host != "outpost:9000" ||
		f.SignOutURL != "/outpost.goauthentik.io/sign_out" || len(f.SessionCookies) != 1 || f.SessionCookies[0] != "authentik_proxy_" {
		t.Fatalf("forward-auth: %+v", f)
	}
	c, err = Parse("t.yaml", []byte(goodConfig+"auth:\n  forward-auth:\n    trusted-proxies: [127.0.0.1]\n    headers: remote\n"), nil)
	if err != nil || c.Auth.ForwardAuth.Headers != RemoteHeaders || c.Auth.ForwardAuth.RecheckInterval != DefaultRecheckInterval ||
		c.Auth.ForwardAuth.SessionCookies != nil {
		t.Fatalf("headers: remote: %+v, %v", c.Auth.ForwardAuth, err)
	}
	c, err = Parse("t.yaml", []byte(goodConfig+"auth:\n  forward-auth:\n    trusted-proxies: [127.0.0.1]\n    headers: {username: x-user, groups: x-groups, group-separator: \";\"}\n"), nil)
	if h := c.Auth.ForwardAuth.Headers; err != nil || h.Username != "X-User" || h.Groups != "X-Groups" || h.GroupSeparator != ";" || h.Email != AuthentikHeaders.Email {
		t.Fatalf("headers by name: %+v, %v", h, err)
	}
}

func TestBadAuthConfigs(t *testing.T) {
	base := goodConfig + "auth:\n  forward-auth:\n"
	for _, c := range []struct{ yaml, want string }{
		{base + "    sign-out-url: /out\n", `t.yaml:16: auth.forward-auth: trusted-proxies is required: without it anyone could name themselves in a header`},
		{base + "    trusted-proxies: [10.0.0.0/33]\n", `t.yaml:16: auth.forward-auth.trusted-proxies[0]: want an address or CIDR such as 10.0.0.0/8, got "10.0.0.0/33"`},
		{base + "    trusted-proxies: [\"::1\"]\n    headers: authelia\n", `t.yaml:17: auth.forward-auth.headers: want authentik, remote or a mapping of header names, got "authelia"`},
		{base + "    trusted-proxies: [\"::1\"]\n    headers: {username: \"x user\"}\n", `t.yaml:17: auth.forward-auth.headers.username: "x user" is not a header name`},
		{base + "    trusted-proxies: [\"::1\"]\n    recheck-interval: 100ms\n", `t.yaml:17: auth.forward-auth.recheck-interval: must be at least 1s`},
		{base + "    trusted-proxies: [\"::1\"]\n    recheck-url: outpost/auth\n", `t.yaml:17: auth.forward-auth.recheck-url: want the proxy's auth endpoint as an absolute http(s) URL, got "outpost/auth"`},
		{goodConfig + "auth:\n  builtin: sometimes\n", `t.yaml:15: auth.builtin: want true or false, got "sometimes"`},
	} {
		_, err := Parse("t.yaml", []byte(c.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml[len(goodConfig):], err, c.want)
		}
	}
}

func TestOIDCConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "oidc.secret")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	c, err := Parse(filepath.Join(dir, "t.yaml"), []byte("public-url: https://gw.example\n"+goodConfig[strings.Index(goodConfig, "\n")+1:]+
		"auth:\n  oidc:\n    issuer: https://auth.example/app/\n    client-id: racgate\n    client-secret-file: oidc.secret\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Auth.OIDC
	if o == nil || o.ClientSecret != "s3cret" || o.RedirectURL != "https://gw.example/auth/oidc/callback" ||
		strings.Join(o.Scopes, " ") != "openid profile email" || o.UsernameClaim != "preferred_username" || o.GroupsClaim != "groups" ||
		!o.ProviderLogout || o.PostLogoutRedirectURL != "" || o.RefreshInterval != 0 || o.AttributeClaims != nil {
		t.Fatalf("oidc: %+v", o)
	}
	for _, c := range []struct{ yaml, want string }{
		{"auth:\n  oidc:\n    client-id: x\n", "auth.oidc.issuer: missing"},
		{"auth:\n  oidc:\n    issuer: auth.example\n    client-id: x\n", `want the provider's issuer URL, got "auth.example"`},
		{"auth:\n  oidc:\n    issuer: https://a.example\n    client-id: x\n    scopes: [profile]\n", "scopes must include openid"},
		{"auth:\n  oidc:\n    issuer: https://a.example\n    client-id: x\n", "auth.oidc.redirect-url: set it, or public-url"},
		{"auth:\n  oidc:\n    issuer: https://a.example\n    client-id: x\n    redirect-url: https://gw/cb\n    refresh-interval: 500ms\n", "t.yaml:19: auth.oidc.refresh-interval: must be at least 1s"},
		{"auth:\n  oidc:\n    issuer: https://a.example\n    client-id: x\n    redirect-url: https://gw/cb\n    post-logout-redirect-url: /login\n", `auth.oidc.post-logout-redirect-url: want where the provider sends the browser as an absolute http(s) URL, got "/login"`},
		{"auth:\n  oidc:\n    issuer: https://a.example\n    client-id: x\n    redirect-url: https://gw/cb\n    provider-logout: maybe\n", "auth.oidc.provider-logout"},
	} {
		if _, err := Parse("t.yaml", []byte(goodConfig+c.yaml), nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}
