package predict

import (
	"bytes"
	"errors"
	"image"
	"math/rand/v2"
	"testing"
)

// scene makes a screen-like picture: flat areas, text-like glyphs in two colours, a
// gradient and noise, so that every decision of the walk is taken.
func scene(rng *rand.Rand, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := [3]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
	for y := range h {
		for x := range w {
			p := img.Pix[img.PixOffset(x, y):]
			c := bg
			switch {
			case y < h/3 && (x*7+y*3)%11 < 3 && rng.IntN(4) > 0: // glyph-like strokes
				c = [3]byte{250, 250, 250}
			case y >= 2*h/3 && x < w/2: // a gradient
				c = [3]byte{byte(x), byte(y), byte(x + y)}
			case y >= 2*h/3: // noise
				c = [3]byte{byte(rng.IntN(256)), byte(rng.IntN(4)), byte(rng.IntN(256))}
			}
			p[0], p[1], p[2], p[3] = c[0], c[1], c[2], 255
		}
	}
	return img
}

func crop(img *image.RGBA, r image.Rectangle) []byte {
	var out []byte
	if r.Empty() {
		return nil // its rows may be off the image
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		out = append(out, img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]...)
	}
	return out
}

// A stream of images over a changing screen decodes to the encoder's pixels, image by
// image, with the model carried from one to the next; a reset on both sides starts anew.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const W, H = 96, 64
	enc, dec := NewEncoder(), NewDecoder()
	es, ds := image.NewRGBA(image.Rect(0, 0, W, H)), image.NewRGBA(image.Rect(0, 0, W, H))
	for i := range 60 {
		if i == 30 {
			enc.Reset()
			dec.Reset()
		}
		next := scene(rng, W, H)
		x, y := rng.IntN(W), rng.IntN(H)
		r := image.Rect(x, y, x+rng.IntN(W-x+1), y+rng.IntN(H-y+1)) // may be empty, may touch every edge
		if i%7 == 0 {
			r = es.Rect
		}
		data, err := enc.Encode(nil, es, r, crop(next, r))
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(data, ds, r); err != nil {
			t.Fatalf("image %d %v: %v", i, r, err)
		}
		if !bytes.Equal(crop(es, r), crop(next, r)) {
			t.Fatalf("image %d: the encoder's screen does not hold the new pixels", i)
		}
		if !bytes.Equal(es.Pix, ds.Pix) {
			t.Fatalf("image %d %v: the decoded screen differs from the encoder's", i, r)
		}
	}
}

