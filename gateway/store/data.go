package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Small records that signing in keeps where every instance sees them: an OIDC login's
// tokens (sealed by package signin before they come here), which logins belong to a
// provider's session or user (for back-channel logout), and logout tokens already used.

// Bounds on data records, so that what a store keeps per key stays small.
const (
	MaxDataKey   = 512      // bytes in a key
	MaxDataValue = 16 << 10 // bytes in a value
	MaxLinks     = 256      // logins kept under one link key; the soonest to expire go first
)

// ErrData: a data key, value or login out of bounds.
var ErrData = errors.New("store: data record out of bounds")

func checkData(key string, vals ...[]byte) error {
	if key == "" || len(key) > MaxDataKey {
		return fmt.Errorf("%w: key of %d bytes, want 1 to %d", ErrData, len(key), MaxDataKey)
	}
	for _, v := range vals {
		if len(v) > MaxDataValue {
			return fmt.Errorf("%w: value of %d bytes, limit %d", ErrData, len(v), MaxDataValue)
		}
	}
	return nil
}

// data is Memory's records.
type data struct {
	mu    sync.Mutex
	vals  map[string]dataValue
	links map[string]map[string]time.Time // key -> login -> until
}

type dataValue struct {
	v     []byte
	until time.Time
}

// sweep drops expired records; called with mu held, on writes, so that what a store
// holds stays bounded by what is live.
func (d *data) sweep(now time.Time) {
	for k, v := range d.vals {
		if !now.Before(v.until) {
			delete(d.vals, k)
		}
	}
	for k, ls := range d.links {
		for l, until := range ls {
			if !now.Before(until) {
				delete(ls, l)
			}
		}
		if len(ls) == 0 {
			delete(d.links, k)
		}
	}
}

// Data implements Store.
func (m *Memory) Data(_ context.Context, key string) ([]byte, error) {
	if err := checkData(key); err != nil {
		return nil, err
	}
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	v, ok := m.data.vals[key]
	if !ok || !time.Now().Before(v.until) {
		return nil, nil
	}
	return bytes.Clone(v.v), nil
}

// SwapData implements Store.
func (m *Memory) SwapData(_ context.Context, key string, old, value []byte, until time.Time) (bool, error) {
	if err := checkData(key, value); err != nil {
		return false, err
	}
	now := time.Now()
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	m.data.sweep(now)
	cur, ok := m.data.vals[key]
	if ok != (old != nil) || (ok && !bytes.Equal(cur.v, old)) {
		return false, nil
	}
	if value == nil || !now.Before(until) {
		delete(m.data.vals, key)
	} else {
		m.data.vals[key] = dataValue{bytes.Clone(value), until}
	}
	return true, nil
}

// Link implements Store.
func (m *Memory) Link(_ context.Context, key, login string, until time.Time) error {
	if err := checkData(key, []byte(login)); err != nil {
		return err
	}
	now := time.Now()
	if !now.Before(until) {
		return nil
	}
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	m.data.sweep(now)
	ls := m.data.links[key]
	if ls == nil {
		ls = map[string]time.Time{}
		m.data.links[key] = ls
	}
	ls[login] = until
	for len(ls) > MaxLinks {
		first := ""
		for l, t := range ls {
			if first == "" || t.Before(ls[first]) {
				first = l
			}
		}
		delete(ls, first)
	}
	return nil
}

// Linked implements Store.
func (m *Memory) Linked(_ context.Context, key string) (map[string]time.Time, error) {
	if err := checkData(key); err != nil {
		return nil, err
	}
	now := time.Now()
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	out := map[string]time.Time{}
	for l, until := range m.data.links[key] {
		if now.Before(until) {
			out[l] = until
		}
	}
	return out, nil
}

// Keys in Redis: P:data:K a value (expiring with it), P:link:K a ZSET login -> expiry
// (ms), the key itself expiring with its last login.

// swapDataScript: KEYS value; ARGV old ("" = none), new ("" = delete), ttl ms.
var swapDataScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] ~= '') or (cur ~= false and cur ~= ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`)

// linkScript: KEYS link; ARGV login, until (ms), now (ms), most.
var linkScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local n = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if n > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1) end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`)

// Data implements Store.
func (r *Redis) Data(ctx context.Context, key string) ([]byte, error) {
	if err := checkData(key); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	v, err := r.rdb.Get(ctx, r.key("data", key)).Bytes()
	if errors.Is(err, redis.Nil) {
		err, v = nil, nil
	}
	r.observe("data", start, err)
	if err != nil {
		return nil, unavailable(err)
	}
	return v, nil
}

// SwapData implements Store.
func (r *Redis) SwapData(ctx context.Context, key string, old, value []byte, until time.Time) (bool, error) {
	if err := checkData(key, value); err != nil {
		return false, err
	}
	// Values are never empty here: "" stands for none in the script.
	if (old != nil && len(old) == 0) || (value != nil && len(value) == 0) {
		return false, fmt.Errorf("%w: empty value", ErrData)
	}
	ttl := time.Until(until).Milliseconds()
	if ttl <= 0 {
		value = nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	n, err := swapDataScript.Run(ctx, r.rdb, []string{r.key("data", key)}, old, value, ttl).Int()
	r.observe("swap_data", start, err)
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// Link implements Store.
func (r *Redis) Link(ctx context.Context, key, login string, until time.Time) error {
	if err := checkData(key, []byte(login)); err != nil {
		return err
	}
	now := time.Now()
	if !now.Before(until) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	err := linkScript.Run(ctx, r.rdb, []string{r.key("link", key)}, login, until.UnixMilli(), now.UnixMilli(), MaxLinks).Err()
	r.observe("link", start, err)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Linked implements Store.
func (r *Redis) Linked(ctx context.Context, key string) (map[string]time.Time, error) {
	if err := checkData(key); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	zs, err := r.rdb.ZRangeByScoreWithScores(ctx, r.key("link", key), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf"}).Result()
	r.observe("linked", start, err)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make(map[string]time.Time, len(zs))
	for _, z := range zs {
		if l, ok := z.Member.(string); ok {
			out[l] = time.UnixMilli(int64(z.Score))
		}
	}
	return out, nil
}
