package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	xssh "golang.org/x/crypto/ssh"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// sshConfigYAML is a config with one SSH endpoint "shell" on addr; settings are YAML
// lines ("key: value") for the endpoint, provider the provider's.
func sshConfigYAML(addr string, settings []string, provider ...string) string {
	ind := func(lines []string, n int) string {
		var b strings.Builder
		for _, l := range lines {
			for _, part := range strings.Split(l, "\n") {
				b.WriteString(strings.Repeat(" ", n) + part + "\n")
			}
		}
		return b.String()
	}
	prov := "  - name: lab\n"
	if len(provider) > 0 {
		prov += "    settings:\n" + ind(provider, 6)
	}
	return `listen: 127.0.0.1:0
users:
  - username: demo
    password-hash: "` + testHash + `"
providers:
` + prov + `endpoints:
  - name: shell
    provider: lab
    protocol: ssh
    host: ` + addr + `
    settings:
` + ind(settings, 6)
}

// termClient is a Go websocket client of a terminal session.
type termClient struct {
	t    *testing.T
	conn *websocket.Conn

	mu         sync.Mutex
	hello      *wire.Hello
	config     *wire.TerminalConfig
	scrollback *wire.TerminalScrollback
	out        strings.Builder
	z          wire.TerminalInflater
	closed     *wire.Close
	notices    []wire.Notice
	pongs      []uint32 // PONG tokens
	shares     []wire.Shares
	termSizes  []wire.TerminalSize // TERMINAL_SIZE, in order
	files      *wire.Files
	order      []wire.Type // message types, in order, without repeats of output and FRAME
	frames     int
	deflated   int         // TERMINAL_DEFLATE messages among the frames
	sizes      []int       // each frame's output in bytes (inflated)
	noAck      atomic.Bool // a browser that receives but never finishes drawing
	err        error
	done       chan struct{}
}

// isOutput reports whether t carries terminal output.
func isOutput(t wire.Type) bool { return t == wire.TypeTerminal || t == wire.TypeTerminalDeflate }

func dialTerm(t *testing.T, ts *testServer, query string) *termClient {
	t.Helper()
	return dialTermAs(t, ts, "demo", "/ws/shell"+query)
}

// dialTermAs logs user in and opens the websocket at path.
func dialTermAs(t *testing.T, ts *testServer, user, path string) *termClient {
	t.Helper()
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, user), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(wire.MaxServerMessage)
	return &termClient{t: t, conn: conn, done: make(chan struct{})}
}

