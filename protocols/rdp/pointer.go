package rdp

import (
	"image"
	"strconv"
)

// Pointer updates (MS-RDPBCGR 2.2.9.1.1.4, fast-path 2.2.9.1.2.1.5-11):
// pointer shapes as an XOR bitmap plus a 1 bpp AND mask, both bottom-up
// with rows padded to 2 bytes, cached by index.

// pointerCacheSize is what the Pointer Capability Set advertises.
const pointerCacheSize = 25

// maxPointerSize bounds pointer dimensions (large pointers are up to 384,
// 2.2.9.1.2.1.11).
const maxPointerSize = 384

var pointZero image.Point

type cachedPointer struct {
	img *image.RGBA
	hot image.Point
}

type pointerCache [pointerCacheSize]cachedPointer

// handleSlowPathPointer handles a Pointer Update PDU (2.2.9.1.1.4).
func (c *Client) handleSlowPathPointer(p []byte) error {
	d := decoder{b: p}
	typ := d.u16()
	d.u16() // pad2Octets
	if d.err != nil {
		return protoErr("Pointer Update PDU", "MS-RDPBCGR 2.2.9.1.1.4", "truncated")
	}
	body := d.rest()
	switch typ {
	case ptrMsgTypeSystem: // 2.2.9.1.1.4.3
		bd := decoder{b: body}
		if bd.u32() == 0 { // SYSPTR_NULL
			c.sink.SetCursor(nil, pointZero)
		} else {
			c.setDefaultPointer()
		}
	case ptrMsgTypePosition:
		return handlePointerPosition(body)
	case ptrMsgTypeColor:
		return c.handleColorPointer(body, 24)
	case ptrMsgTypePointer:
		return c.handleNewPointer(body)
	case ptrMsgTypeLarge:
		return c.handleLargePointer(body)
	case ptrMsgTypeCached:
		return c.handleCachedPointer(body)
	}
	return nil
}

// handlePointerPosition checks a TS_POINTERPOSATTRIBUTE (2.2.9.1.1.4.2) and drops it: the
// server moved its pointer (an application warped it), but a web page cannot move the
// user's own pointer, and drawing a second one where the server says would show two.
func handlePointerPosition(body []byte) error {
	if len(body) < 4 {
		return protoErr("Pointer Position Update", "MS-RDPBCGR 2.2.9.1.1.4.2", "shorter than its 4 bytes")
	}
	return nil
}

// setDefaultPointer shows a plain arrow for SYSPTR_DEFAULT.
func (c *Client) setDefaultPointer() {
	const w, h = 11, 18
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h - 5 {
		for x := 0; x <= y && x < w; x++ {
			o := img.PixOffset(x, y)
			v := byte(0xFF)
			if x == 0 || x == y || y == h-6 {
				v = 0
			}
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = v, v, v, 0xFF
		}
	}
	c.sink.SetCursor(img, pointZero)
}

func (c *Client) handleNewPointer(p []byte) error {
	d := decoder{b: p}
	bpp := int(d.u16()) // xorBpp (2.2.9.1.1.4.5)
	if d.err != nil {
		return protoErr("New Pointer Update", "MS-RDPBCGR 2.2.9.1.1.4.5", "truncated")
	}
	return c.handleColorPointer(d.rest(), bpp)
}

// handleColorPointer handles TS_COLORPOINTERATTRIBUTE (2.2.9.1.1.4.4) with
// an XOR mask of bpp bits per pixel.
func (c *Client) handleColorPointer(p []byte, bpp int) error {
	d := decoder{b: p}
	idx := int(d.u16())
	hot := image.Pt(int(d.u16()), int(d.u16()))
	w, h := int(d.u16()), int(d.u16())
	andLen, xorLen := int(d.u16()), int(d.u16())
	return c.finishPointer(&d, idx, hot, w, h, andLen, xorLen, bpp, "Color Pointer Update", "MS-RDPBCGR 2.2.9.1.1.4.4")
}

