package peers

import (
	"encoding/binary"
	"errors"
	"image/color"
	"os"
	"testing"
)

// testdata/xsetroot-mod4-40x30.xwd is a real capture: Xvfb 40x30x24, then
// `xsetroot -mod 4 4 -fg '#ff8000' -bg '#0020c0'` and `xwd -root -silent`.
func TestDecodeXWDCapture(t *testing.T) {
	b, err := os.ReadFile("testdata/xsetroot-mod4-40x30.xwd")
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeXWD(b)
	if err != nil {
		t.Fatal(err)
	}
	if img.Rect.Dx() != 40 || img.Rect.Dy() != 30 {
		t.Fatalf("size %v, want 40x30", img.Rect)
	}
	fg, bg := color.RGBA{0xff, 0x80, 0x00, 0xff}, color.RGBA{0x00, 0x20, 0xc0, 0xff}
	for y := range 30 {
		for x := range 40 {
			want := bg
			if x%4 == 0 || y%4 == 0 {
				want = fg
			}
			if got := img.RGBAAt(x, y); got != want {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// makeXWD builds a small synthetic XWD in the given header and pixel byte orders.
func makeXWD(hdr binary.AppendByteOrder, msbPixels bool, bpp, w, h int, masks [3]uint32, pix []uint32) []byte {
	const nameLen = 8
	var f [xwdHeaderFields]uint32
	f[xwdFieldHeaderSize] = xwdHeaderSize + nameLen
	f[xwdFieldFileVersion] = xwdVersion
	f[xwdFieldPixmapFormat] = xwdZPixmap
	f[xwdFieldPixmapDepth] = 24
	f[xwdFieldPixmapWidth] = uint32(w)
	f[xwdFieldPixmapHeight] = uint32(h)
	if msbPixels {
		f[xwdFieldByteOrder] = 1
	}
	f[xwdFieldBitsPerPixel] = uint32(bpp)
	f[xwdFieldBytesPerLine] = uint32(w*bpp/8 + 3) // padded row
	f[xwdFieldVisualClass] = 4
	f[xwdFieldRedMask], f[xwdFieldGreenMask], f[xwdFieldBlueMask] = masks[0], masks[1], masks[2]
	var out []byte
	for _, v := range f {
		out = hdr.AppendUint32(out, v)
	}
	out = append(out, "testwin\x00"...)
	var po binary.AppendByteOrder = binary.LittleEndian
	if msbPixels {
		po = binary.BigEndian
	}
	for y := range h {
		for x := range w {
			p := pix[y*w+x]
			switch bpp {
			case 32:
				out = po.AppendUint32(out, p)
			case 24:
				if msbPixels {
					out = append(out, byte(p>>16), byte(p>>8), byte(p))
				} else {
					out = append(out, byte(p), byte(p>>8), byte(p>>16))
				}
			case 16:
				out = po.AppendUint16(out, uint16(p))
			}
		}
		out = append(out, 0, 0, 0)
	}
	return out
}

func TestDecodeXWDLayouts(t *testing.T) {
	rgb := [3]uint32{0xff0000, 0x00ff00, 0x0000ff}
	bgr := [3]uint32{0x0000ff, 0x00ff00, 0xff0000}
	r565 := [3]uint32{0xf800, 0x07e0, 0x001f}
	cases := []struct {
		name  string
		hdr   binary.AppendByteOrder
		msb   bool
		bpp   int
		masks [3]uint32
		pix   []uint32
		want  []color.RGBA
	}{
		{"32 lsb rgb", binary.BigEndian, false, 32, rgb, []uint32{0x123456, 0xabcdef}, []color.RGBA{{0x12, 0x34, 0x56, 255}, {0xab, 0xcd, 0xef, 255}}},
		{"32 msb bgr le header", binary.LittleEndian, true, 32, bgr, []uint32{0x563412, 0}, []color.RGBA{{0x12, 0x34, 0x56, 255}, {0, 0, 0, 255}}},
		{"24 msb", binary.BigEndian, true, 24, rgb, []uint32{0x010203, 0xfffefd}, []color.RGBA{{1, 2, 3, 255}, {0xff, 0xfe, 0xfd, 255}}},
		{"24 lsb", binary.BigEndian, false, 24, rgb, []uint32{0x010203, 0xfffefd}, []color.RGBA{{1, 2, 3, 255}, {0xff, 0xfe, 0xfd, 255}}},
		{"16 565", binary.BigEndian, false, 16, r565, []uint32{0xffff, 0xf800}, []color.RGBA{{255, 255, 255, 255}, {255, 0, 0, 255}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := DecodeXWD(makeXWD(c.hdr, c.msb, c.bpp, 2, 1, c.masks, c.pix))
			if err != nil {
				t.Fatal(err)
			}
			for x, want := range c.want {
				if got := img.RGBAAt(x, 0); got != want {
					t.Errorf("pixel %d = %v, want %v", x, got, want)
				}
			}
		})
	}
}

func TestDecodeXWDRejects(t *testing.T) {
	good := makeXWD(binary.BigEndian, false, 32, 2, 2, [3]uint32{0xff0000, 0xff00, 0xff}, []uint32{1, 2, 3, 4})
	if _, err := DecodeXWD(good); err != nil {
		t.Fatal(err)
	}
	set := func(field int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[field*4:], v)
		return b
	}
	bad := map[string][]byte{
		"empty":       nil,
		"truncated":   good[:len(good)-1],
		"version":     set(xwdFieldFileVersion, 6),
		"xy pixmap":   set(xwdFieldPixmapFormat, 1),
		"huge width":  set(xwdFieldPixmapWidth, 1<<30),
		"zero height": set(xwdFieldPixmapHeight, 0),
		"bpp 8":       set(xwdFieldBitsPerPixel, 8),
		"pseudocolor": set(xwdFieldVisualClass, 3),
		"short line":  set(xwdFieldBytesPerLine, 4),
		"many colors": set(xwdFieldNColors, 1<<20),
		"zero mask":   set(xwdFieldRedMask, 0),
		"header size": set(xwdFieldHeaderSize, 1<<31),
	}
	for name, b := range bad {
		if _, err := DecodeXWD(b); !errors.Is(err, ErrXWD) {
			t.Errorf("%s: err = %v, want ErrXWD", name, err)
		}
	}
}

func FuzzDecodeXWD(f *testing.F) {
	if b, err := os.ReadFile("testdata/xsetroot-mod4-40x30.xwd"); err == nil {
		f.Add(b)
	}
	f.Add(makeXWD(binary.LittleEndian, true, 24, 3, 2, [3]uint32{0xff, 0xff00, 0xff0000}, []uint32{1, 2, 3, 4, 5, 6}))
	f.Add(makeXWD(binary.BigEndian, false, 16, 1, 1, [3]uint32{0xf800, 0x07e0, 0x001f}, []uint32{7}))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodeXWD(b)
		if err == nil && (img.Rect.Dx() <= 0 || len(img.Pix) != img.Rect.Dx()*img.Rect.Dy()*4) {
			t.Fatalf("inconsistent image %v", img.Rect)
		}
	})
}
