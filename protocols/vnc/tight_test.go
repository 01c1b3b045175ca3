package vnc

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/racgate/racgate/render"
)

// tightPalette1 against the plain reading of the filter: bit x%8 of byte x/8 of the
// row, most significant first, picks the second colour; every width up to 40 (the
// partial last byte included), and colours that differ in any byte.
func TestTightPalette1(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, pal := range [][2]uint32{{0x1e1e28, 0xe5e5e5}, {0, 0xffffff}, {0x010203, 0x010202}, {0xabcdef, 0xabcdef}} {
		for w := 1; w <= 40; w++ {
			const h = 3
			rowSize := (w + 7) / 8
			data := make([]byte, rowSize*h)
			for i := range data {
				data[i] = byte(rng.IntN(256))
			}
			stride := w*4 + 8 // a framebuffer's rows are wider than the rectangle
			out := make([]byte, stride*h)
			for i := range out {
				out[i] = 0x5a
			}
			tightPalette1(out, data, w, h, stride, pal[0], pal[1])
			for y := range h {
				for x := range w {
					want := pal[data[y*rowSize+x/8]>>(7-x%8)&1]
					if got := binary.LittleEndian.Uint32(out[y*stride+x*4:]); got != want {
						t.Fatalf("palette %06x, width %d: pixel (%d,%d) %08x, want %08x", pal, w, x, y, got, want)
					}
				}
				for i, b := range out[y*stride+w*4 : y*stride+stride] {
					if b != 0x5a {
						t.Fatalf("palette %06x, width %d: row %d written past its end, byte %d", pal, w, y, i)
					}
				}
			}
		}
	}
}

func BenchmarkTightPalette1(b *testing.B) {
	const w, h = 1024, 64
	data := make([]byte, w/8*h)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	out := make([]byte, w*h*4)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		tightPalette1(out, data, w, h, w*4, 0x1e1e28, 0xe5e5e5)
	}
}

// tightPalette8 writes each index's colour, and reports an index past the palette
// wherever it is (either pixel of a pair, or the odd last one), for every palette size
// the filter allows.
func TestTightPalette8(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for n := 3; n <= 256; n++ {
		var pal [256]uint32
		for i := range n {
			pal[i] = uint32(rng.IntN(1 << 24))
		}
		for _, w := range []int{1, 2, 7, 8, 33} {
			h := 2 - w%2 // an odd count of indices for odd widths: the last is alone
			idx := make([]byte, w*h)
			for i := range idx {
				idx[i] = byte(rng.IntN(n))
			}
			stride := w * 4
			out := make([]byte, stride*h)
			p := pal // tightPalette8 marks the entries past n
			if !tightPalette8(out, idx, &p, n) {
				t.Fatalf("%d colours, width %d, every index in range: refused", n, w)
			}
			for i, x := range idx {
				if got := binary.LittleEndian.Uint32(out[i/w*stride+i%w*4:]); got != pal[x] {
					t.Fatalf("%d colours, width %d: pixel %d is %08x, want %08x", n, w, i, got, pal[x])
				}
			}
			if n == 256 {
				continue // no index is past 256 colours
			}
			for _, bad := range []int{n, n + rng.IntN(256-n)} { // the count, and past it
				at := rng.IntN(len(idx))
				was := idx[at]
				idx[at] = byte(bad)
				if tightPalette8(out, idx, &p, n) {
					t.Fatalf("%d colours, width %d: index %d at %d passed", n, w, bad, at)
				}
				idx[at] = was
			}
		}
	}
}

// countingSink counts how pixels reach a framebuffer: in place or through SetPixels.
type countingSink struct {
	*render.Framebuffer
	written, set int
}

func (s *countingSink) WritePixels(r image.Rectangle, write func([]byte, int)) bool {
	ok := s.Framebuffer.WritePixels(r, write)
	if ok {
		s.written++
	}
	return ok
}

func (s *countingSink) SetPixels(r image.Rectangle, pix []byte, stride int) {
	s.set++
	s.Framebuffer.SetPixels(r, pix, stride)
}

// Two-colour rectangles (text) are decoded in place, many colours through SetPixels (in
// place they cost churn more CPU than the copy).
func TestTightTextInPlace(t *testing.T) {
	const w, h = 16, 8
	two := []byte{tightFilterOn << 4, tightFilterPalette, 1, 1, 1, 1, 9, 9, 9} // two colours
	two = append(two, 0xa5, 0x5a)                                              // 16x1: two bytes of bits, too few to compress
	three := []byte{tightFilterOn << 4, tightFilterPalette, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3}
	three = append(three, 0, 1, 2, 0, 1, 2, 0, 1) // 8x1: one index a pixel, uncompressed
	stream := serverHello(w, h)
	stream = append(stream, fbUpdate(rect(0, 0, 16, 1, EncodingTight, two))...)
	stream = append(stream, fbUpdate(rect(0, 1, 8, 1, EncodingTight, three))...)
	sink := &countingSink{Framebuffer: render.NewFramebuffer(0, 0)}
	c, err := NewClient(context.Background(), newFakeConn(stream), Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Run: %v, want the stream's end", err)
	}
	if sink.written != 1 || sink.set != 1 {
		t.Fatalf("%d rectangles in place, %d through SetPixels; want 1 and 1", sink.written, sink.set)
	}
	// 0xa5: the first pixel's bit is set (the second colour), the second's is not.
	if p0, p1 := sink.At(0, 0), sink.At(1, 0); p0.R != 9 || p1.R != 1 {
		t.Fatalf("in place: pixels %v %v, want colours 9 and 1", p0, p1)
	}
}
