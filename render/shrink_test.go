package render

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"runtime"
	"testing"
)

// heapInuse is the heap in use after two collections: the second frees what the first
// left in sync.Pool's victim cache.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// drawScreen fills d with text-like pixels and ends the frame.
func drawScreen(d *Display, size image.Point, seed uint64) {
	d.SetPixels(image.Rectangle{Max: size}, textTile(size.X, size.Y, rand.New(rand.NewPCG(seed, 1))), size.X*BytesPerPixel)
	d.EndFrame()
}

// After a resize from a big screen to a small one, the display and its viewers hold
// buffers sized for the small screen (capacities, not lengths), alone or shared, and
// the heap comes back to where it was.
func TestShrinkReleasesBuffers(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d viewers", n), func(t *testing.T) {
			const tile = 16 // many tiles (and rects), so that per-tile lists are worth checking
			small, big := image.Pt(320, 200), image.Pt(1600, 1200)
			d := NewDisplay(Options{TileSize: tile, MinFrameInterval: 0, DisableMerge: true}) // a rect per tile
			defer d.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d.Resize(small.X, small.Y)
			drawScreen(d, small, 1)
			cs := runClients(ctx, t, d, n)
			before := heapInuse()

			d.Resize(big.X, big.Y)
			drawScreen(d, big, 2)
			// A scroll over damage the viewers lack moves that damage (Display.tmp).
			d.SetPixels(image.Rectangle{Max: big}, textTile(big.X, big.Y, rand.New(rand.NewPCG(4, 1))), big.X*BytesPerPixel)
			d.Copy(image.Rect(0, 1, big.X, big.Y), image.Pt(0, 0))
			d.EndFrame()
			for _, c := range cs {
				c.converge(d)
			}
			// Changes every viewer lacks alike: a rect per tile, through the log's memo.
			drawScreen(d, big, 5)
			for _, c := range cs {
				c.converge(d) // every big buffer has been used
			}
			d.Resize(small.X, small.Y)
			drawScreen(d, small, 3)
			for _, c := range cs {
				c.converge(d)
			}
			after := heapInuse()
			cancel()
			for _, c := range cs {
				<-c.done // Run has returned: its fields are ours to read
			}

			fbBytes := small.X * small.Y * BytesPerPixel
			tiles := ((small.X + tile - 1) / tile) * ((small.Y + tile - 1) / tile)
			bigTiles := ((big.X + tile - 1) / tile) * ((big.Y + tile - 1) / tile)
			if bigTiles <= keepSmall*3/2 {
				t.Fatalf("big screen of %d tiles would not test per-tile lists", bigTiles)
			}
			maxTiles := max(tiles+tiles/2, keepSmall)
			check := func(what string, c, limit int) {
				t.Helper()
				if c > limit {
					t.Errorf("%s: capacity %d after the shrink, want at most %d", what, c, limit)
				}
			}
			check("framebuffer", cap(d.fb.Pix), fbBytes+fbBytes/2)
			for i := range d.log.segs {
				check(fmt.Sprintf("log segment %d", i), cap(d.log.segs[i].boxes), maxTiles)
			}
			check("log open segment", cap(d.log.cur.boxes), maxTiles)
			check("log sum", cap(d.log.sum.boxes), maxTiles)
			check("log memo rects", cap(d.log.memo.rects), maxTiles)
			check("log memo versions", cap(d.log.memo.versions), maxTiles)
			check("copy scratch", cap(d.tmp), maxTiles)
			for i, c := range cs {
				v := c.v
				w := fmt.Sprintf("viewer %d ", i)
				check(w+"scratch", cap(v.scratch), max(fbBytes+fbBytes/2, smallBuffer))
				check(w+"damage", cap(v.st.dmg.boxes), maxTiles)
				check(w+"lossy tiles", cap(v.lossy.marked), maxTiles)
				check(w+"blank tiles", cap(v.blank.marked), maxTiles)
				check(w+"rects", cap(v.rects), maxTiles)
				check(w+"tmpRects", cap(v.tmpRects), maxTiles)
				check(w+"offsets", cap(v.offs), maxTiles)
				check(w+"versions", cap(v.vers), maxTiles)
				check(w+"cache hits", cap(v.hits), maxTiles)
			}
			// The big screen cost 7 MiB of framebuffer and as much of scratch per lone
			// viewer or pooled copy; none of it may stay.
			t.Logf("heap in use: %d KiB before, %d KiB after", before>>10, after>>10)
			if after > before+3<<20 {
				t.Errorf("heap in use %d KiB after the shrink, %d KiB before", after>>10, before>>10)
			}
		})
	}
}

// A pooled buffer from before the screen shrank is not handed out for the small one.
func TestBigBuffersLetGoOfOldSize(t *testing.T) {
	var b bigBuffers
	const old, now = 8 << 20, 1 << 20
	for range 20 { // sync.Pool may drop what is put (always under the race detector, at times)
		b.put(make([]byte, old))
		if got := b.get(1000, now); cap(got) > 2*now {
			t.Fatalf("get for a %d-byte screen returned a buffer of %d", now, cap(got))
		}
	}
	b.put(make([]byte, 0, now+now/2))
	for range 20 { // one that fits the screen is still reused
		if got := b.get(1000, now); cap(got) == now+now/2 {
			return
		}
		b.put(make([]byte, 0, now+now/2))
	}
	t.Error("a pooled buffer of the screen's size was never reused")
}
