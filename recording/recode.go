package recording

import (
	"image"

	"github.com/racgate/racgate/render/palette"
	"github.com/racgate/racgate/render/wire"
)

// What is not predicted (a full key frame's images, changes past the budget) is coded
// again from the screen, as FILL, ZPALETTE or ZRGB, rather than written as the viewer's
// images came. The viewer cuts a frame into strips one tile high, each with a palette
// of its own; a screen of text or blocks has one palette for all, and a repainted
// screen's twelve palettes were a third of its bytes. So neighbouring rectangles of the
// run are joined while they share a palette: a repainted 1024×768 screen of 256-colour
// blocks is one ZPALETTE image of 14 KB instead of twelve strips of 22 KB in all.

// columnW is the width of the columns a rectangle of more than palette.Max colours is
// coded in, the display's tile: the columns with few colours (text beside a picture)
// still get a palette.
const columnW = 64

// bandPixels bounds the pixels coded at a time, so that coding a whole screen needs a
// band's scratch, not the screen's.
const bandPixels = 32 << 10

// coder joins rectangles to code and codes them (recode.go).
type coder struct {
	cur    image.Rectangle // the rectangle being joined, empty: none
	curPal bool            // cur has at most palette.Max colours, pals[p]
	pals   [2]palette.Table
	p      int
	idx    []byte // a band's indices
	band   []byte // a band's packed layout
}

// codeRects appends to dst messages that draw rects (a run's, in order; they may
// overlap) as the screen now has them.
func (t *transcoder) codeRects(dst []byte, rects []image.Rectangle) []byte {
	c := &t.coder
	c.cur = image.Rectangle{}
	for _, r := range rects {
		if !r.In(c.cur) {
			dst = t.take(dst, r, true)
		}
	}
	return t.code(dst)
}

// take joins r to the rectangle being joined if they make a rectangle and share a
// palette (or both have too many colours for one), else codes that one and begins
// with r. With split, a rectangle of too many colours is taken in columns.
func (t *transcoder) take(dst []byte, r image.Rectangle, split bool) []byte {
	c := &t.coder
	img := t.screen.Image()
	own := &c.pals[1-c.p]
	own.Reset()
	few := own.Count(img.Pix[img.PixOffset(r.Min.X, r.Min.Y):], r.Dx(), r.Dy(), img.Stride)
	if !few && split && r.Dx() > columnW {
		for x := r.Min.X; x < r.Max.X; {
			next := min((x/columnW+1)*columnW, r.Max.X)
			dst = t.take(dst, image.Rect(x, r.Min.Y, next, r.Max.Y), false)
			x = next
		}
		return dst
	}
	if few == c.curPal && adjoins(c.cur, r) {
		if !few {
			c.cur = c.cur.Union(r) // one ZRGB
			return dst
		}
		pal := &c.pals[c.p]
		n := pal.Len()
		joined := true
		for _, col := range own.Colors() {
			if _, ok := pal.Lookup(col); !ok {
				joined = false
				break
			}
		}
		if joined {
			c.cur = c.cur.Union(r)
			return dst
		}
		pal.Truncate(n)
	}
	dst = t.code(dst)
	c.cur, c.curPal, c.p = r, few, 1-c.p
	return dst
}

// adjoins reports whether a and b, side by side or one above the other, make a
// rectangle.
func adjoins(a, b image.Rectangle) bool {
	switch {
	case a.Empty() || b.Empty():
		return false
	case a.Min.X == b.Min.X && a.Max.X == b.Max.X:
		return a.Max.Y == b.Min.Y || b.Max.Y == a.Min.Y
	case a.Min.Y == b.Min.Y && a.Max.Y == b.Max.Y:
		return a.Max.X == b.Min.X || b.Max.X == a.Min.X
	}
	return false
}

// code appends the message that draws the rectangle being joined, as the screen has it:
// a FILL if it is one colour, a ZPALETTE if it has at most palette.Max, else a ZRGB.
func (t *transcoder) code(dst []byte) []byte {
	c := &t.coder
	r := c.cur
	if r.Empty() {
		return dst
	}
	c.cur = image.Rectangle{}
	img := t.screen.Image()
	pal := &c.pals[c.p]
	if c.curPal && pal.Len() == 1 {
		col := pal.Colors()[0]
		return wire.Fill{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), R: uint8(col), G: uint8(col >> 8), B: uint8(col >> 16)}.Append(dst)
	}
	w := r.Dx()
	rows := max(1, bandPixels/w)
	t.zbuf.Reset()
	enc := uint8(wire.ZRGB)
	if c.curPal {
		enc = wire.ZPalette
		c.band = pal.AppendHeader(c.band[:0])
		t.zw.Write(c.band) // into a bytes.Buffer: no error
		for y := r.Min.Y; y < r.Max.Y; y += rows {
			h := min(rows, r.Max.Y-y)
			c.idx = grow(c.idx, w*h)
			pal.Index(c.idx, img.Pix[img.PixOffset(r.Min.X, y):], w, h, img.Stride) // every colour is in it
			c.band = palette.AppendRows(c.band[:0], c.idx, w, pal.Len())
			t.zw.Write(c.band)
		}
	} else {
		for y := r.Min.Y; y < r.Max.Y; y += rows {
			c.band = rgb(c.band[:0], img, image.Rect(r.Min.X, y, r.Max.X, min(y+rows, r.Max.Y)))
			t.zw.Write(c.band)
		}
	}
	t.zw.Flush()
	return wire.Image{X: r.Min.X, Y: r.Min.Y, W: w, H: r.Dy(), Encoding: enc, Data: t.zbuf.Bytes()}.Append(dst)
}

// grow returns b resliced to n bytes, reallocated if it is shorter.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
