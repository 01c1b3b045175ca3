package term

import (
	"slices"
	"time"
)

// buffer holds a terminal session's output between the remote and the browser: what is
// not sent yet, and, while output floods, the last lines the browser's terminal can keep.
// It decides what goes into each TERMINAL message. Its methods need the caller to hold
// the Stream's lock (pump.go); they do no I/O.
//
// Most output is forwarded byte for byte. Two things drop output, both only where the
// browser's terminal ends up exactly as if every byte had been forwarded (screen,
// scrollback and cursor; docs/protocol.md § TERMINAL):
//
//   - Elision: output waiting to be sent (the browser is behind) that holds more than M
//     complete lines of plain text loses its oldest lines; M lines are kept.
//   - Snapshots: during a long flood each message carries only the last screenful of
//     lines (the screen is right, the scrollback is not: the session owes a replay), and
//     when the flood ends (other output, a quiet spell, the end) the last M lines are sent
//     again, which makes the scrollback right too.
//
// Why M = 2R+S lines are enough, R being the browser terminal's rows and S its
// scrollback. Plain text here is printable UTF-8, \t, \r and \n, parsed by the terminal
// in its ground state with the modes that move text (scroll margins, origin mode,
// left/right margins) at their defaults (vtScanner). It changes no mode, attribute,
// character set or tab stop: it writes characters and moves the cursor. Write M complete
// lines (each ending in "\r\n") from any state: the first starts wherever the cursor was,
// every later one in column 0 of the next row. At most R-1 row advances (line feeds and
// wraps) bring the cursor to the bottom row, onto rows that may hold older text; every
// later advance scrolls, adding a fresh blank row in the current background (which plain
// text does not change) and pushing the oldest of the R+S rows out. There are at least M
// advances, so the R+S rows kept after the last line are fresh rows written by lines that
// each began in column 0, and the cursor is in column 0 of the bottom row: all the same
// whatever came before the M lines, dropped lines or snapshots. (R+S lines would not do:
// rows below the cursor may hold text a short line does not overwrite.)
type buffer struct {
	rows       int // the most rows the browser had in this session (0: unknown, no elision)
	screen     int // its current rows
	scrollback int // lines it keeps above the screen (TERMINAL_SCROLLBACK)

	// Output from stream position base on; positions count every byte the remote wrote.
	// buf is mem[head:]: the memory is reused, not reallocated as output moves through.
	buf  []byte
	mem  []byte
	head int
	base int64
	sent int64 // output before it was sent to the browser or dropped

	sc      vtScanner
	cpStart int64 // where the code point being decoded began
	prevCR  bool  // the last byte was a plain \r

	// The current plain run: plain text from runStart with the modes at their defaults.
	run      bool
	runStart int64
	ends     []int64 // where its complete lines end (after "\r\n"), oldest first from endsHead
	endsHead int

	owed   bool  // snapshots were sent: the scrollback is wrong until the replay
	streak int   // lines in this run's consecutive flooding messages
	drop   int64 // bytes dropped so far, for the read rate limit
	eof    bool  // the remote's output ended
	wrote  time.Time

	trace func(from, to int64) // tests: each piece of output take sends
}

// Bounds of what a buffer holds.
const (
	// MaxHeld is the most output a Stream holds; beyond it the reader waits and the SSH
	// window shuts.
	MaxHeld = 1 << 20
	histMax = 512 << 10 // lines kept after sending them, for a replay
)

func newBuffer(rows, scrollback int) *buffer {
	return &buffer{rows: rows, screen: rows, scrollback: scrollback}
}

func (o *buffer) end() int64 { return o.base + int64(len(o.buf)) }

func (o *buffer) bytes(from, to int64) []byte { return o.buf[from-o.base : to-o.base] }

// m is how many complete lines bring the browser's terminal to the same state whatever
// came before them (see buffer); -1 while the browser's size is unknown.
func (o *buffer) m() int {
	if o.rows <= 0 {
		return -1
	}
	return 2*o.rows + o.scrollback
}

// slack is how far the waiting lines may go over m before elision: it runs once per
// slack lines, not per chunk.
func slack(m int) int { return max(m/2, 64) }

// resize records the browser terminal's new size in rows.
func (o *buffer) resize(rows int) {
	o.screen = rows
	o.rows = max(o.rows, rows) // lines it kept at the larger size may still be shown
}

// full reports whether the reader must wait before reading more.
func (o *buffer) full() bool { return len(o.buf) >= MaxHeld }