// handleLargePointer handles TS_FP_LARGEPOINTERATTRIBUTE (2.2.9.1.2.1.11).
func (c *Client) handleLargePointer(p []byte) error {
	d := decoder{b: p}
	bpp := int(d.u16())
	idx := int(d.u16())
	hot := image.Pt(int(d.u16()), int(d.u16()))
	w, h := int(d.u16()), int(d.u16())
	andLen, xorLen := int(d.u32()), int(d.u32())
	return c.finishPointer(&d, idx, hot, w, h, andLen, xorLen, bpp, "Large Pointer Update", "MS-RDPBCGR 2.2.9.1.2.1.11")
}

func (c *Client) finishPointer(d *decoder, idx int, hot image.Point, w, h, andLen, xorLen, bpp int, pdu, sec string) error {
	if d.err != nil {
		return protoErr(pdu, sec, "truncated")
	}
	if idx >= pointerCacheSize || w > maxPointerSize || h > maxPointerSize {
		return protoErr(pdu, sec, "cache index %d, size %dx%d", idx, w, h)
	}
	xor := d.bytes(xorLen)
	and := d.bytes(andLen)
	if d.err != nil {
		return protoErr(pdu, sec, "masks of %d and %d bytes exceed the PDU", xorLen, andLen)
	}
	img, err := c.decodePointer(w, h, bpp, xor, and)
	if err != nil {
		return protoErr(pdu, sec, "%v", err)
	}
	c.pointers[idx] = cachedPointer{img: img, hot: hot}
	c.sink.SetCursor(img, hot)
	return nil
}

func (c *Client) handleCachedPointer(p []byte) error {
	d := decoder{b: p}
	idx := int(d.u16())
	if d.err != nil || idx >= pointerCacheSize {
		return protoErr("Cached Pointer Update", "MS-RDPBCGR 2.2.9.1.1.4.6", "cache index %d", idx)
	}
	cp := c.pointers[idx]
	c.sink.SetCursor(cp.img, cp.hot)
	return nil
}

type pointerError string

func (e pointerError) Error() string { return string(e) }

// decodePointer combines the XOR and AND masks into an RGBA image.
func (c *Client) decodePointer(w, h, bpp int, xor, and []byte) (*image.RGBA, error) {
	if w == 0 || h == 0 {
		return nil, nil
	}
	switch bpp {
	case 1, 8, 15, 16, 24, 32:
	default:
		return nil, pointerError("xorBpp " + strconv.Itoa(bpp))
	}
	xorRow := ((w*bpp+7)/8 + 1) &^ 1
	andRow := ((w+7)/8 + 1) &^ 1
	if len(xor) < xorRow*h {
		return nil, pointerError("XOR mask too short")
	}
	hasAnd := len(and) >= andRow*h
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var px [4]byte
	alphaSeen := false
	for y := range h {
		src := xor[(h-1-y)*xorRow:]
		for x := range w {
			var r, g, b, a byte
			switch bpp {
			case 1:
				if src[x/8]&(0x80>>(x%8)) != 0 {
					r, g, b = 0xFF, 0xFF, 0xFF
				}
				a = 0xFF
			case 32:
				b, g, r, a = src[4*x], src[4*x+1], src[4*x+2], src[4*x+3]
				if a != 0 {
					alphaSeen = true
				}
			default:
				bpb := (bpp + 7) / 8
				c.convertRow(px[:], src[x*bpb:x*bpb+bpb], 1, bpp)
				r, g, b, a = px[0], px[1], px[2], 0xFF
			}
			if bpp != 32 && hasAnd {
				am := and[(h-1-y)*andRow:]
				if am[x/8]&(0x80>>(x%8)) != 0 {
					if r|g|b == 0 {
						a = 0 // transparent
					} else {
						r, g, b = 0, 0, 0 // screen inversion: shown as black
					}
				}
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, a
		}
	}
	if bpp == 32 && !alphaSeen && hasAnd {
		// A 32 bpp shape without alpha relies on its AND mask.
		for y := range h {
			am := and[(h-1-y)*andRow:]
			for x := range w {
				a := byte(0xFF)
				if am[x/8]&(0x80>>(x%8)) != 0 {
					a = 0
				}
				img.Pix[img.PixOffset(x, y)+3] = a
			}
		}
	}
	return img, nil
}
