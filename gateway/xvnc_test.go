package gateway

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// browser is a Go websocket client that behaves like the web client: it draws every
// message into a wire.Canvas and acknowledges every FRAME.
type browser struct {
	t    *testing.T
	conn *websocket.Conn

	mu      sync.Mutex
	canvas  *wire.Canvas
	frames  int
	bytes   int // websocket payload received
	hello   *wire.Hello
	clips   []string
	rich    []wire.ClipboardContent // CLIPBOARD_CONTENT
	notices []wire.Notice
	shares  []wire.Shares // SHARES, in order
	files   *wire.Files
	ready   []string // FILE_READY paths
	closed  *wire.Close
	err     error
	done    chan struct{}
}

func newBrowser(t *testing.T, conn *websocket.Conn) *browser {
	b := &browser{t: t, conn: conn, canvas: wire.NewCanvas(), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *browser) loop() {
	defer close(b.done)
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
			return
		}
		var acks []byte
		b.mu.Lock()
		b.bytes += len(data)
		err = wire.Decode(data, func(m wire.Message) error {
			switch m := m.(type) {
			case wire.Hello:
				b.hello = &m
			case wire.Frame:
				b.frames++
				acks = wire.Ack{ID: m.ID}.Append(acks)
			case wire.Clipboard:
				b.clips = append(b.clips, m.Text)
			case wire.ClipboardContent:
				m.PNG = bytes.Clone(m.PNG)
				b.rich = append(b.rich, m)
			case wire.Files:
				b.files = &m
			case wire.FileReady:
				b.ready = append(b.ready, m.Path)
			case wire.Notice:
				b.notices = append(b.notices, m)
			case wire.Shares:
				b.shares = append(b.shares, m) // strings and slices of its own
			case wire.Close:
				b.closed = &m
			}
			return b.canvas.Apply(m)
		})
		b.mu.Unlock()
		if err != nil {
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
			b.conn.CloseNow()
			return
		}
		if acks != nil {
			b.conn.Write(context.Background(), websocket.MessageBinary, acks)
		}
	}
}

// openBrowser logs user in and opens path's websocket with a browser on it.
func openBrowser(t *testing.T, ts *testServer, user, path string) *browser {
	t.Helper()
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, user), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(wire.MaxServerMessage)
	return newBrowser(t, conn)
}

// snapshot copies the canvas.
func (b *browser) snapshot() *image.RGBA {
	b.mu.Lock()
	defer b.mu.Unlock()
	img := b.canvas.Image()
	cp := image.NewRGBA(img.Rect)
	copy(cp.Pix, img.Pix)
	return cp
}

func (b *browser) wait(what string, timeout time.Duration, cond func(b *browser) bool) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.mu.Lock()
		ok, err := cond(b), b.err
		b.mu.Unlock()
		if ok {
			return
		}
		if err != nil && b.closed == nil {
			b.t.Fatalf("waiting for %s: connection: %v", what, err)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *browser) send(ms ...wire.Message) {
	b.t.Helper()
	var buf []byte
	for _, m := range ms {
		buf = m.Append(buf)
	}
	if err := b.conn.Write(context.Background(), websocket.MessageBinary, buf); err != nil {
		b.t.Fatal(err)
	}
}

// matchScreen waits for the X screen to be still, then for the canvas to equal it.
func matchScreen(t *testing.T, b *browser, x *peers.X) *image.RGBA {
	t.Helper()
	screen := peers.WaitStill(t, x, 200*time.Millisecond, 15*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, first := peers.DiffRGB(b.snapshot(), screen)
		if n == 0 {
			return screen
		}
		if time.Now().After(deadline) {
			t.Fatalf("canvas differs from xwd in %d pixels (%s)", n, first)
		}
		time.Sleep(100 * time.Millisecond)
		if n2, _ := peers.DiffRGB(screen, x.Screenshot(t)); n2 != 0 {
			screen = peers.WaitStill(t, x, 200*time.Millisecond, 15*time.Second)
		}
	}
}