// write takes output the remote wrote.
func (o *buffer) write(p []byte, now time.Time) {
	o.wrote = now
	start := o.end()
	o.grow(len(p))
	n := len(o.buf)
	o.buf = o.mem[o.head : o.head+n+len(p)]
	copy(o.buf[n:], p)
	m := o.m()
	for i := 0; i < len(p); i++ {
		b := p[i]
		pos := start + int64(i)
		if o.sc.st == vtGround && o.sc.cpNeed == 0 && (b >= 0x20 && b < 0x7f || b == '\t' || b == '\r' || b == '\n') {
			if !o.run {
				o.openRun(pos)
			}
			// The common case, ASCII text in a run, in a loop of its own.
			prevCR := o.prevCR
			for ; i < len(p); i++ {
				b = p[i]
				if b >= 0x20 && b < 0x7f || b == '\t' {
					prevCR = false
				} else if b == '\r' {
					prevCR = true
				} else if b == '\n' {
					if prevCR && o.run && m > 0 {
						o.addLineEnd(start+int64(i)+1, m)
					}
					prevCR = false
				} else {
					break
				}
			}
			o.prevCR = prevCR
			i--
			continue
		}
		if o.sc.cpNeed == 0 {
			o.cpStart = pos
		}
		class, dropped := o.sc.feed(b)
		if dropped { // the partial code point before this byte is garbage
			o.notPlain(o.cpStart)
			o.cpStart = pos
		}
		switch class {
		case vtPlain:
			if !o.run {
				o.openRun(o.cpStart)
			}
			if b == '\n' && o.prevCR && o.run && m > 0 {
				o.addLineEnd(pos+1, m)
			}
			o.prevCR = b == '\r'
		case vtOther:
			o.notPlain(o.cpStart)
			o.prevCR = false
		default: // inside a code point
			o.prevCR = false
		}
	}
	o.trim()
}

// openRun starts a plain run at pos if the modes allow dropping plain text.
func (o *buffer) openRun(pos int64) {
	if !o.sc.modes.defaults() {
		return
	}
	o.run, o.runStart, o.streak = true, pos, 0
	o.ends, o.endsHead = o.ends[:0], 0
}

// notPlain ends the plain run at pos: output from pos on must reach the browser after the
// run's last lines, so a replay owed goes first.
func (o *buffer) notPlain(pos int64) {
	if !o.run {
		return
	}
	if o.owed {
		o.rewind()
	}
	o.run, o.streak = false, 0
	o.ends, o.endsHead = o.ends[:0], 0
	if cap(o.ends) > 1<<12 {
		o.ends = nil
	}
}

// addLineEnd records a complete line of the run ending at pos. Only the last m+slack+1
// are needed.
func (o *buffer) addLineEnd(pos int64, m int) {
	o.ends = append(o.ends, pos)
	if len(o.ends)-o.endsHead > m+slack(m)+1 {
		o.endsHead++
		if o.endsHead >= 1024 && 2*o.endsHead >= len(o.ends) {
			o.ends = o.ends[:copy(o.ends, o.ends[o.endsHead:])]
			o.endsHead = 0
		}
	}
}

// lineEnds is how many line ends of the run the ring holds.
func (o *buffer) lineEnds() int { return len(o.ends) - o.endsHead }

// lineEnd is the k-th last line end (k from 1).
func (o *buffer) lineEnd(k int) int64 { return o.ends[len(o.ends)-k] }

// linesAfter is how many of the run's complete lines end after pos.
func (o *buffer) linesAfter(pos int64) int {
	e := o.ends[o.endsHead:]
	i, _ := slices.BinarySearch(e, pos+1)
	return len(e) - i
}

// replayStart is where the run's last m complete lines begin.
func (o *buffer) replayStart() int64 {
	if m := o.m(); m > 0 && o.lineEnds() > m {
		return o.lineEnd(m + 1)
	}
	// The browser grew and the ring has fewer lines: the oldest held will do.
	return max(o.runStart, o.base)
}

// replayable reports whether the run's last m complete lines are all held.
func (o *buffer) replayable() bool {
	m := o.m()
	return o.run && m > 0 && o.lineEnds() > m && o.lineEnd(m+1) >= o.base
}

// rewind makes the replay the next thing sent: the run's last m lines, and on from there.
func (o *buffer) rewind() {
	o.sent = o.replayStart()
	o.owed = false
	o.streak = 0 // the replay is sent before snapshots may start again
}

// settle sends the replay owed, if any (the flood paused).
func (o *buffer) settle() {
	if o.owed {
		o.rewind()
	}
}

