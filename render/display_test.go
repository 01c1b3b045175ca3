package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// client is a viewer's far end: it decodes what the viewer sends into a wire.Canvas,
// the way a browser would, and acknowledges frames.
type client struct {
	t  *testing.T
	v  *Viewer
	mu sync.Mutex

	canvas  *wire.Canvas
	types   []wire.Type
	images  []uint8 // IMAGE encodings in order
	jpegs   [][]byte
	frames  []uint32
	first   *image.RGBA // the canvas at the first FRAME
	err     error
	stalled bool          // don't acknowledge
	gate    chan struct{} // when set, each send waits for a receive from it
	inSend  chan struct{} // when set, signalled as a send starts
	done    chan error
}

func newClient(t *testing.T, d *Display) *client {
	c := &client{t: t, canvas: wire.NewCanvas(), done: make(chan error, 1)}
	c.v = d.NewViewer(c.send)
	return c
}

func (c *client) run(ctx context.Context) {
	go func() { c.done <- c.v.Run(ctx) }()
}

func (c *client) send(b []byte) error {
	if c.inSend != nil {
		select {
		case c.inSend <- struct{}{}:
		default:
		}
	}
	if c.gate != nil {
		<-c.gate
	}
	if len(b) > wire.MaxServerMessage {
		return fmt.Errorf("message of %d bytes", len(b))
	}
	b = bytes.Clone(b) // the viewer reuses b: prove we don't depend on it
	c.mu.Lock()
	defer c.mu.Unlock()
	err := wire.Decode(b, func(m wire.Message) error {
		c.types = append(c.types, m.Type())
		switch m := m.(type) {
		case wire.Image:
			c.images = append(c.images, m.Encoding)
			if m.Encoding == wire.JPEG {
				c.jpegs = append(c.jpegs, m.Data)
			}
		case wire.Frame:
			c.frames = append(c.frames, m.ID)
			if want := uint32(len(c.frames)); m.ID != want {
				return fmt.Errorf("frame id %d, want %d", m.ID, want)
			}
			if !c.stalled {
				c.v.Ack(m.ID)
			}
		}
		if err := c.canvas.Apply(m); err != nil {
			return err
		}
		if m.Type() == wire.TypeFrame && c.first == nil {
			img := c.canvas.Image()
			c.first = &image.RGBA{Pix: bytes.Clone(img.Pix), Stride: img.Stride, Rect: img.Rect}
		}
		return nil
	})
	if err != nil && c.err == nil {
		c.err = err
	}
	return err
}

func (c *client) setStalled(s bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stalled = s
	if !s && len(c.frames) > 0 {
		c.v.Ack(c.frames[len(c.frames)-1])
	}
}

// diff describes the first difference between the canvas and fb, or "".
func (c *client) diff(fb *Framebuffer) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return "client error: " + c.err.Error()
	}
	img := c.canvas.Image()
	if img.Rect.Dx() != fb.Width || img.Rect.Dy() != fb.Height {
		return fmt.Sprintf("canvas %v, framebuffer %dx%d", img.Rect.Size(), fb.Width, fb.Height)
	}
	for y := 0; y < fb.Height; y++ {
		for x := 0; x < fb.Width; x++ {
			o, p := img.PixOffset(x, y), y*fb.Stride+x*BytesPerPixel
			if !bytes.Equal(img.Pix[o:o+3], fb.Pix[p:p+3]) {
				return fmt.Sprintf("pixel (%d,%d): canvas %v, framebuffer %v", x, y, img.Pix[o:o+3], fb.Pix[p:p+3])
			}
		}
	}
	return ""
}

// converge waits until the canvas equals the display.
func (c *client) converge(d *Display) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := c.diff(d.Snapshot())
		if s == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("did not converge: %s (stats %+v)", s, c.v.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *client) seen() ([]wire.Type, []uint8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wire.Type(nil), c.types...), append([]uint8(nil), c.images...)
}

func (c *client) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.types, c.images = nil, nil
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// randOps drives a display with random operations of every kind.
type randOps struct {
	noResize bool
	rng      *rand.Rand
	lastCopy image.Rectangle // repeated to scroll
	lastSrc  image.Point
	jpegs    [][]byte // pre-encoded JPEGs, 8..40 px
	sizes    []image.Point
}

