package peers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Redis is a redis-server for one test, on a free loopback port, without persistence:
// a Restart loses every key, as a crashed cache would.
type Redis struct {
	Addr string // "127.0.0.1:P"
	Dir  string

	t    testing.TB
	bin  string
	port int

	mu     sync.Mutex
	p      *process
	starts int
}

// StartRedis starts redis-server and stops it (by PID) when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := mustLookup(t, "redis-server")
	r := &Redis{t: t, bin: bin, Dir: t.TempDir()}
	var lastErr error
	for range 3 {
		r.port = FreePort(t)
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatal(lastErr)
	return nil
}

func (r *Redis) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts++
	logPath := filepath.Join(r.Dir, fmt.Sprintf("redis.%d.log", r.starts))
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.Dir, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = r.Dir
	p, err := startProcess(r.t, cmd)
	if err != nil {
		return fmt.Errorf("peers: redis-server: %w", err)
	}
	if err := waitPort(p, r.Addr); err != nil {
		p.stop()
		return fmt.Errorf("peers: redis-server on %s: %w: %s", r.Addr, err, logTail(logPath))
	}
	r.p = p
	return nil
}

// Stop kills the server (SIGKILL, by PID): its keys are gone, clients see errors.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p == nil {
		return
	}
	_ = r.p.cmd.Process.Kill()
	<-r.p.done
	r.p = nil
}

// Start starts a stopped server again on the same port, empty.
func (r *Redis) Start() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatal(err)
	}
}

// Restart is Stop then Start: the same address, no keys.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Stop()
	r.Start()
}

// PID is the running server's process ID, or 0 while stopped.
func (r *Redis) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p == nil {
		return 0
	}
	return r.p.cmd.Process.Pid
}
