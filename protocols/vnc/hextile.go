package vnc

import (
	"image"
)

// Hextile subencoding mask bits (RFC 6143 §7.7.4).
const (
	hextileRaw                 = 1
	hextileBackgroundSpecified = 2
	hextileForegroundSpecified = 4
	hextileAnySubrects         = 8
	hextileSubrectsColoured    = 16
)

// readHextile reads Hextile (RFC 6143 §7.7.4): 16x16 tiles, left to right,
// top to bottom. Each tile is composed in a small buffer and drawn once.
func (c *Client) readHextile(r image.Rectangle) error {
	const msg = "FramebufferUpdate/Hextile"
	var bg, fg [4]byte
	tile := c.pixBuf(16 * 16 * 4)
	for ty := r.Min.Y; ty < r.Max.Y; ty += 16 {
		th := min(16, r.Max.Y-ty)
		for tx := r.Min.X; tx < r.Max.X; tx += 16 {
			tw := min(16, r.Max.X-tx)
			tr := image.Rect(tx, ty, tx+tw, ty+th)
			stride := tw * 4
			mask, err := c.r.u8()
			if err != nil {
				return err
			}
			if mask&hextileRaw != 0 {
				if err := c.r.into(tile[:stride*th]); err != nil {
					return err
				}
				c.sink.SetPixels(tr, tile, stride)
				continue
			}
			if mask&hextileBackgroundSpecified != 0 {
				b, err := c.r.peek(4)
				if err != nil {
					return err
				}
				copy(bg[:], b)
			}
			if mask&hextileForegroundSpecified != 0 {
				b, err := c.r.peek(4)
				if err != nil {
					return err
				}
				copy(fg[:], b)
			}
			if mask&hextileAnySubrects == 0 {
				c.sink.Fill(tr, pixelColor(bg[:]))
				continue
			}
			n, err := c.r.u8()
			if err != nil {
				return err
			}
			for i := 0; i < stride*th; i += 4 {
				copy(tile[i:i+4], bg[:])
			}
			coloured := mask&hextileSubrectsColoured != 0
			size := 2
			if coloured {
				size = 6
			}
			b, err := c.r.peek(int(n) * size)
			if err != nil {
				return err
			}
			for i := 0; i < int(n); i++ {
				s := b[i*size:]
				px := fg[:]
				if coloured {
					px, s = s[:4], s[4:]
				}
				x, y := int(s[0]>>4), int(s[0]&15)
				w, h := int(s[1]>>4)+1, int(s[1]&15)+1
				if x+w > tw || y+h > th {
					return protoErr(msg, "subrectangle %d,%d %dx%d outside %dx%d tile", x, y, w, h, tw, th)
				}
				for yy := y; yy < y+h; yy++ {
					row := tile[yy*stride+x*4 : yy*stride+(x+w)*4]
					for j := 0; j < len(row); j += 4 {
						copy(row[j:j+4], px)
					}
				}
			}
			c.sink.SetPixels(tr, tile, stride)
		}
	}
	return nil
}
