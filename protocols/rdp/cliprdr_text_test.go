package rdp

import (
	"errors"
	"slices"
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
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	r := &textResults{}
	c.cfg.ClipboardText, c.cfg.ClipboardTimeout, c.cfg.ClipboardMaxBytes = r.take, timeout, maxBytes
	c.initClipboard()
	c.channels[c.clip.ch].ID = cliprdrTestChannel
	for _, m := range []string{clipServerCapsLong, clipMonitorReady} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	cc.take()
	t.Cleanup(func() { c.Close() })
	return c, cc, r
}

const (
	clipRequestUnicode = "04 00 00 00 04 00 00 00 0d 00 00 00"
	clipRequestText    = "04 00 00 00 04 00 00 00 01 00 00 00"
	// Format List (long names) with CF_TEXT only, and with CF_DIB only.
	clipServerListText = "02 00 00 00 06 00 00 00 01 00 00 00 00 00"
	clipServerListDIB  = "02 00 00 00 06 00 00 00 08 00 00 00 00 00"
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
