package gateway

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/authz"
)

// attempt posts a login from addr and returns the status, Retry-After and page.
func (ts *testServer) attempt(t *testing.T, addr, user, pass string) (int, int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.hs.URL+"/login", strings.NewReader(url.Values{"username": {user}, "password": {pass}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(testRemoteHeader, addr+":40000")
	resp, err := ts.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, ra, string(b)
}

// lines returns the log lines so far that contain sub.
func (l *logTee) lines(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.b.String()) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}

// TestLoginThrottleUser: after user-attempts failures a user name waits 1 s, then 2 s
// after the next failure, even with the right password and from another address; a
// success after the wait clears the count. An unknown name is treated the same.
func TestLoginThrottleUser(t *testing.T) {
	ts := newTestServer(t, testConfig+"login-throttle: {user-attempts: 3, address-attempts: 1000, max-backoff: 4s}\n")
	ts.signin.LoginFloor = 0
	for _, user := range []string{"bob", "ghost"} {
		t.Run(user, func(t *testing.T) {
			pass := map[string]string{"bob": "demo", "ghost": "anything"}[user]
			want := func(step string, gotStatus, gotRetry int, body string, status, retry int, text string) {
				t.Helper()
				if gotStatus != status || gotRetry != retry || !strings.Contains(body, text) {
					t.Fatalf("%s: %d Retry-After %d; want %d Retry-After %d with %q\n%s", step, gotStatus, gotRetry, status, retry, text, body)
				}
			}
			for i := range 2 {
				st, ra, body := ts.attempt(t, "192.0.2.1", user, "wrong")
				want("failure "+strconv.Itoa(i+1), st, ra, body, http.StatusUnauthorized, 0, "Wrong username or password.")
				if strings.Contains(body, "Too many") {
					t.Fatalf("failure %d already throttled", i+1)
				}
			}
			st, ra, body := ts.attempt(t, "192.0.2.1", user, "wrong")
			want("third failure", st, ra, body, http.StatusUnauthorized, 0, "Too many failed logins: try again in 1 s.")
			// The right password does not help, nor does another address.
			st, ra, body = ts.attempt(t, "198.51.100.7", user, pass)
			want("right password while throttled", st, ra, body, http.StatusTooManyRequests, 1, "Too many failed logins: try again in 1 s.")

			time.Sleep(1100 * time.Millisecond) // the first back-off
			st, ra, body = ts.attempt(t, "192.0.2.1", user, "wrong")
			want("fourth failure", st, ra, body, http.StatusUnauthorized, 0, "try again in 2 s.")
			st, ra, _ = ts.attempt(t, "192.0.2.1", user, pass)
			want("right password after the fourth failure", st, ra, "", http.StatusTooManyRequests, 2, "")

			time.Sleep(1100 * time.Millisecond) // half the second back-off: still held
			st, ra, _ = ts.attempt(t, "192.0.2.1", user, pass)
			want("half-way through the second back-off", st, ra, "", http.StatusTooManyRequests, 1, "")

			time.Sleep(1000 * time.Millisecond)
			st, _, _ = ts.attempt(t, "192.0.2.1", user, pass)
			if user == "bob" {
				if st != http.StatusSeeOther {
					t.Fatalf("right password after the back-off: %d", st)
				}
				// The success cleared bob's count: a failure is free again.
				st, ra, body = ts.attempt(t, "192.0.2.1", user, "wrong")
				want("failure after a success", st, ra, body, http.StatusUnauthorized, 0, "Wrong username or password.")
				if strings.Contains(body, "Too many") {
					t.Fatal("a success did not clear the count")
				}
			} else if st != http.StatusUnauthorized {
				t.Fatalf("unknown user after the back-off: %d", st)
			}
		})
	}
	_, metrics := ts.scrape(t)
	for _, want := range []string{`racgate_login_throttled_total{by="user"} 6`, `racgate_logins_total{result="throttled"} 6`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if got := ts.logs.lines(`msg="login throttled"`); len(got) != 6 || !strings.Contains(got[0], "by=user") || !strings.Contains(got[0], "retry_after=1") {
		t.Errorf("throttle log lines: %q", got)
	}
}

// TestLoginThrottleAddress: one address guessing at many names is held after
// address-attempts failures, whichever name it tries next; other addresses are not.
func TestLoginThrottleAddress(t *testing.T) {
	ts := newTestServer(t, testConfig+"login-throttle: {user-attempts: 100, address-attempts: 4, max-backoff: 1m}\n")
	ts.signin.LoginFloor = 0
	for i := range 3 {
		if st, _, _ := ts.attempt(t, "203.0.113.9", "user"+strconv.Itoa(i), "x"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, st)
		}
	}
	// A success from the address (an account the guesser holds) does not reset its count.
	if st, _, _ := ts.attempt(t, "203.0.113.9", "bob", "demo"); st != http.StatusSeeOther {
		t.Fatalf("bob's login: %d", st)
	}
	if st, _, _ := ts.attempt(t, "203.0.113.9", "user3", "x"); st != http.StatusUnauthorized {
		t.Fatalf("failure 4: %d", st)
	}
	if st, ra, _ := ts.attempt(t, "203.0.113.9", "demo", "demo"); st != http.StatusTooManyRequests || ra != 1 {
		t.Fatalf("the address after 4 failures: %d Retry-After %d", st, ra)
	}
	if st, _, _ := ts.attempt(t, "203.0.113.10", "demo", "demo"); st != http.StatusSeeOther {
		t.Fatalf("another address: %d", st)
	}
	// An IPv6 client is counted by its /64: another address in it is the same client.
	for i := range 4 {
		ts.attempt(t, "[2001:db8:1:2::"+strconv.Itoa(i+1)+"]", "v6user"+strconv.Itoa(i), "x")
	}
	if st, _, _ := ts.attempt(t, "[2001:db8:1:2:ffff::9]", "demo", "demo"); st != http.StatusTooManyRequests {
		t.Fatalf("same /64: %d", st)
	}
	if st, _, _ := ts.attempt(t, "[2001:db8:1:3::1]", "demo", "demo"); st != http.StatusSeeOther {
		t.Fatalf("another /64: %d", st)
	}
	if _, m := ts.scrape(t); !strings.Contains(m, `racgate_login_throttled_total{by="address"} 2`) {
		t.Errorf("metrics:\n%s", m)
	}
}

// TestLoginFloodDoesNotHoldOthers: eight clients flooding wrong passwords from one address
// get fast refusals that cost no bcrypt check, so the bcrypt queue another person's login
// waits in stays short. (What is asserted is the number of checks the flood got, which
// does not depend on how loaded the machine is; the latencies are logged.)
func TestLoginFloodDoesNotHoldOthers(t *testing.T) {
	hash, err := authz.HashPassword("s3cret", 8)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(testConfig, testHash, hash) + "login-throttle: {user-attempts: 5, address-attempts: 1000, max-backoff: 1m}\n"
	ts := newTestServer(t, y)
	ts.signin.LoginFloor = 0
	timed := func() time.Duration {
		start := time.Now()
		if st, _, _ := ts.attempt(t, "198.51.100.1", "demo", "s3cret"); st != http.StatusSeeOther {
			t.Fatalf("demo's login: %d", st)
		}
		return time.Since(start)
	}
	alone := timed()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	start := time.Now()
	for i := range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, _, _ := ts.attempt(t, "192.0.2.66", "bob"+strconv.Itoa(i%2), "guess")
				mu.Lock()
				codes[st]++
				mu.Unlock()
			}
		})
	}
	var during []time.Duration
	for range 3 {
		during = append(during, timed())
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("demo's login alone %v, during the flood %v; flood answers in %v: %v", alone, during, elapsed, codes)
	// Each of the two names gets 5 checks, then one more each time a back-off (1s, 2s,
	// 4s...) has run out within the flood, and not one more: guesses sent at once are
	// looked at again once they hold the bcrypt slot.
	windows := 0
	for w, t := time.Second, time.Duration(0); t+w <= elapsed; w *= 2 {
		t += w
		windows++
	}
	if checked, most := codes[http.StatusUnauthorized], 2*(5+windows); checked > most || codes[http.StatusTooManyRequests] == 0 {
		t.Fatalf("the flood got %d bcrypt checks in %v (at most %d): %v", checked, elapsed, most, codes)
	}
}