func newRandOps(seed uint64) *randOps {
	r := &randOps{rng: rand.New(rand.NewPCG(seed, 7))}
	for i := 0; i < 4; i++ {
		w, h := 8+r.rng.IntN(33), 8+r.rng.IntN(33)
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for j := range img.Pix {
			img.Pix[j] = uint8(r.rng.IntN(256))
		}
		var b bytes.Buffer
		jpeg.Encode(&b, img, &jpeg.Options{Quality: 50})
		r.jpegs = append(r.jpegs, b.Bytes())
		r.sizes = append(r.sizes, image.Pt(w, h))
	}
	return r
}

func (r *randOps) rect(fb image.Rectangle) image.Rectangle {
	x, y := r.rng.IntN(fb.Dx()+8)-4, r.rng.IntN(fb.Dy()+8)-4
	return image.Rect(x, y, x+1+r.rng.IntN(fb.Dx()/2+1), y+1+r.rng.IntN(fb.Dy()/2+1))
}

func (r *randOps) colour() color.RGBA {
	return color.RGBA{uint8(r.rng.IntN(4) * 85), uint8(r.rng.IntN(256)), uint8(r.rng.IntN(2) * 255), 255}
}

// step does one random operation; it returns true for EndFrame.
func (r *randOps) step(t *testing.T, d *Display, size *image.Point) bool {
	fb := image.Rectangle{Max: *size}
	switch k := r.rng.IntN(100); {
	case k < 2 && !r.noResize:
		*size = image.Pt(20+r.rng.IntN(120), 20+r.rng.IntN(100))
		d.Resize(size.X, size.Y)
	case k < 2:
	case k < 25:
		rc := r.rect(fb)
		pix := make([]byte, rc.Dx()*rc.Dy()*4)
		switch r.rng.IntN(3) {
		case 0: // noise
			for i := range pix {
				pix[i] = uint8(r.rng.IntN(256))
			}
		case 1: // a few colours, like text
			cs := []color.RGBA{r.colour(), r.colour(), r.colour()}
			for i := 0; i < len(pix); i += 4 {
				c := cs[r.rng.IntN(len(cs))]
				pix[i], pix[i+1], pix[i+2] = c.R, c.G, c.B
			}
		default: // gradient, many colours but smooth
			for i := 0; i < len(pix); i += 4 {
				pix[i], pix[i+1], pix[i+2] = uint8(i), uint8(i>>3), uint8(i>>6)
			}
		}
		// Half the time decoded in place (PixelWriter), where the rectangle fits.
		if r.rng.IntN(2) == 0 && d.WritePixels(rc, func(dst []byte, stride int) {
			for y := range rc.Dy() {
				copy(dst[y*stride:][:rc.Dx()*4], pix[y*rc.Dx()*4:])
			}
		}) {
			break
		}
		d.SetPixels(rc, pix, rc.Dx()*4)
	case k < 40:
		d.Fill(r.rect(fb), r.colour())
	case k < 55 && !r.lastCopy.Empty():
		// Scrolling: the same copy again (composed with the pending one), now and then
		// the other way, or onto a larger area.
		rc, src := r.lastCopy, r.lastSrc
		switch r.rng.IntN(5) {
		case 0:
			src = rc.Min.Add(rc.Min.Sub(src))
		case 1:
			rc = rc.Inset(-r.rng.IntN(6))
		case 2: // inside the pending copy: not composed
			rc = image.Rectangle{rc.Min, rc.Max.Sub(image.Pt(r.rng.IntN(4), 1+r.rng.IntN(4)))}
		}
		d.Copy(rc, src)
		if r.rng.IntN(2) == 0 { // the new line
			d.Fill(image.Rect(rc.Min.X, rc.Max.Y-2, rc.Max.X, rc.Max.Y), r.colour())
		}
	case k < 70:
		rc := r.rect(fb)
		// Mostly small shifts (scrolling, overlapping), sometimes anywhere.
		src := rc.Min.Add(image.Pt(r.rng.IntN(17)-8, r.rng.IntN(17)-8))
		if r.rng.IntN(4) == 0 {
			src = image.Pt(r.rng.IntN(fb.Dx()+4)-2, r.rng.IntN(fb.Dy()+4)-2)
		}
		d.Copy(rc, src)
		r.lastCopy, r.lastSrc = rc, src
	case k < 85:
		i := r.rng.IntN(len(r.jpegs))
		sz := r.sizes[i]
		x, y := r.rng.IntN(fb.Dx()+4)-2, r.rng.IntN(fb.Dy()+4)-2 // sometimes partly outside
		if r.rng.IntN(4) > 0 && sz.X <= fb.Dx() && sz.Y <= fb.Dy() {
			x, y = r.rng.IntN(fb.Dx()-sz.X+1), r.rng.IntN(fb.Dy()-sz.Y+1)
		}
		if err := d.DrawJPEG(image.Rectangle{image.Pt(x, y), image.Pt(x, y).Add(sz)}, r.jpegs[i]); err != nil {
			t.Fatal(err)
		}
	case k < 87:
		img := image.NewRGBA(image.Rect(0, 0, 1+r.rng.IntN(16), 1+r.rng.IntN(16)))
		img.Pix[0] = uint8(k)
		d.SetCursor(img, image.Pt(r.rng.IntN(3), r.rng.IntN(3)))
	default:
		d.EndFrame()
		return true
	}
	return false
}

