package render

import (
	"bytes"
	"context"
	"image"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/racgate/racgate/render/wire"
)

// roundTrip encodes a region and draws the result on a canvas; it returns the canvas.
func roundTrip(t testing.TB, e *encoder, c *wire.Canvas, r image.Rectangle, pix []byte, stride int) {
	out, _ := e.region(nil, r, pix, stride, 0)
	if err := wire.Decode(out, c.Apply); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

func checkRegion(t testing.TB, c *wire.Canvas, r image.Rectangle, pix []byte, stride int, tol int) {
	img := c.Image()
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			for k := 0; k < 3; k++ {
				got := int(img.Pix[img.PixOffset(r.Min.X+x, r.Min.Y+y)+k])
				want := int(pix[y*stride+x*4+k])
				if abs(got-want) > tol {
					t.Fatalf("(%d,%d)[%d] = %d, want %d", x, y, k, got, want)
				}
			}
		}
	}
}

// textTile looks like terminal text: two colours and a few anti-aliasing shades.
func textTile(w, h int, rng *rand.Rand) []byte {
	pix := make([]byte, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 4
			v := uint8(30)
			if (x/7+y/13)%3 == 0 && rng.IntN(3) > 0 {
				v = uint8(200 + rng.IntN(4)*15)
			}
			pix[o], pix[o+1], pix[o+2] = v, v, v+10
		}
	}
	return pix
}

func photoTile(w, h int, rng *rand.Rand) []byte {
	pix := make([]byte, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 4
			pix[o], pix[o+1], pix[o+2] = uint8(x+rng.IntN(20)), uint8(y+rng.IntN(20)), uint8(x+y+rng.IntN(20))
		}
	}
	return pix
}

func TestRegionPaletteSizes(t *testing.T) {
	o := DefaultOptions().withDefaults()
	e := newEncoder(&o)
	c := wire.NewCanvas()
	c.Apply(wire.Resize{Width: 200, Height: 50})
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{2, 3, 4, 5, 16, 17, 255, 256, 257, 5000} {
		w, h := 37, 11
		pix := make([]byte, w*h*4)
		for i := 0; i < len(pix); i += 4 {
			k := rng.IntN(n)
			if i/4 < n {
				k = i / 4 // every colour at least once
			}
			pix[i], pix[i+1], pix[i+2] = uint8(k), uint8(k>>8), uint8(k*3)
		}
		before := e.counts
		r := image.Rect(3+n%7, 5, 3+n%7+w, 5+h)
		roundTrip(t, e, c, r, pix, w*4)
		checkRegion(t, c, r, pix, w*4, 0)
		gotPal := e.counts.ZPalette > before.ZPalette
		if wantPal := n <= 256; gotPal != wantPal {
			t.Errorf("%d colours: ZPALETTE %v", n, gotPal)
		}
	}
}

func FuzzRegion(f *testing.F) {
	f.Add(uint8(8), uint8(8), []byte{1, 2, 3, 4, 5, 6})
	f.Add(uint8(1), uint8(1), []byte{0})
	f.Add(uint8(64), uint8(3), []byte{0, 0, 0, 255, 255, 255, 7})
	f.Fuzz(func(t *testing.T, w, h uint8, seed []byte) {
		if w == 0 || h == 0 || len(seed) == 0 {
			return
		}
		o := Options{DisableMerge: true}.withDefaults()
		e := newEncoder(&o)
		c := wire.NewCanvas()
		c.Apply(wire.Resize{Width: int(w) + 2, Height: int(h)})
		stride := (int(w) + 2) * 4 // a stride wider than the region
		pix := make([]byte, stride*int(h))
		for i := range pix {
			pix[i] = seed[i%len(seed)] ^ byte(i/len(seed))
		}
		r := image.Rect(1, 0, 1+int(w), int(h))
		// Twice: the second piece depends on the first's deflate history.
		roundTrip(t, e, c, r, pix, stride)
		roundTrip(t, e, c, r, pix, stride)
		checkRegion(t, c, r, pix, stride, 0)
		// Shared: one-shot streams through a cache (the second time a hit, the same
		// bytes), then the stream again, undisturbed by them.
		e.env = &encodeEnv{}
		e.env.cache.init(1 << 20)
		e.shared = true
		clear(c.Image().Pix)
		first, _ := e.region(nil, r, pix, stride, 7) // one version: the same pixels
		again, _ := e.region(nil, r, pix, stride, 7)
		if !bytes.Equal(first, again) || e.counts.Shared != 1 || e.counts.SharedMiss != 1 {
			t.Fatalf("cache: %d then %d bytes, counts %+v", len(first), len(again), e.counts)
		}
		if err := wire.Decode(again, c.Apply); err != nil {
			t.Fatalf("decode: %v", err)
		}
		checkRegion(t, c, r, pix, stride, 0)
		e.shared = false
		clear(c.Image().Pix)
		roundTrip(t, e, c, r, pix, stride)
		checkRegion(t, c, r, pix, stride, 0)
	})
}

