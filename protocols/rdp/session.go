package rdp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racgate/racgate/render"
)

// SessionOptions configures what a Session adds to its connections.
type SessionOptions struct {
	// Reconnect lets Resize follow a new desktop size where the server
	// offers no Display Control (xrdp with Xvnc, older Windows, Config's
	// DisplayControl false): once the size asked for has been still for
	// ReconnectDelay, the session disconnects and connects again at that
	// size. The server keeps the user's session meanwhile and reattaches it
	// (MS-RDPBCGR 1.3.1.1: a new logon of the same user reconnects to a
	// disconnected session), so only the screen's size changes.
	Reconnect bool
	// ReconnectDelay is how long the asked size must stay unchanged before
	// a reconnect; 1 s when zero. A reconnect costs a logon, so a window
	// being dragged does not cause one per step.
	ReconnectDelay time.Duration
	// Reconnecting, if set, is told the size before each reconnect, so that
	// the user can be told why the screen pauses. It is called on a timer's
	// goroutine and must not block.
	Reconnecting func(width, height int)
}

// reconnectAttempts bounds the connects of one reconnect; a server that
// refuses the credentials or the certificate is not asked again.
const reconnectAttempts = 3

// Session is an RDP session that may span several connections: Resize asks
// the server for a new desktop size over Display Control when it offers it
// and, with SessionOptions.Reconnect, reconnects at that size otherwise.
// Each connection draws into the same sink. Input sent while a reconnect is
// under way is dropped: there is no connection to take it. Its methods may
// be called from any goroutine; Run once.
type Session struct {
	addr string
	cfg  Config
	sink render.Sink
	opts SessionOptions
	log  *slog.Logger

	mu          sync.Mutex
	c           *Client // nil while reconnecting
	reconnects  bool    // Run's current connection was closed to reconnect
	closed      bool
	fixed       bool   // the server chose its own size: reconnecting cannot change it
	want        [2]int // the size last asked for
	last        [2]int // the size of the connection closed to reconnect
	timer       *time.Timer
	cancelDial  context.CancelFunc
	clip        *ClipboardContent // the local clipboard, offered again after a reconnect
	locks       *[4]bool          // the lock states last set, set again after a reconnect
	replayLocks atomic.Bool       // set locks again on the new connection's first frame
	scale       int               // the scale last asked for
	reconnectN  int               // reconnects done, for tests and logs
}

// DialSession connects like Dial and returns the connection as a Session.
func DialSession(ctx context.Context, addr string, cfg Config, sink render.Sink, opts SessionOptions) (*Session, error) {
	if opts.ReconnectDelay <= 0 {
		opts.ReconnectDelay = time.Second
	}
	c, err := Dial(ctx, addr, cfg, sink)
	if err != nil {
		return nil, err
	}
	s := &Session{addr: addr, cfg: cfg, sink: sink, opts: opts, log: c.log, c: c}
	s.want[0], s.want[1] = c.Size()
	s.fixed = !honoured(cfg, s.want)
	if s.fixed && opts.Reconnect {
		s.log.Info("rdp: the server chose its own desktop size; resizing by reconnect is off",
			"asked", fmt.Sprintf("%dx%d", c.cfg.Width, c.cfg.Height), "got", fmt.Sprintf("%dx%d", s.want[0], s.want[1]))
	}
	return s, nil
}

// honoured reports whether a server gave the desktop size cfg asked for,
// allowing the few pixels a server may round the width or height down by.
func honoured(cfg Config, got [2]int) bool {
	w, h := cfg.Width, cfg.Height
	if w == 0 || h == 0 {
		w, h = 1024, 768 // normalize's defaults
	}
	const slack = 8
	return got[0] <= w && got[0] > w-slack && got[1] <= h && got[1] > h-slack
}

// client is the current connection, nil while reconnecting.
func (s *Session) client() *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// Run runs the current connection and, each time it was closed to
// reconnect, connects again and runs the new one, until ctx ends, the
// session is closed or a connection ends by itself.
func (s *Session) Run(ctx context.Context) error {
	for {
		s.mu.Lock()
		c := s.c
		s.mu.Unlock()
		if c == nil {
			return net.ErrClosed
		}
		err := c.Run(ctx)
		if ctx.Err() != nil {
			return err
		}
		s.mu.Lock()
		again := s.reconnects && !s.closed
		s.mu.Unlock()
		if !again {
			return err
		}
		if err := s.redial(ctx); err != nil {
			return err
		}
	}
}

