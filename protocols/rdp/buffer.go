package rdp

import (
	"encoding/binary"
	"unicode/utf16"
)

// decoder reads fields from one PDU with bounds checks. The first overrun sets
// err and every later read returns zero values, so parsers check err once.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.off < n {
		d.err = errShort
		return false
	}
	return true
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u16be() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

// bytes returns the next n bytes (a sub-slice, not a copy).
func (d *decoder) bytes(n int) []byte {
	if !d.need(n) {
		return nil
	}
	v := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return v
}

func (d *decoder) skip(n int) { d.bytes(n) }

func (d *decoder) rest() []byte { return d.bytes(d.remaining()) }

// Little-endian appenders for building PDUs in reused buffers.

func putU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func putU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func putU16be(b []byte, v uint16) []byte {
	return binary.BigEndian.AppendUint16(b, v)
}

// utf16le encodes s as UTF-16LE without a terminator.
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = putU16(b, c)
	}
	return b
}

// putFixedUTF16 appends s as UTF-16LE in a field of size bytes, truncated so
// that a terminating zero always fits, and zero-padded.
func putFixedUTF16(b []byte, s string, size int) []byte {
	u := utf16le(s)
	if len(u) > size-2 {
		u = u[:(size-2)&^1]
	}
	b = append(b, u...)
	for range size - len(u) {
		b = append(b, 0)
	}
	return b
}

func setU16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }
