package e2e

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
)

// TestBrowserAccessibility runs axe-core (WCAG 2.1 A and AA rules) in Chromium on the
// login page, the endpoint list, a desktop session with the menu closed and open, and
// the admin page: none may have a serious or critical violation.
func TestBrowserAccessibility(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := serveConfig(t, fmt.Sprintf(`
store: memory
admin-group: admins
users:
  - username: %s
    password-hash: %q
    groups: [admins]
providers:
  - name: lab
endpoints:
  - name: desk
    provider: lab
    protocol: vnc
    host: %s
  - name: shell
    provider: lab
    protocol: ssh
    host: 127.0.0.1:1
`, testUser, hash, x.Addr))
	b := startBrowser(t, base)
	b.do(map[string]any{"setViewport": map[string]any{"width": 1024, "height": 700}})
	check := func(page string) {
		t.Helper()
		res := b.do(map[string]any{"axe": true})
		vs, _ := res["violations"].([]any)
		for _, v := range vs {
			m, _ := v.(map[string]any)
			if imp := m["impact"]; imp == "serious" || imp == "critical" {
				t.Errorf("%s: %s violation %s (%s) at %v", page, imp, m["id"], m["help"], m["targets"])
			} else {
				t.Logf("%s: %s violation %s (%s) at %v", page, imp, m["id"], m["help"], m["targets"])
			}
		}
	}
	b.do(map[string]any{"goto": "/login"})
	check("login page")
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"goto": "/"})
	check("endpoint list")
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	check("desktop session")
	b.do(map[string]any{"menu": true})
	check("desktop session, menu open")
	b.do(map[string]any{"goto": "/admin"})
	check("admin page")
}
