package rdp_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render"
)

// syncSink is a render.Framebuffer that tests can read while Run writes.
type syncSink struct {
	mu      sync.Mutex
	fb      render.Framebuffer
	cursors int
	cursor  *image.RGBA
	// quantize maps a screen pixel to what the colour depth can show.
	quantize func(r, g, b byte) (byte, byte, byte)
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
	s.fb.Copy(dst, src)
	s.mu.Unlock()
}
func (s *syncSink) DrawJPEG(r image.Rectangle, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fb.DrawJPEG(r, data)
}
func (s *syncSink) SetCursor(img *image.RGBA, hot image.Point) {
	s.mu.Lock()
	s.cursors++
	s.cursor = img
	if os.Getenv("RDPDEBUG") != "" {
		if img != nil {
			fmt.Println("cursor", img.Bounds(), hot, opaque(img))
		} else {
			fmt.Println("cursor nil")
		}
	}
	s.fb.SetCursor(img, hot)
	s.mu.Unlock()
}
func (s *syncSink) EndFrame() { s.mu.Lock(); s.fb.EndFrame(); s.mu.Unlock() }

func (s *syncSink) frames() int { s.mu.Lock(); defer s.mu.Unlock(); return s.fb.Frames }

// diff compares the framebuffer with img: pixels that differ and the first.
func (s *syncSink) diff(img *image.RGBA) (bad int, first string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := img.Bounds()
	if s.fb.Width != b.Dx() || s.fb.Height != b.Dy() {
		return b.Dx() * b.Dy(), fmt.Sprintf("size %dx%d, screen %v", s.fb.Width, s.fb.Height, b.Size())
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			o := y*s.fb.Stride + x*4
			p := img.PixOffset(x, y)
			r, g, b := img.Pix[p], img.Pix[p+1], img.Pix[p+2]
			if s.quantize != nil {
				r, g, b = s.quantize(r, g, b)
			}
			if s.fb.Pix[o] != r || s.fb.Pix[o+1] != g || s.fb.Pix[o+2] != b {
				if bad == 0 {
					first = fmt.Sprintf("(%d,%d): got %v, screen %v (expected %v)", x, y, s.fb.Pix[o:o+3], img.Pix[p:p+3], []byte{r, g, b})
				}
				bad++
			}
		}
	}
	return bad, first
}

// session is a running client.
type session struct {
	c      *rdp.Client
	sink   *syncSink
	errc   chan error
	cancel context.CancelFunc
	once   sync.Once
}

func (s *session) stop(t *testing.T) {
	s.once.Do(func() {
		s.cancel()
		s.c.Close()
		select {
		case err := <-s.errc:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Run: %v", err)
			}
			t.Logf("decoded: %s", rdp.DecodeStats(s.c))
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func connect(t *testing.T, srv *peers.RDPServer, cfg rdp.Config) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := &session{sink: &syncSink{}, errc: make(chan error, 1)}
	c, err := rdp.Dial(ctx, srv.Addr, cfg, s.sink)
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, srv.Log())
	}
	s.c = c
	runCtx, stop := context.WithCancel(context.Background())
	s.cancel = stop
	go func() { s.errc <- c.Run(runCtx) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// waitMatch waits until the decoded framebuffer equals the X screen pixel
// for pixel.
func waitMatch(t *testing.T, x *peers.X, s *session) {
	t.Helper()
	waitMatchWithin(t, x, s, 0)
}

// waitMatchWithin is waitMatch allowing maxBad differing pixels.
func waitMatchWithin(t *testing.T, x *peers.X, s *session, maxBad int) {
	t.Helper()
	screen := peers.WaitStill(t, x, 150*time.Millisecond, 10*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		bad, first := s.sink.diff(screen)
		if bad <= maxBad {
			t.Logf("framebuffer matches the screen (%d frames, %d pixels differ, %s)", s.sink.frames(), bad, first)
			return
		}
		select {
		case err := <-s.errc:
			t.Fatalf("Run ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			if dir := os.Getenv("RDP_DUMP"); dir != "" {
				s.sink.dump(dir, screen)
			}
			t.Fatalf("framebuffer differs from the screen in %d pixels; first %s", bad, first)
		}
		time.Sleep(100 * time.Millisecond)
		screen = x.Screenshot(t)
	}
}

// desktop starts Xvfb with coloured content: a solid root, an xterm with
// text and xlogo.
func desktop(t *testing.T) *peers.X {
	t.Helper()
	peers.Require(t, "Xvfb", "xwd", "xsetroot", "xterm", "freerdp-shadow-cli")
	x := peers.StartXvfb(t, "1024x768", 24)
	x.Run(t, "xsetroot", "-solid", "#2a6f97")
	x.Start(t, "xterm", "-geometry", "60x15+20+20", "-bg", "black", "-fg", "#d0ffd0",
		"-e", "sh", "-c", "printf 'racgate RDP test: h\\303\\251llo\\n'; ls -la /usr/bin | head -12; exec sleep 600")
	return x
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

func (s *syncSink) cursorImage() *image.RGBA { s.mu.Lock(); defer s.mu.Unlock(); return s.cursor }

// opaque reports whether img has opaque pixels.
func opaque(img *image.RGBA) bool {
	if img == nil {
		return false
	}
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] == 255 {
			return true
		}
	}
	return false
}

// dump writes the framebuffer and the screen as PNG files into dir, for
// looking at a failed comparison.
func (s *syncSink) dump(dir string, screen *image.RGBA) {
	s.mu.Lock()
	img := image.NewRGBA(image.Rect(0, 0, s.fb.Width, s.fb.Height))
	for i := 0; i < len(img.Pix) && i < len(s.fb.Pix); i += 4 {
		copy(img.Pix[i:i+3], s.fb.Pix[i:i+3])
		img.Pix[i+3] = 255
	}
	s.mu.Unlock()
	for name, m := range map[string]*image.RGBA{"decoded.png": img, "screen.png": screen} {
		if f, err := os.Create(dir + "/" + name); err == nil {
			png.Encode(f, m)
			f.Close()
		}
	}
}
