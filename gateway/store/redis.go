package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis defaults.
const (
	DefaultLeaseTTL = 30 * time.Second
	DefaultPrefix   = "racgate"
	opTimeout       = 3 * time.Second // one store operation, so a hung Redis cannot hold a connect
	maxRecord       = 8 << 20         // an instance record we are willing to decode
)

// RedisOptions configure a Redis store.
type RedisOptions struct {
	Instance  string        // this instance's ID ("" = host name and PID)
	PublicURL string        // how browsers reach this instance, for the registry
	LeaseTTL  time.Duration // a lease expires this long after its last renewal; heartbeats renew every third of it
	Prefix    string        // key prefix ("" = racgate)
	// FailOpen admits connections while Redis cannot be reached; they are counted once
	// it is back. The default refuses them (fail closed).
	FailOpen bool
	Logger   *slog.Logger
	// Observe, if set, is told how long each store operation took (for metrics).
	Observe func(op string, d time.Duration, err error)
}

// Redis is a Store shared by racgate instances through Redis (standalone, Sentinel or
// Cluster through go-redis's UniversalClient).
type Redis struct {
	rdb  redis.UniversalClient
	opt  RedisOptions
	inst Instance
	log  *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dirty  chan struct{} // registry record is out of date
	// renewing is held (a one-slot semaphore) while a renewal is in flight and while a
	// release removes its lease, so that a renewal never adds back a released lease.
	renewing chan struct{}

	// pause, set by tests only, holds the heartbeat until the channel it points to is
	// closed: as if the process were stopped (SIGSTOP), nothing is renewed meanwhile.
	pause atomic.Pointer[chan struct{}]

	mu     sync.Mutex
	leases map[string]*lease
	down   bool // last heartbeat failed
	closed bool
}

var _ Store = (*Redis)(nil)

