package e2e

import (
	"fmt"
	"net/url"
	"regexp"
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
		b := loggedIn(t, base, user, 800+menuHandle, 600)
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

// TestSSHBrowserWatch: bob watches alice's shell by a view link in a smaller window: his
// terminal takes alice's size, shows what was there before he came and what she types
// after, and his own typing reaches nothing.
func TestSSHBrowserWatch(t *testing.T) {
	d := peers.StartSSHD(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := serveConfig(t, fmt.Sprintf(`
store: memory
users:
  - username: %s
    password-hash: %q
  - username: bob
    password-hash: %q
providers:
  - name: test
endpoints:
  - name: shell
    provider: test
    protocol: ssh
    host: %s
    settings: {username: %q, password: %q, host-key: %q}
`, testUser, hash, hash, d.Addr, d.User, d.Password, d.HostKey))

	owner := loggedIn(t, base, testUser, 900, 600)
	owner.do(map[string]any{"open": "shell"})
	owner.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	owner.do(map[string]any{"terminalType": "echo before-$((6*7))\n"})
	waitTerminal(t, owner, regexp.MustCompile(`(?m)^before-42$`))

	owner.do(map[string]any{"menu": true})
	owner.do(map[string]any{"clickSelector": "#share-create"})
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-links li input"}})
	link, _ := owner.do(map[string]any{"value": "#share-links li input"})["value"].(string)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	owner.do(map[string]any{"menu": false})

	bob := loggedIn(t, base, "bob", 640, 400)
	bob.do(map[string]any{"goto": u.Path})
	bob.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	waitTerminal(t, bob, regexp.MustCompile(`(?m)^before-42$`))
	size := func(b *browser) (int, int) {
		res := b.do(map[string]any{"terminalText": true})
		r, _ := res["rows"].(float64)
		c, _ := res["cols"].(float64)
		return int(r), int(c)
	}
	or, oc := size(owner)
	if br, bc := size(bob); br != or || bc != oc {
		t.Fatalf("bob's terminal is %dx%d, alice's %dx%d", bc, br, oc, or)
	}
	owner.do(map[string]any{"waitFor": map[string]any{"selector": "#share-watchers", "text": "Watching: bob (view only)."}})

	bob.do(map[string]any{"terminalType": "echo nope-$((1+1))\n"})
	owner.do(map[string]any{"terminalType": "echo after-$((7*7))\n"})
	waitTerminal(t, bob, regexp.MustCompile(`(?m)^after-49$`))
	time.Sleep(300 * time.Millisecond)
	if text, _ := owner.do(map[string]any{"terminalText": true})["text"].(string); strings.Contains(text, "nope") {
		t.Fatalf("a view-only watcher typed into the shell:\n%s", text)
	}
}
