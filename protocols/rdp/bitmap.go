package rdp

import (
	"image"
)

// Bitmap updates (MS-RDPBCGR 2.2.9.1.1.3.1.2): rectangles of raw or
// compressed pixels, stored bottom-up. Compressed 32 bpp bitmaps use the
// planar codec (MS-RDPEGDI 2.2.2.5.1, planar.go); lower depths use
// interleaved RLE (2.2.9.1.1.3.1.2.4), not implemented yet.

// TS_BITMAP_DATA flags (2.2.9.1.1.3.1.2.2).
const (
	bitmapCompression          = 0x0001
	noBitmapCompressionHdrFlag = 0x0400
)

// decodeStats counts decoded bitmaps by codec (Run's goroutine only).
type decodeStats struct {
	raw, planar, interleaved int
}

// maxBitmapPixels bounds one decoded bitmap (width*height) before allocation.
const maxBitmapPixels = maxDesktopSize * maxDesktopSize / 4

// bitmapData is one TS_BITMAP_DATA rectangle.
type bitmapData struct {
	left, top, right, bottom int // inclusive destination bounds
	width, height            int // of the encoded bitmap
	bpp                      int
	flags                    uint16
	data                     []byte
}

// parseBitmapData reads one TS_BITMAP_DATA.
func parseBitmapData(d *decoder) (bitmapData, error) {
	const pdu, sec = "Bitmap Data", "MS-RDPBCGR 2.2.9.1.1.3.1.2.2"
	var bd bitmapData
	bd.left, bd.top, bd.right, bd.bottom = int(d.u16()), int(d.u16()), int(d.u16()), int(d.u16())
	bd.width, bd.height = int(d.u16()), int(d.u16())
	bd.bpp = int(d.u16())
	bd.flags = d.u16()
	n := int(d.u16())
	if bd.flags&bitmapCompression != 0 && bd.flags&noBitmapCompressionHdrFlag == 0 {
		d.skip(8) // TS_CD_HEADER (2.2.9.1.1.3.1.2.3): sizes we do not need
		n -= 8
	}
	bd.data = d.bytes(n)
	if d.err != nil || n < 0 {
		return bd, protoErr(pdu, sec, "bitmapLength %d exceeds the update", n)
	}
	if bd.width*bd.height > maxBitmapPixels {
		return bd, protoErr(pdu, sec, "bitmap %dx%d too large", bd.width, bd.height)
	}
	if bd.right < bd.left || bd.bottom < bd.top {
		return bd, protoErr(pdu, sec, "destination (%d,%d)-(%d,%d)", bd.left, bd.top, bd.right, bd.bottom)
	}
	return bd, nil
}

// handleBitmapUpdate handles TS_UPDATE_BITMAP_DATA (2.2.9.1.1.3.1.2),
// starting at its updateType field (slow-path and fast-path alike).
func (c *Client) handleBitmapUpdate(p []byte) error {
	d := decoder{b: p}
	d.u16() // updateType
	n := int(d.u16())
	if d.err != nil {
		return protoErr("Bitmap Update", "MS-RDPBCGR 2.2.9.1.1.3.1.2", "truncated")
	}
	for range n {
		bd, err := parseBitmapData(&d)
		if err != nil {
			return err
		}
		if err := c.drawBitmap(&bd); err != nil {
			return err
		}
	}
	return nil
}

// drawBitmap decodes one bitmap into c.pix (top-down, render layout) and
// draws its destination rectangle.
func (c *Client) drawBitmap(bd *bitmapData) error {
	if bd.width == 0 || bd.height == 0 {
		return nil
	}
	// Bitmaps cover part of the desktop (widths padded to a multiple of 4,
	// tiles up to 64 pixels): bound the allocation by the desktop's size.
	if bd.width > c.width+64 || bd.height > c.height+64 {
		return protoErr("Bitmap Data", "MS-RDPBCGR 2.2.9.1.1.3.1.2.2", "bitmap %dx%d larger than the %dx%d desktop", bd.width, bd.height, c.width, c.height)
	}
	need := bd.width * bd.height * 4
	if cap(c.pix) < need {
		c.pix = make([]byte, need)
	}
	pix := c.pix[:need]
	var err error
	switch {
	case bd.flags&bitmapCompression == 0:
		c.stats.raw++
		err = c.decodeRaw(pix, bd)
	case bd.bpp == 32:
		c.stats.planar++
		err = c.decodePlanar(pix, bd.data, bd.width, bd.height)
	default:
		c.stats.interleaved++
		err = c.decodeInterleaved(pix, bd)
	}
	if err != nil {
		return err
	}
	// The destination may be narrower than the bitmap (widths are padded to
	// a multiple of 4) and is clipped by the sink to the framebuffer.
	w := min(bd.right-bd.left+1, bd.width)
	h := min(bd.bottom-bd.top+1, bd.height)
	c.sink.SetPixels(image.Rect(bd.left, bd.top, bd.left+w, bd.top+h), pix, bd.width*4)
	c.drawn = true
	c.logonPending = false
	return nil
}

