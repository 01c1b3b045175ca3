package signin

import (
	"errors"
	"testing"
	"time"

	"github.com/racgate/racgate/authz"
)

// TestRecordSeal: a sealed record opens with its key and login ID only, and not at all
// once a byte changed.
func TestRecordSeal(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	rec := record{Tokens: authz.Tokens{Refresh: "rt", IDToken: "id.token.sig", Expiry: time.Unix(1700000000, 0)},
		Subject: "sub-1", Due: time.Unix(1700000100, 0)}
	sealed, err := seal(key, "login-1", rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := unseal(key, "login-1", sealed)
	if err != nil || got.Tokens.Refresh != "rt" || got.Tokens.IDToken != rec.Tokens.IDToken || !got.Tokens.Expiry.Equal(rec.Tokens.Expiry) || got.Subject != rec.Subject || !got.Due.Equal(rec.Due) {
		t.Fatalf("unseal = %+v, %v; want %+v", got, err, rec)
	}
	again, _ := seal(key, "login-1", rec)
	if string(again) == string(sealed) {
		t.Fatal("two seals of one record are equal: SwapData could not tell a claim from the record it replaced")
	}
	if _, err := unseal(key, "login-2", sealed); !errors.Is(err, errRecord) {
		t.Fatalf("another login's ID opens it: %v", err)
	}
	if _, err := unseal([]byte("another key of 32 bytes.........."), "login-1", sealed); !errors.Is(err, errRecord) {
		t.Fatalf("another key opens it: %v", err)
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 1
		if _, err := unseal(key, "login-1", bad); !errors.Is(err, errRecord) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	if _, err := unseal(key, "login-1", sealed[:5]); !errors.Is(err, errRecord) {
		t.Fatalf("short: %v", err)
	}
}

// TestNextDue: refresh-interval when set; else 4/5 of the access token's life, at least
// 5 s; 5 minutes when the provider gave no expiry.
func TestNextDue(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, c := range []struct {
		expiry time.Time
		every  time.Duration
		want   time.Duration
	}{
		{now.Add(time.Hour), time.Minute, time.Minute},
		{now.Add(time.Hour), 0, 48 * time.Minute},
		{now.Add(2 * time.Second), 0, 5 * time.Second},
		{now.Add(-time.Minute), 0, 5 * time.Second},
		{time.Time{}, 0, 5 * time.Minute},
	} {
		if got := nextDue(now, c.expiry, c.every).Sub(now); got != c.want {
			t.Errorf("nextDue(expiry %v, every %v) = +%v, want +%v", c.expiry.Sub(now), c.every, got, c.want)
		}
	}
}
