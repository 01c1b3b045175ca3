package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/render/audio"
	"github.com/racgate/racgate/render/wire"
)

// Sessions of one VNC endpoint with the same merged settings share one connection to the
// server and one render.Display: a VNC desktop is one screen that every client sees
// whole, so N browsers need not cost N connections, N decodes and N framebuffers. Each
// session keeps its own viewer (pacing, damage), its own input state and its own slot,
// limits and timeouts; the connection ends when its last session leaves, and every
// session ends when the server ends it. `share-connection: false` gives each session
// its own connection.

// shareSetting turns sharing off for an endpoint.
const shareSetting = "share-connection"

// shareKey names what a session may share: the endpoint and every merged setting, so that
// sessions that would connect differently (credentials, quality, read-only) never meet.
func shareKey(ep string, set config.Settings) string {
	var b []byte
	put := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	put(ep)
	for _, k := range slices.Sorted(maps.Keys(set)) {
		put(k)
		put(set[k])
	}
	return string(b)
}

// shares is the registry of shared connections, by shareKey.
type shares struct {
	mu sync.Mutex
	m  map[string]*sharedConn
	wg sync.WaitGroup // each connection's dial-and-run goroutine
	// grace is how long a connection whose last session left stays open for a session
	// to come back to (a browser reconnecting after its websocket dropped).
	grace time.Duration
}

// defaultShareGrace: a dropped websocket comes back within a few seconds (the web client
// retries after 1 s, then 2 s, 4 s).
const defaultShareGrace = 15 * time.Second

func newShares() *shares {
	return &shares{m: map[string]*sharedConn{}, grace: defaultShareGrace}
}

// sharedConn is one connection and its display, and the sessions on it.
type sharedConn struct {
	sh  *shares
	key string
	log *slog.Logger

	dialed chan struct{} // closed when the dial has ended; then err or conn is set
	err    error
	conn   sharedRemote

	cancel context.CancelFunc // ends the dial, then Run
	ran    chan struct{}      // closed when Run has returned; runErr is set
	runErr error

	// Guarded by sh.mu.
	members map[*shareMember]struct{}
	gone    bool        // out of the registry: no new members
	name    string      // the desktop name, for members that join later
	asks    uint64      // counts members' size wishes, to order them
	idle    *time.Timer // while no member is on it: ends it after the grace
}

// sharedRemote is what a protocol adapter gives a shared connection.
type sharedRemote interface {
	Run(ctx context.Context) error
	Close() error
	// member returns a new session's remote on the connection; every session has its
	// own input state (held buttons) but the same screen.
	member() remote
	display() display
}

// shareMember is one session on a shared connection.
type shareMember struct {
	sc    *sharedConn
	ev    remoteEvents
	leave sync.Once
	// The desktop size this member's browser wants, and when (sc.asks) it last said so;
	// guarded by sc.sh.mu. Zero: it has not said.
	w, h  int
	asked uint64
	// resize asks the server for a desktop size through this member's remote; set once
	// the connection is up.
	resize func(w, h int) error
}

// join returns a remote for the session on key's shared connection, dialing it with dial
// if there is none. ctx bounds the wait for this session only: a dial that another session
// also waits for goes on without it. log is the connection's, if this dials it.
func (sh *shares) join(ctx context.Context, key string, log *slog.Logger, ev remoteEvents, dial func(ctx context.Context, ev remoteEvents) (sharedRemote, error)) (remote, display, error) {
	sh.mu.Lock()
	sc := sh.m[key]
	if sc != nil && sc.idle != nil {
		sc.idle.Stop() // back within the grace; a timer already firing finds a member and leaves it
		sc.idle = nil
	}
	if sc == nil {
		life, cancel := context.WithCancel(context.Background())
		sc = &sharedConn{sh: sh, key: key, log: log, dialed: make(chan struct{}), ran: make(chan struct{}),
			cancel: cancel, members: map[*shareMember]struct{}{}}
		sh.m[key] = sc
		sh.wg.Go(func() { sc.dial(life, dial) })
	}
	m := &shareMember{sc: sc, ev: ev}
	sc.members[m] = struct{}{}
	name := sc.name
	sh.mu.Unlock()

	select {
	case <-sc.dialed:
	case <-ctx.Done():
		m.Close()
		return nil, nil, context.Cause(ctx)
	}
	if sc.err != nil {
		m.Close()
		return nil, nil, sc.err
	}
	if name != "" && ev.Name != nil {
		ev.Name(name) // a later session learns the name the server sent at connect time
	}
	ss := &sharedSession{remote: sc.conn.member(), m: m}
	m.resize = ss.remote.SetDesktopSize
	return ss, sharedDisplay{sc.conn.display()}, nil
}

