package vnc

import (
	"encoding/binary"
	"fmt"
)

// ExtendedDesktopSize reasons and status codes (rfbproto "ExtendedDesktopSize").
const (
	edsReasonServer = 0
	edsReasonClient = 1
	edsReasonOther  = 2
)

// resizeError is an ExtendedDesktopSize refusal of our SetDesktopSize.
type resizeError struct{ Status uint16 }

func (e *resizeError) Error() string {
	reason := "unknown"
	switch e.Status {
	case 1:
		reason = "resize is administratively prohibited"
	case 2:
		reason = "out of resources"
	case 3:
		reason = "invalid screen layout"
	}
	return fmt.Sprintf("vnc: server refused SetDesktopSize: status %d (%s)", e.Status, reason)
}

// handleDesktopSize applies a DesktopSize pseudo-rectangle (RFC 6143 §7.8.2).
func (c *Client) handleDesktopSize(w, h int) error {
	if w > maxFramebufferWH || h > maxFramebufferWH {
		return protoErr("FramebufferUpdate/DesktopSize", "framebuffer %dx%d larger than %d", w, h, maxFramebufferWH)
	}
	c.mu.Lock()
	changed := w != c.width || h != c.height
	c.width, c.height = w, h
	c.mu.Unlock()
	if changed {
		c.dropBigBuffers(w * h * 4)
		c.sink.Resize(w, h)
		// Ask for everything again at the new size.
		c.pendingResize = true
	}
	return nil
}

// dropBigBuffers lets go of decoder buffers bigger than a screen of screenBytes: they
// grow to the largest rectangle seen (ZRLE and Zlib inflate a whole one), and after the
// screen shrank one sized for the old screen would be kept for good.
func (c *Client) dropBigBuffers(screenBytes int) {
	if cap(c.pix) > screenBytes {
		c.pix = nil
	}
	for _, z := range []*zstream{&c.zlib, &c.zrle, &c.tight[0], &c.tight[1], &c.tight[2], &c.tight[3]} {
		if cap(z.out) > screenBytes {
			z.out = nil
		}
	}
}

// readExtendedDesktopSize reads an ExtendedDesktopSize pseudo-rectangle: x is
// the reason, y the status, the size the new framebuffer size, then the screens.
func (c *Client) readExtendedDesktopSize(rh rectHeader) error {
	const msg = "FramebufferUpdate/ExtendedDesktopSize"
	b, err := c.r.peek(4)
	if err != nil {
		return err
	}
	n := int(b[0])
	screens := make([]screen, n) // n <= 255
	for i := range screens {
		s, err := c.r.peek(16)
		if err != nil {
			return err
		}
		screens[i] = screen{
			ID: binary.BigEndian.Uint32(s), X: binary.BigEndian.Uint16(s[4:]), Y: binary.BigEndian.Uint16(s[6:]),
			Width: binary.BigEndian.Uint16(s[8:]), Height: binary.BigEndian.Uint16(s[10:]),
			Flags: binary.BigEndian.Uint32(s[12:]),
		}
	}
	reason, status := rh.X, rh.Y
	c.mu.Lock()
	c.canResize = true
	if status == 0 {
		c.screens = screens
	}
	c.mu.Unlock()
	if status != 0 {
		if reason == edsReasonClient {
			c.log.Warn("vnc: SetDesktopSize refused", "error", (&resizeError{Status: status}).Error())
		}
		return nil
	}
	if err := c.handleDesktopSize(int(rh.Width), int(rh.Height)); err != nil {
		return &ProtocolError{Message: msg, Reason: "size", Err: err}
	}
	return nil
}

// readDesktopName reads a DesktopName pseudo-rectangle (rfbproto "DesktopName").
func (c *Client) readDesktopName() error {
	name, err := c.r.str("FramebufferUpdate/DesktopName", maxNameLen)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.name = name
	c.mu.Unlock()
	if c.cfg.OnName != nil {
		c.cfg.OnName(name)
	}
	return nil
}
