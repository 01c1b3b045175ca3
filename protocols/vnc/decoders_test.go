package vnc

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/racgate/racgate/render"
)

// want is an expected picture painted by the test itself.
type want struct {
	w, h int
	pix  []byte
}

func newWant(w, h int) *want { return &want{w, h, make([]byte, w*h*4)} }

func (e *want) set(x, y int, p []byte) { copy(e.pix[(y*e.w+x)*4:], p[:3]) }

func (e *want) fill(r image.Rectangle, p []byte) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			e.set(x, y, p)
		}
	}
}

func (e *want) check(t *testing.T, fb *render.Framebuffer) {
	t.Helper()
	if fb.Width != e.w || fb.Height != e.h {
		t.Fatalf("framebuffer %dx%d, want %dx%d", fb.Width, fb.Height, e.w, e.h)
	}
	for y := range e.h {
		for x := range e.w {
			o := (y*e.w + x) * 4
			if !bytes.Equal(fb.Pix[y*fb.Stride+x*4:][:3], e.pix[o:o+3]) {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, fb.Pix[y*fb.Stride+x*4:][:3], e.pix[o:o+3])
			}
		}
	}
}

// mustEOF runs stream and expects it to end only because the stream ended.
func mustRun(t *testing.T, stream []byte, cfg Config) (*Client, *render.Framebuffer, *fakeConn) {
	t.Helper()
	c, fb, conn, err := runFake(stream, cfg)
	if c == nil {
		t.Fatalf("handshake: %v", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Run: %v, want the stream's end", err)
	}
	return c, fb, conn
}

func pattern(x, y int) []byte { return rgbx(byte(x*17), byte(y*29), byte(x*y+5)) }

func TestRawCopyRect(t *testing.T) {
	const w, h = 8, 6
	e := newWant(w, h)
	var raw []byte
	for y := range h {
		for x := range w {
			raw = append(raw, pattern(x, y)...)
			e.set(x, y, pattern(x, y))
		}
	}
	// CopyRect of (0,0)-(3,2) to (4,3), overlapping nothing.
	for y := range 2 {
		for x := range 3 {
			e.set(4+x, 3+y, pattern(x, y))
		}
	}
	stream := serverHello(w, h)
	stream = append(stream, fbUpdate(rect(0, 0, w, h, EncodingRaw, raw))...)
	stream = append(stream, fbUpdate(rect(4, 3, 3, 2, EncodingCopyRect, append(u16be(0), u16be(0)...)))...)
	_, fb, _ := mustRun(t, stream, Config{})
	e.check(t, fb)
	if fb.Frames != 2 {
		t.Fatalf("%d frames, want 2", fb.Frames)
	}
}

func TestRRE(t *testing.T) {
	e := newWant(10, 10)
	bg, a, b := rgbx(1, 2, 3), rgbx(200, 0, 0), rgbx(0, 200, 0)
	e.fill(image.Rect(2, 2, 8, 9), bg)
	e.fill(image.Rect(3, 3, 5, 4), a)
	e.fill(image.Rect(2, 8, 8, 9), b)
	body := be32(nil, 2)
	body = append(body, bg...)
	body = append(body, a...)
	body = append(body, append(append(u16be(1), u16be(1)...), append(u16be(2), u16be(1)...)...)...)
	body = append(body, b...)
	body = append(body, append(append(u16be(0), u16be(6)...), append(u16be(6), u16be(1)...)...)...)
	_, fb, _ := mustRun(t, append(serverHello(10, 10), fbUpdate(rect(2, 2, 6, 7, EncodingRRE, body))...), Config{})
	e.check(t, fb)
}

func TestHextile(t *testing.T) {
	// 20x18: tiles 16x16, 4x16, 16x2, 4x2.
	e := newWant(20, 18)
	bg1, fg1, red, blue := rgbx(10, 20, 30), rgbx(250, 250, 250), rgbx(255, 0, 0), rgbx(0, 0, 255)
	var body []byte
	// Tile 1: background, foreground and two plain subrects.
	body = append(body, hextileBackgroundSpecified|hextileForegroundSpecified|hextileAnySubrects)
	body = append(body, bg1...)
	body = append(body, fg1...)
	body = append(body, 2, 0x12, 0x31, 0xff, 0x00) // (1,2) 4x2; (15,15) 1x1
	e.fill(image.Rect(0, 0, 16, 16), bg1)
	e.fill(image.Rect(1, 2, 5, 4), fg1)
	e.set(15, 15, fg1)
	// Tile 2 (4x16): raw.
	body = append(body, hextileRaw)
	for y := range 16 {
		for x := range 4 {
			body = append(body, pattern(x, y)...)
			e.set(16+x, y, pattern(x, y))
		}
	}
	// Tile 3 (16x2): background carried over, coloured subrects.
	body = append(body, hextileAnySubrects|hextileSubrectsColoured, 2)
	body = append(body, red...)
	body = append(body, 0x00, 0x10) // (0,0) 2x1
	body = append(body, blue...)
	body = append(body, 0xf1, 0x00) // (15,1) 1x1
	e.fill(image.Rect(0, 16, 16, 18), bg1)
	e.fill(image.Rect(0, 16, 2, 17), red)
	e.set(15, 17, blue)
	// Tile 4 (4x2): new background only.
	body = append(body, hextileBackgroundSpecified)
	body = append(body, blue...)
	e.fill(image.Rect(16, 16, 20, 18), blue)
	_, fb, _ := mustRun(t, append(serverHello(20, 18), fbUpdate(rect(0, 0, 20, 18, EncodingHextile, body))...), Config{})
	e.check(t, fb)
}

func TestZlibAcrossRectangles(t *testing.T) {
	const w, h = 16, 8
	e := newWant(w, h)
	var a, b []byte
	for y := range 4 {
		for x := range w {
			a = append(a, pattern(x, y)...)
			e.set(x, y, pattern(x, y))
			e.set(x, y+4, pattern(x, y))
		}
	}
	b = a // identical: the second rectangle's data refers back into the first's window
	z := zlibStream(a, b)
	stream := serverHello(w, h)
	stream = append(stream, fbUpdate(rect(0, 0, w, 4, EncodingZlib, withLen32(z[0])))...)
	stream = append(stream, fbUpdate(rect(0, 4, w, 4, EncodingZlib, withLen32(z[1])))...)
	_, fb, _ := mustRun(t, stream, Config{})
	e.check(t, fb)
}

// A rectangle's compressed bytes are inflated from the read buffer when they fit in it
// and streamed from the connection when they do not; one stream runs through both, each
// rectangle's data referring back into the window the others left.
func TestZlibPeekedAndStreamed(t *testing.T) {
	const w = 128
	rng := rand.New(rand.NewPCG(9, 9))
	small, big := make([]byte, w*4*4), make([]byte, w*4*160) // big: noise, > readBufferSize compressed
	for i := range small {
		small[i] = byte(i / 7)
	}
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	z := zlibStream(small, big, small) // the third refers back past the second
	if len(z[0]) > readBufferSize || len(z[1]) <= readBufferSize || len(z[2]) > readBufferSize {
		t.Fatalf("pieces of %d, %d and %d bytes: not small, big, small", len(z[0]), len(z[1]), len(z[2]))
	}
	e := newWant(w, 168)
	put := func(y0 int, data []byte) {
		for i := 0; i < len(data); i += 4 {
			e.set(i/4%w, y0+i/4/w, data[i:i+4])
		}
	}
	put(0, small)
	put(4, big)
	put(164, small)
	stream := serverHello(w, 168)
	stream = append(stream, fbUpdate(rect(0, 0, w, 4, EncodingZlib, withLen32(z[0])))...)
	stream = append(stream, fbUpdate(rect(0, 4, w, 160, EncodingZlib, withLen32(z[1])))...)
	stream = append(stream, fbUpdate(rect(0, 164, w, 4, EncodingZlib, withLen32(z[2])))...)
	_, fb, _ := mustRun(t, stream, Config{})
	e.check(t, fb)
}

// cpixel is a ZRLE/Tight compressed pixel: R, G, B.
func cpixel(p []byte) []byte { return p[:3] }

func TestZRLE(t *testing.T) {
	// 70x5: a 64x5 tile and a 6x5 tile per rectangle; three rectangles.
	const w, h = 70, 15
	e := newWant(w, h)
	var d1 []byte
	// Rect 1, tile 1: raw.
	d1 = append(d1, 0)
	for y := range 5 {
		for x := range 64 {
			d1 = append(d1, cpixel(pattern(x, y))...)
			e.set(x, y, pattern(x, y))
		}
	}
	// Rect 1, tile 2: solid.
	d1 = append(d1, 1, 9, 8, 7)
	e.fill(image.Rect(64, 0, 70, 5), rgbx(9, 8, 7))
	var d2 []byte
	// Rect 2, tile 1: packed palette of 2 (1 bit), rows of 64 bits.
	red, green, blue := rgbx(255, 0, 0), rgbx(0, 255, 0), rgbx(0, 0, 255)
	d2 = append(d2, 2)
	d2 = append(d2, cpixel(red)...)
	d2 = append(d2, cpixel(green)...)
	for y := range 5 {
		for xb := range 8 {
			d2 = append(d2, 0xA5^byte(y))
			for bit := range 8 {
				p := red
				if (0xA5^byte(y))&(0x80>>bit) != 0 {
					p = green
				}
				e.set(xb*8+bit, 5+y, p)
			}
		}
	}
	// Rect 2, tile 2: packed palette of 3 (2 bits per pixel), 6 pixels -> 2 bytes per row.
	d2 = append(d2, 3)
	d2 = append(d2, cpixel(red)...)
	d2 = append(d2, cpixel(green)...)
	d2 = append(d2, cpixel(blue)...)
	pal := [][]byte{red, green, blue}
	for y := range 5 {
		idx := []int{0, 1, 2, (y) % 3, 1, 0}
		var b0, b1 byte
		for i := range 4 {
			b0 |= byte(idx[i]) << (6 - 2*i)
		}
		b1 = byte(idx[4])<<6 | byte(idx[5])<<4
		d2 = append(d2, b0, b1)
		for x := range 6 {
			e.set(64+x, 5+y, pal[idx[x]])
		}
	}
	var d3 []byte
	// Rect 3, tile 1: plain RLE: 300 red, 20 blue (64x5 = 320).
	d3 = append(d3, 128)
	d3 = append(d3, cpixel(red)...)
	d3 = append(d3, 255, 299-255-1+1) // 1 + 255 + 44 = 300
	d3 = append(d3, cpixel(blue)...)
	d3 = append(d3, 19)
	for i := range 320 {
		p := red
		if i >= 300 {
			p = blue
		}
		e.set(i%64, 10+i/64, p)
	}
	// Rect 3, tile 2: palette RLE with 2 colours: run of 29 green, 1 single red.
	d3 = append(d3, 130)
	d3 = append(d3, cpixel(green)...)
	d3 = append(d3, cpixel(red)...)
	d3 = append(d3, 0x80, 28, 1) // palette index 0 (green) with the run bit, then red
	for i := range 30 {
		p := green
		if i == 29 {
			p = red
		}
		e.set(64+i%6, 10+i/6, p)
	}
	z := zlibStream(d1, d2, d3)
	stream := serverHello(w, h)
	stream = append(stream, fbUpdate(rect(0, 0, w, 5, EncodingZRLE, withLen32(z[0])))...)
	stream = append(stream, fbUpdate(rect(0, 5, w, 5, EncodingZRLE, withLen32(z[1])))...)
	stream = append(stream, fbUpdate(rect(0, 10, w, 5, EncodingZRLE, withLen32(z[2])))...)
	_, fb, _ := mustRun(t, stream, Config{})
	e.check(t, fb)
}

func compactLen(n int) []byte {
	b := []byte{byte(n & 0x7f)}
	if n > 0x7f {
		b[0] |= 0x80
		b = append(b, byte(n>>7&0x7f))
		if n > 0x3fff {
			b[1] |= 0x80
			b = append(b, byte(n>>14))
		}
	}
	return b
}

func TestCompactLength(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 4194303} {
		c := &Client{r: newReader(bytes.NewReader(compactLen(n)))}
		got, err := c.readCompactLength()
		if err != nil || got != n {
			t.Errorf("compact length %d: got %d, %v (bytes %x)", n, got, err, compactLen(n))
		}
	}
}