// dial connects, then runs the connection until its last member leaves (life ends) or
// the server ends it.
func (sc *sharedConn) dial(life context.Context, dial func(context.Context, remoteEvents) (sharedRemote, error)) {
	defer sc.cancel()
	dctx, dcancel := context.WithTimeout(life, dialTimeout)
	conn, err := dial(dctx, remoteEvents{Clipboard: sc.clipboard, Bell: sc.bell, Name: sc.setName, Notice: sc.notice})
	dcancel()
	sc.err, sc.conn = err, conn
	close(sc.dialed)
	if err != nil {
		sc.unregister()
		close(sc.ran)
		return
	}
	// The connection runs on its own context: no one session owns it.
	start := time.Now()
	sc.log.Info("shared connection open")
	sc.runErr = conn.Run(life)
	sc.unregister()
	sc.log.Info("shared connection end", "duration", time.Since(start).Round(time.Millisecond), "err", sc.runErr)
	conn.Close()
	conn.display().Close()
	close(sc.ran)
}

// unregister takes sc out of the registry: later sessions dial anew.
func (sc *sharedConn) unregister() {
	sc.sh.mu.Lock()
	defer sc.sh.mu.Unlock()
	if !sc.gone {
		sc.gone = true
		if sc.sh.m[sc.key] == sc {
			delete(sc.sh.m, sc.key)
		}
	}
}

// each calls f for every member, outside the lock.
func (sc *sharedConn) each(f func(remoteEvents)) {
	sc.sh.mu.Lock()
	ms := slices.Collect(maps.Keys(sc.members))
	sc.sh.mu.Unlock()
	for _, m := range ms {
		f(m.ev)
	}
}

func (sc *sharedConn) clipboard(c wire.ClipboardContent) {
	sc.each(func(ev remoteEvents) {
		if ev.Clipboard != nil {
			ev.Clipboard(c)
		}
	})
}

func (sc *sharedConn) bell() {
	sc.each(func(ev remoteEvents) {
		if ev.Bell != nil {
			ev.Bell()
		}
	})
}

func (sc *sharedConn) notice(level uint8, text string) {
	sc.each(func(ev remoteEvents) {
		if ev.Notice != nil {
			ev.Notice(level, text)
		}
	})
}

func (sc *sharedConn) setName(n string) {
	sc.sh.mu.Lock()
	sc.name = n
	sc.sh.mu.Unlock()
	sc.each(func(ev remoteEvents) {
		if ev.Name != nil {
			ev.Name(n)
		}
	})
}

// up reports whether the connection is dialed and running.
func (sc *sharedConn) up() bool {
	select {
	case <-sc.dialed:
	default:
		return false
	}
	select {
	case <-sc.ran:
		return false
	default:
	}
	return sc.err == nil
}

// endIfIdle ends the connection if no session came back in its grace.
func (sc *sharedConn) endIfIdle() {
	sc.sh.mu.Lock()
	end := len(sc.members) == 0 && !sc.gone
	if end {
		sc.gone = true
		sc.idle = nil
		delete(sc.sh.m, sc.key)
	}
	sc.sh.mu.Unlock()
	if end {
		sc.cancel()
	}
}

