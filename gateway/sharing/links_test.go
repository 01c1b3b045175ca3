package sharing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLinks(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	r := New("0123abcd", c.now)
	a, err := r.Create("conn1", View, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Create("conn1", Control, time.Minute)
	o, _ := r.Create("conn2", View, time.Hour)
	if a.ID != 1 || b.ID != 2 || o.ID != 1 || a.Token == b.Token {
		t.Fatalf("ids %d %d %d, tokens %q %q", a.ID, b.ID, o.ID, a.Token, b.Token)
	}
	if Instance(a.Token) != "0123abcd" || !strings.HasPrefix(a.Token, "0123abcd.") || len(a.Token) < len("0123abcd.")+26 {
		t.Fatalf("token %q", a.Token)
	}
	if got, err := r.Find(b.Token); err != nil || got != b {
		t.Fatalf("Find: %+v %v", got, err)
	}
	if _, err := r.Find(a.Token + "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a wrong token: %v", err)
	}

	// b expires at exactly its time: it is left out of the list, and found expired until
	// the session adds a link.
	c.t = c.t.Add(time.Minute)
	if _, err := r.Find(b.Token); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if ls := r.Links("conn1"); len(ls) != 1 || ls[0] != a {
		t.Fatalf("Links %+v", ls)
	}
	if _, err := r.Find(b.Token); !errors.Is(err, ErrExpired) {
		t.Fatalf("listed: %v", err)
	}
	x, _ := r.Create("conn1", View, time.Hour)
	if _, err := r.Find(b.Token); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned: %v", err)
	}
	r.Revoke("conn1", x.ID)

	// Revoking takes only the session's own link; IDs are not reused.
	if _, ok := r.Revoke("conn2", a.ID); !ok {
		t.Fatal("conn2 has a link 1 of its own")
	}
	if _, err := r.Find(a.Token); err != nil {
		t.Fatalf("conn1's link went with conn2's: %v", err)
	}
	if l, ok := r.Revoke("conn1", a.ID); !ok || l != a {
		t.Fatalf("Revoke: %+v %v", l, ok)
	}
	if _, ok := r.Revoke("conn1", a.ID); ok {
		t.Fatal("revoked twice")
	}
	if n, _ := r.Create("conn1", View, time.Hour); n.ID != 4 {
		t.Fatalf("next ID %d, want 4", n.ID)
	}

	// At most MaxLinks live links; expired ones make room.
	for i := range MaxLinks - 1 {
		if _, err := r.Create("conn1", View, time.Duration(i+1)*time.Second); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, err := r.Create("conn1", View, time.Hour); !errors.Is(err, ErrTooMany) {
		t.Fatalf("link %d: %v", MaxLinks+1, err)
	}
	c.t = c.t.Add(time.Second)
	if _, err := r.Create("conn1", View, time.Hour); err != nil {
		t.Fatalf("after one expired: %v", err)
	}

	o2, _ := r.Create("conn2", Control, time.Hour)
	r.Drop("conn1")
	if ls := r.Links("conn1"); len(ls) != 0 {
		t.Fatalf("after Drop: %+v", ls)
	}
	if _, err := r.Find(o2.Token); err != nil {
		t.Fatalf("conn2 after conn1's Drop: %v", err)
	}
	for _, tok := range []string{"", "abc", ".x", strings.Repeat("a", 120) + ".0123456789"} {
		if in := Instance(tok); in != "" {
			t.Errorf("Instance(%q) = %q", tok, in)
		}
	}
}
