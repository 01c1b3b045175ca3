package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
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

// TestServeSignals runs the real binary: it serves, refuses a bad reload and keeps
// serving, reloads a good one, and stops cleanly on SIGTERM.
func TestServeSignals(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "racgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	good, err := os.ReadFile("../../examples/racgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfgText := strings.Replace(string(good), "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	cfg := filepath.Join(dir, "racgate.yaml")
	os.WriteFile(cfg, []byte(cfgText), 0o600)

	cmd := exec.Command(bin, "serve", "-config", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(re string) []string {
		t.Helper()
		r := regexp.MustCompile(re)
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("racgate exited waiting for %q", re)
				}
				t.Log(l)
				if m := r.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no log line %q", re)
			}
		}
	}
	addr := waitLine(`racgate listening" addr=(\S+)`)[1]
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
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(`config reload refused.*bogus: unknown key`)
	health()

	os.WriteFile(cfg, []byte(cfgText), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLine(`config reloaded`)

	cmd.Process.Signal(syscall.SIGTERM)
	waitLine(`stopped`)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
