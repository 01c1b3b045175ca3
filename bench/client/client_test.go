package client

import (
	"context"
	"errors"
	"image"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/bench/opus"
	"github.com/racgate/racgate/internal/tone"
	"github.com/racgate/racgate/render/wire"
)

// fakeGateway answers /login like racgate and runs serve on each websocket.
func fakeGateway(t *testing.T, serve func(ctx context.Context, c *websocket.Conn)) *httptest.Server {
	return fakeGatewayQuery(t, func(url.Values) string { return "" }, serve)
}

// fakeGatewayQuery is fakeGateway refusing a websocket whose query check finds wrong.
func fakeGatewayQuery(t *testing.T, check func(url.Values) string, serve func(ctx context.Context, c *websocket.Conn)) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("username") != "u" || r.FormValue("password") != "p" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "racgate", Value: "ok", Path: "/"})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /ws/{ep}", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("racgate"); err != nil || c.Value != "ok" {
			http.Error(w, "no login", http.StatusForbidden)
			return
		}
		if r.PathValue("ep") != "desk top" || r.URL.Query().Get("width") != "64" || r.URL.Query().Get("quality") != "lossless" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		if msg := check(r.URL.Query()); msg != "" {
			http.Error(w, msg, http.StatusBadRequest)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		serve(r.Context(), c)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func msgs(ms ...wire.Message) []byte {
	var b []byte
	for _, m := range ms {
		b = m.Append(b)
	}
	return b
}

func TestSessionDrawsAndAcks(t *testing.T) {
	acks := make(chan uint32, 4)
	srv := fakeGateway(t, func(ctx context.Context, c *websocket.Conn) {
		c.Write(ctx, websocket.MessageBinary, msgs(wire.Hello{Version: 1, Name: "x"}, wire.Resize{Width: 64, Height: 48},
			wire.Fill{X: 0, Y: 0, W: 64, H: 48, R: 10, G: 20, B: 30}, wire.Frame{ID: 1}))
		for id := uint32(1); id <= 2; id++ {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			m, _, err := wire.Next(b)
			if a, ok := m.(wire.Ack); err == nil && ok {
				acks <- a.ID
			}
			if id == 1 { // the second frame changes nothing
				c.Write(ctx, websocket.MessageBinary, msgs(wire.Fill{X: 8, Y: 8, W: 4, H: 4, R: 255}, wire.Frame{ID: 2}, wire.Frame{ID: 3}))
			}
		}
		c.Write(ctx, websocket.MessageBinary, msgs(wire.Close{Code: wire.CloseRemoteEnded, Reason: "bye"}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Login(ctx, srv.URL, "u", "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	hc, err := Login(ctx, srv.URL, "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	var events []FrameEvent
	s, err := Dial(ctx, hc, srv.URL, "desk top", Options{Width: 64, Height: 48,
		Settings: map[string][]string{"quality": {"lossless"}},
		OnFrame:  func(ev FrameEvent) { events = append(events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(ctx)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Run = %v, want ErrClosed", err)
	}
	if c := s.Closed(); c == nil || c.Code != wire.CloseRemoteEnded || s.Hello() == nil || s.Hello().Name != "x" {
		t.Fatalf("close %+v hello %+v", c, s.Hello())
	}
	if a, b := <-acks, <-acks; a != 1 || b != 2 {
		t.Fatalf("acks %d, %d; want 1, 2", a, b)
	}
	st := s.Stats()
	if st.Frames != 3 || st.Fills != 2 || st.Messages != 3 || st.FirstFrame <= 0 {
		t.Fatalf("stats %+v", st)
	}
	want := []FrameEvent{{ID: 1, Changed: true, Drawn: image.Rect(0, 0, 64, 48)}, {ID: 2, Changed: true, Drawn: image.Rect(8, 8, 12, 12)}, {ID: 3}}
	if len(events) != 3 {
		t.Fatalf("events %+v", events)
	}
	for i, ev := range events {
		if ev.ID != want[i].ID || ev.Changed != want[i].Changed || ev.Drawn != want[i].Drawn || ev.At.IsZero() {
			t.Errorf("event %d = %+v, want %+v", i, ev, want[i])
		}
	}
	if got := s.Canvas().Image().RGBAAt(9, 9); got.R != 255 || got.G != 0 {
		t.Errorf("pixel (9,9) = %v, want red", got)
	}
	if got := s.Canvas().Image().RGBAAt(0, 0); got.R != 10 || got.G != 20 || got.B != 30 {
		t.Errorf("pixel (0,0) = %v", got)
	}
}

// TestSessionTerminal: a terminal session's TERMINAL data is counted, not drawn, and each
// FRAME after it is acknowledged: the next output comes only after the ACK, as racgate
// holds a terminal's output while frames are unacknowledged.
func TestSessionTerminal(t *testing.T) {
	acks := make(chan uint32, 4)
	srv := fakeGateway(t, func(ctx context.Context, c *websocket.Conn) {
		c.Write(ctx, websocket.MessageBinary, msgs(wire.Hello{Version: 1, Kind: wire.KindTerminal, Name: "sh"},
			wire.TerminalConfig{ColorScheme: "default"}, wire.Terminal{Data: []byte("abc")}, wire.Frame{ID: 1}))
		for id := uint32(1); id <= 2; id++ {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			m, _, err := wire.Next(b)
			if a, ok := m.(wire.Ack); err == nil && ok {
				acks <- a.ID
			}
			if id == 1 {
				c.Write(ctx, websocket.MessageBinary, msgs(wire.Terminal{Data: []byte("defg\r\n")}, wire.Frame{ID: 2}))
			}
		}
		c.Write(ctx, websocket.MessageBinary, msgs(wire.Close{Code: wire.CloseRemoteEnded, Reason: "bye"}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc, err := Login(ctx, srv.URL, "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	var changed int
	s, err := Dial(ctx, hc, srv.URL, "desk top", Options{Width: 64, Height: 48,
		Settings: map[string][]string{"quality": {"lossless"}},
		OnFrame: func(ev FrameEvent) {
			if ev.Changed {
				changed++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run = %v, want ErrClosed", err)
	}
	if h := s.Hello(); h == nil || h.Kind != wire.KindTerminal {
		t.Fatalf("hello %+v", h)
	}
	if a, b := <-acks, <-acks; a != 1 || b != 2 {
		t.Fatalf("acks %d, %d; want 1, 2", a, b)
	}
	if st := s.Stats(); st.TerminalBytes != 9 || st.Frames != 2 || changed != 2 {
		t.Fatalf("stats %+v, %d changed frames", st, changed)
	}
}

// TestSessionMalformed: a broken message ends the session with an error, no panic.
func TestSessionMalformed(t *testing.T) {
	for name, payload := range map[string][]byte{
		"truncated":              {0x06, 4, 0, 0, 0, 1},
		"outside":                msgs(wire.Resize{Width: 4, Height: 4}, wire.Fill{X: 2, Y: 2, W: 4, H: 4}),
		"bad deflate":            msgs(wire.Resize{Width: 4, Height: 4}, wire.Image{W: 2, H: 2, Encoding: wire.ZRGB, Data: []byte{1, 2, 3}}),
		"audio without a format": msgs(wire.Audio{Data: []byte{1, 2, 3, 4}}),
		"bad adpcm":              msgs(wire.AudioFormat{Codec: wire.CodecADPCM, Channels: 2, SampleRate: 44100}, wire.Audio{Data: []byte{1, 2, 3}}),
	} {
		t.Run(name, func(t *testing.T) {
			srv := fakeGateway(t, func(ctx context.Context, c *websocket.Conn) {
				c.Write(ctx, websocket.MessageBinary, payload)
				c.Read(ctx) // until the client goes
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hc, err := Login(ctx, srv.URL, "u", "p")
			if err != nil {
				t.Fatal(err)
			}
			s, err := Dial(ctx, hc, srv.URL, "desk top", Options{Width: 64, Height: 48, Settings: map[string][]string{"quality": {"lossless"}}})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Run(ctx)
			if err == nil || errors.Is(err, ErrClosed) || !(errors.Is(err, wire.ErrMalformed) || errors.Is(err, wire.ErrCanvas)) {
				t.Fatalf("Run = %v, want a wire error", err)
			}
			s.Close()
		})
	}
}

// bursts is sound with a tone burst every 500 ms (160 ms quiet, 340 ms tone from its
// peak), n of them, at rate in 20 ms packets of S16LE stereo.
func bursts(rate, n int) [][]byte {
	var pcm []byte
	for range n {
		pcm = append(pcm, make([]byte, rate*160/1000*4)...)
		pcm = append(pcm, tone.Sine(440, rate, 2, rate/(4*440), rate*340/1000, 0.5)...)
	}
	var out [][]byte
	size := rate / 50 * 4
	for len(pcm) >= size {
		out = append(out, pcm[:size])
		pcm = pcm[size:]
	}
	return out
}

// TestSessionAudio: the client asks for its codecs, decodes PCM, ADPCM and Opus, counts
// sound bytes with the websocket header of sound-only messages, and notes one start per
// burst.
func TestSessionAudio(t *testing.T) {
	enc, err := opus.NewEncoder(48000, 2)
	if err != nil {
		t.Logf("no libopus (%v): Opus is counted, not decoded", err)
	} else {
		defer enc.Close()
	}
	var wantBytes, wantPCM, wantPackets, wantUndecoded uint64
	wantOnsets := 0
	srv := fakeGatewayQuery(t, func(q url.Values) string {
		if q.Get("audio") != "opus,adpcm,pcm" {
			return "audio=" + q.Get("audio")
		}
		return ""
	}, func(ctx context.Context, c *websocket.Conn) {
		send := func(b []byte) { c.Write(ctx, websocket.MessageBinary, b) }
		send(msgs(wire.Hello{Version: 1, Name: "x", Flags: wire.FlagAudio}, wire.Resize{Width: 64, Height: 48},
			wire.Fill{W: 64, H: 48}, wire.Frame{ID: 1}))
		c.Read(ctx) // the ACK
		// ADPCM: each packet its own websocket message.
		send(msgs(wire.AudioFormat{Codec: wire.CodecADPCM, Channels: 2, SampleRate: 44100}))
		states := make([]wire.ADPCMState, 2)
		for i, p := range bursts(44100, 2) {
			m := wire.Audio{Timestamp: uint32(20 * i), Data: wire.AppendADPCM(nil, p, 2, states)}
			b := msgs(m)
			send(b)
			wantBytes += uint64(len(b) + 4) // 126 bytes or more: a 4-byte header
			wantPackets++
			wantPCM += uint64(len(p))
		}
		wantOnsets += 2
		// PCM, the last packet sharing its websocket message with a FRAME: no header
		// counted for it.
		send(msgs(wire.AudioFormat{Codec: wire.CodecPCM, Channels: 2, SampleRate: 22050}))
		ps := bursts(22050, 1)
		for i, p := range ps {
			m := wire.Audio{Timestamp: uint32(20 * i), Data: p}
			if i == len(ps)-1 {
				send(msgs(m, wire.Frame{ID: 2}))
				c.Read(ctx)
				wantBytes += uint64(len(msgs(m)))
			} else {
				send(msgs(m))
				wantBytes += uint64(len(msgs(m)) + 4)
			}
			wantPackets++
			wantPCM += uint64(len(p))
		}
		wantOnsets++
		// Opus as xrdp announces it (44.1 kHz), 60 ms packets coded at 48 kHz.
		send(msgs(wire.AudioFormat{Codec: wire.CodecOpus, Channels: 2, SampleRate: 44100}))
		if enc != nil {
			pcm := slices.Concat(bursts(48000, 3)...)
			const packet = 2880 * 4
			for i := 0; (i+1)*packet <= len(pcm); i++ {
				p, err := enc.Encode(pcm[i*packet : (i+1)*packet])
				if err != nil {
					t.Error(err)
					return
				}
				b := msgs(wire.Audio{Timestamp: uint32(60 * i), Data: p})
				send(b)
				wantBytes += uint64(len(b) + wsHeaderSize(len(b)))
				wantPackets++
				wantPCM += packet
			}
			wantOnsets += 3
		}
		// A packet libopus cannot decode is skipped, as a browser would.
		b := msgs(wire.Audio{Timestamp: 9999, Data: []byte{0xff}})
		send(b)
		wantBytes += uint64(len(b) + 2)
		wantPackets++
		wantUndecoded++
		send(msgs(wire.Close{Code: wire.CloseRemoteEnded, Reason: "bye"}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc, err := Login(ctx, srv.URL, "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Dial(ctx, hc, srv.URL, "desk top", Options{Width: 64, Height: 48,
		Settings: map[string][]string{"quality": {"lossless"}}, Audio: "opus,adpcm,pcm"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run = %v, want ErrClosed", err)
	}
	st := s.Stats()
	if st.AudioPackets != wantPackets || st.AudioBytes != wantBytes || st.AudioPCM != wantPCM ||
		st.AudioUndecoded != wantUndecoded || st.AudioCodec != wire.CodecOpus {
		t.Errorf("sound stats: %d packets, %d bytes, %d PCM bytes, %d undecoded, codec %v; want %d, %d, %d, %d, opus",
			st.AudioPackets, st.AudioBytes, st.AudioPCM, st.AudioUndecoded, st.AudioCodec, wantPackets, wantBytes, wantPCM, wantUndecoded)
	}
	if got := len(s.AudioOnsets()); got != wantOnsets {
		t.Errorf("%d burst starts, want %d", got, wantOnsets)
	}
}

func wsHeaderSize(n int) int {
	if n < 126 {
		return 2
	}
	return 4
}
