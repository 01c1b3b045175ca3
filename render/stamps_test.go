package render

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// Region versions (Display.touchLocked, versionLocked) key the shared cache of encoded
// regions: a change whose tiles keep their old stamp makes a second viewer send the
// cached, stale encoding of the same rectangle. The tiles at the right and bottom edges
// are partial when the screen size is not a multiple of the tile size, which is where a
// rounding slip in the tile range (floor instead of ceiling at the end) hides.

// stampSizes are screens and tile sizes with partial tiles on one side, both or neither.
var stampSizes = []struct{ w, h, tile int }{
	{97, 61, 16},  // partial column and row
	{130, 70, 64}, // the last column two pixels wide
	{128, 65, 32}, // whole columns, a one-pixel last row
	{9, 9, 8},     // one whole tile and slivers
	{33, 1, 32},   // one row of pixels
	{5, 3, 64},    // smaller than one tile
	{64, 64, 64},  // exactly one tile
}

// tileRect is tile (tx, ty)'s rectangle, clipped to the screen.
func tileRect(tx, ty, t int, screen image.Rectangle) image.Rectangle {
	return image.Rect(tx*t, ty*t, tx*t+t, ty*t+t).Intersect(screen)
}

// Every Sink call that changes pixels gives exactly the tiles it meets a newer version,
// and a rectangle's version is the newest among the tiles it meets: checked against a
// per-tile model computed by rectangle intersection, not by the tile arithmetic under test.
func TestStampsEveryTileMet(t *testing.T) {
	for _, sz := range stampSizes {
		t.Run(fmt.Sprintf("%dx%d/tile%d", sz.w, sz.h, sz.tile), func(t *testing.T) {
			d := NewDisplay(Options{TileSize: sz.tile})
			defer d.Close()
			d.Resize(sz.w, sz.h)
			screen := image.Rect(0, 0, sz.w, sz.h)
			cols, rows := (sz.w+sz.tile-1)/sz.tile, (sz.h+sz.tile-1)/sz.tile
			ver := func(tx, ty int) uint64 {
				d.mu.Lock()
				defer d.mu.Unlock()
				return d.versionLocked(tileRect(tx, ty, sz.tile, screen))
			}
			model := make([]uint64, cols*rows) // each tile's version as the model sees it
			for ty := range rows {
				for tx := range cols {
					model[ty*cols+tx] = ver(tx, ty)
					if model[ty*cols+tx] == 0 {
						t.Fatalf("tile (%d,%d) has no version after Resize", tx, ty)
					}
				}
			}
			rng := rand.New(rand.NewPCG(uint64(sz.w), uint64(sz.h)))
			// Rectangles ending exactly on, one before and one after tile boundaries and
			// the screen's edges, and random ones, some reaching outside the screen.
			var rects []image.Rectangle
			edge := func(n int) int {
				switch k := rng.IntN(5); k {
				case 0:
					return n
				case 1:
					return (rng.IntN(n/sz.tile+1) + 1) * sz.tile
				case 2:
					return (rng.IntN(n/sz.tile+1)+1)*sz.tile - 1
				case 3:
					return (rng.IntN(n/sz.tile+1)+1)*sz.tile + 1
				}
				return 1 + rng.IntN(n+2)
			}
			for range 300 {
				x1, y1 := edge(sz.w), edge(sz.h)
				x0, y0 := rng.IntN(x1+1)-rng.IntN(2), rng.IntN(y1+1)-rng.IntN(2)
				rects = append(rects, image.Rect(x0, y0, x1, y1))
			}
			rects = append(rects, image.Rect(sz.w-1, sz.h-1, sz.w, sz.h), screen, image.Rect(sz.w, 0, sz.w+5, 5))
			for i, r := range rects {
				changed := r.Intersect(screen)
				switch i % 4 {
				case 0:
					d.Fill(r, color.RGBA{R: uint8(i), A: 255})
				case 3:
					// Decoded in place: only inside the screen, else nothing changes.
					if !d.WritePixels(r, func(dst []byte, stride int) {
						for y := range r.Dy() {
							for x := range r.Dx() * BytesPerPixel {
								dst[y*stride+x] = uint8(i + x)
							}
						}
					}) {
						changed = image.Rectangle{}
					}
				case 1:
					pix := make([]byte, r.Dx()*r.Dy()*BytesPerPixel)
					for j := range pix {
						pix[j] = uint8(i + j)
					}
					d.SetPixels(r, pix, r.Dx()*BytesPerPixel)
				default:
					// A copy writes only where both its ends are on the screen.
					src := r.Min.Add(image.Pt(rng.IntN(9)-4, rng.IntN(9)-4))
					changed, _ = clipCopy(screen, r, src)
					d.Copy(r, src)
				}
				d.EndFrame()
				for ty := range rows {
					for tx := range cols {
						got, old := ver(tx, ty), model[ty*cols+tx]
						tr := tileRect(tx, ty, sz.tile, screen)
						met := tr.Overlaps(changed)
						if met && got <= old {
							t.Fatalf("%v changed tile (%d,%d) %v, its version stayed %d", r, tx, ty, tr, old)
						}
						if !met && got != old {
							t.Fatalf("%v missed tile (%d,%d) %v, its version moved %d → %d", r, tx, ty, tr, old, got)
						}
						model[ty*cols+tx] = got
					}
				}
				// A rectangle's version is its newest tile's, whatever it spans.
				q := image.Rect(rng.IntN(sz.w), rng.IntN(sz.h), 0, 0)
				q.Max = image.Pt(q.Min.X+1+rng.IntN(sz.w-q.Min.X), q.Min.Y+1+rng.IntN(sz.h-q.Min.Y))
				var want uint64
				for ty := range rows {
					for tx := range cols {
						if tileRect(tx, ty, sz.tile, screen).Overlaps(q) {
							want = max(want, model[ty*cols+tx])
						}
					}
				}
				d.mu.Lock()
				got := d.versionLocked(q)
				d.mu.Unlock()
				if got != want {
					t.Fatalf("version of %v is %d, its newest tile's is %d", q, got, want)
				}
			}
		})
	}
}