// glyphs draws text-like cells: light strokes of a few shapes on a dark ground, the
// shapes in the order given.
func glyphs(w, h int, order []int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	shapes := [4][13]uint8{
		{0x1C, 0x22, 0x22, 0x26, 0x2A, 0x32, 0x22, 0x22, 0x1C},
		{0x08, 0x18, 0x28, 0x08, 0x08, 0x08, 0x08, 0x08, 0x3E},
		{0x1C, 0x22, 0x02, 0x04, 0x08, 0x10, 0x20, 0x20, 0x3E},
		{0x3E, 0x02, 0x04, 0x08, 0x1C, 0x02, 0x02, 0x22, 0x1C},
	}
	for i := range img.Pix {
		img.Pix[i] = 20
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	k := 0
	for cy := 0; cy+13 <= h; cy += 13 {
		for cx := 0; cx+6 <= w; cx += 6 {
			g := shapes[order[k%len(order)]]
			k++
			for y := range 13 {
				for x := range 6 {
					if g[y]>>(5-x)&1 == 1 {
						copy(img.Pix[img.PixOffset(cx+x, cy+y):], []byte{230, 230, 230})
					}
				}
			}
		}
	}
	return img
}

// A still screen drawn again costs next to nothing, and glyphs seen before cost less
// than the first time: what the model is for.
func TestLearns(t *testing.T) {
	const W, H = 120, 39
	rng := rand.New(rand.NewPCG(3, 4))
	order := func() []int {
		o := make([]int, 60)
		for i := range o {
			o[i] = rng.IntN(4)
		}
		return o
	}
	enc := NewEncoder()
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	r := img.Rect
	first, _ := enc.Encode(nil, img, r, crop(glyphs(W, H, order()), r))
	same, _ := enc.Encode(nil, img, r, crop(img, r))
	if len(same) > 24 || 5*len(same) > len(first) {
		t.Errorf("the same picture again: %d bytes (first time %d)", len(same), len(first))
	}
	// The same four glyphs in new orders, each screen after one of a single glyph: by
	// the fourth, the model knows their shapes (measured: 147, 82, 42, 33 bytes).
	var last []byte
	for range 4 {
		last, _ = enc.Encode(nil, img, r, crop(glyphs(W, H, order()), r))
		enc.Encode(nil, img, r, crop(glyphs(W, H, []int{0}), r))
	}
	if 3*len(last) > len(first) {
		t.Errorf("known glyphs in a new order: %d bytes, the first screen of them %d", len(last), len(first))
	}
}

// Data that is not what the rectangle needs is an error: cut short, or with bytes left
// over; and whatever the bytes, decoding stays in bounds (FuzzDecode).
func TestMalformed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	img := scene(rng, 64, 48)
	r := image.Rect(3, 5, 60, 40)
	data, err := NewEncoder().Encode(nil, image.NewRGBA(img.Rect), r, crop(img, r))
	if err != nil {
		t.Fatal(err)
	}
	// Arithmetic-coded data has no redundancy to check but its length: a decoder reads
	// exactly three bytes past the end of a whole piece.
	for _, bad := range [][]byte{append(bytes.Clone(data), 0), append(bytes.Clone(data), data...), nil, {}} {
		if err := NewDecoder().Decode(bad, image.NewRGBA(img.Rect), r); !errors.Is(err, ErrData) {
			t.Errorf("%d of %d bytes: %v, want ErrData", len(bad), len(data), err)
		}
	}
	if err := NewDecoder().Decode(data, image.NewRGBA(img.Rect), image.Rect(10, 10, 70, 20)); err == nil || errors.Is(err, ErrData) {
		t.Errorf("a rectangle outside the screen: %v", err)
	}
	if _, err := NewEncoder().Encode(nil, image.NewRGBA(img.Rect), r, crop(img, r)[:10]); err == nil {
		t.Error("too few pixels encoded without an error")
	}
}

func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	img := scene(rng, 40, 30)
	r := image.Rect(2, 1, 40, 30)
	data, _ := NewEncoder().Encode(nil, image.NewRGBA(img.Rect), r, crop(img, r))
	f.Add(data, uint8(2), uint8(1), uint8(38), uint8(29))
	f.Add([]byte{0}, uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add([]byte{0xFF, 0x00, 0x80}, uint8(0), uint8(0), uint8(40), uint8(30))
	f.Fuzz(func(t *testing.T, data []byte, x, y, w, h uint8) {
		screen := image.NewRGBA(image.Rect(0, 0, 40, 30))
		r := image.Rect(int(x), int(y), int(x)+int(w), int(y)+int(h))
		d := NewDecoder()
		err := d.Decode(data, screen, r)
		if err == nil && !r.In(screen.Rect) && !r.Empty() {
			t.Fatalf("%v decoded outside the screen", r)
		}
		if err == nil {
			// Whatever decoded (garbage can take paths an encoder never would: a literal
			// of a colour in the cache, a "no" to a question whose answer was yes), the
			// encoder's data for those pixels decodes to them.
			pix := crop(screen, r)
			again, err := NewEncoder().Encode(nil, image.NewRGBA(screen.Rect), r, pix)
			if err != nil {
				t.Fatal(err)
			}
			check := image.NewRGBA(screen.Rect)
			if err := NewDecoder().Decode(again, check, r); err != nil || !bytes.Equal(crop(check, r), pix) {
				t.Fatalf("the pixels re-encoded do not decode to themselves: %v", err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	const W, H = 512, 256
	img := scene(rng, W, H)
	pix := crop(img, img.Rect)
	enc := NewEncoder()
	screen := image.NewRGBA(img.Rect)
	b.SetBytes(W * H)
	for b.Loop() {
		clear(screen.Pix)
		enc.Encode(nil, screen, img.Rect, pix)
	}
}
