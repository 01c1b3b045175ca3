package rdp_test

import (
	"bytes"
	"context"
	"encoding/binary"
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

// TestXRDPClipboardImage copies images both ways through xrdp's chansrv,
// which maps the X target image/bmp to CF_DIB. A BMP written by hand and
// put on the session's CLIPBOARD with xclip arrives at
// Config.ClipboardContent as that image, pixel for pixel; an image set
// with SetClipboardContent is what xclip reads as image/bmp, parsed by
// hand. Seen: xrdp 0.9.21 gives X a DIB of up to 32 KiB (one it takes in
// one piece) without its last 14 bytes; a larger one (streamed) whole.
func TestXRDPClipboardImage(t *testing.T) {
	peers.Require(t, "xrdp-chansrv", "xclip")
	srv := peers.StartXRDP(t, peers.XRDPOptions{})
	type delivery struct {
		content rdp.ClipboardContent
		err     error
	}
	got := make(chan delivery, 16)
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls", Logger: logger,
		ClipboardContent: func(c rdp.ClipboardContent, err error) { got <- delivery{c, err} }})
	x := srv.WaitSession(t, 30*time.Second)

	// Session to client.
	bmp, want := peers.BMP(64, 48)
	x.CopyBMP(t, bmp)
	for deadline := time.After(20 * time.Second); ; {
		select {
		case d := <-got:
			if d.err != nil || d.content.Image == nil {
				t.Logf("ClipboardContent %q, %v: not the image yet", d.content.Text, d.err)
				continue
			}
			if d.content.Text != "" || d.content.HTML != "" {
				t.Errorf("text %q, HTML %q with the image", d.content.Text, d.content.HTML)
			}
			if bad, first := peers.DiffImages(want, d.content.Image); bad != 0 {
				t.Fatalf("the image from X: %d pixels differ, first %s", bad, first)
			}
			t.Logf("the %v image from X arrived pixel for pixel", d.content.Image.Bounds())
		case err := <-s.errc:
			t.Fatalf("Run ended: %v", err)
		case <-deadline:
			t.Fatal("no image from xclip's image/bmp")
		}
		break
	}

	// Client to session: a DIB over 32 KiB, which arrives whole, and a
	// small one, which xrdp 0.9.21 cuts.
	for _, size := range [][2]int{{128, 96}, {40, 30}} {
		_, img := peers.BMP(size[0], size[1])
		if err := s.c.SetClipboardContent(rdp.ClipboardContent{Image: img}); err != nil {
			t.Fatal(err)
		}
		var out []byte
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var err error
			out, err = x.Command(ctx, "xclip", "-o", "-selection", "clipboard", "-t", "image/bmp").Output()
			cancel()
			if err == nil && len(out) >= 54 && int(binary.LittleEndian.Uint32(out[18:])) == size[0] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("xclip -o -t image/bmp: %v, % x", err, out[:min(len(out), 64)])
			}
		}
		back, missing, err := peers.ParseBMP(out)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case missing == 0:
		case missing == 14 && len(out)-14 <= 32<<10:
			// xrdp 0.9.21's short DIB: all but its last 14 bytes, the
			// right end of the top row (the last row, bottom-up).
			cut := (14 + 2) / 3
			for x := size[0] - cut; x < size[0]; x++ {
				back.SetNRGBA(x, 0, img.NRGBAAt(x, 0))
			}
			t.Logf("%dx%d: xrdp dropped the last 14 bytes of the DIB", size[0], size[1])
		default:
			t.Fatalf("%dx%d: %d bytes of pixels missing from %d", size[0], size[1], missing, len(out))
		}
		if bad, first := peers.DiffImages(img, back); bad != 0 {
			t.Fatalf("%dx%d image read by xclip: %d pixels differ, first %s", size[0], size[1], bad, first)
		}
		t.Logf("%dx%d image read by xclip as a %d-byte BMP, pixel for pixel", size[0], size[1], len(out))
	}
	s.stop(t)
}
