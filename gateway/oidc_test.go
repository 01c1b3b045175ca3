package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// groupsStorage is zitadel's example OP storage, whose userinfo also names the user's
// groups.
type groupsStorage struct{ *storage.Storage }

func (g groupsStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := g.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	ui.AppendClaims("groups", []string{"admins", "staff"})
	return nil
}

// startOP runs zitadel's example OpenID provider (a full implementation: discovery, PKCE,
// signed ID tokens, userinfo) on loopback, with racgate registered as a web client
// whose callback is redirect. It returns the issuer.
func startOP(t *testing.T, redirect string) string {
	t.Helper()
	ps := httptest.NewUnstartedServer(nil)
	ps.Start()
	t.Cleanup(ps.Close)
	storage.RegisterClients(storage.WebClient("racgate", "racgate-client-secret", redirect))
	st := groupsStorage{storage.NewStorage(storage.NewUserStore(ps.URL))}
	ps.Config.Handler = exampleop.SetupServer(ps.URL, st, nil, false, op.WithAllowInsecure())
	return ps.URL
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
	issuer := startOP(t, "http://gw.example/auth/oidc/callback")
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
