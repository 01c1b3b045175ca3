package predict

import "image"

// The walk (docs/recording.md § PREDICT, The model) visits the rectangle's pixels row by
// row, left to right, and for each asks, in order, until one is answered yes:
//
//  1. is it its old colour (the screen's, under the image)?
//  2. is it the colour of its left neighbour, as coded?
//  3. of its neighbour above, above right, above left (each asked only when that colour
//     is not one asked about already)?
//  4. which colour of the literal cache is it (or none: its R, G and B)?
//
// A pixel's neighbours are read from the screen as it is while the rectangle is coded:
// the rows above and the pixels to the left hold their new colours, the pixel itself and
// those to its right and below still their old ones. Outside the screen is black.

// lum is a colour's luma bit: light (1) or dark (0).
func lum(c uint32) uint8 {
	if c>>16&0xFF+c>>8&0xFF+c&0xFF > 384 {
		return 1
	}
	return 0
}

func b(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}

// screen is the framebuffer a walk reads and writes: RGBA, 4 bytes a pixel.
type screen struct {
	pix    []byte
	stride int
	w, h   int
}

func (s *screen) at(x, y int) uint32 {
	if x < 0 || y < 0 || x >= s.w || y >= s.h {
		return 0
	}
	p := s.pix[y*s.stride+x*4:]
	return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
}

// lumRow fills dst with the luma bits of row y from x0 on.
func (s *screen) lumRow(dst []uint8, x0, y int) {
	for i := range dst {
		dst[i] = lum(s.at(x0+i, y))
	}
}

// grow returns b with length n, reusing its array.
func grow(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}

