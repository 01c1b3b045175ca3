package vnc_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/vnc"
)

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestXvncSetDesktopSize(t *testing.T) {
	t.Parallel()
	peers.Require(t, "xdpyinfo")
	x := desktop(t, peers.XvncOptions{})
	s := connect(t, x.Addr, vnc.Config{QualityLevel: -1, CompressLevel: -1})
	eventually(t, 5*time.Second, "ExtendedDesktopSize", s.c.CanResize)
	if err := s.c.SetDesktopSize(800, 600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the new size", func() bool { w, h := s.c.Size(); return w == 800 && h == 600 })
	if out := string(x.Run(t, "xdpyinfo")); !strings.Contains(out, "800x600 pixels") {
		t.Fatalf("X screen did not change size:\n%s", out)
	}
	if w, h := s.sink.size(); w != 800 || h != 600 {
		t.Fatalf("sink is %dx%d", w, h)
	}
	waitMatch(t, x, s, 0)
	if err := s.c.SetDesktopSize(0, 10); err == nil {
		t.Fatal("SetDesktopSize(0, 10) accepted")
	}
}

const clipText = "héllo ✓ 世界\nline two"

func TestXvncClipboard(t *testing.T) {
	t.Parallel()
	peers.Require(t, "xclip")
	x := desktop(t, peers.XvncOptions{})
	var mu sync.Mutex
	var got []string
	s := connect(t, x.Addr, vnc.Config{QualityLevel: -1, CompressLevel: -1, OnClipboard: func(text string) {
		mu.Lock()
		got = append(got, text)
		mu.Unlock()
	}})
	waitMatch(t, x, s, 0) // the session is up and the caps were exchanged

	// Client to server: Xvnc owns CLIPBOARD (and PRIMARY) and asks us for
	// the text when an X client reads it.
	if err := s.c.SetClipboard(clipText); err != nil {
		t.Fatal(err)
	}
	var out string
	eventually(t, 10*time.Second, "xclip to read our text", func() bool {
		out = string(x.Run(t, "xclip", "-o", "-selection", "clipboard"))
		return out == clipText
	})
	if p := string(x.Run(t, "xclip", "-o", "-selection", "primary")); p != clipText {
		t.Logf("PRIMARY holds %q (Xvnc SetPrimary off?)", p)
	}

	// Server to client: an X client takes CLIPBOARD; Xvnc notifies, we
	// request, it provides UTF-8.
	const fromX = "from X: ✓ 世界 ünïcode"
	f := filepath.Join(x.Dir, "clip.txt")
	if err := os.WriteFile(f, []byte(fromX), 0o600); err != nil {
		t.Fatal(err)
	}
	x.Start(t, "xclip", "-quiet", "-selection", "clipboard", "-i", f)
	eventually(t, 10*time.Second, "the X clipboard to arrive", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range got {
			if g == fromX {
				return true
			}
		}
		return false
	})
}

// Xvnc sends Fence requests with its updates and stops updating a client that
// does not answer them: a busy screen must keep arriving for several seconds.
func TestXvncFenceKeepsUpdating(t *testing.T) {
	t.Parallel()
	x := desktop(t, peers.XvncOptions{})
	x.Start(t, "xterm", "-geometry", "30x5+600+600", "-e", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done")
	s := connect(t, x.Addr, vnc.Config{QualityLevel: -1, CompressLevel: -1})
	eventually(t, 10*time.Second, "the first frames", func() bool { return s.sink.frames() >= 3 })
	// A rate over real time: each second must bring frames of the ticking xterm.
	for sec := range 3 {
		before := s.sink.frames()
		time.Sleep(time.Second)
		if n := s.sink.frames() - before; n < 3 {
			t.Fatalf("second %d: only %d frames while the screen changes", sec+1, n)
		}
	}
}

func TestX11vnc(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvfb", "x11vnc", "xwd", "xsetroot", "xterm")
	x := peers.StartXvfb(t, "1024x768", 24)
	addContent(t, x)
	addr := peers.StartX11vnc(t, x)
	cases := []struct {
		enc     int32
		quality int
		maxMAE  float64
	}{
		{vnc.EncodingTight, -1, 0}, {vnc.EncodingTight, 8, 8}, {vnc.EncodingZRLE, -1, 0},
		{vnc.EncodingHextile, -1, 0}, {vnc.EncodingZlib, -1, 0},
	}
	for _, tc := range cases {
		s := connect(t, addr, vnc.Config{Encodings: []int32{tc.enc}, QualityLevel: tc.quality, CompressLevel: -1, Shared: true})
		waitMatch(t, x, s, tc.maxMAE)
		if w, h := s.c.Size(); w != 1024 || h != 768 {
			t.Fatalf("size %dx%d", w, h)
		}
		s.stop(t)
		if vnc.RectCount(s.c, tc.enc) == 0 {
			t.Errorf("no rectangle arrived in %d", tc.enc)
		}
	}
	// x11vnc announces ExtendedDesktopSize but refuses SetDesktopSize: the
	// session goes on at the old size.
	// The refusal is an ExtendedDesktopSize rectangle with a non-zero
	// status, which the client logs: once it is logged, the size must be
	// the old one.
	logs := &logWatch{}
	s := connect(t, addr, vnc.Config{QualityLevel: -1, CompressLevel: -1, Shared: true, Logger: slog.New(logs)})
	eventually(t, 5*time.Second, "ExtendedDesktopSize", s.c.CanResize)
	if err := s.c.SetDesktopSize(640, 480); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the refusal of SetDesktopSize", func() bool { return logs.has("SetDesktopSize refused") })
	if w, h := s.c.Size(); w != 1024 || h != 768 {
		t.Fatalf("size %dx%d after a refused resize", w, h)
	}
	waitMatch(t, x, s, 0)
	if w, h := s.sink.size(); w != 1024 || h != 768 {
		t.Fatalf("framebuffer %dx%d after a refused resize", w, h)
	}
}

// logWatch is a slog.Handler that keeps the messages it is given.
type logWatch struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (l *logWatch) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logWatch) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logWatch) WithGroup(string) slog.Handler      { return l }

// has reports whether a message containing s was logged.
func (l *logWatch) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