// Several viewers of one display share encoded regions by version. A cursor blinking in
// the last, partial tile (and at the other edges) changes a rectangle back and forth;
// if its version did not move, the second viewer would get the cached picture of the
// rectangle, and the cursor would stay on for it. Every viewer must end each round with
// the display's exact picture.
func TestStampsSharedViewersConverge(t *testing.T) {
	for _, sz := range stampSizes {
		t.Run(fmt.Sprintf("%dx%d/tile%d", sz.w, sz.h, sz.tile), func(t *testing.T) {
			d := NewDisplay(Options{TileSize: sz.tile, MinFrameInterval: 0})
			defer d.Close()
			d.Resize(sz.w, sz.h)
			d.Fill(image.Rect(0, 0, sz.w, sz.h), color.RGBA{R: 30, G: 40, B: 50, A: 255})
			d.EndFrame()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cs := runClients(ctx, t, d, 3)
			// Cursor-sized blocks in the corners and mid-edges, clipped to the screen.
			w, h := sz.w, sz.h
			blinks := []image.Rectangle{
				image.Rect(w-2, h-3, w, h), // bottom-right: the last partial tile
				image.Rect(w-1, 0, w, 4),   // right edge, top
				image.Rect(0, h-1, 3, h),   // bottom edge, left
				image.Rect(w/2, h-2, w/2+2, h),
				image.Rect(w-3, h/2, w, h/2+2),
			}
			on := color.RGBA{R: 250, G: 250, B: 250, A: 255}
			rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
			for round := range 12 {
				for i, b := range blinks {
					if (round+i)%2 == 0 {
						d.Fill(b, on)
						continue
					}
					// Off: the background, with a pixel that tells rounds apart, written
					// as pixels so that it is not a FILL every time.
					b = b.Intersect(image.Rect(0, 0, w, h))
					pix := make([]byte, b.Dx()*b.Dy()*BytesPerPixel)
					for j := 0; j < len(pix); j += BytesPerPixel {
						pix[j], pix[j+1], pix[j+2] = 30, 40, 50
					}
					if len(pix) > 0 && round%4 == 1 {
						pix[0] = uint8(round)
					}
					d.SetPixels(b, pix, b.Dx()*BytesPerPixel)
				}
				if round%3 == 2 { // and something anywhere, over tile boundaries
					x, y := rng.IntN(w), rng.IntN(h)
					d.Fill(image.Rect(x, y, x+1+rng.IntN(w), y+1+rng.IntN(h)), color.RGBA{G: uint8(round * 20), A: 255})
				}
				d.EndFrame()
				for _, c := range cs {
					c.converge(d)
				}
			}
			if sum := sumCounts(cs); sum.Shared == 0 {
				t.Errorf("counts %+v: nothing came from the cache, so versions were not tested", sum)
			}
		})
	}
}
