package wire

import (
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
)

// Terminal output as a deflate stream (TERMINAL_DEFLATE) and what the server relies on
// the client keeping (TERMINAL_SCROLLBACK), docs/protocol.md.
const (
	TypeTerminalDeflate    Type = 0x10
	TypeTerminalScrollback Type = 0x11
	TypeTerminalSize       Type = 0x17
)

// MaxTerminalSide bounds TERMINAL_SIZE's cols and rows, as TERMINAL_RESIZE's.
const MaxTerminalSide = 4096

// TerminalSize is TERMINAL_SIZE (0x17): someone else sets this terminal's size (a
// watcher's follows its owner's): the client makes its terminal Cols x Rows and sends
// no TERMINAL_RESIZE.
type TerminalSize struct{ Cols, Rows int }

func (TerminalSize) Type() Type { return TypeTerminalSize }

func (m TerminalSize) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(header(b, TypeTerminalSize, 4), uint16(m.Cols))
	return binary.LittleEndian.AppendUint16(b, uint16(m.Rows))
}

func decodeTerminalSize(b, rest, p []byte) (Message, []byte, error) {
	m := TerminalSize{Cols: le16(p, 0), Rows: le16(p, 2)}
	if m.Cols < 1 || m.Rows < 1 || m.Cols > MaxTerminalSide || m.Rows > MaxTerminalSide {
		return nil, b, malformed(TypeTerminalSize, "%dx%d, want 1-%d each", m.Cols, m.Rows, MaxTerminalSide)
	}
	return m, rest, nil
}

// MaxTerminalData is the most output one TERMINAL or TERMINAL_DEFLATE carries (for
// TERMINAL_DEFLATE, once inflated).
const MaxTerminalData = 64 << 10

// TerminalDeflate is TERMINAL_DEFLATE (0x10): terminal output as the next piece of the
// connection's terminal deflate stream, inflating to Size bytes (1 to MaxTerminalData).
// Data aliases the decoded input; a TerminalInflater inflates it.
type TerminalDeflate struct {
	Size int
	Data []byte
}

// TerminalScrollback is TERMINAL_SCROLLBACK (0x11): the most lines a terminal client
// keeps above its screen.
type TerminalScrollback struct{ Lines uint32 }

func (TerminalDeflate) Type() Type    { return TypeTerminalDeflate }
func (TerminalScrollback) Type() Type { return TypeTerminalScrollback }

func (m TerminalDeflate) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(header(b, TypeTerminalDeflate, 4+len(m.Data)), uint32(m.Size))
	return append(b, m.Data...)
}

// AppendTerminalDeflateHeader appends a TERMINAL_DEFLATE header for a piece of n bytes
// inflating to size, the piece to be appended next by the caller.
func AppendTerminalDeflateHeader(b []byte, size, n int) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypeTerminalDeflate, 4+n), uint32(size))
}

func (m TerminalScrollback) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypeTerminalScrollback, 4), m.Lines)
}

func decodeTerminalDeflate(b, rest, p []byte) (Message, []byte, error) {
	size := binary.LittleEndian.Uint32(p)
	if size < 1 || size > MaxTerminalData {
		return nil, b, malformed(TypeTerminalDeflate, "size %d, want 1-%d", size, MaxTerminalData)
	}
	return TerminalDeflate{Size: int(size), Data: p[4:]}, rest, nil
}

// TerminalInflater inflates the TERMINAL_DEFLATE pieces of one connection, in order.
type TerminalInflater struct {
	src pieceReader
	zr  io.ReadCloser
	out []byte
}

// Inflate returns what m inflates to, valid until the next call. A broken stream or a
// piece that inflates to fewer than m.Size bytes is an error wrapping ErrMalformed.
func (t *TerminalInflater) Inflate(m TerminalDeflate) ([]byte, error) {
	if m.Size < 1 || m.Size > MaxTerminalData {
		return nil, malformed(TypeTerminalDeflate, "size %d, want 1-%d", m.Size, MaxTerminalData)
	}
	t.src.feed(m.Data)
	if t.zr == nil {
		zr, err := zlib.NewReader(&t.src)
		if err != nil {
			return nil, fmt.Errorf("%w: TERMINAL_DEFLATE: stream header: %v", ErrMalformed, err)
		}
		t.zr = zr
	}
	if cap(t.out) < m.Size {
		t.out = make([]byte, MaxTerminalData)
	}
	out := t.out[:m.Size]
	if _, err := io.ReadFull(t.zr, out); err != nil {
		return nil, fmt.Errorf("%w: TERMINAL_DEFLATE: %v", ErrMalformed, err)
	}
	return out, nil
}
