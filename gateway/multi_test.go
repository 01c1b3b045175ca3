package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// Several racgate instances (in-process Servers) sharing one real redis-server.

// multiTTL is short, so that sessions outlive several leases in a test, and long enough
// that a burst of 200 connects on a loaded test machine cannot starve a heartbeat (every
// third of it) past it: a lease that is not renewed in time expires by design.
const multiTTL = 2 * time.Second

// multiConfig: endpoint five (limit 5), perUser (2 per user), any (no limits).
func multiConfig(dir, redisAddr, instance string) string {
	return `listen: 127.0.0.1:0
instance: ` + instance + `
session: {secret-file: ` + filepath.Join(dir, "session.key") + `}
admin-group: admins
admin-token-file: ` + filepath.Join(dir, "admin.token") + `
store:
  redis:
    addrs: [` + redisAddr + `]
    lease-ttl: ` + multiTTL.String() + `
users:
  - username: demo
    password-hash: "` + testHash + `"
    groups: [admins]
  - username: bob
    password-hash: "` + testHash + `"
providers:
  - name: lab
endpoints:
  - name: five
    provider: lab
    protocol: vnc
    host: 127.0.0.1:1
    maximum-connections: 5
  - name: perUser
    provider: lab
    protocol: vnc
    host: 127.0.0.1:2
    maximum-connections-per-user: 2
  - name: any
    provider: lab
    protocol: vnc
    host: 127.0.0.1:3
`
}

type cluster struct {
	redis *peers.Redis
	gws   []*testServer
	token string
	logs  *logTee
}

// logTee writes log lines to the test log and keeps them, to look for false store errors.
type logTee struct {
	t  *testing.T
	mu sync.Mutex
	b  strings.Builder
}

func (l *logTee) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	return testWriter{l.t}.Write(p)
}

// storeErrors are the log lines so far that say the store failed: the heartbeat's
// outage warning, and any redis.Nil reported as an error (never a real failure).
func (l *logTee) storeErrors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.b.String()) {
		if strings.Contains(line, "unreachable") || strings.Contains(line, "redis: nil") {
			out = append(out, line)
		}
	}
	return out
}

// noStoreErrors fails t if any instance logged a store failure so far.
func (l *logTee) noStoreErrors(t *testing.T) {
	t.Helper()
	if errs := l.storeErrors(); len(errs) > 0 {
		t.Fatalf("store errors logged while Redis was fine:\n%s", strings.Join(errs, ""))
	}
}

// holdFor fails t as soon as cond is false during d; it checks continuously.
func holdFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); time.Since(start) < d; time.Sleep(50 * time.Millisecond) {
		if !cond() {
			t.Fatalf("after %v: no longer %s", time.Since(start).Round(time.Millisecond), what)
		}
	}
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	r := peers.StartRedis(t)
	dir := t.TempDir()
	token := strings.Repeat("adm1n", 8)
	os.WriteFile(filepath.Join(dir, "session.key"), []byte(strings.Repeat("k", 40)), 0o600)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(token), 0o600)
	c := &cluster{redis: r, token: token, logs: &logTee{t: t}}
	for i := range n {
		name := fmt.Sprintf("gw%d", i)
		cfg, err := ParseConfig(filepath.Join(dir, name+".yaml"), []byte(multiConfig(dir, r.Addr, name)))
		if err != nil {
			t.Fatal(err)
		}
		logger := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("gw", name)
		s, err := NewServer(cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s.Handler())
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Shutdown(ctx)
			hs.Close()
		})
		ts := &testServer{Server: s, hs: hs, cfg: cfg}
		ts.dial = fakeDial
		c.gws = append(c.gws, ts)
	}
	return c
}

// fakeDial connects to a fakeRemote nobody watches (useFake queues a bounded number).
func fakeDial(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
	return &fakeRemote{w: 800, h: 600, ev: ev, end: make(chan error, 1), closed: make(chan struct{})}, fakeDisplay{}, nil
}

