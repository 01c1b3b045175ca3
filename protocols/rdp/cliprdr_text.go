package rdp

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"
	"time"
)

// The client's own ClipboardHandler for Config.ClipboardText and
// Config.ClipboardContent, for programs that share text, HTML and images
// (a gateway, a terminal): whenever the server's clipboard changes it asks
// for the best text format the server offers, then, for ClipboardContent,
// for "HTML Format" and then an image (CF_DIB, else CF_DIBV5) if the server
// offers them, one request at a time, and hands over what it got in one
// call. A request the server leaves unanswered is given up after
// ClipboardTimeout, so that the next copy is fetched instead of waiting
// behind it forever.
//
// HTML and the image are extra: when a request for one fails, times out,
// is too large or is not CF_HTML (cfhtml.go) or a DIB it can decode
// (dib.go), the rest is handed over without it; an image too large is
// told (ErrClipboardImageTooLarge) with the rest. A clipboard without a
// text format gives Text "" (no text is derived from the HTML); when
// nothing of it could be fetched, the last failure is the call's error.

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
	// (CB_RESPONSE_FAIL), or its only formats, HTML or an image, were not
	// valid CF_HTML or a DIB the client decodes (ClipboardImage).
	ErrClipboardFailed = errors.New("rdp: the remote clipboard could not be read")
	// ErrClipboardImageTooLarge: the remote clipboard's image was over
	// Config.ClipboardMaxImageBytes and was skipped. Config.ClipboardContent
	// is given it with the text and HTML there were, if any.
	ErrClipboardImageTooLarge = errors.New("rdp: the remote clipboard's image is over the size limit")
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
// it and Client.SetClipboardContent sets it: text, HTML as Windows
// programs exchange it (the registered format "HTML Format", CF_HTML),
// and an image (CF_DIB or CF_DIBV5).
type ClipboardContent struct {
	Text string
	// HTML is a fragment (what was between <!--StartFragment--> and
	// <!--EndFragment-->, without a document around it); "" for none.
	HTML string
	// Image is a picture; nil for none. A remote one is an *image.NRGBA
	// (straight alpha; opaque unless the DIB had alpha) or, for the rare
	// DIB holding a PNG or JPEG, what image/png or image/jpeg decode.
	Image image.Image
}

// imageFormat is the image format to fetch among formats (0 if none):
// CF_DIB, else CF_DIBV5. CF_DIB is the one every server with an image
// serves: Windows makes it from whatever the program put (CF_DIBV5,
// CF_BITMAP), and xrdp's chansrv announces Windows' list (Native,
// CF_METAFILEPICT, CF_DIB, CF_DIBV5) but serves CF_DIB alone. What
// CF_DIBV5 would add, declared alpha, a 32-bit CF_DIB mostly keeps in
// its fourth byte, which the decoder reads (dib.go).
func imageFormat(formats []ClipboardFormat) uint32 {
	for _, want := range [...]uint32{CFDIB, CFDIBV5} {
		for _, f := range formats {
			if f.ID == want && f.Name == "" {
				return want
			}
		}
	}
	return 0
}

