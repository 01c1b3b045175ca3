package pulse

import (
	"encoding/binary"
	"fmt"
	"io"
)

// A pstream frame: a 20-byte descriptor of five big-endian u32s (payload
// length, channel, offset high, offset low, flags) and the payload. Channel
// 0xFFFFFFFF carries a command packet (a tagstruct); any other channel carries
// audio (a memblock) of the stream with that index.
const (
	descriptorSize = 20
	channelPacket  = 0xFFFFFFFF

	// maxPacket bounds a command packet. The replies this client asks for
	// are a few hundred bytes to a few KiB (a sink with a long property list);
	// anything near this is garbage.
	maxPacket = 256 << 10
	// maxMemblock bounds an audio frame: PulseAudio's own limit
	// (FRAME_SIZE_MAX_ALLOW). A server sends at most fragsize bytes at a
	// time; Run reads memblocks through a fixed buffer in any case, so this
	// bounds time spent on one frame, not memory.
	maxMemblock = 16 << 20

	flagSHMMask  = 0xFF000000 // SHM data, release and revoke frames: never negotiated here
	flagSeekMask = 0x000000FF // a memblock's seek mode
	seekMax      = 3          // PA_SEEK_RELATIVE_END
)

// frameHeader is a parsed and checked descriptor.
type frameHeader struct {
	length  uint32
	channel uint32
	offset  int64
	flags   uint32
}

// parseDescriptor checks a descriptor as PulseAudio's pstream does, and
// stricter: a zero or oversized length, SHM flags (shared memory is never
// negotiated over TCP by this client), flags on a packet and an unknown seek
// mode are protocol errors.
func parseDescriptor(b *[descriptorSize]byte) (frameHeader, error) {
	h := frameHeader{
		length:  binary.BigEndian.Uint32(b[0:]),
		channel: binary.BigEndian.Uint32(b[4:]),
		offset:  int64(binary.BigEndian.Uint64(b[8:])),
		flags:   binary.BigEndian.Uint32(b[16:]),
	}
	if h.flags&flagSHMMask != 0 {
		return h, fmt.Errorf("%w: shared-memory frame (flags %#x) on a connection without shared memory", ErrProtocol, h.flags)
	}
	if h.length == 0 {
		return h, fmt.Errorf("%w: empty frame", ErrProtocol)
	}
	if h.channel == channelPacket {
		if h.flags != 0 {
			return h, fmt.Errorf("%w: command packet with flags %#x", ErrProtocol, h.flags)
		}
		if h.length > maxPacket {
			return h, fmt.Errorf("%w: command packet of %d bytes (limit %d)", ErrProtocol, h.length, maxPacket)
		}
		return h, nil
	}
	if h.flags&flagSeekMask > seekMax {
		return h, fmt.Errorf("%w: memblock with seek mode %d", ErrProtocol, h.flags&flagSeekMask)
	}
	if h.length > maxMemblock {
		return h, fmt.Errorf("%w: memblock of %d bytes (limit %d)", ErrProtocol, h.length, maxMemblock)
	}
	return h, nil
}

// appendPacket appends the frame of command packet p to b.
func appendPacket(b, p []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	b = binary.BigEndian.AppendUint32(b, channelPacket)
	b = binary.BigEndian.AppendUint64(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	return append(b, p...)
}

// readPayload is io.ReadFull for bytes inside a frame: the stream ending there
// is io.ErrUnexpectedEOF even when none of p was read.
func readPayload(r io.Reader, p []byte) error {
	_, err := io.ReadFull(r, p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