// loginAll logs user in once; the cookie (one secret-file) is good on every instance.
func (c *cluster) login(t *testing.T, user string) []*http.Client {
	t.Helper()
	first := c.gws[0].loggedIn(t, user)
	u0, _ := url.Parse(c.gws[0].hs.URL)
	cks := first.Jar.Cookies(u0)
	out := []*http.Client{first}
	for _, g := range c.gws[1:] {
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(g.hs.URL)
		jar.SetCookies(u, cks)
		out = append(out, &http.Client{Jar: jar, CheckRedirect: first.CheckRedirect})
	}
	return out
}

// attempt opens /ws/endpoint and returns the conn after HELLO, or the CLOSE.
func attempt(ts *testServer, c *http.Client, endpoint string) (*websocket.Conn, *wire.Close, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.hs.URL, "http")+"/ws/"+endpoint,
		&websocket.DialOptions{HTTPClient: c, Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return nil, nil, err
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			return nil, nil, err
		}
		var hello bool
		var cl *wire.Close
		wire.Decode(data, func(m wire.Message) error {
			switch m := m.(type) {
			case wire.Hello:
				hello = true
			case wire.Close:
				cl = &m
			}
			return nil
		})
		if cl != nil {
			conn.CloseNow()
			return nil, cl, nil
		}
		if hello {
			return conn, nil, nil
		}
	}
}

// drain keeps reading a live connection (fake remotes send queued fakes) and reports
// its CLOSE on the channel.
func drain(conn *websocket.Conn) chan wire.Close {
	ch := make(chan wire.Close, 1)
	go func() {
		defer close(ch)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			wire.Decode(data, func(m wire.Message) error {
				if c, ok := m.(wire.Close); ok {
					ch <- c
				}
				return nil
			})
		}
	}()
	return ch
}

// connections is the admin API's list on instance i (nil if it cannot be had).
func (c *cluster) connections(i int) *ConnectionList {
	req, _ := http.NewRequest("GET", c.gws[i].hs.URL+"/api/connections", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var list ConnectionList
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
		return nil
	}
	return &list
}

func storeCount(t *testing.T, ts *testServer, ep string) int {
	t.Helper()
	n, err := ts.store.Count(context.Background(), ep)
	if err != nil {
		return -1
	}
	return n
}

