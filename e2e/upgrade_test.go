package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
)

// racgateProc is a racgate serve process: its address and its log lines.
type racgateProc struct {
	cmd   *exec.Cmd
	addr  string
	mu    sync.Mutex
	lines []string
}

// startRacgateProc runs the binary bin on the config text; it returns once it listens.
func startRacgateProc(t *testing.T, bin, name, cfg string) *racgateProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &racgateProc{cmd: exec.Command(bin, "serve", "-config", path)}
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	listening := make(chan string, 1)
	re := regexp.MustCompile(`racgate listening" addr=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l := sc.Text()
			t.Log(name + ": " + l)
			p.mu.Lock()
			p.lines = append(p.lines, l)
			p.mu.Unlock()
			if m := re.FindStringSubmatch(l); m != nil {
				listening <- m[1]
			}
		}
	}()
	select {
	case p.addr = <-listening:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not start listening", name)
	}
	return p
}

func (p *racgateProc) logged(re string) bool {
	r := regexp.MustCompile(re)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}

// balancer is a load balancer as the tests need one: it polls each backend's /readyz
// and sends each request (websockets included) to the first backend that answered
// ready, as a balancer with a preferred instance does.
type balancer struct {
	ln       net.Listener
	backends []string
	ready    []atomic.Bool
}

func startBalancer(t *testing.T, backends ...string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, ready: make([]atomic.Bool, len(backends))}
	stop := make(chan struct{})
	poll := func() {
		for i, be := range backends {
			resp, err := http.Get("http://" + be + "/readyz")
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				resp.Body.Close()
			}
			b.ready[i].Store(ok)
		}
	}
	poll()
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				poll()
			}
		}
	}()
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		for i, be := range backends {
			if b.ready[i].Load() {
				r.SetURL(&url.URL{Scheme: "http", Host: be})
				r.Out.Host = r.In.Host // racgate checks Origin against the page's host
				return
			}
		}
		r.SetURL(&url.URL{Scheme: "http", Host: "127.0.0.1:1"}) // none ready: 502
	}}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { close(stop); srv.Close() })
	return b
}

// TestBrowserRollingUpgrade: two racgate processes share one Redis and one cookie secret
// behind a load balancer that follows /readyz. A desktop open in Chromium through
// instance A; A gets SIGTERM (as in a rolling upgrade): its /readyz fails, the balancer
// turns to B, and after shutdown.delay A tells the page it is going away; the page
// reconnects by itself, lands on B, and shows the live desktop again; A exits 0.
func TestBrowserRollingUpgrade(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot", "redis-server")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	x.Run(t, "xsetroot", "-solid", "#2a5d8f")
	r := peers.StartRedis(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "racgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/racgate").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	secret := filepath.Join(dir, "session.key")
	os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef-shared"), 0o600)
	hash, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	cfg := func(instance string) string {
		return fmt.Sprintf(`listen: 127.0.0.1:0
instance: %s
session: {secret-file: %s}
store:
  redis: {addrs: [%s], lease-ttl: 2s}
shutdown: {delay: 1s, drain-timeout: 10s}
users:
  - username: %s
    password-hash: %q
providers:
  - name: test
endpoints:
  - name: desk
    provider: test
    protocol: vnc
    host: %s
`, instance, secret, r.Addr, testUser, hash, x.Addr)
	}
	a := startRacgateProc(t, bin, "A", cfg("gw-a"))
	bproc := startRacgateProc(t, bin, "B", cfg("gw-b"))
	lb := startBalancer(t, a.addr, bproc.addr)

	b := startBrowser(t, "http://"+lb.ln.Addr().String())
	b.do(map[string]any{"setViewport": map[string]any{"width": 640 + menuHandle, "height": 480}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	waitCanvasEquals(t, b, x, "on instance A")
	if !a.logged(`session start`) || bproc.logged(`session start`) {
		t.Fatal("the session did not start on A alone")
	}

	a.cmd.Process.Signal(syscall.SIGTERM)
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#status-text", "text": "reconnecting in", "timeoutMs": 10000}})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 30000})
	x.Run(t, "xsetroot", "-solid", "#8f5d2a")
	waitCanvasEquals(t, b, x, "on instance B after A went away")
	if !a.logged(`session end.*code=8`) || !bproc.logged(`session start`) {
		t.Fatal("the session did not move from A (CLOSE 8) to B")
	}
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("A's exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("A did not exit")
	}
}
