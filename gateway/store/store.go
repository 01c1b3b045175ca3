// Package store keeps the live connections of racgate instances: leases counted against
// per-endpoint and per-user limits, termination requests, and the registry of instances.
// Memory serves a single instance; Redis is shared by many, with leases that expire
// unless their instance renews them, so a crashed instance frees its slots.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors Acquire and Terminate wrap; test with errors.Is.
var (
	// ErrLimit: a limit is full. The error is a *LimitError naming which one.
	ErrLimit = errors.New("store: connection limit reached")
	// ErrUnavailable: the store cannot be reached (Redis down) or is recovering its
	// counts after losing them; new connections are refused unless fail-open.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrNotFound: no live connection has that ID.
	ErrNotFound = errors.New("store: no such connection")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrLoginKey: a login-throttling key is empty or longer than MaxLoginKey bytes, or
	// a call names more than MaxLoginKeys keys.
	ErrLoginKey = errors.New("store: bad login key")
)

// ReasonExpired is a lease's Reason when the store ended it because it expired (its
// instance could not renew it in time, e.g. cut off from Redis or paused) and its slot
// was taken meanwhile: the connection no longer holds a slot and must end.
const ReasonExpired = "this connection's slot expired while the gateway was unreachable"

// Limit kinds a LimitError names.
const (
	LimitEndpoint = "maximum-connections"
	LimitUser     = "maximum-connections-per-user"
)

// LimitError says which limit refused a connection.
type LimitError struct {
	Which    string // LimitEndpoint or LimitUser
	Endpoint string
	User     string // for LimitUser
	Limit    int
}

func (e *LimitError) Error() string {
	if e.Which == LimitUser {
		return fmt.Sprintf("store: user %q has %d connections to %q (%s)", e.User, e.Limit, e.Endpoint, e.Which)
	}
	return fmt.Sprintf("store: endpoint %q has %d connections (%s)", e.Endpoint, e.Limit, e.Which)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// Request asks for one connection slot.
type Request struct {
	Endpoint string
	User     string
	Login    string // the racgate login (session) the connection belongs to
	Remote   string // the browser's address, for the admin view
	// Limits: below 0 unlimited, 0 none allowed. The user limit counts the user's
	// connections to this endpoint.
	EndpointLimit int
	UserLimit     int
}

// Conn is one live connection as the admin view shows it.
type Conn struct {
	ID       string    `json:"id"`
	Endpoint string    `json:"endpoint"`
	User     string    `json:"user"`
	Login    string    `json:"login,omitempty"` // for logout on other instances; the admin API leaves it out
	Remote   string    `json:"remote,omitempty"`
	Instance string    `json:"instance"`
	Started  time.Time `json:"started"`
	// Unchecked: admitted while the store was unavailable (fail-open); counted once the
	// store is back.
	Unchecked bool `json:"unchecked,omitempty"`
}

// Instance is one racgate instance in the registry.
type Instance struct {
	ID        string    `json:"id"`
	PublicURL string    `json:"public_url,omitempty"`
	Conns     int       `json:"connections"`
	Started   time.Time `json:"started"`
	Seen      time.Time `json:"seen"` // last heartbeat
}

// Store hands out leases, one per live connection.
type Store interface {
	// Acquire takes a slot for req. It returns an error wrapping ErrLimit (a
	// *LimitError) when a limit is full, ErrUnavailable when the store cannot count.
	Acquire(ctx context.Context, req Request) (Lease, error)
	// Count is the number of live leases on endpoint; CountUser those of user on it.
	Count(ctx context.Context, endpoint string) (int, error)
	CountUser(ctx context.Context, endpoint, user string) (int, error)
	// Connections lists every live connection on every instance.
	Connections(ctx context.Context) ([]Conn, error)
	// Instances lists the live instances, this one included.
	Instances(ctx context.Context) ([]Instance, error)
	// Terminate asks whichever instance holds connection id to end it; that lease's
	// Done channel closes. It returns an error wrapping ErrNotFound for an unknown id.
	Terminate(ctx context.Context, id, reason string) error
	// Revoke records that a racgate login ended (logout) so that every instance refuses
	// its cookie from now on; the record lasts until the login would have expired anyway.
	Revoke(ctx context.Context, login string, until time.Time) error
	// Revoked reports whether login was revoked on any instance.
	Revoked(ctx context.Context, login string) (bool, error)
	// LoginFailed records one failed login against each key and returns each key's
	// record after it; a key's record is forgotten `forget` after its last failure.
	LoginFailed(ctx context.Context, keys []string, forget time.Duration) ([]Attempts, error)
	// LoginAttempts returns each key's record (zero Attempts for a key with none).
	LoginAttempts(ctx context.Context, keys []string) ([]Attempts, error)
	// LoginSucceeded clears key's record.
	LoginSucceeded(ctx context.Context, key string) error
	// Data returns key's value, nil when it has none (data.go).
	Data(ctx context.Context, key string) ([]byte, error)
	// SwapData sets key's value to value (nil: none) until `until`, if its value is
	// still old (nil: none), and reports whether it did. Values are never empty.
	SwapData(ctx context.Context, key string, old, value []byte, until time.Time) (bool, error)
	// Link records that login belongs to key (an identity provider's session or user)
	// until `until`; Linked returns key's logins that have not expired, with their
	// expiry. A key keeps at most MaxLinks logins.
	Link(ctx context.Context, key, login string, until time.Time) error
	Linked(ctx context.Context, key string) (map[string]time.Time, error)
	// InstanceID names this instance in the registry.
	InstanceID() string
	// Close stops heartbeats. Leases not released stay counted until they expire
	// (Memory: they vanish with it).
	Close() error
	// Reachable reports whether the store could be reached lately (Redis: its last
	// heartbeat succeeded); the memory store always is.
	Reachable() bool
}

// Attempts is what the store remembers of failed logins for one key (the gateway uses
// keys such as "user:alice" and "addr:192.0.2.7").
type Attempts struct {
	Failures int           // failed logins since the record was cleared or forgotten
	Since    time.Duration // time since the last failure, by the store's clock (so instances with skewed clocks agree)
}

// Lease is one held slot. Release frees it; calling it again does nothing.
type Lease interface {
	Conn() Conn
	// Done is closed when someone asked (Terminate) for the connection to end, or when
	// the store lost the lease (Reason is then ReasonExpired).
	Done() <-chan struct{}
	// Reason is the termination reason once Done is closed.
	Reason() string
	Release(ctx context.Context) error
}
