package ssh

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/racgate/racgate/internal/peers"
)

const waitFor = 15 * time.Second

// term reads a Session in the background and lets a test wait for text.
type term struct {
	t    *testing.T
	s    *Session
	mu   sync.Mutex
	buf  []byte
	err  error // Read's final error
	more chan struct{}
	done chan struct{}
}

func newTerm(t *testing.T, s *Session) *term {
	tm := &term{t: t, s: s, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		p := make([]byte, 4096)
		for {
			n, err := s.Read(p)
			tm.mu.Lock()
			tm.buf = append(tm.buf, p[:n]...)
			if err != nil {
				tm.err = err
			}
			tm.mu.Unlock()
			select {
			case tm.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return tm
}

// expect waits until the output matches re and returns the first match's
// submatches; output before the match is consumed.
func (tm *term) expect(re string) []string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(waitFor)
	for {
		tm.mu.Lock()
		loc := rx.FindSubmatchIndex(tm.buf)
		if loc != nil {
			var m []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] >= 0 {
					m = append(m, string(tm.buf[loc[i]:loc[i+1]]))
				} else {
					m = append(m, "")
				}
			}
			tm.buf = tm.buf[loc[1]:]
			tm.mu.Unlock()
			return m
		}
		out, err := string(tm.buf), tm.err
		tm.mu.Unlock()
		if err != nil {
			tm.t.Fatalf("output ended (%v) before %q; got %q", err, re, out)
		}
		select {
		case <-tm.more:
		case <-deadline:
			tm.t.Fatalf("no %q in %v; got %q", re, waitFor, out)
		}
	}
}

// end waits for Read's final error.
func (tm *term) end() error {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(waitFor):
		tm.t.Fatalf("session output did not end")
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.err
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.s.Write([]byte(s)); err != nil {
		tm.t.Fatalf("write %q: %v", s, err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// baseConfig trusts the server's key and logs in with the password.
func baseConfig(t *testing.T, d *peers.SSHD) Config {
	return Config{User: d.User, Password: d.Password, HostKey: d.HostKey, Logger: testLogger(t), DialTimeout: waitFor}
}

func dial(t *testing.T, d *peers.SSHD, cfg Config) *Session {
	t.Helper()
	s, err := Dial(context.Background(), d.Addr, cfg)
	if err != nil {
		t.Fatalf("Dial: %v\nsshd log:\n%s", err, d.Log())
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// shellCheck runs arithmetic in the shell: the result appears only if the
// shell really ran it (the typed text shows the expression, not the value).
func shellCheck(t *testing.T, s *Session) {
	t.Helper()
	tm := newTerm(t, s)
	tm.send("echo ok-$((6*7))\n")
	tm.expect(`ok-42`)
}

func TestPasswordLogin(t *testing.T) {
	d := peers.StartSSHD(t)
	shellCheck(t, dial(t, d, baseConfig(t, d)))
}

func TestPrivateKeyLogin(t *testing.T) {
	d := peers.StartSSHD(t)
	cfg := baseConfig(t, d)
	cfg.Password = ""
	cfg.PrivateKey = d.ClientKey
	shellCheck(t, dial(t, d, cfg))
}

func TestEncryptedPrivateKeyLogin(t *testing.T) {
	d := peers.StartSSHD(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := xssh.MarshalPrivateKeyWithPassphrase(priv, "test key", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	d.AuthorizeKey(t, string(xssh.MarshalAuthorizedKey(sshPub)))
	cfg := baseConfig(t, d)
	cfg.Password = ""
	cfg.PrivateKey = pem.EncodeToMemory(block)

	t.Run("no passphrase", func(t *testing.T) {
		_, err := Dial(context.Background(), d.Addr, cfg)
		if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), "no passphrase is set") {
			t.Fatalf("err = %v, want a missing passphrase error", err)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		c := cfg
		c.Passphrase = []byte("wrong")
		_, err := Dial(context.Background(), d.Addr, c)
		if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), "passphrase is wrong") {
			t.Fatalf("err = %v, want a wrong passphrase error", err)
		}
	})
	t.Run("right passphrase", func(t *testing.T) {
		c := cfg
		c.Passphrase = []byte("correct horse")
		shellCheck(t, dial(t, d, c))
	})
	t.Run("key not authorized", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		b, err := xssh.MarshalPrivateKey(other, "")
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.PrivateKey = pem.EncodeToMemory(b)
		_, err = Dial(context.Background(), d.Addr, c)
		if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "tried publickey") {
			t.Fatalf("err = %v, want ErrAuthFailed having tried publickey", err)
		}
	})
}

func TestKeyboardInteractive(t *testing.T) {
	d := peers.StartSSHD(t)
	var got []Prompt
	cfg := baseConfig(t, d)
	cfg.Password = "" // only keyboard-interactive can succeed
	cfg.KeyboardInteractive = func(ctx context.Context, name, instruction string, prompts []Prompt) ([]string, error) {
		if ctx == nil {
			return nil, errors.New("nil context")
		}
		got = append(got, prompts...)
		answers := make([]string, len(prompts))
		for i := range prompts {
			answers[i] = d.Password
		}
		return answers, nil
	}
	shellCheck(t, dial(t, d, cfg))
	if len(got) == 0 || !strings.Contains(strings.ToLower(got[0].Text), "password") || got[0].Echo {
		t.Fatalf("prompts %+v, want a hidden password prompt", got)
	}

	t.Run("handler refuses", func(t *testing.T) {
		refusal := errors.New("user cancelled")
		c := cfg
		c.KeyboardInteractive = func(context.Context, string, string, []Prompt) ([]string, error) { return nil, refusal }
		_, err := Dial(context.Background(), d.Addr, c)
		if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, refusal) {
			t.Fatalf("err = %v, want ErrAuthFailed wrapping the handler's error", err)
		}
	})
}

func TestWrongPassword(t *testing.T) {
	d := peers.StartSSHD(t)
	cfg := baseConfig(t, d)
	cfg.Password = "not-the-password"
	_, err := Dial(context.Background(), d.Addr, cfg)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err %T is not *AuthError", err)
	}
	msg := err.Error()
	for _, want := range []string{"authentication failed", d.User, "password", "keyboard-interactive"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, cfg.Password) {
		t.Errorf("message %q contains the password", msg)
	}
}

