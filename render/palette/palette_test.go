package palette

import (
	"bytes"
	"compress/zlib"
	"math/rand/v2"
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

// oneShot is b as a complete zlib stream (ZPALETTE1's data).
func oneShot(b []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}