// NewRedis starts a store on rdb: it marks the Redis epoch, registers the instance and
// starts the heartbeat and the termination subscriber. Close stops them; closing rdb
// is the caller's.
func NewRedis(rdb redis.UniversalClient, opt RedisOptions) (*Redis, error) {
	if opt.Instance == "" {
		h, _ := os.Hostname()
		opt.Instance = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = DefaultLeaseTTL
	}
	if opt.LeaseTTL < 300*time.Millisecond {
		return nil, fmt.Errorf("store: lease TTL %v too short", opt.LeaseTTL)
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Redis{rdb: rdb, opt: opt, log: opt.Logger.With("store", "redis", "instance", opt.Instance),
		inst:   Instance{ID: opt.Instance, PublicURL: opt.PublicURL, Started: time.Now()},
		leases: map[string]*lease{}, dirty: make(chan struct{}, 1), renewing: make(chan struct{}, 1)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	// A Redis that is down at start is not fatal: the heartbeat keeps trying, and
	// connections are refused (or admitted, fail-open) meanwhile.
	if err := r.beat(); err != nil {
		r.log.Warn("connection store unavailable at start", "err", err)
	}
	ps := rdb.Subscribe(r.ctx, r.key("terminate"))
	r.wg.Go(func() { r.heartbeat() })
	r.wg.Go(func() { r.subscriber(ps) })
	return r, nil
}

func (r *Redis) key(parts ...string) string {
	return r.opt.Prefix + ":" + strings.Join(parts, ":")
}

// epKeys are the lease keys of one connection, all under the endpoint's hash tag.
func (r *Redis) epKeys(endpoint, user, id string) []string {
	tag := "{" + endpoint + "}"
	return []string{r.key(tag, "conns"), r.key(tag, "user", user), r.key(tag, "kill", id)}
}

func (r *Redis) heartbeatEvery() time.Duration { return r.opt.LeaseTTL / 3 }

// grace is how long after Redis lost its keys new connections wait, so that every
// instance has renewed (re-added) its live leases first: nothing is double-counted.
func (r *Redis) grace() time.Duration { return r.heartbeatEvery() + r.heartbeatEvery()/2 }

func (r *Redis) observe(op string, start time.Time, err error) {
	if r.opt.Observe != nil {
		r.opt.Observe(op, time.Since(start), err)
	}
}

// unavailable wraps a Redis error (anything but a script's answer) as ErrUnavailable.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Acquire implements Store.
func (r *Redis) Acquire(ctx context.Context, req Request) (Lease, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	c := Conn{ID: newID(), Endpoint: req.Endpoint, User: req.User, Login: req.Login,
		Remote: req.Remote, Instance: r.inst.ID, Started: time.Now()}
	start := time.Now()
	res, err := r.tryAcquire(ctx, c, req)
	r.observe("acquire", start, err)
	switch {
	case err != nil && errors.Is(err, ErrUnavailable) && r.opt.FailOpen && ctx.Err() == nil:
		// Admitted unchecked; the heartbeat adds it to the counts once Redis is back.
		r.log.Warn("connection admitted without counting (fail-open)", "endpoint", c.Endpoint, "err", err)
		c.Unchecked = true
	case err != nil:
		return nil, err
	case res == 1:
		return nil, &LimitError{Which: LimitEndpoint, Endpoint: req.Endpoint, Limit: req.EndpointLimit}
	case res == 2:
		return nil, &LimitError{Which: LimitUser, Endpoint: req.Endpoint, User: req.User, Limit: req.UserLimit}
	}
	l := newLease(c, nil)
	l.epLimit, l.userLimit = req.EndpointLimit, req.UserLimit
	l.release = func(ctx context.Context) error { return r.release(ctx, l) }
	r.mu.Lock()
	r.leases[c.ID] = l
	r.mu.Unlock()
	r.markDirty()
	return l, nil
}

func (r *Redis) tryAcquire(ctx context.Context, c Conn, req Request) (int64, error) {
	// After Redis lost its keys (or on a new Redis), wait until every instance has put
	// its leases back: a connect takes a little longer instead of being refused.
	wait := time.Now().Add(2 * r.grace())
	for {
		age, err := r.epochAge(ctx)
		if err != nil {
			return 0, unavailable(err)
		}
		if age >= r.grace() {
			break
		}
		if time.Now().After(wait) {
			return 0, fmt.Errorf("%w: recounting connections after a store restart", ErrUnavailable)
		}
		step := 50 * time.Millisecond
		if age >= 0 {
			step = max(step, r.grace()-age)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(step):
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ttl := r.opt.LeaseTTL.Milliseconds()
	res, err := acquireScript.Run(ctx, r.rdb, r.epKeys(c.Endpoint, c.User, c.ID)[:2],
		c.ID, ttl, req.EndpointLimit, req.UserLimit).Int64()
	if err != nil {
		return 0, unavailable(err)
	}
	return res, nil
}

// epochAge is how long ago this Redis started holding counts; below 0 when it has lost
// them and no heartbeat has marked it yet.
func (r *Redis) epochAge(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ms, err := epochAgeScript.Run(ctx, r.rdb, []string{r.key("epoch")}).Int64()
	if err != nil {
		return 0, err
	}
	if ms < 0 {
		return -1, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func (r *Redis) release(ctx context.Context, l *lease) error {
	r.mu.Lock()
	delete(r.leases, l.conn.ID)
	r.mu.Unlock()
	r.markDirty()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	select {
	case r.renewing <- struct{}{}:
		defer func() { <-r.renewing }()
	case <-ctx.Done():
		return fmt.Errorf("store: release %s (expires within %v): %w", l.conn.ID, r.opt.LeaseTTL, ctx.Err())
	}
	start := time.Now()
	err := releaseScript.Run(ctx, r.rdb, r.epKeys(l.conn.Endpoint, l.conn.User, l.conn.ID), l.conn.ID).Err()
	r.observe("release", start, err)
	if err != nil {
		// Not renewed any more, the lease expires within the TTL.
		return fmt.Errorf("store: release %s (expires within %v): %w", l.conn.ID, r.opt.LeaseTTL, unavailable(err))
	}
	return nil
}

// Count implements Store.
func (r *Redis) Count(ctx context.Context, endpoint string) (int, error) {
	return r.count(ctx, r.key("{"+endpoint+"}", "conns"))
}

// CountUser implements Store.
func (r *Redis) CountUser(ctx context.Context, endpoint, user string) (int, error) {
	return r.count(ctx, r.epKeys(endpoint, user, "")[1])
}

func (r *Redis) count(ctx context.Context, key string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	n, err := countScript.Run(ctx, r.rdb, []string{key}).Int()
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// record is an instance's registry entry.
type record struct {
	Instance
	List []Conn `json:"conns"`
}

// Connections implements Store: every live instance's record.
func (r *Redis) Connections(ctx context.Context) ([]Conn, error) {
	recs, err := r.records(ctx)
	if err != nil {
		return nil, err
	}
	var out []Conn
	for _, rec := range recs {
		out = append(out, rec.List...)
	}
	sortConns(out)
	return out, nil
}

// Instances implements Store.
func (r *Redis) Instances(ctx context.Context) ([]Instance, error) {
	recs, err := r.records(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Instance, len(recs))
	for i, rec := range recs {
		out[i] = rec.Instance
	}
	return out, nil
}

func (r *Redis) records(ctx context.Context) ([]record, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	raw, err := instancesScript.Run(ctx, r.rdb, []string{r.key("{instances}")}, r.key("{instances}")+":").StringSlice()
	r.observe("list", start, err)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]record, 0, len(raw))
	for _, s := range raw {
		rec, err := decodeRecord(s)
		if err != nil {
			r.log.Warn("bad instance record in the store; skipped", "bytes", len(s), "err", err)
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// decodeRecord reads an instance's registry entry, as another instance wrote it.
func decodeRecord(s string) (record, error) {
	var rec record
	if len(s) > maxRecord {
		return rec, fmt.Errorf("record of %d bytes, limit %d", len(s), maxRecord)
	}
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return rec, err
	}
	if rec.ID == "" {
		return rec, errors.New("record without an instance ID")
	}
	return rec, nil
}

// Terminate implements Store: a kill mark beside the lease (read by the holder's next
// heartbeat, in case it misses the message) and a message to every instance.
func (r *Redis) Terminate(ctx context.Context, id, reason string) error {
	var c *Conn
	r.mu.Lock()
	if l := r.leases[id]; l != nil {
		cc := l.conn
		c = &cc
	}
	r.mu.Unlock()
	if c == nil {
		conns, err := r.Connections(ctx)
		if err != nil {
			return err
		}
		for i := range conns {
			if conns[i].ID == id {
				c = &conns[i]
				break
			}
		}
	}
	if c == nil {
		return fmt.Errorf("terminate %q: %w", id, ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.epKeys(c.Endpoint, c.User, c.ID)[2], reason, 2*r.opt.LeaseTTL)
		p.Publish(ctx, r.key("terminate"), formatTermination(id, reason))
		return nil
	})
	r.observe("terminate", start, err)
	if err != nil {
		return unavailable(err)
	}
	r.terminateLocal(id, reason)
	return nil
}

func (r *Redis) terminateLocal(id, reason string) {
	r.mu.Lock()
	l := r.leases[id]
	r.mu.Unlock()
	if l != nil {
		l.terminate(reason)
	}
}

func (r *Redis) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

// heartbeat renews leases every third of the TTL, and rewrites the registry record
// whenever the connections change.
func (r *Redis) heartbeat() {
	t := time.NewTicker(r.heartbeatEvery())
	defer t.Stop()
	for {
		tick := false
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			tick = true
		case <-r.dirty:
		}
		if p := r.pause.Load(); p != nil {
			select {
			case <-*p:
			case <-r.ctx.Done():
				return
			}
		}
		if tick {
			r.beat()
		} else {
			r.register()
		}
	}
}

// beat renews this instance's leases, its registry record and the epoch mark.
func (r *Redis) beat() error {
	ctx, cancel := context.WithTimeout(r.ctx, r.heartbeatEvery())
	defer cancel()
	start := time.Now()
	err := r.renew(ctx)
	if err == nil {
		err = r.register()
	}
	r.observe("heartbeat", start, err)
	r.mu.Lock()
	was := r.down
	r.down = err != nil
	r.mu.Unlock()
	switch {
	case err != nil && !was:
		r.log.Warn("connection store unreachable; new connections are refused until it is back", "err", err, "fail_open", r.opt.FailOpen)
	case err == nil && was:
		r.log.Info("connection store reachable again")
	}
	return err
}

func (r *Redis) renew(ctx context.Context) error {
	if err := epochScript.Run(ctx, r.rdb, []string{r.key("epoch")}).Err(); err != nil {
		return err
	}
	select {
	case r.renewing <- struct{}{}:
		defer func() { <-r.renewing }()
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	ls := make([]*lease, 0, len(r.leases))
	for _, l := range r.leases {
		ls = append(ls, l)
	}
	r.mu.Unlock()
	if len(ls) == 0 {
		return nil
	}
	return r.renewLeases(ctx, ls, true)
}

func (r *Redis) renewLeases(ctx context.Context, ls []*lease, retry bool) error {
	ttl := r.opt.LeaseTTL.Milliseconds()
	cmds := make([]*redis.Cmd, len(ls))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range ls {
			// Admitted fail-open, without counting: added back regardless of the limits
			// once Redis is back, as before (see renewScript).
			unchecked := 0
			if l.conn.Unchecked {
				unchecked = 1
			}
			cmds[i] = renewScript.EvalSha(ctx, p, r.epKeys(l.conn.Endpoint, l.conn.User, l.conn.ID),
				l.conn.ID, ttl, l.epLimit, l.userLimit, unchecked)
		}
		return nil
	})
	if retry && isNoScript(err) {
		// A restarted Redis has no scripts cached: load and go again.
		if err := renewScript.Load(ctx, r.rdb).Err(); err != nil {
			return err
		}
		return r.renewLeases(ctx, ls, false)
	}
	// The script always answers an array, so every command's error is a real one (the
	// first is what Pipelined returned); the others' answers still count.
	for i, cmd := range cmds {
		status, reason, killed, cerr := renewAnswer(cmd)
		if cerr != nil {
			if err == nil {
				err = cerr
			}
			continue
		}
		l := ls[i]
		if killed {
			r.log.Info("termination requested (mark)", "id", l.conn.ID)
			l.terminate(reason)
		}
		switch status {
		case renewReacquired:
			r.log.Info("lease had expired; re-acquired within the limits", "id", l.conn.ID, "endpoint", l.conn.Endpoint)
		case renewNoRoom:
			r.lost(l)
		}
	}
	return err
}

// renewAnswer reads the renew script's {status, killed, reason}.
func renewAnswer(cmd *redis.Cmd) (status int64, reason string, killed bool, err error) {
	v, err := cmd.Slice()
	if err != nil {
		return 0, "", false, err
	}
	if len(v) != 3 {
		return 0, "", false, fmt.Errorf("renew answered %d values, want 3", len(v))
	}
	status, ok1 := v[0].(int64)
	k, ok2 := v[1].(int64)
	reason, ok3 := v[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return 0, "", false, fmt.Errorf("renew answered %v", v)
	}
	return status, reason, k == 1, nil
}

// lost ends a lease whose slot is gone: it expired before this instance renewed it and
// the endpoint (or user) has been full since. It is no longer renewed nor listed, so it
// cannot take a slot back later; Release still works and does nothing more.
func (r *Redis) lost(l *lease) {
	r.mu.Lock()
	delete(r.leases, l.conn.ID)
	r.mu.Unlock()
	r.markDirty()
	r.log.Warn("lease expired and its slot was taken meanwhile; ending the connection",
		"id", l.conn.ID, "endpoint", l.conn.Endpoint, "user", l.conn.User)
	l.terminate(ReasonExpired)
}

func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

func (r *Redis) register() error {
	r.mu.Lock()
	rec := record{Instance: r.inst, List: make([]Conn, 0, len(r.leases))}
	for _, l := range r.leases {
		rec.List = append(rec.List, l.conn)
	}
	r.mu.Unlock()
	sortConns(rec.List)
	rec.Conns = len(rec.List)
	rec.Seen = time.Now()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, opTimeout)
	defer cancel()
	return registerScript.Run(ctx, r.rdb, []string{r.key("{instances}"), r.key("{instances}", r.inst.ID)},
		r.inst.ID, string(b), r.opt.LeaseTTL.Milliseconds()).Err()
}

// subscriber ends local connections named in termination messages. go-redis
// resubscribes after a lost connection; a message missed meanwhile is caught by the
// kill mark at the next heartbeat.
func (r *Redis) subscriber(ps *redis.PubSub) {
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-r.ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			id, reason := parseTermination(m.Payload)
			r.terminateLocal(id, reason)
		}
	}
}

// Revoke implements Store: a key per revoked login that expires with the login.
func (r *Redis) Revoke(ctx context.Context, login string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	err := r.rdb.Set(ctx, r.key("revoked", login), "1", ttl).Err()
	r.observe("revoke", start, err)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Revoked implements Store.
func (r *Redis) Revoked(ctx context.Context, login string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	start := time.Now()
	n, err := r.rdb.Exists(ctx, r.key("revoked", login)).Result()
	r.observe("revoked", start, err)
	if err != nil {
		return false, unavailable(err)
	}
	return n > 0, nil
}

// InstanceID implements Store.
func (r *Redis) InstanceID() string { return r.inst.ID }

// Reachable reports whether the last heartbeat reached Redis.
func (r *Redis) Reachable() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down
}

// A termination message is "ID\nreason".
func formatTermination(id, reason string) string { return id + "\n" + reason }

func parseTermination(payload string) (id, reason string) {
	id, reason, _ = strings.Cut(payload, "\n")
	return id, reason
}

// Close implements Store. The instance leaves the registry; its unreleased leases stay
// until they expire.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return r.rdb.ZRem(ctx, r.key("{instances}"), r.inst.ID).Err()
}
