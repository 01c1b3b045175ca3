package gateway

import (
	"bytes"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// shareConfig is testConfig with desk at addr open to admins and staff, bob and carol on
// the staff, dave on nothing, ann an administrator, and the lab provider's sharing.
func shareConfig(addr, sharing string) string {
	return strings.NewReplacer("https://gw.example", "http://gw.example",
		"users:\n", "admin-group: admins\nusers:\n  - username: carol\n    password-hash: \""+testHash+"\"\n    groups: [staff]\n"+
			"  - username: dave\n    password-hash: \""+testHash+"\"\n  - username: ann\n    password-hash: \""+testHash+"\"\n    groups: [admins]\n",
		"  - username: bob\n    password-hash: \""+testHash+"\"\n", "  - username: bob\n    password-hash: \""+testHash+"\"\n    groups: [staff]\n",
		"  - name: lab\n", "  - name: lab\n"+sharing,
		"host: 127.0.0.1:1\n", "host: "+addr+"\n    groups: [admins, staff]\n").Replace(testConfig)
}

// lastShares is the owner's last SHARES once cond holds for it.
func lastShares(b *browser, what string, cond func(wire.Shares) bool) wire.Shares {
	b.t.Helper()
	var got wire.Shares
	b.wait(what, 10*time.Second, func(b *browser) bool {
		if len(b.shares) == 0 {
			return false
		}
		got = b.shares[len(b.shares)-1]
		return cond(got)
	})
	return got
}

func hasNotice(b *browser, text string) func(*browser) bool {
	return func(b *browser) bool {
		for _, n := range b.notices {
			if n.Text == text {
				return true
			}
		}
		return false
	}
}

func closedWith(code wire.CloseCode, reason string) func(*browser) bool {
	return func(b *browser) bool {
		return b.closed != nil && b.closed.Code == code && strings.Contains(b.closed.Reason, reason)
	}
}

// TestShareLinks: a desktop's owner shares it by link with a view and with control; the
// watchers see what Xvnc shows, a view-only watcher's pointer never reaches Xvnc and a
// controlling one's does; the owner is told who watches; someone the endpoint is not open
// to is refused; revoking ends its watcher at once and the link refuses from then on, as
// an expired one does; the owner's end ends every watcher. Watchers take no connection
// slot: desk allows one connection.
func TestShareLinks(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot", "xdotool")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	ts := newTestServer(t, shareConfig(x.Addr, "    sharing: {max-expiry: 2h}\n"))

	owner := openBrowser(t, ts, "demo", "/ws/desk")
	owner.wait("first frame", 15*time.Second, func(b *browser) bool { return b.hello != nil && b.frames > 0 })
	if owner.hello.Flags&wire.FlagShare == 0 {
		t.Fatalf("owner's HELLO flags %#x lack FLAG_SHARE", owner.hello.Flags)
	}

	// A view link with the default lifetime (an hour).
	owner.send(wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView})
	sh := lastShares(owner, "a view link", func(s wire.Shares) bool { return len(s.Links) == 1 })
	view := sh.Links[0]
	if view.Mode != wire.ShareView || view.ExpiresIn < 3590 || view.ExpiresIn > 3600 || !strings.HasPrefix(view.URL, "http://gw.example/share/") {
		t.Fatalf("link %+v", view)
	}
	viewToken := path.Base(view.URL)

	// Someone desk is not open to is refused, the page and the websocket alike.
	dave := openBrowser(t, ts, "dave", "/ws/share/"+viewToken)
	dave.wait("dave refused", 5*time.Second, closedWith(wire.CloseForbidden, "not open to you"))
	if resp, _ := get(t, ts.loggedIn(t, "dave"), ts.hs.URL+"/share/"+viewToken); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dave's share page: %s", resp.Status)
	}
	if resp, _ := get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/share/"+viewToken); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's share page: %s", resp.Status)
	}

	bob := openBrowser(t, ts, "bob", "/ws/share/"+viewToken)
	bob.wait("bob's first frame", 15*time.Second, func(b *browser) bool { return b.hello != nil && b.frames > 0 })
	if f := bob.hello.Flags; f&(wire.FlagResize|wire.FlagPaste|wire.FlagCopy|wire.FlagShare) != 0 || f&wire.FlagViewOnly == 0 {
		t.Fatalf("a view-only watcher's HELLO flags %#x", f)
	}
	x.Run(t, "xsetroot", "-solid", "#305080")
	matchScreen(t, bob, x)
	owner.wait("the owner told of bob", 5*time.Second, hasNotice(owner, "bob is watching this session (view only)."))
	sh = lastShares(owner, "bob among the watchers", func(s wire.Shares) bool { return len(s.Watchers) == 1 })
	if w := sh.Watchers[0]; w != (wire.Watcher{Link: view.ID, Mode: wire.ShareView, Name: "bob"}) {
		t.Fatalf("watcher %+v", w)
	}
	// bob's pointer does not move Xvnc's.
	bob.send(wire.Pointer{X: 50, Y: 60})
	time.Sleep(500 * time.Millisecond)
	if out := string(x.Run(t, "xdotool", "getmouselocation")); strings.HasPrefix(out, "x:50 y:60 ") {
		t.Fatalf("a view-only watcher moved the pointer: %s", out)
	}

	// A control link asked for ten hours gets the provider's two.
	owner.send(wire.Share{Op: wire.ShareCreate, Mode: wire.ShareControl, Value: 36000})
	sh = lastShares(owner, "a control link", func(s wire.Shares) bool { return len(s.Links) == 2 })
	ctl := sh.Links[1]
	if ctl.Mode != wire.ShareControl || ctl.ExpiresIn < 7190 || ctl.ExpiresIn > 7200 || ctl.ID == view.ID {
		t.Fatalf("control link %+v", ctl)
	}
	carol := openBrowser(t, ts, "carol", "/ws/share/"+path.Base(ctl.URL))
	carol.wait("carol's first frame", 15*time.Second, func(b *browser) bool { return b.hello != nil && b.frames > 0 })
	if f := carol.hello.Flags; f&(wire.FlagPaste|wire.FlagCopy) != wire.FlagPaste|wire.FlagCopy || f&(wire.FlagResize|wire.FlagShare|wire.FlagViewOnly) != 0 {
		t.Fatalf("a controlling watcher's HELLO flags %#x", f)
	}
	carol.send(wire.Pointer{X: 123, Y: 77})
	x.WaitPointer(t, 123, 77, 5*time.Second)
	owner.wait("the owner told of carol", 5*time.Second, hasNotice(owner, "carol is watching this session (with control)."))
	if _, body := ts.scrape(t); metricValue(t, body, "racgate_watchers") != 2 || metricValue(t, body, "racgate_sessions_active") != 1 {
		t.Fatalf("metrics with two watchers of one session:\n%s", body)
	}

	// A watcher's SHARE is ignored: only the owner shares.
	carol.send(wire.Share{Op: wire.ShareRevoke, Value: ctl.ID})

	// Revoking the view link ends bob's view at once; carol watches on.
	owner.send(wire.Share{Op: wire.ShareRevoke, Value: view.ID})
	start := time.Now()
	bob.wait("bob's view revoked", 5*time.Second, closedWith(wire.CloseForbidden, "revoked"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("revoking took %v", d)
	}
	sh = lastShares(owner, "bob gone", func(s wire.Shares) bool { return len(s.Watchers) == 1 && len(s.Links) == 1 })
	if sh.Links[0].ID != ctl.ID || sh.Watchers[0].Name != "carol" {
		t.Fatalf("after revoking: %+v", sh)
	}
	again := openBrowser(t, ts, "bob", "/ws/share/"+viewToken)
	again.wait("a revoked link refused", 5*time.Second, closedWith(wire.CloseForbidden, "not valid any more"))

	// A link of two seconds: its watcher is ended when it expires, and it refuses then.
	owner.send(wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView, Value: 2})
	sh = lastShares(owner, "a short link", func(s wire.Shares) bool { return len(s.Links) == 2 })
	short := path.Base(sh.Links[1].URL)
	brief := openBrowser(t, ts, "bob", "/ws/share/"+short)
	brief.wait("a frame by the short link", 10*time.Second, func(b *browser) bool { return b.frames > 0 })
	brief.wait("the short link's end", 5*time.Second, closedWith(wire.CloseForbidden, "expired"))
	late := openBrowser(t, ts, "bob", "/ws/share/"+short)
	late.wait("an expired link refused", 5*time.Second, closedWith(wire.CloseForbidden, "expired"))
	lastShares(owner, "the short link gone", func(s wire.Shares) bool { return len(s.Links) == 1 })

	// The owner leaves: carol's view ends with it.
	owner.conn.Close(1000, "")
	carol.wait("carol's view ended", 5*time.Second, closedWith(wire.CloseRemoteEnded, "you were watching has ended"))
	waitFor(t, "every session to end", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.sessions) == 0 })
	gone := openBrowser(t, ts, "carol", "/ws/share/"+path.Base(ctl.URL))
	gone.wait("the ended session's link refused", 5*time.Second, closedWith(wire.CloseForbidden, "not valid any more"))
}

