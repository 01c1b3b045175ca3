// Package palette indexes pixels by colour for ZPALETTE images (docs/protocol.md § IMAGE,
// 1 ZPALETTE): a table of up to 256 colours, and the layout's packed rows of indices.
// The display's encoder and the recording's transcoder both write ZPALETTE with it.
package palette

import (
	"encoding/binary"
	"slices"

	"github.com/racgate/racgate/render/wire"
)

// Max is the most colours a palette holds.
const Max = 256

// Table is an open-addressing set of up to Max colours (R | G<<8 | B<<16), each with its
// index in the order it came. Its size is fixed, so indexing allocates nothing.
type Table struct {
	keys   [1024]uint32 // colour | 1<<24, 0 = free
	index  [1024]uint8
	colors [Max]uint32
	slots  [Max]uint16 // where each colour's key is
	n      int
}

// Reset empties the table. It clears the slots in use only: a region of one colour (a
// FILL's) costs one, not the whole table.
func (t *Table) Reset() {
	for _, h := range t.slots[:t.n] {
		t.keys[h] = 0
	}
	t.n = 0
}

// Len is the number of colours.
func (t *Table) Len() int { return t.n }

// Colors are the colours, by index.
func (t *Table) Colors() []uint32 { return t.colors[:t.n] }

// Truncate keeps the first n colours only.
func (t *Table) Truncate(n int) {
	if n >= t.n {
		return
	}
	colors := t.colors
	t.Reset()
	for _, c := range colors[:n] {
		t.Lookup(c)
	}
}

// Lookup returns the colour's index, adding it; ok is false when a colour past Max comes.
func (t *Table) Lookup(c uint32) (uint8, bool) {
	k := c | 1<<24
	h := (c * 0x9E3779B1) >> 22 // Fibonacci hashing to 10 bits
	for {
		switch t.keys[h] {
		case k:
			return t.index[h], true
		case 0:
			if t.n == Max {
				return 0, false
			}
			t.keys[h], t.index[h] = k, uint8(t.n)
			t.colors[t.n], t.slots[t.n] = c, uint16(h)
			t.n++
			return uint8(t.n - 1), true
		}
		h = (h + 1) & 1023
	}
}

// Index adds the colours of w×h pixels (4 bytes each, R, G, B and one ignored; rows
// stride bytes apart) and writes their indices to idx (w*h bytes, rows packed). It
// reports false when a colour past Max comes; the table then holds Max colours and idx
// is partly written.
func (t *Table) Index(idx, pix []byte, w, h, stride int) bool {
	y := 0
	if t.n == 0 {
		y = t.index2(idx, pix, w, h, stride)
	}
	var s recent
	s.reset()
	for ; y < h; y++ {
		if !t.indexRow(idx[y*w:y*w+w], pix[y*stride:], &s) {
			return false
		}
	}
	return true
}

// index2 indexes rows of an empty table's region while they hold at most two colours
// (a terminal's text, most of a UI's), two pixels at a time and without branching on
// the pixels, and returns the first row it did not index: h if it did them all. The
// colours get the indices Index's general path gives them: the first pixel's 0, the
// first that differs 1.
func (t *Table) index2(idx, pix []byte, w, h, stride int) int {
	c0 := binary.LittleEndian.Uint32(pix) & 0xffffff
	c1 := c0
	for y := 0; y < h && c1 == c0; y++ {
		row := pix[y*stride:][:w*4]
		for x := 0; x < len(row); x += 4 {
			if c := binary.LittleEndian.Uint32(row[x:]) & 0xffffff; c != c0 {
				c1 = c
				break
			}
		}
	}
	t.Lookup(c0)
	if c1 == c0 { // one colour
		for y := range h {
			clear(idx[y*w : y*w+w])
		}
		return h
	}
	t.Lookup(c1)
	p0, p1 := uint64(c0)|uint64(c0)<<32, uint64(c1)|uint64(c1)<<32
	for y := range h {
		if pairs(idx[y*w:][:w], pix[y*stride:][:w*4], p0, p1)&bit24 != 0 {
			return y
		}
	}
	return h
}

// Count adds the colours of pixels as Index does, writing no indices.
func (t *Table) Count(pix []byte, w, h, stride int) bool {
	var s recent
	s.reset()
	var scratch [512]byte
	for y := range h {
		row := pix[y*stride:]
		for x := 0; x < w; x += len(scratch) {
			if !t.indexRow(scratch[:min(len(scratch), w-x)], row[x*4:], &s) {
				return false
			}
		}
	}
	return true
}

// Two pixels a uint64, each a 32-bit lane of 24 colour bits (the unused byte masked
// off): a lane plus 0xffffff carries into its bit 24 exactly when it is not zero, and
// never into the next lane.
const lanes, bit24 = 0x00ffffff_00ffffff, 0x01000000_01000000

