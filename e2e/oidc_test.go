package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/racgate/racgate/internal/peers"
)

// TestBrowserOIDC: in Chromium, the login page's single sign-on button leads to the
// provider (zitadel's example OP); signing in there comes back to racgate's endpoint
// list as the provider's user, showing what the provider's groups open, and the desktop
// opens. Log out then leaves racgate for the provider's end_session_endpoint (so the
// page's Content-Security-Policy lets the form's redirect go there), and racgate asks
// for a sign-in again.
func TestBrowserOIDC(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	x.Run(t, "xsetroot", "-solid", "#6f2a5b")
	secret := filepath.Join(t.TempDir(), "oidc.secret")
	if err := os.WriteFile(secret, []byte(peers.OIDCClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	var o *peers.OIDC
	base := serveConfigAt(t, func(base string) string {
		o = peers.StartOIDC(t, base+"/auth/oidc/callback")
		return fmt.Sprintf(`
public-url: %s
store: memory
auth:
  oidc:
    issuer: %s
    client-id: %s
    client-secret-file: %s
    display-name: Example OP
providers:
  - name: test
endpoints:
  - name: desk
    provider: test
    protocol: vnc
    host: %s
    groups: [staff]
  - name: ops-only
    provider: test
    protocol: vnc
    host: 127.0.0.1:1
    groups: [ops]
`, base, o.Issuer, peers.OIDCClientID, secret, x.Addr)
	})
	b := startBrowser(t, base)
	b.do(map[string]any{"setViewport": map[string]any{"width": 640, "height": 480}})
	b.do(map[string]any{"goto": "/"})
	if res := b.do(map[string]any{"text": "#oidc"}); res["text"] != "Sign in with Example OP" {
		t.Fatalf("login page's sign-on link: %q", res["text"])
	}
	res := b.do(map[string]any{"clickAndWait": "#oidc"})
	if u, _ := res["url"].(string); !strings.HasPrefix(u, o.Issuer+"/login/username") {
		t.Fatalf("the sign-on link led to %s, not the provider's login form", u)
	}
	b.do(map[string]any{"fill": map[string]any{"selector": "#username", "value": peers.OIDCUser}})
	b.do(map[string]any{"fill": map[string]any{"selector": "#password", "value": peers.OIDCPassword}})
	res = b.do(map[string]any{"clickAndWait": `button[type="submit"]`})
	if u, _ := res["url"].(string); u != base+"/" {
		t.Fatalf("after signing in at the provider: at %s, want racgate's endpoint list", u)
	}
	if txt := b.do(map[string]any{"text": "h1"})["text"]; txt != "Hello, "+peers.OIDCUser {
		t.Fatalf("endpoint list heading %q", txt)
	}
	for name, want := range map[string]bool{"desk": true, "ops-only": false} {
		if got := b.do(map[string]any{"text": fmt.Sprintf(`a[data-endpoint=%q]`, name)})["text"] != ""; got != want {
			t.Errorf("%s listed: %v, want %v (the provider's groups: admins, staff)", name, got, want)
		}
	}
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	waitCanvasEquals(t, b, x, "the desktop after an OIDC sign-in")

	b.do(map[string]any{"goto": "/"})
	res = b.do(map[string]any{"clickAndWait": `form[action="/logout"] button`})
	if u, _ := res["url"].(string); !strings.HasPrefix(u, o.Issuer+"/") {
		t.Fatalf("log out ended at %s, not at the provider", u)
	}
	res = b.do(map[string]any{"goto": "/"})
	if u, _ := res["url"].(string); u != base+"/login" {
		t.Fatalf("after log out, racgate's endpoint list went to %s, want its login page", u)
	}
}
