package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// repoRoot is the repository's top folder (this file lives in e2e/).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("e2e: cannot locate the repository")
	}
	return filepath.Dir(filepath.Dir(file))
}

// browser is headless Chromium driven by e2e/driver.mjs: one JSON step per line on stdin
// (the steps of webclient/test/browser/session.mjs), one JSON result per line on stdout.
type browser struct {
	t      testing.TB
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	cancel context.CancelFunc
}

// startBrowser launches the driver against baseURL. It skips (or fails in CI) when
// Chromium, node or the built web client are missing.
func startBrowser(t testing.TB, baseURL string) *browser {
	t.Helper()
	peers.Require(t, "node", "chromium")
	root := repoRoot(t)
	for _, need := range []string{"webclient/dist/client.js", "webclient/node_modules/playwright-core/package.json"} {
		if _, err := os.Stat(filepath.Join(root, need)); err != nil {
			msg := fmt.Sprintf("e2e: %s missing: run make web first", need)
			if os.Getenv("RACGATE_REQUIRE_PEERS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "e2e/driver.mjs"))
	cmd.Env = append(os.Environ(), "RACGATE_URL="+baseURL)
	cmd.Stderr = &testWriter{t: t, prefix: "browser: "}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	b := &browser{t: t, cmd: cmd, in: in, out: sc, cancel: cancel}
	t.Cleanup(b.close)
	return b
}

func (b *browser) close() {
	b.in.Close()
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.cancel()
		<-done
	}
	b.cancel()
}

// do runs one step and returns its result; a failed step fails the test.
// openDesk starts a browser on the gateway at url whose remote area is w x h (the
// viewport is menuHandle wider), logs in as the test user and opens the endpoint "desk",
// waiting up to timeout for it to connect.
func openDesk(t *testing.T, url string, w, h int, timeout time.Duration) *browser {
	t.Helper()
	b := loggedIn(t, url, testUser, w+menuHandle, h)
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": timeout.Milliseconds()})
	return b
}

// loggedIn starts a browser on the gateway at url with a w x h viewport, logged in as
// user (password testPassword).
func loggedIn(t *testing.T, url, user string, w, h int) *browser {
	t.Helper()
	b := startBrowser(t, url)
	b.do(map[string]any{"setViewport": map[string]any{"width": w, "height": h}})
	b.do(map[string]any{"login": map[string]any{"username": user, "password": testPassword}})
	return b
}

func (b *browser) do(step map[string]any) map[string]any {
	b.t.Helper()
	res, err := b.try(step)
	if err != nil {
		b.t.Fatal(err)
	}
	return res
}

// try runs one step and returns its error instead of failing.
func (b *browser) try(step map[string]any) (map[string]any, error) {
	b.t.Helper()
	line, err := json.Marshal(step)
	if err != nil {
		return nil, err
	}
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("browser step %s: %w", line, err)
	}
	if !b.out.Scan() {
		return nil, fmt.Errorf("browser step %s: driver exited: %v", line, b.out.Err())
	}
	var res map[string]any
	if err := json.Unmarshal(b.out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("browser step %s: bad result %q: %w", line, b.out.Text(), err)
	}
	if ok, _ := res["ok"].(bool); !ok {
		return res, fmt.Errorf("browser step %s failed: %v", line, res["error"])
	}
	return res, nil
}

// testWriter sends a child's stderr to the test log, a line at a time.
type testWriter struct {
	t      testing.TB
	prefix string
	buf    strings.Builder
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	s := w.buf.String()
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.t.Log(w.prefix + s[:i])
		s = s[i+1:]
	}
	w.buf.Reset()
	w.buf.WriteString(s)
	return len(p), nil
}
