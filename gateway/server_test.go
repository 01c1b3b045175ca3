package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/render/wire"
)

// testConfig has users demo/demo (group admins) and bob/demo (no groups), endpoint desk
// (anyone, limit 1) and secret (admins only).
const testConfig = `listen: 127.0.0.1:0
public-url: https://gw.example
users:
  - username: demo
    password-hash: "` + testHash + `"
    groups: [admins]
  - username: bob
    password-hash: "` + testHash + `"
providers:
  - name: lab
endpoints:
  - name: desk
    provider: lab
    protocol: vnc
    host: 127.0.0.1:1
    maximum-connections: 1
    connection-settings: [read-only]
  - name: secret
    provider: lab
    protocol: vnc
    host: 127.0.0.1:2
    groups: [admins]
  - name: Windows box
    provider: lab
    protocol: rdp
    host: 127.0.0.1:3
`

type testServer struct {
	*Server
	hs   *httptest.Server
	cfg  *config.Config
	logs *logTee // what the server logged (newTestServer's)
}

func newTestServer(t *testing.T, yaml string) *testServer {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	logs := &logTee{t: t}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewServer(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Tests speak from other addresses than 127.0.0.1 through this header.
		if a := r.Header.Get(testRemoteHeader); a != "" {
			r.RemoteAddr = a
		}
		s.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &testServer{Server: s, hs: hs, cfg: cfg, logs: logs}
}

// testRemoteHeader sets a test request's RemoteAddr (newTestServer).
const testRemoteHeader = "X-Test-Remote-Addr"

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client is a browser: a cookie jar that does not follow redirects.
func (ts *testServer) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (ts *testServer) login(t *testing.T, c *http.Client, user, pass string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(ts.hs.URL+"/login", url.Values{"username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (ts *testServer) loggedIn(t *testing.T, user string) *http.Client {
	t.Helper()
	c := ts.client()
	if resp := ts.login(t, c, user, "demo"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %s", user, resp.Status)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestLoginFlow(t *testing.T) {
	ts := newTestServer(t, testConfig)
	c := ts.client()

	resp, _ := get(t, c, ts.hs.URL+"/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / without login: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	resp, body := get(t, c, ts.hs.URL+"/login")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="username"`) || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login form: %s\n%s", resp.Status, body)
	}

	// wrong password: refused, no cookie, error shown
	r, err := c.PostForm(ts.hs.URL+"/login", url.Values{"username": {"demo"}, "password": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "Wrong username or password") {
		t.Fatalf("wrong password: %s\n%s", r.Status, b)
	}
	if len(r.Cookies()) != 0 {
		t.Fatalf("wrong password set cookies %v", r.Cookies())
	}
	if resp := ts.login(t, c, "nobody", "demo"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user: %s", resp.Status)
	}

	// right password: a Secure (public-url is https), HttpOnly, Lax cookie
	resp = ts.login(t, c, "demo", "demo")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == signin.CookieName {
			ck = x
		}
	}
	if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 {
		t.Fatalf("cookie: %+v", ck)
	}
	// The jar will not send a Secure cookie over http://; set it by hand.
	u, _ := url.Parse(ts.hs.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: signin.CookieName, Value: ck.Value}})

	resp, body = get(t, c, ts.hs.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %s", resp.Status)
	}
	for _, want := range []string{`<a class="open" data-endpoint="desk" href="/connect/desk">`,
		`<a class="open" data-endpoint="secret" href="/connect/secret">`,
		`<a class="open" data-endpoint="Windows box" href="/connect/Windows%20box">`} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %s:\n%s", want, body)
		}
	}

	// logout: the cookie no longer works, even if replayed
	req, _ := http.NewRequest("POST", ts.hs.URL+"/logout", nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %v %v", resp, err)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: signin.CookieName, Value: ck.Value}})
	if resp, _ := get(t, c, ts.hs.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed cookie after logout: %s", resp.Status)
	}
}

func TestIndexGroups(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://gw.example", "http://gw.example", 1))
	_, body := get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/")
	if !strings.Contains(body, `data-endpoint="desk"`) || strings.Contains(body, `data-endpoint="secret"`) {
		t.Fatalf("bob sees:\n%s", body)
	}
	// and cannot open it directly
	resp, _ := get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/connect/secret")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob /connect/secret: %s", resp.Status)
	}
}