// connID is the connection ID of user's session on ts.
func connID(t *testing.T, ts *testServer, user string) string {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for ss := range ts.sessions {
		if ss.user == user && ss.host == nil {
			return ss.lease.Conn().ID
		}
	}
	t.Fatalf("no session of %s", user)
	return ""
}

// TestAdminWatch: an administrator watches any session from /admin, view-only; others
// may not; the owner is told where the provider announces it, and not where it does not;
// the watcher who stops being an administrator (a reload) stops watching.
func TestAdminWatch(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot", "xdotool")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	for _, announce := range []bool{true, false} {
		t.Run(map[bool]string{true: "announced", false: "silent"}[announce], func(t *testing.T) {
			y := shareConfig(x.Addr, "")
			if !announce {
				y = shareConfig(x.Addr, "    sharing: {announce: false}\n")
			}
			ts := newTestServer(t, y)
			owner := openBrowser(t, ts, "demo", "/ws/desk")
			owner.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
			id := connID(t, ts, "demo")

			if _, body := get(t, ts.loggedIn(t, "ann"), ts.hs.URL+"/admin"); !strings.Contains(body, `href="/watch/`+id+`"`) {
				t.Fatalf("the admin page has no Watch link for %s:\n%s", id, body)
			}
			if resp, _ := get(t, ts.loggedIn(t, "ann"), ts.hs.URL+"/watch/"+id); resp.StatusCode != http.StatusOK {
				t.Fatalf("ann's watch page: %s", resp.Status)
			}
			if resp, _ := get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/watch/"+id); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("bob's watch page: %s", resp.Status)
			}
			bob := openBrowser(t, ts, "bob", "/ws/watch/"+id)
			bob.wait("bob refused", 5*time.Second, closedWith(wire.CloseForbidden, "Only administrators"))

			ann := openBrowser(t, ts, "ann", "/ws/watch/"+id)
			ann.wait("ann's first frame", 15*time.Second, func(b *browser) bool { return b.hello != nil && b.frames > 0 })
			if f := ann.hello.Flags; f&(wire.FlagResize|wire.FlagPaste|wire.FlagCopy|wire.FlagShare) != 0 {
				t.Fatalf("an administrator watching: HELLO flags %#x", f)
			}
			x.Run(t, "xsetroot", "-solid", map[bool]string{true: "#804020", false: "#208040"}[announce])
			matchScreen(t, ann, x)
			ann.send(wire.Pointer{X: 31, Y: 41})
			time.Sleep(300 * time.Millisecond)
			if out := string(x.Run(t, "xdotool", "getmouselocation")); strings.HasPrefix(out, "x:31 y:41 ") {
				t.Fatalf("an administrator watching moved the pointer: %s", out)
			}
			const told = "ann is watching this session (view only)."
			if announce {
				owner.wait("the owner told", 5*time.Second, hasNotice(owner, told))
				sh := lastShares(owner, "ann among the watchers", func(s wire.Shares) bool { return len(s.Watchers) == 1 })
				if w := sh.Watchers[0]; w != (wire.Watcher{Link: 0, Mode: wire.ShareView, Name: "ann"}) {
					t.Fatalf("watcher %+v", w)
				}
			} else {
				time.Sleep(time.Second)
				owner.mu.Lock()
				told := hasNotice(owner, told)(owner) || len(owner.shares) > 0
				owner.mu.Unlock()
				if told {
					t.Fatalf("the owner was told: notices %+v, shares %+v", owner.notices, owner.shares)
				}
			}

			// ann is no administrator after a reload: her watching ends; the owner's session goes on.
			annAdmin := "username: ann\n    password-hash: \"" + testHash + "\"\n    groups: [admins]\n"
			if !strings.Contains(y, annAdmin) {
				t.Fatal("the config changed shape: ann's groups not found")
			}
			cfg, err := ParseConfig("test.yaml", []byte(strings.Replace(y, annAdmin, "username: ann\n    password-hash: \""+testHash+"\"\n", 1)))
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.Reload(cfg); err != nil {
				t.Fatal(err)
			}
			ann.wait("ann's watching ended", 5*time.Second, closedWith(wire.CloseForbidden, "no longer an administrator"))
			time.Sleep(200 * time.Millisecond)
			owner.mu.Lock()
			ownerClosed := owner.closed
			owner.mu.Unlock()
			if ownerClosed != nil {
				t.Fatalf("the owner's session ended too: %+v", ownerClosed)
			}
		})
	}
}

