package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAllowedOriginsConfig(t *testing.T) {
	for _, bad := range []string{"https://a.example/path", "ftp://a.example", "a.example", "https://u@a.example", "https://a.example?q"} {
		_, err := ParseConfig("t.yaml", []byte(testConfig+"allowed-origins: [\""+bad+"\"]\n"))
		if err == nil || !strings.Contains(err.Error(), "t.yaml:") || !strings.Contains(err.Error(), "allowed-origins") {
			t.Errorf("allowed-origins %q: %v", bad, err)
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
