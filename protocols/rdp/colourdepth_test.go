package rdp

import (
	"strconv"
	"testing"
)

// Colour formats of TS_BITMAP_DATA (MS-RDPBCGR 2.2.9.1.1.3.1.2.2), checked
// at every depth against byte layouts written out by hand, so that a swap of
// red and blue (or of the bytes of a pixel) at one depth fails here:
//
//   - 8 bpp: an index into the palette of TS_UPDATE_PALETTE_DATA
//     (2.2.9.1.1.3.1.1), whose TS_PALETTE_ENTRY is red, green, blue;
//   - 15 bpp: little-endian 16-bit x-R5-G5-B5 (red in bits 10-14);
//   - 16 bpp: little-endian 16-bit R5-G6-B5 (red in bits 11-15);
//   - 24 bpp: three bytes B, G, R;
//   - 32 bpp: four bytes B, G, R, X.
//
// Interleaved RLE (2.2.9.1.1.3.1.2.4) carries pixels in the same layouts
// (3.1.9: a 24 bpp pixel is three bytes, 15 and 16 bpp pixels two bytes).
// Channels of fewer than 8 bits are widened by repeating their top bits
// (x<<3 | x>>2 for 5 bits, x<<2 | x>>4 for 6), so full scale maps to 0xFF.

// rgb is an expected framebuffer colour.
type rgb [3]byte

// depthCase is a 4x2 bitmap at one depth. Screen row 0 (top) is the last
// stored line: bitmaps are stored bottom-up.
type depthCase struct {
	bpp int
	// px are the six colours' encodings at this depth: red, green, blue,
	// C1, C2, white.
	px [6][]byte
	// want are the colours px decode to, worked out by hand in comments.
	want [6]rgb
}

// depthCases hold, per depth, hand-encoded red, green, blue, two colours
// whose red and blue differ (C1, C2) and white.
var depthCases = []depthCase{
	{
		bpp: 8,
		// Palette indexes 1..5 and 0xFF; testPalette sets their entries.
		px:   [6][]byte{{0x01}, {0x02}, {0x03}, {0x04}, {0x05}, {0xFF}},
		want: [6]rgb{{0xFF, 0, 0}, {0, 0xFF, 0}, {0, 0, 0xFF}, {0x12, 0x34, 0x56}, {0xAB, 0xCD, 0xEF}, {0xFF, 0xFF, 0xFF}},
	},
	{
		bpp: 15,
		px: [6][]byte{
			{0x00, 0x7C}, // 0x7C00: R 0x1F G 0 B 0 -> FF 00 00
			{0xE0, 0x03}, // 0x03E0: G 0x1F -> 00 FF 00
			{0x1F, 0x00}, // 0x001F: B 0x1F -> 00 00 FF
			{0x04, 0x7E}, // 0x7E04: R 0x1F G 0x10 B 0x04 -> FF, 80|04=84, 20|01=21
			{0xF0, 0x0F}, // 0x0FF0: R 0x03 G 0x1F B 0x10 -> 18|00=18, FF, 80|04=84
			{0xFF, 0x7F}, // 0x7FFF: white
		},
		want: [6]rgb{{0xFF, 0, 0}, {0, 0xFF, 0}, {0, 0, 0xFF}, {0xFF, 0x84, 0x21}, {0x18, 0xFF, 0x84}, {0xFF, 0xFF, 0xFF}},
	},
	{
		bpp: 16,
		px: [6][]byte{
			{0x00, 0xF8}, // 0xF800: R 0x1F G 0 B 0 -> FF 00 00
			{0xE0, 0x07}, // 0x07E0: G 0x3F -> 00 FF 00
			{0x1F, 0x00}, // 0x001F: B 0x1F -> 00 00 FF
			{0x04, 0xFC}, // 0xFC04: R 0x1F G 0x20 B 0x04 -> FF, 80|02=82, 20|01=21
			{0xF0, 0x1F}, // 0x1FF0: R 0x03 G 0x3F B 0x10 -> 18|00=18, FF, 80|04=84
			{0xFF, 0xFF}, // 0xFFFF: white
		},
		want: [6]rgb{{0xFF, 0, 0}, {0, 0xFF, 0}, {0, 0, 0xFF}, {0xFF, 0x82, 0x21}, {0x18, 0xFF, 0x84}, {0xFF, 0xFF, 0xFF}},
	},
	{
		bpp: 24,
		px: [6][]byte{
			{0x00, 0x00, 0xFF}, // B 00 G 00 R FF
			{0x00, 0xFF, 0x00},
			{0xFF, 0x00, 0x00}, // B FF
			{0x56, 0x34, 0x12}, // R 12 G 34 B 56
			{0xEF, 0xCD, 0xAB}, // R AB G CD B EF
			{0xFF, 0xFF, 0xFF},
		},
		want: [6]rgb{{0xFF, 0, 0}, {0, 0xFF, 0}, {0, 0, 0xFF}, {0x12, 0x34, 0x56}, {0xAB, 0xCD, 0xEF}, {0xFF, 0xFF, 0xFF}},
	},
	{
		bpp: 32,
		px: [6][]byte{
			{0x00, 0x00, 0xFF, 0x00}, // B 00 G 00 R FF X 00
			{0x00, 0xFF, 0x00, 0x00},
			{0xFF, 0x00, 0x00, 0x00},
			{0x56, 0x34, 0x12, 0xFF}, // R 12 G 34 B 56; X ignored
			{0xEF, 0xCD, 0xAB, 0x00},
			{0xFF, 0xFF, 0xFF, 0xFF},
		},
		want: [6]rgb{{0xFF, 0, 0}, {0, 0xFF, 0}, {0, 0, 0xFF}, {0x12, 0x34, 0x56}, {0xAB, 0xCD, 0xEF}, {0xFF, 0xFF, 0xFF}},
	},
}