func hostKeyOf(t *testing.T, line string) xssh.PublicKey {
	t.Helper()
	k, _, _, _, err := xssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func otherKeyLine(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(xssh.MarshalAuthorizedKey(k)))
}

func TestHostKey(t *testing.T) {
	d := peers.StartSSHD(t)
	serverKey := hostKeyOf(t, d.HostKey)
	fp := xssh.FingerprintSHA256(serverKey)
	dir := t.TempDir()
	knownHosts := func(name, line string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := otherKeyLine(t)
	base := baseConfig(t, d)
	base.HostKey = ""

	refused := []struct {
		name string
		cfg  func(*Config)
		want error
	}{
		{"nothing configured", func(c *Config) {}, ErrHostKeyUnknown},
		{"pinned key differs", func(c *Config) { c.HostKey = other }, ErrHostKeyMismatch},
		{"pinned fingerprint differs", func(c *Config) { c.HostKey = xssh.FingerprintSHA256(hostKeyOf(t, other)) }, ErrHostKeyMismatch},
		{"known_hosts has another host only", func(c *Config) {
			c.KnownHostsFile = knownHosts("kh-other-host", knownhosts.Line([]string{"192.0.2.1"}, serverKey))
		}, ErrHostKeyUnknown},
		{"known_hosts key changed", func(c *Config) {
			c.KnownHostsFile = knownHosts("kh-changed", knownhosts.Line([]string{d.Addr}, hostKeyOf(t, other)))
		}, ErrHostKeyMismatch},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.cfg(&c)
			_, err := Dial(context.Background(), d.Addr, c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var he *HostKeyError
			if !errors.As(err, &he) || he.Fingerprint != fp || he.Type != "ssh-ed25519" {
				t.Fatalf("err = %#v, want HostKeyError with %s", err, fp)
			}
			if !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), d.Addr) {
				t.Fatalf("message %q lacks fingerprint or address", err)
			}
		})
	}

	accepted := []struct {
		name string
		cfg  func(*Config)
	}{
		{"pinned key", func(c *Config) { c.HostKey = d.HostKey }},
		{"pinned known_hosts line", func(c *Config) { c.HostKey = "[127.0.0.1]:22 " + d.HostKey + " comment" }},
		{"pinned fingerprint among others", func(c *Config) { c.HostKey = other + "\n# comment\n" + fp }},
		{"known_hosts", func(c *Config) {
			c.KnownHostsFile = knownHosts("kh-good", knownhosts.Line([]string{d.Addr}, serverKey))
		}},
		{"ignore-host-key", func(c *Config) { c.IgnoreHostKey = true; c.HostKey = other }},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.cfg(&c)
			shellCheck(t, dial(t, d, c))
		})
	}
}

