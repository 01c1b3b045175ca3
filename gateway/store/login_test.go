package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func attempts(t *testing.T, st Store, keys ...string) []Attempts {
	t.Helper()
	got, err := st.LoginAttempts(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Fatalf("%d records for %d keys", len(got), len(keys))
	}
	return got
}

func failed(t *testing.T, st Store, forget time.Duration, keys ...string) []Attempts {
	t.Helper()
	got, err := st.LoginFailed(context.Background(), keys, forget)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Fatalf("%d records for %d keys", len(got), len(keys))
	}
	return got
}

// testLogin: failed logins recorded on one instance are seen on another, counted
// exactly under concurrency, cleared on success and forgotten after `forget`.
func (s suite) testLogin(t *testing.T) {
	ctx := context.Background()
	a, b := s.newStore(t), s.newStore(t)
	const user, addr = "user:alice", "addr:192.0.2.7"
	if got := attempts(t, b, user, addr); got[0] != (Attempts{}) || got[1] != (Attempts{}) {
		t.Fatalf("before any failure: %+v", got)
	}
	if got := failed(t, a, time.Hour, user, addr); got[0].Failures != 1 || got[1].Failures != 1 {
		t.Fatalf("first failure: %+v", got)
	}
	if got := failed(t, b, time.Hour, user); got[0].Failures != 2 {
		t.Fatalf("second failure, on the other instance: %+v", got)
	}
	got := attempts(t, a, user, addr, "user:nobody")
	if got[0].Failures != 2 || got[1].Failures != 1 || got[2] != (Attempts{}) {
		t.Fatalf("attempts %+v, want 2, 1, none", got)
	}
	if got[0].Since < 0 || got[0].Since > time.Minute {
		t.Fatalf("since %v", got[0].Since)
	}
	// Since grows with the time since the last failure.
	eventually(t, 3*time.Second, "Since reaches 200ms", func() bool { return attempts(t, b, user)[0].Since >= 200*time.Millisecond })
	if since := attempts(t, b, addr)[0].Since; since < 200*time.Millisecond || since > time.Minute {
		t.Fatalf("addr since %v, want at least 200ms", since)
	}
	if since := failed(t, b, time.Hour, user)[0].Since; since > 100*time.Millisecond {
		t.Fatalf("since %v right after a failure", since)
	}

	if err := b.LoginSucceeded(ctx, user); err != nil {
		t.Fatal(err)
	}
	if got := attempts(t, a, user, addr); got[0] != (Attempts{}) || got[1].Failures != 1 {
		t.Fatalf("after success: %+v, want user cleared, addr kept", got)
	}

	// Concurrent failures on both instances are each counted once.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := []Store{a, b}[i%2].LoginFailed(ctx, []string{"user:race"}, time.Hour); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := attempts(t, a, "user:race")[0].Failures; n != 50 {
		t.Fatalf("50 concurrent failures counted %d", n)
	}

	// Forgotten `forget` after the last failure, not the first.
	const forget = time.Second
	first := time.Now()
	failed(t, a, forget, "user:short")
	eventually(t, 2*time.Second, "Since reaches 600ms", func() bool { return attempts(t, b, "user:short")[0].Since >= 600*time.Millisecond })
	failed(t, b, forget, "user:short")
	for time.Since(first) < forget+100*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
	}
	if n := attempts(t, a, "user:short")[0].Failures; n != 2 {
		t.Fatalf("%v after the first failure, %v after the second: %d failures, want 2 (not forgotten yet)", time.Since(first), forget, n)
	}
	eventually(t, 3*forget, "the record forgotten", func() bool { return attempts(t, b, "user:short")[0] == (Attempts{}) })

	// Bounded keys.
	long := strings.Repeat("x", MaxLoginKey+1)
	if _, err := a.LoginFailed(ctx, []string{"user:ok", long}, time.Hour); !errors.Is(err, ErrLoginKey) {
		t.Fatalf("LoginFailed with a %d-byte key: %v, want ErrLoginKey", len(long), err)
	}
	if n := attempts(t, a, "user:ok")[0].Failures; n != 0 {
		t.Fatalf("a refused call recorded %d failures", n)
	}
	if _, err := a.LoginAttempts(ctx, []string{long}); !errors.Is(err, ErrLoginKey) {
		t.Fatalf("LoginAttempts with a long key: %v", err)
	}
	if err := a.LoginSucceeded(ctx, ""); !errors.Is(err, ErrLoginKey) {
		t.Fatalf("LoginSucceeded with an empty key: %v", err)
	}
	many := make([]string, MaxLoginKeys+1)
	for i := range many {
		many[i] = fmt.Sprint("k", i)
	}
	if _, err := a.LoginAttempts(ctx, many); !errors.Is(err, ErrLoginKey) {
		t.Fatalf("LoginAttempts with %d keys: %v", len(many), err)
	}
	if _, err := a.LoginFailed(ctx, []string{"user:ok"}, 0); err == nil {
		t.Fatal("LoginFailed forgetting at once: no error")
	}
	if got := failed(t, a, time.Hour, strings.Repeat("y", MaxLoginKey)); got[0].Failures != 1 {
		t.Fatalf("a key of exactly %d bytes: %+v", MaxLoginKey, got)
	}
}

// Memory keeps at most its limit of records, dropping the oldest failure first, and
// drops expired ones as it goes.
func TestMemoryLoginBounded(t *testing.T) {
	m := NewMemory("one", "")
	m.logins.max = 3
	for _, k := range []string{"k1", "k2", "k3", "k4"} {
		failed(t, m, time.Hour, k)
	}
	if got := attempts(t, m, "k1", "k2", "k3", "k4"); got[0].Failures != 0 || got[1].Failures != 1 || got[3].Failures != 1 {
		t.Fatalf("over the limit: %+v, want k1 dropped", got)
	}
	failed(t, m, time.Hour, "k2") // k2 is now the newest failure
	failed(t, m, time.Hour, "k5")
	if got := attempts(t, m, "k2", "k3", "k4", "k5"); got[0].Failures != 2 || got[1].Failures != 0 || got[2].Failures != 1 || got[3].Failures != 1 {
		t.Fatalf("%+v, want k3 (the oldest failure) dropped", got)
	}

	// With one forget duration (as the gateway uses), expired records are dropped at the
	// next failure, looked up or not.
	m = NewMemory("two", "")
	for i := range 100 {
		failed(t, m, 50*time.Millisecond, fmt.Sprint("short", i))
	}
	eventually(t, 2*time.Second, "short records expire", func() bool { return attempts(t, m, "short99")[0].Failures == 0 })
	failed(t, m, 50*time.Millisecond, "new")
	m.logins.mu.Lock()
	n, l := len(m.logins.byKey), m.logins.order.Len()
	m.logins.mu.Unlock()
	if n != 1 || l != 1 {
		t.Fatalf("%d records (list %d) after the short ones expired, want 1", n, l)
	}
}
