package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// testCA issues certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "racgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for 127.0.0.1 with the serial, and its key, as PEM.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "racgate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// servedSerial makes a new TLS connection to addr and returns the certificate's serial.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// exampleWithXvnc is the example config on a free port with its desktop on x.
func exampleWithXvnc(t *testing.T, x *peers.X) string {
	t.Helper()
	good, err := os.ReadFile("../../examples/racgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0",
		"host: 127.0.0.1:5901", "host: "+x.Addr, "public-url: http://127.0.0.1:8080", "").Replace(string(good))
}

// openDesktop logs in as demo and opens the demo desktop's websocket; it returns once
// HELLO came, with a reader that acknowledges frames and hands on the messages that are
// not the picture (HELLO, CLOSE, PONG, ...).
func openDesktop(t *testing.T, ctx context.Context, base string, hc *http.Client) (*websocket.Conn, <-chan wire.Message) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: hc.Transport}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {"demo"}, "password": {"demo"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Fatalf("login: %s at %s", resp.Status, resp.Request.URL)
	}
	ws := strings.Replace(base, "http", "ws", 1)
	conn, _, err := websocket.Dial(ctx, ws+"/ws/Demo%20desktop", &websocket.DialOptions{HTTPClient: c, Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(wire.MaxServerMessage)
	msgs := make(chan wire.Message, 1024)
	go func() {
		defer close(msgs)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			wire.Decode(data, func(m wire.Message) error {
				switch m := m.(type) {
				case wire.Frame:
					conn.Write(ctx, websocket.MessageBinary, wire.Ack{ID: m.ID}.Append(nil))
				case wire.Image, wire.Fill, wire.Copy, wire.Cursor:
					// the picture: nobody reads it here
				default:
					select {
					case msgs <- m:
					case <-ctx.Done():
					}
				}
				return nil
			})
		}
	}()
	waitMsg(t, msgs, "HELLO", func(m wire.Message) bool { _, ok := m.(wire.Hello); return ok })
	return conn, msgs
}

func waitMsg(t *testing.T, msgs <-chan wire.Message, what string, ok func(wire.Message) bool) wire.Message {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, open := <-msgs:
			if !open {
				t.Fatalf("the websocket ended waiting for %s", what)
			}
			if ok(m) {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s", what)
		}
	}
}

// TestServeTLS runs the real binary with tls: HTTPS with HSTS, TLS 1.2 at least; a
// SIGHUP swaps the certificate for new connections while a desktop session stays up
// (it still answers PING), and a SIGHUP with a bad key keeps the running certificate.
func TestServeTLS(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, 101, certFile, keyFile)
	cfgText := exampleWithXvnc(t, x) + "tls:\n  cert-file: " + certFile + "\n  key-file: " + keyFile + "\n"
	p, addr, _ := startRacgate(t, cfgText)
	base := "https://" + addr
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}

	resp, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("healthz over TLS: %s, HSTS %q, %+v", resp.Status, resp.Header.Get("Strict-Transport-Security"), resp.TLS)
	}
	if s := servedSerial(t, addr, ca.pool); s != 101 {
		t.Fatalf("serial %d", s)
	}
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	// Plain HTTP gets Go's "client sent an HTTP request to an HTTPS server", nothing else.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP on the TLS listener: %s", resp.Status)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, msgs := openDesktop(t, ctx, base, hc)
	ping := func(token uint32) {
		t.Helper()
		conn.Write(ctx, websocket.MessageBinary, wire.Ping{Token: token}.Append(nil))
		waitMsg(t, msgs, "PONG", func(m wire.Message) bool { pg, ok := m.(wire.Pong); return ok && pg.Token == token })
	}
	ping(1)

	// Three renewals, as certificates are renewed: each is served from the SIGHUP on.
	for serial := int64(102); serial <= 104; serial++ {
		ca.issue(t, serial, certFile, keyFile)
		p.cmd.Process.Signal(syscall.SIGHUP)
		p.waitLine(`certificate loaded.* serial=` + big.NewInt(serial).String())
		if s := servedSerial(t, addr, ca.pool); s != serial {
			t.Fatalf("after SIGHUP: serial %d, want %d", s, serial)
		}
		ping(uint32(serial))
	}
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(`config reload refused`)
	if s := servedSerial(t, addr, ca.pool); s != 104 {
		t.Fatalf("after a bad reload: serial %d, want 104", s)
	}
	ping(200)
}

