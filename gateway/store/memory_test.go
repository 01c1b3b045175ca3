package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func revoked(t *testing.T, m *Memory, login string) bool {
	t.Helper()
	ok, err := m.Revoked(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// A logout survives a restart: the next Memory on the same file refuses the login, and
// revocations that expired are left out of the file.
func TestMemoryPersistRevocations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "revoked.json")
	m1 := NewMemory("one", "")
	if err := m1.PersistRevocations(path); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if err := m1.Revoke(ctx, "login-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	short := time.Now().Add(200 * time.Millisecond)
	if err := m1.Revoke(ctx, "login-2", short); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fi.Mode().Perm())
	}

	m2 := NewMemory("one", "") // the restart
	if err := m2.PersistRevocations(path); err != nil {
		t.Fatal(err)
	}
	if !revoked(t, m2, "login-1") || revoked(t, m2, "login-3") {
		t.Fatal("after the restart: login-1 not revoked, or login-3 revoked")
	}
	eventually(t, 2*time.Second, "login-2's revocation expires", func() bool { return !revoked(t, m2, "login-2") })
	if err := m2.Revoke(ctx, "login-3", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var onFile map[string]time.Time
	if err := json.Unmarshal(b, &onFile); err != nil {
		t.Fatal(err)
	}
	if _, ok := onFile["login-2"]; ok || len(onFile) != 2 || onFile["login-1"].IsZero() || onFile["login-3"].IsZero() {
		t.Fatalf("file holds %s, want login-1 and login-3 only", b)
	}
	// An entry that expired while the file was not in use is not loaded either.
	m3 := NewMemory("one", "")
	os.WriteFile(path, []byte(`{"old":"`+time.Now().Add(-time.Minute).Format(time.RFC3339Nano)+`","login-1":"`+
		onFile["login-1"].Format(time.RFC3339Nano)+`"}`), 0o600)
	if err := m3.PersistRevocations(path); err != nil {
		t.Fatal(err)
	}
	if revoked(t, m3, "old") || !revoked(t, m3, "login-1") {
		t.Fatal("expired entry loaded, or live one not")
	}
	m3.mu.Lock()
	n := len(m3.revoked)
	m3.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d revocations loaded, want 1", n)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("folder holds %d files, want the revocations file only (no temp files)", len(ents))
	}
}

func TestMemoryPersistRevocationsBadFile(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	os.WriteFile(corrupt, []byte(`{"login-1": "yesterday`), 0o600)
	if err := NewMemory("", "").PersistRevocations(corrupt); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Fatalf("corrupt file: %v, want an error naming %s", err, corrupt)
	}
	// Valid JSON, one byte over the limit.
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, []byte("{"+strings.Repeat(" ", maxRevocationsFile-1)+"}"), 0o600)
	if err := NewMemory("", "").PersistRevocations(big); err == nil || !strings.Contains(err.Error(), big) {
		t.Fatalf("file over %d bytes: %v, want an error naming it", maxRevocationsFile, err)
	}
	// Revoke reports a file it cannot write, and still revokes.
	m := NewMemory("", "")
	gone := filepath.Join(dir, "no-such-folder", "revoked.json")
	if err := m.PersistRevocations(gone); err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), "login-1", time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Revoke into a missing folder: no error")
	}
	if !revoked(t, m, "login-1") {
		t.Fatal("not revoked in memory after the file failed")
	}
}
