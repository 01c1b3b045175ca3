// Package store counts live connections per endpoint so that maximum-connections holds.
// The in-memory store serves one racgate instance; a Redis store (shared by many
// instances, leases with a TTL and heartbeat) will implement the same interface.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrLimit is returned by Acquire when the endpoint already has limit live connections.
var ErrLimit = errors.New("store: connection limit reached")

// Store hands out leases, one per live connection.
type Store interface {
	// Acquire takes a connection slot on endpoint. A limit below 0 means unlimited; 0
	// means no connection is allowed. It returns an error wrapping ErrLimit when full.
	Acquire(ctx context.Context, endpoint string, limit int) (Lease, error)
	// Count is the number of live leases on endpoint.
	Count(ctx context.Context, endpoint string) (int, error)
}

// Lease is one held slot. Release frees it; calling it again does nothing.
type Lease interface {
	Release(ctx context.Context) error
}

// Memory is a Store for a single instance.
type Memory struct {
	mu    sync.Mutex
	count map[string]int
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{count: make(map[string]int)} }

// Acquire implements Store.
func (m *Memory) Acquire(ctx context.Context, endpoint string, limit int) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.count[endpoint]
	if limit >= 0 && n >= limit {
		return nil, fmt.Errorf("endpoint %q has %d of %d connections: %w", endpoint, n, limit, ErrLimit)
	}
	m.count[endpoint] = n + 1
	return &memLease{m: m, endpoint: endpoint}, nil
}

// Count implements Store.
func (m *Memory) Count(_ context.Context, endpoint string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count[endpoint], nil
}

type memLease struct {
	m        *Memory
	endpoint string
	once     sync.Once
}

func (l *memLease) Release(context.Context) error {
	l.once.Do(func() {
		l.m.mu.Lock()
		defer l.m.mu.Unlock()
		if n := l.m.count[l.endpoint] - 1; n > 0 {
			l.m.count[l.endpoint] = n
		} else {
			delete(l.m.count, l.endpoint)
		}
	})
	return nil
}
