package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/files"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/recording"
	"github.com/racgate/racgate/render/wire"
	"github.com/redis/go-redis/v9"
)

// TestSSHFiles: an SSH endpoint with enable-sftp. Its owner's browser gets FILES right
// after HELLO and the terminal's messages; under /files/{token}/ the owner uploads, lists
// and downloads over the session's own SSH connection, and the bytes are on the remote
// machine under sftp-root-directory. Another user, a cross-origin upload and a request
// after the session ended are refused. Every operation is in the audit trail.
func TestSSHFiles(t *testing.T) {
	d := peers.StartSSHD(t)
	root := d.UserDir(t)
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	cfg := sshConfigYAML(d.Addr, []string{
		"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(d.HostKey),
		"enable-sftp: true", "sftp-root-directory: " + root,
	}) + "audit-log: " + auditFile + "\n"
	cfg = strings.Replace(cfg, "users:\n", "users:\n  - username: bob\n    password-hash: \""+testHash+"\"\n", 1)
	cfg = strings.Replace(cfg, "  - name: lab\n", "  - name: lab\n    files: {max-upload: 1MiB}\n", 1)
	ts := newTestServer(t, cfg)
	c := dialTerm(t, ts, "").start()
	c.wait("FILES", 15*time.Second, func(c *termClient) bool { return c.files != nil })
	c.mu.Lock()
	f, order := *c.files, c.order
	c.mu.Unlock()
	if f.Flags != wire.FilesUpload|wire.FilesDownload || f.MaxUpload != 1<<20 || len(f.Token) < 16 {
		t.Fatalf("FILES %+v", f)
	}
	if i := indexType(order, wire.TypeFiles); i < 0 || order[0] != wire.TypeHello || i < indexType(order, wire.TypeTerminalScrollback) {
		t.Fatalf("messages in the order %v", order)
	}
	base := ts.hs.URL + "/files/" + f.Token + "/"
	demo := ts.loggedIn(t, "demo")
	do := func(c *http.Client, method, op string, q url.Values, body io.Reader, h http.Header) (int, string) {
		t.Helper()
		return fileRequest(t, c, method, base+op+"?"+q.Encode(), body, h)
	}
	content := bytes.Repeat([]byte("racgate sftp\n"), 50000) // 650 KB
	if status, body := do(demo, "PUT", "upload", url.Values{"path": {"/notes.txt"}}, bytes.NewReader(content), nil); status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if b, err := os.ReadFile(filepath.Join(root, "notes.txt")); err != nil || !bytes.Equal(b, content) {
		t.Fatalf("on the remote: %d bytes, %v", len(b), err)
	}
	status, body := do(demo, "GET", "list", url.Values{"path": {"/"}}, nil, nil)
	var l files.Listing
	if err := json.Unmarshal([]byte(body), &l); status != 200 || err != nil || len(l.Entries) != 1 || l.Entries[0].Name != "notes.txt" || l.Entries[0].Size != int64(len(content)) {
		t.Fatalf("list: %d %s", status, body)
	}
	if status, body := do(demo, "GET", "download", url.Values{"path": {"/notes.txt"}}, nil, nil); status != 200 || body != string(content) {
		t.Fatalf("download: %d, %d bytes", status, len(body))
	}
	// The provider's limit.
	if status, body := do(demo, "PUT", "upload", url.Values{"path": {"/big"}}, bytes.NewReader(make([]byte, 1<<20+1)), nil); status != 413 || !strings.Contains(body, "1 MiB") {
		t.Fatalf("an upload over max-upload: %d %s", status, body)
	}
	// Not bob's session; not from another site's page.
	if status, body := do(ts.loggedIn(t, "bob"), "GET", "list", url.Values{"path": {"/"}}, nil, nil); status != 404 || strings.Contains(body, "notes") {
		t.Fatalf("bob: %d %s", status, body)
	}
	if status, body := do(ts.client(), "GET", "list", url.Values{"path": {"/"}}, nil, nil); status != 401 {
		t.Fatalf("signed out: %d %s", status, body)
	}
	evil := http.Header{"Origin": {"https://evil.example"}}
	if status, body := do(demo, "PUT", "upload", url.Values{"path": {"/planted"}}, strings.NewReader("x"), evil); status != 403 {
		t.Fatalf("cross-origin upload: %d %s", status, body)
	}
	if _, err := os.Stat(filepath.Join(root, "planted")); err == nil {
		t.Fatal("the cross-origin upload landed")
	}
	c.send(typeLine("exit"))
	c.waitClose(10 * time.Second)
	waitFor(t, "the session to end", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.sessions) == 0 })
	if status, body := do(demo, "GET", "list", url.Values{"path": {"/"}}, nil, nil); status != 404 {
		t.Fatalf("after the session: %d %s", status, body)
	}

	af, err := os.Open(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	var ops []string
	sc := bufio.NewScanner(af)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["event"] != "file_transfer" {
			continue
		}
		if m["user"] != "demo" || m["endpoint"] != "shell" || m["conn"] == "" {
			t.Errorf("audit line %s", sc.Text())
		}
		op := m["op"].(string) + " " + m["path"].(string)
		if e, ok := m["error"]; ok {
			op += " refused"
			_ = e
		}
		if b, ok := m["bytes"]; ok && op == "upload /notes.txt" && b != float64(len(content)) {
			t.Errorf("upload bytes %v", b)
		}
		ops = append(ops, op)
	}
	if got := strings.Join(ops, ", "); got != "upload /notes.txt, download /notes.txt, upload /big refused" {
		t.Fatalf("audit: %s", got)
	}
}