func TestTight(t *testing.T) {
	const w, h = 32, 24
	e := newWant(w, h)
	stream := serverHello(w, h)
	red, green := rgbx(255, 0, 0), rgbx(0, 255, 0)
	// Fill.
	stream = append(stream, fbUpdate(rect(0, 0, 8, 8, EncodingTight, append([]byte{tightFill << 4}, cpixel(red)...)))...)
	e.fill(image.Rect(0, 0, 8, 8), red)
	// Basic copy filter, compressed on stream 1 (no filter byte).
	var copyData []byte
	for y := range 8 {
		for x := range 8 {
			copyData = append(copyData, cpixel(pattern(x, y))...)
			e.set(8+x, y, pattern(x, y))
		}
	}
	z1 := zlibStream(copyData)
	stream = append(stream, fbUpdate(rect(8, 0, 8, 8, EncodingTight, append(append([]byte{1 << 4}, compactLen(len(z1[0]))...), z1[0]...)))...)
	// Basic copy, tiny (under 12 bytes): sent uncompressed, 2x1 pixels = 6 bytes.
	tiny := append(cpixel(green), cpixel(red)...)
	stream = append(stream, fbUpdate(rect(16, 0, 2, 1, EncodingTight, append([]byte{0}, tiny...)))...)
	e.set(16, 0, green)
	e.set(17, 0, red)
	// Palette of 2 (mono bitmap), stream 2 with filter byte; 10x8, rows of 2 bytes.
	var mono []byte
	for y := range 8 {
		b0, b1 := byte(0x55<<(y%2)), byte(0x80)
		mono = append(mono, b0, b1)
		for x := range 10 {
			bit := b0 & (0x80 >> x)
			if x >= 8 {
				bit = b1 & (0x80 >> (x - 8))
			}
			p := red
			if bit != 0 {
				p = green
			}
			e.set(x, 8+y, p)
		}
	}
	z2 := zlibStream(mono)
	body := []byte{(2 | tightFilterOn) << 4, tightFilterPalette, 1}
	body = append(body, cpixel(red)...)
	body = append(body, cpixel(green)...)
	body = append(body, compactLen(len(z2[0]))...)
	body = append(body, z2[0]...)
	stream = append(stream, fbUpdate(rect(0, 8, 10, 8, EncodingTight, body))...)
	// Palette of 3, one byte per pixel, stream 3.
	blue := rgbx(0, 0, 255)
	pal := [][]byte{red, green, blue}
	var idx []byte
	for y := range 4 {
		for x := range 6 {
			i := byte((x + y) % 3)
			idx = append(idx, i)
			e.set(10+x, 8+y, pal[i])
		}
	}
	z3 := zlibStream(idx)
	body = []byte{(3 | tightFilterOn) << 4, tightFilterPalette, 2}
	for _, p := range pal {
		body = append(body, cpixel(p)...)
	}
	body = append(body, compactLen(len(z3[0]))...)
	body = append(body, z3[0]...)
	stream = append(stream, fbUpdate(rect(10, 8, 6, 4, EncodingTight, body))...)
	// Gradient filter on stream 0 (reset first): encode differences.
	gw, gh := 6, 5
	actual := func(x, y, c int) int { return (x*40 + y*30 + c*50) % 256 }
	var grad []byte
	for y := range gh {
		for x := range gw {
			for c := range 3 {
				var l, a, al int
				if x > 0 {
					l = actual(x-1, y, c)
				}
				if y > 0 {
					a = actual(x, y-1, c)
					if x > 0 {
						al = actual(x-1, y-1, c)
					}
				}
				pred := max(0, min(255, l+a-al))
				grad = append(grad, byte(actual(x, y, c)-pred))
			}
			e.set(16+x, 8+y, []byte{byte(actual(x, y, 0)), byte(actual(x, y, 1)), byte(actual(x, y, 2))})
		}
	}
	z0 := zlibStream(grad)
	body = []byte{0x01 | tightFilterOn<<4, tightFilterGradient}
	body = append(body, compactLen(len(z0[0]))...)
	body = append(body, z0[0]...)
	stream = append(stream, fbUpdate(rect(16, 8, gw, gh, EncodingTight, body))...)
	// JPEG: a flat colour survives JPEG nearly exactly.
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 40, 120, 200, 255
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, img, &jpeg.Options{Quality: 95})
	body = append([]byte{tightJPEG << 4}, compactLen(jb.Len())...)
	body = append(body, jb.Bytes()...)
	stream = append(stream, fbUpdate(rect(16, 16, 16, 8, EncodingTight, body))...)
	// Decoded straight into the framebuffer (render.PixelWriter), and through SetPixels
	// from a buffer of the rectangle's own, for a sink without WritePixels.
	for _, direct := range []bool{true, false} {
		fb := render.NewFramebuffer(0, 0)
		var sink render.Sink = fb
		if !direct {
			sink = struct{ render.Sink }{fb} // hides WritePixels
		}
		c, err := NewClient(context.Background(), newFakeConn(stream), Config{}, sink)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Run(context.Background()); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("direct %v: Run: %v, want the stream's end", direct, err)
		}
		// Check JPEG area with tolerance, then paint it into want.
		for y := 16; y < 24; y++ {
			for x := 16; x < 32; x++ {
				c := fb.At(x, y)
				if absd(c.R, 40) > 3 || absd(c.G, 120) > 3 || absd(c.B, 200) > 3 {
					t.Fatalf("JPEG pixel (%d,%d) = %v", x, y, c)
				}
				e.set(x, y, []byte{c.R, c.G, c.B})
			}
		}
		e.check(t, fb)
	}
}

