package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/render/wire"
)

// controlConfig: desk (limit 1), open (no endpoint limit; 2 per user from the provider),
// solo (1 per user, set on the endpoint).
const controlConfig = `listen: 127.0.0.1:0
users:
  - username: demo
    password-hash: "` + testHash + `"
    groups: [admins]
  - username: bob
    password-hash: "` + testHash + `"
admin-group: admins
providers:
  - name: lab
    maximum-connections-per-user: 2
endpoints:
  - name: desk
    provider: lab
    protocol: vnc
    host: 127.0.0.1:1
    maximum-connections: 1
  - name: open
    provider: lab
    protocol: vnc
    host: 127.0.0.1:2
  - name: solo
    provider: lab
    protocol: vnc
    host: 127.0.0.1:3
    maximum-connections-per-user: 1
`

// open connects c to endpoint and waits for HELLO.
func (ts *testServer) open(t *testing.T, c *http.Client, endpoint string) *websocket.Conn {
	t.Helper()
	conn, _, err := ts.wsDial(t, c, "/ws/"+url.PathEscape(endpoint), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	readUntil(t, conn, wire.TypeHello, 5*time.Second)
	return conn
}

func expectClose(t *testing.T, conn *websocket.Conn, code wire.CloseCode, reason string, within time.Duration) {
	t.Helper()
	cl := lastClose(t, readUntil(t, conn, wire.TypeClose, within))
	if cl.Code != code || !strings.Contains(cl.Reason, reason) {
		t.Fatalf("CLOSE %d %q; want %d containing %q", cl.Code, cl.Reason, code, reason)
	}
}

func TestUserLimits(t *testing.T) {
	ts := newTestServer(t, controlConfig)
	ts.useFake(nil)
	demo, bob := ts.loggedIn(t, "demo"), ts.loggedIn(t, "bob")
	ts.open(t, demo, "open")
	ts.open(t, demo, "open")
	c3, _, err := ts.wsDial(t, demo, "/ws/open", nil)
	if err != nil {
		t.Fatal(err)
	}
	expectClose(t, c3, wire.CloseLimit, "maximum-connections-per-user", 5*time.Second)
	ts.open(t, bob, "open") // another user is not affected

	ts.open(t, demo, "solo") // the endpoint's own per-user limit: 1
	c5, _, err := ts.wsDial(t, demo, "/ws/solo", nil)
	if err != nil {
		t.Fatal(err)
	}
	expectClose(t, c5, wire.CloseLimit, "1 connection(s) to solo", 5*time.Second)

	ts.open(t, bob, "desk")
	c6, _, err := ts.wsDial(t, demo, "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	expectClose(t, c6, wire.CloseLimit, "maximum of 1 connections (maximum-connections)", 5*time.Second)

	_, body := ts.scrape(t)
	for _, want := range []string{`racgate_connections_refused_total{reason="user_limit"} 2`,
		`racgate_connections_refused_total{reason="endpoint_limit"} 1`,
		`racgate_connections_live{endpoint="open",instance=`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if !strings.Contains(body, `racgate_connections_live{endpoint="open",instance="`+ts.store.InstanceID()+`"} 3`) {
		t.Errorf("live connections on open not 3:\n%s", body)
	}
}

func TestTimeoutsFireOnTime(t *testing.T) {
	cfg := strings.Replace(controlConfig, "    maximum-connections-per-user: 2\n",
		"    maximum-connections-per-user: 2\n    idle-timeout: 1s\n", 1)
	ts := newTestServer(t, cfg)
	ts.useFake(nil)
	demo := ts.loggedIn(t, "demo")

	// Idle: input at 600 ms pushes the end to about 1.6 s.
	conn := ts.open(t, demo, "open")
	time.Sleep(600 * time.Millisecond)
	last := time.Now() // before the send: the server stamps the input when it arrives, later
	send(t, conn, wire.Key{Down: true, Keysym: 0x61})
	expectClose(t, conn, wire.CloseTimeout, "idle", 3*time.Second)
	if d := time.Since(last); d < time.Second || d > 2*time.Second {
		t.Fatalf("idle CLOSE %v after the last input; want 1s..2s", d)
	}

	// Absolute: connection-timeout ends it even while the user types.
	cfg = strings.Replace(controlConfig, "    maximum-connections-per-user: 2\n",
		"    maximum-connections-per-user: 2\n    connection-timeout: 1s\n", 1)
	ts = newTestServer(t, cfg)
	ts.useFake(nil)
	demo = ts.loggedIn(t, "demo")
	start := time.Now() // the limit counts from the connect request
	conn = ts.open(t, demo, "open")
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				conn.Write(context.Background(), websocket.MessageBinary, wire.Key{Keysym: 0x61}.Append(nil))
			}
		}
	}()
	expectClose(t, conn, wire.CloseTimeout, "time limit", 3*time.Second)
	close(stop)
	if d := time.Since(start); d < time.Second || d > 2*time.Second {
		t.Fatalf("absolute timeout CLOSE after %v; want 1s..2s", d)
	}
}

