package rdp

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// The client's own ClipboardHandler for Config.ClipboardText, for programs
// that share text only (a gateway, a terminal): whenever the server's
// clipboard changes it asks for the best text format the server offers,
// one request at a time, and hands over the decoded text. A request the
// server leaves unanswered is given up after ClipboardTimeout, so that the
// next copy is fetched instead of waiting behind it forever.

// defaultClipboardTimeout is Config.ClipboardTimeout when zero.
const defaultClipboardTimeout = 10 * time.Second

// Errors Config.ClipboardText may be given.
var (
	// ErrClipboardTimeout: the server did not answer the request for its
	// clipboard's text within Config.ClipboardTimeout.
	ErrClipboardTimeout = errors.New("rdp: the remote clipboard did not answer")
	// ErrClipboardTooLarge: the text was over Config.ClipboardMaxBytes.
	ErrClipboardTooLarge = errors.New("rdp: the remote clipboard is over the size limit")
	// ErrClipboardFailed: the server could not render its clipboard as text
	// (CB_RESPONSE_FAIL).
	ErrClipboardFailed = errors.New("rdp: the remote clipboard could not be read")
)

// textFormats are the text formats in order of preference: UTF-16 holds
// every character; the 8-bit ones are read as Windows-1252.
var textFormats = [...]uint32{CFUnicodeText, CFText, CFOEMText}

// bestTextFormat is the preferred text format among formats (ok false if
// there is none: an image or files were copied).
func bestTextFormat(formats []ClipboardFormat) (uint32, bool) {
	for _, want := range textFormats {
		for _, f := range formats {
			if f.ID == want && f.Name == "" {
				return want, true
			}
		}
	}
	return 0, false
}

// textClipboard fetches the remote clipboard's text. Its handler methods
// run on Run's goroutine, its timer on another; fn is called on either.
type textClipboard struct {
	c       *Client
	fn      func(text string, err error)
	timeout time.Duration

	mu        sync.Mutex
	waiting   bool        // a request is out and not given up
	again     bool        // the clipboard changed while waiting: ask once more
	latest    uint32      // the best text format of the newest Format List
	abandoned int         // requests given up whose answers are still due
	timer     *time.Timer // gives up the request out
	seq       uint64      // which request the timer is for
}

func (c *Client) newTextClipboard() *textClipboard {
	t := c.cfg.ClipboardTimeout
	if t == 0 {
		t = defaultClipboardTimeout
	}
	return &textClipboard{c: c, fn: c.cfg.ClipboardText, timeout: t}
}

// ClipboardFormats asks for the new clipboard's text, or, with a request
// out, once that is answered (its answer is then stale and dropped).
func (tc *textClipboard) ClipboardFormats(formats []ClipboardFormat) {
	f, ok := bestTextFormat(formats)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if !ok {
		// No text now (an image or files were copied): what is on its way
		// is stale, and nothing is asked for after it.
		tc.latest = 0
		tc.again = tc.waiting
		return
	}
	tc.latest = f
	if tc.waiting {
		tc.again = true
		return
	}
	tc.requestLocked()
}

// requestLocked asks for tc.latest and arms the timeout.
func (tc *textClipboard) requestLocked() {
	if err := tc.c.RequestClipboard(tc.latest); err != nil {
		tc.c.log.Warn("rdp: cannot request the remote clipboard", "err", err)
		return
	}
	tc.waiting = true
	tc.seq++
	seq := tc.seq
	tc.timer = time.AfterFunc(tc.timeout, func() { tc.expire(seq) })
}

// expire gives up request seq if it is still out: its answer, should it
// come, is dropped.
func (tc *textClipboard) expire(seq uint64) {
	tc.mu.Lock()
	if !tc.waiting || tc.seq != seq {
		tc.mu.Unlock()
		return
	}
	tc.waiting, tc.again = false, false
	tc.abandoned++
	tc.mu.Unlock()
	tc.fn("", fmt.Errorf("%w within %v", ErrClipboardTimeout, tc.timeout))
}

// answered takes the answer to the oldest request: it reports whether that
// is the request out (not one given up) and still current.
func (tc *textClipboard) answered() (current bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.abandoned > 0 {
		tc.abandoned-- // answers come in the order of the requests
		return false
	}
	if !tc.waiting {
		return false
	}
	tc.timer.Stop()
	tc.waiting = false
	if tc.again {
		tc.again = false
		if tc.latest != 0 {
			tc.requestLocked()
		}
		return false
	}
	return true
}

func (tc *textClipboard) ClipboardData(format uint32, data []byte, ok bool) {
	if !tc.answered() {
		return
	}
	if !ok {
		tc.fn("", ErrClipboardFailed)
		return
	}
	text, _ := ClipboardText(format, data)
	tc.fn(text, nil)
}

func (tc *textClipboard) clipboardTooLarge(format uint32, size int) {
	if tc.answered() {
		tc.fn("", fmt.Errorf("%w: %d bytes", ErrClipboardTooLarge, size))
	}
}

// reset forgets every request: the server restarted its clipboard
// (Monitor Ready), which drops what was pending.
func (tc *textClipboard) reset() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.timer != nil {
		tc.timer.Stop()
	}
	tc.waiting, tc.again, tc.abandoned = false, false, 0
}

// stop ends the timer when the client closes.
func (tc *textClipboard) stop() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.timer != nil {
		tc.timer.Stop()
	}
	tc.waiting = false
	tc.seq++
}
