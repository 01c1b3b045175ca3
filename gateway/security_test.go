package gateway

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSameOrigin(t *testing.T) {
	withPublic := strings.Replace(testConfig, "public-url: https://gw.example\n",
		"public-url: https://gw.example\nallowed-origins: [https://portal.example:8443, http://other.example]\n", 1)
	noPublic := strings.Replace(testConfig, "public-url: https://gw.example\n", "allowed-origins: [https://portal.example]\n", 1)
	tests := []struct {
		name, yaml, host, origin string
		tls                      bool
		ok                       bool
	}{
		{"no Origin: not a browser", withPublic, "gw.example", "", false, true},
		{"public-url", withPublic, "gw.example", "https://gw.example", false, true},
		{"public-url, default port written", withPublic, "gw.example", "https://gw.example:443", false, true},
		{"public-url, case", withPublic, "gw.example", "HTTPS://GW.Example", false, true},
		{"public-url's host, other scheme", withPublic, "gw.example", "http://gw.example", false, false},
		{"public-url's host, other port", withPublic, "gw.example", "https://gw.example:8443", false, false},
		{"suffix of public-url", withPublic, "gw.example", "https://evil-gw.example", false, false},
		{"public-url as a suffix", withPublic, "gw.example", "https://gw.example.evil.example", false, false},
		{"own Host with public-url set (DNS rebinding)", withPublic, "rebound.example", "http://rebound.example", false, false},
		{"allowed origin", withPublic, "gw.example", "https://portal.example:8443", false, true},
		{"allowed origin, other port", withPublic, "gw.example", "https://portal.example", false, false},
		{"allowed http origin", withPublic, "gw.example", "http://other.example", false, true},
		{"null", withPublic, "gw.example", "null", false, false},
		{"garbage", withPublic, "gw.example", "gw.example", false, false},
		{"with a path", withPublic, "gw.example", "https://gw.example/x", false, false},
		{"with a user", withPublic, "gw.example", "https://u@gw.example", false, false},
		{"no public-url: own Host", noPublic, "racgate.lan:8080", "http://racgate.lan:8080", false, true},
		{"no public-url: own Host behind a TLS proxy", noPublic, "racgate.lan", "https://racgate.lan", false, true},
		{"no public-url: own Host over TLS", noPublic, "racgate.lan", "https://racgate.lan", true, true},
		{"no public-url: http Origin while serving TLS", noPublic, "racgate.lan", "http://racgate.lan", true, false},
		{"no public-url: other host", noPublic, "racgate.lan", "http://evil.example", false, false},
		{"no public-url: other port", noPublic, "racgate.lan:8080", "http://racgate.lan:8081", false, false},
		{"no public-url: Host as suffix", noPublic, "racgate.lan", "http://evilracgate.lan", false, false},
		{"no public-url: allowed origin", noPublic, "racgate.lan", "https://portal.example", false, true},
		{"no public-url: null", noPublic, "racgate.lan", "null", false, false},
	}
	servers := map[string]*Server{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := servers[tc.yaml]
			if s == nil {
				s = newTestServer(t, tc.yaml).Server
				servers[tc.yaml] = s
			}
			r := httptest.NewRequest("POST", "/login", nil)
			r.Host = tc.host
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := s.sameOrigin(r); got != tc.ok {
				t.Fatalf("sameOrigin(Host %s, Origin %q, tls %v) = %v, want %v", tc.host, tc.origin, tc.tls, got, tc.ok)
			}
		})
	}
}

func TestAllowedOriginsConfig(t *testing.T) {
	for _, bad := range []string{"https://a.example/path", "ftp://a.example", "a.example", "https://u@a.example", "https://a.example?q"} {
		_, err := ParseConfig("t.yaml", []byte(testConfig+"allowed-origins: [\""+bad+"\"]\n"))
		if err == nil || !strings.Contains(err.Error(), "t.yaml:") || !strings.Contains(err.Error(), "allowed-origins") {
			t.Errorf("allowed-origins %q: %v", bad, err)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/connect/desk", "/connect/desk"},
		{"/connect/Windows%20box?width=3", "/connect/Windows%20box?width=3"},
		{"/", "/"},
		{"", "/"},
		{"//evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"\t//evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"https://evil.example", "/"},
		{"evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{" /x", "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// What the browser would do with the Location: stay on this origin.
		base, _ := url.Parse("https://gw.example/login")
		if u, err := base.Parse(strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(safeNext(tc.in))); err != nil || u.Host != "gw.example" {
			t.Errorf("safeNext(%q) = %q leads to %v (%v)", tc.in, safeNext(tc.in), u, err)
		}
	}
}

// TestLoginRedirectTarget: the whole flow, from the form's next to Location.
func TestLoginRedirectTarget(t *testing.T) {
	ts := newTestServer(t, testConfig)
	for next, want := range map[string]string{"/connect/desk": "/connect/desk", "/\t/evil.example": "/", "/\\evil.example": "/"} {
		resp, err := ts.client().PostForm(ts.hs.URL+"/login", url.Values{"username": {"demo"}, "password": {"demo"}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("next %q: %s Location %q, want %q", next, resp.Status, resp.Header.Get("Location"), want)
		}
	}
}

// TestStalledBody: POSTs whose body stops coming are cut at the body deadline, many at
// once, while other requests are served; a keep-alive connection whose body came whole
// is not cut by it later.
func TestStalledBody(t *testing.T) {
	ts := newTestServer(t, testConfig)
	ts.bodyTimeout = 500 * time.Millisecond
	addr := strings.TrimPrefix(ts.hs.URL, "http://")

	const n = 20
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=u%d", addr, i)
			// The server must answer or close by itself; the test gives it 5 s.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil {
				errs <- fmt.Errorf("stalled POST %d still open: %w", i, err)
			}
		})
	}
	// Meanwhile an ordinary login is answered.
	if resp := ts.login(t, ts.client(), "demo", "demo"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login during the stalled posts: %s", resp.Status)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stalled posts took %v to be cut; the deadline is %v", d, ts.bodyTimeout)
	}

	// One keep-alive connection: a whole POST, then a GET three deadlines later.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	body := "username=demo&password=wrong"
	fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", resp.Status)
	}
	time.Sleep(3 * ts.bodyTimeout) // past the deadline the POST had: it must be lifted
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("keep-alive connection after a whole POST: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz on the kept-alive connection: %s", resp.Status)
	}
}

