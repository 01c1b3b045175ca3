package gateway

import (
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/render/wire"
)

// TestReloadEndsWithdrawnSessions: a reload that takes access away ends the sessions it
// no longer allows, with a reason the user reads, and leaves the others running.
func TestReloadEndsWithdrawnSessions(t *testing.T) {
	base := strings.Replace(testConfig, "https://", "http://", 1)
	base = strings.Replace(base, "    maximum-connections: 1\n", "", 1) // several sessions on desk
	newHash, err := authz.HashPassword("changed", 4)
	if err != nil {
		t.Fatal(err)
	}
	bobUser := "  - username: bob\n    password-hash: \"" + testHash + "\"\n"
	tests := []struct {
		name   string
		edit   func(string) string
		code   wire.CloseCode
		reason string
	}{
		{"user removed", func(y string) string { return strings.Replace(y, bobUser, "", 1) },
			wire.CloseSessionEnded, "account was removed"},
		{"endpoint removed", func(y string) string {
			return strings.Replace(y, "  - name: desk\n    provider: lab\n    protocol: vnc\n    host: 127.0.0.1:1\n    connection-settings: [read-only]\n", "", 1)
		}, wire.CloseForbidden, `endpoint "desk" was removed`},
		{"user out of the endpoint's groups", func(y string) string {
			return strings.Replace(y, "    connection-settings: [read-only]\n", "    connection-settings: [read-only]\n    groups: [admins]\n", 1)
		}, wire.CloseForbidden, `no longer have access to "desk"`},
		{"password changed", func(y string) string {
			return strings.Replace(y, bobUser, "  - username: bob\n    password-hash: \""+newHash+"\"\n", 1)
		}, wire.CloseSessionEnded, "password was changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, base)
			remotes := ts.useFake(nil)
			bob, demo := ts.loggedIn(t, "bob"), ts.loggedIn(t, "demo")
			bobConn := ts.openEndpoint(t, bob, "desk")
			<-remotes // bob's
			demoConn := ts.openEndpoint(t, demo, "secret")

			// An unrelated reload changes nothing.
			same, err := ParseConfig("t.yaml", []byte(base))
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.Reload(same); err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig("t.yaml", []byte(tc.edit(base)))
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.Reload(cfg); err != nil {
				t.Fatal(err)
			}
			cl := lastClose(t, readUntil(t, bobConn, wire.TypeClose, 5*time.Second))
			if cl.Code != tc.code || !strings.Contains(cl.Reason, tc.reason) {
				t.Fatalf("bob's session: CLOSE %d %q, want %d containing %q", cl.Code, cl.Reason, tc.code, tc.reason)
			}
			bobConn.CloseNow() // as the browser does after CLOSE
			// demo's session was not touched: bob's is gone, demo's still counts, and
			// its input still reaches the remote.
			waitFor(t, "bob's session to go", func() bool { return ts.metrics.sessionsActive.Load() == 1 })
			send(t, demoConn, wire.ClientClipboard{Text: "still here"})
			demoRemote := <-remotes
			waitFor(t, "demo's input", func() bool { return slices.Contains(demoRemote.Events(), "clip still here") })
			if tc.name == "password changed" {
				if resp, _ := get(t, bob, ts.hs.URL+"/"); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("bob's cookie from before the password change: %s", resp.Status)
				}
				if conn, _, err := ts.wsDial(t, bob, "/ws/desk", nil); err == nil {
					cl := lastClose(t, readUntil(t, conn, wire.TypeClose, 5*time.Second))
					conn.CloseNow()
					if cl.Code != wire.CloseSessionEnded {
						t.Fatalf("websocket with the old cookie: CLOSE %d %q", cl.Code, cl.Reason)
					}
				}
				if resp := ts.login(t, ts.client(), "bob", "changed"); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("login with the new password: %s", resp.Status)
				}
			}
		})
	}
}