// TestServeDrain: SIGTERM with shutdown.delay: /readyz fails at once while the listener
// still serves and the session goes on; after the delay the session is told the instance
// is going away (CLOSE 8) and racgate exits 0.
func TestServeDrain(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	const delay = 2 * time.Second
	p, addr, _ := startRacgate(t, exampleWithXvnc(t, x)+"shutdown:\n  delay: "+delay.String()+"\n  drain-timeout: 5s\n")
	base := "http://" + addr
	hc := &http.Client{Transport: &http.Transport{}}
	status := func(path string) int {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if r := status("/readyz"); r != 200 {
		t.Fatalf("readyz %d before SIGTERM", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, msgs := openDesktop(t, ctx, base, hc)
	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLine(`draining`)
	if r, h := status("/readyz"), status("/healthz"); r != http.StatusServiceUnavailable || h != 200 {
		t.Fatalf("during the delay: readyz %d, healthz %d", r, h)
	}
	conn.Write(ctx, websocket.MessageBinary, wire.Ping{Token: 7}.Append(nil))
	waitMsg(t, msgs, "PONG during the delay", func(m wire.Message) bool { pg, ok := m.(wire.Pong); return ok && pg.Token == 7 })
	cl := waitMsg(t, msgs, "CLOSE", func(m wire.Message) bool { _, ok := m.(wire.Close); return ok }).(wire.Close)
	if since := time.Since(sent); cl.Code != wire.CloseShutdown || since < delay {
		t.Fatalf("CLOSE %d %q after %v, want %d after %v", cl.Code, cl.Reason, since, wire.CloseShutdown, delay)
	}
	p.waitLine(`stopped`)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// TestServeLogs: log.format json gives one JSON object a line, and a session's lines
// carry its user and connection ID; log.level is applied again on SIGHUP.
func TestServeLogs(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	base := exampleWithXvnc(t, x)
	p, addr, cfgPath := startRacgate(t, base+"log:\n  format: json\n  level: info\n")
	hc := &http.Client{Transport: &http.Transport{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, _ := openDesktop(t, ctx, "http://"+addr, hc)
	start := p.linesUntil(`"msg":"session start"`)
	var conn1 string
	for _, l := range start {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %v\n%s", err, l)
		}
		if rec["msg"] == "session start" {
			conn1, _ = rec["conn"].(string)
			if req, _ := rec["request"].(string); rec["user"] != "demo" || len(conn1) < 8 || rec["level"] != "INFO" || len(req) != 16 {
				t.Fatalf("session start: %v", rec)
			}
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")
	lines := p.linesUntil(`"msg":"session end"`)
	end := lines[len(lines)-1]
	var rec map[string]any
	if err := json.Unmarshal([]byte(end), &rec); err != nil || rec["conn"] != conn1 || rec["user"] != "demo" {
		t.Fatalf("session end %v (%v), want conn %s", rec, err, conn1)
	}

	// Up to warn: a login (info) is not logged; back to info: it is.
	login := func() {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: hc.Transport}
		resp, err := c.PostForm("http://"+addr+"/login", url.Values{"username": {"demo"}, "password": {"demo"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	os.WriteFile(cfgPath, []byte(base+"log:\n  format: json\n  level: warn\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond) // "config reloaded" is at info: nothing says so
	login()
	// A refused reload is an error, logged at any level: the mark that what came before
	// it has been logged.
	os.WriteFile(cfgPath, []byte("listen: [not, an, address]\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	for _, l := range p.linesUntil(`"msg":"config reload refused`) {
		if strings.Contains(l, `"msg":"login"`) || strings.Contains(l, `"msg":"config reloaded"`) {
			t.Fatalf("logged at warn: %s", l)
		}
	}
	os.WriteFile(cfgPath, []byte(base+"log:\n  format: json\n  level: info\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(`"msg":"config reloaded"`)
	// A proxy's request ID is kept: in the answer, and on the login's line.
	jar, _ := cookiejar.New(nil)
	req, _ := http.NewRequest("POST", "http://"+addr+"/login", strings.NewReader(url.Values{"username": {"demo"}, "password": {"demo"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", "proxy-7f3a")
	resp, err := (&http.Client{Jar: jar, Transport: hc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "proxy-7f3a" {
		t.Fatalf("X-Request-Id %q", got)
	}
	p.waitLine(`"msg":"login".*"user":"demo".*"request":"proxy-7f3a"`)
}