func TestConvergesAfterRandomOps(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	// Two viewers (fast and stalled) share encoded regions; alone, the fast one uses
	// its deflate stream.
	variants := []struct {
		name  string
		o     Options
		alone bool
	}{
		{"default", DefaultOptions(), false},
		{"tile16", Options{TileSize: 16, Passthrough: true}, false},
		{"tile8", Options{TileSize: 8, Passthrough: true, MaxInFlight: 1}, false},
		{"small-limits", Options{TileSize: 16, MaxPendingOps: 2, MaxPendingBytes: 3000, MaxInFlight: 1, Passthrough: true}, false},
		{"no-merge-no-copy", Options{TileSize: 32, DisableMerge: true, DisableCopy: true}, false},
		{"no-fill-no-palette", Options{TileSize: 8, DisableFill: true, DisablePalette: true, ZlibLevel: 9}, false},
		{"pool", Options{TileSize: 16, Pool: pool, Passthrough: true}, false},
		{"jpeg-refresh", Options{TileSize: 16, JPEGQuality: 40, JPEGMinPixels: 64, RefreshDelay: 20 * time.Millisecond, Passthrough: true}, false},
		{"min-frame-interval", Options{TileSize: 16, MinFrameInterval: 20 * time.Millisecond, MaxInFlight: 1, Passthrough: true}, false},
		{"no-frame-limit", Options{TileSize: 16, MinFrameInterval: 0, Passthrough: true}, false},
		{"alone", DefaultOptions(), true},
		{"alone-tile16-jpeg", Options{TileSize: 16, JPEGQuality: 40, JPEGMinPixels: 64, RefreshDelay: 20 * time.Millisecond, Passthrough: true}, true},
	}
	for _, vr := range variants {
		// Whether a seed's run takes the lossy path depends on how the viewer
		// interleaves with the ops (timing, on a loaded machine): a lossy variant
		// must send JPEG in some of its runs, not in each.
		jpegRuns := 0
		defer func() {
			if vr.o.JPEGQuality > 0 && jpegRuns == 0 && !t.Failed() {
				t.Errorf("%s: no JPEG region in any of the lossy runs", vr.name)
			}
		}()
		for seed := uint64(1); seed <= 6; seed++ {
			t.Run(fmt.Sprintf("%s/%d", vr.name, seed), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				d := NewDisplay(vr.o)
				defer d.Close()
				d.blankCopy = 1024 // a lone viewer's full frames in batches of 256 pixels
				size := image.Pt(97, 61)
				d.Resize(size.X, size.Y)
				fast := newClient(t, d)
				fast.run(ctx)
				clients := []*client{fast}
				var stalled *client
				if !vr.alone {
					stalled = newClient(t, d)
					stalled.setStalled(true)
					stalled.run(ctx)
					clients = append(clients, stalled)
				}
				r := newRandOps(seed)
				for i := 0; i < 400; i++ {
					r.step(t, d, &size)
					if i%50 == 0 {
						time.Sleep(time.Millisecond) // let the viewers interleave
					}
				}
				d.EndFrame()
				fast.converge(d)
				counts := fast.v.Stats().Counts
				if counts.JPEG > 0 {
					jpegRuns++
				}
				if shared := counts.Shared + counts.SharedMiss; (shared == 0) != vr.alone {
					t.Errorf("%d regions through the cache (alone %v)", shared, vr.alone)
				}
				if stalled != nil {
					st := stalled.v.Stats()
					if st.Frames > uint64(d.opts.MaxInFlight) {
						t.Errorf("stalled viewer was sent %d frames with %d in flight allowed", st.Frames, d.opts.MaxInFlight)
					}
					stalled.setStalled(false)
					stalled.converge(d)
				}
				cancel()
				for _, c := range clients {
					if err := <-c.done; !errors.Is(err, context.Canceled) {
						t.Errorf("Run: %v", err)
					}
				}
			})
		}
	}
}
