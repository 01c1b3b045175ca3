package render

import (
	"image"
	"math/rand/v2"
	"slices"
	"testing"
)

// Rows of tiles dirty over the same columns stack into one region while it holds at most
// maxPix pixels; anything else (other columns, a gap, a row not dirty to its top) stays
// apart.
func TestStack(t *testing.T) {
	r := image.Rect
	for _, c := range []struct {
		name string
		in   []image.Rectangle
		max  int
		want []image.Rectangle
	}{
		{"three rows", []image.Rectangle{r(0, 0, 64, 64), r(0, 64, 64, 128), r(0, 128, 64, 150)}, 1 << 20,
			[]image.Rectangle{r(0, 0, 64, 150)}},
		{"two columns", []image.Rectangle{r(0, 0, 64, 64), r(128, 0, 192, 64), r(0, 64, 64, 128), r(128, 64, 192, 100)}, 1 << 20,
			[]image.Rectangle{r(0, 0, 64, 128), r(128, 0, 192, 100)}},
		{"other columns", []image.Rectangle{r(0, 0, 64, 64), r(0, 64, 65, 128), r(1, 128, 65, 192)}, 1 << 20,
			[]image.Rectangle{r(0, 0, 64, 64), r(0, 64, 65, 128), r(1, 128, 65, 192)}},
		{"a gap", []image.Rectangle{r(0, 0, 64, 63), r(0, 64, 64, 128)}, 1 << 20,
			[]image.Rectangle{r(0, 0, 64, 63), r(0, 64, 64, 128)}},
		{"not from the top", []image.Rectangle{r(0, 0, 64, 64), r(0, 65, 64, 128)}, 1 << 20,
			[]image.Rectangle{r(0, 0, 64, 64), r(0, 65, 64, 128)}},
		{"the bound", []image.Rectangle{r(0, 0, 64, 64), r(0, 64, 64, 128), r(0, 128, 64, 192), r(0, 192, 64, 256)}, 64 * 128,
			[]image.Rectangle{r(0, 0, 64, 128), r(0, 128, 64, 256)}},
		{"exactly the bound", []image.Rectangle{r(0, 0, 64, 64), r(0, 64, 64, 128)}, 64*128 - 1,
			[]image.Rectangle{r(0, 0, 64, 64), r(0, 64, 64, 128)}},
	} {
		got := slices.Clone(c.in)
		dm := damage{tile: 64}
		got = got[:dm.stack(got, c.max)]
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// Whatever the damage, its regions cover every dirty box, never overlap, and stay within
// maxStackPixels (or one row's run).
func TestRectsCoverDamage(t *testing.T) {
	const tile = 16
	size := image.Pt(150, 90)
	rng := rand.New(rand.NewPCG(7, 8))
	maxW := maxRegionPixels / tile
	stacked := 0
	for range 2000 {
		var dm damage
		dm.reset(image.Rectangle{Max: size}, tile)
		for range 1 + rng.IntN(12) {
			x, y := rng.IntN(size.X), rng.IntN(size.Y)
			dm.add(image.Rect(x, y, x+1+rng.IntN(size.X), y+1+rng.IntN(40)))
		}
		maxPix := tile * tile * (1 + rng.IntN(30))
		rs := dm.rects(nil, true, maxW, maxPix)
		for i, a := range rs {
			if a.Dy() > tile {
				stacked++
				if a.Dx()*a.Dy() > maxPix {
					t.Fatalf("%v: %d pixels, over %d", a, a.Dx()*a.Dy(), maxPix)
				}
			}
			for _, b := range rs[i+1:] {
				if a.Overlaps(b) {
					t.Fatalf("regions %v and %v overlap", a, b)
				}
			}
		}
		for _, b := range dm.boxes {
			if b.Empty() {
				continue
			}
			if !slices.ContainsFunc(rs, func(a image.Rectangle) bool { return b.In(a) }) {
				t.Fatalf("dirty box %v in no region of %v", b, rs)
			}
		}
	}
	if stacked < 500 {
		t.Fatalf("%d stacked regions: too few to test", stacked)
	}
}
