package rdp_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
)

// clipRecorder is an rdp.ClipboardHandler that keeps what it is given.
type clipRecorder struct {
	mu      sync.Mutex
	formats [][]rdp.ClipboardFormat
	data    []clipAnswer
}

type clipAnswer struct {
	format uint32
	data   []byte
	ok     bool
}

func (r *clipRecorder) ClipboardFormats(formats []rdp.ClipboardFormat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.formats = append(r.formats, formats)
}

func (r *clipRecorder) ClipboardData(format uint32, data []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data = append(r.data, clipAnswer{format, bytes.Clone(data), ok})
}

func (r *clipRecorder) counts() (formats, data int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.formats), len(r.data)
}

// testLogWriter passes the client's clipboard log lines to t.Log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("cliprdr")) {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// TestXRDPClipboard copies text both ways through xrdp's chansrv: text the
// client sets is what xclip reads from the session's CLIPBOARD selection,
// and text xclip puts there is announced to the client (a Format List
// with CF_UNICODETEXT) and arrives when the client asks for it. Seen:
// chansrv announces capabilities version 2 with flags 0x0e (long names,
// file streams, no file paths) and offers CF_UNICODETEXT, CF_LOCALE (16),
// CF_TEXT and CF_OEMTEXT for X text.
func TestXRDPClipboard(t *testing.T) {
	peers.Require(t, "xrdp-chansrv", "xclip")
	srv := peers.StartXRDP(t, peers.XRDPOptions{})
	rec := &clipRecorder{}
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls",
		Clipboard: rec, Logger: logger})
	x := srv.WaitSession(t, 30*time.Second)

	// Client to session. The text is announced once chansrv's Monitor
	// Ready arrives; chansrv asks for it when xclip reads the selection.
	const local = "héllo from racgate"
	if err := s.c.SetClipboardText(local); err != nil {
		t.Fatal(err)
	}
	var got string
	for deadline := time.Now().Add(30 * time.Second); got != local; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := x.Command(ctx, "xclip", "-o", "-selection", "clipboard").Output()
		cancel()
		got = string(out)
		if time.Now().After(deadline) {
			t.Fatalf("xclip -o read %q (%v), want %q", got, err, local)
		}
		if got != local {
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("xclip read %q", got)

	// Session to client: xclip owns the selection (in the foreground,
	// -quiet, until it is killed). The text stays in the BMP: xrdp 0.9
	// cuts characters beyond it to 16 bits when it converts UTF-8 to
	// UTF-16 (seen: U+1F600 arrived as U+F600).
	const remote = "Grüße aus X, ✓ €"
	formatsBefore, _ := rec.counts()
	cmd := x.Command(context.Background(), "xclip", "-i", "-selection", "clipboard", "-quiet")
	cmd.Stdin = strings.NewReader(remote)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var formats []rdp.ClipboardFormat
	for deadline := time.Now().Add(15 * time.Second); ; {
		rec.mu.Lock()
		for _, f := range rec.formats[min(formatsBefore, len(rec.formats)):] {
			if slices.ContainsFunc(f, func(f rdp.ClipboardFormat) bool { return f.ID == rdp.CFUnicodeText }) {
				formats = f
			}
		}
		rec.mu.Unlock()
		if formats != nil {
			break
		}
		select {
		case err := <-s.errc:
			t.Fatalf("Run ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Format List with CF_UNICODETEXT after xclip -i (lists: %+v)", rec.formats)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("xrdp offers %+v", formats)
	_, dataBefore := rec.counts()
	if err := s.c.RequestClipboard(rdp.CFUnicodeText); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		if _, n := rec.counts(); n > dataBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no Format Data Response")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec.mu.Lock()
	a := rec.data[dataBefore]
	rec.mu.Unlock()
	text, _ := rdp.ClipboardText(a.format, a.data)
	t.Logf("Format Data Response: ok %v, % x", a.ok, a.data)
	if a.format != rdp.CFUnicodeText || !a.ok || text != remote {
		t.Fatalf("received %q (format %d, ok %v), want %q", text, a.format, a.ok, remote)
	}
	s.stop(t)
}
