// Package sharing keeps the share links of the live sessions on one racgate instance
// (docs/sharing.md): a session's owner creates them, for a view or for control, each
// with an expiry; whoever opens one must still log in and pass the endpoint's policies,
// which is the gateway's business, not this package's.
//
// A link's token names the instance that issued it, so another instance can send a
// browser to the one that holds the session.
package sharing

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Mode is what a link gives: a view, or control too. The values are SHARE's modes
// (docs/protocol.md § SHARE).
type Mode uint8

const (
	View    Mode = 0
	Control Mode = 1
)

func (m Mode) String() string {
	if m == Control {
		return "control"
	}
	return "view"
}

// MaxLinks is how many live links one session may have (SHARES carries at most 16).
const MaxLinks = 16

// Errors of Find and Create.
var (
	ErrNotFound = errors.New("sharing: no such link (revoked, or its session ended)")
	ErrExpired  = errors.New("sharing: the link expired")
	ErrTooMany  = errors.New("sharing: too many links for one session")
)

// Link is one share link of a session.
type Link struct {
	ID      uint32 // within its session, from 1; SHARE's revoke names it
	Token   string // what the link's URL holds: the instance, a dot, 128 random bits
	Conn    string // the session's connection ID
	Mode    Mode
	Expires time.Time
}

// Registry holds the links of one instance's sessions. An expired link stays until its
// session adds a link or ends, so that opening it says it expired rather than that it
// never was; each session holds at most MaxLinks links, expired or not.
type Registry struct {
	instance string
	now      func() time.Time

	mu      sync.Mutex
	byToken map[string]*Link
	byConn  map[string][]*Link
	next    map[string]uint32 // the last ID given in each session
}

// New makes the registry of instance; now is the clock (time.Now when nil).
func New(instance string, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{instance: instance, now: now, byToken: map[string]*Link{}, byConn: map[string][]*Link{}, next: map[string]uint32{}}
}

// Instance is the instance that issued token; "" for a token of no known shape.
func Instance(token string) string {
	in, _, ok := strings.Cut(token, ".")
	if !ok || in == "" || len(token) > 128 {
		return ""
	}
	return in
}

// Create adds a link to the session conn, expiring after ttl.
func (r *Registry) Create(conn string, mode Mode, ttl time.Duration) (Link, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(conn)
	if len(r.byConn[conn]) >= MaxLinks {
		return Link{}, ErrTooMany
	}
	r.next[conn]++
	l := &Link{ID: r.next[conn], Token: r.instance + "." + rand.Text(), Conn: conn, Mode: mode, Expires: r.now().Add(ttl)}
	r.byToken[l.Token] = l
	r.byConn[conn] = append(r.byConn[conn], l)
	return *l, nil
}

// Find is the link of token.
func (r *Registry) Find(token string) (Link, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.byToken[token]
	switch {
	case !ok:
		return Link{}, ErrNotFound
	case !r.now().Before(l.Expires):
		return *l, ErrExpired
	}
	return *l, nil
}

// Revoke removes link id of session conn; false when it has no such link.
func (r *Registry) Revoke(conn string, id uint32) (Link, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ls := r.byConn[conn]
	i := slices.IndexFunc(ls, func(l *Link) bool { return l.ID == id })
	if i < 0 {
		return Link{}, false
	}
	l := ls[i]
	delete(r.byToken, l.Token)
	r.byConn[conn] = slices.Delete(ls, i, i+1)
	return *l, true
}

// Links are the live links of session conn, oldest first.
func (r *Registry) Links(conn string) []Link {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make([]Link, 0, len(r.byConn[conn]))
	for _, l := range r.byConn[conn] {
		if now.Before(l.Expires) {
			out = append(out, *l)
		}
	}
	return out
}

// Drop forgets every link of session conn: it ended.
func (r *Registry) Drop(conn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.byConn[conn] {
		delete(r.byToken, l.Token)
	}
	delete(r.byConn, conn)
	delete(r.next, conn)
}

// pruneLocked removes conn's expired links.
func (r *Registry) pruneLocked(conn string) {
	now := r.now()
	ls := r.byConn[conn]
	kept := ls[:0]
	for _, l := range ls {
		if now.Before(l.Expires) {
			kept = append(kept, l)
		} else {
			delete(r.byToken, l.Token)
		}
	}
	clear(ls[len(kept):])
	if len(kept) == 0 {
		delete(r.byConn, conn)
		return
	}
	r.byConn[conn] = kept
}
