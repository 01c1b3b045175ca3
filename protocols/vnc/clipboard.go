package vnc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// readServerCutText reads ServerCutText (RFC 6143 §7.6.4). A negative length
// marks the extended clipboard (rfbproto "Extended Clipboard Pseudo-Encoding").
func (c *Client) readServerCutText() error {
	const msg = "ServerCutText"
	b, err := c.r.peek(7)
	if err != nil {
		return err
	}
	length := int64(int32(binary.BigEndian.Uint32(b[3:])))
	if length < 0 {
		return c.readExtendedClipboard(-length)
	}
	if length > maxTextLen {
		if length > maxSkipLen {
			return protoErr(msg, "text of %d bytes exceeds %d", length, maxSkipLen)
		}
		c.log.Warn("vnc: dropping large clipboard", "bytes", length)
		return c.r.skip(int(length))
	}
	data, err := c.r.full(int(length))
	if err != nil {
		return err
	}
	if c.cfg.OnClipboard != nil {
		c.cfg.OnClipboard(latin1ToString(data))
	}
	return nil
}

func latin1ToString(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, ch := range b {
		sb.WriteRune(rune(ch))
	}
	return sb.String()
}

// stringToLatin1 maps text to Latin-1, replacing what it cannot hold with '?'.
func stringToLatin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		out = append(out, byte(r))
	}
	return out
}

// readExtendedClipboard handles an extended clipboard message of n bytes:
// flags, then data depending on the action.
func (c *Client) readExtendedClipboard(n int64) error {
	const msg = "ServerCutText/ExtendedClipboard"
	if n < 4 || n > maxSkipLen {
		return protoErr(msg, "length %d out of range 4..%d", n, maxSkipLen)
	}
	data, err := c.r.full(int(n))
	if err != nil {
		return err
	}
	flags, payload := binary.BigEndian.Uint32(data), data[4:]
	switch {
	case flags&clipCaps != 0:
		// Caps: one u32 size limit per format bit set.
		if len(payload) < 4*bits.OnesCount32(flags&clipFormats) {
			return protoErr(msg, "caps truncated")
		}
		c.mu.Lock()
		c.extClip = true
		c.clipServer = flags
		c.mu.Unlock()
		return c.sendClipboardCaps()
	case flags&clipRequest != 0:
		if flags&clipText == 0 {
			return nil
		}
		c.mu.Lock()
		text := c.clipText
		c.mu.Unlock()
		return c.sendClipboardProvide(text)
	case flags&clipPeek != 0:
		c.mu.Lock()
		have := c.clipText != ""
		c.mu.Unlock()
		if have {
			return c.sendClipboardFlags(clipNotify | clipText)
		}
		return c.sendClipboardFlags(clipNotify)
	case flags&clipNotify != 0:
		if flags&clipText != 0 {
			return c.sendClipboardFlags(clipRequest | clipText)
		}
		return nil
	case flags&clipProvide != 0:
		text, err := parseClipboardProvide(flags, payload)
		if err != nil {
			return &ProtocolError{Message: msg, Reason: "provide", Err: err}
		}
		if text != nil && c.cfg.OnClipboard != nil {
			c.cfg.OnClipboard(*text)
		}
		return nil
	}
	return nil
}

// parseClipboardProvide inflates a Provide payload (its own zlib stream) and
// returns the text format, if present: for each format bit set, in bit
// order, a u32 size and that many bytes. Text is UTF-8, NUL-terminated, CRLF.
func parseClipboardProvide(flags uint32, payload []byte) (*string, error) {
	zr, err := zlib.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	for f := uint32(1); f <= clipFiles; f <<= 1 {
		if flags&f == 0 {
			continue
		}
		var sz [4]byte
		if _, err := io.ReadFull(zr, sz[:]); err != nil {
			return nil, err
		}
		size := binary.BigEndian.Uint32(sz[:])
		if f != clipText {
			// Other formats come after text in bit order; we need nothing else.
			return nil, nil
		}
		if size > maxTextLen {
			return nil, fmt.Errorf("text of %d bytes exceeds %d", size, maxTextLen)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(zr, buf); err != nil {
			return nil, err
		}
		buf = bytes.TrimRight(buf, "\x00")
		if !utf8.Valid(buf) {
			return nil, fmt.Errorf("text is not UTF-8")
		}
		s := strings.ReplaceAll(string(buf), "\r\n", "\n")
		return &s, nil
	}
	return nil, nil
}

// sendClipboardCaps answers the server's caps with ours: text only, up to maxTextLen.
func (c *Client) sendClipboardCaps() error {
	return c.send(func(b []byte) []byte {
		b = append(b, msgClientCutText, 0, 0, 0)
		b = be32(b, negLen(8))
		b = be32(b, clipCaps|clipRequest|clipPeek|clipNotify|clipProvide|clipText)
		return be32(b, maxTextLen)
	})
}

// sendClipboardFlags sends an extended clipboard message with no payload.
func (c *Client) sendClipboardFlags(flags uint32) error {
	return c.send(func(b []byte) []byte {
		b = append(b, msgClientCutText, 0, 0, 0)
		b = be32(b, negLen(4))
		return be32(b, flags)
	})
}

// sendClipboardProvide sends text as an extended clipboard Provide.
func (c *Client) sendClipboardProvide(text string) error {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	var sz [4]byte
	binary.BigEndian.PutUint32(sz[:], uint32(len(text)+1))
	zw.Write(sz[:])
	zw.Write([]byte(text))
	zw.Write([]byte{0})
	if err := zw.Close(); err != nil {
		return err
	}
	return c.send(func(b []byte) []byte {
		b = append(b, msgClientCutText, 0, 0, 0)
		b = be32(b, negLen(4+z.Len()))
		b = be32(b, clipProvide|clipText)
		return append(b, z.Bytes()...)
	})
}

// SetClipboard offers text as the remote clipboard: announced with an
// extended clipboard Notify (the server then requests it) when the server
// supports it, else sent as Latin-1 ClientCutText ('?' for what Latin-1
// cannot hold).
func (c *Client) SetClipboard(text string) error {
	if len(text) > maxTextLen {
		return fmt.Errorf("vnc: clipboard text of %d bytes exceeds %d", len(text), maxTextLen)
	}
	c.mu.Lock()
	c.clipText = text
	ext, server := c.extClip, c.clipServer
	c.mu.Unlock()
	if ext && server&clipText != 0 {
		if server&clipNotify != 0 {
			return c.sendClipboardFlags(clipNotify | clipText)
		}
		if server&clipProvide != 0 {
			return c.sendClipboardProvide(text)
		}
	}
	// ClientCutText (RFC 6143 §7.5.6).
	latin := stringToLatin1(text)
	return c.send(func(b []byte) []byte {
		b = append(b, msgClientCutText, 0, 0, 0)
		b = be32(b, uint32(len(latin)))
		return append(b, latin...)
	})
}

// negLen is an extended clipboard length: the two's complement of n.
func negLen(n int) uint32 { return uint32(-int32(n)) }
