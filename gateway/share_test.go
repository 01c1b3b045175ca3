package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

func TestShareKey(t *testing.T) {
	a := shareKey("desk", config.Settings{"hostname": "h", "password": "p"})
	if b := shareKey("desk", config.Settings{"password": "p", "hostname": "h"}); a != b {
		t.Fatal("equal settings in another order give another key")
	}
	for _, other := range []string{
		shareKey("desk2", config.Settings{"hostname": "h", "password": "p"}),
		shareKey("desk", config.Settings{"hostname": "h", "password": "q"}),
		shareKey("desk", config.Settings{"hostname": "h", "password": "p", "read-only": "true"}),
		shareKey("desk", config.Settings{"hostname": "h"}),
	} {
		if other == a {
			t.Fatal("different settings share a key")
		}
	}
	// No concatenation ambiguity.
	if shareKey("e", config.Settings{"a": "bc"}) == shareKey("e", config.Settings{"ab": "c"}) {
		t.Fatal("a=bc and ab=c share a key")
	}
}

// fakeShared is a sharedRemote whose Run ends when told to or when its context does.
type fakeShared struct {
	end     chan error
	closed  atomic.Int32
	members atomic.Int32
}

func (f *fakeShared) Run(ctx context.Context) error {
	select {
	case err := <-f.end:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (f *fakeShared) Close() error     { f.closed.Add(1); return nil }
func (f *fakeShared) display() display { return fakeDisplay{} }
func (f *fakeShared) member() remote {
	f.members.Add(1)
	return &fakeRemote{w: 800, h: 600, end: make(chan error, 1), closed: make(chan struct{})}
}

// shareDialer counts dials and hands out one fakeShared per dial.
type shareDialer struct {
	mu    sync.Mutex
	dials int
	gate  chan struct{} // when set, a dial waits for it
	err   error
	last  *fakeShared
	ev    remoteEvents
}

func (d *shareDialer) dial(ctx context.Context, ev remoteEvents) (sharedRemote, error) {
	d.mu.Lock()
	d.dials++
	gate, err := d.gate, d.err
	d.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	f := &fakeShared{end: make(chan error, 1)}
	d.mu.Lock()
	d.last, d.ev = f, ev
	d.mu.Unlock()
	ev.Name("the desktop")
	return f, nil
}

func (d *shareDialer) lastShared() *fakeShared {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

func (d *shareDialer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials
}

// eventLog records a member's events.
type eventLog struct {
	mu  sync.Mutex
	got []string
}

func (l *eventLog) events() remoteEvents {
	add := func(s string) { l.mu.Lock(); l.got = append(l.got, s); l.mu.Unlock() }
	return remoteEvents{
		Clipboard: func(c wire.ClipboardContent) { add("clip " + c.Text) },
		Bell:      func() { add("bell") },
		Name:      func(s string) { add("name " + s) },
		Notice:    func(level uint8, s string) { add("notice " + strconv.Itoa(int(level)) + " " + s) },
	}
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.got, "; ")
}

func TestSharesJoinAndLeave(t *testing.T) {
	sh := newShares()
	sh.grace = 0 // the last one out ends it at once (TestSharesGrace has the grace)
	d := &shareDialer{gate: make(chan struct{})}
	log := discardLogger()
	ctx := context.Background()

	// Three sessions arrive while the first dial is in progress: one dial for all.
	type joined struct {
		r   remote
		err error
	}
	logs := make([]*eventLog, 3)
	results := make(chan joined, 3)
	for i := range logs {
		logs[i] = &eventLog{}
		go func() {
			r, _, err := sh.join(ctx, "k", log, logs[i].events(), d.dial)
			results <- joined{r, err}
		}()
	}
	waitFor(t, "three members", func() bool { _, n := sh.count(); return n == 3 })
	close(d.gate)
	var rs []remote
	for range 3 {
		j := <-results
		if j.err != nil {
			t.Fatal(j.err)
		}
		rs = append(rs, j.r)
	}
	if n := d.count(); n != 1 {
		t.Fatalf("%d dials for three sessions, want 1", n)
	}
	f := d.last
	if n := f.members.Load(); n != 3 {
		t.Fatalf("%d member remotes, want 3 (each its own input state)", n)
	}

	// Events reach every member; a late member learns the desktop name.
	d.ev.Clipboard(wire.ClipboardContent{Text: "shared text"})
	d.ev.Bell()
	d.ev.Notice(wire.NoticeWarning, "shared notice")
	late := &eventLog{}
	r4, _, err := sh.join(ctx, "k", log, late.events(), d.dial)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range logs {
		if got := l.String(); got != "name the desktop; clip shared text; bell; notice 1 shared notice" {
			t.Errorf("member %d events %q", i, got)
		}
	}
	if got := late.String(); got != "name the desktop" {
		t.Errorf("late member events %q", got)
	}

	// Leaving one by one: the connection lives until the last one leaves.
	for _, r := range append(rs, r4)[:3] {
		r.Close()
		r.Close() // twice is harmless
	}
	if f.closed.Load() != 0 {
		t.Fatal("the connection closed while a session is on it")
	}
	if c, n := sh.count(); c != 1 || n != 1 {
		t.Fatalf("count %d conns %d sessions, want 1 1", c, n)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- r4.Run(ctx) }()
	r4.Close()
	waitFor(t, "the connection to close", func() bool { return f.closed.Load() == 1 })
	if c, _ := sh.count(); c != 0 {
		t.Fatalf("%d connections left in the registry", c)
	}

	// The next session dials anew.
	r5, _, err := sh.join(ctx, "k", log, remoteEvents{}, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer r5.Close()
	if n := d.count(); n != 2 {
		t.Fatalf("%d dials, want 2", n)
	}
	select {
	case <-runErr:
	case <-time.After(5 * time.Second):
		t.Fatal("Run of the last member did not return after the connection ended")
	}
}

// TestSharesGrace: a connection whose last session left stays open for the grace; a
// session back within it rejoins without a dial; past it, or at shutdown, it ends.
func TestSharesGrace(t *testing.T) {
	sh := newShares()
	sh.grace = 300 * time.Millisecond
	d := &shareDialer{gate: make(chan struct{})}
	close(d.gate)
	ctx := context.Background()
	r1, _, err := sh.join(ctx, "k", discardLogger(), (&eventLog{}).events(), d.dial)
	if err != nil {
		t.Fatal(err)
	}
	f := d.lastShared()
	r1.Close()
	time.Sleep(150 * time.Millisecond)
	if f.closed.Load() != 0 {
		t.Fatal("the connection closed within its grace")
	}
	r2, _, err := sh.join(ctx, "k", discardLogger(), (&eventLog{}).events(), d.dial)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // past the first grace: the rejoin stopped it
	if n := d.count(); n != 1 || f.closed.Load() != 0 {
		t.Fatalf("a rejoin within the grace: %d dials, connection closed %d times", n, f.closed.Load())
	}
	r2.Close()
	waitFor(t, "the connection to close after the grace", func() bool { return f.closed.Load() == 1 })
	if c, _ := sh.count(); c != 0 {
		t.Fatalf("%d connections left in the registry", c)
	}

	// At shutdown, one waiting out its grace ends at once.
	r3, _, err := sh.join(ctx, "k", discardLogger(), (&eventLog{}).events(), d.dial)
	if err != nil {
		t.Fatal(err)
	}
	f = d.lastShared()
	sh.grace = time.Hour
	r3.Close()
	sh.endIdle()
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := sh.wait(wctx); err != nil || f.closed.Load() != 1 {
		t.Fatalf("after endIdle: wait %v, closed %d", err, f.closed.Load())
	}
}

func TestSharesServerEnds(t *testing.T) {
	sh := newShares()
	sh.grace = 0
	d := &shareDialer{}
	ctx := context.Background()
	a, _, err := sh.join(ctx, "k", discardLogger(), remoteEvents{}, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := sh.join(ctx, "k", discardLogger(), remoteEvents{}, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- a.Run(ctx) }()
	go func() { errs <- b.Run(ctx) }()
	ended := errors.New("server went away")
	d.last.end <- ended
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ended) {
				t.Fatalf("Run: %v, want the server's error", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a member's Run did not end with the connection")
		}
	}
	waitFor(t, "the registry to empty", func() bool { c, _ := sh.count(); return c == 0 })
	a.Close()
	b.Close()
	// A new session does not join the dead connection.
	c, _, err := sh.join(ctx, "k", discardLogger(), remoteEvents{}, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := d.count(); n != 2 {
		t.Fatalf("%d dials, want 2", n)
	}
}

func TestSharesDialFailsAndCancel(t *testing.T) {
	sh := newShares()
	sh.grace = 0
	ctx := context.Background()
	refused := errors.New("refused")
	d := &shareDialer{err: refused, gate: make(chan struct{})}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := sh.join(ctx, "k", discardLogger(), remoteEvents{}, d.dial)
			errs <- err
		}()
	}
	waitFor(t, "two waiting", func() bool { _, n := sh.count(); return n == 2 })
	close(d.gate)
	for range 2 {
		if err := <-errs; !errors.Is(err, refused) {
			t.Fatalf("join: %v, want the dial's error", err)
		}
	}
	waitFor(t, "the registry to empty", func() bool { c, _ := sh.count(); return c == 0 })

	// The only waiting session gives up: the dial is cancelled with it.
	d = &shareDialer{gate: make(chan struct{})}
	jctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := sh.join(jctx, "k", discardLogger(), remoteEvents{}, d.dial)
		done <- err
	}()
	waitFor(t, "the dial", func() bool { return d.count() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("join: %v, want cancelled", err)
	}
	waitFor(t, "the registry to empty", func() bool { c, _ := sh.count(); return c == 0 })
}

// TestXvncSharedConnection: two browsers on one VNC endpoint share one connection to Xvnc;
// both see the screen exactly, both type into it; one leaving keeps the other; the last
// leaving closes the connection; share-connection: false gives each its own.
func TestXvncSharedConnection(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xterm")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	x.Start(t, "xterm", "-geometry", "60x15+20+20", "-fa", "", "-fn", "fixed", "+bc")
	_, portStr, _ := strings.Cut(x.Addr, ":")
	port, _ := strconv.Atoi(portStr)

	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"    maximum-connections: 1\n", "    maximum-connections: -1\n",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {quality: lossless}\n").Replace(testConfig)
	ts := newTestServer(t, y)
	ts.shares.grace = 0 // the last one out ends it at once (TestSharesGrace has the grace)
	open := func(user string) *browser {
		b := openBrowser(t, ts, user, "/ws/desk?width=640&height=480")
		b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
		return b
	}
	a, b := open("demo"), open("bob")
	if c, n := ts.shares.count(); c != 1 || n != 2 {
		t.Fatalf("%d shared connections with %d sessions, want 1 with 2", c, n)
	}
	if n := peers.Accepted(t, port); n != 1 {
		t.Fatalf("Xvnc has %d connections, want 1", n)
	}
	_, body := ts.scrape(t)
	if c, n := metricValue(t, body, "racgate_shared_connections"), metricValue(t, body, "racgate_shared_sessions"); c != 1 || n != 2 {
		t.Fatalf("metrics: %v shared connections, %v sessions; want 1 and 2", c, n)
	}
	matchScreen(t, a, x)
	matchScreen(t, b, x)

	typeLine := func(who *browser, text string) {
		before := x.Screenshot(t)
		ms := []wire.Message{wire.Pointer{X: 100, Y: 60}}
		for _, r := range text {
			ms = append(ms, wire.Key{Down: true, Keysym: uint32(r)}, wire.Key{Keysym: uint32(r)})
		}
		who.send(ms...)
		waitFor(t, "typing to reach X", func() bool { n, _ := peers.DiffRGB(before, x.Screenshot(t)); return n > 0 })
	}
	typeLine(b, "from-b")
	matchScreen(t, a, x) // a sees what b typed
	matchScreen(t, b, x)

	// a leaves: b keeps the connection and keeps working.
	a.conn.Close(1000, "")
	waitFor(t, "a to leave", func() bool { _, n := ts.shares.count(); return n == 1 })
	typeLine(b, "-still")
	matchScreen(t, b, x)
	if n := peers.Accepted(t, port); n != 1 {
		t.Fatalf("Xvnc has %d connections after a left, want 1", n)
	}

	// b leaves: the connection to Xvnc closes.
	b.conn.Close(1000, "")
	waitFor(t, "the shared connection to end", func() bool { c, _ := ts.shares.count(); return c == 0 })
	waitFor(t, "Xvnc to see the connection close", func() bool { return peers.Accepted(t, port) == 0 })

	// Without sharing, two sessions are two connections.
	y2 := strings.Replace(y, "settings: {quality: lossless}", "settings: {quality: lossless, share-connection: false}", 1)
	ts = newTestServer(t, y2)
	a, b = open("demo"), open("bob")
	if n := peers.Accepted(t, port); n != 2 {
		t.Fatalf("share-connection: false: Xvnc has %d connections, want 2", n)
	}
	matchScreen(t, a, x)
	matchScreen(t, b, x)
	a.conn.Close(1000, "")
	b.conn.Close(1000, "")
}

// TestXvncSharedSizeComesBack: on a shared desktop the size last asked for wins; when
// the viewer who asked it leaves, the desktop goes back to the size of the viewer who
// asked before, as Xvnc's own screen shows.
func TestXvncSharedSizeComesBack(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"    maximum-connections: 1\n", "    maximum-connections: -1\n",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n").Replace(testConfig)
	ts := newTestServer(t, y)
	open := func(user string, w, h int) *browser {
		b := openBrowser(t, ts, user, fmt.Sprintf("/ws/desk?width=%d&height=%d", w, h))
		b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
		return b
	}
	a := open("demo", 640, 480)
	b := open("bob", 800, 600)
	x.WaitScreenSize(t, 800, 600, 10*time.Second)
	c := open("demo", 720, 400)
	x.WaitScreenSize(t, 720, 400, 10*time.Second)

	// b, who did not ask last, leaves: nothing changes.
	b.conn.Close(1000, "")
	waitFor(t, "b to leave", func() bool { _, n := ts.shares.count(); return n == 2 })
	time.Sleep(300 * time.Millisecond)
	x.WaitScreenSize(t, 720, 400, time.Second)

	// a asks again, then leaves: back to c's size.
	a.send(wire.ResizeRequest{Width: 1024, Height: 768})
	x.WaitScreenSize(t, 1024, 768, 10*time.Second)
	a.conn.Close(1000, "")
	x.WaitScreenSize(t, 720, 400, 10*time.Second)
	c.conn.Close(1000, "")
}

// TestXvncSharedServerEnds: the server going away ends every session on the connection,
// each with the reason.
func TestXvncSharedServerEnds(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"    maximum-connections: 1\n", "    maximum-connections: -1\n",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n").Replace(testConfig)
	ts := newTestServer(t, y)
	var bs []*browser
	for i := range 3 {
		b := openBrowser(t, ts, "demo", "/ws/desk")
		b.wait(fmt.Sprintf("first frame %d", i), 15*time.Second, func(b *browser) bool { return b.frames > 0 })
		bs = append(bs, b)
	}
	if c, n := ts.shares.count(); c != 1 || n != 3 {
		t.Fatalf("%d connections with %d sessions, want 1 with 3", c, n)
	}
	if err := syscall.Kill(x.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		b.wait("CLOSE", 10*time.Second, func(b *browser) bool { return b.closed != nil })
		if b.closed.Code != wire.CloseRemoteEnded {
			t.Fatalf("CLOSE %d %q, want remote ended", b.closed.Code, b.closed.Reason)
		}
	}
	waitFor(t, "the registry to empty", func() bool { c, _ := ts.shares.count(); return c == 0 })
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
