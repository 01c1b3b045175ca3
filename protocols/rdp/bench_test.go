package rdp

import (
	"testing"
)

// planarTile builds a 64x64 planar bitmap (RLE, no alpha) whose lines are
// four raw segments of 15 values and one of 4.
func planarTile() []byte {
	b := []byte{planarRLE | planarNA}
	for p := range 3 {
		for y := range 64 {
			for range 4 {
				b = append(b, 0xF0)
				for i := range 15 {
					b = append(b, byte(p*7+y+i))
				}
			}
			b = append(b, 0x40, 1, 2, 3, 4)
		}
	}
	return b
}

// interleavedTile builds a 64x64, 16 bpp interleaved RLE bitmap of colour
// images, one order a line.
func interleavedTile() []byte {
	var b []byte
	for y := range 64 {
		b = append(b, 0x80, 64-32)
		for x := range 64 {
			b = putU16(b, uint16(x*y))
		}
	}
	return b
}

func BenchmarkPlanar64(b *testing.B) {
	src := planarTile()
	dst := make([]byte, 64*64*4)
	scratch, err := decodePlanar(dst, src, 64, 64, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 * 64 * 4)
	b.ReportAllocs()
	for b.Loop() {
		scratch, _ = decodePlanar(dst, src, 64, 64, scratch)
	}
}

func BenchmarkInterleaved64(b *testing.B) {
	src := interleavedTile()
	dst := make([]uint32, 64*64)
	if err := decodeInterleavedRLE(dst, src, 64, 16); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 * 64 * 4)
	b.ReportAllocs()
	for b.Loop() {
		decodeInterleavedRLE(dst, src, 64, 16)
	}
}

// TestBitmapUpdateNoAllocs: decoding fast-path bitmap updates allocates
// nothing once the scratch buffers have grown.
func TestBitmapUpdateNoAllocs(t *testing.T) {
	c, _ := testClient()
	planar := fastPathFrame(fpUpdateBitmap, bitmapUpdate(0, 0, 64, 64, 32, bitmapCompression|noBitmapCompressionHdrFlag, planarTile()))
	inter := fastPathFrame(fpUpdateBitmap, bitmapUpdate(0, 0, 64, 64, 16, bitmapCompression|noBitmapCompressionHdrFlag, interleavedTile()))
	for _, f := range [][]byte{planar, inter} {
		if err := c.handleFastPath(f); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(20, func() {
		c.handleFastPath(planar)
		c.handleFastPath(inter)
	}); n != 0 {
		t.Fatalf("%v allocations per update pair", n)
	}
}

// interleavedRunsTile builds a 64x64, 16 bpp interleaved RLE bitmap whose
// lines mix the run orders: background, foreground, FG/BG image, colour
// run, colour image, dithered run and set-foreground run (64 pixels a line).
func interleavedRunsTile() []byte {
	var b []byte
	for y := range 64 {
		b = append(b, 0x0A)               // background run of 10
		b = append(b, 0x2A)               // foreground run of 10
		b = append(b, 0x41, byte(0x5A^y)) // FG/BG image of 8
		b = append(b, 0x6A)               // colour run of 10
		b = putU16(b, uint16(y*3))        //
		b = append(b, 0x86)               // colour image of 6
		for x := range 6 {
			b = putU16(b, uint16(x*y))
		}
		b = append(b, 0xE5) // dithered run of 5 pairs
		b = putU16(b, 0x1234)
		b = putU16(b, uint16(y))
		b = append(b, 0xC4) // set-foreground run of 4
		b = putU16(b, uint16(0x0F0F^y))
		b = append(b, 0x06) // background run of 6
	}
	return b
}

func BenchmarkInterleavedRuns64(b *testing.B) {
	src := interleavedRunsTile()
	dst := make([]uint32, 64*64)
	if err := decodeInterleavedRLE(dst, src, 64, 16); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 * 64 * 4)
	b.ReportAllocs()
	for b.Loop() {
		decodeInterleavedRLE(dst, src, 64, 16)
	}
}
