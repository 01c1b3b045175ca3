package render

import "image"

// tileSet is a set of tiles. A viewer keeps two: the tiles where its client shows
// pixels that the encoder sent lossy (JPEG), so that they can be sent again losslessly
// once no more lossy updates come (Options.RefreshDelay; passthrough JPEGs are not
// marked: the framebuffer holds the same decoded JPEG, so sending it again would gain
// nothing), and the tiles its client has had nothing drawn on since RESIZE (blank).
type tileSet struct {
	tile   int
	cols   int
	bounds image.Rectangle
	marked []bool
	n      int
}

func (l *tileSet) reset(bounds image.Rectangle, tile int) {
	l.tile, l.bounds = tile, bounds
	l.cols = (bounds.Dx() + tile - 1) / tile
	rows := (bounds.Dy() + tile - 1) / tile
	l.marked = resized(l.marked, l.cols*rows)
	l.n = 0
}

// tiles calls fn with the index and rectangle of every tile meeting r.
func (l *tileSet) tiles(r image.Rectangle, fn func(i int, tr image.Rectangle)) {
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

func (l *tileSet) mark(r image.Rectangle) {
	l.tiles(r, func(i int, _ image.Rectangle) {
		if !l.marked[i] {
			l.marked[i] = true
			l.n++
		}
	})
}

// sentLossless unmarks the tiles r covers whole.
func (l *tileSet) sentLossless(r image.Rectangle) {
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

func (l *tileSet) any(r image.Rectangle) bool {
	found := false
	if l.n > 0 {
		l.tiles(r, func(i int, _ image.Rectangle) { found = found || l.marked[i] })
	}
	return found
}

// each calls fn with every marked tile's rectangle.
func (l *tileSet) each(fn func(image.Rectangle)) {
	if l.n == 0 {
		return
	}
	l.tiles(l.bounds, func(i int, tr image.Rectangle) {
		if l.marked[i] {
			fn(tr)
		}
	})
}

// fill marks every tile.
func (l *tileSet) fill() {
	for i := range l.marked {
		l.marked[i] = true
	}
	l.n = len(l.marked)
}

// unmark unmarks every tile r meets.
func (l *tileSet) unmark(r image.Rectangle) {
	if l.n == 0 {
		return
	}
	l.tiles(r, func(i int, _ image.Rectangle) {
		if l.marked[i] {
			l.marked[i] = false
			l.n--
		}
	})
}

// every reports whether every tile r meets is marked.
func (l *tileSet) every(r image.Rectangle) bool {
	all := l.n > 0
	if all {
		l.tiles(r, func(i int, _ image.Rectangle) { all = all && l.marked[i] })
	}
	return all
}