func TestMetricsAccess(t *testing.T) {
	dir := t.TempDir()
	metricsToken, adminToken := strings.Repeat("m", 40), strings.Repeat("a", 40)
	os.WriteFile(filepath.Join(dir, "metrics.token"), []byte(metricsToken+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminToken), 0o600)
	yaml := testConfig + "admin-group: admins\nadmin-token-file: " + filepath.Join(dir, "admin.token") +
		"\nmetrics:\n  listen: 127.0.0.1:0\n  token-file: " + filepath.Join(dir, "metrics.token") + "\n"
	ts := newTestServer(t, yaml)
	if ts.cfg.Metrics.Listen != "127.0.0.1:0" {
		t.Fatalf("metrics.listen = %q", ts.cfg.Metrics.Listen)
	}
	bearer := func(tok string) *http.Request {
		r, _ := http.NewRequest("GET", ts.hs.URL+"/metrics", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		req    *http.Request
		status int
	}{
		{"nobody", ts.client(), nil, http.StatusUnauthorized},
		{"a user outside admin-group", ts.loggedIn(t, "bob"), nil, http.StatusUnauthorized},
		{"an administrator", ts.loggedIn(t, "demo"), nil, http.StatusOK},
		{"metrics token", ts.client(), bearer(metricsToken), http.StatusOK},
		{"admin token", ts.client(), bearer(adminToken), http.StatusOK},
		{"wrong token", ts.client(), bearer(strings.Repeat("m", 39)), http.StatusUnauthorized},
		{"token prefix", ts.client(), bearer(metricsToken[:20]), http.StatusUnauthorized},
		{"empty token", ts.client(), bearer(""), http.StatusUnauthorized},
	} {
		req := tc.req
		if req == nil {
			req, _ = http.NewRequest("GET", ts.hs.URL+"/metrics", nil)
		}
		resp, err := tc.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d", tc.name, resp.Status, tc.status)
		}
		if leaked := strings.Contains(string(b), "racgate_sessions_active"); leaked != (tc.status == http.StatusOK) {
			t.Errorf("%s: body has the metrics: %v", tc.name, leaked)
		}
	}
	// The separate listener's handler asks nothing.
	if resp, body := ts.scrape(t); resp.StatusCode != http.StatusOK || !strings.Contains(body, "racgate_sessions_active") {
		t.Fatalf("MetricsHandler: %s\n%s", resp.Status, body)
	}
	// Without a token file nor admin-group, only metrics.listen can read them.
	bare := newTestServer(t, testConfig)
	resp, _ := get(t, bare.loggedIn(t, "demo"), bare.hs.URL+"/metrics")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no admin-group: %s", resp.Status)
	}
}

func TestMetricsConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"metrics: {listen: nope}\n", "metrics.listen"},
		{"metrics: {token-file: /nonexistent/racgate-token}\n", "metrics.token-file"},
		{"metrics: {bogus: 1}\n", "metrics.bogus"},
		{"login-throttle: {user-attempts: 0}\n", "login-throttle.user-attempts"},
		{"login-throttle: {max-backoff: 100ms}\n", "login-throttle.max-backoff"},
		{"login-throttle: true\n", "login-throttle"},
		{"store: {memory: {state-file: x}, redis: {addrs: [127.0.0.1:1]}}\n", "store"},
	} {
		_, err := ParseConfig("t.yaml", []byte(testConfig+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.yaml:") {
			t.Errorf("%q: %v, want an error at %s", tc.yaml, err, tc.want)
		}
	}
	c, err := ParseConfig("t.yaml", []byte(testConfig+"login-throttle: false\n"))
	if err != nil || !c.LoginThrottle.Disabled {
		t.Fatalf("login-throttle: false: %v %+v", err, c)
	}
}