func absd(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestCursor(t *testing.T) {
	var body []byte
	for i := range 6 {
		body = append(body, rgbx(byte(i*40), 1, 2)...)
	}
	body = append(body, 0b10100000, 0b01000000) // 3x2: row 0 pixels 0,2; row 1 pixel 1
	stream := append(serverHello(4, 4), fbUpdate(rect(1, 1, 3, 2, PseudoEncodingCursor, body))...)
	_, fb, _ := mustRun(t, stream, Config{})
	if fb.Cursor == nil || fb.Cursor.Rect.Dx() != 3 || fb.Cursor.Rect.Dy() != 2 || fb.CursorHot != image.Pt(1, 1) {
		t.Fatalf("cursor %v hot %v", fb.Cursor, fb.CursorHot)
	}
	wantA := []uint8{255, 0, 255, 0, 255, 0}
	for i, a := range wantA {
		p := fb.Cursor.Pix[i*4:]
		if p[3] != a || p[0] != byte(i*40) {
			t.Errorf("cursor pixel %d = %v, want R %d alpha %d", i, p[:4], i*40, a)
		}
	}
}

func TestDesktopSizeAndName(t *testing.T) {
	var names []string
	eds := []byte{1, 0, 0, 0}
	eds = appendScreen(eds, screen{ID: 7, Width: 30, Height: 20})
	stream := serverHello(10, 10)
	stream = append(stream, fbUpdate(
		rect(0, 0, 30, 20, PseudoEncodingExtendedDesktopSize, eds),
		rect(0, 0, 0, 0, PseudoEncodingDesktopName, append(be32(nil, 5), "hello"...)),
	)...)
	stream = append(stream, fbUpdate(rect(29, 19, 1, 1, EncodingRaw, rgbx(1, 2, 3)))...)
	c, fb, conn := mustRun(t, stream, Config{OnName: func(n string) { names = append(names, n) }})
	if w, h := c.Size(); w != 30 || h != 20 || fb.Width != 30 || fb.Height != 20 {
		t.Fatalf("size %dx%d, framebuffer %dx%d; want 30x20", w, h, fb.Width, fb.Height)
	}
	if !c.CanResize() || c.Name() != "hello" || len(names) != 2 || names[1] != "hello" {
		t.Fatalf("CanResize %v, Name %q, names %v", c.CanResize(), c.Name(), names)
	}
	if fb.At(29, 19) != (color.RGBA{1, 2, 3, 255}) {
		t.Fatalf("pixel after resize %v", fb.At(29, 19))
	}
	// SetDesktopSize sends the known screen's id.
	if err := c.SetDesktopSize(64, 48); err != nil {
		t.Fatal(err)
	}
	msg := []byte{msgSetDesktopSize, 0, 0, 64, 0, 48, 1, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 64, 0, 48, 0, 0, 0, 0}
	if !bytes.HasSuffix(conn.written.Bytes(), msg) {
		t.Fatalf("SetDesktopSize wrote %x", conn.written.Bytes()[conn.written.Len()-24:])
	}
	// A non-incremental request follows the resize.
	if !bytes.Contains(conn.written.Bytes(), []byte{msgFramebufferUpdateRequest, 0, 0, 0, 0, 0, 0, 30, 0, 20}) {
		t.Fatal("no full update request after the resize")
	}
}

// TestFixedSize: with Config.FixedSize a server that can resize (it sent
// ExtendedDesktopSize) is reported as fixed, and SetDesktopSize writes nothing, while
// the server's own size change still applies.
func TestFixedSize(t *testing.T) {
	eds := appendScreen([]byte{1, 0, 0, 0}, screen{ID: 7, Width: 30, Height: 20})
	stream := append(serverHello(10, 10), fbUpdate(rect(0, 0, 30, 20, PseudoEncodingExtendedDesktopSize, eds))...)
	c, fb, conn := mustRun(t, stream, Config{FixedSize: true})
	if w, h := c.Size(); w != 30 || h != 20 || fb.Width != 30 {
		t.Fatalf("size %dx%d, framebuffer width %d; want the server's 30x20", w, h, fb.Width)
	}
	if c.CanResize() {
		t.Fatal("CanResize true with FixedSize")
	}
	n := conn.written.Len()
	if err := c.SetDesktopSize(64, 48); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("SetDesktopSize with FixedSize: %v, want ErrUnsupported", err)
	}
	if conn.written.Len() != n {
		t.Fatalf("SetDesktopSize with FixedSize wrote %x", conn.written.Bytes()[n:])
	}
}

