package rdp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// The client's own ClipboardHandler for Config.ClipboardText and
// Config.ClipboardContent, for programs that share text (and HTML) only (a
// gateway, a terminal): whenever the server's clipboard changes it asks
// for the best text format the server offers, then, for ClipboardContent,
// for "HTML Format" if the server offers it, one request at a time, and
// hands over what it got in one call. A request the server leaves
// unanswered is given up after ClipboardTimeout, so that the next copy is
// fetched instead of waiting behind it forever.
//
// HTML is extra: when its request fails, times out, is too large or is
// not CF_HTML (cfhtml.go), the text is handed over with HTML "". A
// clipboard with HTML but no text format gives Text "" and the HTML (no
// text is derived from it); there, an HTML failure is the call's error.

// defaultClipboardTimeout is Config.ClipboardTimeout when zero.
const defaultClipboardTimeout = 10 * time.Second

// Errors Config.ClipboardText and Config.ClipboardContent may be given.
var (
	// ErrClipboardTimeout: the server did not answer the request for its
	// clipboard's text within Config.ClipboardTimeout.
	ErrClipboardTimeout = errors.New("rdp: the remote clipboard did not answer")
	// ErrClipboardTooLarge: the text was over Config.ClipboardMaxBytes.
	// Client.SetClipboardContent returns it too, for local text or HTML
	// over the limit.
	ErrClipboardTooLarge = errors.New("rdp: the remote clipboard is over the size limit")
	// ErrClipboardFailed: the server could not render its clipboard as text
	// (CB_RESPONSE_FAIL), or its only format, HTML, was not valid CF_HTML.
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

// ClipboardContent is the clipboard as Config.ClipboardContent receives
// it and Client.SetClipboardContent sets it: text, and HTML as Windows
// programs exchange it (the registered format "HTML Format", CF_HTML).
type ClipboardContent struct {
	Text string
	// HTML is a fragment (what was between <!--StartFragment--> and
	// <!--EndFragment-->, without a document around it); "" for none.
	HTML string
}

// htmlFormat is the ID the server gave "HTML Format" in formats (0 if it
// offers none). Windows compares clipboard format names without case.
func htmlFormat(formats []ClipboardFormat) uint32 {
	for _, f := range formats {
		if f.ID != 0 && strings.EqualFold(f.Name, CFNameHTML) {
			return f.ID
		}
	}
	return 0
}

// clipFetch is what the client fetches of one remote clipboard: the
// format IDs of its best text format and of "HTML Format", 0 for none.
type clipFetch struct{ text, html uint32 }

// textClipboard fetches the remote clipboard's text, and with
// Config.ClipboardContent its HTML after the text, one request at a time.
// Its handler methods run on Run's goroutine, its timer on another; the
// callback is called on either, never with mu held.
type textClipboard struct {
	c       *Client
	fn      func(text string, err error)              // Config.ClipboardText
	content func(content ClipboardContent, err error) // Config.ClipboardContent, which wins
	timeout time.Duration

	mu        sync.Mutex
	waiting   bool             // a request is out and not given up
	again     bool             // the clipboard changed while waiting: start over
	latest    clipFetch        // the formats of the newest Format List
	cur       clipFetch        // the formats of the fetch under way
	htmlStep  bool             // the request out is for cur.html, not cur.text
	got       ClipboardContent // what the fetch under way has received
	abandoned int              // requests given up whose answers are still due
	timer     *time.Timer      // gives up the request out
	seq       uint64           // which request the timer is for
}

func (c *Client) newTextClipboard() *textClipboard {
	t := c.cfg.ClipboardTimeout
	if t == 0 {
		t = defaultClipboardTimeout
	}
	return &textClipboard{c: c, fn: c.cfg.ClipboardText, content: c.cfg.ClipboardContent, timeout: t}
}

// clipDelivery is a call of the callback decided with mu held and made
// after it is released.
type clipDelivery struct {
	due     bool
	content ClipboardContent
	err     error
}

func (tc *textClipboard) deliver(d clipDelivery) {
	switch {
	case !d.due:
	case tc.content != nil:
		tc.content(d.content, d.err)
	default:
		tc.fn(d.content.Text, d.err)
	}
}

// ClipboardFormats fetches the new clipboard, or, with a request out,
// starts over once that is answered (its answer is then stale and
// dropped).
func (tc *textClipboard) ClipboardFormats(formats []ClipboardFormat) {
	var f clipFetch
	f.text, _ = bestTextFormat(formats)
	if tc.content != nil {
		f.html = htmlFormat(formats)
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.latest = f
	if f == (clipFetch{}) {
		// Nothing to fetch now (an image or files were copied): what is
		// on its way is stale, and nothing is asked for after it.
		tc.again = tc.waiting
		return
	}
	if tc.waiting {
		tc.again = true
		return
	}
	tc.startLocked()
}

// startLocked starts fetching tc.latest: its text first, else its HTML.
func (tc *textClipboard) startLocked() {
	tc.cur, tc.got = tc.latest, ClipboardContent{}
	tc.htmlStep = tc.cur.text == 0
	if tc.htmlStep {
		tc.requestLocked(tc.cur.html)
	} else {
		tc.requestLocked(tc.cur.text)
	}
}

// requestLocked asks for format and arms the timeout.
func (tc *textClipboard) requestLocked(format uint32) bool {
	if err := tc.c.RequestClipboard(format); err != nil {
		tc.c.log.Warn("rdp: cannot request the remote clipboard", "format", format, "err", err)
		return false
	}
	tc.waiting = true
	tc.seq++
	seq := tc.seq
	tc.timer = time.AfterFunc(tc.timeout, func() { tc.expire(seq) })
	return true
}

// expire gives up request seq if it is still out: its answer, should it
// come, is dropped.
func (tc *textClipboard) expire(seq uint64) {
	tc.mu.Lock()
	if !tc.waiting || tc.seq != seq {
		tc.mu.Unlock()
		return
	}
	tc.waiting = false
	tc.abandoned++
	err := fmt.Errorf("%w within %v", ErrClipboardTimeout, tc.timeout)
	var d clipDelivery
	switch {
	case !tc.again:
		d = tc.stepDoneLocked(0, nil, err)
	case tc.content != nil && tc.latest != (clipFetch{}):
		// What was fetched is stale: fetch the clipboard as it is now.
		tc.again = false
		tc.startLocked()
	default:
		// The timeout is reported (as ClipboardText always had it), and
		// the next change is fetched.
		tc.again = false
		d = clipDelivery{due: true, err: err}
	}
	tc.mu.Unlock()
	tc.deliver(d)
}

// answered takes the answer to the oldest request, data or the reason
// there is none: if it is for the request out (not one given up) and
// still current, the fetch goes on with it.
func (tc *textClipboard) answered(format uint32, data []byte, err error) clipDelivery {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.abandoned > 0 {
		tc.abandoned-- // answers come in the order of the requests
		return clipDelivery{}
	}
	if !tc.waiting {
		return clipDelivery{}
	}
	tc.timer.Stop()
	tc.waiting = false
	if tc.again {
		tc.again = false
		if tc.latest != (clipFetch{}) {
			tc.startLocked()
		}
		return clipDelivery{}
	}
	return tc.stepDoneLocked(format, data, err)
}

// stepDoneLocked takes the current answer to the request out (data, or
// err): the text is kept and the HTML asked for next; the fetch ends with
// what it has once the HTML is in, or when it fails. A failed text
// request fails the fetch, as ClipboardText always did; a failed HTML
// request leaves the text, or fails the fetch when the clipboard has no
// text.
func (tc *textClipboard) stepDoneLocked(format uint32, data []byte, err error) clipDelivery {
	if !tc.htmlStep {
		if err != nil {
			return clipDelivery{due: true, err: err}
		}
		tc.got.Text, _ = ClipboardText(format, data)
		if tc.cur.html != 0 {
			tc.htmlStep = true
			if tc.requestLocked(tc.cur.html) {
				return clipDelivery{}
			}
		}
		return clipDelivery{due: true, content: tc.got}
	}
	if err == nil {
		tc.got.HTML, err = decodeCFHTML(data)
	}
	if err != nil {
		if tc.cur.text == 0 {
			return clipDelivery{due: true, err: err}
		}
		tc.c.log.Debug("rdp: cliprdr remote HTML Format not read, text only", "err", err)
		tc.got.HTML = ""
	}
	return clipDelivery{due: true, content: tc.got}
}

func (tc *textClipboard) ClipboardData(format uint32, data []byte, ok bool) {
	var err error
	if !ok {
		err = ErrClipboardFailed
	}
	tc.deliver(tc.answered(format, data, err))
}

func (tc *textClipboard) clipboardTooLarge(format uint32, size int) {
	tc.deliver(tc.answered(format, nil, fmt.Errorf("%w: %d bytes", ErrClipboardTooLarge, size)))
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
