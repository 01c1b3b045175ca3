// Package guac is a Guacamole protocol client for the benchmark harness: enough of the
// protocol to hold a session with guacd the way guacamole-common-js does (handshake,
// answering every sync, image streams) and to count what it sends.
//
// The protocol (Guacamole manual, "The Guacamole protocol" and its reference appendix):
// an instruction is OPCODE,ARG1,...; and every element is LENGTH.VALUE, LENGTH being the
// number of Unicode characters of the UTF-8 VALUE.
package guac

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every parse error: the peer broke the protocol.
var ErrMalformed = errors.New("guac: malformed instruction")

// Limits on what is read off the wire, checked before anything is allocated for it.
// guacd splits image data into blobs of a few KiB, so these are generous.
const (
	MaxElementChars = 1 << 20 // characters of one element
	MaxElements     = 256     // elements of one instruction, opcode included
	MaxInstruction  = 4 << 20 // bytes of one instruction
	maxLengthDigits = 8       // digits of a LENGTH prefix
)

// Instruction is one Guacamole instruction.
type Instruction struct {
	Opcode string
	Args   []string
}

// Append encodes ins onto b.
func (ins Instruction) Append(b []byte) []byte {
	b = appendElement(b, ins.Opcode)
	for _, a := range ins.Args {
		b = append(b, ',')
		b = appendElement(b, a)
	}
	return append(b, ';')
}

// AppendRaw encodes an instruction given as elements (opcode first), as ReadRaw returns
// them, onto b.
func AppendRaw(b []byte, el [][]byte) []byte {
	for i, e := range el {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(utf8.RuneCount(e)), 10)
		b = append(b, '.')
		b = append(b, e...)
	}
	return append(b, ';')
}

// Buffered is how many bytes were read off the stream and not yet consumed: 0 means
// the next ReadRaw waits for the peer.
func (r *Reader) Buffered() int { return r.r.Buffered() }

func appendElement(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(utf8.RuneCountInString(s)), 10)
	b = append(b, '.')
	return append(b, s...)
}

func (ins Instruction) String() string { return string(ins.Append(nil)) }

// Reader reads instructions from a stream. It counts the bytes it consumed.
type Reader struct {
	r     *bufio.Reader
	val   []byte
	elems [][]byte
	// Bytes is the number of bytes read so far.
	Bytes uint64
}

// NewReader reads instructions from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// ReadRaw reads the next instruction and returns its elements (opcode first). The
// slices are only valid until the next call.
func (r *Reader) ReadRaw() ([][]byte, error) {
	r.val = r.val[:0]
	r.elems = r.elems[:0]
	var offs []int // element boundaries in r.val
	var ends [MaxElements + 1]int
	offs = ends[:0]
	for {
		if len(offs) == MaxElements {
			return nil, fmt.Errorf("%w: more than %d elements", ErrMalformed, MaxElements)
		}
		n, err := r.length()
		if err != nil {
			return nil, err
		}
		if err := r.value(n); err != nil {
			return nil, err
		}
		offs = append(offs, len(r.val))
		c, err := r.r.ReadByte()
		if err != nil {
			return nil, eof(err)
		}
		r.Bytes++
		if c == ';' {
			break
		}
		if c != ',' {
			return nil, fmt.Errorf("%w: %q after an element, want ',' or ';'", ErrMalformed, c)
		}
	}
	start := 0
	for _, end := range offs {
		r.elems = append(r.elems, r.val[start:end])
		start = end
	}
	return r.elems, nil
}

// Read reads the next instruction as strings.
func (r *Reader) Read() (Instruction, error) {
	el, err := r.ReadRaw()
	if err != nil {
		return Instruction{}, err
	}
	ins := Instruction{Opcode: string(el[0]), Args: make([]string, len(el)-1)}
	for i, e := range el[1:] {
		ins.Args[i] = string(e)
	}
	return ins, nil
}

// eof turns a clean EOF inside an instruction into io.ErrUnexpectedEOF.
func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// length reads LENGTH and its '.'.
func (r *Reader) length() (int, error) {
	n, digits := 0, 0
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if digits == 0 && len(r.val) == 0 && errors.Is(err, io.EOF) {
				return 0, io.EOF // between instructions: the peer closed cleanly
			}
			return 0, eof(err)
		}
		r.Bytes++
		switch {
		case c >= '0' && c <= '9':
			if digits++; digits > maxLengthDigits {
				return 0, fmt.Errorf("%w: length prefix too long", ErrMalformed)
			}
			n = n*10 + int(c-'0')
		case c == '.' && digits > 0:
			if n > MaxElementChars {
				return 0, fmt.Errorf("%w: element of %d characters over the %d limit", ErrMalformed, n, MaxElementChars)
			}
			return n, nil
		default:
			return 0, fmt.Errorf("%w: %q in a length prefix", ErrMalformed, c)
		}
	}
}

// value reads n characters (UTF-8) onto r.val. Every character is at least one byte, so
// reading the characters still missing as bytes never reads past the element.
func (r *Reader) value(n int) error {
	pos := len(r.val)
	for got := 0; got < n; {
		k := n - got
		if len(r.val)+k > MaxInstruction {
			return fmt.Errorf("%w: instruction over %d bytes", ErrMalformed, MaxInstruction)
		}
		start := len(r.val)
		r.val = append(r.val, make([]byte, k)...)
		if _, err := io.ReadFull(r.r, r.val[start:]); err != nil {
			return eof(err)
		}
		r.Bytes += uint64(k)
		for pos < len(r.val) && got < n {
			size := r.runeLen(r.val[pos:])
			if size == 0 {
				break // a valid character continues beyond what was read
			}
			pos += size
			got++
		}
	}
	return nil
}

// runeLen is the length of the character at the start of b, as utf8.DecodeRune would
// decode it from the whole element (so counts agree with Append's RuneCount): an invalid
// byte is one character. 0 means a valid character continues past b.
func (r *Reader) runeLen(b []byte) int {
	if utf8.FullRune(b) {
		_, size := utf8.DecodeRune(b)
		return size
	}
	// b is the start of a multi-byte sequence: look at what follows without reading it.
	var probe [2 * utf8.UTFMax]byte
	k := copy(probe[:], b)
	next, _ := r.r.Peek(utf8.UTFMax - k)
	k += copy(probe[k:], next)
	if _, size := utf8.DecodeRune(probe[:k]); size > len(b) {
		return 0
	}
	return 1
}