// TestLauncherPage: the endpoint list groups endpoints by provider (in the config's
// order), links administrators to /admin and nobody else, offers a new tab per endpoint,
// and says what to do when nothing is open.
func TestLauncherPage(t *testing.T) {
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"providers:\n  - name: lab\n", "admin-group: admins\nproviders:\n  - name: lab\n  - name: ops\n").Replace(testConfig) + `  - name: ops-shell
    provider: ops
    protocol: ssh
    host: 127.0.0.1:22
`
	ts := newTestServer(t, y)
	_, body := get(t, ts.loggedIn(t, "demo"), ts.hs.URL+"/")
	lab, ops := strings.Index(body, `<h2 id="provider-0">lab</h2>`), strings.Index(body, `<h2 id="provider-1">ops</h2>`)
	desk, shell := strings.Index(body, `data-endpoint="desk"`), strings.Index(body, `data-endpoint="ops-shell"`)
	if lab < 0 || ops < lab || desk < lab || desk > ops || shell < ops {
		t.Fatalf("not grouped by provider in order (lab %d, desk %d, ops %d, ops-shell %d):\n%s", lab, desk, ops, shell, body)
	}
	for _, want := range []string{`<a id="admin" href="/admin">`, `id="filter"`, `target="_blank" rel="noopener" aria-label="Open desk in a new tab"`,
		`<span class="icon" data-protocol="ssh" aria-hidden="true">ssh</span>`, `<script src="/static/launcher.js" defer></script>`} {
		if !strings.Contains(body, want) {
			t.Errorf("demo's launcher lacks %s", want)
		}
	}
	_, body = get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/")
	if strings.Contains(body, `id="admin"`) {
		t.Error("bob, no administrator, is linked to /admin")
	}

	// Nothing open to bob: a hint and no filter.
	only := strings.NewReplacer("    connection-settings: [read-only]\n", "    connection-settings: [read-only]\n    groups: [admins]\n",
		"    protocol: rdp\n", "    protocol: rdp\n    groups: [admins]\n", "    protocol: ssh\n", "    protocol: ssh\n    groups: [admins]\n").Replace(y)
	ts = newTestServer(t, only)
	_, body = get(t, ts.loggedIn(t, "bob"), ts.hs.URL+"/")
	if strings.Contains(body, `data-endpoint=`) || strings.Contains(body, `id="filter"`) || !strings.Contains(body, "No endpoints are open to you yet. Ask your administrator for access.") {
		t.Fatalf("bob, with nothing open:\n%s", body)
	}
}

func TestCookieTamperingAndExpiry(t *testing.T) {
	ts := newTestServer(t, testConfig)
	st := ts.state.Load()
	now := time.Now()
	bob, _ := st.src.Users.Lookup("bob")
	claims := func(user string, exp time.Time) authz.Claims {
		return authz.Claims{ID: "id1", Username: user, Issued: now, Expires: exp}
	}
	good := authz.SignLogin(st.src.Key, claims("bob", now.Add(time.Hour)), bob.Stamp())
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"good", good, true},
		{"other user, same mac", strings.Replace(good, b64("bob"), b64("demo"), 1), false},
		{"later expiry, same mac", signWithMac(good, now.Add(100*time.Hour)), false},
		{"wrong key", authz.SignLogin([]byte("another key of thirty-two bytes!"), claims("bob", now.Add(time.Hour)), bob.Stamp()), false},
		{"expired", authz.SignLogin(st.src.Key, claims("bob", now.Add(-time.Second)), bob.Stamp()), false},
		{"another password's stamp", authz.SignLogin(st.src.Key, claims("bob", now.Add(time.Hour)), "$2a$10$an-older-hash"), false},
		{"garbage", "v2.x.y", false},
		{"old format", "v1.id1." + itoa(now.Add(time.Hour).Unix()) + "." + b64("bob") + ".AAAA", false},
		{"empty", "", false},
		{"unknown user", authz.SignLogin(st.src.Key, claims("mallory", now.Add(time.Hour)), ""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: signin.CookieName, Value: tc.value})
			rec := httptest.NewRecorder()
			ts.Handler().ServeHTTP(rec, req)
			if got := rec.Code == 200; got != tc.ok {
				t.Fatalf("GET / with %s cookie: %d", tc.name, rec.Code)
			}
		})
	}
	// A cookie that was good expires with time.
	ts.now = func() time.Time { return now.Add(2 * time.Hour) }
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: signin.CookieName, Value: good})
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("expired by clock: %d", rec.Code)
	}
}