func TestFenceAnswered(t *testing.T) {
	fence := []byte{msgServerFence, 0, 0, 0}
	fence = be32(fence, fenceRequest|fenceBlockBefore|fenceSyncNext|1<<10)
	fence = append(fence, 3, 'a', 'b', 'c')
	_, _, conn := mustRun(t, append(serverHello(4, 4), fence...), Config{})
	reply := []byte{msgClientFence, 0, 0, 0, 0, 0, 0, byte(fenceBlockBefore | fenceSyncNext), 3, 'a', 'b', 'c'}
	if !bytes.HasSuffix(conn.written.Bytes(), reply) {
		t.Fatalf("fence reply missing; wrote %x", conn.written.Bytes())
	}
}

func TestQEMUExtendedKeyEvent(t *testing.T) {
	stream := append(serverHello(4, 4), fbUpdate(rect(0, 0, 0, 0, PseudoEncodingQEMUExtendedKeyEvent, nil))...)
	c, _, conn := mustRun(t, stream, Config{})
	if err := c.KeyEvent(0xffea, "AltRight", true); err != nil {
		t.Fatal(err)
	}
	if want := []byte{255, 0, 0, 1, 0, 0, 0xff, 0xea, 0, 0, 0, 0xb8}; !bytes.HasSuffix(conn.written.Bytes(), want) {
		t.Fatalf("wrote %x, want suffix %x", conn.written.Bytes(), want)
	}
	if err := c.KeyEvent(0x61, "KeyA", false); err != nil {
		t.Fatal(err)
	}
	if want := []byte{255, 0, 0, 0, 0, 0, 0, 0x61, 0, 0, 0, 0x1e}; !bytes.HasSuffix(conn.written.Bytes(), want) {
		t.Fatalf("wrote %x, want suffix %x", conn.written.Bytes(), want)
	}
	// Unknown code: plain KeyEvent.
	c.KeyEvent(0x20ac, "", true)
	if want := []byte{msgKeyEvent, 1, 0, 0, 0, 0, 0x20, 0xac}; !bytes.HasSuffix(conn.written.Bytes(), want) {
		t.Fatalf("wrote %x, want suffix %x", conn.written.Bytes(), want)
	}
}

