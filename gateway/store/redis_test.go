package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/leakcheck"
	"github.com/redis/go-redis/v9"

	"github.com/racgate/racgate/internal/peers"
)

const testTTL = 1500 * time.Millisecond

func testClient(t *testing.T, addr string) redis.UniversalClient {
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr},
		DialTimeout: 300 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
		MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

// newRedisStore starts a store (an "instance") on rdb with a short TTL.
func newRedisStore(t *testing.T, rdb redis.UniversalClient, name string, mod ...func(*RedisOptions)) *Redis {
	t.Helper()
	o := RedisOptions{Instance: name, LeaseTTL: testTTL, Prefix: "t"}
	for _, f := range mod {
		f(&o)
	}
	st, err := NewRedis(rdb, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestRedis(t *testing.T) {
	srv := peers.StartRedis(t)
	n := 0
	suite{
		newStore: func(t *testing.T) Store {
			n++
			return newRedisStore(t, testClient(t, srv.Addr), fmt.Sprint("inst", n))
		},
		settle: testTTL,
	}.run(t)
}

// A crashed instance (heartbeat stopped, nothing released) frees its slots within the TTL.
func TestRedisDeadInstanceExpires(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	a := newRedisStore(t, testClient(t, srv.Addr), "a")
	b := newRedisStore(t, testClient(t, srv.Addr), "b")
	for range 3 {
		if _, err := a.Acquire(ctx, req("e", "ann", 3, -1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Acquire(ctx, req("e", "bob", 3, -1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("b while a holds 3: %v", err)
	}
	// Outlive several heartbeats: renewed leases must not expire.
	time.Sleep(2 * testTTL)
	if n := count(t, b, "e"); n != 3 {
		t.Fatalf("after 2 TTLs with heartbeats: %d, want 3", n)
	}
	a.Close() // as if killed: no release
	died := time.Now()
	eventually(t, testTTL+time.Second, "slots of the dead instance free", func() bool { return count(t, b, "e") == 0 })
	t.Logf("freed %v after the instance stopped (TTL %v)", time.Since(died).Round(time.Millisecond), testTTL)
	l, err := b.Acquire(ctx, req("e", "bob", 3, -1))
	if err != nil {
		t.Fatal(err)
	}
	l.Release(ctx)
	ins, err := b.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].ID != "b" {
		t.Fatalf("instances %+v, want only b", ins)
	}
}

// Redis restarts empty: live leases are counted again exactly once, nothing is admitted
// meanwhile, and released ones stay released.
func TestRedisRestart(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	a := newRedisStore(t, testClient(t, srv.Addr), "a")
	b := newRedisStore(t, testClient(t, srv.Addr), "b")
	var held []Lease
	for i := range 3 {
		l, err := a.Acquire(ctx, req("e", fmt.Sprint("u", i), 5, -1))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	lb, err := b.Acquire(ctx, req("e", "ann", 5, -1))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := b.Acquire(ctx, req("e", "bob", 5, -1))
	if err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	_, err = a.Acquire(ctx, req("e", "cat", 5, -1))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Acquire with Redis down: %v, want ErrUnavailable", err)
	}
	gone.Release(ctx) // fails to reach Redis: must not come back
	srv.Start()

	// A connect right after the restart waits for the recount instead of overbooking.
	l5, err := a.Acquire(ctx, req("e", "cat", 5, -1))
	if err != nil {
		t.Fatalf("Acquire after restart: %v", err)
	}
	if n := count(t, a, "e"); n != 5 {
		t.Fatalf("after restart Count = %d, want 5 (3 on a, 1 on b, 1 new)", n)
	}
	if _, err := b.Acquire(ctx, req("e", "dan", 5, -1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("sixth: %v, want ErrLimit", err)
	}
	time.Sleep(testTTL) // more heartbeats: still exactly 5
	if n := count(t, b, "e"); n != 5 {
		t.Fatalf("later Count = %d, want 5", n)
	}
	for _, l := range append(held, lb, l5) {
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, a, "e"); n != 0 {
		t.Fatalf("after releases Count = %d, want 0", n)
	}
}

// Fail-open admits while Redis is down and counts the connections once it is back, all
// of them, even beyond the limit: they were admitted unchecked, and are not ended.
func TestRedisFailOpen(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	a := newRedisStore(t, testClient(t, srv.Addr), "a", func(o *RedisOptions) { o.FailOpen = true })
	srv.Stop()
	var ls []Lease
	for _, u := range []string{"ann", "cat"} {
		l, err := a.Acquire(ctx, req("e", u, 1, -1))
		if err != nil {
			t.Fatalf("fail-open Acquire: %v", err)
		}
		if !l.Conn().Unchecked {
			t.Fatal("lease not marked unchecked")
		}
		ls = append(ls, l)
	}
	srv.Start()
	eventually(t, 2*testTTL, "unchecked leases counted", func() bool {
		n, err := a.Count(ctx, "e")
		return err == nil && n == 2
	})
	holds(t, 2*testTTL, "both unchecked leases live and counted", func() bool {
		return !ended(ls[0]) && !ended(ls[1]) && count(t, a, "e") == 2
	})
	if _, err := a.Acquire(ctx, req("e", "bob", 1, -1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("another: %v, want ErrLimit", err)
	}
	for _, l := range ls {
		l.Release(ctx)
	}
}

// A termination whose message was missed (here: never published) still arrives through
// the kill mark at the next heartbeat.
func TestRedisTerminateMissedMessage(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	rdb := testClient(t, srv.Addr)
	a := newRedisStore(t, rdb, "a")
	l, err := a.Acquire(ctx, req("e", "ann", -1, -1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	if err := rdb.Set(ctx, a.epKeys("e", "ann", l.Conn().ID)[2], "marked", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Done():
	case <-time.After(testTTL):
		t.Fatal("kill mark not seen within a TTL")
	}
	if l.Reason() != "marked" {
		t.Fatalf("reason %q", l.Reason())
	}
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage tests cause many on purpose.
	redis.SetLogger(quietLogger{})
	// Every store, client and redis-server a test starts must be gone when it ends.
	leakcheck.Main(m)
}

// The shared suite on a three-node Redis Cluster: one endpoint's keys must share a slot
// (hash tags), scripts and pipelines must route.
func TestRedisCluster(t *testing.T) {
	cl := peers.StartRedisCluster(t, 3)
	n := 0
	suite{
		newStore: func(t *testing.T) Store {
			n++
			c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: cl.Addrs, IsClusterMode: true,
				DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
			t.Cleanup(func() { c.Close() })
			return newRedisStore(t, c, fmt.Sprint("node", n))
		},
		settle: testTTL,
	}.run(t)
}

// Through a Sentinel: go-redis asks it for the master, as `master-name` configures.
func TestRedisSentinel(t *testing.T) {
	master := peers.StartRedis(t)
	sentinel := peers.StartRedisSentinel(t, master, "mymaster")
	n := 0
	suite{
		newStore: func(t *testing.T) Store {
			n++
			c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{sentinel}, MasterName: "mymaster",
				DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
			t.Cleanup(func() { c.Close() })
			return newRedisStore(t, c, fmt.Sprint("s", n))
		},
		settle: testTTL,
	}.run(t)
}

// logBuf collects a store's log lines for a test.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// holds fails the test as soon as cond is false during d; it checks continuously.
func holds(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if !cond() {
			t.Fatalf("after %v: no longer %s", time.Since(start).Round(time.Millisecond), what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A held lease keeps its instance and connection in the registry for as long as it is
// held, many TTLs, and the heartbeat logs no outage while Redis is fine (a renewal that
// finds no kill mark is not an error).
func TestRedisLeaseOutlivesTTLs(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	const ttl = time.Second
	var logs logBuf
	a := newRedisStore(t, testClient(t, srv.Addr), "a", func(o *RedisOptions) {
		o.LeaseTTL = ttl
		o.Logger = logs.logger()
	})
	b := newRedisStore(t, testClient(t, srv.Addr), "b", func(o *RedisOptions) { o.LeaseTTL = ttl })
	l, err := a.Acquire(ctx, req("e", "ann", 2, -1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	id := l.Conn().ID
	listed := func() bool {
		ins, err := b.Instances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns, err := b.Connections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inA := false
		for _, in := range ins {
			inA = inA || in.ID == "a" && in.Conns == 1
		}
		return inA && len(conns) == 1 && conns[0].ID == id && count(t, b, "e") == 1
	}
	eventually(t, ttl, "a and its connection listed on b", listed)
	holds(t, 4*ttl+ttl/2, "a and its connection listed on b", listed)
	if err := b.Terminate(ctx, id, "from b"); err != nil {
		t.Fatalf("Terminate from b after 4 TTLs: %v", err)
	}
	select {
	case <-l.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("lease on a not ended within 2s of Terminate on b")
	}
	if l.Reason() != "from b" {
		t.Fatalf("reason %q", l.Reason())
	}
	if out := logs.String(); strings.Contains(out, "unreachable") || strings.Contains(out, "level=WARN") {
		t.Fatalf("false store errors logged:\n%s", out)
	}
}

// pauseHeartbeat stops st's heartbeat as a SIGSTOP would; the returned func resumes it.
func pauseHeartbeat(st *Redis) (resume func()) {
	ch := make(chan struct{})
	st.pause.Store(&ch)
	return func() {
		st.pause.Store(nil)
		close(ch)
	}
}

func acquireN(t *testing.T, st Store, n int, ep string, limit int) []Lease {
	t.Helper()
	var out []Lease
	for i := range n {
		l, err := st.Acquire(context.Background(), req(ep, fmt.Sprint(st.InstanceID(), "-u", i), limit, -1))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func ended(l Lease) bool {
	select {
	case <-l.Done():
		return true
	default:
		return false
	}
}

// An instance paused longer than the TTL (SIGSTOP) finds its leases expired and their
// slots taken: its leases end, and never come back, not even once a slot is free again.
func TestRedisPausedInstanceSlotsTaken(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	const ttl = time.Second
	short := func(o *RedisOptions) { o.LeaseTTL = ttl }
	a := newRedisStore(t, testClient(t, srv.Addr), "a", short)
	b := newRedisStore(t, testClient(t, srv.Addr), "b", short)
	held := acquireN(t, a, 2, "e", 2)
	resume := pauseHeartbeat(a)
	// b gets the two slots once a's leases have expired.
	var taken []Lease
	eventually(t, 3*ttl, "b acquires the slots a's paused leases held", func() bool {
		l, err := b.Acquire(ctx, req("e", fmt.Sprint("b-u", len(taken)), 2, -1))
		if err == nil {
			taken = append(taken, l)
		} else if !errors.Is(err, ErrLimit) {
			t.Fatal(err)
		}
		return len(taken) == 2
	})
	resume()
	for i, l := range held {
		select {
		case <-l.Done():
		case <-time.After(2 * ttl):
			t.Fatalf("a's lease %d not ended within 2 TTLs of the resume", i)
		}
		if l.Reason() != ReasonExpired {
			t.Fatalf("a's lease %d ended with %q, want %q", i, l.Reason(), ReasonExpired)
		}
	}
	live := func(want int) func() bool {
		return func() bool {
			for _, l := range taken[len(taken)-want:] {
				if ended(l) {
					t.Fatalf("b's lease %s ended: %q", l.Conn().ID, l.Reason())
				}
			}
			return count(t, a, "e") == want && count(t, b, "e") == want
		}
	}
	holds(t, 3*ttl, "2 leases counted (b's)", live(2))
	eventually(t, ttl, "a lists none of its ended leases", func() bool {
		cs, err := a.Connections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs) == 2 && cs[0].Instance == "b" && cs[1].Instance == "b"
	})
	// A slot frees: a's ended leases must not take it back.
	if err := taken[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	holds(t, 2*ttl, "1 lease counted (b's)", live(1))
	for _, l := range held {
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	taken[1].Release(ctx)
	if n := count(t, b, "e"); n != 0 {
		t.Fatalf("after releases Count = %d", n)
	}
}

// An instance paused longer than the TTL whose slots nobody took: its leases are
// re-acquired and stay live. Another instance's live lease keeps the endpoint's set, so
// a's expired members are still in it (nothing prunes them meanwhile) when a resumes.
func TestRedisPausedInstanceSlotsFree(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	rdb := testClient(t, srv.Addr)
	const ttl = time.Second
	short := func(o *RedisOptions) { o.LeaseTTL = ttl }
	a := newRedisStore(t, rdb, "a", short)
	b := newRedisStore(t, testClient(t, srv.Addr), "b", short)
	held := acquireN(t, a, 2, "e", 3)
	other := acquireN(t, b, 1, "e", 3)[0]
	// Expiry read straight from the sorted set, which does not prune it.
	expired := func() bool {
		now, err := rdb.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range held {
			score, err := rdb.ZScore(ctx, a.epKeys("e", "", "")[0], l.Conn().ID).Result()
			if err != nil {
				t.Fatalf("a's lease not in the set: %v", err)
			}
			if int64(score) > now.UnixMilli() {
				return false
			}
		}
		return true
	}
	resume := pauseHeartbeat(a)
	eventually(t, 3*ttl, "a's paused leases expire", expired)
	resume()
	eventually(t, ttl, "a's leases renewed", func() bool { return !expired() })
	holds(t, 3*ttl, "a's 2 leases and b's live and counted", func() bool {
		return !ended(held[0]) && !ended(held[1]) && !ended(other) && count(t, b, "e") == 3
	})
	if _, err := b.Acquire(ctx, req("e", "bob", 3, -1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("fourth on a limit of 3: %v, want ErrLimit", err)
	}
	for _, l := range append(held, other) {
		l.Release(ctx)
	}
}

// Login records with Redis down: errors that say so.
func TestRedisLoginUnavailable(t *testing.T) {
	ctx := context.Background()
	srv := peers.StartRedis(t)
	a := newRedisStore(t, testClient(t, srv.Addr), "a")
	failed(t, a, time.Hour, "user:ann")
	srv.Stop()
	if _, err := a.LoginFailed(ctx, []string{"user:ann"}, time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LoginFailed: %v, want ErrUnavailable", err)
	}
	if _, err := a.LoginAttempts(ctx, []string{"user:ann"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LoginAttempts: %v, want ErrUnavailable", err)
	}
	if err := a.LoginSucceeded(ctx, "user:ann"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LoginSucceeded: %v, want ErrUnavailable", err)
	}
}
