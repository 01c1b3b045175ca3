package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Instance records come from other instances through Redis: any bytes must decode to an
// error or a record, never a panic.
func FuzzDecodeRecord(f *testing.F) {
	good, _ := json.Marshal(record{Instance: Instance{ID: "gw1", Conns: 1, Started: time.Unix(1, 0)},
		List: []Conn{{ID: "ab", Endpoint: "e", User: "u", Login: "l", Started: time.Unix(2, 0)}}})
	f.Add(string(good))
	f.Add(`{"id":""}`)
	f.Add(`{"id":"x","conns":[{"started":"not a time"}]}`)
	f.Add(`[`)
	f.Add(strings.Repeat(`{"conns":[`, 100))
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := decodeRecord(s)
		if err == nil && rec.ID == "" {
			t.Fatal("accepted a record without ID")
		}
	})
}

func FuzzTermination(f *testing.F) {
	f.Add("0123456789abcdef", "An administrator ended the connection.")
	f.Add("", "")
	f.Add("id", "two\nlines")
	f.Fuzz(func(t *testing.T, id, reason string) {
		if strings.Contains(id, "\n") {
			return // IDs are hex
		}
		gid, greason := parseTermination(formatTermination(id, reason))
		if gid != id || greason != reason {
			t.Fatalf("round trip (%q, %q) -> (%q, %q)", id, reason, gid, greason)
		}
	})
}
