package authz

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseLogin: only what SignLogin made with the key, for a known user with that
// user's stamp, verifies.
func FuzzParseLogin(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	stamps := map[string]string{"demo": "$2a$10$stamp-of-demo", "bob": ""}
	stamp := func(u string) (string, bool) { s, ok := stamps[u]; return s, ok }
	f.Add(SignLogin(key, Claims{ID: "id", Username: "demo", Issued: now, Expires: now.Add(time.Hour)}, stamps["demo"]))
	f.Add(SignLogin(key, Claims{ID: "id", Username: "bob", Issued: now, Expires: now.Add(time.Hour)}, ""))
	f.Add("v2.id.1700000000.1700003600.ZGVtbw.")
	f.Add("v1.id.1700003600.ZGVtbw.")
	f.Add("....")
	f.Add(strings.Repeat("a", 2000))
	oidcUser := &User{Username: "carol", Email: "c@x", UID: "sub", Groups: []string{"staff"}, Attributes: map[string]string{"site": "berlin"}, Source: SourceOIDC}
	v3, _ := SignExternalLogin(key, Claims{ID: "id3", Username: "carol", Issued: now, Expires: now.Add(time.Hour)}, oidcUser)
	f.Add(v3)
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseLogin(key, v, now, stamp)
		if err != nil {
			return
		}
		if !c.Expires.After(now) {
			t.Fatalf("expired login accepted: %v", c.Expires)
		}
		if c.User != nil { // an OIDC sign-in's: only what SignExternalLogin made verifies
			if re, err := SignExternalLogin(key, c, c.User); err != nil || re != v {
				t.Fatalf("accepted %q, which SignExternalLogin does not make", v)
			}
			return
		}
		if _, known := stamps[c.Username]; !known {
			t.Fatalf("login of unknown user %q accepted", c.Username)
		}
		if SignLogin(key, c, stamps[c.Username]) != v {
			t.Fatalf("accepted %q, which SignLogin does not make", v)
		}
	})
}

func TestParseLoginErrors(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	stamp := func(u string) (string, bool) {
		if u == "demo" {
			return "s", true
		}
		return "", false
	}
	good := Claims{ID: "id", Username: "demo", Issued: now, Expires: now.Add(time.Hour)}
	if c, err := ParseLogin(key, SignLogin(key, good, "s"), now, stamp); err != nil || c != good {
		t.Fatalf("good: %+v %v", c, err)
	}
	for _, tc := range []struct {
		name  string
		value string
		want  error
	}{
		{"expired", SignLogin(key, Claims{ID: "id", Username: "demo", Issued: now, Expires: now}, "s"), ErrExpired},
		{"other stamp", SignLogin(key, good, "t"), ErrBadSignature},
		{"other key", SignLogin([]byte("another key, also thirty-two b!!"), good, "s"), ErrBadSignature},
		{"removed user", SignLogin(key, Claims{ID: "id", Username: "gone", Issued: now, Expires: now.Add(time.Hour)}, ""), ErrUnknownUser},
		{"too long", strings.Repeat("a", MaxLoginLen+1), ErrBadSignature},
	} {
		if _, err := ParseLogin(key, tc.value, now, stamp); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