func indexType(ts []wire.Type, t wire.Type) int {
	for i, x := range ts {
		if x == t {
			return i
		}
	}
	return -1
}

// TestVNCFiles: a VNC endpoint with enable-sftp reaches its files on an SSH host of its
// own (here a real sshd beside Xvnc): FILES follows HELLO, an upload lands and downloads
// back, and the SFTP connection opens only when the panel first asks.
func TestVNCFiles(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	d := peers.StartSSHD(t)
	root := d.UserDir(t)
	host, port, _ := strings.Cut(d.Addr, ":")
	cfg := strings.Replace(testConfig, "host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {enable-sftp: true, sftp-hostname: "+host+
		", sftp-port: "+port+", sftp-username: "+d.User+", sftp-password: "+yamlQuote(d.Password)+
		", sftp-host-key: "+yamlQuote(d.HostKey)+", sftp-root-directory: "+root+", sftp-disable-download: true}\n", 1)
	ts := newTestServer(t, cfg)
	b := openBrowser(t, ts, "demo", "/ws/desk")
	b.wait("FILES", 15*time.Second, func(b *browser) bool { return b.files != nil })
	b.mu.Lock()
	f := *b.files
	b.mu.Unlock()
	if f.Flags != wire.FilesUpload || len(f.Token) < 16 {
		t.Fatalf("FILES %+v", f)
	}
	time.Sleep(time.Second) // time enough for a login an eager open would have made
	if strings.Contains(d.Log(), "Accepted password") {
		t.Fatal("the SFTP host was logged into before the panel asked")
	}
	demo := ts.loggedIn(t, "demo")
	if status, body := fileRequest(t, demo, "PUT", ts.hs.URL+"/files/"+f.Token+"/upload?path=%2Fhello.txt", strings.NewReader("from the desktop's panel"), nil); status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "hello.txt")); string(got) != "from the desktop's panel" {
		t.Fatalf("on the SFTP host: %q", got)
	}
	// sftp-disable-download holds here too.
	if resp, body := get(t, demo, ts.hs.URL+"/files/"+f.Token+"/download?path=%2Fhello.txt"); resp.StatusCode != 403 || !strings.Contains(body, "Downloading files is turned off") {
		t.Fatalf("download: %s %s", resp.Status, body)
	}
}

