package vnc

import (
	"fmt"
)

// readMessage reads and handles one server-to-client message (RFC 6143 §7.6).
func (c *Client) readMessage() error {
	t, err := c.r.u8()
	if err != nil {
		return fmt.Errorf("vnc: read message type: %w", err)
	}
	switch t {
	case msgFramebufferUpdate:
		return c.readFramebufferUpdate()
	case msgSetColourMapEntries:
		return c.readSetColourMapEntries()
	case msgBell: // RFC 6143 §7.6.3
		if c.cfg.OnBell != nil {
			c.cfg.OnBell()
		}
		return nil
	case msgServerCutText:
		return c.readServerCutText()
	case msgEndOfContinuousUpdates:
		return c.handleEndOfContinuousUpdates()
	case msgServerFence:
		return c.readServerFence()
	}
	return protoErr("server message", "unknown message type %d", t)
}

// readSetColourMapEntries skips a colour map (RFC 6143 §7.6.2): we asked for
// true colour, so it does not apply to our pixels.
func (c *Client) readSetColourMapEntries() error {
	b, err := c.r.peek(5)
	if err != nil {
		return err
	}
	n := int(b[3])<<8 | int(b[4])
	return c.r.skip(n * 6)
}
