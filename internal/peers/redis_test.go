package peers

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// redisDo sends one inline command and returns the first reply line.
func redisDo(t *testing.T, c net.Conn, cmd string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func TestRedisRestartLosesKeys(t *testing.T) {
	r := StartRedis(t)
	c, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := redisDo(t, c, "SET k v"); got != "+OK" {
		t.Fatalf("SET: %q", got)
	}
	c.Close()
	pid := r.PID()
	r.Stop()
	if r.PID() != 0 || syscallKill0(pid) == nil {
		t.Fatal("redis-server still running after Stop")
	}
	if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("port still accepting after Stop")
	}
	r.Start()
	c, err = net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := redisDo(t, c, "EXISTS k"); got != ":0" {
		t.Fatalf("after restart EXISTS k = %q, want :0", got)
	}
}

func TestRedisTLSPassword(t *testing.T) {
	r := StartRedisWith(t, RedisOptions{Password: "pw-123", TLS: true})
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := tls.Dial("tcp", r.Addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS with the CA file: %v", err)
	}
	defer c.Close()
	if got := redisDo(t, c, "PING"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Fatalf("PING without AUTH: %q", got)
	}
	if got := redisDo(t, c, "AUTH pw-123"); got != "+OK" {
		t.Fatalf("AUTH: %q", got)
	}
}
