package audio

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/hajimehoshi/go-mp3"

	"github.com/racgate/racgate/render/wire"
)

// MPEG audio layer III frames (ISO/IEC 11172-3 2.4.2.3 and 13818-3 for the lower
// rates): the wire carries whole frames (§ AUDIO_FORMAT), and a server may cut its MP3
// stream anywhere (xrdp hands on whatever its encoder gave), so the framer reassembles.

// mp3Header is what the framer reads of a frame header.
type mp3Header struct {
	size    int // bytes, header included
	samples int // per channel
	rate    int
}

var (
	mp3BitratesV1 = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
	mp3BitratesV2 = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}
	mp3Rates      = [4][3]int{{11025, 12000, 8000}, {}, {22050, 24000, 16000}, {44100, 48000, 32000}} // by version bits
)

// maxMP3Frame is the largest layer III frame: 320 kbit/s at 32 kHz, padded.
const maxMP3Frame = 144*320000/32000 + 1

// parseMP3Header reads the 4-byte header at b, or reports that b does not start one.
// Free-format bitrates (index 0) are refused: their frame size is not in the header.
func parseMP3Header(b []byte) (mp3Header, bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return mp3Header{}, false
	}
	version := b[1] >> 3 & 3 // 0 MPEG-2.5, 1 reserved, 2 MPEG-2, 3 MPEG-1
	layer := b[1] >> 1 & 3   // 1 is layer III
	bi, ri, pad := b[2]>>4, b[2]>>2&3, int(b[2]>>1&1)
	if version == 1 || layer != 1 || ri == 3 {
		return mp3Header{}, false
	}
	rate := mp3Rates[version][ri]
	if version == 3 {
		kbps := mp3BitratesV1[bi]
		if kbps == 0 {
			return mp3Header{}, false
		}
		return mp3Header{size: 144*kbps*1000/rate + pad, samples: 1152, rate: rate}, true
	}
	kbps := mp3BitratesV2[bi]
	if kbps == 0 {
		return mp3Header{}, false
	}
	return mp3Header{size: 72*kbps*1000/rate + pad, samples: 576, rate: rate}, true
}

// mp3Framer cuts a byte stream into whole frames.
type mp3Framer struct {
	buf  []byte // bytes of an unfinished frame, at most maxMP3Frame
	rate int    // of the last frame
}

// frames appends data and returns the whole frames it completes (a new slice) and their samples per channel. Bytes that start no frame
// are dropped.
func (f *mp3Framer) frames(data []byte) (out []byte, samples int) {
	f.buf = append(f.buf, data...)
	i := 0
	for i+4 <= len(f.buf) {
		h, ok := parseMP3Header(f.buf[i:])
		if !ok {
			i++
			continue
		}
		if i+h.size > len(f.buf) {
			break
		}
		out = append(out, f.buf[i:i+h.size]...)
		samples += h.samples
		f.rate = h.rate
		i += h.size
	}
	rest := f.buf[i:]
	if len(rest) > maxMP3Frame {
		rest = rest[len(rest)-maxMP3Frame:]
	}
	f.buf = append(f.buf[:0], rest...)
	return out, samples
}

func (s *Stream) mp3Rate() int {
	if s.mp3Frames.rate != 0 {
		return s.mp3Frames.rate
	}
	return s.format.SampleRate
}

// writeMP3Locked sends the whole frames data completes: undecoded to listeners that
// decode MP3, decoded and coded again for the others.
func (s *Stream) writeMP3Locked(ts uint32, data []byte) {
	frames, samples := s.mp3Frames.frames(data)
	if len(frames) == 0 {
		return
	}
	var d time.Duration
	if rate := s.mp3Rate(); rate > 0 {
		d = time.Duration(samples) * time.Second / time.Duration(rate)
	}
	ts = s.stampLocked(ts, d)
	var pass, adpcm, pcm []byte
	for l := range s.listeners {
		if !l.enabled {
			continue
		}
		switch l.out {
		case wire.CodecMP3:
			if pass == nil {
				pass = wire.Audio{Timestamp: ts, Data: frames}.Append(nil)
			}
			l.pushLocked(pass)
		case wire.CodecADPCM, wire.CodecPCM:
			if pcm == nil {
				var err error
				if pcm, err = s.decodeMP3Locked(frames, samples); err != nil {
					s.log.Warn("audio: MP3 not decodable; its listeners get silence", "err", err)
					pcm = []byte{}
				}
			}
			if len(pcm) == 0 {
				continue
			}
			if l.out == wire.CodecPCM {
				l.pushLocked(wire.Audio{Timestamp: ts, Data: pcm}.Append(nil))
				continue
			}
			if adpcm == nil {
				b := wire.AppendAudioHeader(make([]byte, 0, 9+6+len(pcm)/4+1), ts, 0)
				if len(s.adpcm) != 2 {
					s.adpcm = make([]wire.ADPCMState, 2)
				}
				adpcm = fixAudioLength(wire.AppendADPCM(b, pcm, 2, s.adpcm))
			}
			l.pushLocked(adpcm)
		}
	}
}

// mp3Decoder feeds go-mp3 whole frames through a buffer. go-mp3 decodes as it reads
// and keeps the previous frame for the bit reservoir; reading exactly the samples the
// fed frames hold never makes it read past them, so it never sees an end of stream.
type mp3Decoder struct {
	in  bytes.Buffer
	dec *mp3.Decoder
	out []byte
}

// decodeMP3Locked decodes whole frames holding samples per channel to S16LE stereo.
// go-mp3 is not written for hostile input: a panic in it is this stream's error.
func (s *Stream) decodeMP3Locked(frames []byte, samples int) (pcm []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.mp3 = nil
			pcm, err = nil, fmt.Errorf("audio: MP3 decoder failed: %v", r)
		}
	}()
	if s.mp3 == nil {
		s.mp3 = &mp3Decoder{}
	}
	d := s.mp3
	d.in.Write(frames)
	want := samples * 4
	if d.dec == nil {
		// NewDecoder decodes the first frame at once.
		if d.dec, err = mp3.NewDecoder(&d.in); err != nil {
			s.mp3 = nil
			return nil, fmt.Errorf("audio: MP3: %w", err)
		}
	}
	if cap(d.out) < want {
		d.out = make([]byte, want)
	}
	out := d.out[:want]
	if _, err := io.ReadFull(d.dec, out); err != nil {
		s.mp3 = nil
		return nil, fmt.Errorf("audio: MP3: %w", err)
	}
	return out, nil
}
