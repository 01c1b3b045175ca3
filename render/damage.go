package render

import "image"

// damage is what changed for one viewer, at tile granularity with a bounding box per
// tile: its memory is fixed by the framebuffer size, however many updates arrive.
type damage struct {
	tile     int
	cols     int
	rows     int
	bounds   image.Rectangle
	boxes    []image.Rectangle // per tile, row-major; empty = clean
	nDirty   int
	allDirty bool // shortcut for a full update, boxes not maintained

	above, below []int32 // scratch for stack
}

func (dm *damage) reset(bounds image.Rectangle, tile int) {
	dm.tile = tile
	dm.bounds = bounds
	dm.cols = (bounds.Dx() + tile - 1) / tile
	dm.rows = (bounds.Dy() + tile - 1) / tile
	n := dm.cols * dm.rows
	dm.boxes = resized(dm.boxes, n)
	dm.nDirty = 0
	dm.allDirty = false
}

func (dm *damage) empty() bool { return !dm.allDirty && dm.nDirty == 0 }

func (dm *damage) clear() {
	if dm.nDirty > 0 {
		clear(dm.boxes)
	}
	dm.nDirty = 0
	dm.allDirty = false
}

// all marks the whole framebuffer.
func (dm *damage) all() {
	dm.allDirty = true
}

// add marks r (clipped to the framebuffer).
func (dm *damage) add(r image.Rectangle) {
	r = r.Intersect(dm.bounds)
	if r.Empty() || dm.allDirty {
		return
	}
	t := dm.tile
	for ty := r.Min.Y / t; ty <= (r.Max.Y-1)/t; ty++ {
		for tx := r.Min.X / t; tx <= (r.Max.X-1)/t; tx++ {
			tr := image.Rect(tx*t, ty*t, tx*t+t, ty*t+t).Intersect(r)
			b := &dm.boxes[ty*dm.cols+tx]
			if b.Empty() {
				*b = tr
				dm.nDirty++
			} else {
				*b = b.Union(tr)
			}
		}
	}
}

// forEach calls fn for the dirty part of every dirty tile meeting r.
func (dm *damage) forEach(r image.Rectangle, fn func(image.Rectangle)) {
	r = r.Intersect(dm.bounds)
	if r.Empty() {
		return
	}
	if dm.allDirty {
		fn(r)
		return
	}
	if dm.nDirty == 0 {
		return
	}
	t := dm.tile
	for ty := r.Min.Y / t; ty <= (r.Max.Y-1)/t; ty++ {
		for tx := r.Min.X / t; tx <= (r.Max.X-1)/t; tx++ {
			if b := dm.boxes[ty*dm.cols+tx].Intersect(r); !b.Empty() {
				fn(b)
			}
		}
	}
}

// removeWithin cleans tiles whose dirty box lies inside r: r is now right on the client.
func (dm *damage) removeWithin(r image.Rectangle) {
	if dm.allDirty || dm.nDirty == 0 {
		return
	}
	r = r.Intersect(dm.bounds)
	if r.Empty() {
		return
	}
	t := dm.tile
	for ty := r.Min.Y / t; ty <= (r.Max.Y-1)/t; ty++ {
		for tx := r.Min.X / t; tx <= (r.Max.X-1)/t; tx++ {
			b := &dm.boxes[ty*dm.cols+tx]
			if !b.Empty() && b.In(r) {
				*b = image.Rectangle{}
				dm.nDirty--
			}
		}
	}
}

// rects appends the rectangles to send, clearing nothing. With merge, horizontally
// adjacent dirty boxes that meet at a tile edge become one rectangle when that does
// not add much area, up to maxW pixels wide: one message and one deflate flush instead
// of several.
func (dm *damage) rects(out []image.Rectangle, merge bool, maxW, maxPix int) []image.Rectangle {
	start := len(out)
	if dm.allDirty {
		// Whole rows of tiles, cut at maxW.
		for y := dm.bounds.Min.Y; y < dm.bounds.Max.Y; y += dm.tile {
			for x := dm.bounds.Min.X; x < dm.bounds.Max.X; x += maxW {
				out = append(out, image.Rect(x, y, x+maxW, y+dm.tile).Intersect(dm.bounds))
			}
		}
		return out
	}
	if dm.nDirty == 0 {
		return out
	}
	for ty := 0; ty < dm.rows; ty++ {
		row := dm.boxes[ty*dm.cols : (ty+1)*dm.cols]
		var cur image.Rectangle
		area := 0
		for _, b := range row {
			if b.Empty() {
				if !cur.Empty() {
					out = append(out, cur)
					cur = image.Rectangle{}
				}
				continue
			}
			if cur.Empty() {
				cur, area = b, b.Dx()*b.Dy()
				continue
			}
			u := cur.Union(b)
			a := area + b.Dx()*b.Dy()
			// Merge when they touch and the union wastes at most a quarter of its area.
			if merge && cur.Max.X == b.Min.X && u.Dx() <= maxW && 4*u.Dx()*u.Dy() <= 5*a {
				cur, area = u, a
				continue
			}
			out = append(out, cur)
			cur, area = b, b.Dx()*b.Dy()
		}
		if !cur.Empty() {
			out = append(out, cur)
		}
	}
	if merge && maxPix > 0 {
		out = out[:start+dm.stack(out[start:], maxPix)]
	}
	return out
}

// stack joins each rectangle of rs (in rows of tiles, top to bottom, each row left to
// right) to one above it that spans the same columns and ends where it starts, while the
// join holds at most maxPix pixels: a band of text redrawn row after row of tiles is one
// image, one palette and one deflate flush, not one per row. It compacts rs and returns
// how many are left. A rectangle can only join one that ended in the row of tiles just
// above, so those are all it looks at, in step with it from left to right: one pass,
// however many rectangles a frame has.
func (dm *damage) stack(rs []image.Rectangle, maxPix int) int {
	above, below := dm.above[:0], dm.below[:0] // indices into rs of the kept rectangles that end in the row above, and in this row
	n, row, a := 0, -1, 0
	for _, r := range rs {
		if ry := r.Min.Y / dm.tile; ry != row {
			// After a row with no rectangles, above holds an older row's: none of them
			// ends where this row starts, so none joins.
			above, below = below, above[:0]
			row, a = ry, 0
		}
		for a < len(above) && rs[above[a]].Min.X < r.Min.X {
			a++
		}
		if a < len(above) {
			if k := &rs[above[a]]; k.Max.Y == r.Min.Y && k.Max.X == r.Max.X && k.Min.X == r.Min.X && k.Dx()*(r.Max.Y-k.Min.Y) <= maxPix {
				k.Max.Y = r.Max.Y
				below = append(below, above[a])
				a++
				continue
			}
		}
		rs[n] = r
		below = append(below, int32(n))
		n++
	}
	dm.above, dm.below = above, below
	return n
}

// union adds every dirty box of o, which has the same geometry.
func (dm *damage) union(o *damage) {
	if dm.allDirty || o.empty() {
		return
	}
	if o.allDirty {
		dm.all()
		return
	}
	for i, b := range o.boxes {
		if b.Empty() {
			continue
		}
		if x := &dm.boxes[i]; x.Empty() {
			*x = b
			dm.nDirty++
		} else {
			*x = x.Union(b)
		}
	}
}
