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
	TypePrompt: 9, TypePromptResponse: 5, TypeClipboardContent: 1, TypeClientClipboardContent: 1, TypeTerminalDeflate: 4, TypeTerminalScrollback: 4,
	TypeAudio: 4, TypeAudioFormat: 6, TypeAudioEnable: 1, TypeNotice: 1, TypePing: 4, TypePong: 4,
	TypeShare: 6, TypeShares: 1, TypeTerminalSize: 4, TypeFiles: 9,
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
	case TypeTerminalDeflate: // § TERMINAL_DEFLATE
		return decodeTerminalDeflate(b, rest, p)
	case TypeTerminalSize: // § TERMINAL_SIZE
		return decodeTerminalSize(b, rest, p)
	case TypeFiles: // § FILES
		return decodeFiles(b, rest, p)
	case TypeFileReady: // § FILE_READY
		return decodeFileReady(b, rest, p)
	case TypeTerminalScrollback: // § TERMINAL_SCROLLBACK
		return TerminalScrollback{Lines: binary.LittleEndian.Uint32(p)}, rest, nil
	case TypeAudio: // § AUDIO
		return Audio{Timestamp: binary.LittleEndian.Uint32(p), Data: p[4:]}, rest, nil
	case TypeAudioFormat: // § AUDIO_FORMAT
		return decodeAudioFormat(b, rest, p)
	case TypeAudioEnable: // § AUDIO_ENABLE
		return decodeAudioEnable(b, rest, p)
	case TypeNotice: // § NOTICE
		return decodeNotice(b, rest, p)
	case TypePing: // § PING
		return Ping{Token: binary.LittleEndian.Uint32(p)}, rest, nil
	case TypePong: // § PONG
		return Pong{Token: binary.LittleEndian.Uint32(p)}, rest, nil
	case TypeShare: // § SHARE
		return decodeShare(b, rest, p)
	case TypeShares: // § SHARES
		return decodeShares(b, rest, p)
	case TypeClipboardContent, TypeClientClipboardContent: // § CLIPBOARD_CONTENT
		return decodeClipboardContent(b, rest, p, t)
	case TypePrompt: // § PROMPT
		return decodePrompt(b, rest, p)
	case TypePromptResponse: // § PROMPT_RESPONSE
		return decodePromptResponse(b, rest, p)
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
		m := ResizeRequest{Width: le16(p, 0), Height: le16(p, 2)}
		if len(p) >= 6 {
			m.Scale = le16(p, 4)
		}
		return m, rest, nil
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

// stringReader reads the u16-length-prefixed UTF-8 strings of PROMPT and
// PROMPT_RESPONSE, each bounded by MaxPromptText.
type stringReader struct {
	t   Type
	p   []byte
	err error
}

func (r *stringReader) u8(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.p) < 1 {
		r.err = malformed(r.t, "%s missing", what)
		return 0
	}
	v := r.p[0]
	r.p = r.p[1:]
	return v
}

func (r *stringReader) str(what string) string {
	if r.err != nil {
		return ""
	}
	if len(r.p) < 2 {
		r.err = malformed(r.t, "%s length missing", what)
		return ""
	}
	n := le16(r.p, 0)
	switch {
	case n > MaxPromptText:
		r.err = malformed(r.t, "%s of %d bytes over the %d limit", what, n, MaxPromptText)
	case n > len(r.p)-2:
		r.err = malformed(r.t, "%s of %d bytes beyond the %d left", what, n, len(r.p)-2)
	case !utf8.Valid(r.p[2 : 2+n]):
		r.err = malformed(r.t, "%s is not UTF-8", what)
	}
	if r.err != nil {
		return ""
	}
	s := string(r.p[2 : 2+n])
	r.p = r.p[2+n:]
	return s
}

func decodePrompt(b, rest, p []byte) (Message, []byte, error) {
	m := Prompt{ID: binary.LittleEndian.Uint32(p)}
	r := stringReader{t: TypePrompt, p: p[4:]}
	m.Name = r.str("name")
	m.Instruction = r.str("instruction")
	n := int(r.u8("count"))
	if r.err == nil && (n < 1 || n > MaxPrompts) {
		return nil, b, malformed(TypePrompt, "%d prompts, want 1-%d", n, MaxPrompts)
	}
	if r.err == nil {
		m.Prompts = make([]PromptField, n) // n ≤ MaxPrompts
	}
	for i := 0; i < n && r.err == nil; i++ {
		f := r.u8("flags")
		if f&^PromptEcho != 0 {
			return nil, b, malformed(TypePrompt, "prompt %d flags %#x", i, f)
		}
		m.Prompts[i] = PromptField{Echo: f&PromptEcho != 0, Text: r.str("prompt")}
	}
	if r.err != nil {
		return nil, b, r.err
	}
	return m, rest, nil
}

func decodePromptResponse(b, rest, p []byte) (Message, []byte, error) {
	m := PromptResponse{ID: binary.LittleEndian.Uint32(p)}
	n := int(p[4])
	if n > MaxPrompts {
		return nil, b, malformed(TypePromptResponse, "%d answers over the %d limit", n, MaxPrompts)
	}
	r := stringReader{t: TypePromptResponse, p: p[5:]}
	if n > 0 {
		m.Answers = make([]string, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		m.Answers[i] = r.str("answer")
	}
	if r.err != nil {
		return nil, b, r.err
	}
	return m, rest, nil
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
