package audio

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/internal/tone"
	"github.com/racgate/racgate/render/wire"
)

// recorder runs a listener and keeps what it is sent, decoded.
type recorder struct {
	mu   sync.Mutex
	msgs []wire.Message
	sent int // websocket messages
	done chan error
}

func record(t *testing.T, l *Listener) *recorder {
	t.Helper()
	r := &recorder{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		r.done <- l.Run(ctx, func(msg []byte) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.sent++
			return wire.Decode(msg, func(m wire.Message) error {
				switch m := m.(type) {
				case wire.Audio:
					m.Data = bytes.Clone(m.Data)
					r.msgs = append(r.msgs, m)
				default:
					r.msgs = append(r.msgs, m)
				}
				return nil
			})
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// wait returns the messages once there are at least n.
func (r *recorder) wait(t *testing.T, n int) []wire.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]wire.Message(nil), r.msgs...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d messages, want %d: %v", len(got), n, got)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// decodeAll turns a listener's messages into PCM, checking formats on the way.
func decodeAll(t *testing.T, msgs []wire.Message) (pcm []byte, f wire.AudioFormat, stamps []uint32) {
	t.Helper()
	for _, m := range msgs {
		switch m := m.(type) {
		case wire.AudioFormat:
			f = m
		case wire.Audio:
			stamps = append(stamps, m.Timestamp)
			switch f.Codec {
			case wire.CodecADPCM:
				var err error
				if pcm, err = wire.DecodeADPCM(pcm, m.Data, f.Channels); err != nil {
					t.Fatal(err)
				}
			case wire.CodecPCM:
				pcm = append(pcm, m.Data...)
			default:
				t.Fatalf("AUDIO in codec %v", f.Codec)
			}
		}
	}
	return pcm, f, stamps
}

func checkTone(t *testing.T, pcm []byte, channels, rate int, freq float64) {
	t.Helper()
	for c := range channels {
		x := tone.Mono(pcm, channels, c)
		if len(x) < rate/2 {
			t.Fatalf("only %d samples", len(x))
		}
		x = x[len(x)/10:] // past the start
		if f := tone.Frequency(x, rate); math.Abs(f-freq) > freq*0.01 {
			t.Errorf("channel %d: %.2f Hz, want %g", c, f, freq)
		}
		if p := tone.Power(x, rate, freq); p < 0.9 {
			t.Errorf("channel %d: power at %g Hz %.2f", c, freq, p)
		}
	}
}

// PCM goes out as ADPCM to a listener that decodes it, as PCM to one that decodes only
// PCM, and not at all to one that decodes only Opus; each gets the tone.
func TestPCMStream(t *testing.T) {
	s := NewStream(nil)
	adpcm := record(t, s.Listen([]wire.Codec{wire.CodecOpus, wire.CodecADPCM, wire.CodecPCM}))
	pcmOnly := record(t, s.Listen([]wire.Codec{wire.CodecPCM}))
	opusOnly := s.Listen([]wire.Codec{wire.CodecOpus})
	s.SetFormat(Format{Codec: wire.CodecPCM, SampleRate: 44100, Channels: 2})
	const per = 882 // 20 ms
	var in []byte
	for i := range 50 {
		p := tone.Sine(440, 44100, 2, i*per, per, 0.5)
		in = append(in, p...)
		s.Write(uint32(i*20), p)
	}
	msgs := adpcm.wait(t, 51)
	pcm, f, stamps := decodeAll(t, msgs)
	if f.Codec != wire.CodecADPCM || f.Channels != 2 || f.SampleRate != 44100 || len(f.Config) != 0 {
		t.Fatalf("ADPCM listener's format %+v", f)
	}
	if len(pcm) != len(in) {
		t.Fatalf("ADPCM: %d bytes decoded, %d written", len(pcm), len(in))
	}
	for i, ts := range stamps {
		if ts != uint32(i*20) {
			t.Fatalf("packet %d stamped %d", i, ts)
		}
	}
	checkTone(t, pcm, 2, 44100, 440)
	if n := s.Stats().Bytes; n != uint64(len(in)) {
		t.Errorf("Stats.Bytes = %d, want %d", n, len(in))
	}

	raw, f2, _ := decodeAll(t, pcmOnly.wait(t, 51))
	if f2.Codec != wire.CodecPCM || !bytes.Equal(raw, in) {
		t.Fatalf("PCM listener: format %+v, %d bytes equal to the input: %v", f2, len(raw), bytes.Equal(raw, in))
	}
	if c := opusOnly.Codec(); c != wire.CodecNone {
		t.Errorf("an Opus-only listener of a PCM stream is sent %v", c)
	}
}

// Opus passes through unchanged to listeners that decode it; others get nothing.
func TestOpusPassthrough(t *testing.T) {
	s := NewStream(nil)
	s.SetFormat(Format{Codec: wire.CodecOpus, SampleRate: 44100, Channels: 2})
	op := record(t, s.Listen([]wire.Codec{wire.CodecOpus, wire.CodecADPCM}))
	ad := s.Listen([]wire.Codec{wire.CodecADPCM, wire.CodecPCM})
	pkt := []byte{0xfc, 1, 2, 3, 4}
	s.Write(60, pkt)
	msgs := op.wait(t, 2)
	if f, ok := msgs[0].(wire.AudioFormat); !ok || f.Codec != wire.CodecOpus || f.SampleRate != 44100 || f.Channels != 2 {
		t.Fatalf("first message %+v", msgs[0])
	}
	if a, ok := msgs[1].(wire.Audio); !ok || a.Timestamp != 60 || !bytes.Equal(a.Data, pkt) {
		t.Fatalf("second message %+v", msgs[1])
	}
	if c := ad.Codec(); c != wire.CodecNone {
		t.Fatalf("a listener without Opus is sent %v of an Opus stream", c)
	}
}

// A listener turned off gets AUDIO_FORMAT none and nothing more; on again, the format
// first, then packets.
func TestListenerEnable(t *testing.T) {
	s := NewStream(nil)
	s.SetFormat(Format{Codec: wire.CodecPCM, SampleRate: 48000, Channels: 1})
	l := s.Listen([]wire.Codec{wire.CodecADPCM})
	r := record(t, l)
	s.Write(0, tone.Sine(440, 48000, 1, 0, 480, 0.5))
	r.wait(t, 2)
	l.SetEnabled(false)
	s.Write(10, tone.Sine(440, 48000, 1, 480, 480, 0.5))
	l.SetEnabled(true)
	s.Write(20, tone.Sine(440, 48000, 1, 960, 480, 0.5))
	msgs := r.wait(t, 5)
	want := []string{"AUDIO_FORMAT adpcm", "AUDIO 0", "AUDIO_FORMAT none", "AUDIO_FORMAT adpcm", "AUDIO 20"}
	for i, m := range msgs {
		var got string
		switch m := m.(type) {
		case wire.AudioFormat:
			got = "AUDIO_FORMAT " + m.Codec.String()
		case wire.Audio:
			got = fmt.Sprintf("AUDIO %d", m.Timestamp)
		}
		if i >= len(want) || got != want[i] {
			t.Fatalf("messages %v, want %v", msgs, want)
		}
	}
}

// A listener whose browser does not read holds at most MaxQueued bytes; the formats are
// kept and the oldest packets go.
func TestSlowListenerBounded(t *testing.T) {
	s := NewStream(nil)
	s.SetFormat(Format{Codec: wire.CodecPCM, SampleRate: 44100, Channels: 2})
	l := s.Listen([]wire.Codec{wire.CodecPCM})
	pkt := tone.Sine(440, 44100, 2, 0, 4410, 0.5) // 17.6 KB
	for i := range 100 {
		s.Write(uint32(i*100), pkt)
	}
	s.mu.Lock()
	queued, n, first := len(l.pending), len(l.msgs), wire.Type(l.pending[0])
	var lastTS uint32
	last := l.msgs[n-1]
	if m, _, err := wire.Next(l.pending[last.off : last.off+last.n]); err == nil {
		lastTS = m.(wire.Audio).Timestamp
	}
	// Every message is whole: the queue decodes to its messages, no more, no less.
	count := 0
	if err := wire.Decode(l.pending, func(wire.Message) error { count++; return nil }); err != nil || count != n {
		t.Fatalf("the queue decodes to %d messages (%v); %d are queued", count, err, n)
	}
	s.mu.Unlock()
	if queued > MaxQueued {
		t.Fatalf("%d bytes queued, over %d", queued, MaxQueued)
	}
	if first != wire.TypeAudioFormat || lastTS != 9900 {
		t.Fatalf("queue starts with %v and ends at %d ms; want AUDIO_FORMAT first and the newest packet last", first, lastTS)
	}
	if d := s.Stats().Dropped; d < 80 {
		t.Fatalf("dropped %d packets of 100 with room for %d", d, MaxQueued/len(pkt))
	}
	if d, all := l.Dropped(), s.Stats().Dropped; d != all || d != uint64(100-(n-1)) {
		t.Fatalf("the listener counts %d dropped, the stream %d; %d of 100 are queued", d, all, n-1)
	}
}

// TestListenerKeepsBuffers: sound makes no garbage, even when a packet comes while the
// listener is between its wake-up and taking the queue: the next wake-up then finds the
// queue empty, and used to drop its buffer, so that every packet allocated one (RSS grew
// with the sound until the collector ran).
func TestListenerKeepsBuffers(t *testing.T) {
	s := NewStream(nil)
	s.SetFormat(Format{Codec: wire.CodecPCM, SampleRate: 44100, Channels: 2})
	l := s.Listen([]wire.Codec{wire.CodecADPCM})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	sent := make(chan struct{}, 1)
	go func() {
		defer close(done)
		l.Run(ctx, func([]byte) error {
			// The wake-up of a packet this turn took along.
			select {
			case l.wake <- struct{}{}:
			default:
			}
			sent <- struct{}{}
			return nil
		})
	}()
	defer func() { cancel(); <-done }()
	pkt := tone.Sine(440, 44100, 2, 0, 2048, 0.5) // 8 KB, an xrdp wave: 2 KB as ADPCM
	play := func(n int) {
		for i := range n {
			s.Write(uint32(i*46), pkt)
			<-sent
			time.Sleep(2 * time.Millisecond) // Run takes the stale wake-up
		}
	}
	play(10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	play(100)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<10 {
		t.Fatalf("%d bytes allocated for 100 packets of 2 KB", n)
	}
}

// Close ends every listener's Run.
func TestStreamClose(t *testing.T) {
	s := NewStream(nil)
	l := s.Listen([]wire.Codec{wire.CodecPCM})
	done := make(chan error)
	go func() { done <- l.Run(context.Background(), func([]byte) error { return nil }) }()
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if l2 := s.Listen(nil); l2.Run(context.Background(), nil) != nil {
		t.Fatal("Run of a listener added after Close")
	}
}

// lameTone encodes seconds of a tone with Debian's lame, as a server's encoder would.
func lameTone(t *testing.T, freq float64, seconds float64, extra ...string) []byte {
	t.Helper()
	peers.Require(t, "lame")
	pcm := tone.Sine(freq, 44100, 2, 0, int(seconds*44100), 0.5)
	args := append([]string{"--quiet", "-r", "-s", "44.1", "--bitwidth", "16", "--signed", "--little-endian", "-m", "j", "-b", "128"}, extra...)
	cmd := exec.Command("lame", append(args, "-", "-")...)
	cmd.Stdin = bytes.NewReader(pcm)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lame: %v", err)
	}
	return out
}

// MP3 from a real encoder, cut anywhere: listeners that decode MP3 get whole frames,
// unchanged; others get it decoded here, as ADPCM, with the tone's pitch.
func TestMP3Stream(t *testing.T) {
	mp3 := lameTone(t, 440, 3, "-t") // -t: no Xing/LAME info frame
	s := NewStream(nil)
	s.SetFormat(Format{Codec: wire.CodecMP3, SampleRate: 44100, Channels: 2})
	pass := record(t, s.Listen([]wire.Codec{wire.CodecMP3, wire.CodecADPCM}))
	dec := record(t, s.Listen([]wire.Codec{wire.CodecADPCM}))
	for i, off := 0, 0; off < len(mp3); i++ {
		n := min(len(mp3)-off, 700+i%3*331) // not frame-aligned
		s.Write(uint32(i*40), mp3[off:off+n])
		off += n
	}
	// Whole frames, all of them, in order.
	var frames []byte
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Equal(frames, mp3) && time.Now().Before(deadline) {
		frames = frames[:0]
		for _, m := range pass.wait(t, 2) {
			if a, ok := m.(wire.Audio); ok {
				for b := a.Data; len(b) > 0; {
					h, ok := parseMP3Header(b)
					if !ok || h.size > len(b) {
						t.Fatalf("an AUDIO packet does not hold whole frames")
					}
					b = b[h.size:]
				}
				frames = append(frames, a.Data...)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !bytes.Equal(frames, mp3) {
		t.Fatalf("passthrough carried %d of the %d MP3 bytes, or changed them", len(frames), len(mp3))
	}
	msgs := dec.wait(t, 10)
	deadline = time.Now().Add(5 * time.Second)
	var pcm []byte
	var f wire.AudioFormat
	for time.Now().Before(deadline) {
		pcm, f, _ = decodeAll(t, dec.wait(t, len(msgs)))
		if len(pcm) >= 4*44100*5/2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if f.Codec != wire.CodecADPCM || f.Channels != 2 || f.SampleRate != 44100 {
		t.Fatalf("decoding listener's format %+v", f)
	}
	checkTone(t, pcm, 2, 44100, 440)
}

func TestParseMP3Header(t *testing.T) {
	for _, tc := range []struct {
		hdr     []byte
		size    int
		samples int
		rate    int
	}{
		{[]byte{0xff, 0xfb, 0x90, 0x64}, 417, 1152, 44100}, // MPEG-1 L3 128 kbit/s 44.1 kHz
		{[]byte{0xff, 0xfb, 0x92, 0x64}, 418, 1152, 44100}, // padded
		{[]byte{0xff, 0xfb, 0xe4, 0x00}, 960, 1152, 48000}, // 320 kbit/s 48 kHz
		{[]byte{0xff, 0xf3, 0x80, 0xc4}, 208, 576, 22050},  // MPEG-2 L3 64 kbit/s 22.05 kHz
		{[]byte{0xff, 0xe3, 0x18, 0xc4}, 72, 576, 8000},    // MPEG-2.5 L3 8 kbit/s 8 kHz
	} {
		h, ok := parseMP3Header(tc.hdr)
		if !ok || h.size != tc.size || h.samples != tc.samples || h.rate != tc.rate {
			t.Errorf("% x: %+v %v, want size %d, %d samples, %d Hz", tc.hdr, h, ok, tc.size, tc.samples, tc.rate)
		}
	}
	for _, bad := range [][]byte{
		{0xff, 0xfd, 0x90, 0x64}, // layer II
		{0xff, 0xeb, 0x90, 0x64}, // reserved version
		{0xff, 0xfb, 0x00, 0x64}, // free format
		{0xff, 0xfb, 0xf0, 0x64}, // bad bitrate
		{0xff, 0xfb, 0x9c, 0x64}, // reserved rate
		{0xfe, 0xfb, 0x90, 0x64}, // no sync
		{0xff, 0xfb, 0x90},       // short
	} {
		if h, ok := parseMP3Header(bad); ok {
			t.Errorf("% x parsed as %+v", bad, h)
		}
	}
}

// Hostile MP3 bytes: no panic, passthrough packets hold whole frames, a decoding listener
// gets ADPCM that decodes.
func FuzzMP3Stream(f *testing.F) {
	f.Add([]byte{0xff, 0xfb, 0x90, 0x64, 0, 0, 0}, uint16(300))
	f.Add(append([]byte{0xff, 0xfb, 0x90, 0x64}, make([]byte, 900)...), uint16(417))
	f.Add(bytes.Repeat([]byte{0xff, 0xf3, 0x80, 0xc4, 0xff}, 200), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		s := NewStream(nil)
		s.SetFormat(Format{Codec: wire.CodecMP3, SampleRate: 44100, Channels: 2})
		pass := s.Listen([]wire.Codec{wire.CodecMP3})
		dec := s.Listen([]wire.Codec{wire.CodecADPCM})
		step := int(cut)%1500 + 1
		for off := 0; off < len(data); off += step {
			s.Write(0, data[off:min(off+step, len(data))])
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range pass.queued() {
			if wire.Type(m[0]) != wire.TypeAudio {
				continue
			}
			for b := m[9:]; len(b) > 0; {
				h, ok := parseMP3Header(b)
				if !ok || h.size > len(b) {
					t.Fatal("passthrough packet with a partial frame")
				}
				b = b[h.size:]
			}
		}
		for _, m := range dec.queued() {
			if wire.Type(m[0]) == wire.TypeAudio {
				if _, err := wire.DecodeADPCM(nil, m[9:], 2); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// Packets stamped with a jittering clock (as xrdp stamps its waves when it sends them)
// are placed end to end on the audio clock; a real gap, and a clock that jumps back,
// keep their stamps; a new format starts afresh.
func TestStreamClock(t *testing.T) {
	s := NewStream(nil)
	l := record(t, s.Listen([]wire.Codec{wire.CodecPCM}))
	s.SetFormat(Format{Codec: wire.CodecPCM, SampleRate: 44100, Channels: 2})
	pkt := tone.Sine(440, 44100, 2, 0, 2048, 0.5) // 46.44 ms
	in := []uint32{
		1000,       // the first: as stamped
		1001,       // sent with it (xrdp's first two waves): 1046 (1046.44)
		1000 + 90,  // 3 ms early: 1093 (1092.88)
		1139 + 120, // 120 ms late (a stalled sender): still the continuation, 1139 (1139.32)
		1190,       // and the next one early: 1186 (1185.76)
		1600,       // a gap of 368 ms: kept
		1400,       // back 246 ms: kept (the source's clock moved)
		1446,       // continues: 1446 (1446.44)
	}
	want := []uint32{1000, 1046, 1093, 1139, 1186, 1600, 1400, 1446}
	for _, ts := range in {
		s.Write(ts, pkt)
	}
	_, _, got := decodeAll(t, l.wait(t, 1+len(in)))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stamps %v, want %v", got, want)
	}

	// xrdp's Opus: 2880 samples of a 48 kHz decoder (TOC 0xff: CELT 20 ms, code 3, with
	// 3 frames: 60 ms) played at 44.1 kHz last 65.31 ms each.
	s.SetFormat(Format{Codec: wire.CodecOpus, SampleRate: 44100, Channels: 2})
	o := record(t, s.Listen([]wire.Codec{wire.CodecOpus}))
	opus := []byte{0xff, 0x03, 0, 0, 0}
	for i := range 4 {
		s.Write(uint32(5000+60*i), opus) // stamped every 60 ms: 5 ms short each time
	}
	_, _, got = decodeOpus(t, o.wait(t, 5))
	if want := []uint32{5000, 5065, 5131, 5196}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Opus stamps %v, want %v", got, want)
	}
}

// decodeOpus returns the stamps of a listener's Opus packets.
func decodeOpus(t *testing.T, msgs []wire.Message) (n int, f wire.AudioFormat, stamps []uint32) {
	t.Helper()
	for _, m := range msgs {
		switch m := m.(type) {
		case wire.AudioFormat:
			f = m
		case wire.Audio:
			n++
			stamps = append(stamps, m.Timestamp)
		}
	}
	return n, f, stamps
}

func TestOpusDuration(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want time.Duration
	}{
		{nil, 0},
		{[]byte{0x00}, 10 * time.Millisecond}, // SILK NB 10 ms, one frame
		{[]byte{0x1b}, 0},                     // SILK NB 60 ms, code 3 without its count ...
		{[]byte{0x1b, 0x02}, 120 * time.Millisecond},            // ... with 2 frames
		{[]byte{0x19}, 120 * time.Millisecond},                  // SILK 60 ms, code 1: two frames
		{[]byte{0x60}, 10 * time.Millisecond},                   // hybrid SWB 10 ms (config 12)
		{[]byte{0x80}, 2500 * time.Microsecond},                 // CELT NB 2.5 ms
		{[]byte{0xfc}, 20 * time.Millisecond},                   // CELT FB 20 ms
		{[]byte{0xff, 0x03}, 60 * time.Millisecond},             // CELT FB 20 ms × 3 (xrdp's)
		{[]byte{0xff, 0xc3, 0x01}, 60 * time.Millisecond},       // VBR and padding bits do not count
		{[]byte{0xff}, 0},                                       // code 3 without its count
		{[]byte{0xfe, 0x00, 0x00, 0x00}, 40 * time.Millisecond}, // code 2: two frames
	} {
		if got := opusDuration(c.p); got != c.want {
			t.Errorf("opusDuration(% x) = %v, want %v", c.p, got, c.want)
		}
	}
}

// queued returns the listener's queued messages; s.mu held.
func (l *Listener) queued() [][]byte {
	var out [][]byte
	for _, m := range l.msgs {
		out = append(out, l.pending[m.off:m.off+m.n])
	}
	return out
}
