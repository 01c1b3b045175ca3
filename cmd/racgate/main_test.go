package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

func TestCheckConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"check-config", "../../examples/racgate.yaml"}, nil, &out, &errb); rc != 0 || out.String() != "OK\n" {
		t.Fatalf("example: rc %d, %q %q", rc, out.String(), errb.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listen: 127.0.0.1:1\nendpoints:\n  - name: x\n    protocol: rpd\n"), 0o600)
	out.Reset()
	errb.Reset()
	rc := run([]string{"check-config", bad}, nil, &out, &errb)
	if rc != 1 || !strings.Contains(errb.String(), bad+`:4: endpoints[0].protocol: unknown protocol "rpd"`) {
		t.Fatalf("bad: rc %d, %q", rc, errb.String())
	}
	// A policy's expression is type-checked: a misspelt field is named with its line.
	os.WriteFile(bad, []byte("listen: 127.0.0.1:1\npolicies:\n  - name: p\n    expression: '\"admins\" in user.grups'\n"), 0o600)
	out.Reset()
	errb.Reset()
	rc = run([]string{"check-config", bad}, nil, &out, &errb)
	if rc != 1 || !strings.Contains(errb.String(), bad+`:4: policies[0].expression: `) || !strings.Contains(errb.String(), "undefined field 'grups'") {
		t.Fatalf("bad expression: rc %d, %q", rc, errb.String())
	}
}

func TestHashPassword(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"hash-password", "-cost", "4"}, strings.NewReader("s3cret\n"), &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	h := strings.TrimSpace(out.String())
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret")) != nil {
		t.Fatalf("hash %q does not match", h)
	}
	if rc := run([]string{"hash-password"}, strings.NewReader(""), io.Discard, io.Discard); rc != 1 {
		t.Fatalf("empty password: rc %d", rc)
	}
}

type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
}

// startRacgate builds and starts racgate serve with the config text; it returns once the
// server listens, with its address.
func startRacgate(t *testing.T, cfgText string, flags ...string) (*proc, string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "racgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "racgate.yaml")
	os.WriteFile(cfg, []byte(cfgText), 0o600)
	cmd := exec.Command(bin, append([]string{"serve", "-config", cfg}, flags...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	addr := p.waitLine(`racgate listening"?,? ?"?addr"?[=:]"?([0-9.:\[\]]+)`)[1]
	return p, addr, cfg
}

func (p *proc) waitLine(re string) []string {
	p.t.Helper()
	lines := p.linesUntil(re)
	return regexp.MustCompile(re).FindStringSubmatch(lines[len(lines)-1])
}

// linesUntil returns the log lines up to and with the first that matches re.
func (p *proc) linesUntil(re string) []string {
	p.t.Helper()
	var seen []string
	r := regexp.MustCompile(re)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("racgate exited waiting for %q", re)
			}
			p.t.Log(l)
			seen = append(seen, l)
			if r.MatchString(l) {
				return seen
			}
		case <-timeout:
			p.t.Fatalf("no log line %q", re)
		}
	}
}

// TestServeShutdownEndsSessions: SIGTERM with a live session against a real Xvnc; the
// browser reads CLOSE "racgate is shutting down" and racgate exits 0.
func TestServeShutdownEndsSessions(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	p, addr, _ := startRacgate(t, exampleWithXvnc(t, x))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, msgs := openDesktop(t, ctx, "http://"+addr, &http.Client{Transport: &http.Transport{}})
	p.cmd.Process.Signal(syscall.SIGTERM)
	cl := waitMsg(t, msgs, "CLOSE", func(m wire.Message) bool { _, ok := m.(wire.Close); return ok }).(wire.Close)
	if cl.Code != wire.CloseShutdown || cl.Reason != "racgate is shutting down" {
		t.Fatalf("CLOSE %d %q", cl.Code, cl.Reason)
	}
	p.waitLine(`session end.*code=8`)
	p.waitLine(`stopped`)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// TestServeSignals runs the real binary: it serves, refuses a bad reload and keeps
// serving, reloads a good one, and stops cleanly on SIGTERM.
func TestServeSignals(t *testing.T) {
	good, err := os.ReadFile("../../examples/racgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The file's listen is an address no interface here has: -listen stands for it, at
	// the start and across reloads.
	cfgText := strings.Replace(string(good), "listen: 127.0.0.1:8080", "listen: 192.0.2.1:8080", 1)
	p, addr, cfg := startRacgate(t, cfgText, "-listen", "127.0.0.1:0")
	health := func() {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("healthz %q", b)
		}
	}
	health()

	os.WriteFile(cfg, []byte(cfgText+"bogus: 1\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(`config reload refused.*bogus: unknown key`)
	health()

	os.WriteFile(cfg, []byte(cfgText), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	if m := p.waitLine(`config reloaded|listen address changes need a restart`); m[0] != "config reloaded" {
		t.Fatalf("reload under -listen: %q", m[0])
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLine(`stopped`)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listen: 127.0.0.1:0\nstore: redis\n"), 0o600)
	var errb bytes.Buffer
	if rc := run([]string{"serve", "-config", bad}, nil, io.Discard, &errb); rc != 1 ||
		!strings.Contains(errb.String(), bad+":2: store: redis needs its addresses") {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	if rc := run([]string{"serve"}, nil, io.Discard, io.Discard); rc != 2 {
		t.Fatalf("serve without -config: rc %d", rc)
	}
	if rc := run([]string{"bogus"}, nil, io.Discard, io.Discard); rc != 2 {
		t.Fatalf("unknown command: rc %d", rc)
	}
}

// TestServeMetricsListen: metrics.listen serves /metrics to anyone on its own address,
// while the main listener asks for a token.
func TestServeMetricsListen(t *testing.T) {
	good, err := os.ReadFile("../../examples/racgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfgText := strings.Replace(string(good), "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1) +
		"metrics: {listen: 127.0.0.1:0}\n"
	p, addr, _ := startRacgate(t, cfgText)
	maddr := p.waitLine(`metrics listening" addr=(\S+)`)[1]
	status := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := status("http://" + maddr + "/metrics"); code != http.StatusOK || !strings.Contains(body, "racgate_sessions_active 0") {
		t.Fatalf("metrics.listen: %d\n%s", code, body)
	}
	if code, _ := status("http://" + addr + "/metrics"); code != http.StatusUnauthorized {
		t.Fatalf("main listener /metrics without a token: %d", code)
	}
	if code, _ := status("http://" + maddr + "/login"); code != http.StatusNotFound {
		t.Fatalf("metrics.listen serves more than /metrics: %d", code)
	}
}

// TestSetGCPercent: without GOGC racgate collects at gcPercent; with GOGC set, the
// runtime's own reading of it stands.
func TestSetGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	setGCPercent(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("without GOGC: GC percent %d, want %d", got, gcPercent)
	}
	setGCPercent(func(k string) string {
		if k == "GOGC" {
			return "80"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set: GC percent %d, want it left alone (100)", got)
	}
}
