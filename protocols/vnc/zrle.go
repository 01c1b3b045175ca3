package vnc

import (
	"encoding/binary"
	"image"
)

// zrleTile is the ZRLE tile size (RFC 6143 §7.7.6).
const zrleTile = 64

// readZRLE reads ZRLE (RFC 6143 §7.7.6): zlib-compressed 64x64 tiles (one stream per connection)
// of CPIXELs, which for our pixel format are 3 bytes R, G, B.
func (c *Client) readZRLE(r image.Rectangle) error {
	const msg = "FramebufferUpdate/ZRLE"
	b, err := c.r.peek(4)
	if err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(b)
	if n > maxCompressed {
		return protoErr(msg, "compressed length %d exceeds %d", n, maxCompressed)
	}
	// Worst case per tile: a subencoding byte, a 127-colour palette and two
	// bytes per pixel; plain RLE is at most four bytes per pixel.
	tiles := ((r.Dx() + zrleTile - 1) / zrleTile) * ((r.Dy() + zrleTile - 1) / zrleTile)
	limit := r.Dx()*r.Dy()*4 + tiles*(1+127*3)
	data, err := c.zrle.inflate(c.r, int(n), limit)
	if err != nil {
		return &ProtocolError{Message: msg, Reason: "inflate", Err: err}
	}
	d := zrleData{b: data}
	tile := c.pixBuf(zrleTile * zrleTile * 4)
	for ty := r.Min.Y; ty < r.Max.Y; ty += zrleTile {
		th := min(zrleTile, r.Max.Y-ty)
		for tx := r.Min.X; tx < r.Max.X; tx += zrleTile {
			tw := min(zrleTile, r.Max.X-tx)
			tr := image.Rect(tx, ty, tx+tw, ty+th)
			solid, err := decodeZRLETile(&d, tile, tw, th)
			if err != nil {
				return err
			}
			if solid {
				c.sink.Fill(tr, pixelColor(tile))
			} else {
				c.sink.SetPixels(tr, tile, tw*4)
			}
		}
	}
	return nil
}

// zrleData walks inflated ZRLE data with bounds checks.
type zrleData struct {
	b   []byte
	off int
}

func (d *zrleData) take(n int) ([]byte, error) {
	if n > len(d.b)-d.off {
		return nil, protoErr("FramebufferUpdate/ZRLE", "tile data truncated")
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s, nil
}

// runLength reads a ZRLE run length: bytes of 255 continue, the total plus one.
func (d *zrleData) runLength(limit int) (int, error) {
	n := 1
	for {
		b, err := d.take(1)
		if err != nil {
			return 0, err
		}
		n += int(b[0])
		if n > limit {
			return 0, protoErr("FramebufferUpdate/ZRLE", "run of %d+ pixels exceeds tile", n)
		}
		if b[0] != 255 {
			return n, nil
		}
	}
}

// decodeZRLETile decodes one tile into tile (stride tw*4). For a solid tile it
// only sets the first pixel and reports solid.
func decodeZRLETile(d *zrleData, tile []byte, tw, th int) (solid bool, err error) {
	const msg = "FramebufferUpdate/ZRLE"
	sb, err := d.take(1)
	if err != nil {
		return false, err
	}
	sub := int(sb[0])
	npix := tw * th
	var palette [128][4]byte
	readPalette := func(n int) error {
		p, err := d.take(n * 3)
		if err != nil {
			return err
		}
		for i := range n {
			palette[i] = [4]byte{p[i*3], p[i*3+1], p[i*3+2], 0}
		}
		return nil
	}
	switch {
	case sub == 0: // Raw CPIXELs
		p, err := d.take(npix * 3)
		if err != nil {
			return false, err
		}
		for i := range npix {
			tile[i*4], tile[i*4+1], tile[i*4+2], tile[i*4+3] = p[i*3], p[i*3+1], p[i*3+2], 0
		}
	case sub == 1: // solid
		p, err := d.take(3)
		if err != nil {
			return false, err
		}
		tile[0], tile[1], tile[2], tile[3] = p[0], p[1], p[2], 0
		return true, nil
	case sub <= 16: // packed palette
		if err := readPalette(sub); err != nil {
			return false, err
		}
		bpp := 4
		switch {
		case sub == 2:
			bpp = 1
		case sub <= 4:
			bpp = 2
		}
		rowBytes := (tw*bpp + 7) / 8
		p, err := d.take(rowBytes * th)
		if err != nil {
			return false, err
		}
		mask := byte(1<<bpp - 1)
		for y := range th {
			row := p[y*rowBytes:]
			for x := range tw {
				bit := x * bpp
				idx := int(row[bit/8]>>(8-bpp-bit%8)) & int(mask)
				if idx >= sub {
					return false, protoErr(msg, "palette index %d of %d", idx, sub)
				}
				copy(tile[(y*tw+x)*4:], palette[idx][:])
			}
		}
	case sub == 128: // plain RLE
		for i := 0; i < npix; {
			p, err := d.take(3)
			if err != nil {
				return false, err
			}
			px := [4]byte{p[0], p[1], p[2], 0}
			n, err := d.runLength(npix - i)
			if err != nil {
				return false, err
			}
			for end := i + n; i < end; i++ {
				copy(tile[i*4:], px[:])
			}
		}
	case sub >= 130: // palette RLE
		size := sub - 128
		if err := readPalette(size); err != nil {
			return false, err
		}
		for i := 0; i < npix; {
			b, err := d.take(1)
			if err != nil {
				return false, err
			}
			idx, n := int(b[0]&127), 1
			if b[0]&128 != 0 {
				if n, err = d.runLength(npix - i); err != nil {
					return false, err
				}
			}
			if idx >= size {
				return false, protoErr(msg, "palette index %d of %d", idx, size)
			}
			for end := i + n; i < end; i++ {
				copy(tile[i*4:], palette[idx][:])
			}
		}
	default:
		return false, protoErr(msg, "unknown tile subencoding %d", sub)
	}
	return false, nil
}
