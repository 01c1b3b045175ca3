package wire

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Sound from the remote machine (AUDIO, AUDIO_FORMAT) and the client's mute switch
// (AUDIO_ENABLE), docs/protocol.md.
const (
	TypeAudioFormat Type = 0x12
	TypeAudioEnable Type = 0x89
)

// FlagAudio in HELLO: the connection has sound.
const FlagAudio = 8

// Codec is an AUDIO_FORMAT codec (§ AUDIO_FORMAT's table).
type Codec uint8

const (
	CodecNone  Codec = 0
	CodecPCM   Codec = 1 // S16LE, channels interleaved
	CodecADPCM Codec = 2 // IMA ADPCM blocks, § AUDIO_FORMAT
	CodecOpus  Codec = 3 // one Opus packet
	CodecMP3   Codec = 4 // whole MPEG audio layer III frames
)

var codecNames = [...]string{CodecPCM: "pcm", CodecADPCM: "adpcm", CodecOpus: "opus", CodecMP3: "mp3"}

// String is the codec's name in the connect request's audio parameter.
func (c Codec) String() string {
	if int(c) < len(codecNames) && codecNames[c] != "" {
		return codecNames[c]
	}
	if c == CodecNone {
		return "none"
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}

// ParseCodecs reads the connect request's audio parameter: codec names separated by
// commas, in the client's order of preference. Unknown names and repeats are skipped.
func ParseCodecs(s string) []Codec {
	var out []Codec
	for name := range strings.SplitSeq(s, ",") {
		for c, n := range codecNames {
			if n != "" && n == strings.TrimSpace(name) && !containsCodec(out, Codec(c)) {
				out = append(out, Codec(c))
			}
		}
	}
	return out
}

func containsCodec(cs []Codec, c Codec) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// Audio limits (§ AUDIO_FORMAT).
const (
	MinSampleRate = 8000
	MaxSampleRate = 192000
)

// Audio is AUDIO (0x0D): one packet, played at Timestamp ms on the connection's audio
// clock. Data aliases the decoded input.
type Audio struct {
	Timestamp uint32
	Data      []byte
}

// AudioFormat is AUDIO_FORMAT (0x12): the format of the AUDIO messages that follow.
// Config aliases the decoded input.
type AudioFormat struct {
	Codec      Codec
	Channels   int
	SampleRate int
	Config     []byte
}

// AudioEnable is AUDIO_ENABLE (0x89), client to server.
type AudioEnable struct{ Enabled bool }

func (Audio) Type() Type       { return TypeAudio }
func (AudioFormat) Type() Type { return TypeAudioFormat }
func (AudioEnable) Type() Type { return TypeAudioEnable }

func (m Audio) Append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(header(b, TypeAudio, 4+len(m.Data)), m.Timestamp)
	return append(b, m.Data...)
}

// AppendAudioHeader appends an AUDIO header for n bytes of data that the caller
// appends next.
func AppendAudioHeader(b []byte, timestamp uint32, n int) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypeAudio, 4+n), timestamp)
}

func (m AudioFormat) Append(b []byte) []byte {
	b = append(header(b, TypeAudioFormat, 6+len(m.Config)), byte(m.Codec), byte(m.Channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.SampleRate))
	return append(b, m.Config...)
}

func (m AudioEnable) Append(b []byte) []byte {
	v := byte(0)
	if m.Enabled {
		v = 1
	}
	return append(header(b, TypeAudioEnable, 1), v)
}

func decodeAudioFormat(b, rest, p []byte) (Message, []byte, error) {
	m := AudioFormat{Codec: Codec(p[0]), Channels: int(p[1]), SampleRate: int(binary.LittleEndian.Uint32(p[2:])), Config: p[6:]}
	if m.Codec == CodecNone {
		if m.Channels != 0 || m.SampleRate != 0 {
			return nil, b, malformed(TypeAudioFormat, "codec 0 with %d channels at %d Hz", m.Channels, m.SampleRate)
		}
		return m, rest, nil
	}
	if m.Channels < 1 || m.Channels > 2 {
		return nil, b, malformed(TypeAudioFormat, "%d channels, want 1 or 2", m.Channels)
	}
	if m.SampleRate < MinSampleRate || m.SampleRate > MaxSampleRate {
		return nil, b, malformed(TypeAudioFormat, "sample rate %d, want %d-%d", m.SampleRate, MinSampleRate, MaxSampleRate)
	}
	return m, rest, nil
}

func decodeAudioEnable(b, rest, p []byte) (Message, []byte, error) {
	if p[0] > 1 {
		return nil, b, malformed(TypeAudioEnable, "enabled is %d", p[0])
	}
	return AudioEnable{Enabled: p[0] == 1}, rest, nil
}