// TestSFTPHostConfig: where a desktop's files are, and what a config may not leave out.
func TestSFTPHostConfig(t *testing.T) {
	base := config.Settings{"hostname": "desk.lab", "username": "ann", "password": "vnc-pw", "enable-sftp": "true", "sftp-host-key": "SHA256:x"}
	with := func(kv ...string) config.Settings {
		s := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(s, kv[i])
			} else {
				s[kv[i]] = kv[i+1]
			}
		}
		return s
	}
	addr, cfg, err := sftpHostConfig(base)
	if err != nil || addr != "desk.lab:22" || cfg.User != "ann" || cfg.Password != "vnc-pw" || cfg.HostKey != "SHA256:x" {
		t.Fatalf("defaults: %s %+v %v", addr, cfg, err)
	}
	// Another host: its own port and user, and the desktop's password is not sent there.
	addr, cfg, err = sftpHostConfig(with("sftp-hostname", "files.lab", "sftp-port", "2222", "sftp-username", "bob"))
	if err != nil || addr != "files.lab:2222" || cfg.User != "bob" || cfg.Password != "" {
		t.Fatalf("another host: %s %+v %v", addr, cfg, err)
	}
	if _, cfg, _ = sftpHostConfig(with("sftp-hostname", "files.lab", "sftp-password", "pw2")); cfg.Password != "pw2" {
		t.Fatalf("sftp-password: %+v", cfg)
	}
	if _, cfg, _ = sftpHostConfig(with("sftp-private-key", "KEY")); cfg.Password != "" || string(cfg.PrivateKey) != "KEY" {
		t.Fatalf("a key instead of the password: %+v", cfg)
	}
	for _, bad := range []config.Settings{with("sftp-host-key", ""), with("username", ""), with("hostname", "")} {
		if _, _, err := sftpHostConfig(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	// At load: enable-sftp on a VNC endpoint without the SFTP host's key is an error.
	y := strings.Replace(testConfig, "host: 127.0.0.1:1\n", "host: 127.0.0.1:1\n    settings: {enable-sftp: true, username: u}\n", 1)
	if _, err := ParseConfig("t.yaml", []byte(y)); err == nil || !strings.Contains(err.Error(), "sftp-host-key") {
		t.Fatalf("load: %v", err)
	}
}

// TestDailyQuota: the per-user daily allowance in the store. Two instances on one Redis
// count against one figure: transfers racing from both never take more than the limit
// together; what is released comes back; the next day starts afresh; another user has
// an allowance of their own. The in-memory store counts the same way.
func TestDailyQuota(t *testing.T) {
	r := peers.StartRedis(t)
	newRedis := func(name string) store.Store {
		c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{r.Addr}})
		st, err := store.NewRedis(c, store.RedisOptions{Instance: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close(); c.Close() })
		return st
	}
	ctx := context.Background()
	// The day under test is today's (UTC), late: the store expires the figure by the
	// real clock, so a fixed date would expire as soon as the calendar passed it.
	today := time.Now().UTC()
	day := time.Date(today.Year(), today.Month(), today.Day(), 23, 0, 0, 0, time.UTC)
	clock := func() time.Time { return day }
	for name, stores := range map[string][2]store.Store{
		"redis":  {newRedis("gw1"), newRedis("gw2")},
		"memory": func() [2]store.Store { m := store.NewMemory("gw", ""); return [2]store.Store{m, m} }(),
	} {
		t.Run(name, func(t *testing.T) {
			const limit = 1000
			qa := &dailyQuota{st: stores[0], user: "builtin:ann", limit: limit, now: clock}
			qb := &dailyQuota{st: stores[1], user: "builtin:ann", limit: limit, now: clock}
			var got atomic.Int64
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					q := qa
					if i%2 == 1 {
						q = qb
					}
					n, err := q.Reserve(ctx, 70)
					if err != nil {
						t.Error(err)
					}
					got.Add(n)
				})
			}
			wg.Wait()
			if got.Load() != limit {
				t.Fatalf("20 reservations of 70 from two instances got %d in all, want the limit %d", got.Load(), limit)
			}
			if n, _ := qb.Reserve(ctx, 1); n != 0 {
				t.Fatalf("over the limit: got %d", n)
			}
			qa.Release(ctx, 300)
			if n, _ := qb.Reserve(ctx, 500); n != 300 {
				t.Fatalf("after 300 released: got %d, want 300", n)
			}
			other := &dailyQuota{st: stores[1], user: "builtin:bob", limit: limit, now: clock}
			if n, _ := other.Reserve(ctx, 500); n != 500 {
				t.Fatalf("another user: got %d", n)
			}
			next := &dailyQuota{st: stores[0], user: "builtin:ann", limit: limit, now: func() time.Time { return day.Add(2 * time.Hour) }}
			if n, _ := next.Reserve(ctx, 600); n != 600 {
				t.Fatalf("the next day (UTC): got %d, want 600", n)
			}
		})
	}
}

