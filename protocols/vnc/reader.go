package vnc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// Buffer sizes and bounds on what a server may make us hold.
const (
	readBufferSize   = 64 << 10
	maxFramebufferWH = 8192    // per side; bounds every rectangle and the framebuffer
	maxTextLen       = 1 << 20 // clipboard text we accept
	maxSkipLen       = 16 << 20
	maxNameLen       = 64 << 10
	maxReasonLen     = 64 << 10
	maxKeptScratch   = 4 << 20 // a Tight JPEG or a large cursor
)

// reader reads big-endian RFB fields from a buffered connection and keeps one
// scratch buffer, so steady-state decoding does not allocate.
type reader struct {
	br      *bufio.Reader
	scratch []byte
}

func newReader(r io.Reader) *reader {
	return &reader{br: bufio.NewReaderSize(r, readBufferSize)}
}

// eof turns a clean EOF inside a message into io.ErrUnexpectedEOF.
func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *reader) u8() (uint8, error) {
	b, err := r.br.ReadByte()
	return b, eof(err)
}

func (r *reader) u32() (uint32, error) {
	b, err := r.peek(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// peek returns the next n bytes (n <= readBufferSize) and consumes them; the
// slice is valid until the next read.
func (r *reader) peek(n int) ([]byte, error) {
	b, err := r.br.Peek(n)
	if err != nil {
		return nil, eof(err)
	}
	r.br.Discard(n)
	return b, nil
}

// full reads n bytes into the scratch buffer, valid until the next full call.
// Callers bound n before calling.
func (r *reader) full(n int) ([]byte, error) {
	// Grow with the data that actually arrives, so a length that lies costs
	// no more memory than the bytes sent.
	b := r.scratch[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			grown := make([]byte, len(b), min(n, max(2*cap(b), 64<<10)))
			copy(grown, b)
			b = grown
		}
		m, err := r.br.Read(b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		if err != nil && len(b) < n {
			r.keep(b)
			return nil, eof(err)
		}
	}
	r.keep(b)
	return b, nil
}

// keep stores b for reuse if it is of an ordinary size; a rare large buffer
// is let go.
func (r *reader) keep(b []byte) {
	if cap(b) <= maxKeptScratch {
		r.scratch = b[:0]
	} else {
		r.scratch = nil
	}
}

// into reads exactly len(b) bytes into b.
func (r *reader) into(b []byte) error {
	_, err := io.ReadFull(r.br, b)
	return eof(err)
}

func (r *reader) skip(n int) error {
	_, err := r.br.Discard(n)
	return eof(err)
}

// str reads a u32 length and that many bytes, refusing lengths above limit.
func (r *reader) str(msg string, limit int) (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	if n > uint32(limit) {
		return "", protoErr(msg, "string length %d exceeds %d", n, limit)
	}
	b, err := r.full(int(n))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ReadByte lets compress/flate read compressed data straight from the buffer.
func (r *reader) ReadByte() (byte, error) { return r.br.ReadByte() }