// ClipboardImage decodes clipboard data in CF_DIB or CF_DIBV5 (dib.go
// lists what it reads), for a ClipboardHandler: an *image.NRGBA, or what
// image/png or image/jpeg make of a BI_PNG or BI_JPEG DIB. It decodes at
// most 16 Mi pixels (ClipboardMaxImageBytes' default). Errors wrap
// ErrClipboardFailed.
func ClipboardImage(format uint32, data []byte) (image.Image, error) {
	if !isImageFormat(format) {
		return nil, fmt.Errorf("%w: format %d is not CF_DIB or CF_DIBV5", ErrClipboardFailed, format)
	}
	return decodeDIB(data, defaultClipboardMaxImageBytes)
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
// format IDs of its best text format, of "HTML Format" and of its image
// format, 0 for none.
type clipFetch struct{ text, html, image uint32 }

// The steps of a fetch, in their order.
const (
	stepText = iota
	stepHTML
	stepImage
	stepDone
)

// format is the format the fetch asks for at step (0: none, skipped).
func (f clipFetch) format(step int) uint32 {
	switch step {
	case stepText:
		return f.text
	case stepHTML:
		return f.html
	case stepImage:
		return f.image
	}
	return 0
}

// textClipboard fetches the remote clipboard's text, and with
// Config.ClipboardContent its HTML and its image after the text, one
// request at a time. Its handler methods run on Run's goroutine, its
// timer on another; the callback is called on either, never with mu held.
type textClipboard struct {
	c        *Client
	fn       func(text string, err error)              // Config.ClipboardText
	content  func(content ClipboardContent, err error) // Config.ClipboardContent, which wins
	timeout  time.Duration
	imageMax int // Config.ClipboardMaxImageBytes, 0 for no images; also the pixels a DIB may have

	mu        sync.Mutex
	waiting   bool             // a request is out and not given up
	again     bool             // the clipboard changed while waiting: start over
	latest    clipFetch        // the formats of the newest Format List
	cur       clipFetch        // the formats of the fetch under way
	step      int              // the step of the request out (stepText...)
	got       ClipboardContent // what the fetch under way has received
	gotAny    bool             // some step of it succeeded
	lastErr   error            // why its last failed step failed
	imageErr  error            // its image was too large (ErrClipboardImageTooLarge)
	abandoned int              // requests given up whose answers are still due
	timer     *time.Timer      // gives up the request out
	seq       uint64           // which request the timer is for
}

func (c *Client) newTextClipboard() *textClipboard {
	t := c.cfg.ClipboardTimeout
	if t == 0 {
		t = defaultClipboardTimeout
	}
	return &textClipboard{c: c, fn: c.cfg.ClipboardText, content: c.cfg.ClipboardContent, timeout: t, imageMax: c.cfg.clipboardImageMax()}
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
		if tc.imageMax > 0 {
			f.image = imageFormat(formats)
		}
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.latest = f
	if f == (clipFetch{}) {
		// Nothing to fetch now (files, or an image for ClipboardText, were
		// copied): what is on its way is stale, and nothing is asked for
		// after it.
		tc.again = tc.waiting
		return
	}
	if tc.waiting {
		tc.again = true
		return
	}
	tc.startLocked()
}

// startLocked starts fetching tc.latest at its first step with a format:
// its text, else its HTML, else its image.
func (tc *textClipboard) startLocked() {
	tc.cur, tc.got, tc.gotAny, tc.lastErr, tc.imageErr = tc.latest, ClipboardContent{}, false, nil, nil
	tc.step = stepText
	for tc.step < stepDone && tc.cur.format(tc.step) == 0 {
		tc.step++
	}
	if tc.step < stepDone {
		tc.requestLocked(tc.cur.format(tc.step))
	}
}

// requestLocked asks for format and arms the timeout.
func (tc *textClipboard) requestLocked(format uint32) error {
	if err := tc.c.RequestClipboard(format); err != nil {
		tc.c.log.Warn("rdp: cannot request the remote clipboard", "format", format, "err", err)
		return err
	}
	tc.waiting = true
	tc.seq++
	seq := tc.seq
	tc.timer = time.AfterFunc(tc.timeout, func() { tc.expire(seq) })
	return nil
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
// err) and asks for the next step's format. A failed text request fails
// the fetch, as ClipboardText always did; a failed HTML or image request
// leaves that part out. The fetch ends with what it has once the last
// step is done: an error if no step succeeded, and the image's being too
// large told with the rest.
func (tc *textClipboard) stepDoneLocked(format uint32, data []byte, err error) clipDelivery {
	switch tc.step {
	case stepText:
		if err != nil {
			return clipDelivery{due: true, err: err}
		}
		tc.got.Text, _ = ClipboardText(format, data)
	case stepHTML:
		if err == nil {
			tc.got.HTML, err = decodeCFHTML(data)
		}
		if err != nil {
			tc.c.log.Debug("rdp: cliprdr remote HTML Format not read", "err", err)
			tc.got.HTML = ""
		}
	case stepImage:
		if err == nil {
			tc.got.Image, err = decodeDIB(data, tc.imageMax)
		}
		if err != nil {
			tc.c.log.Debug("rdp: cliprdr remote image not read", "format", tc.cur.image, "err", err)
			tc.got.Image = nil
			if errors.Is(err, ErrClipboardImageTooLarge) {
				tc.imageErr = err
			}
		}
	}
	if err != nil {
		tc.lastErr = err
	} else {
		tc.gotAny = true
	}
	for tc.step++; tc.step < stepDone; tc.step++ {
		f := tc.cur.format(tc.step)
		if f == 0 {
			continue
		}
		if err := tc.requestLocked(f); err != nil {
			tc.lastErr = err
			continue
		}
		return clipDelivery{}
	}
	if !tc.gotAny {
		return clipDelivery{due: true, err: tc.lastErr}
	}
	return clipDelivery{due: true, content: tc.got, err: tc.imageErr}
}

func (tc *textClipboard) ClipboardData(format uint32, data []byte, ok bool) {
	var err error
	if !ok {
		err = ErrClipboardFailed
	}
	tc.deliver(tc.answered(format, data, err))
}

func (tc *textClipboard) clipboardTooLarge(format uint32, size int) {
	err := fmt.Errorf("%w: %d bytes", ErrClipboardTooLarge, size)
	if isImageFormat(format) {
		err = fmt.Errorf("%w: %d bytes, over %d", ErrClipboardImageTooLarge, size, tc.imageMax)
	}
	tc.deliver(tc.answered(format, nil, err))
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
