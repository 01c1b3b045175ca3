package render

import "image"

// lossyTiles marks the tiles where a viewer's client shows pixels that the encoder sent
// lossy (JPEG), so that they can be sent again losslessly once no more lossy updates
// come (Options.RefreshDelay). Passthrough JPEGs are not marked: the framebuffer holds
// the same decoded JPEG, so sending it again would gain nothing.
type lossyTiles struct {
	tile   int
	cols   int
	bounds image.Rectangle
	marked []bool
	n      int
}

func (l *lossyTiles) reset(bounds image.Rectangle, tile int) {
	l.tile, l.bounds = tile, bounds
	l.cols = (bounds.Dx() + tile - 1) / tile
	rows := (bounds.Dy() + tile - 1) / tile
	if cap(l.marked) >= l.cols*rows {
		l.marked = l.marked[:l.cols*rows]
		clear(l.marked)
	} else {
		l.marked = make([]bool, l.cols*rows)
	}
	l.n = 0
}

// tiles calls fn with the index and rectangle of every tile meeting r.
func (l *lossyTiles) tiles(r image.Rectangle, fn func(i int, tr image.Rectangle)) {
	r = r.Intersect(l.bounds)
	if r.Empty() {
		return
	}
	t := l.tile
	for ty := r.Min.Y / t; ty <= (r.Max.Y-1)/t; ty++ {
		for tx := r.Min.X / t; tx <= (r.Max.X-1)/t; tx++ {
			fn(ty*l.cols+tx, image.Rect(tx*t, ty*t, tx*t+t, ty*t+t).Intersect(l.bounds))
		}
	}
}

func (l *lossyTiles) mark(r image.Rectangle) {
	l.tiles(r, func(i int, _ image.Rectangle) {
		if !l.marked[i] {
			l.marked[i] = true
			l.n++
		}
	})
}

// sentLossless unmarks the tiles r covers whole.
func (l *lossyTiles) sentLossless(r image.Rectangle) {
	if l.n == 0 {
		return
	}
	l.tiles(r, func(i int, tr image.Rectangle) {
		if l.marked[i] && tr.In(r) {
			l.marked[i] = false
			l.n--
		}
	})
}

func (l *lossyTiles) any(r image.Rectangle) bool {
	found := false
	if l.n > 0 {
		l.tiles(r, func(i int, _ image.Rectangle) { found = found || l.marked[i] })
	}
	return found
}

// each calls fn with every marked tile's rectangle.
func (l *lossyTiles) each(fn func(image.Rectangle)) {
	if l.n == 0 {
		return
	}
	l.tiles(l.bounds, func(i int, tr image.Rectangle) {
		if l.marked[i] {
			fn(tr)
		}
	})
}
