package vnc

import (
	"encoding/binary"
	"image"
	"image/color"
)

func pixelColor(b []byte) color.RGBA { return color.RGBA{b[0], b[1], b[2], 255} }

// readRRE reads RRE (RFC 6143 §7.7.3): a background and solid subrectangles.
func (c *Client) readRRE(r image.Rectangle) error {
	const msg = "FramebufferUpdate/RRE"
	b, err := c.r.peek(8)
	if err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(b)
	bg := pixelColor(b[4:])
	// More subrectangles than pixels is nonsense; refuse rather than loop.
	if uint64(n) > uint64(r.Dx())*uint64(r.Dy()) {
		return protoErr(msg, "%d subrectangles in %v", n, r)
	}
	c.sink.Fill(r, bg)
	for range n {
		s, err := c.r.peek(12)
		if err != nil {
			return err
		}
		x, y := int(binary.BigEndian.Uint16(s[4:])), int(binary.BigEndian.Uint16(s[6:]))
		w, h := int(binary.BigEndian.Uint16(s[8:])), int(binary.BigEndian.Uint16(s[10:]))
		sr := image.Rect(x, y, x+w, y+h).Add(r.Min)
		if !sr.In(r) && !sr.Empty() {
			return protoErr(msg, "subrectangle %v outside %v", sr, r)
		}
		c.sink.Fill(sr, pixelColor(s))
	}
	return nil
}
