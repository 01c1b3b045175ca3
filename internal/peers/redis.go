package peers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Redis is a redis-server for one test, on a free loopback port, without persistence:
// a Restart loses every key, as a crashed cache would.
type Redis struct {
	Addr   string // "127.0.0.1:P"
	Dir    string
	CAFile string // with TLS: the PEM certificate clients must trust (self-signed, for 127.0.0.1)

	t    testing.TB
	bin  string
	port int
	o    RedisOptions

	mu     sync.Mutex
	p      *process
	starts int
}

// RedisOptions: a password (requirepass) and TLS only (no plain port).
type RedisOptions struct {
	Password string
	TLS      bool
	cluster  bool // StartRedisCluster's nodes
}

// StartRedis starts redis-server and stops it (by PID) when the test ends.
func StartRedis(t testing.TB) *Redis { t.Helper(); return StartRedisWith(t, RedisOptions{}) }

// StartRedisWith is StartRedis with a password and/or TLS.
func StartRedisWith(t testing.TB, o RedisOptions) *Redis {
	t.Helper()
	bin := mustLookup(t, "redis-server")
	r := &Redis{t: t, bin: bin, Dir: t.TempDir(), o: o}
	if o.TLS {
		cert, key, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		r.CAFile = filepath.Join(r.Dir, "cert.pem")
		if err := os.WriteFile(r.CAFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.Dir, "key.pem"), key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
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
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.Dir, "--daemonize", "no"}
	if r.o.TLS {
		args = append(args[2:], "--port", "0", "--tls-port", strconv.Itoa(r.port),
			"--tls-cert-file", r.CAFile, "--tls-key-file", filepath.Join(r.Dir, "key.pem"),
			"--tls-ca-cert-file", r.CAFile, "--tls-auth-clients", "no")
	}
	if r.o.Password != "" {
		args = append(args, "--requirepass", r.o.Password)
	}
	if r.o.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(r.Dir, "nodes.conf"))
	}
	cmd := exec.Command(r.bin, args...)
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

// selfSigned makes a certificate and key (PEM) for 127.0.0.1, valid for a day.
func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// RedisCluster is a Redis Cluster of masters without replicas, each a Redis above.
type RedisCluster struct {
	Nodes []*Redis
	Addrs []string
}

// StartRedisCluster starts n cluster-enabled redis-servers and joins them (redis-cli
// --cluster create), so that the hash slots are spread over them.
func StartRedisCluster(t testing.TB, n int) *RedisCluster {
	t.Helper()
	cli := mustLookup(t, "redis-cli")
	c := &RedisCluster{}
	for range n {
		r := StartRedisWith(t, RedisOptions{cluster: true})
		c.Nodes = append(c.Nodes, r)
		c.Addrs = append(c.Addrs, r.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("peers: redis-cli --cluster create: %v\n%s", err, out)
	}
	// The nodes agree on the slot map a moment after create returns.
	deadline := time.Now().Add(startTimeout)
	for _, a := range c.Addrs {
		host, port, _ := net.SplitHostPort(a)
		for {
			out, _ := exec.Command(cli, "-h", host, "-p", port, "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("peers: redis cluster not ok: %s", out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c
}

// StartRedisSentinel starts a Sentinel (redis-server --sentinel) watching master under
// masterName, and returns its address.
func StartRedisSentinel(t testing.TB, master *Redis, masterName string) string {
	t.Helper()
	bin := mustLookup(t, "redis-server")
	dir := t.TempDir()
	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		conf := filepath.Join(dir, fmt.Sprintf("sentinel.%d.conf", attempt))
		host, mport, _ := net.SplitHostPort(master.Addr)
		// Sentinel rewrites its config file: it must be its own and writable.
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s %s %s 1\n", port, dir, masterName, host, mport)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, fmt.Sprintf("sentinel.%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, conf, "--sentinel")
		cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, dir
		p, err := startProcess(t, cmd)
		logf.Close()
		if err != nil {
			t.Fatalf("peers: sentinel: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: sentinel on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return addr
	}
	t.Fatal(lastErr)
	return ""
}