// endIdle ends every connection waiting out its grace (shutdown).
func (sh *shares) endIdle() {
	sh.mu.Lock()
	var idle []*sharedConn
	for _, sc := range sh.m {
		if sc.idle != nil && sc.idle.Stop() {
			idle = append(idle, sc)
		}
	}
	sh.mu.Unlock()
	for _, sc := range idle {
		sc.endIfIdle()
	}
}

// want records the size m's browser wants.
func (m *shareMember) want(w, h int) {
	m.sc.sh.mu.Lock()
	m.sc.asks++
	m.w, m.h, m.asked = w, h, m.sc.asks
	m.sc.sh.mu.Unlock()
}

// Close takes the member off the connection; the last one out ends it. When others stay
// and this member's size was the last asked for, the desktop goes back to the size the
// member who asked last before it wants.
func (m *shareMember) Close() error {
	m.leave.Do(func() {
		sc := m.sc
		sc.sh.mu.Lock()
		delete(sc.members, m)
		last := len(sc.members) == 0
		// A connection that is up waits out the grace for a session to come back; one
		// still dialing or already failed ends now.
		if last && !sc.gone && sc.sh.grace > 0 && sc.up() {
			sc.idle = time.AfterFunc(sc.sh.grace, sc.endIfIdle)
			last = false
		}
		if last && !sc.gone {
			sc.gone = true
			delete(sc.sh.m, sc.key)
		}
		var back *shareMember
		if !last && m.asked > 0 && m.asked == sc.asks {
			for o := range sc.members {
				if o.asked > 0 && (back == nil || o.asked > back.asked) {
					back = o
				}
			}
		}
		var w, h int
		if back != nil {
			sc.asks++
			back.asked = sc.asks
			w, h = back.w, back.h
		}
		sc.sh.mu.Unlock()
		if last {
			sc.cancel() // ends a dial in progress, or Run
		}
		if back != nil {
			if err := back.resize(w, h); err != nil {
				sc.log.Info("shared desktop: back to the remaining viewer's size", "err", err)
			}
		}
	})
	return nil
}

// sharedSession is a session's remote on a shared connection: input goes to the
// connection, Run waits for its end, Close leaves it.
type sharedSession struct {
	remote
	m *shareMember
}

// errSharedEnded: the shared connection ended without an error of its own.
var errSharedEnded = errors.New("the shared connection ended")

// Run returns when the shared connection ends (with its error) or ctx does.
func (s *sharedSession) Run(ctx context.Context) error {
	select {
	case <-s.m.sc.ran:
		if err := s.m.sc.runErr; err != nil {
			return err
		}
		return errSharedEnded
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s *sharedSession) Close() error { return s.m.Close() }

// SetDesktopSize asks for the size and remembers it as this session's wish, for when
// another member, who asked later, leaves.
func (s *sharedSession) SetDesktopSize(w, h int) error {
	s.m.want(w, h)
	return s.remote.SetDesktopSize(w, h)
}

// WantDesktopSize remembers a size this session's browser has without asking the server
// (it has it already).
func (s *sharedSession) WantDesktopSize(w, h int) { s.m.want(w, h) }

// audioStream is the shared connection's sound: every session on it hears it.
func (s *sharedSession) audioStream() *audio.Stream {
	if as, ok := s.remote.(audioSource); ok {
		return as.audioStream()
	}
	return nil
}

// sharedDisplay is the connection's display as one session sees it: the session adds its
// viewer, but closing the display is the connection's business.
type sharedDisplay struct{ display }

func (sharedDisplay) Close() {}

// wait returns once every shared connection has ended (each ends when its last session
// leaves), or with ctx's error.
func (sh *shares) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { sh.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sharedCount is the number of live shared connections and their sessions, for metrics
// and tests.
func (sh *shares) count() (conns, sessions int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, sc := range sh.m {
		conns++
		sessions += len(sc.members)
	}
	return conns, sessions
}
