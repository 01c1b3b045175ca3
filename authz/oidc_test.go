package authz

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
)

// TestFlowCookie: a flow survives its cookie intact; a changed byte, another key or an
// expired one is refused.
func TestFlowCookie(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Unix(1_800_000_000, 0)
	f := Flow{State: randomToken(), Nonce: randomToken(), Verifier: "v-123", Next: "/connect/desk?x=1"}
	v := SignFlow(key, f, now.Add(time.Minute))
	if got, err := ParseFlow(key, v, now); err != nil || got != f {
		t.Fatalf("ParseFlow = %+v, %v", got, err)
	}
	tampered := []byte(v)
	tampered[5] ^= 1
	for name, c := range map[string]struct {
		v   string
		key []byte
		at  time.Time
	}{
		"tampered":  {string(tampered), key, now},
		"other key": {v, []byte(strings.Repeat("x", 32)), now},
		"expired":   {v, key, now.Add(time.Minute)},
		"empty":     {"", key, now},
	} {
		if _, err := ParseFlow(c.key, c.v, c.at); !errors.Is(err, ErrOIDC) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestExternalLogin: an OIDC user's cookie carries the user and verifies; a changed
// byte does not; claims too big for a cookie are refused when signing.
func TestExternalLogin(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Unix(1_800_000_000, 0)
	u := &User{Username: "alice", Email: "a@x", Name: "Alice", UID: "sub-1", Groups: []string{"staff", "admins"},
		Attributes: map[string]string{"site": "berlin"}, Source: SourceOIDC}
	c := Claims{ID: NewLoginID(), Username: "alice", Issued: now, Expires: now.Add(time.Hour)}
	v, err := SignExternalLogin(key, c, u)
	if err != nil {
		t.Fatal(err)
	}
	noUsers := func(string) (string, bool) { return "", false }
	got, err := ParseLogin(key, v, now, noUsers)
	if err != nil || got.User == nil || got.User.Username != "alice" || got.User.Source != SourceOIDC ||
		strings.Join(got.User.Groups, ",") != "staff,admins" || got.User.UID != "sub-1" || got.ID != c.ID ||
		got.User.Attributes["site"] != "berlin" {
		t.Fatalf("ParseLogin = %+v (%+v), %v", got, got.User, err)
	}
	b := []byte(v)
	b[len("v3.")+2] ^= 1
	if _, err := ParseLogin(key, string(b), now, noUsers); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered: %v", err)
	}
	// A built-in cookie with the same name cannot pass as an OIDC one, nor the reverse.
	v2 := SignLogin(key, c, "")
	if cl, err := ParseLogin(key, "v3"+v2[2:], now, noUsers); err == nil {
		t.Errorf("a v2 value relabelled v3 verified: %+v", cl)
	}
	if _, err := ParseLogin(key, v, now.Add(time.Hour), noUsers); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	many := *u
	for i := range 300 {
		many.Groups = append(many.Groups, "group-number-"+strings.Repeat("x", i%10))
	}
	if _, err := SignExternalLogin(key, c, &many); err == nil {
		t.Error("300 groups fit a cookie")
	}
}

// TestOIDCClaims: the configured claims name the user; attribute-claims become attributes
// (lower-case names; anything but a string as JSON); a claim that is not plain text is
// refused.
func TestOIDCClaims(t *testing.T) {
	o := NewOIDC(config.OIDCConfig{UsernameClaim: "preferred_username", GroupsClaim: "groups", EmailClaim: "email",
		NameClaim: "name", AttributeClaims: []string{"Site", "level", "missing", "roles"}}, nil)
	u, err := o.user("sub-1", map[string]any{"preferred_username": "alice", "groups": []any{"staff", 3, ""},
		"Site": "berlin", "level": 3.0, "roles": []any{"a", "b"}, "email": "a@x"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.UID != "sub-1" || u.Email != "a@x" || strings.Join(u.Groups, ",") != "staff" ||
		len(u.Attributes) != 3 || u.Attributes["site"] != "berlin" || u.Attributes["level"] != "3" || u.Attributes["roles"] != `["a","b"]` {
		t.Fatalf("user = %+v", u)
	}
	if _, err := o.user("sub-1", map[string]any{"preferred_username": "alice", "Site": "a\nb"}); !errors.Is(err, ErrOIDC) {
		t.Errorf("an attribute with a newline: %v", err)
	}
	if _, err := o.user("sub-1", map[string]any{"email": "a@x"}); !errors.Is(err, ErrOIDC) {
		t.Errorf("no username claim: %v", err)
	}
}
