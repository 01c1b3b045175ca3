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
	var s recent
	s.reset()
	for y := range h {
		if !t.indexRow(idx[y*w:y*w+w], pix[y*stride:], &s) {
			return false
		}
	}
	return true
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
		for j := range dst[:full] {
			s := src[j*8 : j*8+8]
			dst[j] = s[0]<<7 | s[1]<<6 | s[2]<<5 | s[3]<<4 | s[4]<<3 | s[5]<<2 | s[6]<<1 | s[7]
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