func TestPlainKeyAndPointer(t *testing.T) {
	c, _, conn := mustRun(t, serverHello(4, 4), Config{})
	c.KeyEvent(0xff0d, "Enter", true) // no QEMU support announced
	c.PointerEvent(1<<7|1, 70000, -5)
	want := []byte{msgKeyEvent, 1, 0, 0, 0, 0, 0xff, 0x0d, msgPointerEvent, 0x81, 0xff, 0xff, 0, 0}
	if !bytes.HasSuffix(conn.written.Bytes(), want) {
		t.Fatalf("wrote %x, want suffix %x", conn.written.Bytes(), want)
	}
}

func TestExtendedDesktopSizeRefused(t *testing.T) {
	eds := appendScreen([]byte{1, 0, 0, 0}, screen{ID: 1, Width: 10, Height: 10})
	stream := serverHello(10, 10)
	// Reason 1 (our request), status 3 (invalid layout), a size that must not apply.
	stream = append(stream, fbUpdate(rect(edsReasonClient, 3, 50, 50, PseudoEncodingExtendedDesktopSize, eds))...)
	c, fb, _ := mustRun(t, stream, Config{})
	if w, h := c.Size(); w != 10 || h != 10 || fb.Width != 10 {
		t.Fatalf("size %dx%d after a refusal", w, h)
	}
	if !c.CanResize() {
		t.Fatal("CanResize false after ExtendedDesktopSize")
	}
}

