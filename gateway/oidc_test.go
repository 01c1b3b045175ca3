package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// signIn signs browser c in at the provider as test-user2 and returns racgate's login
// cookie.
func signIn(t *testing.T, o *peers.OIDC, c *http.Client) string {
	t.Helper()
	resp, err := c.Get("http://gw.example/auth/oidc/login?next=/")
	body(t, resp, err)
	id := resp.Request.URL.Query().Get("authRequestID")
	resp, err = c.PostForm(o.Issuer+"/login/username", url.Values{"id": {id}, "username": {peers.OIDCUser}, "password": {peers.OIDCPassword}})
	if page := body(t, resp, err); resp.Request.URL.String() != "http://gw.example/" || !strings.Contains(page, "Hello, test-user2") {
		t.Fatalf("after signing in: at %s\n%s", resp.Request.URL, page)
	}
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "http", Host: "gw.example"}) {
		if ck.Name == signin.CookieName {
			return ck.Value
		}
	}
	t.Fatal("no login cookie")
	return ""
}

// gwClient is a browser for gw.example, which is the test server: cookies, redirects.
func gwClient(t *testing.T, ts *testServer) *http.Client {
	jar, _ := cookiejar.New(nil)
	gw := strings.TrimPrefix(ts.hs.URL, "http://")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "gw.example:80" {
			addr = gw
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr}
}

func body(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestOIDCLogin: the login page offers the provider; signing in there (code flow with
// PKCE, at zitadel's example provider) logs into racgate as the provider's user, with
// the groups its userinfo names deciding the endpoints; a callback whose state is not
// this browser's is refused.
func TestOIDCLogin(t *testing.T) {
	issuer := peers.StartOIDC(t, "http://gw.example/auth/oidc/callback").Issuer
	secret := filepath.Join(t.TempDir(), "oidc.secret")
	os.WriteFile(secret, []byte("racgate-client-secret\n"), 0o600)
	y := strings.Replace(testConfig, "https://gw.example", "http://gw.example", 1) + `auth:
  oidc:
    issuer: ` + issuer + `
    client-id: racgate
    client-secret-file: ` + secret + `
    display-name: Example OP
`
	ts := newTestServer(t, y)
	c := gwClient(t, ts)
	resp, err := c.Get("http://gw.example/login")
	if page := body(t, resp, err); !strings.Contains(page, "Sign in with Example OP") {
		t.Fatalf("the login page offers no OIDC sign-in:\n%s", page)
	}
	// racgate sends the browser to the provider, which shows its login form.
	resp, err = c.Get("http://gw.example/auth/oidc/login?next=/")
	page := body(t, resp, err)
	id := resp.Request.URL.Query().Get("authRequestID")
	if !strings.HasPrefix(resp.Request.URL.String(), issuer+"/login/username") || id == "" {
		t.Fatalf("at %s, want the provider's login form:\n%s", resp.Request.URL, page)
	}
	// A callback that is not this browser's sign-in.
	resp, err = c.Get("http://gw.example/auth/oidc/callback?code=x&state=forged")
	if body(t, resp, err); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged state: %s", resp.Status)
	}
	// The flow cookie went with that refusal: start again.
	resp, err = c.Get("http://gw.example/auth/oidc/login?next=/")
	body(t, resp, err)
	id = resp.Request.URL.Query().Get("authRequestID")
	resp, err = c.PostForm(issuer+"/login/username", url.Values{"id": {id}, "username": {"test-user2"}, "password": {"verysecure"}})
	page = body(t, resp, err)
	if resp.Request.URL.String() != "http://gw.example/" || !strings.Contains(page, "Hello, test-user2") {
		t.Fatalf("after signing in: at %s\n%s", resp.Request.URL, page)
	}
	if !strings.Contains(page, "/connect/secret") {
		t.Errorf("the provider's groups (admins) do not open secret:\n%s", page)
	}
}

// oidcGateways starts n instances on one Redis (n > 1) or the memory store (n == 1), with
// OIDC sign-in at o and desk served by x; more is added to auth.oidc. Browsers reach the
// first instance as gw.example.
func oidcGateways(t *testing.T, o *peers.OIDC, n int, xAddr, more string) []*testServer {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "oidc.secret"), []byte(peers.OIDCClientSecret+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "session.key"), []byte(strings.Repeat("k", 40)), 0o600)
	y := strings.NewReplacer("https://gw.example", "http://gw.example", "host: 127.0.0.1:1\n", "host: "+xAddr+"\n",
		"maximum-connections: 1", "maximum-connections: 6").Replace(testConfig) + `session: {secret-file: ` + filepath.Join(dir, "session.key") + `}
auth:
  oidc:
    issuer: ` + o.Issuer + `
    client-id: racgate
    client-secret-file: ` + filepath.Join(dir, "oidc.secret") + `
    scopes: [openid, profile, email, offline_access]
` + more
	if n > 1 {
		r := peers.StartRedis(t)
		y += "store:\n  redis:\n    addrs: [" + r.Addr + "]\n    lease-ttl: 2s\n"
	}
	var gws []*testServer
	for i := range n {
		gws = append(gws, newTestServer(t, y+"instance: gw"+strconv.Itoa(i)+"\n"))
	}
	return gws
}

