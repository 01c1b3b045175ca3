package gateway

import (
	"bytes"
	"context"
	"time"

	"github.com/klauspost/compress/zlib"

	"github.com/racgate/racgate/render/wire"
)

// Terminal output pacing (docs/protocol.md § TERMINAL).
const (
	// defaultTermFrameInterval is the least time between two TERMINAL messages while
	// output is continuous (the first after a quiet spell goes at once), the
	// terminal-frame-interval setting's default.
	defaultTermFrameInterval = 40 * time.Millisecond
	maxTermFrameInterval     = 1000 // ms, for the setting
	// termQuiet without output ends a flood: the replay owed is sent then.
	termQuiet = 250 * time.Millisecond
	// termSnapshotInterval is the least time between two messages during a long flood
	// (snapshots, termout.go): nobody reads lines scrolling by at 30000 a second, and every
	// message costs a websocket write and an ACK read.
	termSnapshotInterval = 100 * time.Millisecond
	// termRawMax: output shorter than this goes as TERMINAL, not through the deflate
	// stream (a typed character's echo gains nothing from it).
	termRawMax = 32
	// termZLevel: klauspost/compress's level 4 deflates both a flood's snapshots (a
	// screenful) and full 64 KiB messages at 3-4x for the least CPU of its levels.
	termZLevel = 4
	// termDropRate bounds how fast output that is dropped is read from the remote, so
	// that `yes` costs a few percent of a CPU, not a whole one: bytes per second, with a
	// burst of termDropBurst.
	termDropRate  = 8 << 20
	termDropBurst = 4 << 20
)

// notify leaves a token in c if there is none.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// readTerminal reads the remote's output into tb.out until it ends or ctx does. It
// waits while tb.out is full, so that the SSH window shuts and the remote waits.
func (tb *termBox) readTerminal(ctx context.Context) {
	buf := make([]byte, termChunk)
	lim := dropLimiter{rate: termDropRate, burst: termDropBurst}
	for {
		tb.mu.Lock()
		for tb.out.full() {
			tb.mu.Unlock()
			select {
			case <-tb.space:
			case <-ctx.Done():
				return
			}
			tb.mu.Lock()
		}
		tb.mu.Unlock()
		n, err := tb.t.Read(buf)
		tb.mu.Lock()
		// The pump needs waking only when it may be idle (nothing to send before) or a
		// message's worth waits; else it is waiting for its interval anyway.
		wake := tb.out.sendable(wire.MaxTerminalData) == 0
		if n > 0 {
			tb.out.write(buf[:n], time.Now())
		}
		wake = wake || tb.out.unsent() >= wire.MaxTerminalData
		dropped := tb.out.drop
		if err != nil {
			tb.readErr = err
			tb.out.eof = true
			wake = true
		}
		tb.mu.Unlock()
		if wake {
			notify(tb.data)
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

// pumpTerminal sends tb.out's output as TERMINAL or TERMINAL_DEFLATE messages, each
// followed by a FRAME that the browser acknowledges once its terminal has processed the
// output; it waits while termInFlight frames are unacknowledged. While output is
// continuous it sends at most every tb.interval (the first message after a quiet spell
// goes at once), merging what came meanwhile. It returns nil once the output ended and
// all of it was sent.
func (ss *session) pumpTerminal(wctx context.Context, tb *termBox) error {
	var (
		frame uint32
		last  time.Time // when the last message went
		raw   = make([]byte, 0, wire.MaxTerminalData)
		msg   []byte
		z     termDeflate
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	for {
		for a := tb.acked.Load(); a < frame && frame-a >= termInFlight; a = tb.acked.Load() {
			select {
			case <-tb.ack:
			case <-ss.ctx.Done():
				return context.Cause(ss.ctx)
			}
		}
		tb.mu.Lock()
		o := tb.out
		now := time.Now()
		interval := tb.interval
		if o.owed {
			interval = max(interval, termSnapshotInterval)
		}
		wait := time.Duration(-1) // until output arrives
		listen := true            // for output arriving
		send := false
		switch n := o.sendable(wire.MaxTerminalData); {
		case n > 0:
			// Much waiting (and no replay owed, whose snapshots are small): no need to wait
			// for the interval, messages cannot get any fuller.
			if since := now.Sub(last); o.eof || !o.owed && n >= wire.MaxTerminalData || since >= interval {
				send = true
			} else {
				wait = interval - since
			}
		case o.owed && (o.eof || now.Sub(o.wrote) >= termQuiet):
			o.settle()
			tb.mu.Unlock()
			continue
		case o.eof:
			tb.mu.Unlock()
			return nil
		default: // nothing to send
			if o.owed {
				wait = termQuiet - now.Sub(o.wrote)
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
		if send {
			raw = o.take(raw[:0], wire.MaxTerminalData)
		}
		tb.mu.Unlock()
		if send {
			notify(tb.space)
			if len(raw) == 0 {
				continue
			}
			if len(raw) < termRawMax {
				msg = wire.Terminal{Data: raw}.Append(msg[:0])
			} else {
				msg = z.append(msg[:0], raw)
			}
			frame++
			msg = wire.Frame{ID: frame}.Append(msg)
			if err := ss.send(wctx, msg); err != nil {
				if ss.ctx.Err() != nil {
					return context.Cause(ss.ctx)
				}
				return &sessionEnd{Code: closeRemoteEnded, Reason: "The browser connection failed.", Err: err}
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
			data = tb.data
		}
		select {
		case <-data:
		case <-tick:
		case <-ss.ctx.Done():
			return context.Cause(ss.ctx)
		}
		timer.Stop() // no stale tick after Stop (Go 1.23 timers)
	}
}

// termDeflate is the connection's terminal deflate stream (§ TERMINAL_DEFLATE), made on
// first use: a session that only echoes typing never pays for a compressor.
type termDeflate struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

// append appends a TERMINAL_DEFLATE of raw (1 to wire.MaxTerminalData bytes) to msg.
func (z *termDeflate) append(msg, raw []byte) []byte {
	if z.zw == nil {
		z.zw, _ = zlib.NewWriterLevel(&z.buf, termZLevel) // the level is valid
	}
	z.buf.Reset()
	z.zw.Write(raw) // a bytes.Buffer takes it all
	z.zw.Flush()
	return append(wire.AppendTerminalDeflateHeader(msg, len(raw), z.buf.Len()), z.buf.Bytes()...)
}
