// Package wire encodes and decodes the racgate browser protocol, docs/protocol.md.
//
// Messages are plain structs; Append frames one onto a buffer and Next takes one off.
// Decoded byte slices (Image.Data, Cursor.RGBA, Terminal.Data, TerminalInput.Data,
// Unknown.Payload) alias the input: copy them to keep them past the input's life.
// Strings are copies.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every decode error: the peer broke the protocol.
var ErrMalformed = errors.New("wire: malformed message")

func malformed(t Type, format string, args ...any) error {
	return fmt.Errorf("%w: %v: %s", ErrMalformed, t, fmt.Sprintf(format, args...))
}

// fixed is the length of each known type's fixed fields; a shorter payload is an error.
var fixed = [256]int8{
	TypeHello: 4, TypeResize: 4, TypeFill: 11, TypeCopy: 12, TypeImage: 9, TypeFrame: 4,
	TypeCursor: 8, TypeClose: 2, TypeTerminalConfig: 2, TypeAck: 4, TypeKey: 5, TypePointer: 6,
	TypeResizeRequest: 4, TypeWheel: 8, TypeTerminalResize: 4,
}

func le16(p []byte, i int) int { return int(binary.LittleEndian.Uint16(p[i:])) }

// Next decodes the first framed message of b and returns it with the rest of b.
// A type it does not know comes back as Unknown, to be skipped. A truncated frame,
// a payload shorter than the type's fixed fields or a field over a limit of the spec
// is an error wrapping ErrMalformed.
func Next(b []byte) (m Message, rest []byte, err error) {
	if len(b) < headerLen {
		return nil, b, fmt.Errorf("%w: truncated header (%d bytes)", ErrMalformed, len(b))
	}
	t := Type(b[0])
	n := binary.LittleEndian.Uint32(b[1:])
	if uint64(n) > uint64(len(b)-headerLen) {
		return nil, b, malformed(t, "length %d beyond the %d bytes left", n, len(b)-headerLen)
	}
	p := b[headerLen : headerLen+int(n) : headerLen+int(n)]
	rest = b[headerLen+int(n):]
	if len(p) < int(fixed[t]) {
		return nil, b, malformed(t, "payload %d bytes, need %d", len(p), fixed[t])
	}
	switch t {
	case TypeHello: // § HELLO
		return Hello{Version: binary.LittleEndian.Uint16(p), Kind: p[2], Flags: p[3], Name: string(p[4:])}, rest, nil
	case TypeResize: // § RESIZE
		return Resize{Width: le16(p, 0), Height: le16(p, 2)}, rest, nil
	case TypeFill: // § FILL
		return Fill{X: le16(p, 0), Y: le16(p, 2), W: le16(p, 4), H: le16(p, 6), R: p[8], G: p[9], B: p[10]}, rest, nil
	case TypeCopy: // § COPY
		return Copy{X: le16(p, 0), Y: le16(p, 2), W: le16(p, 4), H: le16(p, 6), SrcX: le16(p, 8), SrcY: le16(p, 10)}, rest, nil
	case TypeImage: // § IMAGE
		return Image{X: le16(p, 0), Y: le16(p, 2), W: le16(p, 4), H: le16(p, 6), Encoding: p[8], Data: p[9:]}, rest, nil
	case TypeFrame: // § FRAME
		return Frame{ID: binary.LittleEndian.Uint32(p)}, rest, nil
	case TypeCursor: // § CURSOR
		c := Cursor{HotX: le16(p, 0), HotY: le16(p, 2), W: le16(p, 4), H: le16(p, 6)}
		sz := c.W * c.H * 4
		if len(p)-8 < sz {
			return nil, b, malformed(t, "%dx%d image needs %d bytes, have %d", c.W, c.H, sz, len(p)-8)
		}
		c.RGBA = p[8 : 8+sz]
		return c, rest, nil
	case TypeClipboard: // § CLIPBOARD
		if err := checkClipboard(t, p); err != nil {
			return nil, b, err
		}
		return Clipboard{Text: string(p)}, rest, nil
	case TypeBell:
		return Bell{}, rest, nil
	case TypeName:
		return Name{Name: string(p)}, rest, nil
	case TypeClose: // § CLOSE
		return Close{Code: CloseCode(le16(p, 0)), Reason: string(p[2:])}, rest, nil
	case TypeTerminal:
		return Terminal{Data: p}, rest, nil
	case TypeTerminalConfig: // § TERMINAL_CONFIG
		return TerminalConfig{FontSize: le16(p, 0), ColorScheme: string(p[2:])}, rest, nil
	case TypeAck: // § ACK
		return Ack{ID: binary.LittleEndian.Uint32(p)}, rest, nil
	case TypeKey: // § KEY
		if p[0] > 1 {
			return nil, b, malformed(t, "down is %d", p[0])
		}
		return Key{Down: p[0] == 1, Keysym: binary.LittleEndian.Uint32(p[1:]), Code: string(p[5:])}, rest, nil
	case TypePointer: // § POINTER
		return Pointer{X: le16(p, 0), Y: le16(p, 2), Buttons: uint16(le16(p, 4))}, rest, nil
	case TypeClientClipboard: // § CLIPBOARD (client)
		if err := checkClipboard(t, p); err != nil {
			return nil, b, err
		}
		return ClientClipboard{Text: string(p)}, rest, nil
	case TypeResizeRequest: // § RESIZE_REQUEST
		return ResizeRequest{Width: le16(p, 0), Height: le16(p, 2)}, rest, nil
	case TypeTerminalInput:
		return TerminalInput{Data: p}, rest, nil
	case TypeWheel: // § WHEEL
		return Wheel{X: le16(p, 0), Y: le16(p, 2), DX: int(int16(le16(p, 4))), DY: int(int16(le16(p, 6)))}, rest, nil
	case TypeTerminalResize: // § TERMINAL_RESIZE
		return TerminalResize{Cols: le16(p, 0), Rows: le16(p, 2)}, rest, nil
	}
	return Unknown{T: t, Payload: p}, rest, nil
}

func checkClipboard(t Type, p []byte) error {
	if len(p) > MaxClipboard {
		return malformed(t, "clipboard of %d bytes over the %d limit", len(p), MaxClipboard)
	}
	if !utf8.Valid(p) {
		return malformed(t, "clipboard is not UTF-8")
	}
	return nil
}

// Decode calls fn for every message of b, one websocket message, in order. It stops
// at the first decode error or error from fn and returns it.
func Decode(b []byte, fn func(Message) error) error {
	for len(b) > 0 {
		m, rest, err := Next(b)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		b = rest
	}
	return nil
}
