package peers

import (
	"bufio"
	"fmt"
	"image/color"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	if _, ok := Lookup("sh"); !ok {
		t.Fatal("sh not found")
	}
	if _, ok := Lookup("racgate-no-such-binary-xyz"); ok {
		t.Fatal("found a binary that does not exist")
	}
}

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("port %d", p)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d not free: %v", p, err)
	}
	l.Close()
}

// readBanner reads the RFB ProtocolVersion line a server sends first.
func readBanner(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestXvfbScreenshot(t *testing.T) {
	Require(t, "Xvfb", "xwd", "xsetroot")
	x := StartXvfb(t, "64x48", 24)
	if !strings.HasPrefix(x.Display, ":") {
		t.Fatalf("display %q", x.Display)
	}
	x.Run(t, "xsetroot", "-solid", "#3060a0")
	img := WaitStill(t, x, 100*time.Millisecond, 5*time.Second)
	if img.Rect.Dx() != 64 || img.Rect.Dy() != 48 {
		t.Fatalf("screenshot %v, want 64x48", img.Rect)
	}
	want := color.RGBA{0x30, 0x60, 0xa0, 0xff}
	for _, p := range [][2]int{{0, 0}, {63, 47}, {10, 20}} {
		if got := img.RGBAAt(p[0], p[1]); got != want {
			t.Fatalf("pixel %v = %v, want %v", p, got, want)
		}
	}
}

func TestXvncStarts(t *testing.T) {
	Require(t, "Xvnc", "vncpasswd", "xwd", "xdpyinfo")
	x := StartXvnc(t, XvncOptions{Geometry: "320x200", Password: "s3cret"})
	if b := readBanner(t, x.Addr); !strings.HasPrefix(b, "RFB 003.") {
		t.Fatalf("banner %q", b)
	}
	if _, err := os.Stat(x.Dir + "/passwd"); err != nil {
		t.Fatalf("password file: %v", err)
	}
	out := string(x.Run(t, "xdpyinfo"))
	if !strings.Contains(out, "320x200 pixels") {
		t.Fatalf("xdpyinfo does not show 320x200:\n%s", out)
	}
	if img := x.Screenshot(t); img.Rect.Dx() != 320 || img.Rect.Dy() != 200 {
		t.Fatalf("screenshot %v", img.Rect)
	}
}

func TestX11vncStarts(t *testing.T) {
	Require(t, "Xvfb", "x11vnc")
	x := StartXvfb(t, "200x100", 24)
	addr := StartX11vnc(t, x)
	if b := readBanner(t, addr); !strings.HasPrefix(b, "RFB 003.") {
		t.Fatalf("banner %q", b)
	}
}

func TestStartClientStopsAtCleanup(t *testing.T) {
	Require(t, "Xvfb", "xterm")
	x := StartXvfb(t, "200x100", 24)
	var pid int
	t.Run("inner", func(t *testing.T) {
		cmd := x.Start(t, "xterm", "-geometry", "20x5+0+0")
		pid = cmd.Process.Pid
	})
	// After the subtest's cleanup the xterm must be gone (Wait reaped it).
	if err := syscallKill0(pid); err == nil {
		t.Fatalf("xterm %d still running after cleanup", pid)
	}
}

func TestAccepted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if n := Accepted(t, port); n != 0 {
		t.Fatalf("%d connections before any dial", n)
	}
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, s)
	}
	if n := Accepted(t, port); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for Accepted(t, port) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections after closing one, want 2", Accepted(t, port))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range conns[1:] {
		c.Close()
	}
}

// recordTB records how a test ended: Skip and Fatal stop the goroutine, as
// the testing package's do.
type recordTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with r on its own goroutine, as a test function runs.
func (r *recordTB) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() { defer close(done); fn(r) }()
	<-done
}

// TestSkipGate: a missing binary or privilege skips outside CI and fails
// under RACGATE_REQUIRE_PEERS=1, whichever helper finds it missing.
func TestSkipGate(t *testing.T) {
	missing := map[string]func(testing.TB){
		"Require": func(tb testing.TB) { Require(tb, "racgate-no-such-binary-xyz") },
		"Skip":    func(tb testing.TB) { Skip(tb, "no %s", "thing") },
	}
	missing["RequireRoot"] = func(tb testing.TB) {
		geteuid = func() int { return 1000 }
		defer func() { geteuid = os.Geteuid }()
		RequireRoot(tb, "this")
	}
	for name, fn := range missing {
		for _, env := range []string{"", "1"} {
			t.Setenv(RequireEnv, env)
			r := &recordTB{}
			r.run(fn)
			if env == "1" && (!r.failed || r.skipped) || env == "" && (!r.skipped || r.failed) {
				t.Errorf("%s with %s=%q: skipped %v, failed %v (%s)", name, RequireEnv, env, r.skipped, r.failed, r.msg)
			}
		}
	}
	// Nothing missing: neither.
	t.Setenv(RequireEnv, "1")
	r := &recordTB{}
	r.run(func(tb testing.TB) { Require(tb, "sh") })
	if r.skipped || r.failed {
		t.Errorf("Require(sh): skipped %v, failed %v (%s)", r.skipped, r.failed, r.msg)
	}
}

// TestWaitWindowAndPointer: WaitWindow finds a client's window by its title
// once mapped, and WaitPointer sees the pointer where xdotool put it.
func TestWaitWindowAndPointer(t *testing.T) {
	Require(t, "Xvfb", "xterm", "xdotool")
	x := StartXvfb(t, "320x240", 24)
	x.Start(t, "xterm", "-geometry", "20x5+10+10", "-title", "peers-wait")
	id := x.WaitWindow(t, "^peers-wait$", 10*time.Second)
	if name := strings.TrimSpace(string(x.Run(t, "xdotool", "getwindowname", id))); name != "peers-wait" {
		t.Fatalf("window %s is named %q", id, name)
	}
	x.Run(t, "xdotool", "mousemove", "37", "41")
	x.WaitPointer(t, 37, 41, 5*time.Second)
	// (37,4) is not (37,41): the coordinates are compared whole.
	r := &recordTB{}
	r.run(func(tb testing.TB) { x.WaitPointer(tb, 37, 4, 100*time.Millisecond) })
	if !r.failed {
		t.Fatal("WaitPointer(37, 4) returned with the pointer at (37, 41)")
	}
}
