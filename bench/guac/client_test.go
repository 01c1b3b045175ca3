package guac

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeGuacd accepts one connection and runs script on it with a reader for the client's
// instructions. It stands in for guacd, which is not packaged for Debian.
func fakeGuacd(t *testing.T, script func(c net.Conn, r *Reader) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- script(c, NewReader(c))
	}()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("fake guacd: %v", err)
		}
	})
	return ln.Addr().String()
}

func write(c net.Conn, ins ...Instruction) error {
	var b []byte
	for _, i := range ins {
		b = i.Append(b)
	}
	_, err := c.Write(b)
	return err
}

func expectOp(r *Reader, op string) (Instruction, error) {
	ins, err := r.Read()
	if err != nil {
		return ins, err
	}
	if ins.Opcode != op {
		return ins, errors.New("got " + ins.String() + ", want " + op)
	}
	return ins, nil
}

// imageStream is img, blobs of at most 64 base64 characters (guacd splits too), end.
func imageStream(stream, mimetype string, data []byte) []Instruction {
	enc := base64.StdEncoding.EncodeToString(data)
	out := []Instruction{{"img", []string{stream, "14", "0", mimetype, "0", "0"}}}
	for len(enc) > 0 {
		n := min(64, len(enc))
		out = append(out, Instruction{"blob", []string{stream, enc[:n]}})
		enc = enc[n:]
	}
	return append(out, Instruction{"end", []string{stream}})
}

func testImages(t *testing.T) (pngData, jpegData []byte) {
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var p, j bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	return p.Bytes(), j.Bytes()
}

