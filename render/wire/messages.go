package wire

import "encoding/binary"

// Subprotocol is the websocket subprotocol of this version (docs/protocol.md, Versioning).
const Subprotocol = "racgate.v1"

// Version is the protocol version carried in HELLO.
const Version = 1

// Type is a message's first byte. Types below 0x80 go from server to client.
type Type uint8

// Message types (docs/protocol.md, "Server to client" and "Client to server").
const (
	TypeHello          Type = 0x01
	TypeResize         Type = 0x02
	TypeFill           Type = 0x03
	TypeCopy           Type = 0x04
	TypeImage          Type = 0x05
	TypeFrame          Type = 0x06
	TypeCursor         Type = 0x07
	TypeClipboard      Type = 0x08
	TypeBell           Type = 0x09
	TypeName           Type = 0x0A
	TypeClose          Type = 0x0B
	TypeTerminal       Type = 0x0C
	TypeAudio          Type = 0x0D
	TypeTerminalConfig Type = 0x0E
	TypePrompt         Type = 0x0F

	TypeAck             Type = 0x80
	TypeKey             Type = 0x81
	TypePointer         Type = 0x82
	TypeClientClipboard Type = 0x83
	TypeResizeRequest   Type = 0x84
	TypeTerminalInput   Type = 0x85
	TypeWheel           Type = 0x86
	TypeTerminalResize  Type = 0x87
	TypePromptResponse  Type = 0x88
)

var typeNames = map[Type]string{
	TypeHello: "HELLO", TypeResize: "RESIZE", TypeFill: "FILL", TypeCopy: "COPY",
	TypeImage: "IMAGE", TypeFrame: "FRAME", TypeCursor: "CURSOR", TypeClipboard: "CLIPBOARD",
	TypeBell: "BELL", TypeName: "NAME", TypeClose: "CLOSE", TypeTerminal: "TERMINAL",
	TypeAudio: "AUDIO", TypeTerminalConfig: "TERMINAL_CONFIG", TypeAck: "ACK", TypeKey: "KEY", TypePointer: "POINTER",
	TypeClientClipboard: "CLIENT_CLIPBOARD", TypeResizeRequest: "RESIZE_REQUEST",
	TypeTerminalInput: "TERMINAL_INPUT", TypeWheel: "WHEEL", TypeTerminalResize: "TERMINAL_RESIZE",
	TypePrompt: "PROMPT", TypePromptResponse: "PROMPT_RESPONSE",
	TypeTerminalDeflate: "TERMINAL_DEFLATE", TypeTerminalScrollback: "TERMINAL_SCROLLBACK",
	TypeAudioFormat: "AUDIO_FORMAT", TypeAudioEnable: "AUDIO_ENABLE", TypeNotice: "NOTICE",
	TypePing: "PING", TypePong: "PONG", TypeShare: "SHARE", TypeShares: "SHARES", TypeTerminalSize: "TERMINAL_SIZE", TypeFiles: "FILES", TypeFileReady: "FILE_READY",
	TypeClipboardContent: "CLIPBOARD_CONTENT", TypeClientClipboardContent: "CLIENT_CLIPBOARD_CONTENT",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[t>>4], hex[t&15]})
}

// HELLO kinds and flags (§ HELLO).
const (
	KindDesktop  = 0
	KindTerminal = 1

	FlagResize = 1 // RESIZE_REQUEST works
	FlagPaste  = 2 // clipboard from the browser is allowed
	FlagCopy   = 4 // clipboard to the browser is allowed
)

// IMAGE encodings (§ IMAGE). ZRGB and ZPalette are pieces of the connection's deflate
// stream; ZRGB1 and ZPalette1 have the same inflated layouts but each is a complete zlib
// stream of its own, so one encoding can be sent to many connections. Predict appears
// in recordings only (docs/recording.md § PREDICT).
const (
	ZRGB      = 0
	ZPalette  = 1
	JPEG      = 2
	PNG       = 3
	ZRGB1     = 4
	ZPalette1 = 5
	Predict   = 6
)

