package render

import (
	"context"
	"image"
	"image/color"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/racgate/racgate/render/wire"
)

// TestStandaloneRefresh: after Refresh, a standalone viewer's messages from the RESIZE
// on, drawn on an empty canvas with a new inflater, give the screen, though the frames
// before were pieces of the same viewer's stream: a recording can be played from any
// key frame. Its deflate level is its own.
func TestStandaloneRefresh(t *testing.T) {
	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(200, 120)
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(r image.Rectangle) {
		pix := make([]byte, r.Dx()*r.Dy()*BytesPerPixel)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		d.SetPixels(r, pix, r.Dx()*BytesPerPixel)
	}
	d.Fill(d.Snapshot().Bounds(), color.RGBA{10, 20, 30, 255})
	noise(image.Rect(0, 0, 70, 50))
	d.EndFrame()

	var mu sync.Mutex
	var msgs [][]byte
	var v *Viewer
	v = d.NewViewerWith(func(b []byte) error {
		mu.Lock()
		msgs = append(msgs, append([]byte(nil), b...))
		mu.Unlock()
		return wire.Decode(b, func(m wire.Message) error {
			if f, ok := m.(wire.Frame); ok {
				v.Ack(f.ID)
			}
			return nil
		})
	}, ViewerOptions{Standalone: true, ZlibLevel: 9})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	waitFor(t, "the first frame", func() bool { return v.Stats().Frames >= 1 })
	for i := range 5 { // changes after the first frame, some copied
		// Counted before EndFrame: the frame may be sent before Stats is read after it.
		n := v.Stats().Frames
		noise(image.Rect(20*i, 60, 20*i+40, 100))
		d.Copy(image.Rect(100, 0, 160, 40), image.Pt(0, 0))
		d.EndFrame()
		waitFor(t, "a frame", func() bool { return v.Stats().Frames > n })
	}
	mu.Lock()
	keyAt := len(msgs)
	streamed := 0
	for _, b := range msgs {
		wire.Decode(b, func(m wire.Message) error {
			if im, ok := m.(wire.Image); ok && (im.Encoding == wire.ZRGB || im.Encoding == wire.ZPalette) {
				streamed++
			}
			return nil
		})
	}
	mu.Unlock()
	if streamed < 5 {
		t.Fatalf("%d stream pieces before the key frame: the test needs the stream to run on", streamed)
	}
	if v.enc.level != 9 {
		t.Errorf("the viewer's deflate level is %d, want 9", v.enc.level)
	}
	n := v.Stats().Frames
	v.Refresh()
	waitFor(t, "the key frame", func() bool { return v.Stats().Frames > n })

	mu.Lock()
	defer mu.Unlock()
	if len(msgs) <= keyAt || wire.Type(msgs[keyAt][0]) != wire.TypeResize {
		for _, b := range msgs[keyAt-2:] {
			t.Logf("message of type %v, %d bytes", wire.Type(b[0]), len(b))
		}
		t.Fatalf("the message after Refresh does not begin with RESIZE")
	}
	c := wire.NewCanvas()
	types := map[wire.Type]bool{}
	for _, b := range msgs[keyAt:] {
		if err := wire.Decode(b, func(m wire.Message) error {
			types[m.Type()] = true
			return c.Apply(m)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !types[wire.TypeCursor] {
		t.Error("the key frame has no CURSOR")
	}
	fb := d.Snapshot()
	img := c.Image()
	for y := range fb.Height {
		for x := range fb.Width {
			o, p := img.PixOffset(x, y), y*fb.Stride+x*BytesPerPixel
			if img.Pix[o] != fb.Pix[p] || img.Pix[o+1] != fb.Pix[p+1] || img.Pix[o+2] != fb.Pix[p+2] {
				t.Fatalf("pixel (%d,%d) drawn from the key frame %v, screen %v", x, y, img.Pix[o:o+3], fb.Pix[p:p+3])
			}
		}
	}
}