// openEndpoint opens /ws/NAME and waits for HELLO.
func (ts *testServer) openEndpoint(t *testing.T, c *http.Client, name string) *websocket.Conn {
	t.Helper()
	conn, _, err := ts.wsDial(t, c, "/ws/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	readUntil(t, conn, wire.TypeHello, 5*time.Second)
	return conn
}

// TestLogoutSurvivesRestart: with the memory store and a fixed cookie key, a logged-out
// cookie stays refused after a restart; with a state-file other logins survive it, and
// without one every login from before the start is refused.
func TestLogoutSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "session.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("k", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(testConfig, "https://", "http://", 1) + "session: {secret-file: " + key + "}\n"
	withState := base + "store: {memory: {state-file: " + filepath.Join(dir, "racgate.state") + "}}\n"

	// restart runs a fresh server on the same config, as a restarted process would.
	restart := func(t *testing.T, yaml string) *testServer {
		// Cookies carry whole seconds: start in a later second than the logins.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		return newTestServer(t, yaml)
	}
	cookieOf := func(c *http.Client, ts *testServer) *http.Cookie {
		u, _ := http.NewRequest("GET", ts.hs.URL+"/", nil)
		for _, ck := range c.Jar.Cookies(u.URL) {
			if ck.Name == signin.CookieName {
				return ck
			}
		}
		t.Fatal("no login cookie")
		return nil
	}
	status := func(ts *testServer, ck *http.Cookie) int {
		req, _ := http.NewRequest("GET", ts.hs.URL+"/", nil)
		req.AddCookie(ck)
		resp, err := ts.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("state-file", func(t *testing.T) {
		ts := newTestServer(t, withState)
		out, stay := ts.loggedIn(t, "bob"), ts.loggedIn(t, "demo")
		outCk, stayCk := cookieOf(out, ts), cookieOf(stay, ts)
		req, _ := http.NewRequest("POST", ts.hs.URL+"/logout", nil)
		resp, err := out.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if status(ts, outCk) != http.StatusSeeOther || status(ts, stayCk) != http.StatusOK {
			t.Fatal("logout before the restart")
		}
		ts.Close()
		for i := range 2 { // and again: the file is read back and kept on
			ts = restart(t, withState)
			if got := status(ts, outCk); got != http.StatusSeeOther {
				t.Fatalf("restart %d: logged-out cookie answered %d", i+1, got)
			}
			if got := status(ts, stayCk); got != http.StatusOK {
				t.Fatalf("restart %d: a login that did not log out answered %d", i+1, got)
			}
			ts.Close()
		}
	})
	t.Run("no state-file", func(t *testing.T) {
		ts := newTestServer(t, base)
		c := ts.loggedIn(t, "demo")
		ck := cookieOf(c, ts)
		if status(ts, ck) != http.StatusOK {
			t.Fatal("login before the restart")
		}
		ts.Close()
		ts = restart(t, base)
		if got := status(ts, ck); got != http.StatusSeeOther {
			t.Fatalf("a login from before the restart answered %d", got)
		}
		if resp := ts.login(t, ts.client(), "demo", "demo"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a new login after the restart: %s", resp.Status)
		}
	})
}

// TestNewServerFailureLeaksNothing: a NewServer that fails part-way (a state-file it
// cannot use) leaves no goroutine behind.
func TestNewServerFailureLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "racgate.state")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig("t.yaml", []byte(testConfig+"store: {memory: {state-file: "+bad+"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	before := goroutines()
	if _, err := NewServer(cfg, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("NewServer with a corrupt state-file: %v", err)
	}
	waitFor(t, "no goroutines left by the failed NewServer", func() bool { return goroutines() <= before })
	// And one that succeeds gives them all back on Close.
	s, err := NewServer(cfg0(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if goroutines() <= before {
		t.Fatal("a working server runs no goroutines? (the check above would prove nothing)")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no goroutines left after Close", func() bool { return goroutines() <= before })
}

func goroutines() int { return runtime.NumGoroutine() }

func cfg0(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := ParseConfig("t.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestExpiredSlotEndsSession: a lease the store ended because its slot expired (a paused
// instance whose slot another took) ends the session with CLOSE limit and says why.
func TestExpiredSlotEndsSession(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	ts.useFake(nil)
	conn := ts.openEndpoint(t, ts.loggedIn(t, "bob"), "desk")
	conns, err := ts.store.Connections(t.Context())
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections: %v %v", conns, err)
	}
	if err := ts.store.Terminate(t.Context(), conns[0].ID, store.ReasonExpired); err != nil {
		t.Fatal(err)
	}
	cl := lastClose(t, readUntil(t, conn, wire.TypeClose, 5*time.Second))
	if cl.Code != wire.CloseLimit || !strings.Contains(cl.Reason, "slot expired") {
		t.Fatalf("CLOSE %d %q", cl.Code, cl.Reason)
	}
}
