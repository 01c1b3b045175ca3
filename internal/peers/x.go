package peers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to come up.
const startTimeout = 20 * time.Second

// X is a running X server: Xvnc (with an RFB port) or Xvfb (display only).
type X struct {
	Display string // ":N"
	Addr    string // RFB address "127.0.0.1:P" for Xvnc; empty for Xvfb
	Dir     string // the server's own temporary directory (logs, password files)
	PID     int
	Width   int // screen size at start
	Height  int
}

// XvncOptions configures StartXvnc.
type XvncOptions struct {
	Geometry      string // "1024x768" when empty
	Depth         int    // 24 when zero
	SecurityTypes string // Xvnc -SecurityTypes; "None" when empty, "VncAuth" when only Password is set
	Password      string // VncAuth password, written with vncpasswd -f to a -PasswordFile
	ExtraArgs     []string
}

// process is one started child, killed by PID at cleanup.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

func startProcess(t testing.TB, cmd *exec.Cmd) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p, nil
}

// stop kills the process we started (by its PID only) and waits for it.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		return
	case <-time.After(2 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func parseGeometry(g string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(g, "x")
	if ok {
		w, err = strconv.Atoi(ws)
		if err == nil {
			h, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("peers: bad geometry %q", g)
	}
	return w, h, nil
}

// startX starts an X server with -displayfd and returns its display once it is
// ready. The server writes the display number to the pipe when it accepts clients.
func startX(t testing.TB, bin string, args []string, dir, logName string) (*process, string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	logPath := filepath.Join(dir, logName)
	logf, err := os.Create(logPath)
	if err != nil {
		w.Close()
		return nil, "", err
	}
	defer logf.Close()
	// -noreset: without it the server resets (root background and all) when its
	// last X client leaves, e.g. right after xsetroot.
	cmd := exec.Command(bin, append([]string{"-displayfd", "3", "-noreset"}, args...)...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	p, err := startProcess(t, cmd)
	w.Close()
	if err != nil {
		return nil, "", err
	}
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- res{line, err}
	}()
	select {
	case rs := <-ch:
		n, err := strconv.Atoi(strings.TrimSpace(rs.line))
		if err != nil {
			p.stop()
			return nil, "", fmt.Errorf("peers: %s gave no display (%v): %s", filepath.Base(bin), rs.err, logTail(logPath))
		}
		return p, ":" + strconv.Itoa(n), nil
	case <-time.After(startTimeout):
		p.stop()
		return nil, "", fmt.Errorf("peers: %s did not start in %v: %s", filepath.Base(bin), startTimeout, logTail(logPath))
	}
}

// waitPort waits until addr accepts TCP connections or p exits.
func waitPort(p *process, addr string) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return errors.New("server exited")
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("port not accepting connections")
}

// StartXvnc starts TigerVNC's Xvnc on a free display and a free loopback port,
// and stops it when the test ends.
func StartXvnc(t testing.TB, o XvncOptions) *X {
	t.Helper()
	bin := mustLookup(t, "Xvnc")
	if o.Geometry == "" {
		o.Geometry = "1024x768"
	}
	if o.Depth == 0 {
		o.Depth = 24
	}
	if o.SecurityTypes == "" {
		o.SecurityTypes = "None"
		if o.Password != "" {
			o.SecurityTypes = "VncAuth"
		}
	}
	w, h, err := parseGeometry(o.Geometry)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{
		"-geometry", o.Geometry, "-depth", strconv.Itoa(o.Depth),
		"-SecurityTypes", o.SecurityTypes,
		"-localhost", "-interface", "127.0.0.1", "-nolisten", "tcp",
	}
	if o.Password != "" {
		pw := filepath.Join(dir, "passwd")
		cmd := exec.Command(mustLookup(t, "vncpasswd"), "-f")
		cmd.Stdin = strings.NewReader(o.Password + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("peers: vncpasswd -f: %v", err)
		}
		if err := os.WriteFile(pw, out, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-PasswordFile", pw)
	}
	args = append(args, o.ExtraArgs...)
	// The port may be taken between FreePort and Xvnc's bind: retry a few times.
	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		a := append([]string{"-rfbport", strconv.Itoa(port)}, args...)
		p, display, err := startX(t, bin, a, dir, fmt.Sprintf("Xvnc.%d.log", attempt))
		if err != nil {
			lastErr = err
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: Xvnc %s on %s: %w: %s", display, addr, err, logTail(filepath.Join(dir, fmt.Sprintf("Xvnc.%d.log", attempt))))
			continue
		}
		return &X{Display: display, Addr: addr, Dir: dir, PID: p.cmd.Process.Pid, Width: w, Height: h}
	}
	t.Fatal(lastErr)
	return nil
}

// StartXvfb starts Xvfb on a free display with one screen of the given geometry
// ("1024x768") and depth, and stops it when the test ends.
func StartXvfb(t testing.TB, geometry string, depth int) *X {
	t.Helper()
	bin := mustLookup(t, "Xvfb")
	if geometry == "" {
		geometry = "1024x768"
	}
	if depth == 0 {
		depth = 24
	}
	w, h, err := parseGeometry(geometry)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Servers starting at the same moment may race for a display: retry.
	var lastErr error
	for attempt := range 3 {
		p, display, err := startX(t, bin, []string{"-screen", "0", fmt.Sprintf("%sx%d", geometry, depth), "-nolisten", "tcp"}, dir, fmt.Sprintf("Xvfb.%d.log", attempt))
		if err != nil {
			lastErr = err
			continue
		}
		return &X{Display: display, Dir: dir, PID: p.cmd.Process.Pid, Width: w, Height: h}
	}
	t.Fatal(lastErr)
	return nil
}

// StartX11vnc serves x's display with x11vnc on a free loopback port, without a
// password, and returns the RFB address. It stops when the test ends.
func StartX11vnc(t testing.TB, x *X) (addr string) {
	t.Helper()
	bin := mustLookup(t, "x11vnc")
	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		logPath := filepath.Join(x.Dir, fmt.Sprintf("x11vnc.%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-display", x.Display, "-rfbport", strconv.Itoa(port),
			"-localhost", "-noipv6", "-forever", "-shared", "-nopw", "-quiet")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Dir = x.Dir
		cmd.Env = append(os.Environ(), "HOME="+x.Dir)
		p, err := startProcess(t, cmd)
		logf.Close()
		if err != nil {
			t.Fatalf("peers: x11vnc: %v", err)
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: x11vnc on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return addr
	}
	t.Fatal(lastErr)
	return ""
}

// Command returns a command for an X client on x's display (DISPLAY set).
func (x *X) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if p, ok := Lookup(name); ok {
		name = p
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.Display, "HOME="+x.Dir)
	cmd.Dir = x.Dir
	return cmd
}

// Start starts an X client (xterm, xlogo, ...) on x's display and stops it when
// the test ends. Its output goes to a log file in x.Dir.
func (x *X) Start(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	Require(t, name)
	cmd := x.Command(context.Background(), name, args...)
	logf, err := os.CreateTemp(x.Dir, filepath.Base(name)+".*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if _, err := startProcess(t, cmd); err != nil {
		t.Fatalf("peers: start %s: %v", name, err)
	}
	return cmd
}

// Run runs an X client to completion and returns its standard output; it fails
// the test on error.
func (x *X) Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	Require(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := x.Command(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("peers: %s %v on %s: %v: %s", name, args, x.Display, err, stderr.String())
	}
	return out
}

// Screenshot captures the whole X screen with xwd and decodes it.
func (x *X) Screenshot(t testing.TB) *image.RGBA {
	t.Helper()
	img, err := x.screenshot()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Capture is Screenshot returning the error: xwd fails while the screen changes
// size (BadMatch), which a test waiting for a resize retries.
func (x *X) Capture() (*image.RGBA, error) { return x.screenshot() }

func (x *X) screenshot() (*image.RGBA, error) {
	xwd, ok := Lookup("xwd")
	if !ok {
		return nil, errors.New("peers: xwd not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, xwd, "-root", "-silent", "-display", x.Display)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("peers: xwd on %s: %w: %s", x.Display, err, stderr.String())
	}
	return DecodeXWD(out)
}

// WaitScreenSize waits until the X screen is w x h (a RandR resize under way) and
// returns a screenshot at that size. xwd fails while the screen changes size
// (BadMatch); such captures are retried.
func (x *X) WaitScreenSize(t testing.TB, w, h int, timeout time.Duration) *image.RGBA {
	t.Helper()
	var last error
	for deadline := time.Now().Add(timeout); ; {
		img, err := x.screenshot()
		if err == nil && img.Rect.Dx() == w && img.Rect.Dy() == h {
			return img
		}
		if err == nil {
			last = fmt.Errorf("screen %dx%d", img.Rect.Dx(), img.Rect.Dy())
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: the X screen is not %dx%d after %v: %v", w, h, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitStill waits until two screenshots taken interval apart are equal and
// returns the last one; it fails the test if the screen keeps changing for timeout.
func WaitStill(t testing.TB, x *X, interval, timeout time.Duration) *image.RGBA {
	t.Helper()
	Require(t, "xwd")
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	prev := x.Screenshot(t)
	for {
		time.Sleep(interval)
		cur := x.Screenshot(t)
		if cur.Rect == prev.Rect && bytes.Equal(cur.Pix, prev.Pix) {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: screen %s still changing after %v", x.Display, timeout)
		}
		prev = cur
	}
}

// WaitWindow waits until a viewable window whose title matches name (a
// regular expression, as `xdotool search --name` takes it) is on x's
// display, and returns its id. Tests wait on this instead of sleeping while a
// client maps its window.
func (x *X) WaitWindow(t testing.TB, name string, timeout time.Duration) string {
	t.Helper()
	Require(t, "xdotool")
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		// xdotool exits 1 while nothing matches: only its output counts.
		out, _ := x.Command(ctx, "xdotool", "search", "--onlyvisible", "--name", name).Output()
		cancel()
		if f := strings.Fields(string(out)); len(f) > 0 {
			return f[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: no viewable window named %q on %s after %v", name, x.Display, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitPointer waits until the X pointer of x's display is at (px, py): a
// pointer event sent through a remote protocol has then reached the server,
// and with no window manager the keyboard focus follows it.
func (x *X) WaitPointer(t testing.TB, px, py int, timeout time.Duration) {
	t.Helper()
	Require(t, "xdotool")
	want := fmt.Sprintf("x:%d y:%d ", px, py)
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		out, err := x.Command(ctx, "xdotool", "getmouselocation").Output()
		cancel()
		if err == nil && strings.HasPrefix(string(out), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: pointer on %s at %q after %v, want %q", x.Display, strings.TrimSpace(string(out)), timeout, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
