package audit

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLines: every event is one JSON object on its own line with time, event, instance
// and its fields, also when written from many goroutines at once.
func TestLines(t *testing.T) {
	var b bytes.Buffer
	a := New(&b, "gw-1")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			a.Record(ConnectionEnd, slog.String("user", "alice"), slog.Int("n", i), slog.Duration("duration", time.Second))
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	seen := map[float64]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["event"] != ConnectionEnd || m["instance"] != "gw-1" || m["user"] != "alice" || m["time"] == nil || m["level"] != nil || m["msg"] != nil {
			t.Fatalf("line %s", l)
		}
		seen[m["n"].(float64)] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct events of 50", len(seen))
	}
	var nilLog *Log
	nilLog.Record(Login) // discards, no panic
}

func TestOpenAppends(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	for range 2 {
		a, err := Open(p, "gw")
		if err != nil {
			t.Fatal(err)
		}
		a.Record(Logout, slog.String("user", "bob"))
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Fatalf("%d lines after two opens, want 2 (appended):\n%s", n, b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}
