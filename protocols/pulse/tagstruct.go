package pulse

import (
	"encoding/binary"
	"fmt"
)

// Tagstruct type tags: every value in a command packet is one tag byte followed
// by the value in network byte order.
const (
	tagString     = 't'
	tagStringNull = 'N'
	tagU32        = 'L'
	tagU8         = 'B'
	tagU64        = 'R'
	tagS64        = 'r'
	tagSampleSpec = 'a'
	tagArbitrary  = 'x'
	tagTrue       = '1'
	tagFalse      = '0'
	tagTimeval    = 'T'
	tagUsec       = 'U'
	tagChannelMap = 'm'
	tagCVolume    = 'v'
	tagPropList   = 'P'
	tagVolume     = 'V'
	tagFormatInfo = 'f'
)

// channelsMax is PA_CHANNELS_MAX: channel maps and volumes longer than this
// are invalid.
const channelsMax = 32

// sampleSpec is pa_sample_spec: format (PA_SAMPLE_*), channels, rate.
type sampleSpec struct {
	format   uint8
	channels uint8
	rate     uint32
}

// encoder appends tagstruct values to a packet.
type encoder struct{ b []byte }

func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(append(e.b, tagU32), v) }
func (e *encoder) u8(v uint8)   { e.b = append(e.b, tagU8, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, tagTrue)
	} else {
		e.b = append(e.b, tagFalse)
	}
}

// string writes s NUL-terminated; s must not contain NUL (checked by callers).
func (e *encoder) string(s string) {
	e.b = append(append(append(e.b, tagString), s...), 0)
}

func (e *encoder) arbitrary(p []byte) {
	e.b = binary.BigEndian.AppendUint32(append(e.b, tagArbitrary), uint32(len(p)))
	e.b = append(e.b, p...)
}

func (e *encoder) sampleSpec(ss sampleSpec) {
	e.b = append(e.b, tagSampleSpec, ss.format, ss.channels)
	e.b = binary.BigEndian.AppendUint32(e.b, ss.rate)
}

func (e *encoder) channelMap(positions []uint8) {
	e.b = append(append(e.b, tagChannelMap, uint8(len(positions))), positions...)
}

func (e *encoder) cvolume(channels int, v uint32) {
	e.b = append(e.b, tagCVolume, uint8(channels))
	for range channels {
		e.b = binary.BigEndian.AppendUint32(e.b, v)
	}
}

// propList writes string properties (each value NUL-terminated, as
// pa_proplist_sets stores it) in the order given as key, value pairs.
func (e *encoder) propList(kv ...string) {
	e.b = append(e.b, tagPropList)
	for i := 0; i+1 < len(kv); i += 2 {
		v := append([]byte(kv[i+1]), 0)
		e.string(kv[i])
		e.u32(uint32(len(v)))
		e.arbitrary(v)
	}
	e.b = append(e.b, tagStringNull)
}

// decoder reads tagstruct values from one packet. The first failure sticks:
// later reads return zero values, and err says what was wrong and where.
// Nothing it reads is trusted: every length is checked against what is left
// of the packet before it is used.
type decoder struct {
	b   []byte
	off int // offset into the packet of b[0], for error messages
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: tagstruct at byte %d: %s", ErrProtocol, d.off, fmt.Sprintf(format, args...))
	}
}

// take returns the next n bytes, or nil (and the sticky error) when the packet
// has fewer.
func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("%d bytes wanted, %d left", n, len(d.b))
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	d.off += n
	return p
}

// tag consumes the tag byte want, or fails.
func (d *decoder) tag(want byte) bool {
	p := d.take(1)
	if p == nil {
		return false
	}
	if p[0] != want {
		d.off--
		d.fail("tag %q where %q was expected", p[0], want)
		return false
	}
	return true
}

func (d *decoder) u32() uint32 {
	if !d.tag(tagU32) {
		return 0
	}
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u8() uint8 {
	if !d.tag(tagU8) {
		return 0
	}
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) usec() uint64 {
	if !d.tag(tagUsec) {
		return 0
	}
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) bool() bool {
	p := d.take(1)
	if p == nil {
		return false
	}
	switch p[0] {
	case tagTrue:
		return true
	case tagFalse:
		return false
	}
	d.off--
	d.fail("tag %q where a boolean was expected", p[0])
	return false
}

// string reads a string or a null string (ok false for null).
func (d *decoder) string() (s string, ok bool) {
	p := d.take(1)
	if p == nil {
		return "", false
	}
	switch p[0] {
	case tagStringNull:
		return "", false
	case tagString:
	default:
		d.off--
		d.fail("tag %q where a string was expected", p[0])
		return "", false
	}
	for i, c := range d.b {
		if c == 0 {
			s = string(d.b[:i])
			d.take(i + 1)
			return s, true
		}
	}
	d.fail("string without its terminating NUL")
	return "", false
}

// arbitrary reads an 'x' value of exactly n bytes (the length the proplist
// entry announced before it).
func (d *decoder) arbitrary(n uint32) []byte {
	if !d.tag(tagArbitrary) {
		return nil
	}
	p := d.take(4)
	if p == nil {
		return nil
	}
	if l := binary.BigEndian.Uint32(p); l != n {
		d.fail("arbitrary of %d bytes where %d were announced", l, n)
		return nil
	}
	if uint64(n) > uint64(len(d.b)) {
		d.fail("arbitrary of %d bytes, %d left", n, len(d.b))
		return nil
	}
	return d.take(int(n))
}

func (d *decoder) sampleSpec() sampleSpec {
	if !d.tag(tagSampleSpec) {
		return sampleSpec{}
	}
	p := d.take(6)
	if p == nil {
		return sampleSpec{}
	}
	return sampleSpec{format: p[0], channels: p[1], rate: binary.BigEndian.Uint32(p[2:])}
}

// channelMap reads a channel map and returns its number of channels.
func (d *decoder) channelMap() int {
	if !d.tag(tagChannelMap) {
		return 0
	}
	p := d.take(1)
	if p == nil {
		return 0
	}
	n := int(p[0])
	if n > channelsMax {
		d.fail("channel map of %d channels", n)
		return 0
	}
	d.take(n)
	return n
}

func (d *decoder) cvolume() {
	if !d.tag(tagCVolume) {
		return
	}
	p := d.take(1)
	if p == nil {
		return
	}
	n := int(p[0])
	if n > channelsMax {
		d.fail("volume of %d channels", n)
		return
	}
	d.take(4 * n)
}

// propList skips a property list: (string key, u32 length, arbitrary value)*
// up to a null string. Each entry consumes bytes, so the loop ends with the
// packet at the latest.
func (d *decoder) propList() {
	if !d.tag(tagPropList) {
		return
	}
	for d.err == nil {
		k, ok := d.string()
		if !ok || d.err != nil {
			return
		}
		if k == "" {
			d.fail("empty property name")
			return
		}
		n := d.u32()
		d.arbitrary(n)
	}
}

// formatInfo skips a pa_format_info: encoding (u8) and a property list.
func (d *decoder) formatInfo() {
	if !d.tag(tagFormatInfo) {
		return
	}
	d.u8()
	d.propList()
}
