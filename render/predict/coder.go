package predict

import "errors"

// ErrData is returned for a piece that does not decode: it ends early or goes on past
// what its rectangle needs.
var ErrData = errors.New("predict: malformed data")

// coder is the binary arithmetic coder (docs/recording.md § PREDICT, The coder): a
// carry-less coder over 32-bit bounds, coding one bit at a time with a 12-bit
// probability that the bit is 1. It encodes when in is nil and decodes otherwise, so
// that the model's walk is written once for both.
type coder struct {
	x1, x2 uint32
	x      uint32 // decoding: the code value read so far
	out    []byte // encoding: the bytes written
	in     []byte // decoding: the piece
	pos    int    // decoding: bytes of in consumed, counting the padding past its end
	dec    bool
}

func (c *coder) startEncode(dst []byte) {
	*c = coder{x2: 0xFFFFFFFF, out: dst}
}

func (c *coder) startDecode(data []byte) {
	*c = coder{x2: 0xFFFFFFFF, in: data, dec: true}
	for range 4 {
		c.x = c.x<<8 | uint32(c.next())
	}
}

// next is the piece's next byte; past its end, 0xFF (the encoder's flush relies on it).
func (c *coder) next() byte {
	i := c.pos
	c.pos++
	if i < len(c.in) {
		return c.in[i]
	}
	return 0xFF
}

// code codes bit y (encoding) or returns the bit read (decoding), with p the
// probability, in 1/4096ths, that it is 1; p is 1..4095.
func (c *coder) code(y int, p int) int {
	xmid := c.x1 + (c.x2-c.x1)>>12*uint32(p)
	if c.dec {
		y = 0
		if c.x <= xmid {
			y = 1
		}
	}
	if y != 0 {
		c.x2 = xmid
	} else {
		c.x1 = xmid + 1
	}
	for (c.x1^c.x2)&0xFF000000 == 0 {
		if c.dec {
			c.x = c.x<<8 | uint32(c.next())
		} else {
			c.out = append(c.out, byte(c.x2>>24))
		}
		c.x1 <<= 8
		c.x2 = c.x2<<8 | 0xFF
	}
	return y
}

// finishEncode ends the piece: one byte, which with the 0xFF padding a decoder reads
// past the end lies within the last interval.
func (c *coder) finishEncode() []byte {
	return append(c.out, byte(c.x1>>24))
}

// finishDecode checks that the piece was what its rectangle needed: a decoder reads
// exactly three bytes of padding past the end of a whole piece.
func (c *coder) finishDecode() error {
	if c.pos != len(c.in)+3 {
		return ErrData
	}
	return nil
}
