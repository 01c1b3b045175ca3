package vnc_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/vnc"
	"github.com/racgate/racgate/render"
)

// syncSink is a render.Framebuffer that tests can read while Run writes.
type syncSink struct {
	mu     sync.Mutex
	fb     render.Framebuffer
	jpegs  int
	copies int
	cursor *image.RGBA
}

func (s *syncSink) Resize(w, h int) { s.mu.Lock(); s.fb.Resize(w, h); s.mu.Unlock() }
func (s *syncSink) SetPixels(r image.Rectangle, pix []byte, stride int) {
	s.mu.Lock()
	s.fb.SetPixels(r, pix, stride)
	s.mu.Unlock()
}
func (s *syncSink) Fill(r image.Rectangle, c color.RGBA) { s.mu.Lock(); s.fb.Fill(r, c); s.mu.Unlock() }
func (s *syncSink) Copy(dst image.Rectangle, src image.Point) {
	s.mu.Lock()
	s.copies++
	s.fb.Copy(dst, src)
	s.mu.Unlock()
}
func (s *syncSink) DrawJPEG(r image.Rectangle, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jpegs++
	return s.fb.DrawJPEG(r, data)
}
func (s *syncSink) SetCursor(img *image.RGBA, hot image.Point) {
	s.mu.Lock()
	s.cursor = img
	s.fb.SetCursor(img, hot)
	s.mu.Unlock()
}
func (s *syncSink) EndFrame() { s.mu.Lock(); s.fb.EndFrame(); s.mu.Unlock() }

func (s *syncSink) frames() int              { s.mu.Lock(); defer s.mu.Unlock(); return s.fb.Frames }
func (s *syncSink) copyCount() int           { s.mu.Lock(); defer s.mu.Unlock(); return s.copies }
func (s *syncSink) cursorImage() *image.RGBA { s.mu.Lock(); defer s.mu.Unlock(); return s.cursor }
func (s *syncSink) jpegCount() int           { s.mu.Lock(); defer s.mu.Unlock(); return s.jpegs }
func (s *syncSink) size() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fb.Width, s.fb.Height
}

// diff compares the framebuffer with img: pixels that differ and the mean
// absolute error per channel over those pixels.
func (s *syncSink) diff(img *image.RGBA) (bad int, mae float64, first string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := img.Bounds()
	if s.fb.Width != b.Dx() || s.fb.Height != b.Dy() {
		return b.Dx() * b.Dy(), 255, fmt.Sprintf("size %dx%d, screen %v", s.fb.Width, s.fb.Height, b.Size())
	}
	var sum int64
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			o := y*s.fb.Stride + x*4
			p := img.PixOffset(x, y)
			d := 0
			for c := range 3 {
				v := int(s.fb.Pix[o+c]) - int(img.Pix[p+c])
				if v < 0 {
					v = -v
				}
				d += v
			}
			if d != 0 {
				if bad == 0 {
					first = fmt.Sprintf("(%d,%d): got %v, screen %v", x, y, s.fb.Pix[o:o+3], img.Pix[p:p+3])
				}
				bad++
				sum += int64(d)
			}
		}
	}
	if bad == 0 {
		return 0, 0, ""
	}
	return bad, float64(sum) / float64(3*bad), first
}

// session is a running client.
type session struct {
	c      *vnc.Client
	sink   *syncSink
	errc   chan error
	cancel context.CancelFunc
	once   sync.Once
}

// stop ends the session and waits for Run; afterwards the client's decode
// statistics may be read.
func (s *session) stop(t *testing.T) {
	s.once.Do(func() {
		s.cancel()
		s.c.Close()
		select {
		case err := <-s.errc:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Run: %v", err)
			}
			t.Logf("decoded: %s", vnc.DecodeStats(s.c))
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func connect(t *testing.T, addr string, cfg vnc.Config) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := &session{sink: &syncSink{}, errc: make(chan error, 1)}
	c, err := vnc.Dial(ctx, addr, cfg, s.sink)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	s.c = c
	runCtx, stop := context.WithCancel(context.Background())
	s.cancel = stop
	go func() { s.errc <- c.Run(runCtx) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// waitMatch waits until the decoded framebuffer equals the X screen: exactly
// for maxMAE 0, else with a mean absolute error per channel, over the pixels
// that differ, of at most maxMAE (lossy JPEG).
func waitMatch(t *testing.T, x *peers.X, s *session, maxMAE float64) {
	t.Helper()
	// TigerVNC draws the pointer into the framebuffer while it is not where
	// this client last put it; xwd never shows the pointer. Put it over the
	// first xterm, whose I-beam cursor then arrives as a Cursor rectangle.
	// Xvnc polls the pointer position and only stops drawing the pointer when
	// it sees it move, so move it twice, a poll apart.
	for i, p := range []image.Point{{50, 50}, {100, 60}} {
		if i > 0 {
			time.Sleep(150 * time.Millisecond)
		}
		if err := s.c.PointerEvent(0, p.X, p.Y); err != nil {
			t.Fatal(err)
		}
	}
	screen := peers.WaitStill(t, x, 150*time.Millisecond, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		bad, mae, first := s.sink.diff(screen)
		if (maxMAE == 0 && bad == 0) || (maxMAE > 0 && mae <= maxMAE) {
			t.Logf("framebuffer matches the screen: %d pixels differ, mean abs error there %.2f", bad, mae)
			return
		}
		select {
		case err := <-s.errc:
			t.Fatalf("Run ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("framebuffer differs from the screen: %d pixels, mean abs error %.3f; first %s", bad, mae, first)
		}
		time.Sleep(100 * time.Millisecond)
		screen = x.Screenshot(t)
	}
}

// desktop starts Xvnc with coloured content: a solid root, an xterm with
// text, a 256-colour xterm block and xlogo.
func desktop(t *testing.T, o peers.XvncOptions) *peers.X {
	t.Helper()
	peers.Require(t, "Xvnc", "xwd", "xsetroot", "xterm")
	x := peers.StartXvnc(t, o)
	addContent(t, x)
	return x
}

// addContent draws on x's screen.
func addContent(t *testing.T, x *peers.X) {
	t.Helper()
	x.Run(t, "xsetroot", "-solid", "#2a6f97")
	x.Start(t, "xterm", "-geometry", "60x15+20+20", "-bg", "black", "-fg", "#d0ffd0",
		"-e", "sh", "-c", "printf 'racgate VNC test: h\\303\\251llo\\n'; ls -la /usr/bin | head -12; exec sleep 600")
	// A block of many colours, so Tight has photo-like content for JPEG.
	x.Start(t, "xterm", "-geometry", "64x16+420+300", "-bg", "white", "-e", "sh", "-c",
		`i=0; while [ $i -lt 16 ]; do j=0; while [ $j -lt 64 ]; do printf '\033[48;2;%d;%d;%dm ' $((i*16)) $((j*4)) $((255-i*8-j*2)); j=$((j+1)); done; printf '\033[0m\n'; i=$((i+1)); done; exec sleep 600`)
	if _, ok := peers.Lookup("xlogo"); ok {
		x.Start(t, "xlogo", "-geometry", "150x150+800+40", "-fg", "red", "-bg", "yellow")
	}
}

func itoaT(i int) string { return fmt.Sprint(i) }