func TestResize(t *testing.T) {
	d := peers.StartSSHD(t)
	s := dial(t, d, baseConfig(t, d))
	tm := newTerm(t, s)
	// stty size prints "rows cols"; the typed line shows only "stty size".
	tm.send("stty size\n")
	tm.expect(`[\r\n]24 80\r\n`)
	if err := s.Resize(132, 43); err != nil {
		t.Fatal(err)
	}
	tm.send("stty size\n")
	tm.expect(`[\r\n]43 132\r\n`)
	if err := s.Resize(0, 10); err == nil {
		t.Fatal("Resize(0, 10) accepted")
	}
}

func TestUTF8AndEnv(t *testing.T) {
	d := peers.StartSSHD(t)
	cfg := baseConfig(t, d)
	cfg.Env = map[string]string{"LANG": "C.UTF-8", "TZ": "Asia/Tokyo"}
	cfg.Cols, cfg.Rows = 100, 30
	s := dial(t, d, cfg)
	tm := newTerm(t, s)
	// The result line exists only after the shell ran sed; the echoed
	// input line has the brackets, not the "OUT:" prefix.
	tm.send("x='héllo 世界 ✓'; echo \"[$x]\" | sed 's/^/OUT:/'\n")
	tm.expect(`OUT:\[héllo 世界 ✓\]`)
	tm.send("echo \"[$TZ]\" | tr '[]' '<>'\n")
	tm.expect(`<Asia/Tokyo>`)
}

func TestCommandAndExitStatus(t *testing.T) {
	d := peers.StartSSHD(t)
	run := func(t *testing.T, command string) (*term, error) {
		cfg := baseConfig(t, d)
		cfg.Command = command
		s := dial(t, d, cfg)
		tm := newTerm(t, s)
		return tm, s.Wait()
	}
	t.Run("status 0", func(t *testing.T) {
		tm, err := run(t, "echo cmd-$((1+2)); test -t 0 && echo has-tty")
		tm.expect(`cmd-3\r\nhas-tty`)
		if end := tm.end(); end != io.EOF {
			t.Fatalf("Read ended with %v, want io.EOF", end)
		}
		if err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
	})
	t.Run("status 3", func(t *testing.T) {
		tm, err := run(t, "echo before-exit; exit 3")
		tm.expect(`before-exit`)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Status != 3 || ee.Signal != "" {
			t.Fatalf("Wait = %v, want exit status 3", err)
		}
	})
	t.Run("signal", func(t *testing.T) {
		_, err := run(t, "kill -TERM $$")
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Signal != "TERM" {
			t.Fatalf("Wait = %v, want signal TERM", err)
		}
	})
}

func TestCloseEndsReadAndWrite(t *testing.T) {
	d := peers.StartSSHD(t)
	s := dial(t, d, baseConfig(t, d))
	shellCheck(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if err := s.Resize(80, 24); !errors.Is(err, ErrClosed) {
		t.Fatalf("Resize after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Wait after Close = nil, want an error (no exit status)")
		}
	case <-time.After(waitFor):
		t.Fatal("Wait did not return after Close")
	}
}

