package gateway

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// forwardConfig is testConfig behind a proxy at 127.0.0.1 (where the tests' requests
// come from) that signs users in and names them in authentik's headers.
func forwardConfig(extra string) string {
	return testConfig + `auth:
  forward-auth:
    trusted-proxies: [127.0.0.1/32, "::1"]
    sign-out-url: https://auth.example/outpost.goauthentik.io/sign_out
` + extra
}

// proxied is a request as the proxy passes it on for user in groups.
func proxied(t *testing.T, ts *testServer, method, path, user, groups string, more http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, ts.hs.URL+path, nil)
	if user != "" {
		req.Header.Set("X-authentik-username", user)
		req.Header.Set("X-authentik-groups", groups)
	}
	req.Header.Set("Origin", "https://gw.example")
	for k, vs := range more {
		req.Header[k] = vs
	}
	resp, err := ts.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp
}

// TestForwardAuthIdentity: the user a trusted proxy names is signed in, with the groups
// it names deciding what they may open; the same headers from any other address are
// ignored; built-in sign-in can be turned off; signing out ends that proxy session here
// and sends the browser to the proxy's sign-out.
func TestForwardAuthIdentity(t *testing.T) {
	ts := newTestServer(t, forwardConfig("  builtin: false\n"))
	page := func(user, groups string, more http.Header) (int, string) {
		t.Helper()
		h := http.Header{}
		if user != "" {
			h.Set("X-authentik-username", user)
			h.Set("X-authentik-groups", groups)
		}
		for k, vs := range more {
			h[k] = vs
		}
		return proxied(t, ts, "GET", "/", "", "", h).StatusCode, readBody(t, ts, "/", h)
	}
	code, body := page("alice", "staff|admins", nil)
	if code != http.StatusOK || !strings.Contains(body, "alice") || !strings.Contains(body, "/connect/secret") || !strings.Contains(body, "/connect/desk") {
		t.Fatalf("alice in admins: %d, endpoints secret and desk expected:\n%s", code, body)
	}
	code, body = page("carol", "staff", nil)
	if code != http.StatusOK || strings.Contains(body, "/connect/secret") || !strings.Contains(body, "/connect/desk") {
		t.Fatalf("carol, not in admins: %d, desk only expected:\n%s", code, body)
	}
	for name, h := range map[string]http.Header{
		"another address": {testRemoteHeader: {"203.0.113.9:4000"}},
		"twice":           {"X-Authentik-Username": {"alice", "mallory"}},
	} {
		if code, _ := page("alice", "admins", h); code != http.StatusSeeOther {
			t.Errorf("%s: %d, want a redirect to sign in", name, code)
		}
	}
	if code, _ := page("", "", nil); code != http.StatusSeeOther {
		t.Errorf("no headers: %d, want a redirect to sign in", code)
	}
	// builtin: false
	if resp := proxied(t, ts, "GET", "/login", "", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login form with builtin off: %s", resp.Status)
	}
	if resp := ts.login(t, ts.client(), "demo", "demo"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("built-in login with builtin off: %s", resp.Status)
	}
	// Sign-out: to the proxy's sign-out; that proxy session is refused from now on, and
	// another (other cookies) is not.
	ck := http.Header{"Cookie": {"authentik_proxy_1=abc"}}
	resp := proxied(t, ts, "POST", "/logout", "alice", "admins", ck)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "https://auth.example/outpost.goauthentik.io/sign_out" {
		t.Fatalf("logout: %s to %q", resp.Status, loc)
	}
	if code, _ := page("alice", "admins", ck); code != http.StatusSeeOther {
		t.Errorf("the signed-out proxy session: %d, want refused", code)
	}
	// The login is the proxy's session cookie, whatever other cookies come and go.
	if code, _ := page("alice", "admins", http.Header{"Cookie": {"authentik_proxy_1=abc; _pk_id=7"}}); code != http.StatusSeeOther {
		t.Errorf("the signed-out proxy session with another cookie beside it: %d, want refused", code)
	}
	if code, _ := page("alice", "admins", http.Header{"Cookie": {"authentik_proxy_1=new"}}); code != http.StatusOK {
		t.Errorf("a new proxy session: %d, want signed in", code)
	}
}

// fakeProxyAuth is a proxy's auth endpoint (authentik's /outpost.goauthentik.io/auth/nginx):
// it answers status and records what it was asked with.
type fakeProxyAuth struct {
	status  atomic.Int32
	mu      sync.Mutex
	asked   int
	cookies []string
	urls    []string
}

func (f *fakeProxyAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.asked++
	f.cookies = append(f.cookies, r.Header.Get("Cookie"))
	f.urls = append(f.urls, r.Header.Get("X-Original-URL"))
	f.mu.Unlock()
	if s := int(f.status.Load()); s == http.StatusOK {
		w.Header().Set("X-authentik-username", "alice")
	} else {
		w.WriteHeader(s)
	}
}

