package palette

import (
	"bytes"
	"compress/zlib"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/racgate/racgate/render/wire"
)

// The table holds Max colours, each at the index it came in, refuses one more, and after
// Truncate holds the first n only, at the same indices.
func TestTable(t *testing.T) {
	var tb Table
	for i := range Max {
		c := uint32(i) * 0x010305 // spread over all three channels
		if ci, ok := tb.Lookup(c); !ok || int(ci) != i {
			t.Fatalf("colour %d: index %d, %v", i, ci, ok)
		}
	}
	if _, ok := tb.Lookup(0xfffffe); ok {
		t.Fatal("a colour past Max was taken")
	}
	if ci, ok := tb.Lookup(5 * 0x010305); !ok || ci != 5 {
		t.Fatalf("a colour again: index %d, %v", ci, ok)
	}
	tb.Truncate(10)
	if tb.Len() != 10 {
		t.Fatalf("truncated to 10: %d colours", tb.Len())
	}
	if ci, _ := tb.Lookup(9 * 0x010305); ci != 9 {
		t.Fatalf("after Truncate, colour 9 at %d", ci)
	}
	if ci, _ := tb.Lookup(200 * 0x010305); ci != 10 {
		t.Fatalf("after Truncate, a dropped colour came back at %d, want 10", ci)
	}
	// Reset forgets every colour: each comes back as new.
	tb.Reset()
	for i := range 11 {
		c := uint32(10-i) * 0x010305
		if i == 10 {
			c = 200 * 0x010305
		}
		if ci, _ := tb.Lookup(c); int(ci) != i || tb.Len() != i+1 {
			t.Fatalf("after Reset, colour %06x at %d of %d, want %d of %d", c, ci, tb.Len(), i, i+1)
		}
	}
}

// Index and AppendRows lay out what ZPALETTE's reader (the wire canvas) draws back, for every
// width of row and bits per index.
func TestIndexPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 4, 5, 16, 17, 256} {
		for w := 1; w <= 19; w++ {
			const h = 3
			pix := make([]byte, w*h*4)
			for i := 0; i < len(pix); i += 4 {
				c := rng.IntN(n)
				pix[i], pix[i+1], pix[i+2] = byte(c), byte(c*7), 9
			}
			var tb Table
			idx := make([]byte, w*h)
			if !tb.Index(idx, pix, w, h, w*4) {
				t.Fatalf("%d colours, width %d: refused", n, w)
			}
			layout := AppendRows(tb.AppendHeader(nil), idx, w, tb.Len())
			c := wire.NewCanvas()
			if err := c.Apply(wire.Resize{Width: w, Height: h}); err != nil {
				t.Fatal(err)
			}
			if err := c.Apply(wire.Image{W: w, H: h, Encoding: wire.ZPalette1, Data: oneShot(layout)}); err != nil {
				t.Fatalf("%d colours, width %d: %v", n, w, err)
			}
			got := c.Image().Pix
			for i := 0; i < len(pix); i += 4 {
				if got[i] != pix[i] || got[i+1] != pix[i+1] || got[i+2] != pix[i+2] {
					t.Fatalf("%d colours, width %d: pixel %d drawn as %v, want %v", n, w, i/4, got[i:i+3], pix[i:i+3])
				}
			}
		}
	}
}

// reference indexes pix the plain way: each colour (R, G, B; the fourth byte ignored)
// gets the next index when it first comes, row by row; ok is false past Max colours.
func reference(pix []byte, w, h, stride int) (idx []byte, colors []uint32, ok bool) {
	seen := map[uint32]byte{}
	for y := range h {
		for x := range w {
			o := y*stride + x*4
			c := uint32(pix[o]) | uint32(pix[o+1])<<8 | uint32(pix[o+2])<<16
			i, had := seen[c]
			if !had {
				if len(colors) == Max {
					return idx, colors, false
				}
				i = byte(len(colors))
				seen[c] = i
				colors = append(colors, c)
			}
			idx = append(idx, i)
		}
	}
	return idx, colors, true
}

// checkIndex indexes pix with a fresh table and compares indices and colours with
// reference's.
func checkIndex(t *testing.T, pix []byte, w, h, stride int) {
	t.Helper()
	want, colors, wantOK := reference(pix, w, h, stride)
	var tb Table
	idx := make([]byte, w*h)
	ok := tb.Index(idx, pix, w, h, stride)
	if ok != wantOK {
		t.Fatalf("%dx%d: Index says %v, %d colours", w, h, ok, len(colors))
	}
	if !ok {
		return
	}
	if !slices.Equal(tb.Colors(), colors) {
		t.Fatalf("%dx%d: colours %06x, want %06x", w, h, tb.Colors(), colors)
	}
	if !bytes.Equal(idx, want) {
		for i := range want {
			if idx[i] != want[i] {
				t.Fatalf("%dx%d: pixel (%d,%d) index %d, want %d", w, h, i%w, i/w, idx[i], want[i])
			}
		}
	}
}