func TestDialCancelled(t *testing.T) {
	// A listener that accepts and never speaks: only the context ends Dial.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, l.Addr().String(), Config{User: "u", Password: "p", IgnoreHostKey: true})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Dial = %v after %v, want a prompt error", err, time.Since(start))
	}
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestFloodBoundedMemory reads a `yes` flood slowly: the SSH window must
// throttle the remote, so our heap stays within the window (2 MiB) plus
// small change, and Close must end the remote process.
func TestFloodBoundedMemory(t *testing.T) {
	d := peers.StartSSHD(t)
	cfg := baseConfig(t, d)
	cfg.Command = "echo PID=$$; exec yes"
	s := dial(t, d, cfg)
	// Read by hand (no term goroutine): slowly, a little at a time.
	var seen []byte
	p := make([]byte, 512)
	deadline := time.Now().Add(waitFor)
	re := regexp.MustCompile(`PID=(\d+)\r\n`)
	var m [][]byte
	for m == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no PID line in %q", seen)
		}
		n, err := s.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, p[:n]...)
		m = re.FindSubmatch(seen)
	}
	pid, _ := strconv.Atoi(string(m[1]))
	procDir := "/proc/" + strconv.Itoa(pid)
	if _, err := os.Stat(procDir); err != nil {
		t.Fatalf("remote yes (pid %d) not visible: %v", pid, err)
	}

	before := heapInuse()
	var total int
	end := time.Now().Add(3 * time.Second)
	for time.Now().Before(end) {
		n, err := s.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(p[:n], []byte("y")) && !bytes.HasPrefix(p[:n], []byte("\r\n")) && !bytes.HasPrefix(p[:n], []byte("\n")) {
			t.Fatalf("unexpected output %q", p[:n])
		}
		total += n
		time.Sleep(5 * time.Millisecond)
	}
	after := heapInuse()
	growth := int64(after) - int64(before)
	t.Logf("read %d bytes slowly; heap in use %d -> %d (%+d bytes)", total, before, after, growth)
	if total == 0 {
		t.Fatal("read nothing from the flood")
	}
	if limit := int64(6 << 20); growth > limit {
		t.Fatalf("heap grew %d bytes while reading slowly, more than %d: output is buffered without bound", growth, limit)
	}

	s.Close()
	gone := time.Now().Add(waitFor)
	for {
		if _, err := os.Stat(procDir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(gone) {
			t.Fatalf("remote yes (pid %d) still running %v after Close", pid, waitFor)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stallProxy forwards TCP to target until stall is set; then it stops
// forwarding, like a server that hangs or a dropped network path.
type stallProxy struct {
	l     net.Listener
	stall atomic.Bool
	quit  chan struct{}
	// up and down count the reads forwarded to the server and to the client.
	up, down atomic.Int64
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{l: l, quit: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() { close(p.quit); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go p.pipe(&wg, u, c, &p.up)
			go p.pipe(&wg, c, u, &p.down)
		}
	}()
	return p
}

func (p *stallProxy) pipe(wg *sync.WaitGroup, dst, src net.Conn, count *atomic.Int64) {
	defer wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if p.stall.Load() {
			<-p.quit
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			count.Add(1)
		}
		if err != nil {
			return
		}
	}
}

func TestKeepAliveClosesDeadConnection(t *testing.T) {
	d := peers.StartSSHD(t)
	proxy := newStallProxy(t, d.Addr)
	cfg := baseConfig(t, d)
	cfg.KeepAlive = 200 * time.Millisecond
	s, err := Dial(context.Background(), proxy.l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tm := newTerm(t, s)
	tm.send("echo alive-$((2+2))\n")
	tm.expect(`alive-4`)
	// The session is idle: what the client sends now are keepalives, one an
	// interval. Once more have gone out and come back than may be missed, the
	// answers were counted as answers, and the session must still be up.
	up, down := proxy.up.Load(), proxy.down.Load()
	for deadline := time.Now().Add(30 * cfg.KeepAlive); proxy.up.Load()-up <= keepAliveMisses+1 || proxy.down.Load()-down <= keepAliveMisses+1; time.Sleep(cfg.KeepAlive / 10) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes to the server, %d to the client in %v: keepalives not sent or not answered", proxy.up.Load()-up, proxy.down.Load()-down, 30*cfg.KeepAlive)
		}
	}
	tm.send("echo still-$((3+3))\n")
	tm.expect(`still-6`)

	proxy.stall.Store(true)
	start := time.Now()
	err = tm.end()
	if !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("Read ended with %v, want ErrKeepAliveTimeout", err)
	}
	if el := time.Since(start); el > 10*cfg.KeepAlive+2*time.Second {
		t.Fatalf("dead connection noticed after %v", el)
	}
	if err := s.Wait(); !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("Wait = %v, want ErrKeepAliveTimeout", err)
	}
}
