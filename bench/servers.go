package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds how long a server may take to come up.
const startTimeout = 20 * time.Second

// extraDirs are searched after PATH: Debian keeps some servers in sbin.
var extraDirs = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"}

// lookup finds a binary in PATH or the usual system directories.
func lookup(bin string) (string, error) {
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	for _, d := range extraDirs {
		p := filepath.Join(d, bin)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not installed (see /work/shared/PEERS.md for packages): %w", bin, exec.ErrNotFound)
}

// procs are the processes one run started. Stop kills them by PID, newest first; the
// harness never signals a process it did not start.
type procs struct {
	mu   sync.Mutex
	list []stopper // processes and clean-ups, in the order they were added
}

// stopper is what stopAll undoes: a process, or a clean-up (atStop).
type stopper interface{ stop() }

type stopFunc func()

func (f stopFunc) stop() { f() }

// atStop adds a clean-up that stopAll runs in turn with the processes, newest first: it
// runs before the processes started before it are stopped and after those started
// after it.
func (ps *procs) atStop(f func()) {
	ps.mu.Lock()
	ps.list = append(ps.list, stopFunc(f))
	ps.mu.Unlock()
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (ps *procs) start(cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop interrupts the process, then kills it if it has not gone in 2 s.
func (p *proc) stop() {
	if p.exited() {
		return
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

// stopAll stops every process started, newest first.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := ps.list
	ps.list = nil
	ps.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop()
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// xvnc is a running TigerVNC Xvnc.
type xvnc struct {
	ps      *procs
	p       *proc
	Display string // ":N"
	Addr    string // RFB address, 127.0.0.1:P
	Dir     string
	Width   int
	Height  int
}

// startXvnc starts Xvnc on a free display (-displayfd) and a free loopback port, with no
// VNC authentication, its files in dir.
func startXvnc(ctx context.Context, ps *procs, dir string, width, height int) (*xvnc, error) {
	bin, err := lookup("Xvnc")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		logPath := filepath.Join(dir, fmt.Sprintf("Xvnc.%d.log", attempt))
		x, err := startXvncOnce(ctx, ps, bin, dir, logPath, port, width, height)
		if err == nil {
			return x, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startXvncOnce(ctx context.Context, ps *procs, bin, dir, logPath string, port, width, height int) (*xvnc, error) {
	display, p, err := startDisplayServer(ctx, ps, bin, dir, logPath,
		"-rfbport", strconv.Itoa(port), "-geometry", fmt.Sprintf("%dx%d", width, height), "-depth", "24",
		"-SecurityTypes", "None",
		// Many sessions connect at once; TigerVNC would blacklist 127.0.0.1 after a few
		// handshakes in flight ("Too many security failures").
		"-BlacklistThreshold", "1000000", "-BlacklistTimeout", "0",
		"-localhost", "-interface", "127.0.0.1", "-nolisten", "tcp")
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitPort(ctx, p, addr); err != nil {
		p.stop()
		return nil, fmt.Errorf("start Xvnc %s on %s: %w: %s", display, addr, err, logTail(logPath))
	}
	return &xvnc{ps: ps, p: p, Display: display, Addr: addr, Dir: dir, Width: width, Height: height}, nil
}

// startDisplayServer starts an X server (Xvnc, Xvfb) with -displayfd and -noreset and
// returns its display once it accepts clients.
func startDisplayServer(ctx context.Context, ps *procs, bin, dir, logPath string, args ...string) (string, *proc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		w.Close()
		return "", nil, err
	}
	defer logf.Close()
	// -noreset keeps the screen when the last X client leaves.
	cmd := exec.Command(bin, append([]string{"-displayfd", "3", "-noreset"}, args...)...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	p, err := ps.start(cmd)
	w.Close()
	name := filepath.Base(bin)
	if err != nil {
		return "", nil, fmt.Errorf("start %s: %w", name, err)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(io.LimitReader(r, 64)).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			p.stop()
			return "", nil, fmt.Errorf("%s gave no display: %s", name, logTail(logPath))
		}
		return ":" + strconv.Itoa(n), p, nil
	case <-time.After(startTimeout):
		p.stop()
		return "", nil, fmt.Errorf("%s did not start in %v: %s", name, startTimeout, logTail(logPath))
	case <-ctx.Done():
		p.stop()
		return "", nil, ctx.Err()
	}
}

// waitPort waits until addr accepts TCP connections, or p exits.
func waitPort(ctx context.Context, p *proc, addr string) error {
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("port not accepting connections")
}

// command is an X client on x's display.
func (x *xvnc) command(name string, args ...string) (*exec.Cmd, error) {
	bin, err := lookup(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.Display, "HOME="+x.Dir, "LANG=C", "LC_ALL=C")
	cmd.Dir = x.Dir
	return cmd, nil
}

// start starts an X client that runs until the run ends; its output goes to a log in x.Dir.
func (x *xvnc) start(name string, args ...string) (*proc, error) {
	cmd, err := x.command(name, args...)
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp(x.Dir, filepath.Base(name)+".*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := x.ps.start(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

// run runs an X client to completion and returns its standard output.
func (x *xvnc) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd, err := x.command(name, args...)
	if err != nil {
		return nil, err
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	p, err := x.ps.start(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	select {
	case <-p.done:
	case <-time.After(startTimeout):
		p.stop()
		return nil, fmt.Errorf("%s %v: no answer in %v", name, args, startTimeout)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	if c := cmd.ProcessState.ExitCode(); c != 0 {
		return nil, fmt.Errorf("%s %v: exit %d: %s", name, args, c, strings.TrimSpace(stderr.String()))
	}
	return []byte(stdout.String()), nil
}

// waitWindow waits until a window named name is mapped on x.
func (x *xvnc) waitWindow(ctx context.Context, name string) (string, error) {
	out, err := x.run(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", name)
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return "", fmt.Errorf("no window %q", name)
	}
	return f[0], nil
}

// racgateProc is a running racgate.
type racgateProc struct {
	p     *proc
	Base  string // http://127.0.0.1:P
	Debug string // pprof's http://127.0.0.1:P, when started with profiles
}

var (
	listenLine = regexp.MustCompile(`msg="racgate listening" addr=(127\.0\.0\.1:\d+)`)
	pprofLine  = regexp.MustCompile(`msg="pprof listening" addr=(127\.0\.0\.1:\d+)`)
)

// startRacgate runs bin serve -config dir/racgate.yaml (listening on 127.0.0.1:0) and
// reads the address from its log. Its log goes to dir/racgate.log. With pprof, it also
// serves profiles on another loopback port.
func startRacgate(ctx context.Context, ps *procs, bin, dir, config string, pprof bool, log *slog.Logger) (*racgateProc, error) {
	cfgPath := filepath.Join(dir, "racgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "racgate.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "-config", cfgPath, "-log-level", "info"}
	if pprof {
		args = append(args, "-debug-listen", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout = logf
	cmd.Stderr = io.MultiWriter(logf, pw)
	cmd.Dir = dir
	p, err := ps.start(cmd)
	if err != nil {
		pw.Close()
		logf.Close()
		return nil, fmt.Errorf("start racgate: %w", err)
	}
	// The log stays open while racgate runs: its stderr is copied through a pipe, and a
	// closed destination would end racgate with SIGPIPE.
	go func() { <-p.done; pw.Close(); logf.Close() }()
	// The pprof line follows the listening line; both come before racgate serves.
	type addrs struct{ base, debug string }
	addr := make(chan addrs, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		var a addrs
		sent := false
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil && a.base == "" {
				a.base = "http://" + m[1]
			}
			if m := pprofLine.FindStringSubmatch(sc.Text()); m != nil && a.debug == "" {
				a.debug = "http://" + m[1]
			}
			if !sent && a.base != "" && (!pprof || a.debug != "") {
				sent = true
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		log.Debug("racgate started", "addr", a.base, "pid", p.pid())
		return &racgateProc{p: p, Base: a.base, Debug: a.debug}, nil
	case <-p.done:
		return nil, fmt.Errorf("racgate exited: %s", logTail(logPath))
	case <-time.After(startTimeout):
		p.stop()
		return nil, fmt.Errorf("racgate did not listen in %v: %s", startTimeout, logTail(logPath))
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// buildRacgate builds cmd/racgate into dir and returns the binary's path. When the
// working tree does not build (other work in progress), it builds the last commit
// instead, from a copy made with git archive, and says so in note.
func buildRacgate(ctx context.Context, dir string) (bin, note string, err error) {
	goBin, err := lookup("go")
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "racgate")
	build := func(srcDir string) error {
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/racgate")
		cmd.Dir = srcDir
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build racgate in %s: %w: %s", srcDir, err, strings.TrimSpace(string(b)))
		}
		return nil
	}
	root, err := moduleRoot(ctx, goBin)
	if err != nil {
		return "", "", err
	}
	treeErr := build(root)
	if treeErr == nil {
		return bin, "", nil
	}
	gitBin, err := lookup("git")
	if err != nil {
		return "", "", treeErr
	}
	rev, err := exec.CommandContext(ctx, gitBin, "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "", "", treeErr
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o700); err != nil {
		return "", "", err
	}
	archive := exec.CommandContext(ctx, "sh", "-c", `"$1" -C "$2" archive HEAD | tar -x -C "$3"`, "sh", gitBin, root, src)
	if b, err := archive.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%w; git archive HEAD: %v: %s", treeErr, err, b)
	}
	if err := build(src); err != nil {
		return "", "", fmt.Errorf("%w; and HEAD: %w", treeErr, err)
	}
	r := strings.TrimSpace(string(rev))
	return bin, "the working tree did not build; racgate was built from commit " + r, nil
}

// moduleRoot is the directory of the racgate module (go.mod).
func moduleRoot(ctx context.Context, goBin string) (string, error) {
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run bench inside the racgate module (or pass -racgate)")
	}
	return filepath.Dir(mod), nil
}
