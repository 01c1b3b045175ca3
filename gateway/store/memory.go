package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store for a single instance: leases live as long as the process.
type Memory struct {
	instance Instance

	mu      sync.Mutex
	leases  map[string]*lease    // by connection ID
	byEP    map[string]int       // live leases per endpoint
	byUser  map[[2]string]int    // per endpoint and user
	revoked map[string]time.Time // logged-out logins, until their expiry
	logins  *loginBook           // failed logins, for throttling
	data    data                 // Data, SwapData, Link (data.go)
	closed  bool

	// revokeFile, once PersistRevocations set it, is rewritten by every Revoke;
	// fileMu orders the rewrites, so a later one never loses to an earlier one.
	revokeFile string
	fileMu     sync.Mutex
}

// maxRevocationsFile bounds the revocations file PersistRevocations reads.
const maxRevocationsFile = 16 << 20

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store. instance names this racgate in the admin
// view ("" = the host name).
func NewMemory(instance, publicURL string) *Memory {
	if instance == "" {
		instance, _ = os.Hostname()
	}
	return &Memory{
		instance: Instance{ID: instance, PublicURL: publicURL, Started: time.Now()},
		leases:   map[string]*lease{}, byEP: map[string]int{}, byUser: map[[2]string]int{},
		revoked: map[string]time.Time{}, logins: newLoginBook(maxLoginRecords),
		data: data{vals: map[string]dataValue{}, links: map[string]map[string]time.Time{}},
	}
}

// Acquire implements Store.
func (m *Memory) Acquire(ctx context.Context, req Request) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	uk := [2]string{req.Endpoint, req.User}
	if req.EndpointLimit >= 0 && m.byEP[req.Endpoint] >= req.EndpointLimit {
		return nil, &LimitError{Which: LimitEndpoint, Endpoint: req.Endpoint, Limit: req.EndpointLimit}
	}
	if req.UserLimit >= 0 && m.byUser[uk] >= req.UserLimit {
		return nil, &LimitError{Which: LimitUser, Endpoint: req.Endpoint, User: req.User, Limit: req.UserLimit}
	}
	c := Conn{ID: newID(), Endpoint: req.Endpoint, User: req.User, Login: req.Login,
		Remote: req.Remote, Instance: m.instance.ID, Started: time.Now()}
	l := newLease(c, func(context.Context) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.leases, c.ID)
		decr(m.byEP, c.Endpoint)
		decr(m.byUser, uk)
		return nil
	})
	m.leases[c.ID] = l
	m.byEP[req.Endpoint]++
	m.byUser[uk]++
	return l, nil
}

func decr[K comparable](m map[K]int, k K) {
	if n := m[k] - 1; n > 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}

// Count implements Store.
func (m *Memory) Count(_ context.Context, endpoint string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byEP[endpoint], nil
}

// CountUser implements Store.
func (m *Memory) CountUser(_ context.Context, endpoint, user string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byUser[[2]string{endpoint, user}], nil
}

// Connections implements Store.
func (m *Memory) Connections(context.Context) ([]Conn, error) {
	m.mu.Lock()
	out := make([]Conn, 0, len(m.leases))
	for _, l := range m.leases {
		out = append(out, l.conn)
	}
	m.mu.Unlock()
	sortConns(out)
	return out, nil
}

func sortConns(cs []Conn) {
	slices.SortFunc(cs, func(a, b Conn) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Instances implements Store.
func (m *Memory) Instances(context.Context) ([]Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.instance
	in.Conns = len(m.leases)
	in.Seen = time.Now()
	return []Instance{in}, nil
}

// Terminate implements Store.
func (m *Memory) Terminate(_ context.Context, id, reason string) error {
	m.mu.Lock()
	l := m.leases[id]
	m.mu.Unlock()
	if l == nil {
		return fmt.Errorf("terminate %q: %w", id, ErrNotFound)
	}
	l.terminate(reason)
	return nil
}

// Revoke implements Store. With PersistRevocations, it also rewrites the file; if that
// fails the revocation still holds in this process, and the error says so.
func (m *Memory) Revoke(_ context.Context, login string, until time.Time) error {
	m.fileMu.Lock()
	defer m.fileMu.Unlock()
	m.mu.Lock()
	now := time.Now()
	for k, t := range m.revoked {
		if !now.Before(t) {
			delete(m.revoked, k)
		}
	}
	if now.Before(until) {
		m.revoked[login] = until
	}
	path := m.revokeFile
	var all map[string]time.Time
	if path != "" {
		all = maps.Clone(m.revoked)
	}
	m.mu.Unlock()
	if path == "" {
		return nil
	}
	if err := writeRevocations(path, all); err != nil {
		return fmt.Errorf("store: revocation of %s kept in memory only: %w", login, err)
	}
	return nil
}

// PersistRevocations makes logouts survive a restart: it loads the revocations (login
// ID -> until) from the JSON file at path, if there is one, and from then on every
// Revoke rewrites the file (atomically: a new file renamed over it), without the
// revocations that have expired.
func (m *Memory) PersistRevocations(path string) error {
	loaded, err := readRevocations(path)
	if err != nil {
		return err
	}
	m.fileMu.Lock()
	defer m.fileMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for login, until := range loaded {
		if now.Before(until) && until.After(m.revoked[login]) {
			m.revoked[login] = until
		}
	}
	m.revokeFile = path
	return nil
}

func readRevocations(path string) (map[string]time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRevocationsFile+1))
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	if len(b) > maxRevocationsFile {
		return nil, fmt.Errorf("store: revocations file %s: larger than %d bytes", path, maxRevocationsFile)
	}
	var out map[string]time.Time
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("store: revocations file %s: %w", path, err)
	}
	return out, nil
}

// writeRevocations replaces the file at path with revoked: a reader (or a crash) sees
// the old file or the new one, never half of one.
func writeRevocations(path string, revoked map[string]time.Time) error {
	b, err := json.Marshal(revoked)
	if err != nil {
		return err
	}
	if len(b) > maxRevocationsFile {
		// It could not be read back; keep the last good file.
		return fmt.Errorf("revocations file %s would have %d bytes, limit %d", path, len(b), maxRevocationsFile)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Revoked implements Store.
func (m *Memory) Revoked(_ context.Context, login string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.revoked[login]
	return ok && time.Now().Before(until), nil
}

// InstanceID implements Store.
func (m *Memory) InstanceID() string { return m.instance.ID }

// Reachable is always true: the memory store is this process.
func (m *Memory) Reachable() bool { return true }

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}