func TestMultiInstance(t *testing.T) {
	c := startCluster(t, 3)
	demo := c.login(t, "demo")
	bob := c.login(t, "bob")

	t.Run("200 attempts, limit 5", func(t *testing.T) {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			live    []*websocket.Conn
			refused atomic.Int64
			start   = make(chan struct{})
		)
		for i := range 200 {
			wg.Go(func() {
				<-start
				conn, cl, err := attempt(c.gws[i%3], demo[i%3], "five")
				switch {
				case err != nil:
					t.Error(err)
				case cl != nil && cl.Code == wire.CloseLimit && strings.Contains(cl.Reason, "maximum of 5 connections"):
					refused.Add(1)
				case cl != nil:
					t.Errorf("CLOSE %d %q", cl.Code, cl.Reason)
				default:
					mu.Lock()
					live = append(live, conn)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(live) != 5 || refused.Load() != 195 {
			t.Fatalf("%d admitted, %d refused; want 5 and 195", len(live), refused.Load())
		}
		if n := storeCount(t, c.gws[1], "five"); n != 5 {
			t.Fatalf("store count %d, want 5", n)
		}
		for _, conn := range live {
			conn.Close(websocket.StatusNormalClosure, "")
		}
		waitFor(t, "all released", func() bool { return storeCount(t, c.gws[2], "five") == 0 })
	})

	t.Run("per-user limit across instances", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string][]*websocket.Conn{}
		for i := range 30 {
			wg.Go(func() {
				user, cl := "demo", demo[i%3]
				if i%2 == 1 {
					user, cl = "bob", bob[i%3]
				}
				conn, cls, err := attempt(c.gws[i%3], cl, "perUser")
				if err != nil {
					t.Error(err)
					return
				}
				if cls != nil {
					if cls.Code != wire.CloseLimit || !strings.Contains(cls.Reason, "maximum-connections-per-user") {
						t.Errorf("CLOSE %d %q", cls.Code, cls.Reason)
					}
					return
				}
				mu.Lock()
				got[user] = append(got[user], conn)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(got["demo"]) != 2 || len(got["bob"]) != 2 {
			t.Fatalf("admitted demo %d, bob %d; want 2 each", len(got["demo"]), len(got["bob"]))
		}
		for _, cs := range got {
			for _, conn := range cs {
				conn.Close(websocket.StatusNormalClosure, "")
			}
		}
	})

	t.Run("terminate from A closes on B", func(t *testing.T) {
		conn, cl, err := attempt(c.gws[1], bob[1], "any")
		if err != nil || cl != nil {
			t.Fatalf("connect: %v %v", cl, err)
		}
		closed := drain(conn)
		var id string
		waitFor(t, "connection listed on A", func() bool {
			req, _ := http.NewRequest("GET", c.gws[0].hs.URL+"/api/connections", nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var list ConnectionList
			json.NewDecoder(resp.Body).Decode(&list)
			for _, x := range list.Connections {
				if x.User == "bob" && x.Instance == "gw1" {
					id = x.ID
				}
			}
			return id != "" && len(list.Instances) == 3
		})
		req, _ := http.NewRequest("DELETE", c.gws[0].hs.URL+"/api/connections/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		asked := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE on A: %v %v", resp, err)
		}
		select {
		case got := <-closed:
			if got.Code != wire.CloseKilled {
				t.Fatalf("CLOSE %d %q, want 7", got.Code, got.Reason)
			}
			t.Logf("closed on B %v after the request on A", time.Since(asked).Round(time.Millisecond))
		case <-time.After(2 * time.Second):
			t.Fatal("connection on B not closed within 2s")
		}
	})

	t.Run("logout on A ends the login's connection on B", func(t *testing.T) {
		conn, cl, err := attempt(c.gws[2], demo[2], "any")
		if err != nil || cl != nil {
			t.Fatalf("connect: %v %v", cl, err)
		}
		closed := drain(conn)
		time.Sleep(100 * time.Millisecond) // registry record written
		req, _ := http.NewRequest("POST", c.gws[0].hs.URL+"/logout", nil)
		resp, err := demo[0].Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		select {
		case got := <-closed:
			if got.Code != wire.CloseSessionEnded {
				t.Fatalf("CLOSE %d %q, want 9", got.Code, got.Reason)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("connection on B not closed within 2s of the logout on A")
		}
		// The logged-out cookie no longer opens anything on any instance.
		for i := range c.gws {
			if _, cl, err := attempt(c.gws[i], demo[i], "any"); err != nil || cl == nil || cl.Code != wire.CloseSessionEnded {
				t.Fatalf("connect on instance %d after the logout on A: CLOSE %v, err %v; want CLOSE 9", i, cl, err)
			}
		}
	})

	// Sessions held for several lease TTLs stay counted and listed everywhere (the
	// heartbeat keeps every instance's registry record), and a termination asked on one
	// instance still finds them on another.
	t.Run("sessions outlive several lease TTLs", func(t *testing.T) {
		var closes []chan wire.Close
		for i := range c.gws {
			conn, cl, err := attempt(c.gws[i], bob[i], "five")
			if err != nil || cl != nil {
				t.Fatalf("connect on instance %d: %v %v", i, cl, err)
			}
			defer conn.Close(websocket.StatusNormalClosure, "")
			closes = append(closes, drain(conn))
		}
		listed := func() bool {
			for i, ch := range closes {
				select {
				case cl := <-ch:
					t.Fatalf("connection on instance %d ended: %d %q", i, cl.Code, cl.Reason)
				default:
				}
			}
			list := c.connections(0)
			if list == nil || len(list.Instances) != 3 || len(list.Connections) != 3 {
				return false
			}
			for _, in := range list.Instances {
				if in.Conns != 1 {
					return false
				}
			}
			return storeCount(t, c.gws[1], "five") == 3
		}
		waitFor(t, "one connection listed per instance", listed)
		holdFor(t, 3*multiTTL+multiTTL/2, "one connection listed per instance", listed)
		var id string
		for _, x := range c.connections(0).Connections {
			if x.Instance == "gw2" {
				id = x.ID
			}
		}
		req, _ := http.NewRequest("DELETE", c.gws[0].hs.URL+"/api/connections/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE on gw0 of %q on gw2 after %v: %v %v", id, 3*multiTTL, resp, err)
		}
		select {
		case got := <-closes[2]:
			if got.Code != wire.CloseKilled {
				t.Fatalf("CLOSE %d %q, want 7", got.Code, got.Reason)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("connection on gw2 not closed within 2s")
		}
		c.logs.noStoreErrors(t)
	})
	c.logs.noStoreErrors(t)

	t.Run("Redis restart and outage", func(t *testing.T) {
		var held []*websocket.Conn
		for i := range 3 {
			conn, cl, err := attempt(c.gws[i], bob[i], "five")
			if err != nil || cl != nil {
				t.Fatalf("connect %d: %v %v", i, cl, err)
			}
			held = append(held, conn)
		}
		closes := make([]chan wire.Close, len(held))
		for i, conn := range held {
			closes[i] = drain(conn)
		}
		c.redis.Stop()
		// Down: new connections refused with a clear message; live ones keep running.
		_, cl, err := attempt(c.gws[0], bob[0], "any")
		if err != nil || cl == nil || cl.Code != wire.CloseInternal || !strings.Contains(cl.Reason, "connection store is unavailable") {
			t.Fatalf("while Redis is down: %v %v", cl, err)
		}
		_, body := c.gws[0].scrape(t)
		for _, want := range []string{`racgate_connections_refused_total{reason="store_unavailable"} 1`,
			`racgate_store_seconds_bucket{op="acquire",le="+Inf"}`, `racgate_store_seconds_count{op="heartbeat"}`,
			`racgate_connections_live{endpoint="five",instance="gw0"} 1`} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s:\n%s", want, body)
			}
		}
		if !regexp.MustCompile(`racgate_store_errors_total\{op="acquire"\} [1-9]`).MatchString(body) {
			t.Errorf("no failed acquire counted:\n%s", body)
		}
		stillLive := func() bool {
			for i, ch := range closes {
				select {
				case cl := <-ch:
					t.Fatalf("connection %d ended during or after the outage: %d %q", i, cl.Code, cl.Reason)
				default:
				}
			}
			return true
		}
		// Longer than a lease: only heartbeats keep them.
		holdFor(t, multiTTL+500*time.Millisecond, "live connections running", stillLive)
		c.redis.Start()
		waitFor(t, "leases counted again", func() bool { return storeCount(t, c.gws[0], "five") == 3 })
		stillLive()
		// Exactly two more fit (5), from any instance.
		var extra []*websocket.Conn
		for i := range 4 {
			conn, cl, err := attempt(c.gws[i%3], bob[i%3], "five")
			if err != nil {
				t.Fatal(err)
			}
			if cl != nil && cl.Code != wire.CloseLimit {
				t.Fatalf("CLOSE %d %q, want 5", cl.Code, cl.Reason)
			}
			if cl == nil {
				extra = append(extra, conn)
			}
		}
		if len(extra) != 2 {
			t.Fatalf("%d admitted after the restart, want 2", len(extra))
		}
		// Heartbeats go on: still 5, nothing counted twice, nothing ended.
		holdFor(t, 3*multiTTL, "5 counted", func() bool { return stillLive() && storeCount(t, c.gws[1], "five") == 5 })
		for _, line := range c.logs.storeErrors() {
			if strings.Contains(line, "redis: nil") {
				t.Fatalf("redis.Nil logged as a store error: %s", line)
			}
		}
		for _, conn := range append(held, extra...) {
			conn.Close(websocket.StatusNormalClosure, "")
		}
		waitFor(t, "all released", func() bool { return storeCount(t, c.gws[2], "five") == 0 })
	})
}

// With route-to-least-loaded, a connect page request goes to the instance with fewer
// connections (by two or more), at its public-url.
func TestRouteToLeastLoaded(t *testing.T) {
	gws, logs := startPublicCluster(t, 2, "route-to-least-loaded: true\n")
	c := &cluster{gws: gws}
	demo := c.login(t, "demo")
	page := func() *http.Response {
		t.Helper()
		resp, _ := get(t, demo[0], gws[0].hs.URL+"/connect/any?quality=5")
		return resp
	}
	if resp := page(); resp.StatusCode == http.StatusSeeOther {
		t.Fatalf("redirected with no connections anywhere: %s", resp.Header.Get("Location"))
	}
	var held []*websocket.Conn
	for range 2 {
		conn, cl, err := attempt(gws[0], demo[0], "any")
		if err != nil || cl != nil {
			t.Fatalf("connect: %v %v", cl, err)
		}
		held = append(held, conn)
	}
	want := gws[1].hs.URL + "/connect/any?quality=5"
	redirected := func() bool {
		resp := page()
		return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == want
	}
	waitFor(t, "redirect to the idle instance", redirected)
	// The loaded instance's record stays in the registry as long as it holds connections.
	holdFor(t, 3*multiTTL, "redirect to the idle instance", redirected)
	logs.noStoreErrors(t)
	held[0].Close(websocket.StatusNormalClosure, "")
	waitFor(t, "no redirect at one connection", func() bool { return page().StatusCode != http.StatusSeeOther })
	held[1].Close(websocket.StatusNormalClosure, "")
}

// startPublicCluster starts n instances on one Redis, each with a public-url (its own
// address) and extra top-level YAML.
func startPublicCluster(t *testing.T, n int, extra string) ([]*testServer, *logTee) {
	t.Helper()
	r := peers.StartRedis(t)
	logs := &logTee{t: t}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "session.key"), []byte(strings.Repeat("k", 40)), 0o600)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(strings.Repeat("adm1n", 8)), 0o600)
	var gws []*testServer
	for i := range n {
		name := fmt.Sprintf("gw%d", i)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(multiConfig(dir, r.Addr, name), "listen: 127.0.0.1:0\n",
			"listen: 127.0.0.1:0\npublic-url: http://"+l.Addr().String()+"\n"+extra, 1)
		cfg, err := ParseConfig(filepath.Join(dir, name+".yaml"), []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewServer(cfg, slog.New(slog.NewTextHandler(logs, nil)).With("gw", name))
		if err != nil {
			t.Fatal(err)
		}
		hs := &httptest.Server{Listener: l, Config: &http.Server{Handler: s.Handler()}}
		hs.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Shutdown(ctx)
			hs.Close()
		})
		ts := &testServer{Server: s, hs: hs, cfg: cfg}
		ts.dial = fakeDial
		gws = append(gws, ts)
	}
	return gws, logs
}