// TestShareRefusals: a provider without sharing sends no FLAG_SHARE and answers SHARE
// with a notice; one without control links refuses them and gives view links; a session
// has at most 16 live links.
func TestShareRefusals(t *testing.T) {
	for _, tc := range []struct {
		sharing string
		flag    bool
	}{{"    sharing: {enabled: false}\n", false}, {"    sharing: {allow-control: false}\n", true}} {
		ts := newTestServer(t, strings.NewReplacer("https://", "http://", "  - name: lab\n", "  - name: lab\n"+tc.sharing).Replace(testConfig))
		remotes := ts.useFake(nil)
		conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		<-remotes
		h := readUntil(t, conn, wire.TypeHello, 5*time.Second)[0].(wire.Hello)
		if got := h.Flags&wire.FlagShare != 0; got != tc.flag {
			t.Fatalf("%q: HELLO flags %#x", tc.sharing, h.Flags)
		}
		if !tc.flag {
			send(t, conn, wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView})
			ms := readUntil(t, conn, wire.TypeNotice, 5*time.Second)
			if n := ms[len(ms)-1].(wire.Notice); n.Text != "Sharing is turned off for this endpoint." {
				t.Fatalf("notice %q", n.Text)
			}
			for _, m := range ms {
				if m.Type() == wire.TypeShares {
					t.Fatalf("SHARES with sharing off: %+v", m)
				}
			}
			continue
		}
		send(t, conn, wire.Share{Op: wire.ShareCreate, Mode: wire.ShareControl})
		ms := readUntil(t, conn, wire.TypeNotice, 5*time.Second)
		if n := ms[len(ms)-1].(wire.Notice); !strings.Contains(n.Text, "control are not allowed") {
			t.Fatalf("notice %q", n.Text)
		}
		for i := range 16 {
			send(t, conn, wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView})
			ms := readUntil(t, conn, wire.TypeShares, 5*time.Second)
			if s := ms[len(ms)-1].(wire.Shares); len(s.Links) != i+1 || s.Links[i].Mode != wire.ShareView {
				t.Fatalf("link %d: %+v", i+1, s)
			}
		}
		send(t, conn, wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView})
		ms = readUntil(t, conn, wire.TypeNotice, 5*time.Second)
		if n := ms[len(ms)-1].(wire.Notice); !strings.Contains(n.Text, "as many share links") {
			t.Fatalf("the 17th link: notice %q", n.Text)
		}
	}
}

