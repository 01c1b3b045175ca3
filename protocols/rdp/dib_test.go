package rdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
)

// dibHead writes a BITMAPINFOHEADER field by field (MS-WMF 2.2.2.3), for
// vectors made by hand rather than by the encoder.
func dibHead(w, h int32, bpp uint16, compression, sizeImage, clrUsed uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 40)
	b = le.AppendUint32(b, uint32(w))
	b = le.AppendUint32(b, uint32(h))
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, bpp)
	b = le.AppendUint32(b, compression)
	b = le.AppendUint32(b, sizeImage)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, clrUsed)
	return le.AppendUint32(b, 0)
}

// dwords appends little-endian DWORDs (masks, palette entries).
func dwords(b []byte, v ...uint32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// rgba is a row-major list of pixels, for the expected images.
type rgba [][4]uint8

func checkImage(t *testing.T, name string, img image.Image, w, h int, want rgba) {
	t.Helper()
	if img.Bounds() != image.Rect(0, 0, w, h) {
		t.Fatalf("%s: bounds %v, want %dx%d", name, img.Bounds(), w, h)
	}
	for i, p := range want {
		x, y := i%w, i/w
		got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		if got != (color.NRGBA{p[0], p[1], p[2], p[3]}) {
			t.Errorf("%s: pixel (%d,%d) is %v, want %v", name, x, y, got, p)
		}
	}
}

const (
	dibRed, dibGreen, dibBlue = 0xFF0000, 0x00FF00, 0x0000FF
)

// TestDecodeDIB: hand-made DIBs of every depth and orientation the
// decoder reads, each checked pixel by pixel.
func TestDecodeDIB(t *testing.T) {
	var (
		red    = [4]uint8{0xFF, 0, 0, 0xFF}
		green  = [4]uint8{0, 0xFF, 0, 0xFF}
		blue   = [4]uint8{0, 0, 0xFF, 0xFF}
		white  = [4]uint8{0xFF, 0xFF, 0xFF, 0xFF}
		black  = [4]uint8{0, 0, 0, 0xFF}
		grey   = [4]uint8{0x80, 0x40, 0x20, 0xFF} // B 0x20 G 0x40 R 0x80
		purple = [4]uint8{0x7F, 0x00, 0x7F, 0xFF}
	)
	tests := []struct {
		name string
		data []byte
		w, h int
		want rgba
	}{
		{
			// 3x2, rows of 9 bytes padded to 12; the first row in the data
			// is the bottom one.
			name: "24 bpp bottom-up",
			data: append(dibHead(3, 2, 24, biRGB, 0, 0),
				0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x00, 0xEE, 0xEE, 0xEE, // bottom: red green blue
				0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x20, 0x40, 0x80, 0xEE, 0xEE, 0xEE), // top: white black grey
			w: 3, h: 2, want: rgba{white, black, grey, red, green, blue},
		},
		{
			name: "24 bpp top-down",
			data: append(dibHead(3, -2, 24, biRGB, 0, 0),
				0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x00, 0, 0, 0,
				0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x20, 0x40, 0x80, 0, 0, 0),
			w: 3, h: 2, want: rgba{red, green, blue, white, black, grey},
		},
		{
			// The fourth byte is 0 everywhere: opaque.
			name: "32 bpp BI_RGB, alpha all 0",
			data: append(dibHead(2, 1, 32, biRGB, 0, 0), 0x00, 0x00, 0xFF, 0x00, 0x20, 0x40, 0x80, 0x00),
			w:    2, h: 1, want: rgba{red, grey},
		},
		{
			// Some alpha: straight alpha, kept (0 stays transparent).
			name: "32 bpp BI_RGB with alpha",
			data: append(dibHead(2, -2, 32, biRGB, 0, 0),
				0x00, 0x00, 0xFF, 0xFF, 0x20, 0x40, 0x80, 0x80,
				0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x01),
			w: 2, h: 2, want: rgba{red, {0x80, 0x40, 0x20, 0x80}, {0, 0, 0xFF, 0}, {0, 0xFF, 0, 1}},
		},
		{
			// A 40-byte header and three masks after it, in an unusual
			// order (red in the low byte) to show they are read.
			name: "32 bpp BI_BITFIELDS after BITMAPINFOHEADER",
			data: append(dwords(dibHead(2, 1, 32, biBitfields, 8, 0), 0x000000FF, 0x0000FF00, 0x00FF0000),
				0xFF, 0x00, 0x00, 0x00, 0x80, 0x40, 0x20, 0xAB),
			w: 2, h: 1, want: rgba{red, grey},
		},
		{
			// BITMAPV5HEADER: masks and alpha mask in the header.
			name: "32 bpp BI_BITFIELDS BITMAPV5HEADER with alpha",
			data: append(v5Head(1, 2, 32, biBitfields, [4]uint32{dibRed, dibGreen, dibBlue, 0xFF000000}),
				0xFF, 0x00, 0x00, 0x40, // bottom: blue, alpha 0x40
				0x00, 0x00, 0xFF, 0xFF), // top: red
			w: 1, h: 2, want: rgba{red, {0, 0, 0xFF, 0x40}},
		},
		{
			// 5-5-5: 0x7C00 red, 0x03E0 green, 0x001F blue; 0x3C0F is
			// red 15, green 0, blue 15 (scaled: 0x7B). Rows of 6 bytes
			// padded to 8.
			name: "16 bpp BI_RGB 555",
			data: append(dibHead(3, 1, 16, biRGB, 0, 0), 0x00, 0x7C, 0xE0, 0x03, 0x0F, 0x3C, 0x99, 0x99),
			w:    3, h: 1, want: rgba{red, green, {0x7B, 0, 0x7B, 0xFF}},
		},
		{
			// 5-6-5: 0xF800 red, 0x07E0 green, 0x001F blue.
			name: "16 bpp BI_BITFIELDS 565",
			data: append(dwords(dibHead(3, 1, 16, biBitfields, 0, 0), 0xF800, 0x07E0, 0x001F),
				0x00, 0xF8, 0xE0, 0x07, 0x1F, 0x00, 0, 0),
			w: 3, h: 1, want: rgba{red, green, blue},
		},
		{
			// Three palette entries (biClrUsed 3); index 3 is past the
			// table: black. Rows of 4 bytes.
			name: "8 bpp palette",
			data: append(dwords(dibHead(4, 1, 8, biRGB, 0, 3), 0x00FF0000, 0x0000FF00, 0x007F007F),
				2, 0, 1, 3),
			w: 4, h: 1, want: rgba{purple, red, green, black},
		},
		{
			// biClrUsed 0: 16 entries. 5 pixels, high nibble first: 0x01
			// 0x2F 0x10, padded to 4 bytes.
			name: "4 bpp palette",
			data: append(dwords(dibHead(5, 1, 4, biRGB, 0, 0),
				0x000000, 0xFF0000, 0x00FF00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFFFFF),
				0x01, 0x2F, 0x10, 0x00),
			w: 5, h: 1, want: rgba{black, red, green, white, red},
		},
		{
			// 9x2 at 1 bit: two bytes of pixels a row, padded to 4; the
			// leftmost pixel in the top bit; bottom-up.
			name: "1 bpp palette",
			data: append(dwords(dibHead(9, 2, 1, biRGB, 0, 2), 0x0000FF, 0xFFFFFF),
				0b10101010, 0b10000000, 0xFF, 0xFF, // bottom
				0b01010101, 0b00000000, 0xFF, 0xFF), // top
			w: 9, h: 2,
			want: rgba{
				blue, white, blue, white, blue, white, blue, white, blue,
				white, blue, white, blue, white, blue, white, blue, white,
			},
		},
		{
			// biSizeImage says 1 GiB: ignored, the size follows from the
			// header.
			name: "biSizeImage too large",
			data: append(dibHead(1, 1, 24, biRGB, 1<<30, 0), 0x00, 0x00, 0xFF, 0x00),
			w:    1, h: 1, want: rgba{red},
		},
		{
			// A colour table at 24 bits (biClrUsed 2) is skipped.
			name: "24 bpp with a colour table",
			data: append(dwords(dibHead(1, 1, 24, biRGB, 0, 2), 0x123456, 0x654321), 0xFF, 0x00, 0x00, 0x00),
			w:    1, h: 1, want: rgba{blue},
		},
	}
	for _, tt := range tests {
		img, err := decodeDIB(tt.data, 1<<20)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkImage(t, tt.name, img, tt.w, tt.h, tt.want)
	}
}

// v5Head writes a BITMAPV5HEADER (MS-WMF 2.2.2.5) by hand.
func v5Head(w, h int32, bpp uint16, compression uint32, masks [4]uint32) []byte {
	b := dibHead(w, h, bpp, compression, 0, 0)
	binary.LittleEndian.PutUint32(b, 124)
	b = dwords(b, masks[0], masks[1], masks[2], masks[3], 0x73524742) // bV5CSType 'sRGB'
	b = append(b, make([]byte, 36+12)...)                             // endpoints, gammas
	return dwords(b, 4, 0, 0, 0)                                      // intent, profile, reserved
}

// TestDecodeDIBPNG: BI_PNG, a PNG file (made with image/png) after the
// header, is decoded; BI_JPEG that is not a JPEG is refused.
func TestDecodeDIBPNG(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	src.SetNRGBA(0, 0, color.NRGBA{1, 2, 3, 4})
	src.SetNRGBA(1, 0, color.NRGBA{0xFF, 0, 0, 0xFF})
	var file bytes.Buffer
	if err := png.Encode(&file, src); err != nil {
		t.Fatal(err)
	}
	data := append(dibHead(2, 1, 0, biPNG, uint32(file.Len()), 0), file.Bytes()...)
	img, err := decodeDIB(data, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, "BI_PNG", img, 2, 1, rgba{{1, 2, 3, 4}, {0xFF, 0, 0, 0xFF}})
	// More pixels than allowed, told from the PNG's own header (the DIB's
	// says 1x1).
	small := append(dibHead(1, 1, 0, biPNG, 0, 0), file.Bytes()...)
	if _, err := decodeDIB(small, 1); err == nil || !strings.Contains(err.Error(), "BI_PNG of 2x1") {
		t.Errorf("a 2-pixel PNG with 1 allowed: %v", err)
	}
	if _, err := decodeDIB(append(dibHead(2, 1, 0, biJPEG, 0, 0), file.Bytes()...), 100); !errors.Is(err, ErrClipboardFailed) {
		t.Errorf("a PNG as BI_JPEG: %v", err)
	}
}

// TestDecodeDIBHostile: headers that lie about sizes, depths or the data
// are refused with an error wrapping ErrClipboardFailed, before anything
// large is allocated.
func TestDecodeDIBHostile(t *testing.T) {
	px := make([]byte, 64)
	setSize := func(b []byte, size uint32) []byte {
		binary.LittleEndian.PutUint32(b, size)
		return b
	}
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "0 bytes"},
		{"3 bytes", "\x28\x00\x00", "3 bytes"},
		{"BITMAPCOREHEADER", string(append(setSize(dibHead(1, 1, 24, biRGB, 0, 0), 12), px...)), "header of 12 bytes"},
		{"header size 2^32-1", string(setSize(dibHead(1, 1, 24, biRGB, 0, 0), 0xFFFFFFFF)), "header of 4294967295 bytes"},
		{"header cut short", string(dibHead(1, 1, 24, biRGB, 0, 0)[:39]), "header of 40 bytes in 39"},
		{"V5 header cut short", string(v5Head(1, 1, 24, biRGB, [4]uint32{})[:100]), "header of 124 bytes in 100"},
		{"width 0", string(append(dibHead(0, 1, 24, biRGB, 0, 0), px...)), "0x1 pixels"},
		{"height 0", string(append(dibHead(1, 0, 24, biRGB, 0, 0), px...)), "1x0 pixels"},
		{"negative width", string(append(dibHead(-4, 1, 24, biRGB, 0, 0), px...)), "-4x1 pixels"},
		{"huge width", string(append(dibHead(0x7FFFFFFF, 1, 1, biRGB, 0, 2), px...)), "over 16384 on a side"},
		{"huge height", string(append(dibHead(1, 0x7FFFFFFF, 1, biRGB, 0, 2), px...)), "over 16384 on a side"},
		{"height -2^31", string(append(dibHead(1, -0x80000000, 1, biRGB, 0, 2), px...)), "over 16384 on a side"},
		{"too many pixels", string(append(dibHead(16384, 16384, 1, biRGB, 0, 2), px...)), "16384x16384 pixels, over 1048576"},
		{"pixels cut short", string(append(dibHead(3, 2, 24, biRGB, 24, 0), px[:23]...)), "needs 24 bytes of pixels, 23 given"},
		{"biSizeImage small, data short", string(append(dibHead(4, 4, 32, biRGB, 4, 0), px[:4]...)), "needs 64 bytes of pixels, 4 given"},
		{"1 bpp, 16384 wide, data short", string(append(dwords(dibHead(16384, 64, 1, biRGB, 0, 2), 0, 0), px...)), "needs 131072 bytes"},
		{"palette cut short", string(append(dibHead(1, 1, 8, biRGB, 0, 0), px[:20]...)), "colour table of 256 entries, but 20 bytes"},
		{"biClrUsed 2^32-1", string(append(dibHead(1, 1, 24, biRGB, 0, 0xFFFFFFFF), px...)), "colour table of 4294967295 entries"},
		{"masks cut short", string(append(dibHead(1, 1, 32, biBitfields, 0, 0), 0xFF, 0, 0)), "masks cut short"},
		{"BI_BITFIELDS at 24 bits", string(append(dwords(dibHead(1, 1, 24, biBitfields, 0, 0), 0xFF, 0xFF00, 0xFF0000), px...)), "BI_BITFIELDS with biBitCount 24"},
		{"zero mask", string(append(dwords(dibHead(1, 1, 32, biBitfields, 0, 0), 0xFF, 0, 0xFF0000), px...)), "mask 1 is 0"},
		{"mask with a gap", string(append(dwords(dibHead(1, 1, 32, biBitfields, 0, 0), 0xF0F, 0xF000, 0xFF0000), px...)), "mask 0 is 0xf0f"},
		{"16-bit mask over 16 bits", string(append(dwords(dibHead(1, 1, 16, biBitfields, 0, 0), 0x1F, 0x7E0, 0x1F0000), px...)), "mask 2 is 0x1f0000"},
		{"2 bpp", string(append(dibHead(1, 1, 2, biRGB, 0, 0), px...)), "biBitCount 2"},
		{"0 bpp BI_RGB", string(append(dibHead(1, 1, 0, biRGB, 0, 0), px...)), "biBitCount 0"},
		{"RLE8", string(append(dibHead(1, 1, 8, biRLE8, 2, 0), px...)), "RLE compression (1)"},
		{"RLE4", string(append(dibHead(1, 1, 4, biRLE4, 2, 0), px...)), "RLE compression (2)"},
		{"compression 6", string(append(dibHead(1, 1, 32, 6, 0, 0), px...)), "biCompression 6"},
		{"BI_PNG not a PNG", string(append(dibHead(1, 1, 0, biPNG, 0, 0), px...)), "BI_PNG"},
	}
	for _, tt := range tests {
		img, err := decodeDIB([]byte(tt.data), 1<<20)
		if err == nil || !errors.Is(err, ErrClipboardFailed) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, %v; want an ErrClipboardFailed saying %q", tt.name, img, err, tt.want)
		}
	}
}

