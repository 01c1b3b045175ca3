package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The shared suite: every Store passes it. newStore returns another instance on the same
// backing (the same Memory, or a new Redis store on the same server), so that the Redis
// run spreads its work over several instances.
type suite struct {
	newStore func(t *testing.T) Store
	// settle is how long a change takes to show in Connections and Instances.
	settle time.Duration
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s suite) run(t *testing.T) {
	t.Run("Limits", s.testLimits)
	t.Run("Concurrent200Limit5", s.testConcurrentLimit)
	t.Run("ConcurrentPerUser", s.testConcurrentPerUser)
	t.Run("Terminate", s.testTerminate)
	t.Run("Registry", s.testRegistry)
	t.Run("Revoke", s.testRevoke)
	t.Run("Login", s.testLogin)
	t.Run("Data", s.testData)
	t.Run("Link", s.testLink)
}

// testData: SwapData sets a value only over the one expected, across instances; values
// expire; bounds hold.
func (s suite) testData(t *testing.T) {
	ctx := context.Background()
	a, b := s.newStore(t), s.newStore(t)
	hour := time.Now().Add(time.Hour)
	get := func(st Store, key string) string {
		t.Helper()
		v, err := st.Data(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			return "<none>"
		}
		return string(v)
	}
	swap := func(st Store, key string, old, value []byte, until time.Time, want bool) {
		t.Helper()
		if ok, err := st.SwapData(ctx, key, old, value, until); err != nil || ok != want {
			t.Fatalf("SwapData(%s, %q -> %q) = %v, %v; want %v", key, old, value, ok, err, want)
		}
	}
	if got := get(b, "k"); got != "<none>" {
		t.Fatalf("before any write: %s", got)
	}
	swap(a, "k", nil, []byte("v1"), hour, true)
	swap(b, "k", nil, []byte("v2"), hour, false) // someone was first
	if got := get(b, "k"); got != "v1" {
		t.Fatalf("b reads %s", got)
	}
	swap(b, "k", []byte("v2"), []byte("v3"), hour, false)
	swap(b, "k", []byte("v"), []byte("v3"), hour, false) // a prefix is not the value
	swap(b, "k", []byte("v1"), []byte("v3"), hour, true)
	if got := get(a, "k"); got != "v3" {
		t.Fatalf("a reads %s", got)
	}
	swap(a, "k", []byte("v3"), nil, hour, true)
	if got := get(b, "k"); got != "<none>" {
		t.Fatalf("after the delete: %s", got)
	}
	swap(a, "short", nil, []byte("x"), time.Now().Add(300*time.Millisecond), true)
	if got := get(b, "short"); got != "x" {
		t.Fatalf("short-lived value: %s", got)
	}
	eventually(t, 3*time.Second, "a value expires", func() bool { v, err := b.Data(ctx, "short"); return err == nil && v == nil })
	swap(a, "short", nil, []byte("y"), hour, true) // and its key is free again

	long := string(make([]byte, MaxDataKey+1))
	if _, err := a.Data(ctx, long); !errors.Is(err, ErrData) {
		t.Fatalf("Data with a %d-byte key: %v", len(long), err)
	}
	if _, err := a.SwapData(ctx, "big", nil, make([]byte, MaxDataValue+1), hour); !errors.Is(err, ErrData) {
		t.Fatalf("SwapData of %d bytes: %v", MaxDataValue+1, err)
	}
	swap(a, "big", nil, make([]byte, MaxDataValue), hour, true)
}

