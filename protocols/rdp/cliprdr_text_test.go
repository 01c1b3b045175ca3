package rdp

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// textResults records what Config.ClipboardText is given.
type textResults struct {
	mu   sync.Mutex
	got  []string // text, or "error: ..."
	errs []error
}

func (r *textResults) take(text string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.got = append(r.got, "error")
		r.errs = append(r.errs, err)
		return
	}
	r.got = append(r.got, text)
}

func (r *textResults) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// textClient is clipClient with Config.ClipboardText instead of a handler,
// ready (capabilities and Monitor Ready exchanged).
func textClient(t *testing.T, timeout time.Duration, maxBytes int) (*Client, *capConn, *textResults) {
	t.Helper()
	r := &textResults{}
	c, cc := fetchClient(t, func(cfg *Config) {
		cfg.ClipboardText, cfg.ClipboardTimeout, cfg.ClipboardMaxBytes = r.take, timeout, maxBytes
	})
	return c, cc, r
}

// fetchClient is a client whose clipboard set configures (ClipboardText or
// ClipboardContent), ready (capabilities and Monitor Ready exchanged).
func fetchClient(t *testing.T, set func(*Config)) (*Client, *capConn) {
	t.Helper()
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	set(&c.cfg)
	c.initClipboard()
	c.channels[c.clip.ch].ID = cliprdrTestChannel
	for _, m := range []string{clipServerCapsLong, clipMonitorReady} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	cc.take()
	t.Cleanup(func() { c.Close() })
	return c, cc
}

const (
	clipRequestUnicode = "04 00 00 00 04 00 00 00 0d 00 00 00"
	clipRequestText    = "04 00 00 00 04 00 00 00 01 00 00 00"
	// Format List (long names) with CF_TEXT only, with CF_DIB only and
	// with CF_HDROP (files) only.
	clipServerListText  = "02 00 00 00 06 00 00 00 01 00 00 00 00 00"
	clipServerListDIB   = "02 00 00 00 06 00 00 00 08 00 00 00 00 00"
	clipServerListFiles = "02 00 00 00 06 00 00 00 0f 00 00 00 00 00"
)

// utf16Response is a Format Data Response carrying s as CF_UNICODETEXT.
func utf16Response(s string) []byte {
	data := encodeUnicodeText(s)
	return append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, len(data)), data...)
}

// mustSendClip hands c one cliprdr message from the server, which it must take.
func mustSendClip(t *testing.T, c *Client, m []byte) {
	t.Helper()
	if err := sendClip(c, m); err != nil {
		t.Fatal(err)
	}
}

// TestTextClipboardTimeout: a request the server leaves unanswered is given
// up after ClipboardTimeout with ErrClipboardTimeout; the next change is
// fetched, and the late answer to the first is told apart and dropped. The
// second request times out too, past a second period.
func TestTextClipboardTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	c, cc, r := textClient(t, timeout, 0)
	send := func(m []byte) { mustSendClip(t, c, m) }
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(r.list()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("ClipboardText called %d times, want %d: %q", len(r.list()), n, r.list())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send(hx(clipServerFormatListLong))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode)
	start := time.Now()
	waitFor(1)
	if d := time.Since(start); d < timeout*8/10 {
		t.Errorf("gave up after %v, before the %v timeout", d, timeout)
	}
	// The next change is fetched at once, not queued behind the lost one.
	send(hx(clipServerFormatListLong))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode)
	send(utf16Response("late")) // the first request's answer
	send(utf16Response("fresh"))
	// Again: unanswered, past a second period.
	send(hx(clipServerFormatListLong))
	waitFor(3)
	time.Sleep(3 * timeout) // nothing more comes
	want := []string{"error", "fresh", "error"}
	if got := r.list(); !slices.Equal(got, want) {
		t.Fatalf("ClipboardText got %q, want %q", got, want)
	}
	for _, err := range r.errs {
		if !errors.Is(err, ErrClipboardTimeout) {
			t.Errorf("error %v, want ErrClipboardTimeout", err)
		}
	}
}

