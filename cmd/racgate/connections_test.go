package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/gateway"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// TestKill9FreesSlots: two racgate processes share a redis-server; a connection through A
// holds the endpoint's only slot; `kill -9` of A frees it within the lease TTL, and
// `racgate connections` lists and ends connections through B.
func TestKill9FreesSlots(t *testing.T) {
	peers.Require(t, "Xvnc", "redis-server")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	rds := peers.StartRedis(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "racgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	token := strings.Repeat("tok3n", 8)
	tokenFile := filepath.Join(dir, "admin.token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	os.WriteFile(filepath.Join(dir, "session.key"), []byte(strings.Repeat("s", 40)), 0o600)
	const ttl = time.Second
	start := func(name string) (*proc, string) {
		cfg := filepath.Join(dir, name+".yaml")
		os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
instance: `+name+`
session: {secret-file: session.key}
admin-token-file: admin.token
store:
  redis: {addrs: [`+rds.Addr+`], lease-ttl: 1s}
users:
  - username: demo
    password-hash: "$2a$04$3srTMFq4qglqvLSi//7lrudBZEF2.jmJn94Td9TEmpei9oZa5Mzqe"
providers:
  - name: lab
endpoints:
  - name: desk
    provider: lab
    protocol: vnc
    host: `+x.Addr+`
    maximum-connections: 1
`), 0o600)
		cmd := exec.Command(bin, "serve", "-config", cfg)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		p := &proc{t: t, cmd: cmd, lines: make(chan string, 1000)}
		go func() {
			buf := make([]byte, 0, 4096)
			tmp := make([]byte, 4096)
			for {
				n, err := stderr.Read(tmp)
				buf = append(buf, tmp[:n]...)
				for {
					i := bytes.IndexByte(buf, '\n')
					if i < 0 {
						break
					}
					select {
					case p.lines <- string(buf[:i]):
					default: // nobody reads any more
					}
					buf = buf[i+1:]
				}
				if err != nil {
					close(p.lines)
					return
				}
			}
		}()
		return p, p.waitLine(`racgate listening" addr=(\S+)`)[1]
	}
	pa, addrA := start("a")
	_, addrB := start("b")

	// One login; the shared secret-file makes the cookie good on both.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm("http://"+addrA+"/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ua, _ := url.Parse("http://" + addrA)
	ub, _ := url.Parse("http://" + addrB)
	jar.SetCookies(ub, jar.Cookies(ua))

	// connect returns the live connection after HELLO (reading and acking frames in the
	// background; its CLOSE arrives on the channel), or the refusal.
	connect := func(addr string) (chan wire.Close, *wire.Close) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/desk", &websocket.DialOptions{HTTPClient: c, Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadLimit(wire.MaxServerMessage)
		first := make(chan *wire.Close, 1)
		closed := make(chan wire.Close, 1)
		go func() {
			defer conn.CloseNow()
			hello := false
			for {
				_, data, err := conn.Read(context.Background())
				if err != nil {
					if !hello {
						first <- &wire.Close{Reason: err.Error()}
					}
					return
				}
				wire.Decode(data, func(m wire.Message) error {
					switch m := m.(type) {
					case wire.Hello:
						hello = true
						first <- nil
					case wire.Frame:
						conn.Write(context.Background(), websocket.MessageBinary, wire.Ack{ID: m.ID}.Append(nil))
					case wire.Close:
						if hello {
							closed <- m
						} else {
							first <- &m
						}
					}
					return nil
				})
			}
		}()
		select {
		case cl := <-first:
			return closed, cl
		case <-time.After(20 * time.Second):
			t.Fatal("no HELLO or CLOSE")
		}
		return nil, nil
	}

	if _, cl := connect(addrA); cl != nil {
		t.Fatalf("first connection through A: %d %q", cl.Code, cl.Reason)
	}
	if _, cl := connect(addrB); cl == nil || cl.Code != wire.CloseLimit {
		t.Fatalf("second through B: %+v, want CLOSE 5", cl)
	}

	// The CLI through B sees A's connection.
	list := func() gateway.ConnectionList {
		var out, errb bytes.Buffer
		if rc := run([]string{"connections", "-url", "http://" + addrB, "-token-file", tokenFile, "-json", "list"}, nil, &out, &errb); rc != 0 {
			t.Fatalf("connections list: rc %d %s", rc, errb.String())
		}
		var l gateway.ConnectionList
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	var l gateway.ConnectionList
	deadline := time.Now().Add(5 * time.Second)
	for l = list(); len(l.Connections) != 1 || len(l.Instances) != 2; l = list() {
		if time.Now().After(deadline) {
			t.Fatalf("list: %+v", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c0 := l.Connections[0]; c0.Instance != "a" || c0.User != "demo" || c0.Endpoint != "desk" {
		t.Fatalf("listed %+v", c0)
	}
	var table bytes.Buffer
	run([]string{"connections", "-url", "http://" + addrB, "-token-file", tokenFile, "list"}, nil, &table, os.Stderr)
	if !strings.Contains(table.String(), l.Connections[0].ID) || !strings.Contains(table.String(), "INSTANCE") {
		t.Fatalf("table:\n%s", table.String())
	}

	// kill -9 A: its lease is not released, only no longer renewed.
	if err := pa.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	pa.cmd.Wait()
	killed := time.Now()
	var closedB chan wire.Close
	for {
		ch, cl := connect(addrB)
		if cl == nil {
			closedB = ch
			break
		}
		if cl.Code != wire.CloseLimit {
			t.Fatalf("through B after the kill: %d %q", cl.Code, cl.Reason)
		}
		if time.Since(killed) > ttl+time.Second {
			t.Fatalf("slot of the killed instance not free after %v (lease TTL %v)", time.Since(killed), ttl)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("slot free %v after kill -9 (lease TTL %v)", time.Since(killed).Round(time.Millisecond), ttl)

	// racgate connections kill ends B's connection.
	deadline = time.Now().Add(5 * time.Second)
	for l = list(); len(l.Connections) != 1 || l.Connections[0].Instance != "b"; l = list() {
		if time.Now().After(deadline) {
			t.Fatalf("list after kill: %+v", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"connections", "-url", "http://" + addrB, "-token-file", tokenFile, "kill", l.Connections[0].ID}, nil, &out, &errb); rc != 0 {
		t.Fatalf("connections kill: rc %d %s", rc, errb.String())
	}
	select {
	case cl := <-closedB:
		if cl.Code != wire.CloseKilled {
			t.Fatalf("CLOSE %d %q, want 7", cl.Code, cl.Reason)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("connection not ended by racgate connections kill")
	}
	if rc := run([]string{"connections", "-url", "http://" + addrB, "-token-file", tokenFile, "kill", "nope"}, nil, &out, &errb); rc != 1 {
		t.Fatalf("kill of an unknown ID: rc %d", rc)
	}
}

func TestAdminTarget(t *testing.T) {
	dir := t.TempDir()
	token := strings.Repeat("x", 32)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(token+"\n"), 0o600)
	cfg := filepath.Join(dir, "r.yaml")
	os.WriteFile(cfg, []byte("listen: 0.0.0.0:9000\nadmin-token-file: admin.token\n"), 0o600)
	u, tok, err := adminTarget(cfg, "", "")
	if err != nil || u != "http://127.0.0.1:9000" || tok != token {
		t.Fatalf("from config: %q %q %v", u, tok, err)
	}
	os.WriteFile(cfg, []byte("listen: 0.0.0.0:9000\npublic-url: https://gw.example/\nadmin-token-file: admin.token\n"), 0o600)
	if u, _, _ := adminTarget(cfg, "", ""); u != "https://gw.example" {
		t.Fatalf("public-url: %q", u)
	}
	os.WriteFile(cfg, []byte("listen: 0.0.0.0:9000\n"), 0o600)
	if _, _, err := adminTarget(cfg, "", ""); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Fatalf("without a token: %v", err)
	}
	t.Setenv("RACGATE_ADMIN_TOKEN", "from-env")
	if u, tok, err := adminTarget("", "http://h:1/", ""); err != nil || u != "http://h:1" || tok != "from-env" {
		t.Fatalf("env: %q %q %v", u, tok, err)
	}
	var errb bytes.Buffer
	if rc := run([]string{"connections", "frob"}, nil, io.Discard, &errb); rc != 2 || !strings.Contains(errb.String(), "usage") {
		t.Fatalf("bad subcommand: rc %d %s", rc, errb.String())
	}
}