// testLink: logins linked on one instance are listed on another until they expire; a
// key keeps the MaxLinks that expire last.
func (s suite) testLink(t *testing.T) {
	ctx := context.Background()
	a, b := s.newStore(t), s.newStore(t)
	now := time.Now().Truncate(time.Millisecond)
	linked := func(key string) map[string]time.Time {
		t.Helper()
		m, err := b.Linked(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, l := range []struct {
		login string
		until time.Time
	}{{"l1", now.Add(time.Hour)}, {"l2", now.Add(300 * time.Millisecond)}, {"l3", now.Add(-time.Second)}} {
		if err := a.Link(ctx, "sid:x", l.login, l.until); err != nil {
			t.Fatal(err)
		}
	}
	a.Link(ctx, "sid:y", "other", now.Add(time.Hour))
	got := linked("sid:x")
	if len(got) != 2 || !got["l1"].Equal(now.Add(time.Hour)) || !got["l2"].Equal(now.Add(300*time.Millisecond)) {
		t.Fatalf("Linked = %v", got)
	}
	eventually(t, 3*time.Second, "a link expires", func() bool { return len(linked("sid:x")) == 1 })
	if got := linked("sid:none"); len(got) != 0 {
		t.Fatalf("Linked of an unknown key = %v", got)
	}
	for i := range MaxLinks + 5 {
		if err := a.Link(ctx, "sub:many", fmt.Sprintf("m%03d", i), now.Add(time.Hour+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got = linked("sub:many")
	if len(got) != MaxLinks {
		t.Fatalf("%d links kept, want %d", len(got), MaxLinks)
	}
	for i := range 5 {
		if _, ok := got[fmt.Sprintf("m%03d", i)]; ok {
			t.Fatalf("m%03d, among the soonest to expire, was kept", i)
		}
	}
}

// testRevoke: a logout recorded on one instance is seen on another, and only until the
// login would have expired.
func (s suite) testRevoke(t *testing.T) {
	ctx := context.Background()
	a, b := s.newStore(t), s.newStore(t)
	if ok, err := b.Revoked(ctx, "login-1"); err != nil || ok {
		t.Fatalf("Revoked before Revoke = %v, %v", ok, err)
	}
	if err := a.Revoke(ctx, "login-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, "login-2", time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, "login-3", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		login string
		want  bool
	}{{"login-1", true}, {"login-2", true}, {"login-3", false}, {"login-4", false}} {
		if ok, err := b.Revoked(ctx, c.login); err != nil || ok != c.want {
			t.Fatalf("Revoked(%s) = %v, %v; want %v", c.login, ok, err, c.want)
		}
	}
	eventually(t, 3*time.Second, "a short revocation expires", func() bool {
		ok, err := b.Revoked(ctx, "login-2")
		return err == nil && !ok
	})
}

func req(ep, user string, epLimit, userLimit int) Request {
	return Request{Endpoint: ep, User: user, Login: "login-" + user, EndpointLimit: epLimit, UserLimit: userLimit}
}

func count(t *testing.T, st Store, ep string) int {
	t.Helper()
	n, err := st.Count(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (s suite) testLimits(t *testing.T) {
	ctx := context.Background()
	st := s.newStore(t)
	a, err := st.Acquire(ctx, req("e", "ann", 2, -1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Acquire(ctx, req("e", "bob", 2, -1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Acquire(ctx, req("e", "cat", 2, -1))
	var le *LimitError
	if !errors.Is(err, ErrLimit) || !errors.As(err, &le) || le.Which != LimitEndpoint || le.Limit != 2 {
		t.Fatalf("third Acquire: %v, want the endpoint limit", err)
	}
	if _, err := st.Acquire(ctx, req("other", "ann", 0, -1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("limit 0: %v, want ErrLimit", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	a.Release(ctx) // twice frees one slot only
	if n := count(t, st, "e"); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	c, err := st.Acquire(ctx, req("e", "ann", 2, -1))
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if c.Conn().ID == a.Conn().ID || c.Conn().User != "ann" || c.Conn().Endpoint != "e" {
		t.Fatalf("conn %+v", c.Conn())
	}
	b.Release(ctx)
	c.Release(ctx)
	if n := count(t, st, "e"); n != 0 {
		t.Fatalf("Count = %d, want 0", n)
	}

	// Per user: ann may have one on u; others are not affected.
	u1, err := st.Acquire(ctx, req("u", "ann", -1, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Acquire(ctx, req("u", "ann", -1, 1))
	if !errors.As(err, &le) || le.Which != LimitUser || le.User != "ann" {
		t.Fatalf("second for ann: %v, want the user limit", err)
	}
	u2, err := st.Acquire(ctx, req("u", "bob", -1, 1))
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	if n, err := st.CountUser(ctx, "u", "ann"); err != nil || n != 1 {
		t.Fatalf("CountUser = %d, %v; want 1", n, err)
	}
	u1.Release(ctx)
	u2.Release(ctx)
	if n, _ := st.CountUser(ctx, "u", "ann"); n != 0 {
		t.Fatalf("CountUser after release = %d", n)
	}
}

// 200 attempts at once on an endpoint with limit 5 admit exactly 5; then, with holders
// coming and going, never more than 5 hold a slot at any moment.
func (s suite) testConcurrentLimit(t *testing.T) {
	ctx := context.Background()
	stores := []Store{s.newStore(t), s.newStore(t), s.newStore(t)}
	const limit, attempts = 5, 200
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted []Lease
		start    = make(chan struct{})
	)
	for i := range attempts {
		wg.Go(func() {
			<-start
			l, err := stores[i%len(stores)].Acquire(ctx, req("busy", fmt.Sprint("u", i), limit, -1))
			if err == nil {
				mu.Lock()
				admitted = append(admitted, l)
				mu.Unlock()
			} else if !errors.Is(err, ErrLimit) {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(admitted) != limit {
		t.Fatalf("%d of %d admitted, want %d", len(admitted), attempts, limit)
	}
	if n := count(t, stores[0], "busy"); n != limit {
		t.Fatalf("Count = %d, want %d", n, limit)
	}
	for _, l := range admitted {
		l.Release(ctx)
	}

	// Churn: each holder counts itself in after Acquire and out before Release, so the
	// counter is at most the number of leases held.
	var holding, peak, turns atomic.Int64
	stop := time.Now().Add(time.Second)
	for i := range attempts {
		wg.Go(func() {
			for time.Now().Before(stop) {
				l, err := stores[i%len(stores)].Acquire(ctx, req("churn", "u", limit, -1))
				if err != nil {
					if !errors.Is(err, ErrLimit) {
						t.Error(err)
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				n := holding.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				turns.Add(1)
				time.Sleep(2 * time.Millisecond)
				holding.Add(-1)
				if err := l.Release(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak holders %d, want 1..%d", p, limit)
	}
	if turns.Load() < limit {
		t.Fatalf("only %d turns", turns.Load())
	}
	if n := count(t, stores[0], "churn"); n != 0 {
		t.Fatalf("Count after churn = %d, want 0", n)
	}
	t.Logf("churn: %d turns, peak %d", turns.Load(), peak.Load())
}

func (s suite) testConcurrentPerUser(t *testing.T) {
	ctx := context.Background()
	stores := []Store{s.newStore(t), s.newStore(t)}
	users := []string{"ann", "bob", "cat", "dan"}
	const perUser = 2
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string][]Lease{}
	)
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			<-start
			u := users[i%len(users)]
			l, err := stores[i%len(stores)].Acquire(ctx, req("pu", u, -1, perUser))
			if err == nil {
				mu.Lock()
				got[u] = append(got[u], l)
				mu.Unlock()
			} else if !errors.Is(err, ErrLimit) {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, u := range users {
		if len(got[u]) != perUser {
			t.Errorf("user %s admitted %d times, want %d", u, len(got[u]), perUser)
		}
	}
	if n := count(t, stores[0], "pu"); n != perUser*len(users) {
		t.Errorf("Count = %d, want %d", n, perUser*len(users))
	}
	for _, ls := range got {
		for _, l := range ls {
			l.Release(ctx)
		}
	}
}

func (s suite) testTerminate(t *testing.T) {
	ctx := context.Background()
	holder, other := s.newStore(t), s.newStore(t)
	l, err := holder.Acquire(ctx, req("t", "ann", -1, -1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	select {
	case <-l.Done():
		t.Fatal("Done closed before any termination")
	default:
	}
	// The request may go through another instance; it learns of the connection from
	// the registry.
	eventually(t, s.settle+time.Second, "Terminate finds the connection", func() bool {
		err := other.Terminate(ctx, l.Conn().ID, "admin says so")
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	})
	select {
	case <-l.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("lease not terminated within 2s")
	}
	if l.Reason() != "admin says so" {
		t.Fatalf("reason %q", l.Reason())
	}
	if err := other.Terminate(ctx, "no-such-id", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
}

func (s suite) testRegistry(t *testing.T) {
	ctx := context.Background()
	st := s.newStore(t)
	a, err := st.Acquire(ctx, Request{Endpoint: "r", User: "ann", Remote: "10.0.0.1:5", EndpointLimit: -1, UserLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Acquire(ctx, req("r2", "bob", -1, -1))
	if err != nil {
		t.Fatal(err)
	}
	inst := a.Conn().Instance
	mine := func() []Conn {
		cs, err := st.Connections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []Conn
		for _, c := range cs {
			if c.ID == a.Conn().ID || c.ID == b.Conn().ID {
				out = append(out, c)
			}
		}
		return out
	}
	eventually(t, s.settle+time.Second, "both connections listed", func() bool { return len(mine()) == 2 })
	c := mine()[0]
	if c.ID != a.Conn().ID || c.User != "ann" || c.Endpoint != "r" || c.Remote != "10.0.0.1:5" || c.Instance != inst || c.Started.IsZero() {
		t.Fatalf("listed %+v, want %+v", c, a.Conn())
	}
	ins, err := st.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, in := range ins {
		if in.ID == inst {
			found = true
			if in.Conns != 2 {
				t.Errorf("instance %s reports %d connections, want 2", in.ID, in.Conns)
			}
		}
	}
	if !found {
		t.Fatalf("instance %q not in %+v", inst, ins)
	}
	a.Release(ctx)
	b.Release(ctx)
	eventually(t, s.settle+time.Second, "released connections gone from the list", func() bool { return len(mine()) == 0 })
}

func TestMemory(t *testing.T) {
	m := NewMemory("one", "")
	t.Cleanup(func() { m.Close() })
	suite{newStore: func(*testing.T) Store { return m }}.run(t)
}

func TestMemoryClosed(t *testing.T) {
	m := NewMemory("", "")
	m.Close()
	if _, err := m.Acquire(context.Background(), req("e", "u", -1, -1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
}
