package rdp_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
)

// TestXRDPDrive redirects a folder to an xrdp session, where chansrv shows
// it through FUSE under ~/thinclient_drives/RACGATE: a file in the folder
// reads back in the session, and what the session's user writes, makes,
// renames and deletes there happens in the folder.
func TestXRDPDrive(t *testing.T) {
	srv := peers.StartXRDP(t, peers.XRDPOptions{Drive: true})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "from-gateway.txt"), []byte("the gateway's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	logger := slog.New(slog.NewTextHandler(driveLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls",
		Drive: &rdp.Drive{Name: "racgate", Root: root}, Logger: logger})
	srv.WaitSession(t, 30*time.Second)
	share := srv.Drive(t, "RACGATE")
	as := srv.AsUser
	if out, err := as("cat " + share + "/from-gateway.txt"); err != nil || out != "the gateway's file\n" {
		t.Fatalf("the gateway's file in the session: %q %v", out, err)
	}
	steps := []struct{ script, what string }{
		{"printf 'written in the session' > " + share + "/from-session.txt", "write"},
		{"mkdir " + share + "/made", "mkdir"},
		{"mv " + share + "/from-session.txt " + share + "/made/moved.txt", "rename"},
		{"rm " + share + "/from-gateway.txt", "delete"},
	}
	for _, s := range steps {
		if out, err := as(s.script); err != nil {
			t.Fatalf("%s: %v: %s", s.what, err, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "made", "moved.txt")); err != nil || string(b) != "written in the session" {
		t.Fatalf("the folder's made/moved.txt: %q %v", b, err)
	}
	// A delete takes effect when the file is closed (FileDispositionInformation marks it
	// for deletion when its last handle closes, MS-FSCC), and chansrv sends that close
	// after rm has returned: wait for it.
	var names []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		names = names[:0]
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			names = append(names, e.Name())
		}
		if strings.Join(names, " ") == "made" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the folder holds %v", names)
		}
	}
	if out, err := as("ls " + share + "/made"); err != nil || strings.TrimSpace(out) != "moved.txt" {
		t.Fatalf("listing in the session: %q %v", out, err)
	}
}

// driveLog passes the client's rdpdr log lines to t.Log.
type driveLog struct{ t *testing.T }

func (w driveLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "rdpdr") {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
