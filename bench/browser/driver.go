package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Driver is one headless Chromium, run by measure.mjs under node.
type Driver struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *tail
	mu     sync.Mutex
}

// Login is racgate's login form: the page opens after it.
type Login struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Cost is what a page's window cost the browser.
type Cost struct {
	Task   float64 `json:"task"`   // main-thread task time, CPU seconds
	Script float64 `json:"script"` // of which JavaScript
	Layout float64 `json:"layout"`
	Style  float64 `json:"style"`
	// MetricsMs is the time between the two metrics snapshots the times above are the
	// difference of.
	MetricsMs float64 `json:"metricsMs"`
	Frames    int     `json:"frames"` // animation frames in which a canvas was drawn on
	Draws     int     `json:"draws"`  // canvas drawing calls
	PageMs    float64 `json:"pageMs"` // the page's time between its two counts
	// Renderer is how the page draws: "canvas", or racgate's terminal renderer ("dom",
	// "webgl").
	Renderer string `json:"renderer"`
	// Keys is how many keys were pressed (Measure with keys); KeyMs the time from each
	// answered key's keydown to the start of the animation frame that drew after it.
	Keys  int       `json:"keys"`
	KeyMs []float64 `json:"keyMs"`
}

// Start runs node on dir/measure.mjs and launches Chromium: with gpu, a GPU canvas
// (SwiftShader without a GPU), else the software canvas.
func Start(ctx context.Context, dir string, gpu bool) (*Driver, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "measure.mjs"))
	cmd.Env = os.Environ()
	d := &Driver{cmd: cmd, stderr: &tail{}}
	cmd.Stderr = d.stderr
	if d.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d.out = bufio.NewScanner(stdout)
	d.out.Buffer(make([]byte, 64<<10), 1<<20)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	// Chromium now and then dies as it starts here ("Target page, context or browser has
	// been closed" from launch); a second try has always started it.
	for try := 1; ; try++ {
		err := d.do(ctx, map[string]any{"launch": map[string]any{"gpu": gpu}}, nil)
		if err == nil {
			return d, nil
		}
		if try == 3 || ctx.Err() != nil {
			d.Close()
			return nil, err
		}
	}
}

// PID is node's: Chromium's processes are its descendants.
func (d *Driver) PID() int { return d.cmd.Process.Pid }

// Open opens url in a new page (after login, if given) and waits until it is connected
// and has drawn.
func (d *Driver) Open(ctx context.Context, url string, login *Login) error {
	v := map[string]any{"url": url}
	if login != nil {
		v["login"] = login
	}
	return d.do(ctx, map[string]any{"open": v}, nil)
}

// Measure returns what the open page cost over the next window; with profile not "",
// the page's JavaScript CPU profile of the window is written there (.cpuprofile, which
// Chrome's DevTools open).
// With keyInterval above 0, a letter is typed that often during the window (after a
// click in the middle of the page), and each key's time to the frame drawn after it is
// measured in the page.
func (d *Driver) Measure(ctx context.Context, window time.Duration, profile string, keyInterval time.Duration) (Cost, error) {
	var c Cost
	v := map[string]any{"ms": window.Milliseconds()}
	if profile != "" {
		v["profile"] = profile
	}
	if keyInterval > 0 {
		v["keys"] = map[string]any{"intervalMs": keyInterval.Milliseconds()}
	}
	err := d.do(ctx, map[string]any{"measure": v}, &c)
	return c, err
}

// ClosePage closes the open page.
func (d *Driver) ClosePage(ctx context.Context) error {
	return d.do(ctx, map[string]any{"close": true}, nil)
}

// Close quits Chromium and node.
func (d *Driver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.do(ctx, map[string]any{"quit": true}, nil)
	d.in.Close()
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		d.cmd.Process.Kill()
		return <-done
	}
}

// do sends one command and reads its answer into res; ctx ending kills the driver.
func (d *Driver) do(ctx context.Context, cmd map[string]any, res any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { d.cmd.Process.Kill() })
	defer stop()
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("browser: %w%s", err, d.stderr.String())
	}
	if !d.out.Scan() {
		err := d.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("browser: the driver ended: %w%s", err, d.stderr.String())
	}
	line := d.out.Bytes()
	var ans struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &ans); err != nil {
		return fmt.Errorf("browser: answer %q: %w", line, err)
	}
	if !ans.OK {
		return fmt.Errorf("browser: %s", ans.Error)
	}
	if res != nil {
		return json.Unmarshal(line, res)
	}
	return nil
}

// tail keeps the last few KiB of the driver's stderr for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return " (driver: " + s + ")"
}