// Rows of two colours are indexed two pixels at a word (index2); a third colour in any
// row, at any column, hands the rest to the table. Colours that differ in one bit of one
// channel, the channels' top bits, and unused bytes that differ must all come out as
// the plain indexing has them.
func TestIndexTwoColours(t *testing.T) {
	pairs := [][3]uint32{
		{0x1e1e28, 0xe5e5e5, 0x808080},
		{0x000000, 0xffffff, 0x7fffff},
		{0x800000, 0x000080, 0x008000}, // top bits of R and B
		{0x000001, 0x000000, 0x010000}, // one bit apart
		{0xffffff, 0xfffffe, 0xfeffff},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range pairs {
		for w := 1; w <= 19; w++ {
			for _, third := range []int{-1, 0, 1, w*2 - 1, w*3 + w/2} { // where a third colour comes
				const h = 4
				stride := w*4 + 4*rng.IntN(2)
				pix := make([]byte, stride*h)
				for y := range h {
					for x := range w {
						c := p[rng.IntN(2)]
						if y*w+x == third {
							c = p[2]
						}
						o := y*stride + x*4
						pix[o], pix[o+1], pix[o+2], pix[o+3] = byte(c), byte(c>>8), byte(c>>16), byte(rng.IntN(256))
					}
				}
				checkIndex(t, pix, w, h, stride)
			}
		}
	}
}

// FuzzIndex compares Index with the plain indexing on any pixels. The first bytes pick
// the width and a colour count; the rest become colours drawn from that many, so that
// two-colour rows (and two-colour regions) are common.
func FuzzIndex(f *testing.F) {
	f.Add([]byte{7, 2, 1, 2, 3, 4, 5, 6, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1})
	f.Add([]byte{16, 3, 0, 0, 0, 255, 255, 255, 1, 0, 0, 0, 1, 2, 0, 1, 1, 1, 1, 0, 2})
	f.Add([]byte{1, 1, 9, 9, 9, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		w := 1 + int(data[0])%40
		n := 1 + int(data[1])%4
		data = data[2:]
		if len(data) < n*3 {
			return
		}
		var colors [4][3]byte
		for i := range n {
			copy(colors[i][:], data[i*3:])
		}
		data = data[n*3:]
		h := (len(data) + w - 1) / w
		if h == 0 {
			return
		}
		pix := make([]byte, w*h*4)
		for i := range w * h {
			k, unused := 0, byte(i)
			if i < len(data) {
				k, unused = int(data[i])%n, data[i]
			}
			copy(pix[i*4:], colors[k][:])
			pix[i*4+3] = unused
		}
		checkIndex(t, pix, w, h, w*4)
	})
}

// oneShot is b as a complete zlib stream (ZPALETTE1's data).
func oneShot(b []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// glyphs is w×h pixels of terminal text in two colours: cells of 7×13 pixels, each
// with a random pattern of strokes in its middle 5×9, as a font's glyphs have.
func glyphs(w, h int, rng *rand.Rand) []byte {
	pix := make([]byte, w*h*4)
	for y := range h {
		for x := range w {
			cx, cy := x%7, y%13
			c := [3]byte{0x1e, 0x1e, 0x28}
			if cx >= 1 && cx <= 5 && cy >= 2 && cy <= 10 && rng.IntN(3) == 0 {
				c = [3]byte{0xe5, 0xe5, 0xe5}
			}
			copy(pix[(y*w+x)*4:], c[:])
		}
	}
	return pix
}

func benchIndex(b *testing.B, pix []byte, w, h int) {
	idx := make([]byte, w*h)
	var tb Table
	b.SetBytes(int64(w * h * 4))
	for b.Loop() {
		tb.Reset()
		if !tb.Index(idx, pix, w, h, w*4) {
			b.Fatal("refused")
		}
	}
}

// A terminal's line of text: two colours.
func BenchmarkIndexText(b *testing.B) {
	benchIndex(b, glyphs(1024, 64, rand.New(rand.NewPCG(1, 2))), 1024, 64)
}

// Text with a third colour in it (a cursor, a highlight).
func BenchmarkIndexText3(b *testing.B) {
	pix := glyphs(1024, 64, rand.New(rand.NewPCG(1, 2)))
	for y := 20; y < 33; y++ {
		for x := 500; x < 507; x++ {
			pix[(y*1024+x)*4] = 0x80
		}
	}
	benchIndex(b, pix, 1024, 64)
}

func BenchmarkAppendRows1(b *testing.B) {
	const w, h = 1024, 64
	var tb Table
	idx := make([]byte, w*h)
	tb.Index(idx, glyphs(w, h, rand.New(rand.NewPCG(1, 2))), w, h, w*4)
	dst := make([]byte, 0, w*h/8+h)
	b.SetBytes(w * h)
	for b.Loop() {
		dst = AppendRows(dst[:0], idx, w, tb.Len())
	}
}
