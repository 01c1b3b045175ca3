package vnc

import "image"

// readCopyRect reads CopyRect (RFC 6143 §7.7.2).
func (c *Client) readCopyRect(r, fb image.Rectangle) error {
	b, err := c.r.peek(4)
	if err != nil {
		return err
	}
	src := image.Pt(int(b[0])<<8|int(b[1]), int(b[2])<<8|int(b[3]))
	if sr := r.Sub(r.Min).Add(src); !sr.In(fb) && !r.Empty() {
		return protoErr("FramebufferUpdate/CopyRect", "source %v outside framebuffer %v", sr, fb)
	}
	c.sink.Copy(r, src)
	return nil
}
