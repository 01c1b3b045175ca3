package vnc

import (
	"errors"
	"fmt"
	"image"
)

// readFramebufferUpdate reads FramebufferUpdate (RFC 6143 §7.6.1): rectangles,
// each checked against the framebuffer before any decoding, then EndFrame and
// the next incremental request.
func (c *Client) readFramebufferUpdate() error {
	b, err := c.r.peek(3)
	if err != nil {
		return err
	}
	n := int(b[1])<<8 | int(b[2])
	for i := 0; i < n; i++ {
		h, err := c.r.peek(12)
		if err != nil {
			return err
		}
		rh := rectHeader{
			X: uint16(h[0])<<8 | uint16(h[1]), Y: uint16(h[2])<<8 | uint16(h[3]),
			Width: uint16(h[4])<<8 | uint16(h[5]), Height: uint16(h[6])<<8 | uint16(h[7]),
			Encoding: int32(uint32(h[8])<<24 | uint32(h[9])<<16 | uint32(h[10])<<8 | uint32(h[11])),
		}
		if rh.Encoding == PseudoEncodingLastRect {
			break
		}
		if err := c.readRect(rh); err != nil {
			return err
		}
	}
	c.sink.EndFrame()
	if c.pendingResize {
		c.pendingResize = false
		if c.continuous {
			// The continuous area follows the new size.
			if err := c.enableContinuousUpdates(); err != nil {
				return err
			}
		}
		return c.requestUpdate(false)
	}
	if c.continuous {
		return nil
	}
	if c.cfg.WhenWanted != nil {
		c.cfg.WhenWanted(func() {
			// A failed write means a broken connection, which Run's read reports.
			if err := c.requestUpdate(true); err != nil {
				c.log.Debug("vnc: update request", "err", err)
			}
		})
		return nil
	}
	return c.requestUpdate(true)
}

// readRect decodes one rectangle.
func (c *Client) readRect(rh rectHeader) error {
	r := image.Rect(int(rh.X), int(rh.Y), int(rh.X)+int(rh.Width), int(rh.Y)+int(rh.Height))
	switch rh.Encoding {
	case PseudoEncodingCursor:
		return c.readCursor(rh)
	case PseudoEncodingDesktopSize:
		return c.handleDesktopSize(int(rh.Width), int(rh.Height))
	case PseudoEncodingExtendedDesktopSize:
		return c.readExtendedDesktopSize(rh)
	case PseudoEncodingDesktopName:
		return c.readDesktopName()
	case PseudoEncodingQEMUExtendedKeyEvent:
		c.mu.Lock()
		c.qemuKeys = true
		c.mu.Unlock()
		return nil
	}
	c.mu.Lock()
	fb := image.Rect(0, 0, c.width, c.height)
	c.mu.Unlock()
	if !r.In(fb) && !r.Empty() {
		return protoErr("FramebufferUpdate/"+encodingName(rh.Encoding), "rectangle %v outside framebuffer %v", r, fb)
	}
	c.stats.count(rh.Encoding)
	var err error
	switch rh.Encoding {
	case EncodingRaw:
		err = c.readRaw(r)
	case EncodingCopyRect:
		err = c.readCopyRect(r, fb)
	case EncodingRRE:
		err = c.readRRE(r)
	case EncodingHextile:
		err = c.readHextile(r)
	case EncodingZlib:
		err = c.readZlib(r)
	case EncodingZRLE:
		err = c.readZRLE(r)
	case EncodingTight:
		err = c.readTight(r)
	default:
		return protoErr("FramebufferUpdate", "unrequested %s", encodingName(rh.Encoding))
	}
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return err
		}
		return fmt.Errorf("vnc: FramebufferUpdate/%s: %w", encodingName(rh.Encoding), err)
	}
	return nil
}

// pixBuf returns the reusable pixel buffer with at least n bytes.
func (c *Client) pixBuf(n int) []byte {
	if cap(c.pix) < n {
		c.pix = make([]byte, n)
	}
	return c.pix[:n]
}

// decodeStats counts decoded rectangles, for tests and debugging.
type decodeStats struct {
	rects map[int32]int
	tight [5]int // by tightStat*
}

// Tight rectangle kinds in decodeStats.tight: the basic filters, then fill and JPEG.
const (
	tightStatCopy     = tightFilterCopy
	tightStatPalette  = tightFilterPalette
	tightStatGradient = tightFilterGradient
	tightStatFill     = 3
	tightStatJPEG     = 4
)

func (s *decodeStats) count(enc int32) {
	if s.rects == nil {
		s.rects = make(map[int32]int)
	}
	s.rects[enc]++
}
