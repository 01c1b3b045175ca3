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

// handleEndOfContinuousUpdates notes EndOfContinuousUpdates (rfbproto
// "EndOfContinuousUpdates"): the server supports continuous updates. We keep
// requesting updates incrementally, which every server supports; if we had
// enabled them, this ends them and requests resume.
func (c *Client) handleEndOfContinuousUpdates() error {
	if c.continuous {
		c.continuous = false
		return c.requestUpdate(true)
	}
	return nil
}