// TestShareAcrossInstances: a share link and an administrator's Watch link opened on
// another instance send the browser to the instance that holds the session (its
// public-url), which serves them; a token of no live instance is refused.
func TestShareAcrossInstances(t *testing.T) {
	gws, _ := startPublicCluster(t, 2, "")
	c := &cluster{gws: gws, token: strings.Repeat("adm1n", 8)}
	demo, bob := c.login(t, "demo"), c.login(t, "bob")
	conn, cl, err := attempt(gws[0], demo[0], "any")
	if err != nil || cl != nil {
		t.Fatalf("connect: %v %v", cl, err)
	}
	defer conn.CloseNow()
	send(t, conn, wire.Share{Op: wire.ShareCreate, Mode: wire.ShareView})
	ms := readUntil(t, conn, wire.TypeShares, 5*time.Second)
	sh := ms[len(ms)-1].(wire.Shares)
	if len(sh.Links) != 1 || !strings.HasPrefix(sh.Links[0].URL, gws[0].hs.URL+"/share/") {
		t.Fatalf("SHARES %+v, want a link at %s", sh, gws[0].hs.URL)
	}
	path := strings.TrimPrefix(sh.Links[0].URL, gws[0].hs.URL)

	resp, _ := get(t, bob[1], gws[1].hs.URL+path)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != gws[0].hs.URL+path {
		t.Fatalf("the link on the other instance: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, bob[0], gws[0].hs.URL+path); resp.StatusCode != http.StatusOK {
		t.Fatalf("the link on its own instance: %s", resp.Status)
	}
	var id string
	waitFor(t, "the connection in the store", func() bool {
		l := c.connections(1)
		if l != nil && len(l.Connections) == 1 {
			id = l.Connections[0].ID
		}
		return id != ""
	})
	resp, _ = get(t, demo[1], gws[1].hs.URL+"/watch/"+id)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != gws[0].hs.URL+"/watch/"+id {
		t.Fatalf("Watch on the other instance: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if resp, body := get(t, bob[1], gws[1].hs.URL+"/share/nosuchinstance.ABCDEFGHIJKLMNOPQRSTUVWXYZ"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not valid any more") {
		t.Fatalf("a token of no instance: %s\n%s", resp.Status, body)
	}
}

// The Redis store over TLS with a password, as the config names them; a wrong password
// refuses connections with a clear CLOSE instead of admitting them uncounted.
func TestRedisTLSAndPassword(t *testing.T) {
	r := peers.StartRedisWith(t, peers.RedisOptions{Password: "pw-123", TLS: true})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "session.key"), []byte(strings.Repeat("k", 40)), 0o600)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(strings.Repeat("adm1n", 8)), 0o600)
	for _, tc := range []struct {
		pw string
		ok bool
	}{{"pw-123", true}, {"wrong", false}} {
		os.WriteFile(filepath.Join(dir, "redis.pw"), []byte(tc.pw+"\n"), 0o600)
		ttl := "    lease-ttl: " + multiTTL.String() + "\n"
		text := strings.Replace(multiConfig(dir, r.Addr, "tls"), ttl,
			ttl+"    password-file: redis.pw\n    tls: {ca-file: "+r.CAFile+"}\n", 1)
		cfg, err := ParseConfig(filepath.Join(dir, "tls.yaml"), []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewServer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s.Handler())
		ts := &testServer{Server: s, hs: hs, cfg: cfg}
		ts.dial = fakeDial
		demo := ts.loggedIn(t, "demo")
		conn, cl, err := attempt(ts, demo, "five")
		if err != nil {
			t.Fatal(err)
		}
		if tc.ok {
			if cl != nil {
				t.Fatalf("TLS+password: CLOSE %d %q", cl.Code, cl.Reason)
			}
			if n := storeCount(t, ts, "five"); n != 1 {
				t.Fatalf("count %d, want 1", n)
			}
			conn.Close(websocket.StatusNormalClosure, "")
		} else if cl == nil || cl.Code != wire.CloseInternal || !strings.Contains(cl.Reason, "unavailable") {
			t.Fatalf("wrong password: %+v, want CLOSE 11 store unavailable", cl)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Shutdown(ctx)
		cancel()
		hs.Close()
	}
}
