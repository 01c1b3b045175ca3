package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// IMA ADPCM as AUDIO codec 2 carries it (§ AUDIO_FORMAT, "IMA ADPCM blocks"): per
// channel a header of the predicted sample (i16) and the step index (u8), then 4-bit
// codes frame by frame, two to a byte, the earlier in the low nibble.

// adpcmStep is the IMA/DVI ADPCM step table: 89 steps, 7 to 32767.
var adpcmStep = [89]int32{
	7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
	50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307,
	337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
	2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899,
	15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
}

// adpcmIndex is how the step index moves for the code's magnitude bits.
var adpcmIndex = [8]int32{-1, -1, -1, -1, 2, 4, 6, 8}

// ADPCMState is one channel's decoder (and encoder) state.
type ADPCMState struct {
	Predictor int32 // the last sample, -32768..32767
	Index     int32 // step index, 0..88
}

// decode applies code c and returns the sample.
func (s *ADPCMState) decode(c byte) int16 {
	step := adpcmStep[s.Index]
	diff := step >> 3
	if c&4 != 0 {
		diff += step
	}
	if c&2 != 0 {
		diff += step >> 1
	}
	if c&1 != 0 {
		diff += step >> 2
	}
	if c&8 != 0 {
		s.Predictor -= diff
	} else {
		s.Predictor += diff
	}
	s.Predictor = min(max(s.Predictor, -32768), 32767)
	s.Index = min(max(s.Index+adpcmIndex[c&7], 0), 88)
	return int16(s.Predictor)
}

// encode picks the code whose decoding comes nearest to sample x, applies it and
// returns it. It adds up the decoded difference as it picks the bits, as decode would
// from the code, and picks them without branches: on sound, which bits are set is
// close to random, and mispredicted branches were most of the time spent.
func (s *ADPCMState) encode(x int16) byte {
	step := adpcmStep[s.Index]
	d := int32(x) - s.Predictor
	neg := d >> 31 // -1 if d < 0
	d = (d ^ neg) - neg
	diff := step >> 3
	var c int32
	for bit := int32(4); bit != 0; bit >>= 1 {
		ge := ^(d - step) >> 31 // -1 if d >= step
		c |= bit & ge
		d -= step & ge
		diff += step & ge
		step >>= 1
	}
	diff = (diff ^ neg) - neg
	s.Predictor = min(max(s.Predictor+diff, -32768), 32767)
	s.Index = min(max(s.Index+adpcmIndex[c], 0), 88)
	return byte(c | neg&8)
}

// ADPCMFrames is the number of frames a block of n bytes holds for channels.
func ADPCMFrames(n, channels int) int {
	if channels < 1 || n < 3*channels {
		return 0
	}
	return (n - 3*channels) * 2 / channels
}

// AppendADPCM encodes pcm (S16LE, channels interleaved, whole frames) as one block
// appended to b, starting from and advancing states (one per channel). Encoding whole
// blocks from carried-over states keeps consecutive blocks continuous.
func AppendADPCM(b []byte, pcm []byte, channels int, states []ADPCMState) []byte {
	for c := range channels {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(states[c].Predictor)))
		b = append(b, byte(states[c].Index))
	}
	n := len(pcm) / 2 / channels * channels // whole frames' samples
	b = slices.Grow(b, (n+1)/2)
	if channels == 2 {
		// A frame is a byte: left in the low nibble, right in the high.
		l, r := states[0], states[1]
		for i := 0; i < 2*n; i += 4 {
			cl := l.encode(int16(binary.LittleEndian.Uint16(pcm[i:])))
			cr := r.encode(int16(binary.LittleEndian.Uint16(pcm[i+2:])))
			b = append(b, cl|cr<<4)
		}
		states[0], states[1] = l, r
		return b
	}
	var cur byte
	for i := range n {
		code := states[i%channels].encode(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		if i%2 == 0 {
			cur = code
		} else {
			b = append(b, cur|code<<4)
		}
	}
	if n%2 == 1 {
		b = append(b, cur)
	}
	return b
}

// DecodeADPCM appends the S16LE PCM of one block to out. A block shorter than its
// headers or with a step index over 88 is an error wrapping ErrMalformed.
func DecodeADPCM(out []byte, block []byte, channels int) ([]byte, error) {
	if channels < 1 || channels > 2 || len(block) < 3*channels {
		return out, fmt.Errorf("%w: AUDIO: ADPCM block of %d bytes for %d channels", ErrMalformed, len(block), channels)
	}
	var st [2]ADPCMState
	for c := range channels {
		st[c].Predictor = int32(int16(binary.LittleEndian.Uint16(block[3*c:])))
		st[c].Index = int32(block[3*c+2])
		if st[c].Index > 88 {
			return out, fmt.Errorf("%w: AUDIO: ADPCM step index %d", ErrMalformed, st[c].Index)
		}
	}
	n := ADPCMFrames(len(block), channels) * channels
	codes := block[3*channels:]
	for i := range n {
		c := codes[i/2] >> (4 * (i % 2)) & 15
		out = binary.LittleEndian.AppendUint16(out, uint16(st[i%channels].decode(c)))
	}
	return out, nil
}
