package recording

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// Recording is a desktop recording's index: where each key frame is, how long it lasts,
// and whether it ended cleanly. Read builds it from the file.
type Recording struct {
	Meta     Meta
	Keys     []Key         // key frames in file order
	Duration time.Duration // the last record's time
	Records  int           // whole records
	End      int64         // offset just past the last whole record
	Ended    bool          // the file has its end record (not cut off by a crash)
	Reason   string        // the end record's reason
	Torn     bool          // the file ends in a partial record (a crash while writing)
	First    int64         // offset of the first record
}

// Key is a key frame: a player that starts drawing here, on an empty canvas, has the
// remote screen as it was At. A delta key frame (KindDelta) is drawn over the picture of
// the full key frame at Base, whose records end at BaseEnd (with its FRAME): a player
// plays those first (From).
type Key struct {
	At     time.Duration
	Offset int64
	Delta  bool
	Base   int64
	// BaseEnd is, for a delta key frame, the end of its base's picture; for a full one,
	// the end of its own (0 until its FRAME is found).
	BaseEnd int64
}

// ReadMeta reads a desktop recording's header only, and returns it with the offset of
// the first record.
func ReadMeta(r io.ReaderAt, size int64) (Meta, int64, error) {
	head := make([]byte, len(Magic)+4)
	if _, err := r.ReadAt(head, 0); err != nil {
		return Meta{}, 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if string(head[:len(Magic)]) != Magic {
		return Meta{}, 0, fmt.Errorf("%w: no magic", ErrFormat)
	}
	n := binary.LittleEndian.Uint32(head[len(Magic):])
	if n > maxMeta || int64(len(head))+int64(n) > size {
		return Meta{}, 0, fmt.Errorf("%w: header of %d bytes", ErrFormat, n)
	}
	meta := make([]byte, n)
	if _, err := r.ReadAt(meta, int64(len(head))); err != nil {
		return Meta{}, 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	var m Meta
	if err := json.Unmarshal(meta, &m); err != nil {
		return Meta{}, 0, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if m.Version < MinVersion || m.Version > Version {
		return Meta{}, 0, fmt.Errorf("%w: version %d, this racgate reads %d to %d", ErrFormat, m.Version, MinVersion, Version)
	}
	return m, int64(len(head)) + int64(n), nil
}

// ReadCastMeta reads an asciicast file's header line as this package writes it: the
// racgate fields, and the terminal's first size.
func ReadCastMeta(r io.Reader) (m Meta, cols, rows int, err error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxMeta), maxMeta).ReadSlice('\n')
	if err != nil {
		return Meta{}, 0, 0, fmt.Errorf("%w: asciicast header: %v", ErrFormat, err)
	}
	var h castHeader
	if err := json.Unmarshal(line, &h); err != nil || h.Version != 2 {
		return Meta{}, 0, 0, fmt.Errorf("%w: not an asciicast v2 header", ErrFormat)
	}
	return h.Racgate, h.Width, h.Height, nil
}

// Read reads the header and indexes the records of the size bytes of r. A partial last
// record (a crash) ends the index; a record whose length is over MaxRecord, or a
// header that is not one, is an error wrapping ErrFormat.
func Read(r io.ReaderAt, size int64) (*Recording, error) {
	m, first, err := ReadMeta(r, size)
	if err != nil {
		return nil, err
	}
	rec := &Recording{Meta: m, First: first}
	if err := rec.index(r, size); err != nil {
		return nil, err
	}
	return rec, nil
}

// index walks the records in blocks: most records are small, and one read per record
// would be a system call per frame of a long recording.
func (rec *Recording) index(r io.ReaderAt, size int64) error {
	const block = 256 << 10
	buf := make([]byte, block)
	off := rec.First
	rec.End = off
	var bufOff, bufLen int64   // buf holds [bufOff, bufOff+bufLen)
	base, picture := -1, false // the last full key frame in Keys, and whether its FRAME is still to come
	var scratch []byte
	var err error
	for off < size {
		if off+recordHeader > size {
			rec.Torn = true
			return nil
		}
		if off < bufOff || off+recordHeader > bufOff+bufLen {
			bufOff = off
			n, err := r.ReadAt(buf[:min(block, size-off)], off)
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			bufLen = int64(n)
			if bufLen < recordHeader {
				rec.Torn = true
				return nil
			}
		}
		h := buf[off-bufOff:]
		kind := h[0]
		at := time.Duration(binary.LittleEndian.Uint32(h[1:])) * time.Millisecond
		n := int64(binary.LittleEndian.Uint32(h[5:]))
		if n > MaxRecord {
			return fmt.Errorf("%w: record at %d of %d bytes, over %d", ErrFormat, off, n, MaxRecord)
		}
		next := off + recordHeader + n
		if next > size {
			rec.Torn = true
			return nil
		}
		switch kind {
		case KindOutput:
			if picture {
				// The last full key frame's picture ends with the record of its FRAME.
				if picture, err = rec.pictureEnds(r, base, off, n, &scratch); err != nil {
					return err
				}
			}
		case KindKey:
			rec.Keys = append(rec.Keys, Key{At: at, Offset: off})
			base = len(rec.Keys) - 1
			if picture, err = rec.pictureEnds(r, base, off, n, &scratch); err != nil {
				return err
			}
		case KindDelta:
			// Playable only over a whole picture: a delta with none before it is no key
			// frame, nor is any after it until the next full one.
			if base < 0 || picture {
				base, picture = -1, false
				break
			}
			b := rec.Keys[base]
			rec.Keys = append(rec.Keys, Key{At: at, Offset: off, Delta: true, Base: b.Offset, BaseEnd: b.BaseEnd})
		case KindEnd:
			rec.Ended = true
			var end struct {
				Reason string `json:"reason"`
			}
			p := make([]byte, n)
			if _, err := r.ReadAt(p, off+recordHeader); err == nil && json.Unmarshal(p, &end) == nil {
				rec.Reason = end.Reason
			}
		}
		rec.Duration = max(rec.Duration, at)
		rec.Records++
		off = next
		rec.End = off
	}
	return nil
}

// pictureEnds reports whether the record at off, of n bytes, leaves the picture of the
// full key frame Keys[base] still to be finished: false once it holds a FRAME, which
// sets the key frame's BaseEnd.
func (rec *Recording) pictureEnds(r io.ReaderAt, base int, off, n int64, scratch *[]byte) (bool, error) {
	p := slices.Grow((*scratch)[:0], int(n))[:n]
	*scratch = p
	if _, err := r.ReadAt(p, off+recordHeader); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	for len(p) >= 5 {
		t, l := wire.Type(p[0]), binary.LittleEndian.Uint32(p[1:])
		if uint64(l) > uint64(len(p)-5) {
			break
		}
		if t == wire.TypeFrame {
			rec.Keys[base].BaseEnd = off + recordHeader + n
			return false, nil
		}
		p = p[5+l:]
	}
	return true, nil
}

// From is what a player reads to start at k: for a delta key frame, its base's picture
// and then the records from k to the end; for a full one, the records from k. n is
// their length.
func (rec *Recording) From(r io.ReaderAt, k Key) (rd io.Reader, n int64) {
	from := io.NewSectionReader(r, k.Offset, rec.End-k.Offset)
	if !k.Delta {
		return from, from.Size()
	}
	pic := io.NewSectionReader(r, k.Base, k.BaseEnd-k.Base)
	return io.MultiReader(pic, from), pic.Size() + from.Size()
}

// KeyBefore is the last key frame at or before at (the first key frame if at is before
// it); ok is false when the recording has none.
func (rec *Recording) KeyBefore(at time.Duration) (k Key, ok bool) {
	if len(rec.Keys) == 0 {
		return Key{}, false
	}
	lo, hi := 0, len(rec.Keys) // binary search: the first key after at
	for lo < hi {
		m := (lo + hi) / 2
		if rec.Keys[m].At <= at {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return rec.Keys[max(lo-1, 0)], true
}

// Record is one record as Next returns it. Payload aliases Next's buffer.
type Record struct {
	Kind    byte
	At      time.Duration
	Payload []byte
}

// Next decodes the first record of b and returns it with the rest; ok is false when b
// does not hold a whole record.
func Next(b []byte) (r Record, rest []byte, ok bool) {
	if len(b) < recordHeader {
		return Record{}, b, false
	}
	n := int(binary.LittleEndian.Uint32(b[5:]))
	if n > MaxRecord || len(b)-recordHeader < n {
		return Record{}, b, false
	}
	return Record{
		Kind:    b[0],
		At:      time.Duration(binary.LittleEndian.Uint32(b[1:])) * time.Millisecond,
		Payload: b[recordHeader : recordHeader+n],
	}, b[recordHeader+n:], true
}

// IsRecording reports whether b begins like a desktop recording.
func IsRecording(b []byte) bool { return bytes.HasPrefix(b, []byte(Magic)) }
