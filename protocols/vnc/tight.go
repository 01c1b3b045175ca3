package vnc

import (
	"encoding/binary"
	"image"
	"image/color"

	"github.com/racgate/racgate/render"
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

const tightMsg = "FramebufferUpdate/Tight"

// readTight reads one Tight rectangle (rfbproto "Tight Encoding"): the
// compression control byte resets zlib streams and picks fill, JPEG or basic
// compression. TPIXELs are 3 bytes R, G, B for our pixel format.
func (c *Client) readTight(r image.Rectangle) error {
	ctl, err := c.r.u8()
	if err != nil {
		return err
	}
	for i := range 4 {
		if ctl&(1<<i) != 0 {
			c.tight[i].reset()
		}
	}
	switch kind := ctl >> 4; {
	case kind == tightFill:
		return c.readTightFill(r)
	case kind == tightJPEG:
		return c.readTightJPEG(r)
	case kind == tightPNG:
		return protoErr(tightMsg, "PNG compression was not requested")
	case kind&0x8 != 0:
		return protoErr(tightMsg, "bad compression control %#02x", ctl)
	default:
		return c.readTightBasic(r, kind)
	}
}

// readTightFill reads FillCompression: one TPIXEL for the whole rectangle.
func (c *Client) readTightFill(r image.Rectangle) error {
	c.stats.tight[tightStatFill]++
	p, err := c.r.peek(3)
	if err != nil {
		return err
	}
	c.sink.Fill(r, color.RGBA{p[0], p[1], p[2], 255})
	return nil
}

// readTightJPEG reads JpegCompression: a compact length and a JPEG image,
// which goes to the sink undecoded.
func (c *Client) readTightJPEG(r image.Rectangle) error {
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
		return &ProtocolError{Message: tightMsg, Reason: "JPEG", Err: err}
	}
	return nil
}

// readTightBasic reads BasicCompression: an optional filter (copy, palette
// or gradient) and its parameters, then the filtered pixels, zlib-compressed
// on stream kind&3 unless shorter than tightMinToCompress.
func (c *Client) readTightBasic(r image.Rectangle, kind uint8) error {
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
		var err error
		if ncolors, err = c.readTightPalette(&palette); err != nil {
			return err
		}
		rowSize = w
		if ncolors == 2 {
			rowSize = (w + 7) / 8
		}
	default:
		return protoErr(tightMsg, "unknown filter %d", filter)
	}
	c.stats.tight[filter]++
	size := rowSize * h
	data, err := c.readTightData(stream, size)
	if err != nil || size == 0 {
		return err
	}
	if filter == tightFilterPalette && ncolors == 2 && c.writeText(r, data, palette[0], palette[1]) {
		return nil
	}
	out := c.pixBuf(w * h * 4)
	switch filter {
	case tightFilterCopy:
		tightCopy(out, data, w, h)
	case tightFilterGradient:
		tightGradient(out, data, w, h)
	case tightFilterPalette:
		if ncolors == 2 {
			tightPalette1(out, data, w, h, w*4, palette[0], palette[1])
		} else if !tightPalette8(out, data[:w*h], &palette, ncolors) {
			return protoErr(tightMsg, "palette index past its %d colours", ncolors) // nothing drawn
		}
	}
	c.sink.SetPixels(r, out, w*4)
	return nil
}

// writeText draws a two-colour rectangle (text) straight into the framebuffer, if the
// sink allows it (render.PixelWriter) and takes r: one copy of every pixel less, and no
// buffer of the rectangle's size kept here. Many colours are expanded into that buffer
// and copied: written a pixel at a time into the framebuffer, which the cache does not
// hold, they cost more than the copy (docs/benchmarks.md § Third round).
func (c *Client) writeText(r image.Rectangle, data []byte, p0, p1 uint32) bool {
	pw, ok := c.sink.(render.PixelWriter)
	if !ok {
		return false
	}
	c.text = tightText{data: data, w: r.Dx(), h: r.Dy(), p0: p0, p1: p1}
	if c.textWrite == nil {
		c.textWrite = c.text.write
	}
	return pw.WritePixels(r, c.textWrite)
}

// tightText is a two-colour rectangle's bits, for WritePixels.
type tightText struct {
	data   []byte
	w, h   int
	p0, p1 uint32
}

func (t *tightText) write(dst []byte, stride int) {
	tightPalette1(dst, t.data, t.w, t.h, stride, t.p0, t.p1)
}

