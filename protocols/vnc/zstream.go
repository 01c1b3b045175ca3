package vnc

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// zstream is one zlib stream that lives across rectangles (Zlib and ZRLE have
// one per connection, Tight four). Servers end each rectangle's data with a
// sync flush, so the only state carried from one rectangle to the next is the
// 32 KiB deflate window. Each rectangle is therefore inflated by a fresh flate
// reader primed with the previous window, reading exactly that rectangle's
// compressed bytes off the connection: the end of the bytes ends the output,
// and the stream survives however the next rectangle is read.
type zstream struct {
	fr     io.ReadCloser // reused through flate.Resetter
	window []byte        // last up to 32 KiB of output
	header bool          // the 2-byte zlib header has been read
	src    limitedSource
	peeked bytes.Reader // a rectangle's compressed bytes, when they fit in the read buffer
	out    []byte
}

const flateWindow = 32 << 10

// limitedSource hands flate at most n bytes of the connection.
type limitedSource struct {
	r *reader
	n int
}

func (s *limitedSource) ReadByte() (byte, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	b, err := s.r.br.ReadByte()
	if err != nil {
		return 0, eof(err)
	}
	s.n--
	return b, nil
}

func (s *limitedSource) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	if len(p) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.br.Read(p)
	s.n -= n
	return n, eof(err)
}

func (z *zstream) reset() {
	z.header = false
	z.window = z.window[:0]
}

var errInflateTooLong = errors.New("inflated data longer than the rectangle allows")

// inflate reads n compressed bytes from r and returns their output, which must
// not exceed limit bytes. The slice is valid until the next inflate.
func (z *zstream) inflate(r *reader, n, limit int) ([]byte, error) {
	// A rectangle's compressed bytes that fit in the connection's read buffer are read
	// there, through a bytes.Reader, for which flate has a fast path; more stream
	// through, a byte at a time.
	var src interface {
		io.Reader
		io.ByteReader
	} = &z.src
	z.src = limitedSource{r: r, n: n}
	z.peeked.Reset(nil)
	if n <= readBufferSize {
		z.src.n = 0
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, eof(err)
		}
		z.peeked.Reset(b)
		src = &z.peeked
		defer r.br.Discard(n) // b stays valid until then: nothing else reads r meanwhile
	}
	if !z.header {
		// RFC 1950: CMF, FLG; deflate with no preset dictionary.
		cmf, err := src.ReadByte()
		if err != nil {
			return nil, eof(err)
		}
		flg, err := src.ReadByte()
		if err != nil {
			return nil, eof(err)
		}
		if cmf&0x0f != 8 || (uint16(cmf)<<8|uint16(flg))%31 != 0 || flg&0x20 != 0 {
			return nil, fmt.Errorf("bad zlib header %#02x %#02x", cmf, flg)
		}
		z.header = true
	}
	if z.fr == nil {
		z.fr = flate.NewReaderDict(src, z.window)
	} else if err := z.fr.(flate.Resetter).Reset(src, z.window); err != nil {
		return nil, err
	}
	out := z.out[:0]
	for {
		if len(out) == cap(out) {
			if cap(out) >= limit+1 {
				return nil, errInflateTooLong
			}
			grown := make([]byte, len(out), min(max(2*cap(out), 64<<10), limit+1))
			copy(grown, out)
			out = grown
		}
		m, err := z.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+m]
		if err != nil {
			// The compressed bytes ran out: a normal end after a sync flush.
			if (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) && z.src.n == 0 && z.peeked.Len() == 0 {
				break
			}
			return nil, err
		}
	}
	z.out = out
	if len(out) > limit {
		return nil, errInflateTooLong
	}
	// Keep the window for the next rectangle.
	if len(out) >= flateWindow {
		z.window = append(z.window[:0], out[len(out)-flateWindow:]...)
	} else {
		keep := min(len(z.window), flateWindow-len(out))
		z.window = append(z.window[:0], z.window[len(z.window)-keep:]...)
		z.window = append(z.window, out...)
	}
	return out, nil
}