// TestSSHFilesDailyLimit: through the file API, two sessions of one user share the
// provider's daily-user-limit: an upload over what is left is refused with how much is.
func TestSSHFilesDailyLimit(t *testing.T) {
	d := peers.StartSSHD(t)
	root := d.UserDir(t)
	cfg := sshConfigYAML(d.Addr, []string{
		"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(d.HostKey),
		"enable-sftp: true", "sftp-root-directory: " + root,
	})
	cfg = strings.Replace(cfg, "  - name: lab\n", "  - name: lab\n    files: {daily-user-limit: 1MiB}\n", 1)
	ts := newTestServer(t, cfg)
	token := func() string {
		c := dialTerm(t, ts, "").start()
		c.wait("FILES", 15*time.Second, func(c *termClient) bool { return c.files != nil })
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.files.Token
	}
	a, b := token(), token()
	demo := ts.loggedIn(t, "demo")
	put := func(tok, name string, n int) (int, string) {
		t.Helper()
		return fileRequest(t, demo, "PUT", ts.hs.URL+"/files/"+tok+"/upload?path=%2F"+name, bytes.NewReader(make([]byte, n)), nil)
	}
	if status, body := put(a, "one", 700<<10); status != 201 {
		t.Fatalf("700 KiB in session A: %d %s", status, body)
	}
	if status, body := put(b, "two", 400<<10); status != 429 || !strings.Contains(body, "324 KiB left today") {
		t.Fatalf("400 KiB more in session B: %d %s", status, body)
	}
	if status, body := put(b, "three", 300<<10); status != 201 {
		t.Fatalf("300 KiB in session B: %d %s", status, body)
	}
}