// POINTER button bits (§ POINTER).
const (
	ButtonLeft    = 1
	ButtonMiddle  = 2
	ButtonRight   = 4
	ButtonBack    = 8
	ButtonForward = 16
)

// CloseCode is the reason in CLOSE (§ CLOSE).
type CloseCode uint16

const (
	CloseRemoteEnded   CloseCode = 1
	CloseUnreachable   CloseCode = 2
	CloseAuthFailed    CloseCode = 3
	CloseProtocolError CloseCode = 4
	CloseLimit         CloseCode = 5
	CloseTimeout       CloseCode = 6
	CloseKilled        CloseCode = 7
	CloseShutdown      CloseCode = 8
	CloseSessionEnded  CloseCode = 9
	CloseForbidden     CloseCode = 10
	CloseInternal      CloseCode = 11
	CloseClientError   CloseCode = 12
)

// Reconnect reports whether reconnecting makes sense after this code (§ CLOSE table).
func (c CloseCode) Reconnect() bool {
	switch c {
	case CloseAuthFailed, CloseKilled, CloseSessionEnded, CloseForbidden, CloseClientError:
		return false
	}
	return true
}

// Size limits (§ Framing).
const (
	MaxServerMessage = 4 << 20 // one websocket message from the server
	MaxClientMessage = 4 << 20 // one websocket message from the client
	MaxClipboard     = 1 << 20 // clipboard text
	MaxPrompts       = 16      // prompts in a PROMPT, answers in a PROMPT_RESPONSE
	MaxPromptText    = 4 << 10 // one name, instruction, prompt text or answer, in bytes
	headerLen        = 5
)

// Message is one protocol message. Append appends it framed: type, u32 length, payload.
type Message interface {
	Type() Type
	Append(b []byte) []byte
}

// Server to client.

// Hello is HELLO (0x01).
type Hello struct {
	Version uint16
	Kind    uint8
	Flags   uint8
	Name    string
}

// Resize is RESIZE (0x02).
type Resize struct{ Width, Height int }

// Fill is FILL (0x03).
type Fill struct {
	X, Y, W, H int
	R, G, B    uint8
}

// Copy is COPY (0x04): X, Y, W, H is the destination.
type Copy struct{ X, Y, W, H, SrcX, SrcY int }

// Image is IMAGE (0x05). Data aliases the decoded input.
type Image struct {
	X, Y, W, H int
	Encoding   uint8
	Data       []byte
}

// Frame is FRAME (0x06).
type Frame struct{ ID uint32 }

// Cursor is CURSOR (0x07). RGBA holds W×H×4 bytes and aliases the decoded input.
type Cursor struct {
	HotX, HotY, W, H int
	RGBA             []byte
}

// Clipboard is CLIPBOARD (0x08), server to client.
type Clipboard struct{ Text string }

// Bell is BELL (0x09).
type Bell struct{}

// Name is NAME (0x0A).
type Name struct{ Name string }

// Close is CLOSE (0x0B).
type Close struct {
	Code   CloseCode
	Reason string
}

// Terminal is TERMINAL (0x0C). Data aliases the decoded input.
type Terminal struct{ Data []byte }

// TerminalConfig is TERMINAL_CONFIG (0x0E): how the browser draws a terminal, sent
// right after HELLO of kind terminal. FontSize 0 and an empty or unknown ColorScheme
// mean the client's defaults.
type TerminalConfig struct {
	FontSize    int
	ColorScheme string
}

// Prompt is PROMPT (0x0F): the remote asks the user something before the session is
// connected (SSH keyboard-interactive, RFC 4256 §3.2). Encoding more than MaxPrompts
// prompts or strings over MaxPromptText bytes gives a message receivers refuse.
type Prompt struct {
	ID          uint32
	Name        string
	Instruction string
	Prompts     []PromptField
}

// PromptField is one question of a PROMPT.
type PromptField struct {
	Text string
	Echo bool // the answer may be shown as typed
}

// Flags of a PromptField (§ PROMPT).
const PromptEcho = 1

// Client to server.

// Ack is ACK (0x80).
type Ack struct{ ID uint32 }

// Key is KEY (0x81).
type Key struct {
	Down   bool
	Keysym uint32
	Code   string
}