// readTightPalette reads the palette filter's parameters: the number of
// colours less one, then that many TPIXELs.
func (c *Client) readTightPalette(palette *[256]uint32) (ncolors int, err error) {
	n, err := c.r.u8()
	if err != nil {
		return 0, err
	}
	ncolors = int(n) + 1
	p, err := c.r.peek(ncolors * 3)
	if err != nil {
		return 0, err
	}
	for i := range ncolors {
		palette[i] = uint32(p[i*3]) | uint32(p[i*3+1])<<8 | uint32(p[i*3+2])<<16
	}
	return ncolors, nil
}

// readTightData reads size bytes of filtered pixels: as they are when fewer
// than tightMinToCompress, else a compact length and zlib data on stream.
func (c *Client) readTightData(stream, size int) ([]byte, error) {
	if size < tightMinToCompress {
		return c.r.full(size)
	}
	n, err := c.readCompactLength()
	if err != nil {
		return nil, err
	}
	data, err := c.tight[stream].inflate(c.r, n, size)
	if err != nil {
		return nil, &ProtocolError{Message: tightMsg, Reason: "inflate", Err: err}
	}
	if len(data) != size {
		return nil, protoErr(tightMsg, "inflated %d bytes, want %d", len(data), size)
	}
	return data, nil
}

// tightCopy undoes the copy filter: TPIXELs (R, G, B) to R, G, B, 0.
func tightCopy(out, data []byte, w, h int) {
	src, dst := data[:w*h*3], out[:w*h*4]
	for i, j := 0, 0; i+2 < len(src) && j+3 < len(dst); i, j = i+3, j+4 {
		dst[j], dst[j+1], dst[j+2], dst[j+3] = src[i], src[i+1], src[i+2], 0
	}
}

// tightPalette1 undoes the palette filter with two colours: 1 bit a pixel,
// most significant first, each row padded to a byte; out's rows are stride bytes apart.
func tightPalette1(out, data []byte, w, h, stride int, p0, p1 uint32) {
	// Each half of a byte is four pixels: 16 bytes, looked up as two uint64s in a table
	// made for this rectangle's colours.
	var quads [16][2]uint64
	for n := range quads {
		px := func(bit int) uint64 {
			if n>>(3-bit)&1 == 1 {
				return uint64(p1)
			}
			return uint64(p0)
		}
		quads[n] = [2]uint64{px(0) | px(1)<<32, px(2) | px(3)<<32}
	}
	rowSize := (w + 7) / 8
	full := w / 8
	for y := range h {
		row := data[y*rowSize : (y+1)*rowSize]
		dst := out[y*stride:][:w*4]
		for i, b := range row[:full] {
			d := dst[i*32 : i*32+32]
			hi, lo := &quads[b>>4], &quads[b&15]
			binary.LittleEndian.PutUint64(d[0:], hi[0])
			binary.LittleEndian.PutUint64(d[8:], hi[1])
			binary.LittleEndian.PutUint64(d[16:], lo[0])
			binary.LittleEndian.PutUint64(d[24:], lo[1])
		}
		for x := full * 8; x < w; x++ { // the last, partial byte
			p := p0
			if row[x/8]>>(7-x%8)&1 == 1 {
				p = p1
			}
			binary.LittleEndian.PutUint32(dst[x*4:], p)
		}
	}
}

// tightPalette8 undoes the palette filter with 3 to 256 colours: one index byte a
// pixel. It reports false if an index is past the ncolors colours, having written what
// such an index names: out must then be dropped.
func tightPalette8(out, idx []byte, palette *[256]uint32, ncolors int) bool {
	// Indices past the palette name a colour with the unused byte set, which no colour
	// has: the pixels are written without a branch, and their colours ORed tell.
	const past = 0xff << 24
	for i := ncolors; i < len(palette); i++ {
		palette[i] = past
	}
	var seen uint64
	i := 0
	for ; i+2 <= len(idx); i += 2 { // two pixels a store
		v := uint64(palette[idx[i]]) | uint64(palette[idx[i+1]])<<32
		seen |= v
		binary.LittleEndian.PutUint64(out[i*4:], v)
	}
	if i < len(idx) {
		v := palette[idx[i]]
		seen |= uint64(v)
		binary.LittleEndian.PutUint32(out[i*4:], v)
	}
	return seen&(past|past<<32) == 0
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
