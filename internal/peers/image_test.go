package peers

import (
	"image"
	"testing"
)

func TestDiffRGB(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 3, 2))
	b := image.NewRGBA(image.Rect(10, 10, 13, 12)) // same size elsewhere: compared by position
	b.Pix[3] = 255                                 // alpha only: not a difference
	if n, _ := DiffRGB(a, b); n != 0 {
		t.Fatalf("alpha counted: %d", n)
	}
	b.Pix[b.PixOffset(12, 11)+1] = 7
	b.Pix[b.PixOffset(10, 10)] = 1
	if n, first := DiffRGB(a, b); n != 2 || first != "first at (0,0): [0 0 0] vs [1 0 0]" {
		t.Fatalf("DiffRGB = %d, %q", n, first)
	}
	if n, _ := DiffRGB(a, image.NewRGBA(image.Rect(0, 0, 2, 3))); n != -1 {
		t.Fatalf("different sizes: %d", n)
	}
}