// TestRDPDrive: an RDP endpoint with enable-drive (real xrdp, its chansrv showing the
// drive through FUSE): the user's folder is made under drive-path by ${user}; a file the
// browser uploads through the panel is in the session's drive, and a file the session
// writes there downloads to the browser; disable-download refuses downloads.
func TestRDPDrive(t *testing.T) {
	srv := peers.StartXRDP(t, peers.XRDPOptions{Drive: true})
	base := t.TempDir()
	for _, noDown := range []bool{false, true} {
		settings := "username: " + srv.User + ", password: " + srv.Password + ", ignore-cert: true, enable-drive: true, drive-name: racgate, drive-path: \"" +
			base + "/${user}/drive\", create-drive-path: true"
		if noDown {
			settings += ", disable-download: true"
		}
		ts := newTestServer(t, rdpConfig(srv.Addr, settings, "read-only"))
		b, _ := openXRDP(t, ts, srv, 800, 600)
		b.wait("FILES", 15*time.Second, func(b *browser) bool { return b.files != nil })
		b.mu.Lock()
		f := *b.files
		b.mu.Unlock()
		folder := filepath.Join(base, "demo", "drive")
		if fi, err := os.Stat(folder); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("the drive folder: %v %v", fi, err)
		}
		demo := ts.loggedIn(t, "demo")
		api := ts.hs.URL + "/files/" + f.Token + "/"
		if noDown {
			if f.Flags != wire.FilesUpload {
				t.Fatalf("FILES with disable-download: %+v", f)
			}
			if resp, body := get(t, demo, api+"download?path=%2Fup.txt"); resp.StatusCode != 403 {
				t.Fatalf("download with disable-download: %s %s", resp.Status, body)
			}
			// Nothing is announced from Download where downloads are off.
			share := srv.Drive(t, "RACGATE")
			if out, err := srv.AsUser("printf x > " + share + "/Download/kept.txt"); err != nil {
				t.Fatalf("saving into Download: %v %s", err, out)
			}
			time.Sleep(time.Second)
			b.mu.Lock()
			ready := len(b.ready)
			b.mu.Unlock()
			if ready != 0 {
				t.Fatalf("FILE_READY with disable-download")
			}
			b.conn.Close(1000, "")
			continue
		}
		if status, body := fileRequest(t, demo, "PUT", api+"upload?path=%2Fup.txt", strings.NewReader("from the browser"), nil); status != 201 {
			t.Fatalf("upload: %d %s", status, body)
		}
		share := srv.Drive(t, "RACGATE")
		as := srv.AsUser
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			out, err := as("cat " + share + "/up.txt")
			if err == nil && out == "from the browser" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the upload in the session's drive: %q %v", out, err)
			}
		}
		if out, err := as("printf 'from the session' > " + share + "/down.txt"); err != nil {
			t.Fatalf("writing in the session: %v %s", err, out)
		}
		if resp, body := get(t, demo, api+"download?path=%2Fdown.txt"); resp.StatusCode != 200 || body != "from the session" {
			t.Fatalf("download: %s %q", resp.Status, body)
		}
		// The Download folder: a file the session saves there is announced to the
		// browser (FILE_READY) once written, and gone once downloaded whole.
		if out, err := as("printf 'a report' > " + share + "/Download/report.txt"); err != nil {
			t.Fatalf("saving into Download: %v %s", err, out)
		}
		b.wait("FILE_READY", 10*time.Second, func(b *browser) bool { return len(b.ready) > 0 })
		b.mu.Lock()
		ready := slices.Clone(b.ready)
		b.mu.Unlock()
		if len(ready) != 1 || ready[0] != "/Download/report.txt" {
			t.Fatalf("FILE_READY %v", ready)
		}
		if resp, body := get(t, demo, api+"download?path="+url.QueryEscape(ready[0])); resp.StatusCode != 200 || body != "a report" {
			t.Fatalf("download of the ready file: %s %q", resp.Status, body)
		}
		if _, err := os.Stat(filepath.Join(folder, "Download", "report.txt")); !os.IsNotExist(err) {
			t.Fatalf("the downloaded file is still in Download: %v", err)
		}
		if logs := ts.logs.text(); !strings.Contains(logs, "op=drive-write path=/Download/report.txt") {
			t.Fatalf("no drive-write line for the session's file in the log")
		}
		b.conn.Close(1000, "")
	}
}

// TestDriveOptions: what an RDP endpoint's drive settings may not be, at load.
func TestDriveOptions(t *testing.T) {
	for set, want := range map[string]string{
		"enable-drive: true":                           "drive-path",
		"enable-drive: true, drive-path: relative/x":   "not an absolute path",
		`enable-drive: true, drive-path: "/d/${host}"`: "only ${user}",
	} {
		if _, err := ParseConfig("t.yaml", []byte(rdpConfig("127.0.0.1:3389", "username: u, "+set, "read-only"))); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", set, err, want)
		}
	}
	o, err := driveOptions(config.Settings{"enable-drive": "true", "drive-path": "/srv/${user}", "disable-upload": "true"})
	if err != nil || o.name != "racgate" || !o.noUpload || o.noDown || o.create {
		t.Fatalf("%+v %v", o, err)
	}
	if got := recording.SafeElement("../ann/x"); got != "_._ann_x" {
		t.Fatalf("SafeElement: %q", got)
	}
}

// fileRequest makes one request of the file API with c and returns its status and body.
func fileRequest(t *testing.T, c *http.Client, method, u string, body io.Reader, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
