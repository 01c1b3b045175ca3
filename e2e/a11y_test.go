package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/recording"
)

// TestBrowserAccessibility runs axe-core (WCAG 2.1 A and AA rules) in Chromium on the
// login page, the endpoint list, a desktop session with the menu closed and open, and
// the admin page, the recordings and the player: none may have a serious or critical violation.
func TestBrowserAccessibility(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeSynthetic(t, filepath.Join(dir, "short"+recording.ExtDesktop), time.Now().Add(-time.Hour), 30*time.Second)
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
    recording: {path: %s}
`, testUser, hash, x.Addr, dir))
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
	b.do(map[string]any{"goto": "/recordings"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#list tbody tr"}})
	check("recordings")
	b.do(map[string]any{"clickSelector": "#list tbody tr button"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#player[data-drawn='0']"}})
	check("recording player")
}