// TestForwardAuthRecheckEndsSession: while the proxy still signs the user in, a live VNC
// session of a forward-auth login goes on through several rechecks (made with the
// user's proxy cookie); once it answers 401 the session ends within a recheck interval,
// with a reason the user sees.
func TestForwardAuthRecheckEndsSession(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	fake := &fakeProxyAuth{}
	fake.status.Store(http.StatusOK)
	fs := httptest.NewServer(fake)
	defer fs.Close()
	y := strings.Replace(forwardConfig("    recheck-url: "+fs.URL+"/outpost.goauthentik.io/auth/nginx\n    recheck-interval: 1s\n"),
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n", 1)
	ts := newTestServer(t, y)
	h := http.Header{"X-Authentik-Username": {"alice"}, "X-Authentik-Groups": {"staff"},
		"Cookie": {"authentik_proxy_1=s3cret"}}
	conn, _, err := ts.wsDial(t, &http.Client{}, "/ws/desk?width=320&height=240",
		&websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}, HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wire.MaxServerMessage)
	readUntil(t, conn, wire.TypeHello, 15*time.Second)
	// (A read with a deadline would close the websocket: read on, and look at the time.)
	closed := drain(conn)
	// Three and a half intervals: the session must still be open.
	select {
	case c := <-closed:
		t.Fatalf("the session ended while the proxy still signed the user in: %q", c.Reason)
	case <-time.After(3500 * time.Millisecond):
	}
	fake.mu.Lock()
	asked, cookies, urls := fake.asked, fake.cookies, fake.urls
	fake.mu.Unlock()
	if asked < 3 {
		t.Fatalf("the proxy was asked %d times in 3.5 intervals", asked)
	}
	for i := range asked {
		if cookies[i] != "authentik_proxy_1=s3cret" || urls[i] != "https://gw.example/ws/desk" {
			t.Fatalf("recheck %d with Cookie %q, X-Original-URL %q", i, cookies[i], urls[i])
		}
	}
	fake.status.Store(http.StatusUnauthorized)
	start := time.Now()
	select {
	case c := <-closed:
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("the session ended %v after the proxy said no (interval 1s)", d)
		}
		if !strings.Contains(c.Reason, "sign-in has ended") {
			t.Errorf("CLOSE %d %q", c.Code, c.Reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session outlived the proxy's no by 5 s")
	}
}

// TestForwardAuthSignOutAcrossInstances: two instances on one Redis, each with a live VNC
// session of one proxy sign-in. Only the first asks the proxy often; when the proxy stops
// signing the user in, the first ends its session at its next recheck and, through the
// store, the second's within a second, long before the second's own recheck (an hour).
func TestForwardAuthSignOutAcrossInstances(t *testing.T) {
	peers.Require(t, "Xvnc", "redis-server")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	r := peers.StartRedis(t)
	fake := &fakeProxyAuth{}
	fake.status.Store(http.StatusOK)
	fs := httptest.NewServer(fake)
	defer fs.Close()
	var conns []*websocket.Conn
	for i, every := range []string{"1s", "1h"} {
		y := strings.NewReplacer("host: 127.0.0.1:1\n", "host: "+x.Addr+"\n", "maximum-connections: 1", "maximum-connections: 2").Replace(
			forwardConfig("    recheck-url: "+fs.URL+"/auth\n    recheck-interval: "+every+"\n")) +
			"store:\n  redis:\n    addrs: [" + r.Addr + "]\n    lease-ttl: 2s\ninstance: gw" + strconv.Itoa(i) + "\n"
		ts := newTestServer(t, y)
		conn, _, err := ts.wsDial(t, &http.Client{}, "/ws/desk?width=320&height=240", &websocket.DialOptions{
			Subprotocols: []string{wire.Subprotocol},
			HTTPHeader: http.Header{"X-Authentik-Username": {"alice"}, "X-Authentik-Groups": {"staff"},
				"Cookie": {"authentik_proxy_1=s3cret"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conn.SetReadLimit(wire.MaxServerMessage)
		readUntil(t, conn, wire.TypeHello, 15*time.Second)
		conns = append(conns, conn)
	}
	closed := []chan wire.Close{drain(conns[0]), drain(conns[1])}
	time.Sleep(2500 * time.Millisecond) // two rechecks of the first instance say yes
	for i, ch := range closed {
		select {
		case c := <-ch:
			t.Fatalf("gw%d's session ended while the proxy said yes: %q", i, c.Reason)
		default:
		}
	}
	fake.status.Store(http.StatusUnauthorized)
	var first time.Time
	for i, ch := range closed {
		select {
		case c := <-ch:
			if !strings.Contains(c.Reason, "sign-in has ended") {
				t.Errorf("gw%d: CLOSE %d %q", i, c.Code, c.Reason)
			}
			if i == 0 {
				first = time.Now()
			} else if d := time.Since(first); d > time.Second {
				t.Errorf("gw1's session ended %v after gw0's", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("gw%d's session outlived the proxy's no by 5 s", i)
		}
	}
}
