package render

import (
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"testing"
)

// The shared log gives each viewer exactly the damage it would have had on its own: a
// reference damage per viewer, kept the way the display kept it before the log, must
// yield the same rectangles at every take, whether the viewer is in step, a few
// segments behind, or so far behind that the log folded its segments into its own.
func TestDamageLogMatchesOwnDamage(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkDamageLog(t, seed) })
	}
}

func checkDamageLog(t *testing.T, seed uint64) {
	const tile = 16
	d := NewDisplay(Options{TileSize: tile, Passthrough: true, MaxPendingOps: 1 << 20, MaxPendingBytes: 1 << 30})
	defer d.Close()
	size := image.Pt(150, 90)
	d.Resize(size.X, size.Y)
	r := newRandOps(seed)
	r.noResize = true
	rng := rand.New(rand.NewPCG(seed, 11))

	const n = 6
	vs := make([]*Viewer, n)
	refs := make([]damage, n)
	for i := range vs {
		vs[i] = d.NewViewer(func([]byte) error { return nil })
		refs[i].reset(image.Rectangle{Max: size}, tile)
		refs[i].all()
	}
	bounds := image.Rectangle{Max: size}
	takes, behind, composed := 0, 0, 0
	var lastCopy image.Rectangle
	var lastSrc image.Point
	for step := range 3000 {
		// One operation, mirrored into every reference as the display did per viewer.
		switch k := rng.IntN(100); {
		case k < 60:
			rc := r.rect(bounds)
			d.Fill(rc, r.colour())
			for i := range refs {
				refs[i].add(rc)
			}
		case k < 64: // rarer than fills: each folds the log into every viewer
			rc := r.rect(bounds)
			src := rc.Min.Add(image.Pt(rng.IntN(17)-8, rng.IntN(17)-8))
			if rng.IntN(2) == 0 && !lastCopy.Empty() { // scrolling: composed with the pending copy
				rc, src = lastCopy, lastSrc
			}
			lastCopy, lastSrc = rc, src
			// Each viewer's pending copy's destination (or empty), which a composed
			// copy leaves damage beside.
			pending := make([]image.Rectangle, n)
			d.mu.Lock()
			for i, v := range vs {
				if k := len(v.st.ops); k > 0 && v.st.ops[k-1].jpeg == nil {
					pending[i] = v.st.ops[k-1].dst
				}
			}
			d.mu.Unlock()
			d.Copy(rc, src)
			dc, sp := clipCopy(bounds, rc, src)
			if dc.Empty() || dc.Min == sp {
				break
			}
			delta := dc.Min.Sub(sp)
			for i := range refs {
				if refs[i].allDirty {
					continue
				}
				var moved []image.Rectangle
				refs[i].forEach(dc.Sub(delta), func(b image.Rectangle) { moved = append(moved, b.Add(delta)) })
				for _, b := range moved {
					refs[i].add(b)
				}
				if !pending[i].Empty() && pending[i].In(dc) {
					eachOutside(dc, dc.Intersect(pending[i].Add(delta)), refs[i].add)
					composed++
				}
			}
		case k < 66:
			j := rng.IntN(len(r.jpegs))
			sz := r.sizes[j]
			at := image.Pt(rng.IntN(size.X-sz.X+1), rng.IntN(size.Y-sz.Y+1))
			rc := image.Rectangle{at, at.Add(sz)}
			if err := d.DrawJPEG(rc, r.jpegs[j]); err != nil {
				t.Fatal(err)
			}
			for i := range refs {
				refs[i].removeWithin(rc) // passed through: the client has it exactly
			}
		default:
			d.EndFrame()
			// Viewers 0 and 1 take every frame, the others now and then; viewer 5
			// rarely, so that its segments leave the log.
			for i, v := range vs {
				every := []int{1, 1, 2, 3, 7, 40}[i]
				if rng.IntN(every) != 0 {
					continue
				}
				d.mu.Lock()
				if d.log.seq-v.st.since > 1 {
					behind++
				}
				v.takeLocked()
				got := slices.Clone(v.rects)
				d.mu.Unlock()
				want := refs[i].rects(nil, true, maxRegionPixels/tile, maxStackPixels)
				refs[i].clear()
				if !slices.Equal(got, want) {
					t.Fatalf("step %d, viewer %d: took %v, want %v", step, i, got, want)
				}
				takes++
			}
		}
	}
	if takes < 500 || behind < 100 || composed < 20 {
		t.Fatalf("%d takes, %d of them more than a segment behind, %d copies composed: too few to test", takes, behind, composed)
	}
}
