package vnc

import (
	"context"
	"fmt"
	"slices"
)

// protocolVersion is the negotiated RFB version as minor number of 3.x.
type protocolVersion int

const (
	rfb33 protocolVersion = 3
	rfb37 protocolVersion = 7
	rfb38 protocolVersion = 8
)

// parseProtocolVersion reads the ProtocolVersion message (RFC 6143 §7.1.1):
// "RFB xxx.yyy\n". Versions above 3.8 (Apple's 3.889, RealVNC's 4.x and 5.0)
// are treated as 3.8; unknown 3.x below 3.7 as 3.3, as the RFC advises.
func parseProtocolVersion(b []byte) (protocolVersion, error) {
	const msg = "ProtocolVersion"
	if len(b) != 12 || string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return 0, protoErr(msg, "not an RFB server: %q", b)
	}
	var major, minor int
	for _, ch := range b[4:7] {
		if ch < '0' || ch > '9' {
			return 0, protoErr(msg, "bad version %q", b)
		}
		major = major*10 + int(ch-'0')
	}
	for _, ch := range b[8:11] {
		if ch < '0' || ch > '9' {
			return 0, protoErr(msg, "bad version %q", b)
		}
		minor = minor*10 + int(ch-'0')
	}
	switch {
	case major < 3:
		return 0, protoErr(msg, "version %d.%d too old", major, minor)
	case major > 3 || minor >= 8:
		return rfb38, nil
	case minor == 7:
		return rfb37, nil
	default:
		return rfb33, nil
	}
}

func (c *Client) handshake(ctx context.Context) error {
	b, err := c.r.peek(12)
	if err != nil {
		return fmt.Errorf("vnc: read ProtocolVersion: %w", err)
	}
	ver, err := parseProtocolVersion(b)
	if err != nil {
		return err
	}
	if err := c.send(func(b []byte) []byte { return fmt.Appendf(b, "RFB 003.%03d\n", int(ver)) }); err != nil {
		return err
	}
	if err := c.negotiateSecurity(ctx, ver); err != nil {
		return err
	}
	// ClientInit (RFC 6143 §7.3.1).
	if err := c.send(func(b []byte) []byte { return append(b, boolByte(c.cfg.Shared)) }); err != nil {
		return err
	}
	if err := c.readServerInit(); err != nil {
		return err
	}
	if err := c.sendSetPixelFormat(); err != nil {
		return err
	}
	if err := c.sendSetEncodings(); err != nil {
		return err
	}
	return c.requestUpdate(false)
}

// readServerInit reads ServerInit (RFC 6143 §7.3.2) and sizes the sink.
func (c *Client) readServerInit() error {
	const msg = "ServerInit"
	b, err := c.r.peek(20)
	if err != nil {
		return fmt.Errorf("vnc: read ServerInit: %w", err)
	}
	w, h := int(b[0])<<8|int(b[1]), int(b[2])<<8|int(b[3])
	// The server's own pixel format only matters for the log: we set ours.
	pf := unmarshalPixelFormat(b[4:20])
	if w > maxFramebufferWH || h > maxFramebufferWH {
		return protoErr(msg, "framebuffer %dx%d larger than %d", w, h, maxFramebufferWH)
	}
	name, err := c.r.str(msg, maxNameLen)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.width, c.height, c.name = w, h, name
	c.mu.Unlock()
	c.log.Debug("vnc ServerInit", "width", w, "height", h, "name", name, "bpp", pf.BitsPerPixel, "depth", pf.Depth)
	c.sink.Resize(w, h)
	if c.cfg.OnName != nil {
		c.cfg.OnName(name)
	}
	return nil
}

// sendSetPixelFormat asks for the render framebuffer layout (RFC 6143 §7.5.1).
func (c *Client) sendSetPixelFormat() error {
	return c.send(func(b []byte) []byte {
		b = append(b, msgSetPixelFormat, 0, 0, 0)
		return framebufferFormat.marshal(b)
	})
}

// encodings is the SetEncodings list for cfg.
func (cfg *Config) encodings() []int32 {
	var list []int32
	if cfg.Encodings == nil {
		list = append(list, defaultEncodings[:]...)
	} else {
		list = append(list, cfg.Encodings...)
	}
	if q := cfg.QualityLevel; q >= 0 && q <= 9 {
		list = append(list, PseudoEncodingQualityLevel0+int32(q))
	}
	if l := cfg.CompressLevel; l >= 0 && l <= 9 {
		list = append(list, PseudoEncodingCompressLevel0+int32(l))
	}
	for _, e := range pseudoEncodings {
		if !slices.Contains(list, e) {
			list = append(list, e)
		}
	}
	return list
}

// sendSetEncodings announces our encodings (RFC 6143 §7.5.2).
func (c *Client) sendSetEncodings() error {
	list := c.cfg.encodings()
	return c.send(func(b []byte) []byte {
		b = append(b, msgSetEncodings, 0)
		b = be16(b, uint16(len(list)))
		for _, e := range list {
			b = be32(b, uint32(e))
		}
		return b
	})
}
