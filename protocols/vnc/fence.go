package vnc

import "encoding/binary"

// maxFencePayload is the Fence payload limit (rfbproto "ServerFence").
const maxFencePayload = 64

// readServerFence reads ServerFence and answers a request with a ClientFence
// of the same payload and the flags we understand, request bit clear. We
// handle messages strictly in order, which satisfies BlockBefore, BlockAfter
// and SyncNext.
func (c *Client) readServerFence() error {
	b, err := c.r.peek(8)
	if err != nil {
		return err
	}
	flags, n := binary.BigEndian.Uint32(b[3:]), int(b[7])
	if n > maxFencePayload {
		return protoErr("ServerFence", "payload of %d bytes exceeds %d", n, maxFencePayload)
	}
	var payload [maxFencePayload]byte
	if err := c.r.into(payload[:n]); err != nil {
		return err
	}
	if flags&fenceRequest == 0 {
		return nil // an answer to a fence we never send
	}
	return c.send(func(b []byte) []byte {
		b = append(b, msgClientFence, 0, 0, 0)
		b = be32(b, flags&fenceKnown)
		b = append(b, byte(n))
		return append(b, payload[:n]...)
	})
}

// handleEndOfContinuousUpdates handles EndOfContinuousUpdates (rfbproto
// "EndOfContinuousUpdates"). The first one says the server supports
// continuous updates: we enable them for the whole screen, so the server
// pushes changes without waiting a round trip for each request, paced by its
// Fence-based congestion control. A later one means the server stopped them:
// we go back to requesting updates.
func (c *Client) handleEndOfContinuousUpdates() error {
	if !c.cuSeen {
		c.cuSeen = true
		if c.cfg.WhenWanted != nil {
			return nil // requests wait for demand (Config.WhenWanted)
		}
		c.continuous = true
		return c.enableContinuousUpdates()
	}
	if c.continuous {
		c.continuous = false
		return c.requestUpdate(true)
	}
	return nil
}

// enableContinuousUpdates sends EnableContinuousUpdates for the whole screen.
func (c *Client) enableContinuousUpdates() error {
	c.mu.Lock()
	w, h := c.width, c.height
	c.mu.Unlock()
	return c.send(func(b []byte) []byte {
		b = append(b, msgEnableContinuousUpdates, 1, 0, 0, 0, 0)
		b = be16(b, uint16(w))
		return be16(b, uint16(h))
	})
}