func b64(s string) string { return strings.TrimRight(base64URL(s), "=") }

// signWithMac swaps the expiry of a signed value and keeps its old MAC.
func signWithMac(v string, exp time.Time) string {
	p := strings.Split(v, ".")
	p[3] = itoa(exp.Unix())
	return strings.Join(p, ".")
}

func TestLoginCrossOrigin(t *testing.T) {
	ts := newTestServer(t, testConfig)
	req, _ := http.NewRequest("POST", ts.hs.URL+"/login", strings.NewReader("username=demo&password=demo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin login: %s", resp.Status)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t, testConfig)
	resp, body := get(t, ts.client(), ts.hs.URL+"/healthz")
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("healthz: %s %q", resp.Status, body)
	}
	ts.login(t, ts.client(), "demo", "bad")
	_, body = ts.scrape(t)
	for _, want := range []string{"racgate_sessions_active 0\n", `racgate_sessions_total{protocol="vnc"} 0`,
		"# TYPE racgate_bytes_sent_total counter\n", "racgate_frames_sent_total 0\n",
		"racgate_encode_seconds_total 0\n", `racgate_logins_total{result="failed"} 1`,
		"# TYPE go_goroutines gauge\ngo_goroutines ", "go_memstats_heap_inuse_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	// As Prometheus reads it: every family parses, with its type.
	mfs := parseMetrics(t, ts)
	for name, typ := range map[string]dto.MetricType{
		"racgate_sessions_active": dto.MetricType_GAUGE, "racgate_sessions_total": dto.MetricType_COUNTER,
		"racgate_frame_encode_seconds": dto.MetricType_HISTOGRAM, "racgate_input_to_frame_seconds": dto.MetricType_HISTOGRAM,
		"racgate_connections_live": dto.MetricType_GAUGE, "racgate_connections_refused_total": dto.MetricType_COUNTER,
		"racgate_ready": dto.MetricType_GAUGE, "process_cpu_seconds_total": dto.MetricType_COUNTER,
		"process_resident_memory_bytes": dto.MetricType_GAUGE, "go_goroutines": dto.MetricType_GAUGE,
	} {
		if mf := mfs[name]; mf == nil || mf.GetType() != typ {
			t.Errorf("metric %s: %v, want type %v", name, mf, typ)
		}
	}
	// Endpoint labels are the configured endpoints', nothing else.
	for _, m := range mfs["racgate_connections_live"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "endpoint" && ts.state.Load().cfg.Endpoint(l.GetValue()) == nil {
				t.Errorf("racgate_connections_live for %q, not an endpoint", l.GetValue())
			}
		}
	}
}

func TestConnectPage(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	resp, _ := get(t, ts.client(), ts.hs.URL+"/connect/desk")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=%2Fconnect%2Fdesk") {
		t.Fatalf("connect without login: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	c := ts.loggedIn(t, "demo")
	resp, body := get(t, c, ts.hs.URL+"/connect/Windows%20box")
	if resp.StatusCode == http.StatusOK {
		if !strings.Contains(body, "client.js") {
			t.Fatalf("connect page is not the web client:\n%s", body)
		}
	} else if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "make web") {
		t.Fatalf("connect: %s\n%s", resp.Status, body)
	}
	if resp, _ := get(t, c, ts.hs.URL+"/connect/nope"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown endpoint: %s", resp.Status)
	}
	if resp, _ := get(t, c, ts.hs.URL+"/static/"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/static/ listing: %s", resp.Status)
	}
	if _, err := fs.Stat(ts.web, "client.html"); err == nil { // built (make web)
		if resp, body := get(t, c, ts.hs.URL+"/static/client.html"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "<canvas") {
			t.Fatalf("/static/client.html: %s", resp.Status)
		}
	}
}