// TestEncodeDIB: the CF_DIB and CF_DIBV5 the client serves, byte for byte
// for a 2x2 image (written out from the header definitions), and decoded
// back for images of every width modulo 4, opaque and translucent, of
// several image types.
func TestEncodeDIB(t *testing.T) {
	img := image.NewNRGBA(image.Rect(10, 20, 12, 22)) // not at the origin
	img.SetNRGBA(10, 20, color.NRGBA{0xFF, 0, 0, 0xFF})
	img.SetNRGBA(11, 20, color.NRGBA{0, 0xFF, 0, 0xFF})
	img.SetNRGBA(10, 21, color.NRGBA{0, 0, 0xFF, 0xFF})
	img.SetNRGBA(11, 21, color.NRGBA{0x10, 0x20, 0x30, 0x80}) // on white: 0x87 0x8f 0x97
	want := hx("28 00 00 00 02 00 00 00 02 00 00 00 01 00 18 00 00 00 00 00 10 00 00 00 13 0b 00 00 13 0b 00 00 00 00 00 00 00 00 00 00" +
		" ff 00 00 97 8f 87 00 00" + // bottom row: blue, the translucent pixel; padded to 8
		" 00 00 ff 00 ff 00 00 00") // top row: red, green
	if got := encodeDIB(img); !bytes.Equal(got, want) {
		t.Errorf("encodeDIB:\n got % x\nwant % x", got, want)
	}
	wantV5 := hx("7c 00 00 00 02 00 00 00 02 00 00 00 01 00 20 00 03 00 00 00 10 00 00 00 13 0b 00 00 13 0b 00 00 00 00 00 00 00 00 00 00" +
		" 00 00 ff 00 00 ff 00 00 ff 00 00 00 00 00 00 ff 42 47 52 73" + strings.Repeat(" 00", 48) + " 04 00 00 00" + strings.Repeat(" 00", 12) +
		" ff 00 00 ff 30 20 10 80 00 00 ff ff 00 ff 00 ff")
	if got := encodeDIBV5(img); !bytes.Equal(got, wantV5) {
		t.Errorf("encodeDIBV5:\n got % x\nwant % x", got, wantV5)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for w := 1; w <= 5; w++ {
		h := 3
		op := image.NewNRGBA(image.Rect(0, 0, w, h))
		tr := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range op.Pix {
			op.Pix[i], tr.Pix[i] = uint8(rng.Uint32()), uint8(rng.Uint32())
			if i%4 == 3 {
				op.Pix[i] = 0xFF
			}
		}
		tr.Pix[3] = 0x7F // one alpha that is not 0
		pre := image.NewRGBA(op.Bounds())
		gray := image.NewGray(op.Bounds())
		for y := range h {
			for x := range w {
				pre.Set(x, y, op.At(x, y))
				gray.Set(x, y, op.At(x, y))
			}
		}
		for _, c := range []struct {
			name   string
			img    image.Image
			encode func(image.Image) []byte
			want   func(x, y int) color.NRGBA
		}{
			{"opaque NRGBA as CF_DIB", op, encodeDIB, func(x, y int) color.NRGBA { return op.NRGBAAt(x, y) }},
			{"opaque RGBA as CF_DIB", pre, encodeDIB, func(x, y int) color.NRGBA { return op.NRGBAAt(x, y) }},
			{"Gray as CF_DIB", gray, encodeDIB, func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(gray.At(x, y)).(color.NRGBA) }},
			{"translucent as CF_DIB", tr, encodeDIB, func(x, y int) color.NRGBA {
				c := tr.NRGBAAt(x, y)
				return color.NRGBA{onWhite(c.R, c.A), onWhite(c.G, c.A), onWhite(c.B, c.A), 0xFF}
			}},
			{"translucent as CF_DIBV5", tr, encodeDIBV5, func(x, y int) color.NRGBA { return tr.NRGBAAt(x, y) }},
		} {
			data := c.encode(c.img)
			if uint64(len(data)) != dibSize(int(binary.LittleEndian.Uint32(data)), w, h, int(binary.LittleEndian.Uint16(data[14:]))) {
				t.Errorf("%s %dx%d: %d bytes, dibSize says otherwise", c.name, w, h, len(data))
			}
			back, err := decodeDIB(data, 100)
			if err != nil {
				t.Fatalf("%s %dx%d: %v", c.name, w, h, err)
			}
			for y := range h {
				for x := range w {
					if got := back.(*image.NRGBA).NRGBAAt(x, y); got != c.want(x, y) {
						t.Fatalf("%s %dx%d: (%d,%d) is %v, want %v", c.name, w, h, x, y, got, c.want(x, y))
					}
				}
			}
		}
	}
	if onWhite(0, 0) != 0xFF || onWhite(0x12, 0xFF) != 0x12 || onWhite(0, 0x80) != 0x7F {
		t.Errorf("onWhite: %#x %#x %#x", onWhite(0, 0), onWhite(0x12, 0xFF), onWhite(0, 0x80))
	}
}

// TestClipboardImage: the exported decoder takes CF_DIB and CF_DIBV5
// only.
func TestClipboardImage(t *testing.T) {
	data := append(dibHead(1, 1, 24, biRGB, 0, 0), 0x00, 0x00, 0xFF, 0x00)
	for _, f := range []uint32{CFDIB, CFDIBV5} {
		img, err := ClipboardImage(f, data)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, fmt.Sprint("format ", f), img, 1, 1, rgba{{0xFF, 0, 0, 0xFF}})
	}
	if _, err := ClipboardImage(CFText, data); !errors.Is(err, ErrClipboardFailed) {
		t.Errorf("CF_TEXT: %v", err)
	}
}