// decodeRaw converts an uncompressed bottom-up bitmap. Rows are padded to a
// multiple of 4 bytes (2.2.9.1.1.3.1.2.2 bitmapDataStream).
func (c *Client) decodeRaw(dst []byte, bd *bitmapData) error {
	bpp := (bd.bpp + 7) / 8
	if bd.bpp != 8 && bd.bpp != 15 && bd.bpp != 16 && bd.bpp != 24 && bd.bpp != 32 {
		return protoErr("Bitmap Data", "MS-RDPBCGR 2.2.9.1.1.3.1.2.2", "bitsPerPixel %d", bd.bpp)
	}
	row := (bd.width*bpp + 3) &^ 3
	if len(bd.data) < row*bd.height {
		// Some servers do not pad rows; accept exactly packed data too.
		row = bd.width * bpp
		if len(bd.data) < row*bd.height {
			return protoErr("Bitmap Data", "MS-RDPBCGR 2.2.9.1.1.3.1.2.2", "%d bytes for %dx%d at %d bpp", len(bd.data), bd.width, bd.height, bd.bpp)
		}
	}
	for y := range bd.height {
		src := bd.data[(bd.height-1-y)*row:]
		c.convertRow(dst[y*bd.width*4:(y+1)*bd.width*4], src, bd.width, bd.bpp)
	}
	return nil
}

// convertRow converts width pixels of depth bpp (little-endian, BGR order)
// to render's R, G, B, X layout.
func (c *Client) convertRow(dst, src []byte, width, bpp int) {
	switch bpp {
	case 32:
		for x := range width {
			s := src[4*x : 4*x+4 : 4*x+4]
			d := dst[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2], d[3] = s[2], s[1], s[0], 0
		}
	case 24:
		for x := range width {
			s := src[3*x : 3*x+3 : 3*x+3]
			d := dst[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2], d[3] = s[2], s[1], s[0], 0
		}
	case 16:
		for x := range width {
			v := uint16(src[2*x]) | uint16(src[2*x+1])<<8
			d := dst[4*x : 4*x+4 : 4*x+4]
			r, g, b := byte(v>>11), byte(v>>5)&0x3F, byte(v)&0x1F
			d[0], d[1], d[2], d[3] = r<<3|r>>2, g<<2|g>>4, b<<3|b>>2, 0
		}
	case 15:
		for x := range width {
			v := uint16(src[2*x]) | uint16(src[2*x+1])<<8
			d := dst[4*x : 4*x+4 : 4*x+4]
			r, g, b := byte(v>>10)&0x1F, byte(v>>5)&0x1F, byte(v)&0x1F
			d[0], d[1], d[2], d[3] = r<<3|r>>2, g<<3|g>>2, b<<3|b>>2, 0
		}
	case 8:
		for x := range width {
			p := &c.palette[src[x]]
			d := dst[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2], d[3] = p[0], p[1], p[2], 0
		}
	}
}

// handlePalette handles TS_UPDATE_PALETTE_DATA (2.2.9.1.1.3.1.1).
func (c *Client) handlePalette(p []byte) error {
	d := decoder{b: p}
	d.u16() // updateType
	d.u16() // pad2Octets
	n := d.u32()
	if d.err != nil || n > 256 {
		return protoErr("Palette Update", "MS-RDPBCGR 2.2.9.1.1.3.1.1", "numberColors %d", n)
	}
	entries := d.bytes(int(n) * 3)
	if d.err != nil {
		return protoErr("Palette Update", "MS-RDPBCGR 2.2.9.1.1.3.1.1", "truncated")
	}
	for i := range int(n) {
		c.palette[i] = [3]byte{entries[3*i], entries[3*i+1], entries[3*i+2]}
	}
	return nil
}

// decodeInterleaved decodes interleaved RLE (2.2.9.1.1.3.1.2.4) into dst
// (top-down, render layout).
func (c *Client) decodeInterleaved(dst []byte, bd *bitmapData) error {
	n := bd.width * bd.height
	if cap(c.native) < n {
		c.native = make([]uint32, n)
	}
	native := c.native[:n]
	if err := decodeInterleavedRLE(native, bd.data, bd.width, bd.bpp); err != nil {
		return err
	}
	for y := range bd.height {
		src := native[(bd.height-1-y)*bd.width : (bd.height-y)*bd.width]
		c.convertNative(dst[y*bd.width*4:(y+1)*bd.width*4], src, bd.bpp)
	}
	return nil
}

// convertNative converts pixel values of depth bpp to R, G, B, X.
func (c *Client) convertNative(dst []byte, src []uint32, bpp int) {
	for x, v := range src {
		d := dst[4*x : 4*x+4 : 4*x+4]
		switch bpp {
		case 24:
			d[0], d[1], d[2] = byte(v>>16), byte(v>>8), byte(v)
		case 16:
			r, g, b := byte(v>>11)&0x1F, byte(v>>5)&0x3F, byte(v)&0x1F
			d[0], d[1], d[2] = r<<3|r>>2, g<<2|g>>4, b<<3|b>>2
		case 15:
			r, g, b := byte(v>>10)&0x1F, byte(v>>5)&0x1F, byte(v)&0x1F
			d[0], d[1], d[2] = r<<3|r>>2, g<<3|g>>2, b<<3|b>>2
		case 8:
			p := &c.palette[byte(v)]
			d[0], d[1], d[2] = p[0], p[1], p[2]
		}
		d[3] = 0
	}
}