func TestReload(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	c := ts.loggedIn(t, "bob")
	// bob removed: his login stops working; demo stays.
	cfg, err := ParseConfig("t.yaml", []byte(strings.Replace(strings.Replace(testConfig, "https://", "http://", 1),
		"  - username: bob\n    password-hash: \""+testHash+"\"\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, c, ts.hs.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("removed user still logged in: %s", resp.Status)
	}
	if resp := ts.login(t, ts.client(), "bob", "demo"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("removed user can log in: %s", resp.Status)
	}
}

// wsDial opens /ws/NAME as a browser would.
func (ts *testServer) wsDial(t *testing.T, c *http.Client, path string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol}}
	}
	opts.HTTPClient = c
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.hs.URL, "http")+path, opts)
}

// readUntil reads messages until one of type want arrives, returning every message seen.
func readUntil(t *testing.T, conn *websocket.Conn, want wire.Type, timeout time.Duration) []wire.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []wire.Message
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %v: %v (got %v)", want, err, types(got))
		}
		found := false
		if err := wire.Decode(data, func(m wire.Message) error {
			got = append(got, copyMsg(m))
			found = found || m.Type() == want
			return nil
		}); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if found {
			return got
		}
	}
}

func copyMsg(m wire.Message) wire.Message {
	switch v := m.(type) {
	case wire.Image:
		v.Data = append([]byte(nil), v.Data...)
		return v
	case wire.Cursor:
		v.RGBA = append([]byte(nil), v.RGBA...)
		return v
	}
	return m
}

func types(ms []wire.Message) []wire.Type {
	var out []wire.Type
	for _, m := range ms {
		out = append(out, m.Type())
	}
	return out
}

func lastClose(t *testing.T, ms []wire.Message) wire.Close {
	t.Helper()
	c, ok := ms[len(ms)-1].(wire.Close)
	if !ok {
		t.Fatalf("last message %T, want CLOSE", ms[len(ms)-1])
	}
	return c
}