// TestIdleWarning: before idle-timeout ends a session its user is warned (NOTICE, a
// quarter of a short timeout ahead); input dismisses it by starting the quiet spell
// again, and the next spell is warned of again before the end.
func TestIdleWarning(t *testing.T) {
	cfg := strings.Replace(controlConfig, "    maximum-connections-per-user: 2\n",
		"    maximum-connections-per-user: 2\n    idle-timeout: 2s\n", 1)
	ts := newTestServer(t, cfg)
	ts.useFake(nil)
	start := time.Now()
	conn := ts.open(t, ts.loggedIn(t, "demo"), "open")
	warning := func(since time.Time, what string) {
		t.Helper()
		ms := readUntil(t, conn, wire.TypeNotice, 3*time.Second)
		n := ms[len(ms)-1].(wire.Notice)
		if d := time.Since(since); n.Level != wire.NoticeWarning || !strings.Contains(n.Text, "ends in 1 s unless you move the mouse or press a key") ||
			d < 1400*time.Millisecond || d > 1900*time.Millisecond {
			t.Fatalf("%s: NOTICE %+v after %v; want a warning of 1 s left at 1.5 s", what, n, d)
		}
		for _, m := range ms {
			if _, ok := m.(wire.Close); ok {
				t.Fatalf("%s: CLOSE before the warning", what)
			}
		}
	}
	warning(start, "first quiet spell")
	last := time.Now()
	send(t, conn, wire.Pointer{X: 5, Y: 5})
	warning(last, "second quiet spell") // no CLOSE at the first spell's end, 2 s after start
	expectClose(t, conn, wire.CloseTimeout, "idle", 2*time.Second)
	if d := time.Since(last); d < 2*time.Second || d > 2600*time.Millisecond {
		t.Fatalf("idle CLOSE %v after the last input; want 2 s", d)
	}
}