// TestWatchTerminal: an SSH session is watched by link and by an administrator: a
// watcher's terminal takes the owner's size (TERMINAL_SIZE, again when the owner
// resizes), replays the output before it joined and gets the output after; a view-only
// watcher's typing never reaches the shell, a controlling one's does; the owner's end
// ends them.
func TestWatchTerminal(t *testing.T) {
	d := peers.StartSSHD(t)
	y := strings.Replace(sshConfigYAML(d.Addr, []string{"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(d.HostKey)}),
		"users:\n", "admin-group: admins\nusers:\n  - username: bob\n    password-hash: \""+testHash+"\"\n"+
			"  - username: carol\n    password-hash: \""+testHash+"\"\n  - username: ann\n    password-hash: \""+testHash+"\"\n    groups: [admins]\n", 1)
	ts := newTestServer(t, y)
	owner := dialTerm(t, ts, "?cols=91&rows=27").start()
	owner.wait("HELLO", 15*time.Second, func(c *termClient) bool { return c.hello != nil })
	if owner.hello.Flags&wire.FlagShare == 0 {
		t.Fatalf("owner's HELLO flags %#x", owner.hello.Flags)
	}
	owner.send(typeLine("echo before-$((6*7))"))
	owner.waitOutput("before-42")

	owner.send(wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView})
	owner.wait("a view link", 5*time.Second, func(c *termClient) bool { return len(c.shares) > 0 && len(c.shares[len(c.shares)-1].Links) == 1 })
	viewLink := owner.shares[len(owner.shares)-1].Links[0]
	bob := dialTermAs(t, ts, "bob", "/ws/share/"+path.Base(viewLink.URL)).start()
	bob.wait("the replay", 10*time.Second, func(c *termClient) bool {
		return c.hello != nil && len(c.termSizes) > 0 && strings.Contains(c.out.String(), "before-42")
	})
	if h := bob.hello; h.Kind != wire.KindTerminal || h.Flags&(wire.FlagViewOnly|wire.FlagResize|wire.FlagPaste|wire.FlagShare) != wire.FlagViewOnly {
		t.Fatalf("a view-only watcher's HELLO %+v", *h)
	}
	if s := bob.termSizes[0]; s != (wire.TerminalSize{Cols: 91, Rows: 27}) {
		t.Fatalf("TERMINAL_SIZE %+v, want the owner's 91x27", s)
	}
	owner.wait("the owner told", 5*time.Second, func(c *termClient) bool {
		return slices.ContainsFunc(c.notices, func(n wire.Notice) bool { return n.Text == "bob is watching this session (view only)." })
	})

	// Live output reaches bob; bob's typing reaches nothing.
	bob.send(typeLine("echo bob-typed-$((1+1))"))
	owner.send(typeLine("echo live-$((5*5))"))
	bob.waitOutput("live-25")
	owner.waitOutput("live-25")
	time.Sleep(300 * time.Millisecond)
	owner.mu.Lock()
	leaked := strings.Contains(owner.out.String(), "bob-typed")
	owner.mu.Unlock()
	if leaked {
		t.Fatal("a view-only watcher's typing reached the shell")
	}

	// A controlling watcher types into the shell; everyone sees it.
	owner.send(wire.Share{Op: wire.ShareCreate, Mode: wire.ShareControl})
	owner.wait("a control link", 5*time.Second, func(c *termClient) bool { return len(c.shares) > 0 && len(c.shares[len(c.shares)-1].Links) == 2 })
	ctl := owner.shares[len(owner.shares)-1].Links[1]
	carol := dialTermAs(t, ts, "carol", "/ws/share/"+path.Base(ctl.URL)).start()
	carol.wait("carol's HELLO", 10*time.Second, func(c *termClient) bool { return c.hello != nil })
	if f := carol.hello.Flags; f&wire.FlagViewOnly != 0 || f&wire.FlagPaste == 0 {
		t.Fatalf("a controlling watcher's HELLO flags %#x", f)
	}
	carol.send(typeLine("echo carol-$((2*3))"))
	owner.waitOutput("carol-6")
	bob.waitOutput("carol-6")

	// An administrator watches too, from the start of a line of the recent output.
	ann := dialTermAs(t, ts, "ann", "/ws/watch/"+connID(t, ts, "demo")).start()
	ann.wait("ann's replay", 10*time.Second, func(c *termClient) bool { return strings.Contains(c.out.String(), "carol-6") })

	// The owner resizes: the watchers follow.
	owner.send(wire.TerminalResize{Cols: 100, Rows: 30})
	for _, w := range []*termClient{bob, carol, ann} {
		w.wait("the new size", 5*time.Second, func(c *termClient) bool {
			return len(c.termSizes) > 0 && c.termSizes[len(c.termSizes)-1] == (wire.TerminalSize{Cols: 100, Rows: 30})
		})
	}

	// The shell ends: so does every watcher's view.
	owner.send(typeLine("exit"))
	for _, w := range []*termClient{bob, carol, ann} {
		if c := w.waitClose(10 * time.Second); c.Code != wire.CloseRemoteEnded || !strings.Contains(c.Reason, "you were watching has ended") {
			t.Fatalf("a watcher's CLOSE %+v", c)
		}
	}
}

// TestOutPipe: a watcher's pipe hands on what was written in order, refuses to hold more
// than maxPipe, and ends its reader with the error it was closed with.
func TestOutPipe(t *testing.T) {
	p := &outPipe{buf: []byte("replay\n"), ready: make(chan struct{}, 1)}
	got := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 5)
		for {
			n, err := p.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				got <- b.String() + "|" + err.Error()
				return
			}
		}
	}()
	for _, s := range []string{"one ", "two ", "three"} {
		if !p.write([]byte(s)) {
			t.Fatalf("write %q refused", s)
		}
	}
	p.close(errWatcherSlow)
	if s := <-got; s != "replay\none two three|"+errWatcherSlow.Error() {
		t.Fatalf("read %q", s)
	}
	q := &outPipe{ready: make(chan struct{}, 1)}
	if !q.write(make([]byte, maxPipe)) || q.write([]byte{1}) {
		t.Fatal("a pipe held more than maxPipe")
	}
	if r := replayFrom([]byte("all of it")); string(r) != "all of it" {
		t.Fatalf("replay of a short output %q", r)
	}
	// More than maxReplay: the last maxReplay bytes from the first line that starts in them.
	long := slices.Concat(bytes.Repeat([]byte("a"), 100), []byte("\n"), bytes.Repeat([]byte("b"), 20), []byte("\n"), bytes.Repeat([]byte("c"), maxReplay-10))
	if r := replayFrom(long); len(r) != maxReplay-10 || r[0] != 'c' {
		t.Fatalf("replay of %d bytes: %d bytes from %q", len(long), len(r), r[:1])
	}
}