// The 4x2 picture, as colour indexes into depthCase.px, top row first.
var depthPicture = [2][4]int{
	{4, 4, 5, 3}, // C2 C2 white C1 (stored second)
	{0, 1, 2, 3}, // red green blue C1 (stored first, the bottom line)
}

// testPalette is TS_UPDATE_PALETTE_DATA with 256 entries (2.2.9.1.1.3.1.1:
// numberColors MUST be 256), each entry red, green, blue.
func testPalette() []byte {
	b := []byte{
		0x02, 0x00, // updateType: UPDATETYPE_PALETTE
		0x00, 0x00, // pad2Octets
		0x00, 0x01, 0x00, 0x00, // numberColors: 256
	}
	entries := make([]byte, 256*3)
	copy(entries, []byte{
		0x00, 0x00, 0x00, // 0: black
		0xFF, 0x00, 0x00, // 1: red
		0x00, 0xFF, 0x00, // 2: green
		0x00, 0x00, 0xFF, // 3: blue
		0x12, 0x34, 0x56, // 4: C1
		0xAB, 0xCD, 0xEF, // 5: C2
	})
	copy(entries[255*3:], []byte{0xFF, 0xFF, 0xFF}) // 0xFF: white (the 8 bpp WHITE order's index)
	return append(b, entries...)
}

// raw returns the uncompressed bitmap: the bottom line first, each line of
// four pixels (8, 12 or 16 bytes, already a multiple of 4 bytes).
func (dc *depthCase) raw() []byte {
	var b []byte
	for line := range 2 {
		for _, i := range depthPicture[1-line] {
			b = append(b, dc.px[i]...)
		}
	}
	return b
}

// interleaved returns the picture as interleaved RLE: the first (bottom)
// line as a REGULAR_COLOR_IMAGE of 4 pixels (header 0x84: code 4 in the top
// 3 bits, length 4), the second as a REGULAR_COLOR_RUN of 2 (0x62, one
// pixel), a WHITE order (0xFD) and a one-pixel REGULAR_COLOR_IMAGE (0x81).
func (dc *depthCase) interleaved() []byte {
	b := []byte{0x84}
	for _, i := range depthPicture[1] {
		b = append(b, dc.px[i]...)
	}
	b = append(b, 0x62)
	b = append(b, dc.px[4]...)
	b = append(b, 0xFD, 0x81)
	b = append(b, dc.px[3]...)
	return b
}

// TestBitmapColourDepths draws the picture at each depth, uncompressed and
// (below 32 bpp) with interleaved RLE, through a fast-path bitmap update, and
// checks every pixel against the hand-worked colours.
func TestBitmapColourDepths(t *testing.T) {
	for _, dc := range depthCases {
		kinds := map[string][]byte{"raw": dc.raw()}
		if dc.bpp != 32 { // 32 bpp compresses with planar, tested elsewhere
			kinds["interleaved"] = dc.interleaved()
		}
		for kind, data := range kinds {
			t.Run(strconv.Itoa(dc.bpp)+"bpp/"+kind, func(t *testing.T) {
				c, fb := testClient()
				if dc.bpp == 8 {
					if err := c.handleFastPath(fastPathFrame(fpUpdatePalette, testPalette())); err != nil {
						t.Fatal(err)
					}
				}
				var flags uint16
				if kind == "interleaved" {
					flags = bitmapCompression | noBitmapCompressionHdrFlag
				}
				const x0, y0 = 5, 9
				if err := c.handleFastPath(fastPathFrame(fpUpdateBitmap, bitmapUpdate(x0, y0, 4, 2, dc.bpp, flags, data))); err != nil {
					t.Fatal(err)
				}
				for y := range 2 {
					for x := range 4 {
						p := fb.At(x0+x, y0+y)
						want := dc.want[depthPicture[y][x]]
						if got := (rgb{p.R, p.G, p.B}); got != want {
							t.Errorf("pixel (%d,%d): got %02x, want %02x", x, y, got, want)
						}
					}
				}
				if n := map[string]int{"raw": c.stats.raw, "interleaved": c.stats.interleaved}[kind]; n != 1 {
					t.Errorf("%d %s bitmaps decoded, want 1", n, kind)
				}
			})
		}
	}
}

// TestInterleavedWhiteBlack checks the WHITE and BLACK orders (0xFD, 0xFE)
// at each depth: white is all bits of the depth set (3.1.9: 0xFF, 0x7FFF,
// 0xFFFF, 0xFFFFFF), black is zero. It decodes to native values, so the
// colour conversion is not involved.
func TestInterleavedWhiteBlack(t *testing.T) {
	for bpp, white := range map[int]uint32{8: 0xFF, 15: 0x7FFF, 16: 0xFFFF, 24: 0xFFFFFF} {
		got := []uint32{1, 1}
		if err := decodeInterleavedRLE(got, []byte{0xFD, 0xFE}, 2, bpp); err != nil {
			t.Fatal(err)
		}
		if got[0] != white || got[1] != 0 {
			t.Errorf("%d bpp: WHITE, BLACK = %#x, %#x; want %#x, 0", bpp, got[0], got[1], white)
		}
	}
}
