package vnc

import (
	"encoding/binary"
	"image"
	"image/color"
)

// Tight compression control (rfbproto "Tight Encoding").
const (
	tightFill           = 0x8
	tightJPEG           = 0x9
	tightPNG            = 0xA
	tightFilterOn       = 0x4 // in the high nibble of basic compression
	tightFilterCopy     = 0
	tightFilterPalette  = 1
	tightFilterGradient = 2
	tightMinToCompress  = 12 // shorter data is sent without zlib
	tightMaxLength      = 1<<22 - 1
)

// readCompactLength reads Tight's 1-3 byte length: 7 bits per byte, the top
// bit meaning another byte follows; the third byte holds 8 bits.
func (c *Client) readCompactLength() (int, error) {
	n := 0
	for i := range 3 {
		b, err := c.r.u8()
		if err != nil {
			return 0, err
		}
		if i == 2 {
			return n | int(b)<<14, nil
		}
		n |= int(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return n, nil
		}
	}
	return n, nil
}

// readTight reads one Tight rectangle. TPIXELs are 3 bytes R, G, B for our
// pixel format.
func (c *Client) readTight(r image.Rectangle) error {
	const msg = "FramebufferUpdate/Tight"
	ctl, err := c.r.u8()
	if err != nil {
		return err
	}
	for i := range 4 {
		if ctl&(1<<i) != 0 {
			c.tight[i].reset()
		}
	}
	kind := ctl >> 4
	switch {
	case kind == tightFill:
		c.stats.tight[tightStatFill]++
		p, err := c.r.peek(3)
		if err != nil {
			return err
		}
		c.sink.Fill(r, color.RGBA{p[0], p[1], p[2], 255})
		return nil
	case kind == tightJPEG:
		c.stats.tight[tightStatJPEG]++
		n, err := c.readCompactLength()
		if err != nil {
			return err
		}
		data, err := c.r.full(n)
		if err != nil {
			return err
		}
		if r.Empty() {
			return nil
		}
		if err := c.sink.DrawJPEG(r, data); err != nil {
			return &ProtocolError{Message: msg, Reason: "JPEG", Err: err}
		}
		return nil
	case kind == tightPNG:
		return protoErr(msg, "PNG compression was not requested")
	case kind&0x8 != 0:
		return protoErr(msg, "bad compression control %#02x", ctl)
	}
	stream := int(kind & 3)
	filter := tightFilterCopy
	if kind&tightFilterOn != 0 {
		f, err := c.r.u8()
		if err != nil {
			return err
		}
		filter = int(f)
	}
	w, h := r.Dx(), r.Dy()
	var palette [256]uint32 // R, G, B, 0 as a little-endian word: one store a pixel
	ncolors := 0
	rowSize := w * 3
	switch filter {
	case tightFilterCopy, tightFilterGradient:
	case tightFilterPalette:
		n, err := c.r.u8()
		if err != nil {
			return err
		}
		ncolors = int(n) + 1
		p, err := c.r.peek(ncolors * 3)
		if err != nil {
			return err
		}
		for i := range ncolors {
			palette[i] = uint32(p[i*3]) | uint32(p[i*3+1])<<8 | uint32(p[i*3+2])<<16
		}
		rowSize = w
		if ncolors == 2 {
			rowSize = (w + 7) / 8
		}
	default:
		return protoErr(msg, "unknown filter %d", filter)
	}
	c.stats.tight[filter]++
	size := rowSize * h
	var data []byte
	if size < tightMinToCompress {
		if data, err = c.r.full(size); err != nil {
			return err
		}
	} else {
		n, err := c.readCompactLength()
		if err != nil {
			return err
		}
		if data, err = c.tight[stream].inflate(c.r, n, size); err != nil {
			return &ProtocolError{Message: msg, Reason: "inflate", Err: err}
		}
		if len(data) != size {
			return protoErr(msg, "inflated %d bytes, want %d", len(data), size)
		}
	}
	if size == 0 {
		return nil
	}
	out := c.pixBuf(w * h * 4)
	switch filter {
	case tightFilterCopy:
		src, dst := data[:w*h*3], out[:w*h*4]
		for i, j := 0, 0; i+2 < len(src) && j+3 < len(dst); i, j = i+3, j+4 {
			dst[j], dst[j+1], dst[j+2], dst[j+3] = src[i], src[i+1], src[i+2], 0
		}
	case tightFilterGradient:
		tightGradient(out, data, w, h)
	case tightFilterPalette:
		if ncolors == 2 {
			// 1 bit a pixel, most significant first, each row padded to a byte.
			// Branch-free: p0 ^ (p0^p1)&-bit picks p1 where the bit is set.
			p0, diff := palette[0], palette[0]^palette[1]
			pick := func(b uint8, k uint) uint32 { return p0 ^ diff&-uint32(b>>k&1) }
			full := w / 8
			for y := range h {
				row := data[y*rowSize : (y+1)*rowSize]
				dst := out[y*w*4 : (y+1)*w*4]
				for i, b := range row[:full] {
					d := dst[i*32 : i*32+32]
					binary.LittleEndian.PutUint32(d[0:], pick(b, 7))
					binary.LittleEndian.PutUint32(d[4:], pick(b, 6))
					binary.LittleEndian.PutUint32(d[8:], pick(b, 5))
					binary.LittleEndian.PutUint32(d[12:], pick(b, 4))
					binary.LittleEndian.PutUint32(d[16:], pick(b, 3))
					binary.LittleEndian.PutUint32(d[20:], pick(b, 2))
					binary.LittleEndian.PutUint32(d[24:], pick(b, 1))
					binary.LittleEndian.PutUint32(d[28:], pick(b, 0))
				}
				for x := full * 8; x < w; x++ { // the last, partial byte
					binary.LittleEndian.PutUint32(dst[x*4:], pick(row[x/8], uint(7-x%8)))
				}
			}
		} else {
			for i, idx := range data[:w*h] {
				if int(idx) >= ncolors {
					return protoErr(msg, "palette index %d of %d", idx, ncolors)
				}
				binary.LittleEndian.PutUint32(out[i*4:], palette[idx])
			}
		}
	}
	c.sink.SetPixels(r, out, w*4)
	return nil
}

// tightGradient undoes the gradient filter: each component was sent as the
// difference from left + above - above-left, clamped to 0..255 (outside the
// rectangle counts as 0).
func tightGradient(out, data []byte, w, h int) {
	for y := range h {
		for x := range w {
			o, d := (y*w+x)*4, (y*w+x)*3
			for c := range 3 {
				var left, above, aboveLeft int
				if x > 0 {
					left = int(out[o-4+c])
				}
				if y > 0 {
					above = int(out[o-w*4+c])
					if x > 0 {
						aboveLeft = int(out[o-w*4-4+c])
					}
				}
				p := max(0, min(255, left+above-aboveLeft))
				out[o+c] = byte(p + int(data[d+c]))
			}
			out[o+3] = 0
		}
	}
}
