package term

import (
	"bytes"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zlib"

	"github.com/racgate/racgate/render/wire"
)

// Terminal output pacing (docs/protocol.md § TERMINAL).
const (
	// DefaultFrameInterval is the least time between two TERMINAL messages while
	// output is continuous (the first after a quiet spell goes at once), the
	// terminal-frame-interval setting's default.
	DefaultFrameInterval = 40 * time.Millisecond
	// MaxInFlight TERMINAL messages at most wait for the browser's ACK of the FRAME after
	// them: a browser that receives fast but draws slowly is not sent more than
	// MaxInFlight*wire.MaxTerminalData bytes ahead of what its terminal has processed.
	MaxInFlight = 4
	// quiet without output ends a flood: the replay owed is sent then.
	quiet = 250 * time.Millisecond
	// snapshotInterval is the least time between two messages during a long flood
	// (snapshots, buffer.go): nobody reads lines scrolling by at 30000 a second, and every
	// message costs a websocket write and an ACK read.
	snapshotInterval = 100 * time.Millisecond
	// rawMax: output shorter than this goes as TERMINAL, not through the deflate
	// stream (a typed character's echo gains nothing from it).
	rawMax = 32
	// zLevel: klauspost/compress's level 4 deflates both a flood's snapshots (a
	// screenful) and full 64 KiB messages at 3-4x for the least CPU of its levels.
	zLevel = 4
	// dropRate bounds how fast output that is dropped is read from the remote, so
	// that `yes` costs a few percent of a CPU, not a whole one: bytes per second, with a
	// burst of dropBurst.
	dropRate  = 8 << 20
	dropBurst = 4 << 20
	// readChunk is how much of the remote's output Fill reads at once.
	readChunk = 32 << 10
)

// Options are a Stream's settings.
type Options struct {
	// Rows is the browser terminal's size in rows; 0 while unknown (nothing is elided
	// until Resize tells).
	Rows int
	// Scrollback is the lines the browser's terminal keeps above its screen
	// (TERMINAL_SCROLLBACK).
	Scrollback int
	// FrameInterval is the least time between two messages while output is continuous
	// (DefaultFrameInterval; 0: none).
	FrameInterval time.Duration
}

// Stream is one terminal's output on its way to one browser: Fill reads the remote's
// output into its buffer (at most MaxHeld bytes), Run sends it, paced by the browser's
// ACKs (Ack), and Resize follows the browser terminal's size. Fill, Run, Ack and
// Resize may be called from different goroutines; Fill and Run once each.
type Stream struct {
	acked atomic.Uint32 // the highest FRAME id the browser acknowledged
	ack   chan struct{} // a token when acked moved

	mu       sync.Mutex // guards out and readErr
	out      *buffer
	readErr  error         // why the output ended, set with out.eof
	data     chan struct{} // a token when output arrived or ended
	space    chan struct{} // a token when out made room
	interval time.Duration
}

// NewStream returns a stream with nothing in it yet.
func NewStream(o Options) *Stream {
	return &Stream{
		ack:  make(chan struct{}, 1),
		out:  newBuffer(o.Rows, o.Scrollback),
		data: make(chan struct{}, 1), space: make(chan struct{}, 1), interval: o.FrameInterval,
	}
}

// Ack records the browser's ACK (§ FRAME) of a frame after terminal output.
func (s *Stream) Ack(id uint32) {
	for {
		old := s.acked.Load()
		if id <= old || s.acked.CompareAndSwap(old, id) {
			break
		}
	}
	notify(s.ack)
}

// Resize records the browser terminal's new size in rows.
func (s *Stream) Resize(rows int) {
	s.mu.Lock()
	s.out.resize(rows)
	s.mu.Unlock()
}

// Err is why the remote's output ended: the error Fill's read returned (io.EOF when the
// output simply ended); nil while it goes on. Once Run has returned nil, it is set.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}

// Held is how many bytes of output the stream holds (sent ones it may replay included).
func (s *Stream) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out.buf)
}

// notify leaves a token in c if there is none.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Fill reads the remote's output from r into the stream until r fails (io.EOF: the
// output ended; Run then sends the rest and Err says why) or ctx ends. It waits while
// the stream is full, so that the remote waits too (the SSH window shuts).
func (s *Stream) Fill(ctx context.Context, r io.Reader) {
	buf := make([]byte, readChunk)
	lim := dropLimiter{rate: dropRate, burst: dropBurst}
	for {
		s.mu.Lock()
		for s.out.full() {
			s.mu.Unlock()
			select {
			case <-s.space:
			case <-ctx.Done():
				return
			}
			s.mu.Lock()
		}
		s.mu.Unlock()
		n, err := r.Read(buf)
		s.mu.Lock()
		// The pump needs waking only when it may be idle (nothing to send before) or a
		// message's worth waits; else it is waiting for its interval anyway.
		wake := s.out.sendable(wire.MaxTerminalData) == 0
		if n > 0 {
			s.out.write(buf[:n], time.Now())
		}
		wake = wake || s.out.unsent() >= wire.MaxTerminalData
		dropped := s.out.drop
		if err != nil {
			s.readErr = err
			s.out.eof = true
			wake = true
		}
		s.mu.Unlock()
		if wake {
			notify(s.data)
		}
		if err != nil || lim.wait(ctx, dropped) != nil {
			return
		}
	}
}