func TestContinuousUpdates(t *testing.T) {
	upd := fbUpdate(rect(0, 0, 1, 1, EncodingRaw, rgbx(1, 1, 1)))
	incremental := []byte{msgFramebufferUpdateRequest, 1, 0, 0, 0, 0, 0, 8, 0, 4}
	// Without continuous updates each update is followed by a request.
	_, _, conn := mustRun(t, append(serverHello(8, 4), upd...), Config{})
	if !bytes.HasSuffix(conn.written.Bytes(), incremental) {
		t.Fatal("no incremental request after an update")
	}
	// EndOfContinuousUpdates announces support: we enable them and stop requesting.
	stream := append(serverHello(8, 4), msgEndOfContinuousUpdates)
	stream = append(stream, upd...)
	_, _, conn = mustRun(t, stream, Config{})
	enable := []byte{msgEnableContinuousUpdates, 1, 0, 0, 0, 0, 0, 8, 0, 4}
	if !bytes.HasSuffix(conn.written.Bytes(), enable) {
		t.Fatalf("wrote %x, want EnableContinuousUpdates last", conn.written.Bytes())
	}
	// A second one means the server stopped them: requests resume.
	stream = append(stream, msgEndOfContinuousUpdates)
	_, _, conn = mustRun(t, stream, Config{})
	if !bytes.HasSuffix(conn.written.Bytes(), incremental) {
		t.Fatal("requests did not resume")
	}
}