func TestWebsocketRefusals(t *testing.T) {
	// Credentials for the RDP endpoint, or it asks for them before finding the server gone.
	ts := newTestServer(t, strings.NewReplacer("https://", "http://",
		"    host: 127.0.0.1:3\n", "    host: 127.0.0.1:3\n    settings: {username: u, password: p}\n").Replace(testConfig))
	demo := ts.loggedIn(t, "demo")

	// no subprotocol: HTTP 400 before any upgrade
	_, resp, err := ts.wsDial(t, demo, "/ws/desk", &websocket.DialOptions{})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no subprotocol: %v %v", resp, err)
	}
	// another site's page: HTTP 403
	_, resp, err = ts.wsDial(t, demo, "/ws/desk", &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol},
		HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bad origin: %v %v", resp, err)
	}
	// public-url's origin is fine (the test dials another host name)
	if conn, _, err := ts.wsDial(t, demo, "/ws/nope", &websocket.DialOptions{Subprotocols: []string{wire.Subprotocol},
		HTTPHeader: http.Header{"Origin": {"http://gw.example"}}}); err != nil {
		t.Fatalf("public-url origin: %v", err)
	} else {
		conn.CloseNow()
	}

	for _, tc := range []struct {
		name   string
		client *http.Client
		path   string
		code   wire.CloseCode
		reason string
	}{
		{"no session", ts.client(), "/ws/desk", wire.CloseSessionEnded, "not logged in"},
		{"unknown endpoint", demo, "/ws/nope", wire.CloseForbidden, `no endpoint "nope"`},
		{"not in group", ts.loggedIn(t, "bob"), "/ws/secret", wire.CloseForbidden, `no endpoint "secret"`},
		{"setting not allowed", demo, "/ws/desk?password=x", wire.CloseForbidden, "not allowed"},
		{"bad width", demo, "/ws/desk?width=0", wire.CloseForbidden, "width"},
		{"rdp unreachable", demo, "/ws/Windows%20box", wire.CloseUnreachable, "could not be reached over RDP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _, err := ts.wsDial(t, tc.client, tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if conn.Subprotocol() != wire.Subprotocol {
				t.Fatalf("subprotocol %q", conn.Subprotocol())
			}
			cl := lastClose(t, readUntil(t, conn, wire.TypeClose, 5*time.Second))
			if cl.Code != tc.code || !strings.Contains(cl.Reason, tc.reason) {
				t.Fatalf("CLOSE %d %q; want %d containing %q", cl.Code, cl.Reason, tc.code, tc.reason)
			}
			_, _, err = conn.Read(context.Background())
			if websocket.CloseStatus(err) == -1 {
				t.Fatalf("after CLOSE: %v, want a websocket close", err)
			}
		})
	}
	_, body := ts.scrape(t)
	for _, want := range []string{`racgate_errors_total{kind="forbidden"} 6`, `racgate_errors_total{kind="client_error"} 1`,
		`racgate_errors_total{kind="unreachable"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `kind=""`) {
		t.Errorf("metrics count a normal end as an error:\n%s", body)
	}
}

// fakeRemote records input and can end or send events on demand.
type fakeRemote struct {
	mu        sync.Mutex
	events    []string
	w, h      int
	resizable bool
	ev        remoteEvents
	end       chan error
	closed    chan struct{}
	closeOnce sync.Once
}

func (f *fakeRemote) record(s string) error {
	f.mu.Lock()
	f.events = append(f.events, s)
	f.mu.Unlock()
	return nil
}

func (f *fakeRemote) Events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

func (f *fakeRemote) Run(ctx context.Context) error {
	select {
	case err := <-f.end:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-f.closed:
		return errors.New("closed")
	}
}
func (f *fakeRemote) Ready() <-chan struct{} { c := make(chan struct{}); close(c); return c }
func (f *fakeRemote) Close() error           { f.closeOnce.Do(func() { close(f.closed) }); return nil }
func (f *fakeRemote) Size() (int, int)       { return f.w, f.h }
func (f *fakeRemote) CanResize() bool        { return f.resizable }
func (f *fakeRemote) SetClipboard(c wire.ClipboardContent) error {
	if c.HTML == "" && c.PNG == nil {
		return f.record("clip " + c.Text)
	}
	return f.record(fmt.Sprintf("clip %s|%s|%d", c.Text, c.HTML, len(c.PNG)))
}
func (f *fakeRemote) SetScale(p int) { f.record("scale " + itoa(int64(p))) }
func (f *fakeRemote) KeyEvent(k uint32, code string, down bool) error {
	return f.record("key " + itoa(int64(k)) + " " + code + " " + map[bool]string{true: "down", false: "up"}[down])
}
func (f *fakeRemote) Pointer(b uint16, x, y int) error {
	return f.record("ptr " + itoa(int64(b)) + " " + itoa(int64(x)) + "," + itoa(int64(y)))
}
func (f *fakeRemote) Wheel(dx, dy, x, y int) error {
	return f.record("wheel " + itoa(int64(dx)) + " " + itoa(int64(dy)) + " " + itoa(int64(x)) + "," + itoa(int64(y)))
}
func (f *fakeRemote) SetDesktopSize(w, h int) error {
	return f.record("size " + itoa(int64(w)) + "x" + itoa(int64(h)))
}

type fakeDisplay struct{ nopSink }

func (fakeDisplay) NewViewer(func([]byte) error, func(time.Duration)) viewer { return &fakeViewer{} }
func (*fakeViewer) Refresh()                                                 {}

func (fakeDisplay) NewRecordingViewer(time.Duration, func([]byte) error) recordingViewer {
	return &fakeViewer{}
}
func (fakeDisplay) Close() {}

type fakeViewer struct {
	mu   sync.Mutex
	acks []uint32
}

func (v *fakeViewer) Run(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (v *fakeViewer) Ack(id uint32)                 { v.mu.Lock(); v.acks = append(v.acks, id); v.mu.Unlock() }
func (v *fakeViewer) Close()                        {}
func (v *fakeViewer) Stats() (uint64, time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return uint64(len(v.acks)), 0
}

// useFake makes every dial return a new fakeRemote, sent on the returned channel.
func (ts *testServer) useFake(dialErr error) chan *fakeRemote {
	ch := make(chan *fakeRemote, 8)
	ts.dial = func(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
		if dialErr != nil {
			return nil, nil, dialErr
		}
		f := &fakeRemote{w: 800, h: 600, resizable: true, ev: ev, end: make(chan error, 1), closed: make(chan struct{})}
		ch <- f
		return f, fakeDisplay{}, nil
	}
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func send(t *testing.T, conn *websocket.Conn, ms ...wire.Message) {
	t.Helper()
	var b []byte
	for _, m := range ms {
		b = m.Append(b)
	}
	if err := conn.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		t.Fatal(err)
	}
}

func TestSessionWithFakeRemote(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	remotes := ts.useFake(nil)
	demo := ts.loggedIn(t, "demo")
	conn, _, err := ts.wsDial(t, demo, "/ws/desk?width=1024&height=700", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	f := <-remotes
	ms := readUntil(t, conn, wire.TypeHello, 5*time.Second)
	h := ms[0].(wire.Hello)
	if h.Version != wire.Version || h.Kind != wire.KindDesktop || h.Name != "desk" ||
		h.Flags != wire.FlagResize|wire.FlagPaste|wire.FlagCopy|wire.FlagShare {
		t.Fatalf("HELLO %+v", h)
	}
	waitFor(t, "initial resize", func() bool { return len(f.Events()) > 0 })
	if ev := f.Events(); ev[0] != "size 1024x700" {
		t.Fatalf("first remote call %q, want the initial resize", ev[0])
	}

	// The limit is 1: a second connection to desk is refused while this one lives.
	conn2, _, err := ts.wsDial(t, demo, "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := lastClose(t, readUntil(t, conn2, wire.TypeClose, 5*time.Second))
	if cl.Code != wire.CloseLimit || !strings.Contains(cl.Reason, "maximum of 1 connections") {
		t.Fatalf("over the limit: %d %q", cl.Code, cl.Reason)
	}
	conn2.CloseNow()

	send(t, conn,
		wire.Key{Down: true, Keysym: 0x61, Code: "KeyA"}, wire.Key{Keysym: 0x61, Code: "KeyA"},
		wire.Pointer{X: 10, Y: 20, Buttons: wire.ButtonLeft | wire.ButtonBack},
		wire.Wheel{X: 11, Y: 21, DY: 2, DX: -1},
		wire.Wheel{X: 11, Y: 21, DY: 1000, DX: -1000}, // bounded
		wire.Wheel{X: 12, Y: 22},                      // no notch: nothing to send
		wire.Pointer{X: 11, Y: 21, Buttons: wire.ButtonForward},
		wire.Pointer{X: 11, Y: 21},
		wire.ClientClipboard{Text: "héllo"},
		wire.ClientClipboardContent{Text: "t", HTML: "<b>t</b>", PNG: []byte("\x89PNG\r\n\x1a\n")},
		wire.ResizeRequest{Width: 640, Height: 480},
		wire.ResizeRequest{Width: 800, Height: 600, Scale: 150},
		wire.Unknown{T: 0xf0, Payload: []byte{1, 2}},
		wire.Ack{ID: 1},
	)
	want := []string{"size 1024x700", "key 97 KeyA down", "key 97 KeyA up",
		"ptr 9 10,20", // left and back as the browser sent them (the adapters map them)
		"wheel -1 2 11,21", "wheel -32 32 11,21",
		"ptr 16 11,21", // forward
		"ptr 0 11,21", "clip héllo", "clip t|<b>t</b>|8", "size 640x480", "scale 150", "size 800x600"}
	waitFor(t, "input", func() bool { return len(f.Events()) >= len(want) })
	if got := f.Events(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("remote got\n%q\nwant\n%q", got, want)
	}

	// remote events reach the browser
	f.ev.Clipboard(wire.ClipboardContent{Text: "from remote"})
	f.ev.Bell()
	f.ev.Name("my desk")
	ms = readUntil(t, conn, wire.TypeName, 5*time.Second)
	if len(ms) != 3 || ms[0].(wire.Clipboard).Text != "from remote" || ms[1].Type() != wire.TypeBell {
		t.Fatalf("events: %#v", ms)
	}
	// More than text goes as CLIPBOARD_CONTENT, made valid; an image the message cannot
	// hold is left out with a notice, and the text goes as CLIPBOARD.
	f.ev.Clipboard(wire.ClipboardContent{Text: "a\xffb", HTML: "<i>a</i>", PNG: []byte("\x89PNG\r\n\x1a\n")})
	f.ev.Clipboard(wire.ClipboardContent{Text: "big", PNG: append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, wire.MaxServerMessage)...)})
	f.ev.Clipboard(wire.ClipboardContent{})
	f.ev.Bell()
	ms = readUntil(t, conn, wire.TypeBell, 5*time.Second)
	if want := (wire.ClipboardContent{Text: "a?b", HTML: "<i>a</i>", PNG: []byte("\x89PNG\r\n\x1a\n")}); len(ms) != 4 ||
		!reflect.DeepEqual(ms[0], want) || ms[1].Type() != wire.TypeNotice || ms[2] != (wire.Clipboard{Text: "big"}) {
		t.Fatalf("clipboard content: %#v", ms)
	}

	// the remote ends: CLOSE remote ended
	f.end <- io.EOF
	cl = lastClose(t, readUntil(t, conn, wire.TypeClose, 5*time.Second))
	if cl.Code != wire.CloseRemoteEnded {
		t.Fatalf("CLOSE %d %q, want remote ended", cl.Code, cl.Reason)
	}
	// the slot is free again
	waitFor(t, "lease release", func() bool { n, _ := ts.store.Count(context.Background(), "desk"); return n == 0 })
	_, body := ts.scrape(t)
	if !strings.Contains(body, `racgate_sessions_total{protocol="vnc"} 1`) || !strings.Contains(body, "racgate_frames_sent_total 1\n") ||
		!strings.Contains(body, `racgate_errors_total{kind="limit"} 1`) {
		t.Fatalf("metrics:\n%s", body)
	}
}

func TestSessionEnds(t *testing.T) {
	base := strings.Replace(testConfig, "https://", "http://", 1)
	tests := []struct {
		name    string
		yaml    string
		dialErr error
		query   string
		act     func(ts *testServer, c *http.Client, conn *websocket.Conn, f *fakeRemote)
		code    wire.CloseCode
		reason  string
	}{
		{name: "auth failed", dialErr: errRemoteAuth, code: wire.CloseAuthFailed, reason: "refused the credentials"},
		{name: "protocol error at dial", dialErr: errRemoteProtocol, code: wire.CloseProtocolError},
		{name: "unreachable", dialErr: errors.New("connection refused"), code: wire.CloseUnreachable, reason: "could not be reached"},
		{name: "protocol error later", act: func(_ *testServer, _ *http.Client, _ *websocket.Conn, f *fakeRemote) {
			f.end <- errRemoteProtocol
		}, code: wire.CloseProtocolError},
		{name: "timeout", yaml: strings.Replace(base, "  - name: lab\n", "  - name: lab\n    connection-timeout: 1s\n", 1),
			code: wire.CloseTimeout, reason: "time limit"},
		{name: "login expires", yaml: base + "session: {lifetime: 3s}\n", code: wire.CloseSessionEnded, reason: "login has expired"},
		{name: "shutdown", act: func(ts *testServer, _ *http.Client, _ *websocket.Conn, _ *fakeRemote) {
			go ts.Shutdown(context.Background())
		}, code: wire.CloseShutdown, reason: "racgate is shutting down"},
		{name: "logout", act: func(ts *testServer, c *http.Client, _ *websocket.Conn, _ *fakeRemote) {
			req, _ := http.NewRequest("POST", ts.hs.URL+"/logout", nil)
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}, code: wire.CloseSessionEnded, reason: "logged out"},
		{name: "malformed message", act: func(_ *testServer, _ *http.Client, conn *websocket.Conn, _ *fakeRemote) {
			conn.Write(context.Background(), websocket.MessageBinary, []byte{0x81, 2, 0, 0, 0, 1, 2})
		}, code: wire.CloseClientError, reason: "malformed"},
		{name: "text message", act: func(_ *testServer, _ *http.Client, conn *websocket.Conn, _ *fakeRemote) {
			conn.Write(context.Background(), websocket.MessageText, []byte("hi"))
		}, code: wire.CloseClientError},
		{name: "huge resize", act: func(_ *testServer, _ *http.Client, conn *websocket.Conn, _ *fakeRemote) {
			send(t, conn, wire.ResizeRequest{Width: 60000, Height: 10})
		}, code: wire.CloseClientError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := base
			if tc.yaml != "" {
				y = tc.yaml
			}
			ts := newTestServer(t, y)
			remotes := ts.useFake(tc.dialErr)
			c := ts.loggedIn(t, "demo")
			conn, _, err := ts.wsDial(t, c, "/ws/desk"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if tc.dialErr == nil {
				f := <-remotes
				readUntil(t, conn, wire.TypeHello, 5*time.Second)
				if tc.act != nil {
					tc.act(ts, c, conn, f)
				}
			}
			cl := lastClose(t, readUntil(t, conn, wire.TypeClose, 5*time.Second))
			if cl.Code != tc.code || !strings.Contains(cl.Reason, tc.reason) {
				t.Fatalf("CLOSE %d %q; want %d containing %q", cl.Code, cl.Reason, tc.code, tc.reason)
			}
		})
	}
}

func TestClosingTabEndsRemote(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	remotes := ts.useFake(nil)
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := <-remotes
	readUntil(t, conn, wire.TypeHello, 5*time.Second)
	conn.Close(websocket.StatusGoingAway, "tab closed")
	select {
	case <-f.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("remote not closed after the tab closed")
	}
	waitFor(t, "session gone", func() bool { return ts.metrics.sessionsActive.Load() == 0 })
	// A tab closed is how sessions end every day: no error text in the log.
	waitFor(t, "session end logged", func() bool { return len(ts.logs.lines(`msg="session end"`)) == 1 })
	if l := ts.logs.lines(`msg="session end"`)[0]; strings.Contains(l, "err=") || !strings.Contains(l, `reason="The browser closed the connection."`) {
		t.Errorf("a closed tab is logged as %s", l)
	}

	// A connection that drops without a close handshake is still logged with its error.
	conn, _, err = ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	<-remotes
	readUntil(t, conn, wire.TypeHello, 5*time.Second)
	conn.CloseNow()
	waitFor(t, "second session end logged", func() bool { return len(ts.logs.lines(`msg="session end"`)) == 2 })
	if l := ts.logs.lines(`msg="session end"`)[1]; !strings.Contains(l, "err=") {
		t.Errorf("a dropped connection is logged without its error: %s", l)
	}
}

func TestReadOnlyAndNoPaste(t *testing.T) {
	y := strings.Replace(testConfig, "https://", "http://", 1)
	y = strings.Replace(y, "    connection-settings: [read-only]\n", "    connection-settings: [read-only]\n    settings: {disable-paste: true, disable-copy: true}\n", 1)
	ts := newTestServer(t, y)
	remotes := ts.useFake(nil)
	c := ts.loggedIn(t, "demo")
	conn, _, err := ts.wsDial(t, c, "/ws/desk?read-only=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	f := <-remotes
	h := readUntil(t, conn, wire.TypeHello, 5*time.Second)[0].(wire.Hello)
	if h.Flags != wire.FlagShare|wire.FlagViewOnly { // an owner may share a view of a read-only session
		t.Fatalf("HELLO flags %b, want view-only and share (read-only, no copy, no paste)", h.Flags)
	}
	send(t, conn, wire.Key{Down: true, Keysym: 0x61}, wire.ClientClipboard{Text: "x"}, wire.Pointer{X: 1, Y: 1})
	f.ev.Clipboard(wire.ClipboardContent{Text: "secret", HTML: "<b>secret</b>"})
	f.ev.Bell()
	ms := readUntil(t, conn, wire.TypeBell, 5*time.Second)
	if len(ms) != 1 {
		t.Fatalf("clipboard leaked despite disable-copy: %#v", ms)
	}
	if ev := f.Events(); len(ev) != 0 {
		t.Fatalf("read-only session sent input: %q", ev)
	}
}

func TestDeadBrowserEndsSession(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	ts.pingInterval, ts.pingTimeout = 100*time.Millisecond, time.Second
	remotes := ts.useFake(nil)
	c := ts.loggedIn(t, "demo")
	dial := func(path string) (*websocket.Conn, *fakeRemote) {
		conn, _, err := ts.wsDial(t, c, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		f := <-remotes
		readUntil(t, conn, wire.TypeHello, 5*time.Second)
		return conn, f
	}
	// A keeps reading, so it answers pings (coder/websocket pongs while a Read is pending).
	alive, fAlive := dial("/ws/secret")
	go func() {
		for {
			if _, _, err := alive.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	// B never reads again: no pongs.
	_, fDead := dial("/ws/desk")
	select {
	case <-fDead.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("remote still open with a browser that does not answer")
	}
	waitFor(t, "lease release", func() bool { n, _ := ts.store.Count(context.Background(), "desk"); return n == 0 })
	select {
	case <-fAlive.closed:
		t.Fatal("the session of a browser that answers pings ended")
	default:
	}
}
