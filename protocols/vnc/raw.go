package vnc

import "image"

// rawChunk bounds how much of a Raw rectangle is held at once.
const rawChunk = 256 << 10

// readRaw reads Raw pixels (RFC 6143 §7.7.1), a band of rows at a time.
func (c *Client) readRaw(r image.Rectangle) error {
	if r.Empty() {
		return nil
	}
	stride := r.Dx() * 4
	rows := max(1, rawChunk/stride)
	for y := r.Min.Y; y < r.Max.Y; y += rows {
		n := min(rows, r.Max.Y-y)
		buf := c.pixBuf(n * stride)
		if err := c.r.into(buf); err != nil {
			return err
		}
		c.sink.SetPixels(image.Rect(r.Min.X, y, r.Max.X, y+n), buf, stride)
	}
	return nil
}
