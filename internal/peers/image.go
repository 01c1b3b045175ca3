package peers

import (
	"fmt"
	"image"
)

// DiffRGB counts the pixels whose red, green or blue differ between two pictures of the
// same size, and describes the first one; -1 when the sizes differ. Alpha is ignored:
// X screens and decoded framebuffers do not agree on it.
func DiffRGB(a, b *image.RGBA) (n int, first string) {
	if a.Rect.Size() != b.Rect.Size() {
		return -1, fmt.Sprintf("sizes differ: %v vs %v", a.Rect.Size(), b.Rect.Size())
	}
	for y := 0; y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			i, j := a.PixOffset(x+a.Rect.Min.X, y+a.Rect.Min.Y), b.PixOffset(x+b.Rect.Min.X, y+b.Rect.Min.Y)
			if a.Pix[i] != b.Pix[j] || a.Pix[i+1] != b.Pix[j+1] || a.Pix[i+2] != b.Pix[j+2] {
				if n == 0 {
					first = fmt.Sprintf("first at (%d,%d): %v vs %v", x, y, a.Pix[i:i+3], b.Pix[j:j+3])
				}
				n++
			}
		}
	}
	return n, first
}
