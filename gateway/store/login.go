package store

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bounds on login-throttling calls, so that what a store keeps and reads per key stays
// small whatever a client sends as a user name.
const (
	MaxLoginKey  = 256 // bytes in one key
	MaxLoginKeys = 16  // keys in one call
	// maxLoginRecords is how many keys Memory remembers; beyond it the oldest go.
	maxLoginRecords = 100_000
)

func checkLoginKeys(keys []string) error {
	if len(keys) > MaxLoginKeys {
		return fmt.Errorf("%w: %d keys in one call, limit %d", ErrLoginKey, len(keys), MaxLoginKeys)
	}
	for _, k := range keys {
		if err := checkLoginKey(k); err != nil {
			return err
		}
	}
	return nil
}

// checkForget: Redis keeps whole milliseconds; both stores refuse less.
func checkForget(forget time.Duration) error {
	if forget < time.Millisecond {
		return fmt.Errorf("store: login records forgotten after %v: want at least 1ms", forget)
	}
	return nil
}

func checkLoginKey(k string) error {
	if k == "" || len(k) > MaxLoginKey {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrLoginKey, len(k), MaxLoginKey)
	}
	return nil
}

// loginBook is Memory's record of failed logins: a map for lookups and a list in order
// of last failure (oldest first), so that expired and surplus records are dropped from
// the front without a scan.
type loginBook struct {
	mu    sync.Mutex
	max   int // records kept at most
	byKey map[string]*list.Element
	order list.List // of *loginRecord
}

type loginRecord struct {
	key      string
	failures int
	last     time.Time
	expires  time.Time
}

func newLoginBook(max int) *loginBook {
	return &loginBook{max: max, byKey: map[string]*list.Element{}}
}

// get returns key's live record, dropping it if expired. Called with mu held.
func (b *loginBook) get(key string, now time.Time) *loginRecord {
	e := b.byKey[key]
	if e == nil {
		return nil
	}
	r := e.Value.(*loginRecord)
	if !now.Before(r.expires) {
		b.remove(e)
		return nil
	}
	return r
}

func (b *loginBook) remove(e *list.Element) {
	delete(b.byKey, e.Value.(*loginRecord).key)
	b.order.Remove(e)
}

func (b *loginBook) failed(keys []string, forget time.Duration) []Attempts {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	out := make([]Attempts, len(keys))
	for i, k := range keys {
		r := b.get(k, now)
		if r == nil {
			r = &loginRecord{key: k}
			b.byKey[k] = b.order.PushBack(r)
		} else {
			b.order.MoveToBack(b.byKey[k])
		}
		r.failures++
		r.last, r.expires = now, now.Add(forget)
		out[i] = Attempts{Failures: r.failures}
	}
	// The front is the oldest failure: with one forget duration (the gateway's) it also
	// expires first; a record expired behind it is dropped when next looked up.
	for e := b.order.Front(); e != nil && (b.order.Len() > b.max || !now.Before(e.Value.(*loginRecord).expires)); e = b.order.Front() {
		b.remove(e)
	}
	return out
}

func (b *loginBook) attempts(keys []string) []Attempts {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	out := make([]Attempts, len(keys))
	for i, k := range keys {
		if r := b.get(k, now); r != nil {
			out[i] = Attempts{Failures: r.failures, Since: now.Sub(r.last)}
		}
	}
	return out
}

func (b *loginBook) succeeded(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.byKey[key]; e != nil {
		b.remove(e)
	}
}

// LoginFailed implements Store.
func (m *Memory) LoginFailed(_ context.Context, keys []string, forget time.Duration) ([]Attempts, error) {
	if err := checkLoginKeys(keys); err != nil {
		return nil, err
	}
	if err := checkForget(forget); err != nil {
		return nil, err
	}
	return m.logins.failed(keys, forget), nil
}

// LoginAttempts implements Store.
func (m *Memory) LoginAttempts(_ context.Context, keys []string) ([]Attempts, error) {
	if err := checkLoginKeys(keys); err != nil {
		return nil, err
	}
	return m.logins.attempts(keys), nil
}

// LoginSucceeded implements Store.
func (m *Memory) LoginSucceeded(_ context.Context, key string) error {
	if err := checkLoginKey(key); err != nil {
		return err
	}
	m.logins.succeeded(key)
	return nil
}

// loginKeys are the Redis keys of login records, all under one hash tag so that a
// script over several of them runs on one Cluster slot.
func (r *Redis) loginKeys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = r.key("{login}", k)
	}
	return out
}

// LoginFailed implements Store.
func (r *Redis) LoginFailed(ctx context.Context, keys []string, forget time.Duration) ([]Attempts, error) {
	if err := checkLoginKeys(keys); err != nil {
		return nil, err
	}
	if err := checkForget(forget); err != nil {
		return nil, err
	}
	return r.loginScript(ctx, "login_failed", loginFailedScript, keys, forget.Milliseconds())
}

// LoginAttempts implements Store.
func (r *Redis) LoginAttempts(ctx context.Context, keys []string) ([]Attempts, error) {
	if err := checkLoginKeys(keys); err != nil {
		return nil, err
	}
	return r.loginScript(ctx, "login_attempts", loginAttemptsScript, keys)
}

func (r *Redis) loginScript(ctx context.Context, op string, s *redis.Script, keys []string, args ...any) ([]Attempts, error) {
	if len(keys) == 0 {
		return []Attempts{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	v, err := s.Run(ctx, r.rdb, r.loginKeys(keys), args...).Slice()
	r.observe(op, start, err)
	if err != nil {
		return nil, unavailable(err)
	}
	if len(v) != len(keys) {
		return nil, fmt.Errorf("store: %s answered %d records for %d keys", op, len(v), len(keys))
	}
	out := make([]Attempts, len(keys))
	for i, x := range v {
		pair, ok := x.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("store: %s answered %v", op, x)
		}
		n, ok1 := pair[0].(int64)
		ms, ok2 := pair[1].(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("store: %s answered %v", op, x)
		}
		out[i] = Attempts{Failures: int(n), Since: time.Duration(ms) * time.Millisecond}
	}
	return out, nil
}

// LoginSucceeded implements Store.
func (r *Redis) LoginSucceeded(ctx context.Context, key string) error {
	if err := checkLoginKey(key); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	err := r.rdb.Del(ctx, r.loginKeys([]string{key})[0]).Err()
	r.observe("login_succeeded", start, err)
	if err != nil {
		return unavailable(err)
	}
	return nil
}
