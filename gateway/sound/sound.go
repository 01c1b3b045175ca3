// Package sound adapts the remote machines' sound to render/audio's streams: the wave
// formats racgate offers an RDP server and how it reads what the server sends (RDP), and
// the PulseAudio recorder a VNC connection runs beside it, dialing again after failures
// (RecordPulse).
package sound

import (
	"context"
	"log/slog"
	"time"

	"github.com/racgate/racgate/protocols/pulse"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render/audio"
	"github.com/racgate/racgate/render/wire"
)

// The RDP wave formats racgate offers (MS-RDPEA 2.2.2.1.1 AUDIO_FORMAT).
const (
	rdpAudioRate        = 44100
	rdpAudioLowRate     = 22050
	rdpAudioChannels    = 2
	rdpAudioBitrateMP3  = 128000 / 8
	rdpAudioBitrateOpus = 96000 / 8
)

// RDPFormats is what racgate offers an RDP server for a browser decoding codecs:
// Opus where the browser decodes it (it passes through), MP3 (the browser decodes it, or
// racgate does: either way ten times smaller than PCM on the server's leg), and PCM.
func RDPFormats(codecs []wire.Codec) []rdp.AudioFormat {
	var fs []rdp.AudioFormat
	for _, c := range codecs {
		if c == wire.CodecOpus {
			for _, tag := range []uint16{rdp.WaveFormatOpusXRDP, rdp.WaveFormatOpus} {
				fs = append(fs, rdp.AudioFormat{Tag: tag, Channels: rdpAudioChannels, SamplesPerSec: rdpAudioRate,
					AvgBytesPerSec: rdpAudioBitrateOpus, BlockAlign: 4, BitsPerSample: 16})
			}
		}
	}
	// MPEGLAYER3WAVEFORMAT: wID MPEGLAYER3_ID_MPEG, fdwFlags PADDING_OFF, nBlockSize of a
	// 128 kbit/s frame, nFramesPerBlock 1, nCodecDelay lame's 1393.
	mp3Extra := []byte{1, 0, 2, 0, 0, 0, 0xa1, 0x01, 1, 0, 0x71, 0x05}
	fs = append(fs,
		rdp.AudioFormat{Tag: rdp.WaveFormatMP3, Channels: rdpAudioChannels, SamplesPerSec: rdpAudioRate,
			AvgBytesPerSec: rdpAudioBitrateMP3, BlockAlign: 1, BitsPerSample: 0, Extra: mp3Extra},
		rdp.AudioFormat{Tag: rdp.WaveFormatPCM, Channels: rdpAudioChannels, SamplesPerSec: rdpAudioRate,
			AvgBytesPerSec: rdpAudioRate * 4, BlockAlign: 4, BitsPerSample: 16},
		rdp.AudioFormat{Tag: rdp.WaveFormatPCM, Channels: rdpAudioChannels, SamplesPerSec: rdpAudioLowRate,
			AvgBytesPerSec: rdpAudioLowRate * 4, BlockAlign: 4, BitsPerSample: 16},
	)
	return fs
}

// rdpStreamFormat is the stream format of an RDP wave format racgate offered.
func rdpStreamFormat(f rdp.AudioFormat) (audio.Format, bool) {
	out := audio.Format{SampleRate: int(f.SamplesPerSec), Channels: int(f.Channels)}
	switch f.Tag {
	case rdp.WaveFormatPCM:
		if f.BitsPerSample != 16 {
			return out, false
		}
		out.Codec = wire.CodecPCM
	case rdp.WaveFormatMP3:
		out.Codec = wire.CodecMP3
	case rdp.WaveFormatOpus, rdp.WaveFormatOpusXRDP:
		// xrdp feeds 44.1 kHz sound to an Opus encoder set to 48 kHz and announces
		// 44.1 kHz: the decoded samples play at the announced rate (docs/protocol.md).
		out.Codec = wire.CodecOpus
	default:
		return out, false
	}
	if out.Channels < 1 || out.Channels > 2 || out.SampleRate < wire.MinSampleRate || out.SampleRate > wire.MaxSampleRate {
		return out, false
	}
	return out, true
}

// RDP passes an RDP connection's sound into its stream (rdp.AudioHandler). Its methods
// run on the RDP client's goroutine.
type RDP struct {
	S   *audio.Stream
	Log *slog.Logger
	bad uint16 // a format already logged as unusable
}

func (a *RDP) AudioWave(f rdp.AudioFormat, at time.Duration, data []byte) {
	sf, ok := rdpStreamFormat(f)
	if !ok {
		if a.bad != f.Tag {
			a.bad = f.Tag
			a.Log.Warn("rdp: sound in a format racgate cannot pass on; dropped", "tag", f.Tag, "rate", f.SamplesPerSec, "channels", f.Channels)
		}
		return
	}
	a.S.SetFormat(sf)
	a.S.Write(uint32(at/time.Millisecond), data)
}

func (a *RDP) AudioClose() { a.S.SetFormat(audio.Format{}) }

// AudioVolume: the server's volume is the remote user's choice; the browser's own volume
// control is the viewer's. Not applied (Guacamole does not either).
func (a *RDP) AudioVolume(left, right uint16) {
	a.Log.Debug("rdp: sound volume", "left", left, "right", right)
}

// PulsePacket is the sound a VNC connection's packets carry, and the fragment asked
// of PulseAudio: 40 ms, so 25 packets a second (each a websocket write on every side
// of the path, and a wake-up of the recorder), adding at most that to the latency.
const PulsePacket = 40 * time.Millisecond

// Retry pacing for a PulseAudio server that is down or goes away.
const (
	pulseRetryMin = time.Second
	pulseRetryMax = 30 * time.Second
)

// RecordPulse records the PulseAudio server at addr into s until ctx ends, dialing
// again after a failure: sound is an extra, so a sound server that is down or breaks
// never ends the VNC session.
func RecordPulse(ctx context.Context, addr string, s *audio.Stream, dial func(context.Context, pulse.Config) (*pulse.Recorder, error), log *slog.Logger) {
	wait := pulseRetryMin
	var clock time.Time // the stream's clock starts with the first recording
	for ctx.Err() == nil {
		start := time.Now()
		r, err := dial(ctx, pulse.Config{Addr: addr, Fragment: PulsePacket})
		if err == nil {
			if clock.IsZero() {
				clock = start
			}
			// A recording's media time counts its samples; it starts where the wall
			// clock is, so a reconnection's silence shows as a gap.
			offset := start.Sub(clock)
			rate, ch := r.Format()
			s.SetFormat(audio.Format{Codec: wire.CodecPCM, SampleRate: rate, Channels: ch})
			log.Info("sound: recording from PulseAudio", "server", addr)
			err = r.Run(ctx, func(pcm []byte, at time.Duration) {
				s.Write(uint32((offset+at)/time.Millisecond), pcm)
			})
			r.Close()
			s.SetFormat(audio.Format{})
			if time.Since(start) > pulseRetryMax {
				wait = pulseRetryMin // it worked for a while: a fresh failure
			}
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("sound: PulseAudio server unavailable; retrying", "server", addr, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, pulseRetryMax)
	}
}