// openAs opens desk on ts with a login cookie and returns its CLOSE, when it comes.
func openAs(t *testing.T, ts *testServer, cookie string) chan wire.Close {
	t.Helper()
	conn, _, err := ts.wsDial(t, &http.Client{}, "/ws/desk?width=320&height=240", &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol}, HTTPHeader: http.Header{"Cookie": {signin.CookieName + "=" + cookie}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(wire.MaxServerMessage)
	readUntil(t, conn, wire.TypeHello, 15*time.Second)
	return drain(conn)
}

// signedOut waits for each session's CLOSE: the sign-in ended, within `within`.
func signedOut(t *testing.T, within time.Duration, what string, closes ...chan wire.Close) {
	t.Helper()
	deadline := time.After(within)
	for i, ch := range closes {
		select {
		case c, ok := <-ch:
			if !ok || !strings.Contains(c.Reason, "sign-in has ended") {
				t.Errorf("%s: session %d: CLOSE %d %q (%v)", what, i, c.Code, c.Reason, ok)
			}
		case <-deadline:
			t.Fatalf("%s: session %d still open after %v", what, i, within)
		}
	}
}

// stillOpen fails if any session has ended.
func stillOpen(t *testing.T, what string, closes ...chan wire.Close) {
	t.Helper()
	for i, ch := range closes {
		select {
		case c := <-ch:
			t.Fatalf("%s: session %d ended: %d %q", what, i, c.Code, c.Reason)
		default:
		}
	}
}

// refusedCookie checks that ts no longer takes cookie: its endpoint list sends to login.
func refusedCookie(t *testing.T, ts *testServer, cookie string) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.hs.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: signin.CookieName, Value: cookie})
	resp, err := ts.client().Do(req)
	if body(t, resp, err); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("%s with an ended login: %s %s", ts.cfg.Instance, resp.Status, resp.Header.Get("Location"))
	}
}