// TestTextClipboardTooLarge: text over ClipboardMaxBytes is an
// ErrClipboardTooLarge, and the connection and the next copy go on.
func TestTextClipboardTooLarge(t *testing.T) {
	c, cc, r := textClient(t, time.Minute, 64)
	send := func(m []byte) { mustSendClip(t, c, m) }
	send(hx(clipServerFormatListLong))
	send(utf16Response(string(make([]byte, 40)))) // 82 bytes of UTF-16
	send(hx(clipServerFormatListLong))
	send(utf16Response("small"))
	cc.take()
	if got := r.list(); !slices.Equal(got, []string{"error", "small"}) {
		t.Fatalf("ClipboardText got %q", got)
	}
	if !errors.Is(r.errs[0], ErrClipboardTooLarge) {
		t.Errorf("error %v, want ErrClipboardTooLarge", r.errs[0])
	}
}

// TestTextClipboardMonitorReady: a new Monitor Ready (the server restarted
// its clipboard) drops what was pending: the next change is fetched, and
// no timeout fires for the dropped request.
func TestTextClipboardMonitorReady(t *testing.T) {
	const timeout = 50 * time.Millisecond
	c, cc, r := textClient(t, timeout, 0)
	send := func(m []byte) { mustSendClip(t, c, m) }
	send(hx(clipServerFormatListLong))
	send(hx(clipMonitorReady))
	send(hx(clipServerFormatListLong))
	send(utf16Response("after restart"))
	cc.take()
	time.Sleep(3 * timeout)
	if got := r.list(); !slices.Equal(got, []string{"after restart"}) {
		t.Fatalf("ClipboardText got %q", got)
	}
}

// contentResults records what Config.ClipboardContent is given.
type contentResults struct {
	mu   sync.Mutex
	got  []ClipboardContent
	errs []error // one for each call, nil for success
}

func (r *contentResults) take(content ClipboardContent, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, content)
	r.errs = append(r.errs, err)
}

func (r *contentResults) list() ([]ClipboardContent, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got), slices.Clone(r.errs)
}

// waitFor waits until there have been n calls.
func (r *contentResults) waitFor(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got, _ := r.list(); len(got) >= n {
			return
		}
		if time.Now().After(deadline) {
			got, errs := r.list()
			t.Fatalf("ClipboardContent called %d times, want %d: %q %v", len(got), n, got, errs)
		}
	}
}

// expect checks every call so far: contents, and nil errors.
func (r *contentResults) expect(t *testing.T, want ...ClipboardContent) {
	t.Helper()
	got, errs := r.list()
	if !slices.Equal(got, want) || slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		t.Fatalf("ClipboardContent got %q (errors %v), want %q", got, errs, want)
	}
}

// contentClient is textClient with Config.ClipboardContent.
func contentClient(t *testing.T, timeout time.Duration, maxBytes int) (*Client, *capConn, *contentResults) {
	t.Helper()
	r := &contentResults{}
	c, cc := fetchClient(t, func(cfg *Config) {
		cfg.ClipboardContent, cfg.ClipboardTimeout, cfg.ClipboardMaxBytes = r.take, timeout, maxBytes
	})
	return c, cc, r
}

const (
	// A Format Data Request for "HTML Format" as clipServerFormatListLong
	// numbers it (0xC0F4).
	clipRequestHTML = "04 00 00 00 04 00 00 00 f4 c0 00 00"
	// Format List (long names) with "HTML Format" only.
	clipServerListHTML = "02 00 00 00 1c 00 00 00" +
		" f4 c0 00 00 48 00 54 00 4d 00 4c 00 20 00 46 00 6f 00 72 00 6d 00 61 00 74 00 00 00"
	clipResponseFail = "05 00 02 00 00 00 00 00"
	// remoteFragment is the HTML the tests' server copies.
	remoteFragment = "<p style=\"color:red\">Grüße, <b>東京</b> ✓</p>"
)

// htmlResponse is a Format Data Response carrying data, as a Windows
// server sends CF_HTML: the clipboard's bytes, NUL-terminated.
func htmlResponse(data []byte) []byte {
	data = append(bytes.Clone(data), 0)
	return append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, len(data)), data...)
}

// remoteHTML is remoteFragment in CF_HTML as a browser on the server
// writes it.
func remoteHTML() []byte {
	return htmlResponse(windowsCFHTML(remoteFragment, "SourceURL:https://example.com/page\n"))
}

