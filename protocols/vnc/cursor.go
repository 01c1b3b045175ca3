package vnc

import "image"

// maxCursorWH bounds the cursor size a server may send.
const maxCursorWH = 1024

// readCursor reads the Cursor pseudo-encoding (RFC 6143 §7.8.1): pixels, then a bitmask of one bit per pixel, rows padded
// to bytes, set where the cursor is opaque. The rectangle's position is the
// hot spot.
func (c *Client) readCursor(rh rectHeader) error {
	const msg = "FramebufferUpdate/Cursor"
	w, h := int(rh.Width), int(rh.Height)
	if w > maxCursorWH || h > maxCursorWH {
		return protoErr(msg, "cursor %dx%d larger than %d", w, h, maxCursorWH)
	}
	if w == 0 || h == 0 {
		c.sink.SetCursor(nil, image.Point{})
		return nil
	}
	maskRow := (w + 7) / 8
	data, err := c.r.full(w*h*4 + maskRow*h)
	if err != nil {
		return err
	}
	pix, mask := data[:w*h*4], data[w*h*4:]
	// A new image each time: the sink may keep it.
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			o := (y*w + x) * 4
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = pix[o], pix[o+1], pix[o+2]
			if mask[y*maskRow+x/8]&(0x80>>(x%8)) != 0 {
				img.Pix[o+3] = 255
			}
		}
	}
	c.sink.SetCursor(img, image.Pt(int(rh.X), int(rh.Y)))
	return nil
}