func TestAdminAPI(t *testing.T) {
	dir := t.TempDir()
	token := strings.Repeat("t0ken", 8)
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(filepath.Join(dir, "racgate.yaml"), []byte(controlConfig+"admin-token-file: admin.token\n"))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.AdminToken) != token {
		t.Fatalf("token %q", cfg.AdminToken)
	}
	ts := newTestServer(t, controlConfig)
	if err := ts.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	ts.useFake(nil)
	demo, bob := ts.loggedIn(t, "demo"), ts.loggedIn(t, "bob")
	conn := ts.open(t, bob, "open")

	call := func(c *http.Client, method, path, tok string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.hs.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	if resp, _ := call(ts.client(), "GET", "/api/connections", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no auth: %s", resp.Status)
	}
	if resp, _ := call(ts.client(), "GET", "/api/connections", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %s", resp.Status)
	}
	if resp, _ := call(bob, "GET", "/api/connections", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob: %s", resp.Status)
	}
	resp, body := call(ts.client(), "GET", "/api/connections", token)
	var list ConnectionList
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("list: %s %s", resp.Status, body)
	}
	if len(list.Connections) != 1 || list.Connections[0].User != "bob" || list.Connections[0].Endpoint != "open" ||
		len(list.Instances) != 1 || list.Instances[0].Conns != 1 || strings.Contains(body, "login") {
		t.Fatalf("list: %s", body)
	}
	id := list.Connections[0].ID
	// The page, for a logged-in admin.
	resp, page := call(demo, "GET", "/admin", "")
	if resp.StatusCode != 200 || !strings.Contains(page, `data-conn="`+id+`"`) || !strings.Contains(page, "<td>bob</td>") {
		t.Fatalf("admin page: %s\n%s", resp.Status, page)
	}
	if resp, _ := call(bob, "GET", "/admin", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob's admin page: %s", resp.Status)
	}
	if resp, _ := call(bob, "DELETE", "/api/connections/"+id, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob DELETE: %s", resp.Status)
	}
	if resp, body := call(ts.client(), "DELETE", "/api/connections/"+id, token); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s %s", resp.Status, body)
	}
	expectClose(t, conn, wire.CloseKilled, "administrator", 2*time.Second)
	waitFor(t, "lease released", func() bool { n, _ := ts.store.Count(context.Background(), "open"); return n == 0 })
	if resp, _ := call(ts.client(), "DELETE", "/api/connections/"+id, token); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE again: %s", resp.Status)
	}

	// The page's End button (a same-origin form post with the admin's cookie).
	conn = ts.open(t, bob, "open")
	_, body = call(ts.client(), "GET", "/api/connections", token)
	json.Unmarshal([]byte(body), &list)
	if len(list.Connections) != 1 {
		t.Fatalf("list: %s", body)
	}
	resp, err = demo.PostForm(ts.hs.URL+"/admin/kill", url.Values{"id": {list.Connections[0].ID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("End button: %s", resp.Status)
	}
	expectClose(t, conn, wire.CloseKilled, "administrator", 2*time.Second)
}

func TestReloadKeepsStore(t *testing.T) {
	ts := newTestServer(t, controlConfig)
	cfg, err := ParseConfig("t.yaml", []byte(controlConfig+"store: {redis: {addrs: [127.0.0.1:1]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(cfg); !errors.Is(err, ErrStoreChanged) {
		t.Fatalf("Reload to another store: %v", err)
	}
	same, _ := ParseConfig("t.yaml", []byte(controlConfig+"store: memory\n"))
	if err := ts.Reload(same); err != nil {
		t.Fatalf("Reload with the same store: %v", err)
	}
}

// TestPingIsNotInput: every PING gets a PONG with its token, in order, and PINGs do not
// hold off idle-timeout (a client measuring its round trip is not a user).
func TestPingIsNotInput(t *testing.T) {
	cfg := strings.Replace(controlConfig, "    maximum-connections-per-user: 2\n",
		"    maximum-connections-per-user: 2\n    idle-timeout: 2s\n", 1)
	ts := newTestServer(t, cfg)
	ts.useFake(nil)
	start := time.Now()
	conn := ts.open(t, ts.loggedIn(t, "demo"), "open")
	stop := make(chan struct{})
	var sent atomic.Uint32
	go func() {
		for tok := uint32(1); ; tok++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if conn.Write(context.Background(), websocket.MessageBinary, wire.Ping{Token: tok * 7}.Append(nil)) != nil {
				return
			}
			sent.Store(tok)
		}
	}()
	ms := readUntil(t, conn, wire.TypeClose, 4*time.Second)
	close(stop)
	if d := time.Since(start); d < 2*time.Second || d > 2600*time.Millisecond {
		t.Fatalf("idle CLOSE after %v of PINGs only; want 2 s", d)
	}
	if cl := lastClose(t, ms); cl.Code != wire.CloseTimeout || !strings.Contains(cl.Reason, "idle") {
		t.Fatalf("CLOSE %d %q; want idle-timeout", cl.Code, cl.Reason)
	}
	var pongs []uint32
	for _, m := range ms {
		if p, ok := m.(wire.Pong); ok {
			pongs = append(pongs, p.Token)
		}
	}
	if len(pongs) < 10 {
		t.Fatalf("%d PONGs for %d PINGs", len(pongs), sent.Load())
	}
	for i, tok := range pongs {
		if tok != uint32(i+1)*7 {
			t.Fatalf("PONG %d has token %d, want %d", i, tok, (i+1)*7)
		}
	}
}

// TestTerminalIdleWarning: a terminal session gets the idle warning (and PONGs) too.
func TestTerminalIdleWarning(t *testing.T) {
	cfg := strings.Replace(sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true"}),
		"  - name: lab\n", "  - name: lab\n    idle-timeout: 2s\n", 1)
	ts := newTestServer(t, cfg)
	ft := newFakeTerm()
	ts.dialTerm = func(context.Context, *config.Endpoint, config.Settings, int, int, askFunc, *slog.Logger) (terminal, error) {
		return ft, nil
	}
	start := time.Now()
	c := dialTerm(t, ts, "").start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	c.send(wire.Ping{Token: 42})
	c.wait("PONG", 2*time.Second, func(c *termClient) bool { return slices.Equal(c.pongs, []uint32{42}) })
	c.wait("the idle warning", 3*time.Second, func(c *termClient) bool { return len(c.notices) > 0 })
	c.mu.Lock()
	n := c.notices[0]
	c.mu.Unlock()
	if d := time.Since(start); n.Level != wire.NoticeWarning || !strings.Contains(n.Text, "unless you move the mouse or press a key") || d > 1900*time.Millisecond {
		t.Fatalf("NOTICE %+v after %v; want the idle warning at 1.5 s", n, d)
	}
	if cl := c.waitClose(2 * time.Second); cl.Code != wire.CloseTimeout {
		t.Fatalf("CLOSE %+v, want idle-timeout", cl)
	}
}