// TestContentClipboard: with Config.ClipboardContent, a remote clipboard
// offering text and "HTML Format" is fetched as the text, then the HTML,
// one request at a time, and handed over in one call (ClipboardText, also
// set, is not called); HTML alone gives Text ""; text alone asks for no
// HTML. With ClipboardText only, HTML is never asked for.
func TestContentClipboard(t *testing.T) {
	r := &contentResults{}
	textCalled := false
	c, cc := fetchClient(t, func(cfg *Config) {
		cfg.ClipboardContent, cfg.ClipboardText = r.take, func(string, error) { textCalled = true }
	})
	send := func(m []byte) { mustSendClip(t, c, m) }

	send(hx(clipServerFormatListLong))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode)
	send(utf16Response("Grüße, 東京 ✓"))
	expectClip(t, cc, clipRequestHTML)
	r.expect(t) // not before the HTML is in
	send(remoteHTML())
	expectClip(t, cc)
	r.expect(t, ClipboardContent{Text: "Grüße, 東京 ✓", HTML: remoteFragment})

	// HTML alone: no text is made of it.
	send(hx(clipServerListHTML))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestHTML)
	send(remoteHTML())
	// Text alone (CF_TEXT): nothing more is asked for.
	send(hx(clipServerListText))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestText)
	send(hx("05 00 01 00 03 00 00 00 68 69 00"))
	expectClip(t, cc)
	r.expect(t, ClipboardContent{Text: "Grüße, 東京 ✓", HTML: remoteFragment}, ClipboardContent{HTML: remoteFragment}, ClipboardContent{Text: "hi"})
	if textCalled {
		t.Error("ClipboardText called with ClipboardContent set")
	}

	// ClipboardText alone: the text, and no request for the HTML.
	tc, tcc, tr := textClient(t, time.Minute, 0)
	mustSendClip(t, tc, hx(clipServerFormatListLong))
	mustSendClip(t, tc, utf16Response("plain"))
	expectClip(t, tcc, clipFormatListResponseOK, clipRequestUnicode)
	if got := tr.list(); !slices.Equal(got, []string{"plain"}) {
		t.Errorf("ClipboardText got %q", got)
	}
}

// TestContentClipboardHTMLFails: an HTML request that fails, is answered
// with something that is not CF_HTML, is over ClipboardMaxBytes or times
// out does not lose the text: it is handed over with HTML "". The late
// answer to the request given up is dropped, and the next copy comes
// whole. On a clipboard with HTML only, the failure is the call's error.
func TestContentClipboardHTMLFails(t *testing.T) {
	const timeout = 50 * time.Millisecond
	c, cc, r := contentClient(t, timeout, 1024)
	send := func(m []byte) { mustSendClip(t, c, m) }
	copyText := func(text string) {
		t.Helper()
		send(hx(clipServerFormatListLong))
		send(utf16Response(text))
		expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipRequestHTML)
	}
	copyText("refused")
	send(hx(clipResponseFail))
	copyText("malformed")
	send(htmlResponse([]byte("Version:0.9\r\nStartHTML:0000000999\r\nEndHTML:0000000010\r\n<html>x</html>")))
	copyText("too large")
	send(htmlResponse(windowsCFHTML(strings.Repeat("x", 1100), ""))) // skipped unread
	copyText("not UTF-8")
	send(htmlResponse(cfhtmlDoc("Version:0.9\nStartFragment:$SF\nEndFragment:$EF\n", "\x02\xff\xfe\x03", "%d")))
	r.expect(t, ClipboardContent{Text: "refused"}, ClipboardContent{Text: "malformed"}, ClipboardContent{Text: "too large"}, ClipboardContent{Text: "not UTF-8"})

	// Unanswered: the text after the timeout.
	copyText("unanswered")
	start := time.Now()
	r.waitFor(t, 5)
	if d := time.Since(start); d < timeout*8/10 {
		t.Errorf("gave up after %v, before the %v timeout", d, timeout)
	}
	send(remoteHTML()) // the late answer
	copyText("next")
	send(remoteHTML())
	expectClip(t, cc)
	got, _ := r.list()
	if want := []ClipboardContent{{Text: "unanswered"}, {Text: "next", HTML: remoteFragment}}; !slices.Equal(got[4:], want) {
		t.Fatalf("ClipboardContent got %q, want %q after the first four", got[4:], want)
	}

	// HTML only: an error, which says why.
	c, cc, r = contentClient(t, timeout, 256)
	for _, m := range []string{clipResponseFail, "05 00 01 00 04 00 00 00 3c 70 3e 00"} {
		send(hx(clipServerListHTML))
		send(hx(m))
		expectClip(t, cc, clipFormatListResponseOK, clipRequestHTML)
	}
	send(hx(clipServerListHTML))
	r.waitFor(t, 3)
	got, errs := r.list()
	if len(got) != 3 || got[0] != (ClipboardContent{}) || got[1] != (ClipboardContent{}) || got[2] != (ClipboardContent{}) ||
		!errors.Is(errs[0], ErrClipboardFailed) || !errors.Is(errs[1], ErrClipboardFailed) || !errors.Is(errs[2], ErrClipboardTimeout) {
		t.Fatalf("ClipboardContent got %q, %v", got, errs)
	}
	t.Logf("errors: %v", errs)
}

