package rdp_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/internal/tone"
	"github.com/racgate/racgate/protocols/rdp"
)

// audioRecorder is an rdp.AudioHandler that keeps everything it is given.
type audioRecorder struct {
	mu      sync.Mutex
	waves   []recordedWave
	closes  int
	volumes [][2]uint16
}

type recordedWave struct {
	f    rdp.AudioFormat
	at   time.Duration
	data []byte
}

func (r *audioRecorder) AudioWave(f rdp.AudioFormat, at time.Duration, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waves = append(r.waves, recordedWave{f, at, bytes.Clone(data)})
}

func (r *audioRecorder) AudioClose() { r.mu.Lock(); r.closes++; r.mu.Unlock() }

func (r *audioRecorder) AudioVolume(left, right uint16) {
	r.mu.Lock()
	r.volumes = append(r.volumes, [2]uint16{left, right})
	r.mu.Unlock()
}

func (r *audioRecorder) snapshot() (waves []recordedWave, closes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedWave(nil), r.waves...), r.closes
}

// waitClose waits until the server closed the stream (it does once it
// has sent every wave it had) or Run ends.
func (r *audioRecorder) waitClose(t *testing.T, s *session, within time.Duration) []recordedWave {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		waves, closes := r.snapshot()
		if closes > 0 {
			return waves
		}
		select {
		case err := <-s.errc:
			t.Fatalf("Run ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SNDC_CLOSE after %v (%d waves)", within, len(waves))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const (
	toneFreq   = 440
	toneLength = 3 * time.Second
)

var pcm44100Stereo = rdp.AudioFormat{Tag: rdp.WaveFormatPCM, Channels: 2, SamplesPerSec: 44100, AvgBytesPerSec: 176400, BlockAlign: 4, BitsPerSample: 16}

// playXRDPTone logs into xrdp with cfg (Audio set to a recorder), plays a
// 440 Hz tone for toneLength into chansrv's audio socket, and returns the
// PCM played, the waves received up to the server's SNDC_CLOSE and the
// stopped client.
func playXRDPTone(t *testing.T, formats []rdp.AudioFormat) ([]byte, []recordedWave, *rdp.Client) {
	peers.Require(t, "xrdp-chansrv")
	srv := peers.StartXRDP(t, peers.XRDPOptions{})
	rec := &audioRecorder{}
	s := connect(t, srv, rdp.Config{Username: srv.User, Password: srv.Password, IgnoreCert: true, Security: "tls",
		Audio: rec, AudioFormats: formats})
	x := srv.WaitSession(t, 30*time.Second)
	out := peers.DialXRDPAudioOut(t, x.Display, 30*time.Second)
	played, err := out.PlayTone(toneFreq, toneLength, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	waves := rec.waitClose(t, s, 15*time.Second)
	s.stop(t)
	checkXRDPAudioChannels(t, s.c)
	if len(waves) == 0 {
		t.Fatal("no waves")
	}
	var sizes []int
	for _, w := range waves {
		sizes = append(sizes, len(w.data))
	}
	t.Logf("%d waves, sizes %v, timestamps %v .. %v", len(waves), sizes, waves[0].at, waves[len(waves)-1].at)
	// Timestamps: from 0, never back, spanning about the time played
	// (xrdp stamps each wave with its clock when it sends it).
	if waves[0].at != 0 {
		t.Errorf("first wave at %v", waves[0].at)
	}
	for i := 1; i < len(waves); i++ {
		if waves[i].at < waves[i-1].at {
			t.Errorf("wave %d at %v, before wave %d at %v", i, waves[i].at, i-1, waves[i-1].at)
		}
	}
	if span := waves[len(waves)-1].at; span < toneLength/2 || span > toneLength*3/2 {
		t.Errorf("waves span %v of server time for %v played", span, toneLength)
	}
	// One Wave Confirm per wave; xrdp sending to the end shows it took
	// them (it drops sound when the confirms lag).
	if n := rdp.AudioConfirms(s.c); n != len(waves) {
		t.Errorf("%d Wave Confirm PDUs for %d waves", n, len(waves))
	}
	return played, waves, s.c
}

// TestXRDPAudioPCM plays a 440 Hz tone into an xrdp session and checks
// what arrives offering PCM 44.1 kHz stereo (the default): the sound is
// the tone (frequency, purity, no gaps), byte for byte what was played
// (xrdp forwards PCM as is, in waves of 8192 bytes, and drops the last
// partial wave on close), in the agreed format, and every wave was
// confirmed.
func TestXRDPAudioPCM(t *testing.T) {
	played, waves, _ := playXRDPTone(t, nil)
	var got []byte
	for i, w := range waves {
		if !formatEqual(w.f, pcm44100Stereo) {
			t.Fatalf("wave %d in format %+v, want %+v", i, w.f, pcm44100Stereo)
		}
		got = append(got, w.data...)
	}
	x := tone.Mono(got, 2, 0)
	f, p := tone.Frequency(x, 44100), tone.Power(x, 44100, toneFreq)
	gap := tone.LongestGap(x, 0.01)
	t.Logf("received %d of %d bytes: %.2f Hz, power %.3f, longest gap %d samples", len(got), len(played), f, p, gap)
	if f < toneFreq*0.99 || f > toneFreq*1.01 || p < 0.8 {
		t.Errorf("received sound: %.2f Hz with power %.3f at %d Hz", f, p, toneFreq)
	}
	if gap > 441 {
		t.Errorf("a gap of %d samples in the sound", gap)
	}
	if len(got) < len(played)-8192 || !bytes.HasPrefix(played, got) {
		i := 0
		for i < len(got) && i < len(played) && got[i] == played[i] {
			i++
		}
		t.Errorf("received %d bytes for %d played, equal to what was played up to byte %d", len(got), len(played), i)
	}
}

// TestXRDPAudioOpus offers xrdp's Opus (tag 0x0069) before PCM and checks
// that the tone arrives as Opus: every packet's TOC byte (RFC 6716 3.1)
// is valid and the packets together last as long as the sound played
// (within 20%; xrdp's 2880-sample packets of 44.1 kHz sound last 60 ms at
// Opus's 48 kHz, 65.3 ms at 44.1 kHz).
func TestXRDPAudioOpus(t *testing.T) {
	opus := rdp.AudioFormat{Tag: rdp.WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 44100}
	_, waves, _ := playXRDPTone(t, []rdp.AudioFormat{opus, pcm44100Stereo})
	var total time.Duration
	for i, w := range waves {
		if w.f.Tag != rdp.WaveFormatOpusXRDP || w.f.Channels != 2 || w.f.SamplesPerSec != 44100 {
			t.Fatalf("wave %d in format %+v, want Opus", i, w.f)
		}
		d, err := opusPacketDuration(w.data)
		if err != nil {
			t.Fatalf("wave %d (%d bytes, TOC %#02x): %v", i, len(w.data), w.data[0], err)
		}
		total += d
	}
	t.Logf("%d Opus packets, %v in all, first TOC %#02x", len(waves), total, waves[0].data[0])
	if total < toneLength*8/10 || total > toneLength*12/10 {
		t.Errorf("Opus packets last %v for %v played", total, toneLength)
	}
}

// checkXRDPAudioChannels checks, after Run returned, the channels that
// Config.Audio requests besides rdpsnd: xrdp's DVC manager negotiated
// version 2 (it sends DYNVC_CAPS_VERSION2 and takes only 2 or 3 back) and
// asked to open Microsoft::Windows::RDS::DisplayControl, which the client
// refused; chansrv's rdpdr ran the initialization to the end (Server
// Announce, the five capability sets, Client ID Confirm, User Logged On)
// with no devices announced.
func checkXRDPAudioChannels(t *testing.T, c *rdp.Client) {
	t.Helper()
	if v := rdp.DVCVersion(c); v != 2 {
		t.Errorf("DVC version %d, want 2", v)
	}
	if refused := rdp.DVCRefused(c); !slices.Equal(refused, []string{"Microsoft::Windows::RDS::DisplayControl"}) {
		t.Errorf("refused DVCs %q", refused)
	}
	announced, confirmed, loggedOn, caps := rdp.RdpdrProgress(c)
	if !announced || !confirmed || !loggedOn || len(caps) != 5 {
		t.Errorf("rdpdr: announced %v, confirmed %v, logged on %v, server capability sets %v", announced, confirmed, loggedOn, caps)
	}
	t.Logf("drdynvc version %d, refused %q; rdpdr server capability sets %v", rdp.DVCVersion(c), rdp.DVCRefused(c), caps)
}

func formatEqual(a, b rdp.AudioFormat) bool {
	return a.Tag == b.Tag && a.Channels == b.Channels && a.SamplesPerSec == b.SamplesPerSec &&
		a.AvgBytesPerSec == b.AvgBytesPerSec && a.BlockAlign == b.BlockAlign && a.BitsPerSample == b.BitsPerSample &&
		bytes.Equal(a.Extra, b.Extra)
}

// opusPacketDuration checks an Opus packet's framing against RFC 6716 3.1
// (TOC byte) and 3.2 (frame packing, requirements R1-R7) and returns how
// long it plays.
func opusPacketDuration(p []byte) (time.Duration, error) {
	if len(p) < 1 {
		return 0, errors.New("empty packet (R1)")
	}
	toc := p[0]
	config := toc >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		frame = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // Hybrid: 10, 20 ms
		frame = []time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	rest := p[1:]
	// frameLen reads a frame length (3.2.1).
	frameLen := func() (int, error) {
		if len(rest) < 1 {
			return 0, errors.New("missing frame length")
		}
		if rest[0] < 252 {
			n := int(rest[0])
			rest = rest[1:]
			return n, nil
		}
		if len(rest) < 2 {
			return 0, errors.New("truncated frame length")
		}
		n := int(rest[1])*4 + int(rest[0])
		rest = rest[2:]
		return n, nil
	}
	var frames int
	switch toc & 3 {
	case 0: // one frame
		frames = 1
		if len(rest) > 1275 {
			return 0, fmt.Errorf("frame of %d bytes (R2)", len(rest))
		}
	case 1: // two frames of equal size
		frames = 2
		if len(rest)%2 != 0 || len(rest)/2 > 1275 {
			return 0, fmt.Errorf("%d bytes for two equal frames (R3)", len(rest))
		}
	case 2: // two frames, the first's length coded
		frames = 2
		n, err := frameLen()
		if err != nil {
			return 0, err
		}
		if n > len(rest) || len(rest)-n > 1275 {
			return 0, fmt.Errorf("first frame of %d bytes in %d (R4)", n, len(rest))
		}
	case 3: // code 3: frame count byte
		if len(rest) < 1 {
			return 0, errors.New("no frame count byte (R6)")
		}
		fc := rest[0]
		rest = rest[1:]
		vbr, padded, m := fc&0x80 != 0, fc&0x40 != 0, int(fc&0x3F)
		if m == 0 || time.Duration(m)*frame > 120*time.Millisecond {
			return 0, fmt.Errorf("%d frames of %v (R5)", m, frame)
		}
		frames = m
		pad := 0
		if padded {
			for {
				if len(rest) < 1 {
					return 0, errors.New("truncated padding length")
				}
				b := rest[0]
				rest = rest[1:]
				if b == 255 {
					pad += 254
					continue
				}
				pad += int(b)
				break
			}
		}
		if pad > len(rest) {
			return 0, fmt.Errorf("%d bytes of padding in %d (R6/R7)", pad, len(rest))
		}
		data := len(rest) - pad
		if vbr {
			sum := 0
			for range m - 1 {
				n, err := frameLen()
				if err != nil {
					return 0, err
				}
				sum += n
			}
			data = len(rest) - pad
			if sum > data || data-sum > 1275 {
				return 0, fmt.Errorf("frames of %d bytes in %d (R6)", sum, data)
			}
		} else if data%m != 0 || data/m > 1275 {
			return 0, fmt.Errorf("%d bytes for %d equal frames (R7)", data, m)
		}
	}
	return time.Duration(frames) * frame, nil
}
