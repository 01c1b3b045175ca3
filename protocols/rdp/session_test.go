package rdp_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
)

// startSession dials srv as a Session and runs it until the test ends. The
// returned session has no Client: waitMatch reads its sink and errc.
func startSession(t *testing.T, srv *peers.RDPServer, cfg rdp.Config, opts rdp.SessionOptions) (*rdp.Session, *session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := &session{sink: &syncSink{}, errc: make(chan error, 1)}
	rs, err := rdp.DialSession(ctx, srv.Addr, cfg, s.sink, opts)
	if err != nil {
		t.Fatalf("DialSession: %v\n%s", err, srv.Log())
	}
	runCtx, stop := context.WithCancel(context.Background())
	go func() { s.errc <- rs.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		rs.Close()
		select {
		case err := <-s.errc:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return rs, s
}

// waitSize waits until the session's desktop is w x h.
func waitSize(t *testing.T, rs *rdp.Session, w, h int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if gw, gh := rs.Size(); gw == w && gh == h {
			return
		}
		if time.Now().After(deadline) {
			gw, gh := rs.Size()
			t.Fatalf("desktop %dx%d, want %dx%d", gw, gh, w, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestXRDPReconnectResize resizes an xrdp session without Display Control:
// the session reconnects at each new size once it has been still, xrdp
// reattaches the same Xorg session and resizes its screen, and the
// framebuffer equals the X screen. A burst of sizes costs one reconnect,
// the second reconnect works like the first, and input reaches the new
// connection.
func TestXRDPReconnectResize(t *testing.T) {
	srv := peers.StartXRDP(t, peers.XRDPOptions{Session: "xsetroot -solid '#2a6f97'\nexec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0'\n"})
	var mu sync.Mutex
	var told [][2]int
	rs, s := startSession(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls",
		Width: 800, Height: 600, ClipboardText: func(string, error) {}}, rdp.SessionOptions{Reconnect: true, ReconnectDelay: 300 * time.Millisecond,
		Reconnecting: func(w, h int) { mu.Lock(); told = append(told, [2]int{w, h}); mu.Unlock() }})
	x := srv.WaitSession(t, 30*time.Second)
	waitMatch(t, x, s)
	if !rs.CanResize() {
		t.Fatal("CanResize false with Reconnect against a server that honours the size")
	}
	// The local clipboard and Caps Lock: each new connection must set them again.
	const local = "vor dem Wiederverbinden: grüße ✓"
	if err := rs.SetClipboardText(local); err != nil {
		t.Fatal(err)
	}
	waitXClipboard(t, x, local)
	if err := rs.SyncLocks(false, false, true, false); err != nil {
		t.Fatal(err)
	}
	waitCapsLock(t, x, true)
	for i, size := range [][2]int{{1000, 700}, {640, 480}} {
		// A window being dragged: only the last size counts.
		for _, step := range [][2]int{{size[0] - 60, size[1] - 40}, {size[0] - 30, size[1] - 20}, size} {
			if err := rs.Resize(step[0], step[1], 100); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitSize(t, rs, size[0], size[1])
		x.WaitScreenSize(t, size[0], size[1], 15*time.Second)
		waitMatch(t, x, s)
		if n := rs.Reconnects(); n != i+1 {
			t.Fatalf("%d reconnects after %d resizes", n, i+1)
		}
	}
	waitCapsLock(t, x, true)
	waitXClipboard(t, x, local)
	mu.Lock()
	if len(told) != 2 || told[0] != [2]int{1000, 700} || told[1] != [2]int{640, 480} {
		t.Errorf("Reconnecting told %v, want [1000 700] then [640 480]", told)
	}
	mu.Unlock()
	// The same size again changes nothing.
	if err := rs.Resize(640, 480, 100); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if n := rs.Reconnects(); n != 2 {
		t.Fatalf("%d reconnects after asking for the current size", n)
	}
	// Input goes to the new connection.
	if err := rs.Pointer(0, 321, 123); err != nil {
		t.Fatal(err)
	}
	x.WaitPointer(t, 321, 123, 10*time.Second)

	// Closed while it reconnects, the session ends: Run returns and no new
	// connection is left running.
	if err := rs.Resize(720, 540, 100); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(told)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no third reconnect")
		}
	}
	rs.Close()
	select {
	case err := <-s.errc:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Run after Close during a reconnect: %v", err)
		}
		s.errc <- nil // for startSession's cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close during a reconnect")
	}
}

// TestShadowReconnectFixedSize: freerdp-shadow shows its X screen at that
// screen's size whatever the client asks for, so reconnecting could not
// resize it; the session says it cannot resize and never reconnects.
func TestShadowReconnectFixedSize(t *testing.T) {
	x := desktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{})
	rs, s := startSession(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls",
		Width: 1280, Height: 720}, rdp.SessionOptions{Reconnect: true, ReconnectDelay: 100 * time.Millisecond})
	waitMatch(t, x, s)
	if rs.CanResize() {
		t.Error("CanResize true against a server that keeps its own size")
	}
	if err := rs.Resize(900, 600, 100); !errors.Is(err, rdp.ErrDisplayControl) {
		t.Errorf("Resize = %v, want ErrDisplayControl", err)
	}
	time.Sleep(400 * time.Millisecond)
	if n := rs.Reconnects(); n != 0 {
		t.Errorf("%d reconnects", n)
	}
	if w, h := rs.Size(); w != 1024 || h != 768 {
		t.Errorf("Size %dx%d, want the shadowed screen's 1024x768", w, h)
	}
}

// waitCapsLock waits until the X server's Caps Lock state is on.
func waitCapsLock(t *testing.T, x *peers.X, on bool) {
	t.Helper()
	want := "Caps Lock:   off"
	if on {
		want = "Caps Lock:   on"
	}
	var out []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out = x.Run(t, "xset", "q"); strings.Contains(string(out), want) {
			return
		}
	}
	t.Fatalf("xset q: no %q in\n%s", want, out)
}

// waitXClipboard waits until xclip reads want from the CLIPBOARD selection.
func waitXClipboard(t *testing.T, x *peers.X, want string) {
	t.Helper()
	peers.Require(t, "xclip")
	var got string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := x.Command(ctx, "xclip", "-o", "-selection", "clipboard").Output()
		cancel()
		if got = string(out); got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("xclip -o read %q (%v), want %q", got, err, want)
		}
	}
}