func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s missing:\n%s", name, body)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestXvncSession is the whole path: browser login, websocket, racgate's VNC client
// against a real Xvnc, pictures checked against xwd, typing, clipboard, metrics and the
// end of the remote.
func TestXvncSession(t *testing.T) {
	peers.Require(t, "Xvnc", "vncpasswd", "xwd", "xterm", "xclip")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480", Password: "racgate1"})
	x.Start(t, "xterm", "-geometry", "60x15+20+20", "-fa", "", "-fn", "fixed", "+bc")

	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {password: racgate1, quality: lossless}\n").Replace(testConfig)
	ts := newTestServer(t, y)
	b := openBrowser(t, ts, "demo", "/ws/desk")

	b.wait("HELLO", 15*time.Second, func(b *browser) bool { return b.hello != nil })
	if b.hello.Name != "desk" || b.hello.Flags&wire.FlagResize == 0 || b.hello.Flags&wire.FlagCopy == 0 {
		t.Fatalf("HELLO %+v", b.hello)
	}
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
	before := matchScreen(t, b, x)

	// Type into the xterm: the screen changes, and the canvas follows it exactly.
	var keys []wire.Message
	for _, r := range "echo racgate-typed" {
		keys = append(keys, wire.Key{Down: true, Keysym: uint32(r)}, wire.Key{Keysym: uint32(r)})
	}
	keys = append(keys, wire.Key{Down: true, Keysym: 0xff0d, Code: "Enter"}, wire.Key{Keysym: 0xff0d, Code: "Enter"})
	// The pointer over the xterm gives it the keyboard focus.
	b.send(append([]wire.Message{wire.Pointer{X: 100, Y: 60}}, keys...)...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, _ := peers.DiffRGB(before, x.Screenshot(t)); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("typing did not change the X screen")
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := matchScreen(t, b, x)
	if n, _ := peers.DiffRGB(before, after); n < 50 {
		t.Fatalf("only %d pixels changed after typing", n)
	}

	// The remote clipboard reaches the browser.
	// xclip forks a child that serves the selection (-loops: a few requests, then it
	// exits); no output pipes, or waiting would wait for the child too.
	xctx, xcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer xcancel()
	cmd := x.Command(xctx, "xclip", "-selection", "clipboard", "-i", "-loops", "3")
	cmd.Stdin = strings.NewReader("from the remote ✓")
	if err := cmd.Run(); err != nil {
		t.Fatalf("xclip: %v", err)
	}
	b.wait("remote clipboard", 10*time.Second, func(b *browser) bool {
		for _, c := range b.clips {
			if c == "from the remote ✓" || c == "from the remote ?" { // legacy cut text is Latin-1
				return true
			}
		}
		return false
	})

	// The browser's clipboard reaches the remote (Xvnc owns the X clipboard after it).
	b.send(wire.ClientClipboard{Text: "from the browser"})
	deadline = time.Now().Add(10 * time.Second)
	for {
		out, _ := x.Command(context.Background(), "xclip", "-o", "-selection", "clipboard").Output()
		if string(out) == "from the browser" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("X clipboard holds %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Metrics count what was sent.
	_, body := ts.scrape(t)
	b.mu.Lock()
	received := b.bytes
	b.mu.Unlock()
	if v := metricValue(t, body, "racgate_bytes_sent_total"); v < float64(received) || received < 100 {
		t.Fatalf("racgate_bytes_sent_total %v; the browser received %d", v, received)
	}
	if v := metricValue(t, body, "racgate_frames_sent_total"); v < 1 {
		t.Fatalf("racgate_frames_sent_total %v", v)
	}
	if v := metricValue(t, body, "racgate_sessions_active"); v != 1 {
		t.Fatalf("racgate_sessions_active %v", v)
	}
	// The histograms: one connect, every frame's encode time, and typed keys to frames.
	mfs := parseMetrics(t, ts)
	if n, sum := histogram(t, mfs, "racgate_connect_seconds", "protocol", "vnc"); n != 1 || sum <= 0 || sum > 15 {
		t.Fatalf("racgate_connect_seconds: %d, sum %v", n, sum)
	}
	frames := mfs["racgate_frames_sent_total"].GetMetric()[0].GetCounter().GetValue()
	if n, sum := histogram(t, mfs, "racgate_frame_encode_seconds", "", ""); float64(n) > frames || float64(n) < frames-1 || sum <= 0 {
		t.Fatalf("racgate_frame_encode_seconds: %d frames, sum %v; %v frames sent", n, sum, frames)
	}
	// 19 key presses, several between two frames: at least one answered, and none
	// counted twice.
	if n, sum := histogram(t, mfs, "racgate_input_to_frame_seconds", "", ""); n < 1 || n > 19 || sum/float64(n) > 5 {
		t.Fatalf("racgate_input_to_frame_seconds: %d, sum %v", n, sum)
	}

	// The remote goes away: the browser is told so.
	if err := syscall.Kill(x.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.wait("CLOSE", 10*time.Second, func(b *browser) bool { return b.closed != nil })
	if b.closed.Code != wire.CloseRemoteEnded {
		t.Fatalf("CLOSE %d %q, want remote ended", b.closed.Code, b.closed.Reason)
	}
	waitFor(t, "the session's end", func() bool { return ts.metrics.sessionsActive.Load() == 0 })
	if n, sum := histogram(t, parseMetrics(t, ts), "racgate_session_duration_seconds", "protocol", "vnc"); n != 1 || sum <= 0 {
		t.Fatalf("racgate_session_duration_seconds: %d, sum %v", n, sum)
	}
}

// histogram is the count and sum of the histogram name whose label is value (label "":
// the only one).
func histogram(t *testing.T, mfs map[string]*dto.MetricFamily, name, label, value string) (uint64, float64) {
	t.Helper()
	for _, m := range mfs[name].GetMetric() {
		match := label == ""
		for _, l := range m.GetLabel() {
			match = match || l.GetName() == label && l.GetValue() == value
		}
		if match {
			h := m.GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0, 0
}

// TestXvncInitialResize: the browser's size differs from the remote's, so racgate asks
// Xvnc to resize at the start; the canvas gets the new size and still matches xwd.
func TestXvncInitialResize(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {quality: lossless, encodings: zrle copyrect raw}\n").Replace(testConfig)
	ts := newTestServer(t, y)
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=800&height=600", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wire.MaxServerMessage)
	b := newBrowser(t, conn)
	b.wait("canvas 800x600", 15*time.Second, func(b *browser) bool {
		return b.canvas.Image().Rect == image.Rect(0, 0, 800, 600)
	})
	if b.hello.Flags&wire.FlagResize == 0 {
		t.Fatalf("HELLO flags %b lack resize", b.hello.Flags)
	}
	screen := matchScreen(t, b, x)
	if screen.Rect.Dx() != 800 || screen.Rect.Dy() != 600 {
		t.Fatalf("X screen %v after resize", screen.Rect)
	}
	// and on request later
	b.send(wire.ResizeRequest{Width: 500, Height: 400})
	b.wait("canvas 500x400", 15*time.Second, func(b *browser) bool {
		return b.canvas.Image().Rect == image.Rect(0, 0, 500, 400)
	})
	matchScreen(t, b, x)
}

// TestXvncWrongPassword: the remote refuses the credentials; the user reads why.
func TestXvncWrongPassword(t *testing.T) {
	peers.Require(t, "Xvnc", "vncpasswd")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240", Password: "racgate1"})
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {password: wrong-pw}\n").Replace(testConfig)
	ts := newTestServer(t, y)
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	cl := lastClose(t, readUntil(t, conn, wire.TypeClose, 15*time.Second))
	if cl.Code != wire.CloseAuthFailed {
		t.Fatalf("CLOSE %d %q, want auth failed", cl.Code, cl.Reason)
	}
}

// TestUnreachable: nothing listens on the endpoint's port.
func TestUnreachable(t *testing.T) {
	port := peers.FreePort(t)
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"host: 127.0.0.1:1\n", fmt.Sprintf("host: 127.0.0.1:%d\n", port)).Replace(testConfig)
	ts := newTestServer(t, y)
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	cl := lastClose(t, readUntil(t, conn, wire.TypeClose, 15*time.Second))
	if cl.Code != wire.CloseUnreachable {
		t.Fatalf("CLOSE %d %q, want unreachable", cl.Code, cl.Reason)
	}
}

// TestXvncAsksPassword: an Xvnc that wants a password the settings lack: each session is
// asked (PROMPT, hidden), its answer opens a connection of its own (never one another
// user's password opened), and a wrong answer ends that session only.
func TestXvncAsksPassword(t *testing.T) {
	peers.Require(t, "Xvnc", "vncpasswd")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240", Password: "t0ps3cret"})
	y := strings.NewReplacer("https://gw.example", "http://gw.example", "maximum-connections: 1", "maximum-connections: 3",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n").Replace(testConfig)
	ts := newTestServer(t, y)
	open := func(user, answer string) *websocket.Conn {
		t.Helper()
		conn, _, err := ts.wsDial(t, ts.loggedIn(t, user), "/ws/desk?width=320&height=240", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		conn.SetReadLimit(wire.MaxServerMessage)
		ms := readUntil(t, conn, wire.TypePrompt, 15*time.Second)
		p := ms[len(ms)-1].(wire.Prompt)
		if len(p.Prompts) != 1 || p.Prompts[0].Echo || !strings.Contains(p.Prompts[0].Text, "Password") {
			t.Fatalf("%s: PROMPT %+v, want one hidden password", user, p)
		}
		if err := conn.Write(context.Background(), websocket.MessageBinary, wire.PromptResponse{ID: p.ID, Answers: []string{answer}}.Append(nil)); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	demo := open("demo", "t0ps3cret")
	readUntil(t, demo, wire.TypeFrame, 15*time.Second)
	// bob is asked too, and his wrong answer does not get him demo's connection.
	bob := open("bob", "guess")
	if c := lastClose(t, readUntil(t, bob, wire.TypeClose, 15*time.Second)); c.Code != wire.CloseAuthFailed {
		t.Errorf("bob's wrong password: CLOSE %d %q", c.Code, c.Reason)
	}
	bob.CloseNow() // as a browser does after CLOSE; else the server waits out the close handshake
	if n, _ := ts.shares.count(); n != 0 {
		t.Errorf("%d shared connections: a typed password must open a connection of one's own", n)
	}
	// demo's session carries on, bob's is gone.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ts.mu.Lock()
		var users []string
		for ss := range ts.sessions {
			users = append(users, ss.user)
		}
		ts.mu.Unlock()
		if len(users) == 1 && users[0] == "demo" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live sessions of %v, want demo's only", users)
		}
	}
}
