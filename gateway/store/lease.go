package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// lease is the Lease both stores hand out; release does the store's part once.
type lease struct {
	conn    Conn
	done    chan struct{}
	release func(ctx context.Context) error
	// The limits it was admitted under: a Redis lease that expired is re-acquired only
	// within them.
	epLimit, userLimit int

	termOnce sync.Once
	mu       sync.Mutex
	reason   string
	released bool
}

func newLease(c Conn, release func(context.Context) error) *lease {
	return &lease{conn: c, done: make(chan struct{}), release: release}
}

func (l *lease) Conn() Conn            { return l.conn }
func (l *lease) Done() <-chan struct{} { return l.done }

func (l *lease) Reason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason
}

// terminate closes Done once; later reasons are ignored.
func (l *lease) terminate(reason string) {
	l.termOnce.Do(func() {
		l.mu.Lock()
		l.reason = reason
		l.mu.Unlock()
		close(l.done)
	})
}

func (l *lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	return l.release(ctx)
}

// newID is a connection ID: 16 random hex digits, unguessable enough that an ID in a
// log line does not let anyone else address the connection without the admin role anyway.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
