package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	xssh "golang.org/x/crypto/ssh"

	"github.com/racgate/racgate/gateway/files"
	"github.com/racgate/racgate/internal/peers"
)

// remote is a real sshd's SFTP (internal-sftp) under a folder of the test user's: the
// root the handler serves, beside a secret outside it.
type remote struct {
	root    string // the served folder, on this machine's disk
	outside string // a folder beside it, not served
	client  *sftp.Client
}

func startRemote(t *testing.T) *remote {
	t.Helper()
	srv := peers.StartSSHD(t)
	base := srv.UserDir(t)
	r := &remote{root: filepath.Join(base, "share"), outside: filepath.Join(base, "secret")}
	for _, d := range []string{r.root, r.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		chownTestUser(t, d)
	}
	if err := os.WriteFile(filepath.Join(r.outside, "key"), []byte("not for browsers"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Links that lead out: to the folder beside, to a file there, and to /etc.
	for name, target := range map[string]string{"out-dir": r.outside, "out-file": filepath.Join(r.outside, "key"), "etc": "/etc"} {
		if err := os.Symlink(target, filepath.Join(r.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := xssh.Dial("tcp", srv.Addr, &xssh.ClientConfig{
		User: srv.User, Auth: []xssh.AuthMethod{xssh.Password(srv.Password)},
		HostKeyCallback: xssh.InsecureIgnoreHostKey(), // a test server on loopback
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r.client, err = sftp.NewClient(conn, sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func chownTestUser(t *testing.T, p string) {
	t.Helper()
	if out, err := exec(t, "chown", peers.SSHTestUser+":", p); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
}

// serve starts the handler on root with opts, and returns its base URL.
func (r *remote) serve(t *testing.T, opts files.Options) string {
	t.Helper()
	root, err := files.NewRoot(files.NewSFTP(r.client), r.root)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/files", files.NewHandler(root, opts)))
	t.Cleanup(ts.Close)
	return ts.URL + "/files/"
}

// call makes one request and returns the status and body.
func call(t *testing.T, method, u string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

// TestTransfer: 50 MB up through the handler lands whole on the remote's disk (SHA-256),
// and comes back down whole; listing, rename, mkdir and delete do what they say.
func TestTransfer(t *testing.T) {
	r := startRemote(t)
	var events []files.Event
	base := r.serve(t, files.Options{Event: func(e files.Event) { events = append(events, e) }})

	const size = 50 << 20
	src := rand.NewChaCha8([32]byte{7})
	sum := sha256.New()
	status, body := call(t, http.MethodPut, base+"upload"+q("path", "/big.bin"), io.TeeReader(io.LimitReader(src, size), sum))
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	want := fmt.Sprintf("%x", sum.Sum(nil))
	if got := fileSHA(t, filepath.Join(r.root, "big.bin")); got != want {
		t.Fatalf("the remote's file: SHA-256 %s, sent %s", got, want)
	}
	if left := dirNames(t, r.root); strings.Contains(strings.Join(left, " "), "racgate-part") {
		t.Fatalf("a temporary file is left: %v", left)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"download"+q("path", "big.bin"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	down := sha256.New()
	n, err := io.Copy(down, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || resp.StatusCode != 200 || fmt.Sprintf("%x", down.Sum(nil)) != want {
		t.Fatalf("download: %d, %d bytes, %v, SHA-256 %x", resp.StatusCode, n, err, down.Sum(nil))
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=big.bin` || resp.Header.Get("Content-Length") != fmt.Sprint(size) {
		t.Fatalf("download headers %v", resp.Header)
	}

	for _, step := range []struct{ method, op, query string }{
		{"POST", "mkdir", q("path", "/docs")},
		{"POST", "rename", q("from", "/big.bin", "to", "/docs/moved.bin")},
		{"PUT", "upload", q("path", "/docs/a.txt")},
	} {
		if status, body := call(t, step.method, base+step.op+step.query, strings.NewReader("hello")); status/100 != 2 {
			t.Fatalf("%s: %d %s", step.op, status, body)
		}
	}
	var l files.Listing
	status, body = call(t, "GET", base+"list"+q("path", "/docs"), nil)
	if err := json.Unmarshal(body, &l); status != 200 || err != nil {
		t.Fatalf("list: %d %s", status, body)
	}
	if l.Path != "/docs" || len(l.Entries) != 2 || l.Entries[0].Name != "a.txt" || l.Entries[0].Size != 5 || l.Entries[1].Name != "moved.bin" || l.Entries[1].Size != size {
		t.Fatalf("listing %+v", l)
	}
	status, body = call(t, "GET", base+"list"+q("path", "/"), nil)
	if err := json.Unmarshal(body, &l); status != 200 || err != nil || len(l.Entries) != 4 || l.Entries[0].Name != "docs" || !l.Entries[0].Dir {
		t.Fatalf("root listing: %d %s", status, body)
	}
	if status, body := call(t, "POST", base+"delete"+q("path", "/docs"), nil); status/100 == 2 {
		t.Fatalf("deleting a folder with files: %d %s", status, body)
	}
	for _, p := range []string{"/docs/a.txt", "/docs/moved.bin", "/docs"} {
		if status, body := call(t, "POST", base+"delete"+q("path", p), nil); status != http.StatusNoContent {
			t.Fatalf("delete %s: %d %s", p, status, body)
		}
	}
	if names := dirNames(t, r.root); strings.Join(names, " ") != "etc out-dir out-file" {
		t.Fatalf("left on the remote: %v", names)
	}
	var ops []string
	for _, e := range events {
		ops = append(ops, e.Op)
		if e.Op == "upload" && e.Path == "/big.bin" && e.Bytes != size {
			t.Errorf("upload event %+v", e)
		}
	}
	if got := strings.Join(ops, " "); got != "upload download mkdir rename upload delete delete delete delete" {
		t.Fatalf("events %s", got)
	}
}

// TestConfinement: names that lead out of the root, by ".." or by a link, are refused
// for every operation, and nothing outside changes.
func TestConfinement(t *testing.T) {
	r := startRemote(t)
	base := r.serve(t, files.Options{})
	for _, c := range []struct{ method, op, query string }{
		{"GET", "download", q("path", "../../etc/passwd")},
		{"GET", "download", q("path", "../secret/key")},
		{"GET", "download", q("path", "/out-file")},
		{"GET", "download", q("path", "/out-dir/key")},
		{"GET", "download", q("path", "/etc/passwd")},
		{"GET", "list", q("path", "/out-dir")},
		{"GET", "list", q("path", "/etc")},
		{"PUT", "upload", q("path", "/out-dir/planted")},
		{"PUT", "upload", q("path", "../secret/planted")},
		{"POST", "mkdir", q("path", "/out-dir/made")},
		{"POST", "rename", q("from", "/out-dir/key", "to", "/stolen")},
		{"POST", "delete", q("path", "/out-dir/key")},
		{"POST", "delete", q("path", "/")},
		{"POST", "rename", q("from", "/", "to", "/x")},
	} {
		status, body := call(t, c.method, base+c.op+c.query, strings.NewReader("x"))
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if status/100 == 2 || e.Error == "" || strings.Contains(string(body), "not for browsers") {
			t.Errorf("%s %s: %d %s", c.op, c.query, status, body)
		}
	}
	// "..": the root's top, not above it.
	status, body := call(t, "GET", base+"list"+q("path", "../.."), nil)
	if status != 200 || !strings.Contains(string(body), `"path":"/"`) {
		t.Errorf("list ../..: %d %s", status, body)
	}
	if names := dirNames(t, r.outside); strings.Join(names, " ") != "key" {
		t.Fatalf("the folder outside now holds %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(r.outside, "key")); string(b) != "not for browsers" {
		t.Fatal("the secret changed")
	}
	// A link may itself be renamed or deleted: that changes the root, not its target.
	if status, body := call(t, "POST", base+"delete"+q("path", "/out-file"), nil); status != http.StatusNoContent {
		t.Fatalf("delete the link: %d %s", status, body)
	}
	if _, err := os.Stat(filepath.Join(r.outside, "key")); err != nil {
		t.Fatalf("deleting the link deleted its target: %v", err)
	}
}

// TestRefusals: turned-off uploads and downloads, the size limit, an existing name, and a
// cut upload each refuse with a message and leave the remote as it was.
func TestRefusals(t *testing.T) {
	r := startRemote(t)
	if err := os.WriteFile(filepath.Join(r.root, "here.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(base, method, op, query string, body io.Reader, want int, text string) {
		t.Helper()
		status, b := call(t, method, base+op+query, body)
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); status != want || !strings.Contains(e.Error, text) || err != nil {
			t.Errorf("%s %s: %d %s, want %d %q", op, query, status, b, want, text)
		}
	}
	noUp := r.serve(t, files.Options{NoUpload: true})
	check(noUp, "PUT", "upload", q("path", "/new.txt"), strings.NewReader("x"), 403, "Uploading files is turned off")
	check(noUp, "POST", "delete", q("path", "/here.txt"), nil, 403, "turned off")
	check(noUp, "POST", "rename", q("from", "/here.txt", "to", "/b"), nil, 403, "turned off")
	check(noUp, "POST", "mkdir", q("path", "/d"), nil, 403, "turned off")
	noDown := r.serve(t, files.Options{NoDownload: true})
	check(noDown, "GET", "download", q("path", "/here.txt"), nil, 403, "Downloading files is turned off")

	events := make(chan files.Event, 100)
	small := r.serve(t, files.Options{MaxUpload: 1 << 20, Event: func(e files.Event) { events <- e }})
	check(small, "PUT", "upload", q("path", "/big"), bytes.NewReader(make([]byte, 1<<20+1)), 413, "larger than the 1 MiB allowed")
	// Without a length up front, the limit cuts the body as it comes.
	check(small, "PUT", "upload", q("path", "/big"), io.MultiReader(io.LimitReader(zeros{}, 1<<20+1)), 413, "larger than the 1 MiB allowed")
	check(small, "PUT", "upload", q("path", "/here.txt"), strings.NewReader("new"), 409, "already there")
	check(small, "GET", "download", q("path", "/nothing"), nil, 404, "no such file")
	check(small, "GET", "download", q("path", "/"), nil, 400, "Only files")
	check(small, "GET", "list", q("path", "/here.txt"), nil, 400, "not a folder")
	check(small, "PUT", "upload", q("path", "/"), strings.NewReader("x"), 400, "not a usable file name")

	// A body that breaks off: nothing under the name, no temporary file.
	status, _ := callErr(small+"upload"+q("path", "/cut.bin"), io.MultiReader(io.LimitReader(zeros{}, 300<<10), failing{}))
	if status/100 == 2 {
		t.Fatalf("a cut upload: %d", status)
	}
	for e := range events { // the handler may go on a moment after the client gave up
		if e.Path == "/cut.bin" {
			if e.Err == nil {
				t.Fatalf("the cut upload's event: %+v", e)
			}
			break
		}
	}
	// With replace, an upload takes the name's place whole.
	if status, b := call(t, "PUT", small+"upload"+q("path", "/here.txt", "replace", "1"), strings.NewReader("replaced")); status != 201 {
		t.Fatalf("replace: %d %s", status, b)
	}
	if b, _ := os.ReadFile(filepath.Join(r.root, "here.txt")); string(b) != "replaced" {
		t.Fatalf("here.txt holds %q", b)
	}
	if names := dirNames(t, r.root); strings.Join(names, " ") != "etc here.txt out-dir out-file" {
		t.Fatalf("left on the remote: %v", names)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("the browser went away") }

// callErr is call for a body that may fail: the status, or 0.
func callErr(u string, body io.Reader) (int, error) {
	req, _ := http.NewRequest(http.MethodPut, u, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return fmt.Sprintf("%x", h.Sum(nil))
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func exec(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	return osexec.Command(name, args...).CombinedOutput()
}

// allowance is a Quota in memory.
type allowance struct {
	mu   sync.Mutex
	left int64
}

func (a *allowance) Reserve(_ context.Context, want int64) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := min(want, a.left)
	a.left -= got
	return got, nil
}

func (a *allowance) Release(_ context.Context, unused int64) {
	a.mu.Lock()
	a.left += unused
	a.mu.Unlock()
}

func (a *allowance) get() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.left
}

// TestQuota: a user's allowance counts uploads and downloads together; a transfer whose
// length is known is refused whole when over it; one of unknown length is cut off at it,
// leaving nothing; what a transfer did not use is given back.
func TestQuota(t *testing.T) {
	r := startRemote(t)
	al := &allowance{left: 1 << 20}
	base := r.serve(t, files.Options{Quota: al})
	check := func(method, op, query string, body io.Reader, want int, text string) {
		t.Helper()
		status, b := call(t, method, base+op+query, body)
		if status != want || !strings.Contains(string(b), text) {
			t.Fatalf("%s %s: %d %s, want %d %q", op, query, status, b, want, text)
		}
	}
	check("PUT", "upload", q("path", "/a"), bytes.NewReader(make([]byte, 600<<10)), 201, "")
	if left := al.get(); left != 424<<10 {
		t.Fatalf("after 600 KiB up: %d left", left)
	}
	check("GET", "download", q("path", "/a"), nil, 429, "daily transfer limit: 424 KiB left")
	// Unknown length, within what is left.
	check("PUT", "upload", q("path", "/b"), io.MultiReader(bytes.NewReader(make([]byte, 100<<10))), 201, "")
	if left := al.get(); left != 324<<10 {
		t.Fatalf("after 100 KiB more: %d left", left)
	}
	// Unknown length, over it: cut off, nothing kept, the allowance back as it was.
	check("PUT", "upload", q("path", "/c"), io.MultiReader(bytes.NewReader(make([]byte, 400<<10))), 429, "daily transfer limit")
	if left := al.get(); left != 324<<10 {
		t.Fatalf("after a refused upload: %d left", left)
	}
	if names := dirNames(t, r.root); strings.Join(names, " ") != "a b etc out-dir out-file" {
		t.Fatalf("left on the remote: %v", names)
	}
	check("GET", "download", q("path", "/b"), nil, 200, "")
	if left := al.get(); left != 224<<10 {
		t.Fatalf("after 100 KiB down: %d left", left)
	}
}

// trickle sends n pieces of 1 KiB, every gap, then stalls for stall before ending.
type trickle struct {
	n          int
	gap, stall time.Duration
}

func (tr *trickle) Read(p []byte) (int, error) {
	if tr.n == 0 {
		if tr.stall > 0 {
			time.Sleep(tr.stall)
			tr.stall = 0
		}
		return 0, io.EOF
	}
	time.Sleep(tr.gap)
	tr.n--
	return copy(p, make([]byte, min(len(p), 1024))), nil
}

// TestIdle: a transfer may take as long as it needs while it moves (here five idle
// periods, a piece every third of one), and ends after an idle period without
// progress, keeping nothing.
func TestIdle(t *testing.T) {
	r := startRemote(t)
	const idle = 300 * time.Millisecond
	base := r.serve(t, files.Options{Idle: idle})
	status, body := call(t, "PUT", base+"upload"+q("path", "/slow"), &trickle{n: 15, gap: idle / 3})
	if status != 201 {
		t.Fatalf("an upload moving for five idle periods: %d %s", status, body)
	}
	if fi, err := os.Stat(filepath.Join(r.root, "slow")); err != nil || fi.Size() != 15*1024 {
		t.Fatalf("the slow upload on the remote: %v %v", fi, err)
	}
	status, _ = callErr(base+"upload"+q("path", "/stalled"), &trickle{n: 3, gap: idle / 3, stall: 4 * idle})
	if status == 201 {
		t.Fatal("an upload stalled for four idle periods was taken")
	}
	time.Sleep(idle) // the handler cleans up after the client gives up
	if names := dirNames(t, r.root); strings.Join(names, " ") != "etc out-dir out-file slow" {
		t.Fatalf("left on the remote: %v", names)
	}
}
