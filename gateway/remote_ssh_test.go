package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/sharing"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render/term"
	"github.com/racgate/racgate/render/wire"
)

func TestSSHOptions(t *testing.T) {
	cfg, tc, err := sshOptions(config.Settings{
		"username": "u", "password": "p", "private-key": "KEY", "passphrase": "pp",
		"host-key": "SHA256:x", "ignore-host-key": "true", "command": "top",
		"terminal-type": "xterm-256color", "locale": "de_DE.UTF-8", "timezone": "Europe/Berlin",
		"font-size": "18", "color-scheme": "light", "server-alive-interval": "7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "u" || cfg.Password != "p" || string(cfg.PrivateKey) != "KEY" || string(cfg.Passphrase) != "pp" ||
		cfg.HostKey != "SHA256:x" || !cfg.IgnoreHostKey || cfg.Command != "top" || cfg.Term != "xterm-256color" ||
		cfg.Env["LANG"] != "de_DE.UTF-8" || cfg.Env["TZ"] != "Europe/Berlin" || len(cfg.Env) != 2 || cfg.KeepAlive != 7*time.Second {
		t.Fatalf("config %+v", cfg)
	}
	if tc != (wire.TerminalConfig{FontSize: 18, ColorScheme: "light"}) {
		t.Fatalf("terminal config %+v", tc)
	}
	for _, bad := range []config.Settings{
		{"font-size": "2"}, {"font-size": "x"}, {"terminal-type": "xterm\nEVIL=1"},
		{"locale": "a\nb"}, {"server-alive-interval": "-1"}, {"known-hosts-file": "/nonexistent/known_hosts"},
		{"color-scheme": strings.Repeat("x", 300)},
		{"terminal-frame-interval": "1001"}, {"terminal-frame-interval": "-1"}, {"terminal-frame-interval": "x"},
		{"scrollback": "-1"}, {"scrollback": "100001"}, {"scrollback": "many"},
	} {
		if _, _, err := sshOptions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	// Nothing set: defaults everywhere.
	cfg, tc, err = sshOptions(config.Settings{})
	if err != nil || cfg.Env != nil || cfg.KeepAlive != 0 || tc != (wire.TerminalConfig{}) {
		t.Fatalf("empty settings: %+v %+v %v", cfg, tc, err)
	}
}

func TestSSHConfigValidation(t *testing.T) {
	base := "listen: 127.0.0.1:0\nproviders: [{name: p}]\nendpoints:\n  - {name: s, provider: p, protocol: ssh, host: h, settings: {%s}}\n"
	if _, err := ParseConfig("t.yaml", fmt.Appendf(nil, base, "username: u, ignore-host-key: true, font-size: 12")); err != nil {
		t.Fatal(err)
	}
	_, err := ParseConfig("t.yaml", fmt.Appendf(nil, base, "font-size: 500"))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:4") || !strings.Contains(err.Error(), "font-size") {
		t.Fatalf("bad font-size: %v", err)
	}
	for _, bad := range []string{"terminal-frame-interval: 5000", "scrollback: 200000"} {
		if _, err := ParseConfig("t.yaml", fmt.Appendf(nil, base, bad)); err == nil || !strings.Contains(err.Error(), strings.Split(bad, ":")[0]) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	to, err := termSettings(config.Settings{"terminal-frame-interval": "0", "scrollback": "0"})
	if err != nil || to.interval != 0 || to.scrollback != 0 {
		t.Fatalf("terminal settings %+v %v", to, err)
	}
	if _, err := ParseConfig("t.yaml", fmt.Appendf(nil, base, "known-hosts-fil: x")); err == nil {
		t.Fatal("misspelt setting accepted")
	}
}

func TestSSHDialErrors(t *testing.T) {
	ep := &config.Endpoint{Name: "box"}
	hk := &ssh.HostKeyError{Addr: "a:22", Type: "ssh-ed25519", Fingerprint: "SHA256:abc", Err: ssh.ErrHostKeyUnknown}
	var se *sessionEnd
	if !errors.As(sshDialError(fmt.Errorf("wrapped: %w", hk), ep), &se) || se.Code != closeForbidden || !strings.Contains(se.Reason, "SHA256:abc") {
		t.Fatalf("unknown host key: %+v", se)
	}
	ae := &ssh.AuthError{User: "u", Tried: []string{"password"}}
	if !errors.As(sshDialError(ae, ep), &se) || se.Code != closeAuthFailed || !errors.Is(se, ssh.ErrAuthFailed) {
		t.Fatalf("auth: %+v", se)
	}
	if !errors.As(sshDialError(io.ErrUnexpectedEOF, ep), &se) || se.Code != closeUnreachable {
		t.Fatalf("other: %+v", se)
	}
}

// fakeTerm is a terminal whose output a test writes into a pipe.
type fakeTerm struct {
	out   *io.PipeReader
	outW  *io.PipeWriter
	mu    sync.Mutex
	in    bytes.Buffer
	sizes [][2]int
	wait  error
	gate  chan struct{} // if not nil, Write waits for it to close: a remote not reading input
}

func newFakeTerm() *fakeTerm {
	r, w := io.Pipe()
	return &fakeTerm{out: r, outW: w}
}

func (f *fakeTerm) Read(p []byte) (int, error) { return f.out.Read(p) }
func (f *fakeTerm) Write(p []byte) (int, error) {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.in.Write(p)
}
func (f *fakeTerm) Resize(c, r int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sizes = append(f.sizes, [2]int{c, r})
	return nil
}
func (f *fakeTerm) Close() error { f.out.CloseWithError(ssh.ErrClosed); return nil }
func (f *fakeTerm) Wait() error  { return f.wait }

// TestTerminalPump: output written in many small pieces arrives whole, in order, in
// messages of at most 64 KiB, and the exit status ends the session. (The scrollback is
// larger than the output, so that no line may be elided.)
func TestTerminalPump(t *testing.T) {
	ts := newTestServer(t, sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true", "scrollback: 100000"}))
	ft := newFakeTerm()
	ft.wait = &ssh.ExitError{Status: 7}
	var sizes [][2]int // dialled with
	ts.dialTerm = func(ctx context.Context, ep *config.Endpoint, set config.Settings, cols, rows int, _ askFunc, log *slog.Logger) (terminal, error) {
		sizes = append(sizes, [2]int{cols, rows})
		return ft, nil
	}
	c := dialTerm(t, ts, "?cols=100&rows=40").start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	var want bytes.Buffer
	for i := range 20000 {
		line := fmt.Sprintf("line %d ✓\r\n", i)
		want.WriteString(line)
		if _, err := ft.outW.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte("x"), 200<<10) // more than one message
	want.Write(big)
	ft.outW.Write(big)
	ft.outW.Close()
	cl := c.waitClose(10 * time.Second)
	if cl.Code != closeRemoteEnded || !strings.Contains(cl.Reason, "exit status 7") {
		t.Fatalf("CLOSE %+v", cl)
	}
	if got := c.out.String(); got != want.String() {
		t.Fatalf("got %d bytes, want %d", len(got), want.Len())
	}

	if len(sizes) != 1 || sizes[0] != [2]int{100, 40} {
		t.Fatalf("dialled with %v, want 100x40 from the URL", sizes)
	}

	// Input and resize reach the terminal.
	ft = newFakeTerm()
	c = dialTerm(t, ts, "").start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	c.send(wire.TerminalInput{Data: []byte("ls\r")}, wire.TerminalResize{Cols: 90, Rows: 30}, wire.Key{Down: true, Keysym: 'a'})
	waitFor(t, "input", func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		return ft.in.String() == "ls\r" && len(ft.sizes) == 1 && ft.sizes[0] == [2]int{90, 30}
	})
	c.send(wire.TerminalResize{Cols: 0, Rows: 30})
	cl = c.waitClose(5 * time.Second)
	if cl.Code != closeClientError {
		t.Fatalf("resize to 0 columns: CLOSE %+v", cl)
	}
}

// FuzzTerminalMessages: whatever the browser sends to a terminal session ends it with a
// clear error or reaches the terminal in bounds; never a panic.
func FuzzTerminalMessages(f *testing.F) {
	f.Add(wire.TerminalInput{Data: []byte("echo hi\r")}.Append(nil))
	f.Add(wire.TerminalResize{Cols: 80, Rows: 24}.Append(wire.TerminalInput{Data: []byte{0x1b, '[', 'A'}}.Append(nil)))
	f.Add(wire.TerminalResize{Cols: 0, Rows: 65535}.Append(nil))
	f.Add(wire.Key{Down: true, Keysym: 'x'}.Append(wire.Ack{ID: 1}.Append(nil)))
	f.Add(wire.Ping{Token: 7}.Append(wire.TerminalInput{Data: []byte("x")}.Append(nil)))
	f.Add(wire.Share{Op: wire.ShareCreate, Mode: wire.ShareControl, Value: 60}.Append(wire.Share{Op: wire.ShareRevoke, Value: 1}.Append(nil)))
	f.Add([]byte{byte(wire.TypeTerminalResize), 3, 0, 0, 0, 1, 2, 3})
	f.Add([]byte{byte(wire.TypeTerminalInput), 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ft := newFakeTerm()
		srv := &Server{links: sharing.New("i", nil), now: time.Now}
		srv.state.Store(&state{cfg: &config.Config{}})
		ss := &session{srv: srv, ep: &config.Endpoint{Name: "x"}, ctx: context.Background(), who: &authz.User{},
			log: slog.New(slog.DiscardHandler), ctrl: make(chan []byte, ctrlQueue), lease: watcherLease{store.Conn{ID: "c"}},
			sharing: config.DefaultSharing}
		defer ss.leaveShares() // links' expiry timers
		tb := newTermBox(ft)
		tb.in = make(chan []byte, len(b)+1) // room for every piece: input is drained below
		ss.term.Store(tb)
		ss.helloSent.Store(true)
		var typed bytes.Buffer
		err := wire.Decode(b, func(m wire.Message) error {
			if in, ok := m.(wire.TerminalInput); ok {
				typed.Write(in.Data)
			}
			return ss.handle(m)
		})
		var se *sessionEnd
		if err != nil && !errors.Is(err, wire.ErrMalformed) && !(errors.As(err, &se) && se.Code == closeClientError) {
			t.Fatalf("unexpected error %v", err)
		}
		close(tb.in)
		if err := tb.writeInput(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ft.in.Bytes(), typed.Bytes()) {
			t.Fatalf("terminal got %q, browser typed %q", ft.in.Bytes(), typed.Bytes())
		}
		for _, s := range ft.sizes {
			if s[0] < 1 || s[1] < 1 || s[0] > maxTermCells || s[1] > maxTermCells {
				t.Fatalf("resize %v passed on", s)
			}
		}
	})
}

// FuzzTerminalSize: cols and rows in the connect URL are in bounds or refused, and never
// become settings.
func FuzzTerminalSize(f *testing.F) {
	f.Add("cols=80&rows=24")
	f.Add("width=800&height=600&cols=132&rows=43")
	f.Add("cols=0")
	f.Add("rows=4097")
	f.Add("cols=-1&rows=x")
	f.Add("cols=1&cols=2")
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/ws/x", nil)
		r.URL.RawQuery = q
		_, _, set, err := connectRequest(r)
		if err != nil {
			return
		}
		cols, rows := terminalSize(r.URL.Query())
		if cols < 0 || rows < 0 || cols > maxTermCells || rows > maxTermCells {
			t.Fatalf("size %dx%d out of bounds", cols, rows)
		}
		if _, ok := set["cols"]; ok {
			t.Fatal("cols leaked into settings")
		}
		if _, ok := set["rows"]; ok {
			t.Fatal("rows leaked into settings")
		}
	})
}

// TestTerminalReadOnly: a read-only terminal gets neither input nor resizes, and HELLO
// says so; disable-copy clears the copy flag.
func TestTerminalReadOnly(t *testing.T) {
	ts := newTestServer(t, sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true", "read-only: true", "disable-copy: true"}))
	ft := newFakeTerm()
	ts.dialTerm = func(context.Context, *config.Endpoint, config.Settings, int, int, askFunc, *slog.Logger) (terminal, error) {
		return ft, nil
	}
	c := dialTerm(t, ts, "").start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	if c.hello.Kind != wire.KindTerminal || c.hello.Flags != wire.FlagViewOnly|wire.FlagShare {
		t.Fatalf("HELLO %+v, want a view-only terminal that may be shared", *c.hello)
	}
	// A valid resize (applied at once by the reader were it allowed), input, and a
	// resize that would end a writable session as the browser's error.
	c.send(wire.TerminalResize{Cols: 100, Rows: 30}, wire.TerminalInput{Data: []byte("rm -rf ~\r")}, wire.TerminalResize{Cols: 0, Rows: 0})
	// Output still flows.
	ft.outW.Write([]byte("still here"))
	c.waitOutput("still here")
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed != nil {
		t.Fatalf("CLOSE %+v", *closed)
	}
	// The barrier: the browser leaves. The reader handles those messages before it
	// reads the close, and the session stops being counted only after all its
	// goroutines, the input writer among them, have returned: whatever the terminal
	// was going to get, it has got by then.
	c.conn.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the session's end", func() bool { return ts.metrics.sessionsActive.Load() == 0 })
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.in.Len() != 0 || len(ft.sizes) != 0 {
		t.Fatalf("read-only terminal got input %q and sizes %v", ft.in.String(), ft.sizes)
	}
	if n := testutil.ToFloat64(ts.metrics.errorsTotal.WithLabelValues(errKind(closeClientError))); n != 0 {
		t.Fatalf("the session ended as the browser's error (%v)", n)
	}
}

// TestTerminalPacedByAcks: a browser that receives everything but whose terminal never
// finishes drawing (no ACK) is sent at most term.MaxInFlight messages; the remote then waits.
// Once it acknowledges, the rest follows.
func TestTerminalPacedByAcks(t *testing.T) {
	ts := newTestServer(t, sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true"}))
	ft := newFakeTerm()
	ts.dialTerm = func(context.Context, *config.Endpoint, config.Settings, int, int, askFunc, *slog.Logger) (terminal, error) {
		return ft, nil
	}
	c := dialTerm(t, ts, "")
	c.noAck.Store(true)
	c.start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	const total = 8 << 20
	wrote := make(chan int, 1)
	go func() {
		n := 0
		chunk := bytes.Repeat([]byte("0123456789abcde\n"), 1024)
		for n < total {
			m, err := ft.outW.Write(chunk)
			n += m
			if err != nil {
				break
			}
		}
		wrote <- n
		ft.outW.Close()
	}()
	// The barrier: racgate has read all it may hold (term.MaxHeld) and the remote's
	// writes wait. By then the pump has long had output to send, so a frame beyond
	// term.MaxInFlight would have gone out; and the browser has the frames it may get.
	tb := termBoxOf(t, ts)
	start := time.Now()
	for held := 0; held < term.MaxHeld; time.Sleep(10 * time.Millisecond) {
		held = tb.out.Held()
		if time.Since(start) > 20*time.Second {
			t.Fatalf("racgate holds %d bytes after 20 s, want term.MaxHeld (%d): the reader stopped early", held, term.MaxHeld)
		}
	}
	t.Logf("racgate held a full buffer after %v", time.Since(start).Round(time.Millisecond))
	c.wait("term.MaxInFlight frames", 5*time.Second, func(c *termClient) bool { return c.frames >= term.MaxInFlight })
	c.mu.Lock()
	got, frames := c.out.Len(), c.frames
	c.mu.Unlock()
	if frames != term.MaxInFlight || got > term.MaxInFlight*wire.MaxTerminalData {
		t.Fatalf("without ACKs the browser got %d frames, %d bytes (want %d frames, at most %d bytes)", frames, got, term.MaxInFlight, term.MaxInFlight*wire.MaxTerminalData)
	}
	select {
	case n := <-wrote:
		t.Fatalf("the remote wrote all %d bytes without ACKs", n)
	default:
	}
	// Acknowledge the last frame: everything arrives.
	c.noAck.Store(false)
	c.send(wire.Ack{ID: uint32(frames)})
	cl := c.waitClose(20 * time.Second)
	if cl.Code != closeRemoteEnded || c.out.Len() != total {
		t.Fatalf("CLOSE %+v after %d of %d bytes", cl, c.out.Len(), total)
	}
}

// TestTerminalInputDoesNotBlockAcks: while the remote does not read its input, output
// still flows: the ACKs that pace it are not stuck behind the pending input. The input
// comes in messages of many sizes and arrives intact: the reader reuses its buffer, so
// what waits in the queue must be copies.
func TestTerminalInputDoesNotBlockAcks(t *testing.T) {
	ts := newTestServer(t, sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true"}))
	ft := newFakeTerm()
	ft.gate = make(chan struct{})
	ts.dialTerm = func(context.Context, *config.Endpoint, config.Settings, int, int, askFunc, *slog.Logger) (terminal, error) {
		return ft, nil
	}
	c := dialTerm(t, ts, "").start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	// 12 queued pieces of at most termChunk bytes: within termInputQueue.
	sizes := []int{1, 5, 300, 70000, 4096, 100000, 7}
	var paste []byte
	for i, n := range sizes {
		piece := make([]byte, n)
		for j := range piece {
			piece[j] = byte('a' + (i+j*7)%26)
		}
		c.send(wire.TerminalInput{Data: piece})
		paste = append(paste, piece...)
	}
	const total = 4 << 20                              // far more than term.MaxInFlight frames
	go ft.outW.Write(bytes.Repeat([]byte("o"), total)) // and the remote stays
	c.wait("all output", 15*time.Second, func(c *termClient) bool { return c.out.Len() == total })
	close(ft.gate) // the remote reads its input at last
	waitFor(t, "the paste", func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		return bytes.Equal(ft.in.Bytes(), paste)
	})
}

// termBoxOf returns the terminal of the server's one session.
func termBoxOf(t *testing.T, ts *testServer) *termBox {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for ss := range ts.sessions {
		if tb := ss.term.Load(); tb != nil {
			return tb
		}
	}
	t.Fatal("no terminal session")
	return nil
}

// TestTerminalCoalescing: after a quiet spell output goes at once (a typed key's echo
// is not delayed), while output that keeps coming is merged into a message per
// terminal-frame-interval. HELLO is followed by TERMINAL_CONFIG and TERMINAL_SCROLLBACK.
func TestTerminalCoalescing(t *testing.T) {
	ts := newTestServer(t, sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true", "terminal-frame-interval: 400", "scrollback: 1234"}))
	ft := newFakeTerm()
	ts.dialTerm = func(context.Context, *config.Endpoint, config.Settings, int, int, askFunc, *slog.Logger) (terminal, error) {
		return ft, nil
	}
	c := dialTerm(t, ts, "?cols=80&rows=24").start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil && c.scrollback != nil })
	if c.scrollback.Lines != 1234 || len(c.order) < 3 || c.order[1] != wire.TypeTerminalConfig || c.order[2] != wire.TypeTerminalScrollback {
		t.Fatalf("TERMINAL_SCROLLBACK %+v, message order %v", *c.scrollback, c.order)
	}
	echo := func(s string) time.Duration {
		start := time.Now()
		ft.outW.Write([]byte(s))
		c.waitOutput(s)
		return time.Since(start)
	}
	if d := echo("k"); d > 200*time.Millisecond {
		t.Fatalf("the first output took %v (interval 400 ms): not sent at once", d)
	}
	// A burst right after: merged, and not sent before the interval has passed.
	start := time.Now()
	var want strings.Builder
	for i := range 300 {
		line := fmt.Sprintf("burst %d\r\n", i)
		want.WriteString(line)
		ft.outW.Write([]byte(line))
		if i%100 == 99 {
			time.Sleep(50 * time.Millisecond) // the burst lasts over 100 ms
		}
	}
	c.waitOutput("burst 299\r\n")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("the burst arrived after %v, within the 400 ms interval of the key's echo", d)
	}
	c.mu.Lock()
	frames, out := c.frames, c.out.String()
	c.mu.Unlock()
	if frames > 3 {
		t.Fatalf("the key and a burst of 300 lines came in %d messages, want at most 3", frames)
	}
	if out != "k"+want.String() {
		t.Fatalf("output %q", out)
	}
	// After a quiet spell longer than the interval, the next key's echo goes at once.
	time.Sleep(500 * time.Millisecond)
	if d := echo("j"); d > 200*time.Millisecond {
		t.Fatalf("an echo after a quiet spell took %v", d)
	}
}

// TestTerminalFloodNoAcks: a `yes`-style flood to a browser that stops acknowledging:
// racgate keeps reading (the output is elided to what the browser can still show), holds
// at most term.MaxHeld of it, and stops reading when the browser goes.
func TestTerminalFloodNoAcks(t *testing.T) {
	ts := newTestServer(t, sshConfigYAML("127.0.0.1:1", []string{"username: u", "ignore-host-key: true"}))
	ft := newFakeTerm()
	ts.dialTerm = func(context.Context, *config.Endpoint, config.Settings, int, int, askFunc, *slog.Logger) (terminal, error) {
		return ft, nil
	}
	c := dialTerm(t, ts, "?cols=80&rows=24")
	c.noAck.Store(true)
	c.start()
	c.wait("HELLO", 5*time.Second, func(c *termClient) bool { return c.hello != nil })
	var wrote atomic.Int64
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		chunk := bytes.Repeat([]byte("y\r\n"), 10000)
		for {
			n, err := ft.outW.Write(chunk)
			wrote.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	tb := termBoxOf(t, ts)
	held := 0
	deadline := time.Now().Add(20 * time.Second)
	for wrote.Load() < 12<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the remote wrote only %d bytes in 20 s: the reader stopped", wrote.Load())
		}
		held = max(held, tb.out.Held())
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	frames, got := c.frames, c.out.Len()
	c.mu.Unlock()
	if frames > term.MaxInFlight || held > term.MaxHeld+termChunk {
		t.Fatalf("%d frames without ACKs; %d bytes held", frames, held)
	}
	t.Logf("the remote wrote %d bytes; the browser got %d in %d messages; at most %d held", wrote.Load(), got, frames, held)
	// The browser goes: the session ends, the terminal is closed, the reader stops.
	c.conn.Close(websocket.StatusNormalClosure, "")
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the remote is still read from after the browser left")
	}
}