// pairs writes out's indices (1 where a pixel of row is colour 1, else 0) for two
// colours, each twice in p0 and p1's lanes, and returns bit24 set in some lane if a pixel
// is neither.
func pairs(out, row []byte, p0, p1 uint64) uint64 {
	var bad uint64
	for len(out) >= 4 && len(row) >= 16 {
		a := binary.LittleEndian.Uint64(row) & lanes
		b := binary.LittleEndian.Uint64(row[8:]) & lanes
		na := (a ^ p1 + lanes) & bit24 // bit 24 of each lane: not colour 1
		nb := (b ^ p1 + lanes) & bit24
		bad |= na&(a^p0+lanes) | nb&(b^p0+lanes) // neither colour
		// Colour 1's flags at bits 24 and 56 of a and b, gathered into bytes 0 to 3.
		f := (na^bit24)>>24 | (nb^bit24)>>8
		binary.LittleEndian.PutUint32(out, uint32(f|f>>24))
		out, row = out[4:], row[16:]
	}
	for len(out) > 0 && len(row) >= 4 {
		c := uint64(binary.LittleEndian.Uint32(row) & 0xffffff)
		n := (c ^ p1&0xffffff + 0xffffff) & (1 << 24)
		bad |= n & (c ^ p0&0xffffff + 0xffffff)
		out[0] = byte(n>>24) ^ 1
		out, row = out[1:], row[4:]
	}
	return bad
}

// recent are the last two colours indexed, which skip the table: runs of one colour
// are most of text and UI, and text alternates between two.
type recent struct {
	prev, other uint32
	pi, oi      uint8
}

func (s *recent) reset() { s.prev, s.other = 1<<31, 1<<31 } // no colour

// indexRow writes the indices of the len(out) pixels that row begins with to out.
func (t *Table) indexRow(out, row []byte, s *recent) bool {
	prev, pi, other, oi := s.prev, s.pi, s.other, s.oi
	row = row[:len(out)*4]
	for x := range out {
		c := binary.LittleEndian.Uint32(row[x*4:]) & 0xffffff
		if c != prev {
			if c == other {
				other, oi, prev, pi = prev, pi, other, oi
			} else {
				ci, ok := t.Lookup(c)
				if !ok {
					return false
				}
				other, oi, prev, pi = prev, pi, c, ci
			}
		}
		out[x] = pi
	}
	s.prev, s.pi, s.other, s.oi = prev, pi, other, oi
	return true
}

// AppendHeader appends the start of ZPALETTE's layout: the number of colours less one,
// then each colour's R, G and B.
func (t *Table) AppendHeader(dst []byte) []byte {
	dst = append(dst, byte(t.n-1))
	for _, c := range t.colors[:t.n] {
		dst = append(dst, byte(c), byte(c>>8), byte(c>>16))
	}
	return dst
}

// AppendRows appends ZPALETTE's rows of the indices idx (rows of w, packed) into a
// palette of n colours: each row starts on a new byte, most significant bits first.
func AppendRows(dst, idx []byte, w, n int) []byte {
	stride := (w*wire.PaletteBits(n) + 7) / 8
	dst = slices.Grow(dst, len(idx)/w*stride)
	for y := 0; y+w <= len(idx); y += w {
		k := len(dst)
		dst = dst[:k+stride]
		packRow(dst[k:], idx[y:y+w], n)
	}
	return dst
}

// packRow writes a row of indices into a palette of n colours to dst.
func packRow(dst, src []byte, n int) {
	bits := wire.PaletteBits(n)
	if bits == 8 {
		copy(dst, src)
		return
	}
	per := 8 / bits // indices per byte
	full := len(src) / per
	// Whole bytes at a time, most significant index first.
	switch bits {
	case 1:
		// Eight indices, each 0 or 1, as the bytes of a uint64: the multiply gathers
		// byte i's bit into bit 63−i, so the top byte is them, the first most significant.
		for j := range dst[:full] {
			dst[j] = byte(binary.LittleEndian.Uint64(src[j*8:]) * 0x80402010_08040201 >> 56)
		}
	case 2:
		for j := range dst[:full] {
			s := src[j*4 : j*4+4]
			dst[j] = s[0]<<6 | s[1]<<4 | s[2]<<2 | s[3]
		}
	case 4:
		for j := range dst[:full] {
			s := src[j*2 : j*2+2]
			dst[j] = s[0]<<4 | s[1]
		}
	}
	if full*per < len(src) { // the row's last, partial byte
		var b byte
		for x := full * per; x < len(src); x++ {
			b |= src[x] << (8 - bits - (x*bits)&7)
		}
		dst[full] = b
	}
}