func TestSession(t *testing.T) {
	pngData, jpegData := testImages(t)
	webp := []byte("RIFF\x10\x00\x00\x00WEBPVP8 not decoded")
	syncs := make(chan string, 4)
	addr := fakeGuacd(t, func(c net.Conn, r *Reader) error {
		sel, err := expectOp(r, "select")
		if err != nil {
			return err
		}
		if !slices.Equal(sel.Args, []string{"vnc"}) {
			return errors.New("select " + sel.String())
		}
		if err := write(c, Instruction{"args", []string{"VERSION_1_5_0", "hostname", "port", "password"}}); err != nil {
			return err
		}
		// The client's handshake, in the order guacamole-common-js sends it.
		want := []string{"4.size,4.1024,3.768,2.96;", "5.audio;", "5.video;",
			"5.image,9.image/png,10.image/jpeg,10.image/webp;",
			"7.connect,13.VERSION_1_5_0,9.127.0.0.1,4.5901,0.;"}
		for _, w := range want {
			ins, err := r.Read()
			if err != nil {
				return err
			}
			if ins.String() != w {
				return errors.New("got " + ins.String() + ", want " + w)
			}
		}
		frame := []Instruction{{"ready", []string{"$abc"}}, {"size", []string{"0", "1024", "768"}}}
		frame = append(frame, imageStream("1", "image/png", pngData)...)
		frame = append(frame, imageStream("2", "image/jpeg", jpegData)...)
		frame = append(frame, imageStream("3", "image/webp", webp)...)
		frame = append(frame, Instruction{"sync", []string{"1000", "1"}}, Instruction{"sync", []string{"1040"}})
		if err := write(c, frame...); err != nil {
			return err
		}
		// Every sync is answered with its timestamp, after OnSync has seen it: the key
		// sent from the second OnSync comes before the second answer.
		for i := range 2 {
			if i == 1 {
				if ins, err := expectOp(r, "key"); err != nil || !slices.Equal(ins.Args, []string{"97", "1"}) {
					return errors.New("key: " + ins.String())
				}
			}
			ins, err := expectOp(r, "sync")
			if err != nil {
				return err
			}
			syncs <- ins.Args[0]
		}
		return write(c, Instruction{"error", []string{"Aborted. See logs.", "519"}})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, Config{Protocol: "vnc", Width: 1024, Height: 768,
		Params: map[string]string{"hostname": "127.0.0.1", "port": "5901"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ID != "$abc" {
		t.Errorf("ID %q", c.ID)
	}
	c.KeepAlive = -1 // the script expects exactly key after the syncs
	var events []SyncEvent
	c.OnSync = func(ev SyncEvent) {
		events = append(events, ev)
		if len(events) == 2 {
			c.Key('a', true)
		}
	}
	err = c.Run(ctx)
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "Aborted") {
		t.Fatalf("Run = %v, want the server's error", err)
	}
	if a, b := <-syncs, <-syncs; a != "1000" || b != "1040" {
		t.Fatalf("sync answers %q %q", a, b)
	}
	if len(events) != 2 || !events[0].Changed || events[1].Changed {
		t.Fatalf("sync events %+v", events)
	}
	st := c.Stats()
	if st.Syncs != 2 || st.Decoded != 2 || st.FirstSync <= 0 || st.Width != 1024 || st.Height != 768 {
		t.Fatalf("stats %+v", st)
	}
	for m, n := range map[string]int{"image/png": len(pngData), "image/jpeg": len(jpegData), "image/webp": len(webp)} {
		if st.Images[m] != 1 || st.ImageBytes[m] != uint64(n) {
			t.Errorf("%s: %d images, %d bytes; want 1, %d", m, st.Images[m], st.ImageBytes[m], n)
		}
	}
	if st.Bytes < uint64(len(pngData)+len(jpegData)) {
		t.Errorf("Bytes = %d", st.Bytes)
	}
}

// TestSessionBadInput: broken streams end the session with an error, never a panic.
func TestSessionBadInput(t *testing.T) {
	for name, tail := range map[string][]Instruction{
		"bad base64": {{"img", []string{"1", "14", "0", "image/png", "0", "0"}}, {"blob", []string{"1", "!!!"}}},
		"bad png":    imageStream("1", "image/png", []byte("not a png")),
		"short img":  {{"img", []string{"1"}}},
		"bare sync":  {{"sync", nil}},
		"bad size":   {{"size", []string{"0", "-5", "x"}}},
		"huge size":  {{"size", []string{"0", "100000", "100000"}}},
	} {
		t.Run(name, func(t *testing.T) {
			addr := fakeGuacd(t, func(c net.Conn, r *Reader) error {
				if _, err := expectOp(r, "select"); err != nil {
					return err
				}
				write(c, Instruction{"args", []string{"hostname"}})
				for range 5 {
					if _, err := r.Read(); err != nil {
						return err
					}
				}
				write(c, append([]Instruction{{"ready", []string{"$x"}}}, tail...)...)
				r.Read() // until the client hangs up
				return nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, addr, Config{Protocol: "vnc", Width: 64, Height: 64})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Run(ctx)
			c.Close()
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Run = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestHandshakeRefused(t *testing.T) {
	addr := fakeGuacd(t, func(c net.Conn, r *Reader) error {
		r.Read()
		return write(c, Instruction{"error", []string{"No such protocol", "256"}})
	})
	_, err := Dial(context.Background(), addr, Config{Protocol: "nope"})
	if !errors.Is(err, ErrServer) {
		t.Fatalf("Dial = %v, want ErrServer", err)
	}
}

// TestSyncDelay: a slow client answers each sync late.
func TestSyncDelay(t *testing.T) {
	const delay = 80 * time.Millisecond
	gaps := make(chan time.Duration, 1)
	addr := fakeGuacd(t, func(c net.Conn, r *Reader) error {
		r.Read()
		write(c, Instruction{"args", []string{"hostname"}})
		for range 5 {
			if _, err := r.Read(); err != nil {
				return err
			}
		}
		start := time.Now()
		write(c, Instruction{"ready", []string{"$x"}}, Instruction{"sync", []string{"1"}}, Instruction{"sync", []string{"2"}})
		for range 2 {
			if _, err := expectOp(r, "sync"); err != nil {
				return err
			}
		}
		gaps <- time.Since(start)
		return write(c, Instruction{"disconnect", nil})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, Config{Protocol: "vnc", Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SyncDelay = delay
	var seen []time.Duration // from each sync's arrival to OnSync
	c.OnSync = func(ev SyncEvent) { seen = append(seen, time.Since(ev.At)) }
	if err := c.Run(ctx); !errors.Is(err, ErrServer) {
		t.Fatalf("Run = %v, want the server's disconnect", err)
	}
	// OnSync comes when the frame arrives, before the slow drawing, as bench/client's
	// OnFrame does before its late ACK: the harness compares both.
	if len(seen) != 2 || seen[0] >= delay || seen[1] >= delay {
		t.Fatalf("OnSync %v after the syncs arrived, want before the %v delay", seen, delay)
	}
	if g := <-gaps; g < 2*delay {
		t.Fatalf("two syncs answered after %v, want at least %v", g, 2*delay)
	}
}

// TestKeepAlive: on a still screen (no sync to answer) the client still sends nop
// periodically, as guacamole-common-js does; guacd drops a user silent for 15 s.
func TestKeepAlive(t *testing.T) {
	const every = 40 * time.Millisecond
	gap := make(chan time.Duration, 1)
	addr := fakeGuacd(t, func(c net.Conn, r *Reader) error {
		r.Read()
		write(c, Instruction{"args", []string{"hostname"}})
		for range 5 {
			if _, err := r.Read(); err != nil {
				return err
			}
		}
		if err := write(c, Instruction{"ready", []string{"$x"}}); err != nil {
			return err
		}
		start := time.Now()
		for range 3 {
			if _, err := expectOp(r, "nop"); err != nil {
				return err
			}
		}
		gap <- time.Since(start)
		return write(c, Instruction{"disconnect", nil})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, Config{Protocol: "vnc", Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.KeepAlive = every
	if err := c.Run(ctx); !errors.Is(err, ErrServer) {
		t.Fatalf("Run = %v, want the server's disconnect", err)
	}
	if g := <-gap; g < 3*every-every/2 {
		t.Fatalf("three nops within %v, want about %v apart", g, every)
	}
}

// pcmBursts is S16LE stereo at rate with a tone burst every 500 ms (160 ms of silence,
// 340 ms of tone from its peak), n of them.
func pcmBursts(rate, n int) []byte {
	var pcm []byte
	for range n {
		pcm = append(pcm, make([]byte, rate*160/1000*4)...)
		for i := range rate * 340 / 1000 {
			v := int16(16384 * math.Cos(2*math.Pi*440*float64(i)/float64(rate)))
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
		}
	}
	return pcm
}

// TestAudio: the client declares the audio types, accepts a raw PCM stream as
// guacamole-common-js does (ack OK), refuses another type (ack BAD TYPE), decodes the
// blobs, counts their instructions' bytes and notes one start per burst.
func TestAudio(t *testing.T) {
	pcm := pcmBursts(44100, 3)
	var wantBytes uint64
	var blobs int
	addr := fakeGuacd(t, func(c net.Conn, r *Reader) error {
		if _, err := expectOp(r, "select"); err != nil {
			return err
		}
		if err := write(c, Instruction{"args", []string{"VERSION_1_5_0", "hostname"}}); err != nil {
			return err
		}
		for _, w := range []string{"size", "audio", "video", "image", "connect"} {
			ins, err := expectOp(r, w)
			if err != nil {
				return err
			}
			if w == "audio" && !slices.Equal(ins.Args, []string{"audio/L8", "audio/L16"}) {
				return errors.New("audio " + ins.String())
			}
		}
		if err := write(c, Instruction{"ready", []string{"$a"}}, Instruction{"audio", []string{"5", "audio/ogg"}},
			Instruction{"audio", []string{"7", "audio/L16;rate=44100,channels=2"}}); err != nil {
			return err
		}
		for _, w := range []string{"5,BAD TYPE,783", "7,OK,0"} {
			ins, err := expectOp(r, "ack")
			if err != nil {
				return err
			}
			if strings.Join(ins.Args, ",") != w {
				return errors.New("got " + ins.String() + ", want ack " + w)
			}
		}
		// Blobs of 6048 bytes, as guacd's raw encoder sends them, then the end.
		var out []Instruction
		for p := pcm; len(p) > 0; {
			n := min(6048, len(p))
			ins := Instruction{"blob", []string{"7", base64.StdEncoding.EncodeToString(p[:n])}}
			wantBytes += uint64(len(ins.String()))
			blobs++
			out = append(out, ins)
			p = p[n:]
		}
		out = append(out, Instruction{"end", []string{"7"}}, Instruction{"blob", []string{"7", "AAAA"}},
			Instruction{"error", []string{"done", "519"}})
		return write(c, out...)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, Config{Protocol: "vnc", Width: 64, Height: 48, AudioTypes: []string{"audio/L8", "audio/L16"},
		Params: map[string]string{"hostname": "h"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.KeepAlive = -1
	if err := c.Run(ctx); !errors.Is(err, ErrServer) {
		t.Fatalf("Run = %v, want the server's error", err)
	}
	st := c.Stats()
	if st.AudioStreams != 1 || st.AudioBlobs != uint64(blobs) || st.AudioBytes != wantBytes || st.AudioPCM != uint64(len(pcm)) ||
		st.AudioType != "audio/L16;rate=44100,channels=2" {
		t.Errorf("audio stats %+v; want 1 stream, %d blobs, %d bytes, %d PCM bytes", st, blobs, wantBytes, len(pcm))
	}
	if n := len(c.AudioOnsets()); n != 3 {
		t.Errorf("%d burst starts, want 3", n)
	}
}

func TestParseRawAudio(t *testing.T) {
	for _, tc := range []struct {
		in                   string
		bits, rate, channels int
		ok                   bool
	}{
		{"audio/L16;rate=44100,channels=2", 16, 44100, 2, true},
		{"audio/L8;rate=22050,channels=1", 8, 22050, 1, true},
		{"audio/L16", 16, 44100, 1, true},
		{"audio/ogg", 0, 0, 0, false},
		{"audio/L16;rate=5", 0, 0, 0, false},
		{"audio/L16;channels=x", 0, 0, 0, false},
	} {
		bits, rate, channels, ok := parseRawAudio(tc.in)
		if bits != tc.bits || rate != tc.rate || channels != tc.channels || ok != tc.ok {
			t.Errorf("parseRawAudio(%q) = %d, %d, %d, %v", tc.in, bits, rate, channels, ok)
		}
	}
}