// Pointer is POINTER (0x82).
type Pointer struct {
	X, Y    int
	Buttons uint16
}

// ClientClipboard is CLIPBOARD (0x83), client to server.
type ClientClipboard struct{ Text string }

// ResizeRequest is RESIZE_REQUEST (0x84). Scale is the browser's devicePixelRatio in
// percent; 0 (unknown) leaves the field out, as clients before it sent the message.
type ResizeRequest struct{ Width, Height, Scale int }

// TerminalInput is TERMINAL_INPUT (0x85). Data aliases the decoded input.
type TerminalInput struct{ Data []byte }

// Wheel is WHEEL (0x86). DX, DY are notches, positive right and down.
type Wheel struct{ X, Y, DX, DY int }

// TerminalResize is TERMINAL_RESIZE (0x87).
type TerminalResize struct{ Cols, Rows int }

// PromptResponse is PROMPT_RESPONSE (0x88): the answers to PROMPT ID, in order. No
// answers means the user cancelled.
type PromptResponse struct {
	ID      uint32
	Answers []string
}

// Unknown is a message of a type this package does not decode; a receiver skips it.
// Payload aliases the decoded input.
type Unknown struct {
	T       Type
	Payload []byte
}

func (Hello) Type() Type           { return TypeHello }
func (Resize) Type() Type          { return TypeResize }
func (Fill) Type() Type            { return TypeFill }
func (Copy) Type() Type            { return TypeCopy }
func (Image) Type() Type           { return TypeImage }
func (Frame) Type() Type           { return TypeFrame }
func (Cursor) Type() Type          { return TypeCursor }
func (Clipboard) Type() Type       { return TypeClipboard }
func (Bell) Type() Type            { return TypeBell }
func (Name) Type() Type            { return TypeName }
func (Close) Type() Type           { return TypeClose }
func (Terminal) Type() Type        { return TypeTerminal }
func (TerminalConfig) Type() Type  { return TypeTerminalConfig }
func (Prompt) Type() Type          { return TypePrompt }
func (PromptResponse) Type() Type  { return TypePromptResponse }
func (Ack) Type() Type             { return TypeAck }
func (Key) Type() Type             { return TypeKey }
func (Pointer) Type() Type         { return TypePointer }
func (ClientClipboard) Type() Type { return TypeClientClipboard }
func (ResizeRequest) Type() Type   { return TypeResizeRequest }
func (TerminalInput) Type() Type   { return TypeTerminalInput }
func (Wheel) Type() Type           { return TypeWheel }
func (TerminalResize) Type() Type  { return TypeTerminalResize }
func (u Unknown) Type() Type       { return u.T }

// header appends the type and the payload length.
func header(b []byte, t Type, n int) []byte {
	b = append(b, byte(t))
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

func u16(b []byte, v ...int) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func (m Hello) Append(b []byte) []byte {
	b = header(b, TypeHello, 4+len(m.Name))
	b = binary.LittleEndian.AppendUint16(b, m.Version)
	b = append(b, m.Kind, m.Flags)
	return append(b, m.Name...)
}

func (m Resize) Append(b []byte) []byte {
	return u16(header(b, TypeResize, 4), m.Width, m.Height)
}

func (m Fill) Append(b []byte) []byte {
	b = u16(header(b, TypeFill, 11), m.X, m.Y, m.W, m.H)
	return append(b, m.R, m.G, m.B)
}

func (m Copy) Append(b []byte) []byte {
	return u16(header(b, TypeCopy, 12), m.X, m.Y, m.W, m.H, m.SrcX, m.SrcY)
}

func (m Image) Append(b []byte) []byte {
	b = u16(header(b, TypeImage, 9+len(m.Data)), m.X, m.Y, m.W, m.H)
	b = append(b, m.Encoding)
	return append(b, m.Data...)
}

// AppendImageHeader appends an IMAGE header for n bytes of data that the caller
// appends next; it lets an encoder write compressed data straight into b.
func AppendImageHeader(b []byte, x, y, w, h int, encoding uint8, n int) []byte {
	b = u16(header(b, TypeImage, 9+n), x, y, w, h)
	return append(b, encoding)
}

func (m Frame) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypeFrame, 4), m.ID)
}