// walk codes the pixels of r in img: from src (r's new pixels, RGBA rows packed) when
// encoding, into img when decoding. img holds the screen before the image, and after
// the walk its new pixels.
func (m *Model) walk(c *coder, img *image.RGBA, r image.Rectangle, src []byte) {
	if r.Empty() {
		return // no pixels; and an empty rectangle's rows may lie off the screen
	}
	s := screen{pix: img.Pix, stride: img.Stride, w: img.Rect.Dx(), h: img.Rect.Dy()}
	w := r.Dx()
	rw := w + 8 // 5 pixels left of the rectangle, 3 right
	x0 := r.Min.X - 5
	for k := range m.lums {
		m.lums[k] = grow(m.lums[k], rw)
	}
	for k := range m.cols {
		m.cols[k] = growColours(m.cols[k], rw)
	}
	m.chg[0], m.chg[1] = grow(m.chg[0], rw), grow(m.chg[1], rw)
	clear(m.chg[0])
	// lums: the luma bits of rows y-3, y-2, y-1 (as coded), y (as it is being coded) and
	// y+1 (old); cols: the colours of rows y-1 and y likewise.
	for k := range m.lums {
		s.lumRow(m.lums[k], x0, r.Min.Y-3+k)
	}
	s.colourRow(m.cols[0], x0, r.Min.Y-1)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		if y > r.Min.Y {
			l := m.lums
			m.lums = [5][]uint8{l[1], l[2], l[3], l[4], l[0]}
			s.lumRow(m.lums[4], x0, y+1)
			m.cols[0], m.cols[1] = m.cols[1], m.cols[0]
			m.chg[0], m.chg[1] = m.chg[1], m.chg[0]
		}
		r3, r2, r1, r0, rs := m.lums[0], m.lums[1], m.lums[2], m.lums[3], m.lums[4]
		above, row := m.cols[0], m.cols[1]
		s.colourRow(row, x0, y)
		prev, cur := m.chg[0], m.chg[1]
		clear(cur)
		// Windows of luma bits: w3, w2, w1 the rows above at x-3..x+3 (x+3 in bit 0),
		// w0 this row at x-5..x-1 (x-1 in bit 0).
		var w3, w2, w1, w0 uint32
		for i := 2; i < 8; i++ {
			w3 = w3<<1 | uint32(r3[i])
			w2 = w2<<1 | uint32(r2[i])
			w1 = w1<<1 | uint32(r1[i])
		}
		for i := range 4 {
			w0 = w0<<1 | uint32(r0[i])
		}
		lastSame := uint32(1)
		for i := 5; i < w+5; i++ {
			w3 = (w3<<1 | uint32(r3[i+3])) & 0x7F
			w2 = (w2<<1 | uint32(r2[i+3])) & 0x7F
			w1 = (w1<<1 | uint32(r1[i+3])) & 0x7F
			w0 = (w0<<1 | uint32(r0[i-1])) & 0x1F
			O, W, WW := row[i], row[i-1], row[i-2]
			N, NW, NE := above[i], above[i-1], above[i+1]
			lo, le, ls := uint32(r0[i]), uint32(r0[i+1]), uint32(rs[i])
			cp, cpr := uint32(prev[i]), uint32(prev[i+1])
			eqWN, eqOW := b(W == N), b(O == W)
			// The luma template: NWW NW N NE NEE, NNW NN NNE, WW W.
			tpl := (w1>>1&0x1F)<<5 | (w2>>2&7)<<2 | w0&3
			k1 := tpl<<6 | lo<<5 | le<<4 | ls<<3 | lastSame<<2 | cp<<1
			near := w0&3<<11 | (w1>>2&7)<<8 | lo<<7 | le<<6 | ls<<5 | lastSame<<2 | cp<<1 | cpr
			far := w3<<23 | w2<<16 | w1<<9 | w0<<4 | lo<<3 | le<<2 | ls<<1

			var want uint32
			if !c.dec {
				p := src[((y-r.Min.Y)*w+i-5)*4:]
				want = uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
			}
			var col uint32
			switch {
			case m.same.code(c, int(b(want == O)), k1|eqOW, near|eqOW<<3|eqWN<<4, far|eqOW) == 1:
				col = O
			case O != W && m.left.code(c, int(b(want == W)), k1|eqWN, near|eqWN<<4, far|eqWN) == 1:
				col = W
			default:
				ctx := eqWN | b(W == NW)<<1 | b(N == NE)<<2 | b(W == WW)<<3 | b(N == NW)<<4 | b(NE == NW)<<5
				found := false
				for k, cand := range [3]uint32{N, NE, NW} {
					if cand == O || cand == W || (k >= 1 && cand == N) || (k == 2 && cand == NE) {
						continue
					}
					if codeSmall(c, &m.others[k][ctx], int(b(want == cand))) == 1 {
						col, found = cand, true
						break
					}
				}
				if !found {
					col = m.literal(c, want)
				}
			}
			row[i] = col
			same := b(col == O)
			r0[i] = lum(col)
			cur[i] = uint8(1 - same)
			lastSame = same
		}
		// The row's new colours go to the screen.
		p := s.pix[y*s.stride+r.Min.X*4:]
		for i := 5; i < w+5; i++ {
			c := row[i]
			p[0], p[1], p[2], p[3] = byte(c>>16), byte(c>>8), byte(c), 0xFF
			p = p[4:]
		}
	}
}

// colourRow fills dst with the colours of row y from x0 on.
func (s *screen) colourRow(dst []uint32, x0, y int) {
	for i := range dst {
		dst[i] = s.at(x0+i, y)
	}
}

func growColours(b []uint32, n int) []uint32 {
	if cap(b) < n {
		return make([]uint32, n)
	}
	return b[:n]
}

// literal codes a colour by its place in the cache of recent literals, or, when it is
// not there, by its bytes; either way it moves to the front of the cache.
func (m *Model) literal(c *coder, want uint32) uint32 {
	idx := 0 // 1 + its place in the cache; 0: not there
	if !c.dec {
		for k, v := range m.cache {
			if v == want {
				idx = k + 1
				break
			}
		}
	}
	idx = codeByte(c, &m.lit, idx)
	var col uint32
	if idx > 0 {
		if idx > len(m.cache) {
			idx = len(m.cache) // a decoder's garbage: any colour will do, the piece fails its length check
			if idx == 0 {
				return 0
			}
		}
		col = m.cache[idx-1]
		copy(m.cache[1:idx], m.cache[:idx-1])
		m.cache[0] = col
		return col
	}
	for k := range 3 {
		col = col<<8 | uint32(codeByte(c, &m.rgb[k], int(want>>(16-8*k)&0xFF)))
	}
	if len(m.cache) < cacheSize {
		m.cache = append(m.cache, 0)
	}
	copy(m.cache[1:], m.cache[:len(m.cache)-1])
	m.cache[0] = col
	return col
}
