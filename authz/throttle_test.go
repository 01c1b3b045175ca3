package authz

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/store"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		failures, free int
		most, want     time.Duration
	}{
		{0, 3, time.Minute, 0},
		{2, 3, time.Minute, 0},
		{3, 3, time.Minute, time.Second}, // the free attempts used up: 1 s
		{4, 3, time.Minute, 2 * time.Second},
		{6, 3, time.Minute, 8 * time.Second},
		{10, 3, time.Minute, time.Minute},  // capped at max-backoff
		{1 << 20, 0, time.Hour, time.Hour}, // no overflow past 2^30 s
	} {
		if got := backoff(c.failures, c.free, c.most); got != c.want {
			t.Errorf("backoff(%d, %d, %v) = %v, want %v", c.failures, c.free, c.most, got, c.want)
		}
	}
}

func TestLoginKeys(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:40000":          "192.0.2.1",
		"192.0.2.1":                "192.0.2.1",
		"[2001:db8:1:2::5]:40000":  "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::9]:1": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:1":     "192.0.2.7", // an IPv4 client on a dual-stack socket
		"not-an-address":           "not-an-address",
	} {
		if got := clientNet(remote); got != want {
			t.Errorf("clientNet(%q) = %q, want %q", remote, got, want)
		}
	}
	a, b := loginKeys("bob", "192.0.2.1:1"), loginKeys("bob", "198.51.100.7:2")
	if a.user != b.user || a.addr == b.addr || a.addr != "addr:192.0.2.1" {
		t.Errorf("keys %+v and %+v", a, b)
	}
	long := loginKeys(strings.Repeat("x", 10_000), "192.0.2.1:1")
	if len(long.user) != len("user:")+32 || long.user == a.user {
		t.Errorf("hashed user key %q", long.user)
	}
}

func TestThrottleWait(t *testing.T) {
	cfg := config.ThrottleConfig{UserAttempts: 3, AddressAttempts: 5, MaxBackoff: time.Minute}
	for _, c := range []struct {
		a    []store.Attempts
		want time.Duration
		by   string
	}{
		{nil, 0, ""},
		{[]store.Attempts{{Failures: 2}, {Failures: 4}}, 0, ""},
		{[]store.Attempts{{Failures: 4, Since: 500 * time.Millisecond}, {}}, 1500 * time.Millisecond, "user"},
		{[]store.Attempts{{Failures: 4, Since: 3 * time.Second}, {}}, 0, ""}, // waited out
		{[]store.Attempts{{Failures: 3}, {Failures: 7}}, 4 * time.Second, "address"},
		{[]store.Attempts{{Failures: 3}}, time.Second, "user"}, // fewer records than keys
	} {
		if got, by := throttleWait(cfg, c.a); got != c.want || by != c.by {
			t.Errorf("throttleWait(%v) = %v %q, want %v %q", c.a, got, by, c.want, c.by)
		}
	}
	if got := forgetAfter(cfg); got != 2*time.Minute {
		t.Errorf("forgetAfter = %v", got)
	}
	if got := forgetAfter(config.ThrottleConfig{MaxBackoff: time.Second}); got != time.Minute {
		t.Errorf("forgetAfter, short max-backoff = %v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, 1: 1, time.Second: 1, time.Second + 1: 2, 1500 * time.Millisecond: 2} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%v) = %d, want %d", d, got, want)
		}
	}
}

// brokenStore fails every call, as a store cut off from Redis does.
type brokenStore struct{ calls int }

var errBroken = errors.New("store unavailable")

func (b *brokenStore) LoginFailed(context.Context, []string, time.Duration) ([]store.Attempts, error) {
	b.calls++
	return nil, errBroken
}

func (b *brokenStore) LoginAttempts(context.Context, []string) ([]store.Attempts, error) {
	b.calls++
	return nil, errBroken
}

func (b *brokenStore) LoginSucceeded(context.Context, string) error { b.calls++; return errBroken }

// TestThrottle: failures count in the shared store; while it fails, in the local one; a
// success clears the user's count and not the address's; Disabled asks no store.
func TestThrottle(t *testing.T) {
	ctx := context.Background()
	cfg := config.ThrottleConfig{UserAttempts: 2, AddressAttempts: 3, MaxBackoff: time.Minute}
	check := func(step string, th *Throttle, user, addr string, want time.Duration, wantBy string) {
		t.Helper()
		if got, by := th.Wait(ctx, cfg, user, addr); got <= want-time.Second/2 || got > want || by != wantBy {
			t.Fatalf("%s: Wait %v %q, want about %v %q", step, got, by, want, wantBy)
		}
	}
	shared, broken := store.NewMemory("shared", ""), &brokenStore{}
	for name, th := range map[string]*Throttle{
		"shared": NewThrottle(shared, store.NewMemory("unused", ""), nil),
		"local":  NewThrottle(broken, store.NewMemory("local", ""), nil),
	} {
		t.Run(name, func(t *testing.T) {
			if w, _ := th.Failed(ctx, cfg, "bob", "192.0.2.1:1"); w != 0 {
				t.Fatalf("first failure: wait %v", w)
			}
			if w, by := th.Failed(ctx, cfg, "bob", "192.0.2.1:2"); w <= 0 || by != "user" {
				t.Fatalf("second failure: wait %v %q", w, by)
			}
			check("bob from another address", th, "bob", "198.51.100.7:1", time.Second, "user")
			th.Succeeded(ctx, cfg, "bob", "192.0.2.1:1")
			check("bob after a success", th, "bob", "198.51.100.7:1", 0, "")
			th.Failed(ctx, cfg, "alice", "192.0.2.1:3")
			check("the address after three failures", th, "carol", "192.0.2.1:4", time.Second, "address")
		})
	}
	if got, _ := shared.LoginAttempts(ctx, []string{loginKeys("alice", "").user}); got[0].Failures != 1 {
		t.Errorf("shared store: alice has %d failures", got[0].Failures)
	}
	off := NewThrottle(broken, broken, nil)
	before := broken.calls
	off.Failed(ctx, config.ThrottleConfig{Disabled: true}, "bob", "192.0.2.1:1")
	off.Succeeded(ctx, config.ThrottleConfig{Disabled: true}, "bob", "192.0.2.1:1")
	if w, _ := off.Wait(ctx, config.ThrottleConfig{Disabled: true}, "bob", "192.0.2.1:1"); w != 0 || broken.calls != before {
		t.Errorf("disabled: wait %v, %d store calls", w, broken.calls-before)
	}
}