// dropLimiter is a token bucket over the count of dropped bytes.
type dropLimiter struct {
	rate, burst float64
	tokens      float64
	seen        int64
	last        time.Time
}

// wait takes the bytes dropped since the last call (total is the running count) and
// sleeps while the bucket is in debt.
func (l *dropLimiter) wait(ctx context.Context, total int64) error {
	now := time.Now()
	if l.last.IsZero() {
		l.tokens = l.burst
	} else {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= float64(total - l.seen)
	l.seen = total
	if l.tokens >= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(-l.tokens / l.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run sends the stream's output as TERMINAL or TERMINAL_DEFLATE messages, each followed
// by a FRAME that the browser acknowledges once its terminal has processed the output;
// it waits while MaxInFlight frames are unacknowledged. While output is continuous it
// sends at most every Options.FrameInterval (the first message after a quiet spell goes
// at once), merging what came meanwhile. send gets one websocket message at a time; it
// must not keep msg. Run returns nil once the output ended and all of it was sent,
// context.Cause(ctx) once ctx ended, or else the error of send.
func (s *Stream) Run(ctx context.Context, send func(msg []byte) error) error {
	var (
		frame uint32
		last  time.Time // when the last message went
		raw   = make([]byte, 0, wire.MaxTerminalData)
		msg   []byte
		z     deflater
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	for {
		for a := s.acked.Load(); a < frame && frame-a >= MaxInFlight; a = s.acked.Load() {
			select {
			case <-s.ack:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		s.mu.Lock()
		o := s.out
		now := time.Now()
		interval := s.interval
		if o.owed {
			interval = max(interval, snapshotInterval)
		}
		wait := time.Duration(-1) // until output arrives
		listen := true            // for output arriving
		ready := false
		switch n := o.sendable(wire.MaxTerminalData); {
		case n > 0:
			// Much waiting (and no replay owed, whose snapshots are small): no need to wait
			// for the interval, messages cannot get any fuller.
			if since := now.Sub(last); o.eof || !o.owed && n >= wire.MaxTerminalData || since >= interval {
				ready = true
			} else {
				wait = interval - since
			}
		case o.owed && (o.eof || now.Sub(o.wrote) >= quiet):
			o.settle()
			s.mu.Unlock()
			continue
		case o.eof:
			s.mu.Unlock()
			return nil
		default: // nothing to send
			if o.owed {
				wait = quiet - now.Sub(o.wrote)
			}
			if next := interval - now.Sub(last); next > 0 {
				// Output arriving before then waits for the interval anyway: a flood wakes
				// this loop once per message, not once per read.
				listen = false
				if wait < 0 || next < wait {
					wait = next
				}
			}
		}
		if ready {
			raw = o.take(raw[:0], wire.MaxTerminalData)
		}
		s.mu.Unlock()
		if ready {
			notify(s.space)
			if len(raw) == 0 {
				continue
			}
			if len(raw) < rawMax {
				msg = wire.Terminal{Data: raw}.Append(msg[:0])
			} else {
				msg = z.append(msg[:0], raw)
			}
			frame++
			msg = wire.Frame{ID: frame}.Append(msg)
			if err := send(msg); err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				return err
			}
			last = now
			continue
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		var data <-chan struct{}
		if listen {
			data = s.data
		}
		select {
		case <-data:
		case <-tick:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		timer.Stop() // no stale tick after Stop (Go 1.23 timers)
	}
}

// deflater is the connection's terminal deflate stream (§ TERMINAL_DEFLATE), made on
// first use: a session that only echoes typing never pays for a compressor.
type deflater struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

// append appends a TERMINAL_DEFLATE of raw (1 to wire.MaxTerminalData bytes) to msg.
func (z *deflater) append(msg, raw []byte) []byte {
	if z.zw == nil {
		z.zw, _ = zlib.NewWriterLevel(&z.buf, zLevel) // the level is valid
	}
	z.buf.Reset()
	z.zw.Write(raw) // a bytes.Buffer takes it all
	z.zw.Flush()
	return append(wire.AppendTerminalDeflateHeader(msg, len(raw), z.buf.Len()), z.buf.Bytes()...)
}