// TestContentClipboardStale: a clipboard that changes while its text or
// its HTML is on its way is fetched again from the start, and the stale
// answers are dropped: one call, with the newest text and HTML. A change
// to a clipboard without text, HTML or an image drops what is on its way and asks
// for nothing; so does a new Monitor Ready. A request that times out
// after the clipboard changed starts the newest fetch.
func TestContentClipboardStale(t *testing.T) {
	const timeout = 50 * time.Millisecond
	c, cc, r := contentClient(t, timeout, 0)
	send := func(m []byte) { mustSendClip(t, c, m) }

	send(hx(clipServerFormatListLong))
	send(hx(clipServerFormatListLong)) // while the text is on its way
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipFormatListResponseOK)
	send(utf16Response("old")) // dropped; the text again
	expectClip(t, cc, clipRequestUnicode)
	send(utf16Response("new"))
	expectClip(t, cc, clipRequestHTML)
	send(hx(clipServerFormatListLong)) // while the HTML is on its way
	send(htmlResponse(encodeCFHTML("<i>old</i>")))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode)
	send(utf16Response("newest"))
	send(remoteHTML())
	expectClip(t, cc, clipRequestHTML)
	r.expect(t, ClipboardContent{Text: "newest", HTML: remoteFragment})

	// Files copied while the HTML is on its way: nothing more.
	send(hx(clipServerFormatListLong))
	send(utf16Response("before the image"))
	send(hx(clipServerListFiles))
	send(remoteHTML())
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipRequestHTML, clipFormatListResponseOK)
	// Monitor Ready while the HTML is on its way: the next copy is
	// fetched at once, and no timeout fires for the dropped request.
	send(hx(clipServerFormatListLong))
	send(utf16Response("before the restart"))
	send(hx(clipMonitorReady))
	send(hx(clipServerFormatListLong))
	send(utf16Response("after the restart"))
	send(remoteHTML())
	cc.take()
	time.Sleep(3 * timeout)
	r.expect(t, ClipboardContent{Text: "newest", HTML: remoteFragment}, ClipboardContent{Text: "after the restart", HTML: remoteFragment})

	// The clipboard changes, then the request out times out: the newest
	// clipboard is fetched, with no call for the stale one.
	send(hx(clipServerFormatListLong))
	send(hx(clipServerFormatListLong))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipFormatListResponseOK)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if msgs := sentOn(t, cc, cliprdrTestChannel); len(msgs) > 0 {
			if len(msgs) != 1 || !bytes.Equal(msgs[0], hx(clipRequestUnicode)) {
				t.Fatalf("after the timeout the client sent % x", msgs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new request after the timeout")
		}
	}
	send(utf16Response("given up")) // the late answer
	send(utf16Response("fetched again"))
	send(remoteHTML())
	expectClip(t, cc, clipRequestHTML)
	r.expect(t, ClipboardContent{Text: "newest", HTML: remoteFragment}, ClipboardContent{Text: "after the restart", HTML: remoteFragment},
		ClipboardContent{Text: "fetched again", HTML: remoteFragment})
}
