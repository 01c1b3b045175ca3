package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// TestAuditTrail: logins, a failed login, a policy's refusal, a connection's start and
// end (with its bytes and duration) and a logout each write one JSON line with the
// fields docs/audit.md lists.
func TestAuditTrail(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	y := strings.Replace(testConfig, "host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    policies: [no-bob]\n", 1) +
		"policies:\n  - name: no-bob\n    expression: user.username != \"bob\"\naudit-log: " + file + "\ninstance: gw-audit\n"
	ts := newTestServer(t, y)
	if resp := ts.login(t, ts.client(), "demo", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", resp.Status)
	}
	demo := ts.loggedIn(t, "demo")
	conn, _, err := ts.wsDial(t, demo, "/ws/desk?width=320&height=240", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(wire.MaxServerMessage)
	readUntil(t, conn, wire.TypeFrame, 15*time.Second)
	if err := conn.Write(context.Background(), websocket.MessageBinary, wire.Pointer{X: 10, Y: 10}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // read before the close
	conn.Close(websocket.StatusNormalClosure, "")
	bob := ts.loggedIn(t, "bob")
	bc, _, err := ts.wsDial(t, bob, "/ws/desk?width=320&height=240", nil)
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, bc, wire.TypeClose, 10*time.Second)
	bc.CloseNow()
	req, _ := http.NewRequest("POST", ts.hs.URL+"/logout", nil)
	if _, err := demo.Do(req); err != nil {
		t.Fatal(err)
	}

	want := map[string]func(map[string]any) bool{
		"login_failed": func(m map[string]any) bool { return m["user"] == "demo" },
		"login": func(m map[string]any) bool {
			return (m["user"] == "demo" || m["user"] == "bob") && m["source"] == "builtin"
		},
		"connection_start": func(m map[string]any) bool {
			return m["user"] == "demo" && m["endpoint"] == "desk" && m["conn"] != "" && m["protocol"] == "vnc"
		},
		"connection_end": func(m map[string]any) bool {
			return m["user"] == "demo" && m["endpoint"] == "desk" && m["bytes_out"].(float64) > 50 && m["bytes_in"].(float64) == float64(len(wire.Pointer{}.Append(nil))) &&
				m["duration_ms"].(float64) > 0 && m["login"] != ""
		},
		"policy_denied": func(m map[string]any) bool {
			return m["user"] == "bob" && m["policy"] == "no-bob" && m["endpoint"] == "desk"
		},
		"logout": func(m map[string]any) bool { return m["user"] == "demo" },
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := map[string]int{}
		b, _ := os.ReadFile(file)
		bad := ""
		for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			ev, _ := m["event"].(string)
			if check := want[ev]; check != nil {
				if m["instance"] != "gw-audit" || m["time"] == nil || !check(m) {
					bad = l
				}
				got[ev]++
			}
		}
		if bad != "" {
			t.Fatalf("event without its fields: %s", bad)
		}
		done := true
		for ev := range want {
			if n := map[string]int{"login": 2}[ev]; got[ev] != max(n, 1) {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want one of each of %d kinds (two logins):\n%s", got, len(want), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
