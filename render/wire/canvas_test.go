package wire

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func apply(t *testing.T, c *Canvas, msgs ...Message) {
	t.Helper()
	for _, m := range msgs {
		if err := c.Apply(m); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
	}
}

func px(c *Canvas, x, y int) [3]byte {
	p := c.Image().RGBAAt(x, y)
	return [3]byte{p.R, p.G, p.B}
}

func TestCanvasZRGBStream(t *testing.T) {
	c := NewCanvas()
	apply(t, c, streamVectors()[0].msgs...)
	R, G, B := [3]byte{255, 0, 0}, [3]byte{0, 255, 0}, [3]byte{0, 0, 255}
	c1, c2 := [3]byte{10, 20, 30}, [3]byte{40, 50, 60}
	c3, c4 := [3]byte{70, 80, 90}, [3]byte{100, 110, 120}
	want := [3][4][3]byte{
		{R, R, G, B},    // copied from the row before the copy: R G B W shifted right
		{c1, c1, c2, R}, // ditto for row 1: c1 c2 R G
		{c3, c4, B, {1, 2, 3}},
	}
	for y := range 3 {
		for x := range 4 {
			if got := px(c, x, y); got != want[y][x] {
				t.Errorf("(%d,%d) = %v, want %v", x, y, got, want[y][x])
			}
			if c.Image().RGBAAt(x, y).A != 255 {
				t.Errorf("alpha at (%d,%d)", x, y)
			}
		}
	}
}

func TestCanvasZPalette(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 16, 17, 256} {
		pal := make([][3]byte, n)
		for i := range pal {
			pal[i] = [3]byte{byte(i), byte(i * 3), byte(255 - i)}
		}
		const w, h = 13, 3 // odd width: rows end mid-byte
		idx := make([]int, w*h)
		for i := range idx {
			idx[i] = (i * 5) % n
		}
		s := newStreamWriter()
		c := NewCanvas()
		apply(t, c, Resize{Width: w + 1, Height: h}, Image{X: 1, Y: 0, W: w, H: h, Encoding: ZPalette, Data: s.piece(packPalette(pal, idx, w))})
		for y := range h {
			for x := range w {
				if got := px(c, x+1, y); got != pal[idx[y*w+x]] {
					t.Fatalf("n=%d (%d,%d) = %v, want %v", n, x, y, got, pal[idx[y*w+x]])
				}
			}
		}
		if px(c, 0, 0) != [3]byte{} {
			t.Fatalf("column 0 drawn")
		}
	}
}

func TestCanvasJPEGAndPNG(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := range src.Pix {
		src.Pix[i] = 200
	}
	var jb, pb bytes.Buffer
	jpeg.Encode(&jb, src, &jpeg.Options{Quality: 95})
	src.SetRGBA(3, 3, color.RGBA{1, 2, 3, 255})
	png.Encode(&pb, src)
	c := NewCanvas()
	apply(t, c, Resize{Width: 40, Height: 20},
		Image{X: 0, Y: 0, W: 16, H: 8, Encoding: JPEG, Data: jb.Bytes()},
		Image{X: 20, Y: 10, W: 16, H: 8, Encoding: PNG, Data: pb.Bytes()})
	if p := px(c, 5, 5); p[0] < 195 || p[0] > 205 {
		t.Errorf("JPEG pixel %v", p)
	}
	if p := px(c, 23, 13); p != [3]byte{1, 2, 3} {
		t.Errorf("PNG pixel %v", p)
	}
	if p := px(c, 21, 11); p != [3]byte{200, 200, 200} {
		t.Errorf("PNG pixel %v", p)
	}
	// Wrong size is refused.
	if err := c.Apply(Image{X: 0, Y: 0, W: 8, H: 8, Encoding: JPEG, Data: jb.Bytes()}); !errors.Is(err, ErrCanvas) {
		t.Errorf("JPEG size mismatch: %v", err)
	}
}

func TestCanvasCursor(t *testing.T) {
	c := NewCanvas()
	apply(t, c, Cursor{HotX: 1, HotY: 2, W: 1, H: 1, RGBA: []byte{1, 2, 3, 4}})
	if c.CursorImg == nil || c.CursorImg.Pix[3] != 4 || c.CursorHot != image.Pt(1, 2) {
		t.Fatalf("cursor %+v", c.CursorImg)
	}
	apply(t, c, Cursor{})
	if c.CursorImg != nil {
		t.Fatal("cursor not hidden")
	}
}

func TestCanvasErrors(t *testing.T) {
	s := newStreamWriter()
	good := s.piece(make([]byte, 12))
	cases := []struct {
		name string
		m    Message
	}{
		{"fill-outside", Fill{X: 5, Y: 0, W: 4, H: 1}},
		{"copy-src-outside", Copy{X: 0, Y: 0, W: 4, H: 4, SrcX: 6, SrcY: 0}},
		{"image-outside", Image{X: 0, Y: 7, W: 2, H: 2, Encoding: ZRGB, Data: good}},
		{"resize-absurd", Resize{Width: 65535, Height: 65535}},
		{"zrgb-short", Image{X: 0, Y: 0, W: 8, H: 8, Encoding: ZRGB, Data: good}},
		{"zrgb-garbage", Image{X: 0, Y: 0, W: 2, H: 2, Encoding: ZRGB, Data: []byte{1, 2, 3}}},
		{"unknown-encoding", Image{X: 0, Y: 0, W: 1, H: 1, Encoding: 9}},
		{"jpeg-garbage", Image{X: 0, Y: 0, W: 1, H: 1, Encoding: JPEG, Data: []byte{0xff, 0xd8}}},
		{"palette-index", Image{X: 0, Y: 0, W: 2, H: 1, Encoding: ZPalette, Data: newStreamWriter().piece([]byte{2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0xf0})}},
	}
	for _, tc := range cases {
		c := NewCanvas()
		apply(t, c, Resize{Width: 8, Height: 8})
		if err := c.Apply(tc.m); !errors.Is(err, ErrCanvas) {
			t.Errorf("%s: %v, want ErrCanvas", tc.name, err)
		}
	}
}

func FuzzCanvas(f *testing.F) {
	for _, sv := range streamVectors() {
		var b []byte
		for _, m := range sv.msgs {
			b = m.Append(b)
		}
		f.Add(false, b)
		f.Add(true, b)
	}
	// keys: the stream restarts at every RESIZE, as a recording's player restarts it at
	// key records.
	f.Fuzz(func(t *testing.T, keys bool, b []byte) {
		c := NewCanvas()
		c.MaxPixels = 1 << 16
		_ = Decode(b, func(m Message) error { // must not panic; errors are fine
			if _, ok := m.(Resize); ok && keys {
				c.ResetStream()
			}
			return c.Apply(m)
		})
	})
}