// TestOIDCBackChannelLogout: a logout token from the provider, posted to either of two
// instances on one Redis, ends the live VNC sessions of the sign-in it names (its sid) on
// both within a second, and leaves the user's other sign-in alone; a token naming only
// the user (sub) ends every sign-in of theirs. Tokens that are not good logout tokens
// are refused and end nothing; a token is good once.
func TestOIDCBackChannelLogout(t *testing.T) {
	peers.Require(t, "Xvnc", "redis-server")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	o := peers.StartOIDC(t, "http://gw.example/auth/oidc/callback")
	gws := oidcGateways(t, o, 2, x.Addr, "")
	o.SetSID("sess-A")
	a := signIn(t, o, gwClient(t, gws[0]))
	o.SetSID("sess-B")
	b := signIn(t, o, gwClient(t, gws[0]))
	aSessions := []chan wire.Close{openAs(t, gws[0], a), openAs(t, gws[1], a)}
	bSession := openAs(t, gws[1], b)

	post := func(ts *testServer, token string) (int, string) {
		resp, err := http.PostForm(ts.hs.URL+"/auth/oidc/backchannel-logout", url.Values{"logout_token": {token}})
		return resp.StatusCode, body(t, resp, err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	idToken := o.LogoutToken(t, o.Key, map[string]any{"events": nil, "nonce": "n-1", "sid": "sess-A"})
	for name, token := range map[string]string{
		"garbage":               "not.a.jwt",
		"another key":           o.LogoutToken(t, other, map[string]any{"sid": "sess-A"}),
		"an ID token":           idToken,
		"with a nonce":          o.LogoutToken(t, o.Key, map[string]any{"nonce": "n-2", "sid": "sess-A"}),
		"no event":              o.LogoutToken(t, o.Key, map[string]any{"events": map[string]any{"other": map[string]any{}}, "sid": "sess-A"}),
		"for another client":    o.LogoutToken(t, o.Key, map[string]any{"aud": "someone-else", "sid": "sess-A"}),
		"issued 10 minutes ago": o.LogoutToken(t, o.Key, map[string]any{"iat": time.Now().Add(-10 * time.Minute).Unix(), "exp": nil, "sid": "sess-A"}),
		"expired":               o.LogoutToken(t, o.Key, map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix(), "sid": "sess-A"}),
		"no jti":                o.LogoutToken(t, o.Key, map[string]any{"jti": nil, "sid": "sess-A"}),
		"neither sub nor sid":   o.LogoutToken(t, o.Key, map[string]any{"sub": nil}),
		"another issuer":        o.LogoutToken(t, o.Key, map[string]any{"iss": "http://evil.example", "sid": "sess-A"}),
	} {
		if st, page := post(gws[1], token); st != http.StatusBadRequest || !strings.Contains(page, "invalid_request") {
			t.Errorf("%s: %d %s", name, st, page)
		}
	}
	stillOpen(t, "after refused tokens", append(aSessions, bSession)...)

	good := o.LogoutToken(t, o.Key, map[string]any{"sid": "sess-A"})
	start := time.Now()
	if st, page := post(gws[1], good); st != http.StatusOK {
		t.Fatalf("logout token for sess-A: %d %s", st, page)
	}
	signedOut(t, time.Second, "sess-A's sessions", aSessions...)
	t.Logf("sess-A's sessions on both instances ended %v after the logout token", time.Since(start))
	time.Sleep(500 * time.Millisecond)
	stillOpen(t, "sess-B after sess-A's logout", bSession)
	refusedCookie(t, gws[0], a)
	refusedCookie(t, gws[1], a)
	if st, _ := post(gws[0], good); st != http.StatusBadRequest {
		t.Errorf("the same logout token again: %d", st)
	}

	if st, page := post(gws[0], o.LogoutToken(t, o.Key, nil)); st != http.StatusOK {
		t.Fatalf("logout token for the user: %d %s", st, page)
	}
	signedOut(t, time.Second, "the user's other sign-in", bSession)
	refusedCookie(t, gws[1], b)
}

// TestOIDCRefresh: two instances on one Redis, each with a live VNC session of one
// sign-in, refresh its tokens every second (refresh-interval) without spending a
// rotated refresh token twice; once the provider ends the user's session, the next
// refresh is refused and both sessions end.
func TestOIDCRefresh(t *testing.T) {
	peers.Require(t, "Xvnc", "redis-server")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	o := peers.StartOIDC(t, "http://gw.example/auth/oidc/callback")
	gws := oidcGateways(t, o, 2, x.Addr, "    refresh-interval: 1s\n")
	cookie := signIn(t, o, gwClient(t, gws[0]))
	sessions := []chan wire.Close{openAs(t, gws[0], cookie), openAs(t, gws[1], cookie)}
	time.Sleep(4500 * time.Millisecond) // four refresh periods
	stillOpen(t, "while the provider refreshes", sessions...)
	// Due once a second from the sign-in: 4 or 5 in 4.5 s, not once per instance.
	if n := o.Refreshes(); n < 3 || n > 5 {
		t.Fatalf("%d refreshes in 4.5 s at one a second", n)
	}
	if err := o.EndSessions(peers.OIDCSubject); err != nil {
		t.Fatal(err)
	}
	signedOut(t, 2500*time.Millisecond, "after the provider ended the session", sessions...)
	refusedCookie(t, gws[0], cookie)
	refusedCookie(t, gws[1], cookie)
}

// TestOIDCProviderLogout: logging out of racgate sends the browser to the provider's
// end_session_endpoint with the sign-in's ID token, which the endpoint list's
// Content-Security-Policy lets the log-out form go to; with provider-logout: false it
// goes to racgate's login page.
func TestOIDCProviderLogout(t *testing.T) {
	o := peers.StartOIDC(t, "http://gw.example/auth/oidc/callback")
	for _, providerLogout := range []bool{true, false} {
		t.Run("provider-logout="+strconv.FormatBool(providerLogout), func(t *testing.T) {
			ts := oidcGateways(t, o, 1, "127.0.0.1:1", "    provider-logout: "+strconv.FormatBool(providerLogout)+"\n")[0]
			c := gwClient(t, ts)
			signIn(t, o, c)
			resp, err := c.Get("http://gw.example/")
			body(t, resp, err)
			csp := resp.Header.Get("Content-Security-Policy")
			if want := "form-action 'self' " + o.Issuer + ";"; strings.Contains(csp, want) != providerLogout {
				t.Errorf("endpoint list's CSP %q; want %q in it: %v", csp, want, providerLogout)
			}
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, _ := http.NewRequest("POST", "http://gw.example/logout", nil)
			req.Header.Set("Origin", "http://gw.example")
			resp, err = c.Do(req)
			body(t, resp, err)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if !providerLogout {
				if loc.String() != "/login" {
					t.Fatalf("logout sends to %s", loc)
				}
				return
			}
			q := loc.Query()
			if !strings.HasPrefix(loc.String(), o.Issuer+"/end_session?") || q.Get("client_id") != "racgate" || q.Get("id_token_hint") == "" {
				t.Fatalf("logout sends to %s", loc)
			}
			claims := map[string]any{}
			if _, err := oidc.ParseToken(q.Get("id_token_hint"), &claims); err != nil || claims["sub"] != peers.OIDCSubject || claims["aud"] == nil {
				t.Fatalf("id_token_hint: %v %v", claims, err)
			}
			c.CheckRedirect = nil
			resp, err = c.Get(loc.String())
			if page := body(t, resp, err); resp.StatusCode >= 400 {
				t.Fatalf("the provider's end_session: %s\n%s", resp.Status, page)
			}
		})
	}
}