// TestLoginTiming: a failed login is answered no sooner than loginFloor after it came, for
// an unknown name as for a wrong password, although the users' hashes have different
// costs: the answer's timing does not tell which names exist.
func TestLoginTiming(t *testing.T) {
	slow, err := authz.HashPassword("demo", 8)
	if err != nil {
		t.Fatal(err)
	}
	// demo has a cost-8 hash; bob (last) keeps the cost-4 one.
	y := strings.Replace(testConfig, testHash, slow, 1) + "login-throttle: false\n"
	ts := newTestServer(t, y)
	ts.signin.LoginFloor = time.Second // above a cost-8 check even under the race detector
	measure := func(user string) time.Duration {
		start := time.Now()
		if st, _, _ := ts.attempt(t, "192.0.2.5", user, "wrong"); st != http.StatusUnauthorized {
			t.Fatalf("%s: %d", user, st)
		}
		d := time.Since(start)
		if d < ts.signin.LoginFloor {
			t.Fatalf("%s: failed login answered after %v, before the floor %v", user, d, ts.signin.LoginFloor)
		}
		return d
	}
	var known, unknown []time.Duration
	for range 4 {
		known = append(known, measure("demo"))
		unknown = append(unknown, measure("nobody-by-that-name"))
	}
	slices.Sort(known)
	slices.Sort(unknown)
	k, u := known[len(known)/2], unknown[len(unknown)/2]
	t.Logf("median failed login: known user %v, unknown user %v", k, u)
	if d := (k - u).Abs(); d > 40*time.Millisecond {
		t.Fatalf("failed logins differ by %v (known %v, unknown %v)", d, k, u)
	}
}

// TestLoginThrottleShared: failures counted on one instance hold the user name on another
// that shares the Redis store.
func TestLoginThrottleShared(t *testing.T) {
	c := startCluster(t, 2)
	for _, g := range c.gws {
		g.signin.LoginFloor = 0
	}
	for i := range 5 {
		if resp := c.gws[i%2].login(t, c.gws[i%2].client(), "bob", "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %s", i+1, resp.Status)
		}
	}
	for i, g := range c.gws {
		resp := g.login(t, g.client(), "bob", "demo")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("gw%d after five failures across both: %s Retry-After %q", i, resp.Status, resp.Header.Get("Retry-After"))
		}
	}
	c.logs.noStoreErrors(t)
}