func benchRegion(b *testing.B, o Options, gen func(w, h int, rng *rand.Rand) []byte) {
	o = o.withDefaults()
	e := newEncoder(&o)
	rng := rand.New(rand.NewPCG(1, 2))
	const w, h = 256, 64
	tiles := make([][]byte, 8)
	for i := range tiles {
		tiles[i] = gen(w, h, rng)
	}
	var out []byte
	n := 0
	b.SetBytes(w * h * 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _ = e.region(out[:0], image.Rect(0, 0, w, h), tiles[i%len(tiles)], w*4, 0)
		n += len(out)
	}
	b.ReportMetric(float64(n)/float64(b.N), "wire-bytes/op")
}

func BenchmarkEncodeText(b *testing.B) { benchRegion(b, Options{}, textTile) }
func BenchmarkEncodeTextZRGB(b *testing.B) {
	benchRegion(b, Options{DisablePalette: true}, textTile)
}
func BenchmarkEncodeTextLevel6(b *testing.B) { benchRegion(b, Options{ZlibLevel: 6}, textTile) }
func BenchmarkEncodePhotoZRGB(b *testing.B)  { benchRegion(b, Options{}, photoTile) }
func BenchmarkEncodePhotoJPEG(b *testing.B) {
	benchRegion(b, Options{JPEGQuality: 70}, photoTile)
}

// BenchmarkDisplayScroll is a terminal scrolling a line at a time, one viewer that
// acknowledges at once.
func BenchmarkDisplayScroll(b *testing.B) {
	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(1024, 768)
	d.EndFrame() // the first frame is taken only at an EndFrame
	rng := rand.New(rand.NewPCG(1, 2))
	line := textTile(1024, 16, rng)
	var v *Viewer
	framed := make(chan struct{}, 1)
	v = d.NewViewer(func(m []byte) error {
		if m[len(m)-9] == byte(wire.TypeFrame) { // a frame ends with FRAME's 9 bytes
			v.Ack(v.sent.Load())
			framed <- struct{}{}
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	<-framed
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Copy(image.Rect(0, 0, 1024, 752), image.Pt(0, 16))
		d.SetPixels(image.Rect(0, 752, 1024, 768), line, 1024*4)
		d.EndFrame()
		<-framed // one frame per scroll: measure its bytes
	}
	b.StopTimer()
	st := v.Stats()
	b.ReportMetric(float64(st.Bytes)/float64(b.N), "wire-bytes/op")
	b.ReportMetric(float64(st.Frames)/float64(b.N), "frames/op")
}

// textWithNoise is w×h pixels of text with a 64×64 tile of noise at at.
func textWithNoise(w, h int, at image.Point, rng *rand.Rand) []byte {
	pix := textTile(w, h, rng)
	noise := photoTile(64, 64, rng)
	for y := range 64 {
		copy(pix[((at.Y+y)*w+at.X)*4:][:64*4], noise[y*64*4:][:64*4])
	}
	return pix
}

// A merged run of tiles that fails the palette as a whole is encoded tile by tile, so
// that its text tiles still get ZPALETTE.
func TestMergedRunSplitsOnManyColours(t *testing.T) {
	o := DefaultOptions().withDefaults() // TileSize 64
	e := newEncoder(&o)
	const w, h = 256, 64
	pix := textWithNoise(w, h, image.Pt(192, 0), rand.New(rand.NewPCG(5, 5)))
	c := wire.NewCanvas()
	c.Apply(wire.Resize{Width: w, Height: h})
	r := image.Rect(0, 0, w, h)
	roundTrip(t, e, c, r, pix, w*4)
	checkRegion(t, c, r, pix, w*4, 0)
	if e.counts.ZPalette != 3 || e.counts.ZRGB != 1 {
		t.Fatalf("counts %+v, want 3 ZPALETTE tiles and 1 ZRGB", e.counts)
	}
}

// A region stacked from rows of tiles (damage.go) that fails the palette is taken row by
// row, then tile by tile: a row without the many-coloured tile is one ZPALETTE, and no
// ZRGB spans more than its tile.
func TestStackedRegionSplitsByRows(t *testing.T) {
	o := DefaultOptions().withDefaults() // TileSize 64
	e := newEncoder(&o)
	const w, h = 128, 128
	pix := textWithNoise(w, h, image.Pt(64, 0), rand.New(rand.NewPCG(6, 6))) // the top right tile
	c := wire.NewCanvas()
	c.Apply(wire.Resize{Width: w, Height: h})
	r := image.Rect(0, 0, w, h)
	out, _ := e.region(nil, r, pix, w*4, 0)
	var images []wire.Image
	if err := wire.Decode(out, func(m wire.Message) error {
		if im, ok := m.(wire.Image); ok {
			images = append(images, im)
		}
		return c.Apply(m)
	}); err != nil {
		t.Fatal(err)
	}
	checkRegion(t, c, r, pix, w*4, 0)
	want := []image.Rectangle{image.Rect(0, 0, 64, 64), image.Rect(64, 0, 128, 64), image.Rect(0, 64, 128, 128)}
	var got []image.Rectangle
	for _, im := range images {
		got = append(got, image.Rect(im.X, im.Y, im.X+im.W, im.Y+im.H))
	}
	if !slices.Equal(got, want) || e.counts.ZPalette != 2 || e.counts.ZRGB != 1 {
		t.Fatalf("images %v, counts %+v; want %v as 2 ZPALETTE and 1 ZRGB", got, e.counts, want)
	}
}