func (m Cursor) Append(b []byte) []byte {
	b = u16(header(b, TypeCursor, 8+len(m.RGBA)), m.HotX, m.HotY, m.W, m.H)
	return append(b, m.RGBA...)
}

func (m Clipboard) Append(b []byte) []byte {
	return append(header(b, TypeClipboard, len(m.Text)), m.Text...)
}

func (Bell) Append(b []byte) []byte { return header(b, TypeBell, 0) }

func (m Name) Append(b []byte) []byte {
	return append(header(b, TypeName, len(m.Name)), m.Name...)
}

func (m Close) Append(b []byte) []byte {
	b = u16(header(b, TypeClose, 2+len(m.Reason)), int(m.Code))
	return append(b, m.Reason...)
}

func (m Terminal) Append(b []byte) []byte {
	return append(header(b, TypeTerminal, len(m.Data)), m.Data...)
}

// AppendTerminalHeader appends a TERMINAL header for n bytes of data that the caller
// appends next, so that terminal output can be read straight into the message.
func AppendTerminalHeader(b []byte, n int) []byte { return header(b, TypeTerminal, n) }

func (m TerminalConfig) Append(b []byte) []byte {
	b = u16(header(b, TypeTerminalConfig, 2+len(m.ColorScheme)), m.FontSize)
	return append(b, m.ColorScheme...)
}

// str16 appends a string with its u16 length.
func str16(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint16(b, uint16(len(s))), s...)
}

func (m Prompt) Append(b []byte) []byte {
	n := 4 + 2 + len(m.Name) + 2 + len(m.Instruction) + 1
	for _, p := range m.Prompts {
		n += 1 + 2 + len(p.Text)
	}
	b = binary.LittleEndian.AppendUint32(header(b, TypePrompt, n), m.ID)
	b = str16(b, m.Name)
	b = str16(b, m.Instruction)
	b = append(b, byte(len(m.Prompts)))
	for _, p := range m.Prompts {
		var f byte
		if p.Echo {
			f = PromptEcho
		}
		b = str16(append(b, f), p.Text)
	}
	return b
}

func (m PromptResponse) Append(b []byte) []byte {
	n := 4 + 1
	for _, a := range m.Answers {
		n += 2 + len(a)
	}
	b = binary.LittleEndian.AppendUint32(header(b, TypePromptResponse, n), m.ID)
	b = append(b, byte(len(m.Answers)))
	for _, a := range m.Answers {
		b = str16(b, a)
	}
	return b
}

func (m Ack) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypeAck, 4), m.ID)
}

func (m Key) Append(b []byte) []byte {
	b = header(b, TypeKey, 5+len(m.Code))
	d := byte(0)
	if m.Down {
		d = 1
	}
	b = binary.LittleEndian.AppendUint32(append(b, d), m.Keysym)
	return append(b, m.Code...)
}

func (m Pointer) Append(b []byte) []byte {
	return u16(header(b, TypePointer, 6), m.X, m.Y, int(m.Buttons))
}

func (m ClientClipboard) Append(b []byte) []byte {
	return append(header(b, TypeClientClipboard, len(m.Text)), m.Text...)
}

func (m ResizeRequest) Append(b []byte) []byte {
	if m.Scale == 0 {
		return u16(header(b, TypeResizeRequest, 4), m.Width, m.Height)
	}
	return u16(header(b, TypeResizeRequest, 6), m.Width, m.Height, m.Scale)
}

func (m TerminalInput) Append(b []byte) []byte {
	return append(header(b, TypeTerminalInput, len(m.Data)), m.Data...)
}

func (m Wheel) Append(b []byte) []byte {
	return u16(header(b, TypeWheel, 8), m.X, m.Y, m.DX, m.DY)
}

func (m TerminalResize) Append(b []byte) []byte {
	return u16(header(b, TypeTerminalResize, 4), m.Cols, m.Rows)
}

func (m Unknown) Append(b []byte) []byte {
	return append(header(b, m.T, len(m.Payload)), m.Payload...)
}