// TestWhenWanted: with Config.WhenWanted, the incremental request after an update is
// sent only when the callback is called, and continuous updates stay off.
func TestWhenWanted(t *testing.T) {
	upd := fbUpdate(rect(0, 0, 1, 1, EncodingRaw, rgbx(1, 1, 1)))
	incremental := []byte{msgFramebufferUpdateRequest, 1, 0, 0, 0, 0, 0, 8, 0, 4}
	var held []func()
	cfg := Config{WhenWanted: func(request func()) { held = append(held, request) }}
	stream := append(serverHello(8, 4), msgEndOfContinuousUpdates)
	stream = append(stream, upd...)
	c, _, conn := mustRun(t, stream, cfg)
	if bytes.Contains(conn.written.Bytes(), []byte{msgEnableContinuousUpdates}) {
		t.Fatal("continuous updates enabled despite WhenWanted")
	}
	if bytes.HasSuffix(conn.written.Bytes(), incremental) || len(held) != 1 {
		t.Fatalf("request sent before it was wanted (%d held)", len(held))
	}
	held[0]()
	if !bytes.HasSuffix(conn.written.Bytes(), incremental) {
		t.Fatalf("wrote %x, want the incremental request once wanted", conn.written.Bytes())
	}
	c.Close()
}

func TestLastRectAndBell(t *testing.T) {
	// An update announcing 65535 rectangles ends at LastRect; a Bell follows.
	upd := []byte{msgFramebufferUpdate, 0, 0xff, 0xff}
	upd = append(upd, rect(1, 1, 1, 1, EncodingRaw, rgbx(7, 8, 9))...)
	upd = append(upd, rect(0, 0, 0, 0, PseudoEncodingLastRect, nil)...)
	bells := 0
	_, fb, _ := mustRun(t, append(append(serverHello(4, 4), upd...), msgBell, msgBell), Config{OnBell: func() { bells++ }})
	if fb.Frames != 1 || fb.At(1, 1) != (color.RGBA{7, 8, 9, 255}) || bells != 2 {
		t.Fatalf("frames %d, pixel %v, bells %d", fb.Frames, fb.At(1, 1), bells)
	}
}
