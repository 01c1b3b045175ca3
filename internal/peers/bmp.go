package peers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"
)

// BMP writes a w x h BMP file, 24 bits bottom-up, by hand (not with any code under
// test): a BITMAPFILEHEADER, a BITMAPINFOHEADER and rows padded to 4 bytes, of a
// pattern whose neighbours all differ. It returns the file and its picture. It is what
// xclip puts on an X clipboard as image/bmp, which xrdp's chansrv maps to CF_DIB.
func BMP(w, h int) ([]byte, *image.NRGBA) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 255 / max(w-1, 1)), G: uint8(y * 255 / max(h-1, 1)), B: uint8(x*7 + y*13), A: 0xFF})
		}
	}
	stride := (3*w + 3) &^ 3
	le := binary.LittleEndian
	b := []byte("BM")
	b = le.AppendUint32(b, uint32(14+40+stride*h)) // bfSize
	b = le.AppendUint32(b, 0)                      // bfReserved1, bfReserved2
	b = le.AppendUint32(b, 14+40)                  // bfOffBits
	b = le.AppendUint32(b, 40)                     // biSize
	b = le.AppendUint32(b, uint32(w))
	b = le.AppendUint32(b, uint32(h))
	b = le.AppendUint16(b, 1)  // biPlanes
	b = le.AppendUint16(b, 24) // biBitCount
	b = le.AppendUint32(b, 0)  // BI_RGB
	b = le.AppendUint32(b, uint32(stride*h))
	b = append(b, make([]byte, 16)...) // resolution, biClrUsed, biClrImportant
	for y := h - 1; y >= 0; y-- {
		row := make([]byte, stride)
		for x := range w {
			c := img.NRGBAAt(x, y)
			row[3*x], row[3*x+1], row[3*x+2] = c.B, c.G, c.R
		}
		b = append(b, row...)
	}
	return b, img
}

// ParseBMP reads a 24-bit bottom-up BI_RGB BMP file by hand (as `xclip -t image/bmp -o`
// gives what xrdp's chansrv made of a CF_DIB): where its bits start (bfOffBits), its
// size and its rows. It returns the picture and how many bytes of pixels were missing
// at the end (those pixels are left transparent).
func ParseBMP(b []byte) (*image.NRGBA, int, error) {
	le := binary.LittleEndian
	if len(b) < 54 || string(b[:2]) != "BM" {
		return nil, 0, errors.New("peers: not a BMP file")
	}
	off := int(le.Uint32(b[10:]))
	w, h := int(int32(le.Uint32(b[18:]))), int(int32(le.Uint32(b[22:])))
	bpp, comp := le.Uint16(b[28:]), le.Uint32(b[30:])
	if le.Uint32(b[14:]) != 40 || w <= 0 || h <= 0 || w > 1<<14 || h > 1<<14 || bpp != 24 || comp != 0 || off < 54 || off > len(b) {
		return nil, 0, fmt.Errorf("peers: BMP header: bfOffBits %d, biSize %d, %dx%d, %d bits, compression %d", off, le.Uint32(b[14:]), w, h, bpp, comp)
	}
	stride := (3*w + 3) &^ 3
	bits := b[off:]
	missing := max(0, stride*h-len(bits))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		row := (h - 1 - y) * stride
		for x := range w {
			if i := row + 3*x; i+3 <= len(bits) {
				img.SetNRGBA(x, y, color.NRGBA{R: bits[i+2], G: bits[i+1], B: bits[i], A: 0xFF})
			}
		}
	}
	return img, missing, nil
}

// DiffImages counts the pixels where got differs from want (as NRGBA) and describes the
// first; -1 when their bounds differ.
func DiffImages(want, got image.Image) (bad int, first string) {
	if want.Bounds() != got.Bounds() {
		return -1, fmt.Sprintf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	r := want.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			w := color.NRGBAModel.Convert(want.At(x, y))
			g := color.NRGBAModel.Convert(got.At(x, y))
			if w != g {
				if bad == 0 {
					first = fmt.Sprintf("(%d,%d) is %v, want %v", x, y, g, w)
				}
				bad++
			}
		}
	}
	return bad, first
}

// CopyBMP puts bmp on the X session's CLIPBOARD as image/bmp, which xrdp's chansrv maps to
// CF_DIB: xclip owns the selection while it runs in the foreground (-quiet), until the
// test ends.
func (x *X) CopyBMP(t testing.TB, bmp []byte) {
	t.Helper()
	cmd := x.Command(context.Background(), "xclip", "-quiet", "-i", "-selection", "clipboard", "-t", "image/bmp")
	cmd.Stdin = bytes.NewReader(bmp)
	if err := cmd.Start(); err != nil {
		t.Fatalf("xclip: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// WaitClipboardBMP waits until the X session's CLIPBOARD, read as image/bmp (ParseBMP),
// is a whole picture of want's size, and fails unless its pixels are want's. Until
// the remote owns the selection, xclip fails: it keeps polling.
func (x *X) WaitClipboardBMP(t testing.TB, want image.Image, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _ := x.Command(ctx, "xclip", "-o", "-selection", "clipboard", "-t", "image/bmp").Output()
		cancel()
		got, missing, err := ParseBMP(out)
		if err == nil && missing == 0 && got.Bounds() == want.Bounds() {
			if bad, first := DiffImages(want, got); bad != 0 {
				t.Fatalf("the X clipboard's image has %d pixels wrong: %s", bad, first)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the X clipboard's image/bmp: %d bytes, %d missing (%v)", len(out), missing, err)
		}
	}
}
