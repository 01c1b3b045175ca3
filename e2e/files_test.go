package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
)

// TestBrowserFiles: the file panel of an SSH session with enable-sftp, in Chromium. A
// 50 MB file chosen in the picker lands on the remote machine whole (SHA-256 of the file
// sshd wrote), and downloads whole through the panel's link; a file dropped on the panel
// uploads; a folder is made, a file renamed and deleted. An endpoint with
// sftp-disable-upload shows no upload.
func TestBrowserFiles(t *testing.T) {
	d := peers.StartSSHD(t)
	root := d.UserDir(t)
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base := serveConfig(t, fmt.Sprintf(`
store: memory
users:
  - username: %s
    password-hash: %q
providers:
  - name: test
endpoints:
  - name: shell
    provider: test
    protocol: ssh
    host: %s
    settings: {username: %q, password: %q, host-key: %q, enable-sftp: true, sftp-root-directory: %q}
  - name: readonly-files
    provider: test
    protocol: ssh
    host: %s
    settings: {username: %q, password: %q, host-key: %q, enable-sftp: true, sftp-root-directory: %q, sftp-disable-upload: true}
`, testUser, hash, d.Addr, d.User, d.Password, d.HostKey, root, d.Addr, d.User, d.Password, d.HostKey, root))

	// 50 MB of noise, on this machine's disk for the picker.
	const size = 50 << 20
	local := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(local)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, sum), io.LimitReader(rand.NewChaCha8([32]byte{5}), size)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := fmt.Sprintf("%x", sum.Sum(nil))

	b := loggedIn(t, base, testUser, 1000, 700)
	b.do(map[string]any{"open": "shell"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	b.do(map[string]any{"menu": true})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list[data-path='/']"}})
	b.do(map[string]any{"setInputFiles": map[string]any{"selector": "#files-input", "path": local}})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='big.bin']", "timeoutMs": 60000}})
	if got := fileSHA(t, filepath.Join(root, "big.bin")); got != want {
		t.Fatalf("the remote's file: SHA-256 %s, the browser's %s", got, want)
	}
	if note := b.do(map[string]any{"text": "#files-note"})["text"]; note != "big.bin uploaded." {
		t.Fatalf("note %q", note)
	}
	res := b.do(map[string]any{"download": "#files-list li[data-name='big.bin'] a"})
	if got := fileSHA(t, res["path"].(string)); got != want || res["name"] != "big.bin" {
		t.Fatalf("downloaded %v: SHA-256 %s, want %s", res["name"], got, want)
	}

	b.do(map[string]any{"dropFile": map[string]any{"selector": "#files", "name": "dropped.txt", "text": "dropped here"}})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='dropped.txt']"}})
	if got, _ := os.ReadFile(filepath.Join(root, "dropped.txt")); string(got) != "dropped here" {
		t.Fatalf("dropped.txt holds %q", got)
	}
	b.do(map[string]any{"clickSelector": "#files-mkdir"})
	b.do(map[string]any{"fill": map[string]any{"selector": "#files-name", "value": "docs"}})
	b.do(map[string]any{"clickSelector": "#files-name-ok"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='docs'] .files-dir"}})
	b.do(map[string]any{"clickSelector": "#files-list li[data-name='dropped.txt'] [data-rename]"})
	b.do(map[string]any{"fill": map[string]any{"selector": "#files-name", "value": "kept.txt"}})
	b.do(map[string]any{"clickSelector": "#files-name-ok"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='kept.txt']"}})
	b.do(map[string]any{"clickSelector": "#files-list li[data-name='big.bin'] [data-delete]"})
	b.do(map[string]any{"clickSelector": "#files-list li[data-name='big.bin'] [data-delete]"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-note", "text": "big.bin deleted."}})
	if names := dirNames(t, root); strings.Join(names, " ") != "docs kept.txt" {
		t.Fatalf("the remote's folder holds %v", names)
	}
	// Into the folder and back up.
	b.do(map[string]any{"clickSelector": "#files-list li[data-name='docs'] .files-dir"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list[data-path='/docs']"}})
	b.do(map[string]any{"clickSelector": "#files-up"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list[data-path='/']"}})

	ro := loggedIn(t, base, testUser, 1000, 700)
	ro.do(map[string]any{"open": "readonly-files"})
	ro.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	ro.do(map[string]any{"menu": true})
	ro.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='kept.txt'] a"}})
	if n := ro.do(map[string]any{"visible": "#files-upload, #files-mkdir, #files-list [data-delete], #files-list [data-rename]"})["count"].(float64); n != 0 {
		t.Fatalf("%v upload, new folder, rename or delete controls shown where uploads are off", n)
	}
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

// TestBrowserXRDPDrive: an RDP endpoint with enable-drive (xrdp, chansrv's FUSE folder)
// in Chromium. A file chosen in the panel's picker is in the session's drive; a file the
// session saves in the drive's Download folder downloads in the browser by itself, and
// is gone from the folder after.
func TestBrowserXRDPDrive(t *testing.T) {
	srv := peers.StartXRDP(t, peers.XRDPOptions{Drive: true})
	base := t.TempDir()
	url := startRDPGateway(t, srv.Addr, fmt.Sprintf(`username: %s, password: %s, ignore-cert: true, enable-drive: true, drive-path: "%s/${user}", create-drive-path: true`,
		srv.User, srv.Password, base))
	b := openDesk(t, url, 800, 600, 30*time.Second)
	srv.WaitSession(t, 30*time.Second)
	share := srv.Drive(t, "RACGATE")

	local := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(local, []byte("chosen in the browser"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(map[string]any{"menu": true})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='Download'] .files-dir"}})
	b.do(map[string]any{"setInputFiles": map[string]any{"selector": "#files-input", "path": local}})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#files-list li[data-name='notes.txt']"}})
	if out, err := srv.AsUser("cat " + share + "/notes.txt"); err != nil || out != "chosen in the browser" {
		t.Fatalf("the upload in the session's drive: %q %v", out, err)
	}

	b.do(map[string]any{"expectDownload": true})
	if out, err := srv.AsUser("printf 'saved in the session' > " + share + "/Download/report.txt"); err != nil {
		t.Fatalf("saving into Download: %v %s", err, out)
	}
	res := b.do(map[string]any{"takeDownload": true})
	got, err := os.ReadFile(res["path"].(string))
	if err != nil || string(got) != "saved in the session" || res["name"] != "report.txt" {
		t.Fatalf("the browser's download %v: %q %v", res["name"], got, err)
	}
	folder := filepath.Join(base, testUser, "Download")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(folder, "report.txt")); os.IsNotExist(err) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("report.txt is still in Download after its download: %v", err)
		}
	}
}