// start reads in the background; a test that wants a slow browser does not call it.
func (c *termClient) start() *termClient {
	go func() {
		defer close(c.done)
		for {
			_, data, err := c.conn.Read(context.Background())
			c.mu.Lock()
			if err != nil {
				c.err = err
				c.mu.Unlock()
				return
			}
			var acks []byte
			size := 0
			err = wire.Decode(data, func(m wire.Message) error {
				if n := len(c.order); !(isOutput(m.Type()) || m.Type() == wire.TypeFrame) || n == 0 || !isOutput(c.order[n-1]) {
					c.order = append(c.order, m.Type())
				}
				switch m := m.(type) {
				case wire.Hello:
					c.hello = &m
				case wire.TerminalConfig:
					c.config = &m
				case wire.TerminalScrollback:
					c.scrollback = &m
				case wire.Terminal:
					if len(m.Data) > wire.MaxTerminalData {
						return fmt.Errorf("TERMINAL of %d bytes, over 64 KiB", len(m.Data))
					}
					c.out.Write(m.Data)
					size += len(m.Data)
				case wire.TerminalDeflate:
					b, err := c.z.Inflate(m)
					if err != nil {
						return err
					}
					c.out.Write(b)
					size += len(b)
					c.deflated++
				case wire.Frame:
					c.frames++
					c.sizes = append(c.sizes, size)
					size = 0
					if !c.noAck.Load() {
						acks = wire.Ack{ID: m.ID}.Append(acks)
					}
				case wire.Close:
					c.closed = &m
				case wire.Notice:
					c.notices = append(c.notices, m)
				case wire.Pong:
					c.pongs = append(c.pongs, m.Token)
				case wire.Shares:
					c.shares = append(c.shares, m)
				case wire.TerminalSize:
					c.termSizes = append(c.termSizes, m)
				case wire.Files:
					c.files = &m
				}
				return nil
			})
			if err != nil {
				c.err = err
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			if acks != nil {
				c.conn.Write(context.Background(), websocket.MessageBinary, acks)
			}
		}
	}()
	return c
}

func (c *termClient) wait(what string, timeout time.Duration, cond func(c *termClient) bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		ok, err, closed := cond(c), c.err, c.closed
		out := c.out.String()
		c.mu.Unlock()
		if ok {
			return
		}
		if err != nil || closed != nil || time.Now().After(deadline) {
			n := len(out)
			if n > 2000 {
				out = "…" + out[n-2000:]
			}
			c.t.Fatalf("waiting for %s: err %v, CLOSE %+v; %d bytes of output so far, ending:\n%s", what, err, closed, n, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutput waits until the output holds s, and returns the output after it.
func (c *termClient) waitOutput(s string) {
	c.t.Helper()
	c.wait(fmt.Sprintf("output %q", s), 15*time.Second, func(c *termClient) bool { return strings.Contains(c.out.String(), s) })
}

func (c *termClient) waitClose(timeout time.Duration) wire.Close {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatal("the session did not end")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed == nil {
		c.t.Fatalf("no CLOSE (err %v)", c.err)
	}
	return *c.closed
}

func (c *termClient) send(ms ...wire.Message) {
	c.t.Helper()
	send(c.t, c.conn, ms...)
}

func typeLine(s string) wire.Message { return wire.TerminalInput{Data: []byte(s + "\r")} }

func hostKeyFingerprint(t *testing.T, line string) string {
	t.Helper()
	k, _, _, _, err := xssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return xssh.FingerprintSHA256(k)
}

func yamlQuote(s string) string { return strconv.Quote(s) }

// TestSSHSession: a shell on a real sshd through racgate: HELLO and TERMINAL_CONFIG, the
// initial size from the URL, typing, resize, UTF-8, and the exit status at the end.
func TestSSHSession(t *testing.T) {
	d := peers.StartSSHD(t)
	ts := newTestServer(t, sshConfigYAML(d.Addr, []string{
		"username: " + d.User, "password: " + yamlQuote(d.Password),
		"host-key: " + yamlQuote(d.HostKey), "font-size: 17", "color-scheme: solarized-dark",
		"locale: C.UTF-8", "timezone: Europe/Berlin",
	}))
	c := dialTerm(t, ts, "?width=800&height=600&cols=91&rows=27").start()
	c.wait("HELLO", 15*time.Second, func(c *termClient) bool { return c.hello != nil && c.config != nil })
	if h := *c.hello; h.Kind != wire.KindTerminal || h.Name != "shell" || h.Flags != wire.FlagResize|wire.FlagPaste|wire.FlagCopy|wire.FlagShare {
		t.Fatalf("HELLO %+v", h)
	}
	if *c.config != (wire.TerminalConfig{FontSize: 17, ColorScheme: "solarized-dark"}) {
		t.Fatalf("TERMINAL_CONFIG %+v", *c.config)
	}
	if c.order[0] != wire.TypeHello || c.order[1] != wire.TypeTerminalConfig {
		t.Fatalf("message order %v: want HELLO, TERMINAL_CONFIG first", c.order)
	}

	// Each command prints a marker computed by the shell, so the echo of the typed line
	// (which holds the expression, not the result) never matches.
	c.send(typeLine("echo size-$((1+1)) $(stty size)"))
	c.waitOutput("size-2 27 91")
	c.send(typeLine("echo hello-$((6*7))"))
	c.waitOutput("hello-42")
	c.send(wire.TerminalResize{Cols: 120, Rows: 33})
	c.send(typeLine("echo size-$((2+1)) $(stty size)"))
	c.waitOutput("size-3 33 120")
	c.send(typeLine("echo tz-$TZ-$((1)) lang-$LANG"))
	c.waitOutput("tz-Europe/Berlin-1 lang-C.UTF-8")
	// UTF-8 both ways, a wide character included.
	c.send(wire.TerminalInput{Data: []byte("printf 'u8-%s\\n' \"$(echo 'grüße 漢字' | tr a-z A-Z)\"\r")})
	c.waitOutput("u8-GRüßE 漢字")
	// Typed lines, each answered by its echo: one connect, and keys to output counted.
	mfs := parseMetrics(t, ts)
	if n, _ := histogram(t, mfs, "racgate_connect_seconds", "protocol", "ssh"); n != 1 {
		t.Fatalf("racgate_connect_seconds{ssh}: %d", n)
	}
	if n, sum := histogram(t, mfs, "racgate_input_to_frame_seconds", "", ""); n < 5 || n > 7 || sum/float64(n) > 5 {
		t.Fatalf("racgate_input_to_frame_seconds: %d, sum %v (6 typed lines)", n, sum)
	}
	c.send(typeLine("exit 3"))
	cl := c.waitClose(15 * time.Second)
	if cl.Code != wire.CloseRemoteEnded || !strings.Contains(cl.Reason, "exit status 3") {
		t.Fatalf("CLOSE %+v, want code 1 with exit status 3", cl)
	}
}

// TestSSHBadCredentialsAndHostKeys: every refusal is a CLOSE that says why.
func TestSSHBadCredentialsAndHostKeys(t *testing.T) {
	d := peers.StartSSHD(t)
	fp := hostKeyFingerprint(t, d.HostKey)
	otherKey := strings.Fields(string(must(os.ReadFile(filepath.Join(d.Dir, "client_ed25519.pub")))))
	cases := []struct {
		name     string
		settings []string
		code     wire.CloseCode
		want     []string
	}{
		{"wrong password", []string{"username: " + d.User, "password: wrong-password", "host-key: " + yamlQuote(d.HostKey)},
			wire.CloseAuthFailed, []string{"refused the credentials", "authentication failed", d.User}},
		{"unknown host key", []string{"username: " + d.User, "password: " + yamlQuote(d.Password)},
			wire.CloseForbidden, []string{"does not trust", fp, "ssh-ed25519"}},
		{"changed host key", []string{"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(otherKey[0]+" "+otherKey[1])},
			wire.CloseForbidden, []string{"is not the configured one", "intercepted", fp, "Tell your administrator."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, sshConfigYAML(d.Addr, tc.settings))
			c := dialTerm(t, ts, "?width=800&height=600").start()
			cl := c.waitClose(20 * time.Second)
			if cl.Code != tc.code {
				t.Fatalf("CLOSE %+v, want code %d", cl, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(cl.Reason, w) {
					t.Errorf("reason %q lacks %q", cl.Reason, w)
				}
			}
			if strings.Contains(cl.Reason, d.Password) {
				t.Error("the reason holds the password")
			}
			if c.hello != nil {
				t.Error("HELLO before a refusal")
			}
		})
	}
}

// TestSSHKeyAndKnownHosts: a private key from the settings and the host key from a
// provider's known_hosts file.
func TestSSHKeyAndKnownHosts(t *testing.T) {
	d := peers.StartSSHD(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	host, port, _ := strings.Cut(d.Addr, ":")
	if err := os.WriteFile(kh, []byte("["+host+"]:"+port+" "+d.HostKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, sshConfigYAML(d.Addr,
		[]string{"username: " + d.User, "private-key: |\n  " + strings.ReplaceAll(strings.TrimSpace(string(d.ClientKey)), "\n", "\n  "), "command: echo key-$((40+2)); exit 0"},
		"known-hosts-file: "+yamlQuote(kh)))
	c := dialTerm(t, ts, "").start()
	c.waitOutput("key-42")
	cl := c.waitClose(15 * time.Second)
	if cl.Code != wire.CloseRemoteEnded || !strings.Contains(cl.Reason, "exit status 0") {
		t.Fatalf("CLOSE %+v", cl)
	}
}

// TestSSHFloodSlowBrowser: `yes` against a browser that stops reading. racgate's heap
// stays bounded (it keeps only the last lines the browser can show: elision), the remote
// program is paced (to render/term's drop rate: it waits on the PTY most of the time), whole lines
// arrive once the browser reads again, and closing the websocket ends the remote program.
func TestSSHFloodSlowBrowser(t *testing.T) {
	d := peers.StartSSHD(t)
	tag := make([]byte, 6)
	rand.Read(tag)
	marker := "racgate-flood-" + hex.EncodeToString(tag)
	ts := newTestServer(t, sshConfigYAML(d.Addr, []string{
		"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(d.HostKey),
		"command: exec yes " + marker,
	}))
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	c := dialTerm(t, ts, "?cols=80&rows=24")
	// Read only the first message, then nothing: a stalled browser.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	_, first, err := c.conn.Read(ctx)
	cancel()
	if err != nil || wire.Type(first[0]) != wire.TypeHello {
		t.Fatalf("first message: %v % x", err, first[:min(len(first), 8)])
	}
	pid := waitPID(t, marker)
	cpu := func() int64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatalf("yes is gone: %v", err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		st, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		return ut + st
	}
	// Let the buffers between yes and the stalled browser fill up.
	time.Sleep(3 * time.Second)
	peak := heap()
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		peak = max(peak, heap())
	}
	const bound = 16 << 20
	if peak > base+bound {
		t.Fatalf("heap grew from %d to %d bytes with a stalled browser (bound %d)", base, peak, bound)
	}
	c1 := cpu()
	time.Sleep(time.Second)
	c2 := cpu()
	if c2-c1 > 40 { // clock ticks (1/100 s): an unpaced yes uses ~100
		t.Fatalf("yes used %d ticks in 1 s while the browser read nothing: not paced", c2-c1)
	}
	t.Logf("heap %d → %d bytes; yes paced (%d ticks in 1 s)", base, peak, c2-c1)

	// Reading again: the stream resumes, lines intact (elision drops whole lines). How much
	// arrives depends on whether the flood is in snapshots (a screenful per message) by
	// then; the lines held for the browser (2 × rows + scrollback) come first either way.
	c.start()
	c.wait("more output", 15*time.Second, func(c *termClient) bool { return c.out.Len() > 32<<10 })
	c.mu.Lock()
	lines := strings.Split(c.out.String(), "\r\n")
	c.mu.Unlock()
	for i, l := range lines[1 : len(lines)-1] {
		// Where lines were dropped, the last line sent before the cut may be partial: the
		// next line goes on from it. (At least m whole lines follow, scrolling it out.)
		if l != marker && !(strings.HasSuffix(l, marker) && strings.HasPrefix(marker+"\r", l[:len(l)-len(marker)])) {
			t.Fatalf("line %d is %q", i+1, l)
		}
	}

	// Closing the websocket ends the remote yes.
	c.conn.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the remote yes still runs 10 s after the browser left")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPID finds the one process running "yes marker", from /proc.
func waitPID(t *testing.T, marker string) int {
	t.Helper()
	want := "yes\x00" + marker + "\x00"
	deadline := time.Now().Add(15 * time.Second)
	for {
		var found []int
		dirs, _ := os.ReadDir("/proc")
		for _, d := range dirs {
			pid, err := strconv.Atoi(d.Name())
			if err != nil {
				continue
			}
			if cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline")); err == nil && string(cmd) == want {
				found = append(found, pid)
			}
		}
		if len(found) == 1 {
			return found[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes running yes %s: %v, want one", marker, found)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSSHUnreachable: nothing listens on the port: CLOSE 2.
func TestSSHUnreachable(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(peers.FreePort(t))
	ts := newTestServer(t, sshConfigYAML(addr, []string{"username: u", "password: p", "ignore-host-key: true"}))
	c := dialTerm(t, ts, "").start()
	cl := c.waitClose(20 * time.Second)
	if cl.Code != wire.CloseUnreachable || !strings.Contains(cl.Reason, "could not be reached") {
		t.Fatalf("CLOSE %+v, want code 2", cl)
	}
}