// redial connects at the size last asked for, a few times if the server
// fails to answer, and makes the new connection current.
func (s *Session) redial(ctx context.Context) error {
	s.mu.Lock()
	cfg := s.cfg.resized(s.want[0], s.want[1], s.scale)
	dctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	s.cancelDial = cancel
	s.mu.Unlock()
	defer cancel()
	var c *Client
	var err error
	for i := range reconnectAttempts {
		if i > 0 {
			select {
			case <-dctx.Done():
			case <-time.After(time.Duration(i) * 500 * time.Millisecond):
			}
		}
		c, err = Dial(dctx, s.addr, cfg, frameSink{s.sink, s})
		var ce *CertificateError
		if err == nil || dctx.Err() != nil || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrLicense) || errors.As(err, &ce) {
			break
		}
		s.log.Info("rdp: reconnect failed; trying again", "err", err)
	}
	if err != nil {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return net.ErrClosed
		}
		return fmt.Errorf("rdp: reconnect at %dx%d: %w", cfg.Width, cfg.Height, err)
	}
	got := [2]int{}
	got[0], got[1] = c.Size()
	s.mu.Lock()
	s.cancelDial = nil
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return net.ErrClosed
	}
	s.c, s.reconnects = c, false
	s.reconnectN++
	if !honoured(cfg, got) {
		s.fixed = true
		s.log.Info("rdp: the server kept its own desktop size after a reconnect; resizing by reconnect is off",
			"asked", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height), "got", fmt.Sprintf("%dx%d", got[0], got[1]))
	} else if s.want != cfg.size() {
		s.scheduleLocked() // asked for another size while connecting
	}
	clip := s.clip
	s.replayLocks.Store(true)
	s.mu.Unlock()
	// What the old connection had told the server, the new one tells again.
	if clip != nil && c.clip != nil {
		if err := c.SetClipboardContent(*clip); err != nil {
			s.log.Debug("rdp: clipboard not offered again after reconnect", "err", err)
		}
	}
	return nil
}

// frameSink is the sink each connection draws into: the session's, with
// the lock states set again on the first frame after a reconnect. xrdp
// drops input that arrives before it has reattached the user's session,
// and a frame from the new connection shows it has.
type frameSink struct {
	render.Sink
	s *Session
}

func (f frameSink) EndFrame() {
	f.Sink.EndFrame()
	s := f.s
	if !s.replayLocks.Swap(false) { // every later frame: no lock taken
		return
	}
	s.mu.Lock()
	c, locks := s.c, s.locks
	s.mu.Unlock()
	if c != nil && locks != nil {
		if err := c.SyncLocks(locks[0], locks[1], locks[2], locks[3]); err != nil {
			s.log.Debug("rdp: lock states not set again after reconnect", "err", err)
		}
	}
}

func (cfg Config) size() [2]int { return [2]int{cfg.Width, cfg.Height} }

// resized is cfg for a connection at width x height and scale percent (0: as
// cfg has it). Client Core Data carries the scale as the DPI's desktop scale
// factor (MS-RDPBCGR 2.2.1.3.2); a cfg without DPI is at 100 %.
func (cfg Config) resized(width, height, scale int) Config {
	cfg.Width, cfg.Height = width, height
	if cur := max(cfg.DPI, 96) * 100 / 96; scale > 0 && scale != cur {
		cfg.DPI = scale * 96 / 100
	}
	return cfg
}

// Close closes the current connection (or stops a reconnect); Run returns.
func (s *Session) Close() error {
	s.mu.Lock()
	s.closed = true
	c, cancel := s.c, s.cancelDial
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if c != nil {
		return c.Close()
	}
	return nil
}

// Size is the current desktop size (the last one while reconnecting).
func (s *Session) Size() (w, h int) {
	s.mu.Lock()
	c, last := s.c, s.last
	s.mu.Unlock()
	if c != nil {
		return c.Size()
	}
	return last[0], last[1]
}

// CanResize reports whether Resize can change the desktop size: over
// Display Control, or by reconnecting to a server that honours the size a
// client asks for.
func (s *Session) CanResize() bool {
	s.mu.Lock()
	c, byReconnect := s.c, s.opts.Reconnect && !s.fixed
	s.mu.Unlock()
	return byReconnect || (c != nil && c.CanResize())
}

// Reconnects is the number of reconnects the session has done.
func (s *Session) Reconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnectN
}

