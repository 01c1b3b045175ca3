package recording

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Terminal writes a terminal session as asciicast v2 (asciinema's format): a header
// line, then one JSON array per event, [seconds, code, data]: "o" output, "i" input
// (include-input only), "r" a resize to "COLSxROWS". Its methods are safe for
// concurrent use; after a write fails every call returns that error.
type Terminal struct {
	f         *os.File
	start     time.Time
	syncEvery time.Duration

	mu       sync.Mutex
	carry    []byte // the start of a UTF-8 sequence the next output completes
	buf      []byte
	err      error
	size     int64
	lastSync time.Duration
	closed   bool
}

// castHeader is asciicast v2's header line; racgate's own fields go under "racgate",
// which players ignore.
type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Racgate   Meta              `json:"racgate"`
}

// CreateTerminal creates base+ExtTerminal (as CreateDesktop does) for a terminal of
// cols x rows, synced to disk at most every syncEvery while output comes.
func CreateTerminal(base string, m Meta, cols, rows int, syncEvery time.Duration) (*Terminal, error) {
	m.Version = Version
	h, err := json.Marshal(castHeader{
		Version: 2, Width: cols, Height: rows, Timestamp: m.Start.Unix(),
		Title: m.User + "@" + m.Endpoint, Env: map[string]string{"TERM": "xterm-256color"}, Racgate: m,
	})
	if err != nil {
		return nil, err
	}
	f, err := create(base, ExtTerminal)
	if err != nil {
		return nil, err
	}
	h = append(h, '\n')
	if _, err := f.Write(h); err != nil {
		f.Close()
		return nil, fmt.Errorf("recording: %w", err)
	}
	return &Terminal{f: f, start: m.Start, syncEvery: syncEvery, size: int64(len(h))}, nil
}

// Output records what the remote wrote. Bytes that are not UTF-8 become U+FFFD; a
// character split between two calls is written whole with the second.
func (t *Terminal) Output(p []byte) error { return t.text("o", p) }

// Input records what the user typed or pasted.
func (t *Terminal) Input(p []byte) error { return t.text("i", p) }

func (t *Terminal) text(code string, p []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if code == "o" && len(t.carry) > 0 {
		p = append(t.carry, p...)
		t.carry = nil
	}
	if code == "o" {
		if n := incompleteTail(p); n > 0 {
			t.carry = append([]byte(nil), p[len(p)-n:]...)
			p = p[:len(p)-n]
		}
	}
	if len(p) == 0 {
		return t.err
	}
	return t.eventLocked(code, string(p))
}

// Resize records the terminal's new size.
func (t *Terminal) Resize(cols, rows int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.eventLocked("r", strconv.Itoa(cols)+"x"+strconv.Itoa(rows))
}

func (t *Terminal) eventLocked(code, data string) error {
	if t.err != nil {
		return t.err
	}
	if t.closed {
		return errClosed
	}
	at := time.Since(t.start)
	d, _ := json.Marshal(data) // invalid UTF-8 becomes U+FFFD
	b := append(t.buf[:0], '[')
	b = strconv.AppendFloat(b, max(at.Seconds(), 0), 'f', 6, 64)
	b = append(b, `, "`...)
	b = append(b, code...)
	b = append(b, `", `...)
	b = append(b, d...)
	b = append(b, "]\n"...)
	n, err := t.f.Write(b) // one write per event: a kill leaves whole lines and one torn
	t.size += int64(n)
	t.buf = b
	if cap(t.buf) > 64<<10 {
		t.buf = nil
	}
	if err == nil && at-t.lastSync >= t.syncEvery {
		t.lastSync = at
		err = t.f.Sync()
	}
	if err != nil {
		t.err = fmt.Errorf("recording: %w", err)
	}
	return t.err
}

// incompleteTail is how many bytes at p's end begin a UTF-8 character that is not
// complete yet (0 when p ends with a whole character or with invalid bytes).
func incompleteTail(p []byte) int {
	for n := 1; n <= utf8.UTFMax-1 && n <= len(p); n++ {
		c := p[len(p)-n]
		if c < 0x80 {
			return 0 // ASCII: whole
		}
		if utf8.RuneStart(c) {
			want := 0
			switch {
			case c&0xe0 == 0xc0:
				want = 2
			case c&0xf0 == 0xe0:
				want = 3
			case c&0xf8 == 0xf0:
				want = 4
			}
			if want > n {
				return n
			}
			return 0
		}
	}
	return 0
}

// Path is the file's path.
func (t *Terminal) Path() string { return t.f.Name() }

// Size is the file's size so far.
func (t *Terminal) Size() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.size
}

// Close writes what output was held back, syncs and closes.
func (t *Terminal) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return errClosed
	}
	var werr error
	if len(t.carry) > 0 {
		werr = t.eventLocked("o", string(t.carry))
		t.carry = nil
	}
	t.closed = true
	t.mu.Unlock()
	serr := t.f.Sync()
	cerr := t.f.Close()
	switch {
	case werr != nil:
		return werr
	case serr != nil:
		return fmt.Errorf("recording: %w", serr)
	}
	return cerr
}
