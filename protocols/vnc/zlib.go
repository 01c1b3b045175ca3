package vnc

import (
	"encoding/binary"
	"image"
)

// maxCompressed bounds the compressed length of one rectangle; its output is
// bounded separately by the rectangle's size.
const maxCompressed = 64 << 20

// readZlib reads the Zlib encoding (rfbproto "Zlib Encoding"): Raw pixels
// through one zlib stream that lasts the whole connection.
func (c *Client) readZlib(r image.Rectangle) error {
	const msg = "FramebufferUpdate/Zlib"
	b, err := c.r.peek(4)
	if err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(b)
	if n > maxCompressed {
		return protoErr(msg, "compressed length %d exceeds %d", n, maxCompressed)
	}
	want := r.Dx() * r.Dy() * 4
	out, err := c.zlib.inflate(c.r, int(n), want)
	if err != nil {
		return &ProtocolError{Message: msg, Reason: "inflate", Err: err}
	}
	if len(out) != want {
		return protoErr(msg, "inflated %d bytes, want %d", len(out), want)
	}
	if want > 0 {
		c.sink.SetPixels(r, out, r.Dx()*4)
	}
	return nil
}