// trim drops what the browser will never need and frees what was sent.
func (o *buffer) trim() {
	m := o.m()
	switch {
	case !o.run || m <= 0:
	case o.owed:
		if rs := o.replayStart(); o.end()-rs > histMax {
			o.rewind() // the replay would grow past its bound: send it now
		} else if o.sent < rs {
			o.drop += rs - o.sent // lines older than the replay's will never show
			o.sent = rs
		}
	case o.sent >= o.runStart && o.elide(m):
		// Elision: the unsent output is inside the run and holds more than m complete
		// lines; only the last m can show. (Output before the run that is not sent yet
		// holds elision back until it is: what is sent is always a piece of the output.)
		cut := o.lineEnd(m + 1)
		o.drop += cut - o.sent
		o.sent = cut
		o.endsHead = len(o.ends) - m - 1
	}
	o.compact()
}

// elide reports whether to drop the unsent lines before the run's last m: once slack
// lines more have come, or sooner when they fill half the buffer (long lines).
func (o *buffer) elide(m int) bool {
	n := o.linesAfter(o.sent)
	return n > m+slack(m) || n > m && len(o.buf) >= MaxHeld/2
}

// compact forgets output that was sent, except the run's last lines while a replay may
// need them.
func (o *buffer) compact() {
	keep := o.sent
	if o.run && (o.owed || o.streak > 0) {
		h := o.runStart
		if m := o.m(); m > 0 && o.lineEnds() > m {
			h = o.lineEnd(m + 1)
		}
		if h < keep && (o.owed || o.end()-h <= histMax) {
			keep = max(h, o.base)
		}
	}
	if keep <= o.base {
		return
	}
	o.head += int(keep - o.base)
	o.buf = o.buf[keep-o.base:]
	o.base = keep
	if len(o.buf) == 0 {
		o.head = 0
	}
	if c := cap(o.mem); c > 256<<10 && len(o.buf) < c/16 {
		o.realloc(max(4*len(o.buf), 32<<10)) // a flood is over: give the memory back
	}
}

// grow makes room for n more bytes after buf.
func (o *buffer) grow(n int) {
	if o.head+len(o.buf)+n <= cap(o.mem) {
		return
	}
	if need := len(o.buf) + n; 2*need <= cap(o.mem) {
		n := copy(o.mem, o.buf) // move the held output to the front
		o.head, o.buf = 0, o.mem[:n]
	} else {
		o.realloc(max(2*need, 32<<10))
	}
}

func (o *buffer) realloc(size int) {
	mem := make([]byte, size)
	n := copy(mem, o.buf)
	o.mem, o.head, o.buf = mem, 0, mem[:n]
}

// unsent is how many bytes are waiting.
func (o *buffer) unsent() int { return int(o.end() - o.sent) }

// take appends to dst the output for the next message, at most max bytes, and counts it
// as sent. It does not end a message inside a UTF-8 character unless the output ended.
func (o *buffer) take(dst []byte, max int) []byte {
	if o.eof && o.owed {
		o.rewind()
	}
	// At the end everything goes, exactly: a partial character at the end is not held
	// back, and snapshots would need a replay after it.
	if m := o.m(); o.run && m > 0 && o.sent >= o.runStart && !o.eof {
		if n := o.linesAfter(o.sent); n > o.screen {
			// More than a screenful of new lines: a flood. A long one (2m lines in a row,
			// so that the replay costs at most half of what was sent) switches to
			// snapshots: the last screenful only.
			o.streak += n
			if !o.owed && o.streak >= 2*m && o.replayable() {
				o.owed = true
			}
			if o.owed {
				if to := o.lineEnd(o.screen + 1); to > o.sent {
					o.drop += to - o.sent
					o.sent = to
				}
			}
		} else {
			o.streak = 0
		}
	}
	n := min(o.end()-o.sent, int64(max))
	p := o.bytes(o.sent, o.sent+n)
	if !o.eof {
		p = p[:len(p)-utf8Partial(p)]
	}
	dst = append(dst, p...)
	if o.trace != nil && len(p) > 0 {
		o.trace(o.sent, o.sent+int64(len(p)))
	}
	o.sent += int64(len(p))
	o.compact()
	return dst
}

// sendable is how many bytes take would send now, at most max (snapshots aside).
func (o *buffer) sendable(max int) int {
	n := min(o.unsent(), max)
	if o.eof {
		return n
	}
	return n - utf8Partial(o.bytes(o.sent, o.sent+int64(n)))
}

// utf8Partial is the length of the incomplete UTF-8 character p ends with, if any.
func utf8Partial(p []byte) int {
	for k := 1; k <= 3 && k <= len(p); k++ {
		b := p[len(p)-k]
		if b&0xc0 == 0x80 {
			continue // a continuation byte: look further back for the lead
		}
		need := 0
		switch {
		case b&0xe0 == 0xc0:
			need = 2
		case b&0xf0 == 0xe0:
			need = 3
		case b&0xf8 == 0xf0:
			need = 4
		}
		if need > k {
			return k
		}
		return 0
	}
	return 0
}