// Resize asks for a desktop of width x height pixels at scale percent, as
// Client.Resize does; without Display Control and with
// SessionOptions.Reconnect it reconnects at that size once the size asked
// for has been still for ReconnectDelay. It returns ErrDisplayControl when
// neither way is open.
func (s *Session) Resize(width, height, scale int) error {
	width = max(DisplayMinSide, min(width, DisplayMaxSide))
	height = max(DisplayMinSide, min(height, DisplayMaxSide))
	s.mu.Lock()
	c := s.c
	s.want, s.scale = [2]int{width, height}, scale
	if c != nil && c.CanResize() {
		s.stopTimerLocked()
		s.mu.Unlock()
		return c.Resize(width, height, scale)
	}
	defer s.mu.Unlock()
	if !s.opts.Reconnect || s.fixed {
		return ErrDisplayControl
	}
	if c == nil {
		return nil // reconnecting: redial takes the newest size
	}
	if w, h := c.Size(); w == width && h == height {
		s.stopTimerLocked()
		return nil
	}
	s.scheduleLocked()
	return nil
}

func (s *Session) stopTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

// scheduleLocked (re)starts the wait for the size to settle.
func (s *Session) scheduleLocked() {
	s.stopTimerLocked()
	s.timer = time.AfterFunc(s.opts.ReconnectDelay, s.settled)
}

// settled runs when the asked size has been still: it resizes over Display
// Control if that opened meanwhile, else closes the connection for Run to
// reconnect.
func (s *Session) settled() {
	s.mu.Lock()
	c := s.c
	if s.closed || c == nil || s.reconnects {
		s.mu.Unlock()
		return
	}
	want, scale := s.want, s.scale
	w, h := c.Size()
	if w == want[0] && h == want[1] {
		s.mu.Unlock()
		return
	}
	if c.CanResize() {
		s.mu.Unlock()
		if err := c.Resize(want[0], want[1], scale); err != nil {
			s.log.Info("rdp: resize", "err", err)
		}
		return
	}
	s.c, s.reconnects, s.last = nil, true, [2]int{w, h}
	s.mu.Unlock()
	s.log.Info("rdp: reconnecting at a new desktop size", "size", fmt.Sprintf("%dx%d", want[0], want[1]))
	if s.opts.Reconnecting != nil {
		s.opts.Reconnecting(want[0], want[1])
	}
	c.Close()
}

// ClipboardJoined reports whether the current connection's server joined
// the clipboard channel.
func (s *Session) ClipboardJoined() bool {
	c := s.client()
	return c != nil && c.ClipboardJoined()
}

// SetClipboardText sets the local clipboard to text alone, as
// SetClipboardContent does.
func (s *Session) SetClipboardText(text string) error {
	return s.SetClipboardContent(ClipboardContent{Text: text})
}

// SetClipboardContent sets the local clipboard, on this connection and the
// ones after a reconnect.
func (s *Session) SetClipboardContent(content ClipboardContent) error {
	s.mu.Lock()
	c := s.c
	s.clip = &content
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.SetClipboardContent(content)
}

// SyncLocks sets the server's lock key states, on this connection and the
// ones after a reconnect.
func (s *Session) SyncLocks(scroll, num, caps, kana bool) error {
	s.mu.Lock()
	c := s.c
	s.locks = &[4]bool{scroll, num, caps, kana}
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.SyncLocks(scroll, num, caps, kana)
}

// KeyScancode sends a key by scancode (dropped while reconnecting).
func (s *Session) KeyScancode(scancode uint16, down bool) error {
	if c := s.client(); c != nil {
		return c.KeyScancode(scancode, down)
	}
	return nil
}

// KeyUnicode sends a key by character (dropped while reconnecting).
func (s *Session) KeyUnicode(r rune, down bool) error {
	if c := s.client(); c != nil {
		return c.KeyUnicode(r, down)
	}
	return nil
}

// Pointer moves the pointer and sets its buttons (dropped while reconnecting).
func (s *Session) Pointer(buttons uint16, x, y int) error {
	if c := s.client(); c != nil {
		return c.Pointer(buttons, x, y)
	}
	return nil
}

// Wheel turns the wheel (dropped while reconnecting).
func (s *Session) Wheel(dx, dy int, x, y int) error {
	if c := s.client(); c != nil {
		return c.Wheel(dx, dy, x, y)
	}
	return nil
}