// TestWatcherInputKeepsOwnerActive: a controlling watcher's input reaches the owner's
// remote and counts as the owner's input for idle-timeout, over three periods; once the
// watcher stops, the owner's session times out.
func TestWatcherInputKeepsOwnerActive(t *testing.T) {
	const idle = 2 * time.Second
	ts := newTestServer(t, strings.NewReplacer("https://", "http://", "  - name: lab\n", "  - name: lab\n    idle-timeout: "+idle.String()+"\n").Replace(testConfig))
	remotes := ts.useFake(nil)
	owner, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.CloseNow()
	f := <-remotes
	readUntil(t, owner, wire.TypeHello, 5*time.Second)
	send(t, owner, wire.Share{Op: wire.ShareCreate, Mode: wire.ShareControl})
	ms := readUntil(t, owner, wire.TypeShares, 5*time.Second)
	link := ms[len(ms)-1].(wire.Shares).Links[0]
	ownerClosed := drain(owner)

	bob, _, err := ts.wsDial(t, ts.loggedIn(t, "bob"), "/ws/share/"+path.Base(link.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.CloseNow()
	readUntil(t, bob, wire.TypeHello, 5*time.Second)
	go drain(bob)
	for i := range int(3 * idle / (300 * time.Millisecond)) {
		send(t, bob, wire.Pointer{X: i, Y: 7})
		select {
		case c := <-ownerClosed:
			t.Fatalf("the owner's session ended while a watcher typed: %+v", c)
		case <-time.After(300 * time.Millisecond):
		}
	}
	if !slices.Contains(f.Events(), "ptr 0 3,7") {
		t.Fatalf("the watcher's pointer did not reach the remote: %q", f.Events())
	}
	select {
	case c := <-ownerClosed:
		if c.Code != wire.CloseTimeout {
			t.Fatalf("the owner's CLOSE %+v, want idle-timeout", c)
		}
	case <-time.After(2 * idle):
		t.Fatal("the owner's session outlived its idle-timeout once the watcher stopped")
	}
}
