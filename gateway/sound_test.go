package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/internal/tone"
	"github.com/racgate/racgate/render/audio"
	"github.com/racgate/racgate/render/wire"
)

// soundRemote is a fakeRemote with sound.
type soundRemote struct {
	*fakeRemote
	s *audio.Stream
}

func (r soundRemote) audioStream() *audio.Stream { return r.s }

// useSoundFake makes every dial return a fakeRemote with sound; the stream and the
// codecs the session asked the adapter for come on the returned channel.
func (ts *testServer) useSoundFake() chan soundRemote {
	ch := make(chan soundRemote, 8)
	ts.dial = func(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
		f := &fakeRemote{w: 800, h: 600, ev: ev, end: make(chan error, 1), closed: make(chan struct{})}
		r := soundRemote{f, audio.NewStream(log)}
		ch <- r
		return r, fakeDisplay{}, nil
	}
	return ch
}

// readAudio reads messages until cond holds of the AUDIO and AUDIO_FORMAT messages so far.
func readAudio(t *testing.T, conn *websocket.Conn, what string, cond func([]wire.Message) bool) []wire.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []wire.Message
	for !cond(got) {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (got %v)", what, err, types(got))
		}
		if err := wire.Decode(data, func(m wire.Message) error {
			switch m := m.(type) {
			case wire.Audio:
				got = append(got, wire.Audio{Timestamp: m.Timestamp, Data: append([]byte(nil), m.Data...)})
			case wire.AudioFormat:
				got = append(got, m)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// A session whose browser lists codecs hears the remote: HELLO says so, the format comes
// first, PCM arrives as ADPCM with the tone's pitch; muting stops it and says so, and
// unmuting announces the format again. A read-only session may mute too.
func TestSessionSound(t *testing.T) {
	ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
	remotes := ts.useSoundFake()
	demo := ts.loggedIn(t, "demo")
	conn, _, err := ts.wsDial(t, demo, "/ws/desk?width=800&height=600&read-only=true&audio=opus,adpcm,pcm,flac", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// A reader slower than the writer gets the packets batched into larger messages.
	conn.SetReadLimit(wire.MaxServerMessage)
	r := <-remotes
	if got := r.ev.Audio; len(got) != 3 || got[0] != wire.CodecOpus || got[1] != wire.CodecADPCM || got[2] != wire.CodecPCM {
		t.Fatalf("the adapter was asked for %v, want opus, adpcm, pcm", got)
	}
	h := readUntil(t, conn, wire.TypeHello, 5*time.Second)[0].(wire.Hello)
	if h.Flags&wire.FlagAudio == 0 {
		t.Fatalf("HELLO flags %#x lack the sound bit", h.Flags)
	}
	r.s.SetFormat(audio.Format{Codec: wire.CodecPCM, SampleRate: 44100, Channels: 2})
	for i := range 50 {
		r.s.Write(uint32(20*i), tone.Sine(440, 44100, 2, 882*i, 882, 0.5))
	}
	ms := readAudio(t, conn, "50 packets", func(ms []wire.Message) bool { return len(ms) >= 51 })
	f, ok := ms[0].(wire.AudioFormat)
	if !ok || f.Codec != wire.CodecADPCM || f.Channels != 2 || f.SampleRate != 44100 {
		t.Fatalf("first sound message %+v, want AUDIO_FORMAT adpcm 2 44100", ms[0])
	}
	var pcm []byte
	for _, m := range ms[1:] {
		if pcm, err = wire.DecodeADPCM(pcm, m.(wire.Audio).Data, 2); err != nil {
			t.Fatal(err)
		}
	}
	if got := tone.Frequency(tone.Mono(pcm, 2, 1), 44100); math.Abs(got-440) > 4.4 {
		t.Fatalf("decoded %g Hz, want 440", got)
	}

	// The sound is counted: every AUDIO byte read so far, and this session listening.
	_, body := ts.scrape(t)
	var soundBytes int
	for _, m := range ms {
		switch m := m.(type) {
		case wire.Audio:
			soundBytes += 9 + len(m.Data)
		case wire.AudioFormat:
			soundBytes += 11 + len(m.Config)
		}
	}
	if v := metricValue(t, body, "racgate_audio_bytes_sent_total"); v < float64(soundBytes) {
		t.Errorf("racgate_audio_bytes_sent_total %v; the browser read %d bytes of sound", v, soundBytes)
	}
	if v := metricValue(t, body, "racgate_audio_sessions"); v != 1 {
		t.Errorf("racgate_audio_sessions %v, want 1", v)
	}

	send(t, conn, wire.AudioEnable{Enabled: false})
	ms = readAudio(t, conn, "the stop", func(ms []wire.Message) bool { return len(ms) >= 1 })
	if f, ok := ms[0].(wire.AudioFormat); !ok || f.Codec != wire.CodecNone {
		t.Fatalf("after AUDIO_ENABLE 0: %+v, want AUDIO_FORMAT none", ms[0])
	}
	r.s.Write(1000, tone.Sine(440, 44100, 2, 0, 882, 0.5)) // muted: not sent
	send(t, conn, wire.AudioEnable{Enabled: true})
	// The format is announced as soon as the session takes the 1; only then is the
	// next packet sure to be sent.
	ms = readAudio(t, conn, "the format again", func(ms []wire.Message) bool { return len(ms) >= 1 })
	if f, ok := ms[0].(wire.AudioFormat); !ok || f.Codec != wire.CodecADPCM {
		t.Fatalf("after AUDIO_ENABLE 1: %+v, want AUDIO_FORMAT adpcm", ms[0])
	}
	r.s.Write(1020, tone.Sine(440, 44100, 2, 0, 882, 0.5))
	ms = readAudio(t, conn, "sound again", func(ms []wire.Message) bool { return len(ms) >= 1 })
	if a, ok := ms[0].(wire.Audio); !ok || a.Timestamp != 1020 {
		t.Fatalf("after AUDIO_ENABLE 1: %+v, want the packet at 1020 ms (the muted one dropped)", ms[0])
	}
	if got := r.Events(); len(got) != 0 {
		t.Fatalf("muting sent input to the remote: %v", got)
	}
}

// A browser that lists no codec (or only unknown ones) gets no sound and no sound flag,
// and its adapter is asked for none.
func TestSessionNoSound(t *testing.T) {
	for _, q := range []string{"", "&audio=", "&audio=flac,vorbis"} {
		ts := newTestServer(t, strings.Replace(testConfig, "https://", "http://", 1))
		remotes := ts.useSoundFake()
		conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=800&height=600"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := <-remotes
		if len(r.ev.Audio) != 0 {
			t.Errorf("%q: the adapter was asked for %v", q, r.ev.Audio)
		}
		h := readUntil(t, conn, wire.TypeHello, 5*time.Second)[0].(wire.Hello)
		if h.Flags&wire.FlagAudio != 0 {
			t.Errorf("%q: HELLO flags %#x have the sound bit", q, h.Flags)
		}
		r.s.SetFormat(audio.Format{Codec: wire.CodecPCM, SampleRate: 44100, Channels: 2})
		r.s.Write(0, tone.Sine(440, 44100, 2, 0, 882, 0.5))
		send(t, conn, wire.Key{Down: true, Keysym: 'a', Code: "KeyA"}) // a marker after the sound
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				break // nothing more within the window
			}
			wire.Decode(data, func(m wire.Message) error {
				if m.Type() == wire.TypeAudio || m.Type() == wire.TypeAudioFormat {
					t.Errorf("%q: sent %v", q, m.Type())
				}
				return nil
			})
		}
		cancel()
		conn.CloseNow()
	}
}

// The audio and scale parameters are the client's, not connection settings: no
// endpoint has to allow them, and they are bounded.
func TestConnectRequestAudio(t *testing.T) {
	for _, tc := range []struct {
		q  string
		ok bool
	}{
		{"audio=opus,mp3,adpcm,pcm", true},
		{"audio=" + strings.Repeat("pcm,", 40), false},
		{"scale=200", true}, {"scale=1", true}, {"scale=1000", true},
		{"scale=0", false}, {"scale=1001", false}, {"scale=1.5", false},
	} {
		r := httptest.NewRequest("GET", "/ws/desk?width=10&height=10&"+tc.q, nil)
		_, _, set, err := connectRequest(r)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v", tc.q, err)
		}
		if _, ok := set["audio"]; ok {
			t.Errorf("%q: audio became a setting", tc.q)
		}
		if _, ok := set["scale"]; ok {
			t.Errorf("%q: scale became a setting", tc.q)
		}
	}
}

// soundFrom decodes a listener's ADPCM or PCM messages to S16LE.
func soundFrom(t *testing.T, ms []wire.Message) (pcm []byte, f wire.AudioFormat) {
	t.Helper()
	for _, m := range ms {
		switch m := m.(type) {
		case wire.AudioFormat:
			f = m
		case wire.Audio:
			var err error
			switch f.Codec {
			case wire.CodecADPCM:
				pcm, err = wire.DecodeADPCM(pcm, m.Data, f.Channels)
			case wire.CodecPCM:
				pcm = append(pcm, m.Data...)
			default:
				t.Fatalf("AUDIO in %v", f.Codec)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return pcm, f
}

// toneSecond is the second of x after the first sample louder than 0.2, or nil.
func toneSecond(x []float64, rate int) []float64 {
	for i, v := range x {
		if math.Abs(v) > 0.2 && i+rate <= len(x) {
			return x[i : i+rate]
		}
	}
	return nil
}

// TestXvncSound: a VNC endpoint with enable-audio records a real PulseAudio server's
// default sink; two sessions sharing the connection each hear the tone a program plays
// there, one as ADPCM, one as PCM, at its pitch; none of this disturbs the picture.
func TestXvncSound(t *testing.T) {
	peers.Require(t, "Xvnc", "pulseaudio", "pacat")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	p := peers.StartPulse(t)
	y := strings.NewReplacer("https://gw.example", "http://gw.example", "maximum-connections: 1", "maximum-connections: 3",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {enable-audio: true, audio-servername: \"tcp:"+p.Addr+"\"}\n").Replace(testConfig)
	ts := newTestServer(t, y)
	demo := ts.loggedIn(t, "demo")
	var conns []*websocket.Conn
	for _, codecs := range []string{"opus,adpcm,pcm", "pcm"} {
		conn, _, err := ts.wsDial(t, demo, "/ws/desk?width=320&height=240&audio="+codecs, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conn.SetReadLimit(wire.MaxServerMessage)
		h := readUntil(t, conn, wire.TypeHello, 15*time.Second)
		if hello := h[len(h)-1].(wire.Hello); hello.Flags&wire.FlagAudio == 0 {
			t.Fatalf("HELLO flags %#x lack sound", hello.Flags)
		}
		conns = append(conns, conn)
	}
	if n, _ := ts.shares.count(); n != 1 {
		t.Fatalf("%d shared connections, want the two sessions on one", n)
	}
	played := make(chan struct{})
	go func() {
		defer close(played)
		p.PlayTone(t, 440, 2)
	}()
	defer func() { <-played }()
	for i, conn := range conns {
		var pcm []byte
		var f wire.AudioFormat
		ms := readAudio(t, conn, "the tone", func(ms []wire.Message) bool {
			pcm, f = soundFrom(t, ms)
			return f.Channels > 0 && toneSecond(tone.Mono(pcm, f.Channels, 0), f.SampleRate) != nil
		})
		want := []wire.Codec{wire.CodecADPCM, wire.CodecPCM}[i]
		if f.Codec != want || f.SampleRate != 44100 || f.Channels != 2 {
			t.Fatalf("session %d: format %+v, want %v 44.1 kHz stereo", i, f, want)
		}
		for c := range 2 {
			s := toneSecond(tone.Mono(pcm, 2, c), 44100)
			if got := tone.Frequency(s, 44100); math.Abs(got-440) > 4.4 {
				t.Errorf("session %d channel %d: %.1f Hz, want 440", i, c, got)
			}
			if pw := tone.Power(s, 44100, 440); pw < 0.8 {
				t.Errorf("session %d channel %d: power at 440 Hz %.2f", i, c, pw)
			}
			if gap := tone.LongestGap(s, 0.05); gap > 44100/20 {
				t.Errorf("session %d channel %d: a gap of %d ms in the tone", i, c, gap*1000/44100)
			}
		}
		var last uint32
		var sizes []int
		for _, m := range ms {
			if a, ok := m.(wire.Audio); ok {
				frames := len(a.Data) / 4
				if f.Codec == wire.CodecADPCM {
					frames = wire.ADPCMFrames(len(a.Data), 2)
				}
				sizes = append(sizes, frames)
				if a.Timestamp < last {
					t.Fatalf("session %d: timestamps go back: %d after %d", i, a.Timestamp, last)
				}
				last = a.Timestamp
			}
		}
		// 40 ms packets (sound.PulsePacket), not PulseAudio's 10 ms pieces; a tail of sound
		// may come short, so the median is what counts.
		slices.Sort(sizes)
		if med := sizes[len(sizes)/2]; med < 44100*40/1000 {
			t.Fatalf("session %d: packets of a median %d frames, under 40 ms", i, med)
		}
	}
}

// A PulseAudio server that is down costs the VNC session nothing: the picture comes, the
// recorder retries.
func TestXvncSoundServerDown(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	port := peers.FreePort(t)
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"host: 127.0.0.1:1\n", fmt.Sprintf("host: %s\n    settings: {enable-audio: true, audio-servername: \"127.0.0.1:%d\"}\n", x.Addr, port)).Replace(testConfig)
	ts := newTestServer(t, y)
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=320&height=240&audio=adpcm", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wire.MaxServerMessage)
	b := newBrowser(t, conn)
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 || b.closed != nil })
	if b.closed != nil {
		t.Fatalf("CLOSE %d %q", b.closed.Code, b.closed.Reason)
	}
	matchScreen(t, b, x)
}

// TestVNCSoundServer: audio-servername defaults to the VNC host; enable-audio off is no
// server; a bad one names the setting.
func TestVNCSoundServer(t *testing.T) {
	for _, tc := range []struct {
		set  config.Settings
		want string
	}{
		{config.Settings{"enable-audio": "true", "hostname": "vnc.example"}, "vnc.example:4713"},
		{config.Settings{"enable-audio": "true", "hostname": "vnc.example", "audio-servername": "tcp:snd.example:4800"}, "snd.example:4800"},
		{config.Settings{"hostname": "vnc.example"}, ""},
	} {
		if got, err := vncSound(tc.set); err != nil || got != tc.want {
			t.Errorf("vncSound(%v) = %q, %v; want %q", tc.set, got, err, tc.want)
		}
	}
	if _, err := vncSound(config.Settings{"enable-audio": "true", "audio-servername": "unix:/run/pulse/native"}); err == nil || !strings.Contains(err.Error(), "audio-servername") {
		t.Errorf("a unix socket: %v", err)
	}
}

// TestRDPXRDPSound: an RDP endpoint's sound from a real xrdp session (a tone written to
// xrdp-chansrv's sound socket) reaches the browser: as ADPCM at the tone's pitch for a
// browser that decodes no compressed codec, and as xrdp's own Opus packets, passed
// through and announced at 44.1 kHz, for one that decodes Opus. disable-audio keeps the
// sound channel shut.
func TestRDPXRDPSound(t *testing.T) {
	peers.Require(t, "xrdp-chansrv")
	for _, tc := range []struct {
		codecs   string
		settings string
		want     wire.Codec
	}{
		{"adpcm,pcm", "", wire.CodecADPCM},
		{"opus,adpcm,pcm", "", wire.CodecOpus},
		{"opus,adpcm,pcm", ", disable-audio: true", wire.CodecNone},
	} {
		t.Run(tc.codecs+tc.settings, func(t *testing.T) {
			srv := peers.StartXRDP(t, peers.XRDPOptions{})
			ts := newTestServer(t, rdpConfig(srv.Addr,
				"username: "+srv.User+", password: "+srv.Password+", ignore-cert: true"+tc.settings, "read-only"))
			conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=640&height=480&audio="+tc.codecs, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			conn.SetReadLimit(wire.MaxServerMessage)
			h := readUntil(t, conn, wire.TypeHello, 30*time.Second)
			hello := h[len(h)-1].(wire.Hello)
			x := srv.WaitSession(t, 30*time.Second)
			if tc.want == wire.CodecNone {
				if hello.Flags&wire.FlagAudio != 0 {
					t.Fatalf("HELLO flags %#x: sound on an endpoint with disable-audio", hello.Flags)
				}
				// chansrv opens its sound socket only for a client that took rdpsnd.
				time.Sleep(3 * time.Second)
				if _, err := os.Stat(peers.XRDPAudioOutSocket(x.Display)); err == nil {
					t.Fatal("xrdp offers sound to a session with disable-audio")
				}
				return
			}
			if hello.Flags&wire.FlagAudio == 0 {
				t.Fatalf("HELLO flags %#x lack sound", hello.Flags)
			}
			out := peers.DialXRDPAudioOut(t, x.Display, 30*time.Second)
			played := make(chan error, 1)
			go func() {
				_, err := out.PlayTone(440, 2*time.Second, 0.5)
				played <- err
			}()
			defer func() {
				if err := <-played; err != nil {
					t.Error(err)
				}
			}()
			var f wire.AudioFormat
			var packets []wire.Audio
			readAudio(t, conn, "the tone", func(ms []wire.Message) bool {
				packets = packets[:0]
				for _, m := range ms {
					switch m := m.(type) {
					case wire.AudioFormat:
						f = m
					case wire.Audio:
						packets = append(packets, m)
					}
				}
				return len(packets) >= 20 // 20 of xrdp's waves: about a second
			})
			if f.Codec != tc.want || f.SampleRate != 44100 || f.Channels != 2 {
				t.Fatalf("format %+v, want %v at 44.1 kHz stereo", f, tc.want)
			}
			// A continuous tone: each packet is stamped where the previous one ends
			// (render/audio snaps xrdp's send-time stamps; its first two waves come
			// together, stamped 1 ms apart).
			var end float64
			for i, p := range packets {
				if i > 0 && math.Abs(float64(p.Timestamp)-end) > 1 {
					t.Fatalf("packet %d stamped %d ms; the one before ends at %.1f", i, p.Timestamp, end)
				}
				d := 2880.0 / 44100 * 1000 // xrdp's Opus: 2880 samples of 44.1 kHz sound
				if tc.want == wire.CodecADPCM {
					d = float64(wire.ADPCMFrames(len(p.Data), 2)) / 44100 * 1000
				}
				end = float64(p.Timestamp) + d
			}
			if tc.want == wire.CodecOpus {

				// Passed through: each packet is one Opus packet, its TOC byte (RFC 6716
				// 3.1) a CELT or SILK mode xrdp's encoder uses, none ADPCM-sized.
				for i, p := range packets {
					if len(p.Data) < 2 || len(p.Data) > 1500 {
						t.Fatalf("packet %d of %d bytes is not one of xrdp's Opus packets", i, len(p.Data))
					}
				}
				return
			}
			var pcm []byte
			for _, p := range packets {
				if pcm, err = wire.DecodeADPCM(pcm, p.Data, 2); err != nil {
					t.Fatal(err)
				}
			}
			for c := range 2 {
				s := tone.Mono(pcm, 2, c)
				if got := tone.Frequency(s, 44100); math.Abs(got-440) > 4.4 {
					t.Errorf("channel %d: %.1f Hz, want 440", c, got)
				}
				if pw := tone.Power(s, 44100, 440); pw < 0.8 {
					t.Errorf("channel %d: power at 440 Hz %.2f", c, pw)
				}
				if gap := tone.LongestGap(s, 0.05); gap > 44100/20 {
					t.Errorf("channel %d: a gap of %d ms in the tone", c, gap*1000/44100)
				}
			}
		})
	}
}
