package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
)

// TestBrowserShare: the owner of a desktop creates share links from the in-session menu;
// bob opens the view link and his canvas equals the X screen, the owner's menu says who
// watches, carol's control link lets her type into the remote's xterm, and the owner's
// Revoke ends bob's view at once with the reason on his page.
func TestBrowserShare(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xterm", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "800x600"})
	x.Run(t, "xsetroot", "-solid", "#446688")
	x.Start(t, "xterm", "-geometry", "70x20+20+20", "-fa", "", "-bg", "white", "-fg", "black")
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var users strings.Builder
	for _, u := range []string{testUser, "bob", "carol"} {
		fmt.Fprintf(&users, "  - username: %s\n    password-hash: %q\n", u, hash)
	}
	base := serveConfig(t, fmt.Sprintf(`
store: memory
users:
%sproviders:
  - name: test
endpoints:
  - name: desk
    provider: test
    protocol: vnc
    host: %s
    settings: {quality: lossless}
`, users.String(), x.Addr))

	owner := openDesk(t, base, 800, 600, 15*time.Second)
	owner.do(map[string]any{"menu": true})
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share:not([hidden])"}})
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-watchers", "text": "Nobody is watching."}})

	// shareLink creates a link of mode ("0" view, "1" control) and returns its path.
	shareLink := func(mode string, n int) string {
		t.Helper()
		owner.do(map[string]any{"selectOption": map[string]any{"selector": "#share-mode", "value": mode}})
		owner.do(map[string]any{"clickSelector": "#share-create"})
		sel := fmt.Sprintf("#share-links li:nth-child(%d) input", n)
		owner.do(map[string]any{"waitFor": map[string]any{"selector": sel}})
		v, _ := owner.do(map[string]any{"value": sel})["value"].(string)
		u, err := url.Parse(v)
		if err != nil || !strings.HasPrefix(v, base+"/share/") {
			t.Fatalf("share link %q", v)
		}
		return u.Path
	}
	watch := func(user, path string) *browser {
		t.Helper()
		b := startBrowser(t, base)
		b.do(map[string]any{"setViewport": map[string]any{"width": 800 + menuHandle, "height": 600}})
		b.do(map[string]any{"login": map[string]any{"username": user, "password": testPassword}})
		b.do(map[string]any{"goto": path})
		b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
		return b
	}

	viewPath := shareLink("0", 1)
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-links li:nth-child(1) .share-label", "text": "View only, expires in 60 min"}})
	bob := watch("bob", viewPath)
	waitCanvasEquals(t, bob, x, "bob's view")
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-watchers", "text": "Watching: bob (view only)."}})

	ctlPath := shareLink("1", 2)
	carol := watch("carol", ctlPath)
	typeInXterm(t, carol, x, "echo carol-was-here")
	waitCanvasEquals(t, bob, x, "bob's view after carol typed")
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-watchers", "text": "Watching: bob (view only), carol (control)."}})

	owner.do(map[string]any{"clickSelector": "#share-links li:nth-child(1) [data-revoke]"})
	start := time.Now()
	bob.do(map[string]any{"waitState": "closed", "timeoutMs": 5000})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("bob's view ended %v after the revoke", d)
	}
	if text, _ := bob.do(map[string]any{"statusText": true})["text"].(string); !strings.Contains(text, "revoked") {
		t.Fatalf("bob's page says %q", text)
	}
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-watchers", "text": "Watching: carol (control)."}})
	if n, _ := owner.do(map[string]any{"visible": "#share-links li"})["count"].(float64); n != 1 {
		t.Fatalf("%v links after the revoke, want 1", n)
	}
}
