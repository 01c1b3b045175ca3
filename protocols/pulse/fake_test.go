package pulse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Helpers that build what a server sends, for the fake server and the fuzz
// seeds. They use the package's encoder; the real-server tests check the
// encoder against PulseAudio itself.

func (e *encoder) raw(b ...byte) { e.b = append(e.b, b...) }
func (e *encoder) usec(v uint64) { e.b = binary.BigEndian.AppendUint64(append(e.b, tagUsec), v) }

func descriptor(length, channel uint32, offset uint64, flags uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, length)
	b = binary.BigEndian.AppendUint32(b, channel)
	b = binary.BigEndian.AppendUint64(b, offset)
	return binary.BigEndian.AppendUint32(b, flags)
}

// packet is a command frame whose tagstruct body writes.
func packet(body func(e *encoder)) []byte {
	var e encoder
	body(&e)
	return appendPacket(nil, e.b)
}

func reply(tag uint32, body func(e *encoder)) []byte {
	return packet(func(e *encoder) { e.u32(cmdReply); e.u32(tag); body(e) })
}

func errorReply(tag, code uint32) []byte {
	return packet(func(e *encoder) { e.u32(cmdError); e.u32(tag); e.u32(code) })
}

func notify(cmd uint32, body func(e *encoder)) []byte {
	return packet(func(e *encoder) { e.u32(cmd); e.u32(invalid); body(e) })
}

func memblock(channel uint32, pcm []byte) []byte {
	return append(descriptor(uint32(len(pcm)), channel, 0, 0), pcm...)
}

// fakeStream is the record stream index the fake server hands out.
const fakeStream = 7

// defaultSpec is the sample spec of the default Config.
var defaultSpec = sampleSpec{sampleS16LE, 2, 44100}

// cannedReply is what PulseAudio 16 answers to the requests Dial sends
// (laid out as protocol-native.c does for version 32); ss is the sample spec
// a CREATE_RECORD_STREAM asked for.
func cannedReply(cmd, tag uint32, ss sampleSpec) []byte {
	switch cmd {
	case cmdAuth:
		return reply(tag, func(e *encoder) { e.u32(35) })
	case cmdSetClientName:
		return reply(tag, func(e *encoder) { e.u32(3) })
	case cmdGetServerInfo:
		return reply(tag, func(e *encoder) {
			e.string("pulseaudio")
			e.string("16.1")
			e.string("root")
			e.string("vm")
			e.sampleSpec(sampleSpec{sampleS16LE, 2, 44100})
			e.string("out")
			e.string("out.monitor")
			e.u32(0x1234)
			e.channelMap([]uint8{1, 2})
		})
	case cmdGetSinkInfo:
		return reply(tag, func(e *encoder) {
			e.u32(1)
			e.string("out")
			e.string("Null Output")
			e.sampleSpec(sampleSpec{sampleS16LE, 2, 44100})
			e.channelMap([]uint8{1, 2})
			e.u32(2)
			e.cvolume(2, volumeNorm)
			e.bool(false)
			e.u32(1)
			e.string("out.monitor")
			e.usec(0)
			e.string("module-null-sink.c")
			e.u32(0)
			e.propList("device.description", "Null Output")
		})
	case cmdCreateRecordStream:
		return reply(tag, func(e *encoder) {
			e.u32(fakeStream)
			e.u32(4)
			e.u32(4 << 20)
			e.u32(3528)
			e.sampleSpec(ss)
			e.channelMap([]uint8{1, 2}[:ss.channels])
			e.u32(1)
			e.string("out.monitor")
			e.bool(false)
			e.usec(20000)
			e.raw(tagFormatInfo)
			e.u8(1)
			e.propList()
		})
	}
	return errorReply(tag, 2) // unknown command
}

// handshake is the server's side of Dial with the default Config: the replies
// to tags 0 to 4, in order.
func handshake() [][]byte {
	cmds := []uint32{cmdAuth, cmdSetClientName, cmdGetServerInfo, cmdGetSinkInfo, cmdCreateRecordStream}
	out := make([][]byte, len(cmds))
	for i, c := range cmds {
		out[i] = cannedReply(c, uint32(i), defaultSpec)
	}
	return out
}

// script says how the fake server departs from PulseAudio.
type script struct {
	// instead, per command, is sent in place of its reply (given the
	// request's tag).
	instead map[uint32]func(tag uint32) []byte
	// end closes the connection after an instead.
	end bool
	// after is sent after the reply to CREATE_RECORD_STREAM, chunk by chunk,
	// each pace after the one before (the first pace after the reply).
	after [][]byte
	pace  time.Duration
	// hold keeps the connection open after that until the client closes
	// it; otherwise the server closes it.
	hold bool
}

// startFake runs a fake server for one connection and returns its address.
// It reads the client's requests, answers as s says, and is gone when the
// test ends.
func startFake(t *testing.T, s script) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serveFake(c, s)
	}()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}

func serveFake(c net.Conn, s script) {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var hdr [descriptorSize]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxPacket {
			return
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		d := decoder{b: p}
		cmd, tag := d.u32(), d.u32()
		if f := s.instead[cmd]; f != nil {
			if _, err := c.Write(f(tag)); err != nil || s.end {
				return
			}
			continue
		}
		if _, err := c.Write(cannedReply(cmd, tag, d.sampleSpec())); err != nil {
			return
		}
		if cmd != cmdCreateRecordStream {
			continue
		}
		for _, b := range s.after {
			time.Sleep(s.pace)
			if _, err := c.Write(b); err != nil {
				return
			}
		}
		if !s.hold {
			return
		}
		io.Copy(io.Discard, c) // until the client closes
		return
	}
}

// collect runs r until it ends, and returns its error and what it delivered,
// checking on the way that every delivery is whole frames whose at follows
// the previous delivery exactly.
func collect(t *testing.T, ctx context.Context, r *Recorder) ([]byte, error) {
	t.Helper()
	rate, ch := r.Format()
	var got []byte
	err := r.Run(ctx, func(pcm []byte, at time.Duration) {
		frames := int64(len(got) / (2 * ch))
		want := time.Duration(frames) * time.Second / time.Duration(rate)
		if len(pcm)%(2*ch) != 0 || len(pcm) == 0 {
			t.Errorf("delivery of %d bytes, not whole frames of %d channels", len(pcm), ch)
		}
		if d := at - want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("at %v after %d frames, want %v", at, frames, want)
		}
		got = append(got, pcm...)
	})
	return got, err
}

func ramp(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestFakeHandshakeAndAudio: against the fake server's PulseAudio-like
// answers, Dial picks the default sink's monitor, and Run delivers audio from
// memblocks of any size (odd ones included) as whole frames, in order, with
// media times that follow the sample count, until the server closes (io.EOF).
func TestFakeHandshakeAndAudio(t *testing.T) {
	pcm := ramp(4 * 1000)
	var after [][]byte
	for _, cut := range [][2]int{{0, 3}, {3, 8}, {8, 1001}, {1001, 1002}, {1002, 4000}} {
		after = append(after, memblock(fakeStream, pcm[cut[0]:cut[1]]))
		after = append(after, notify(77, func(e *encoder) { e.u32(fakeStream); e.bool(false) })) // suspended: ignored
	}
	addr := startFake(t, script{after: after})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Dial(ctx, Config{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Source() != "out.monitor" {
		t.Errorf("Source %q", r.Source())
	}
	if rate, ch := r.Format(); rate != 44100 || ch != 2 {
		t.Errorf("Format %d, %d", rate, ch)
	}
	got, err := collect(t, ctx, r)
	if !errors.Is(err, io.EOF) {
		t.Errorf("Run: %v, want EOF", err)
	}
	if !bytes.Equal(got, pcm) {
		t.Errorf("delivered %d bytes, differing from the %d sent", len(got), len(pcm))
	}
}

// TestFakeRequests checks the bytes Dial sends for the handshake against
// what protocol-native.c reads: the AUTH version and cookie, and the
// CREATE_RECORD_STREAM sample spec, source and fragment size.
func TestFakeRequests(t *testing.T) {
	reqs := make(chan []byte, 8)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(reqs)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var hdr [descriptorSize]byte
		for {
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				return
			}
			p := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(c, p); err != nil {
				return
			}
			reqs <- append(hdr[:], p...)
			d := decoder{b: p}
			cmd, tag := d.u32(), d.u32()
			c.Write(cannedReply(cmd, tag, d.sampleSpec()))
			if cmd == cmdCreateRecordStream {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cookie := bytes.Repeat([]byte{0xab}, CookieSize)
	r, err := Dial(ctx, Config{Addr: addr(l), Source: "mic", SampleRate: 48000, Channels: 1, Fragment: 10 * time.Millisecond, Cookie: cookie})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	wg.Wait()
	var all [][]byte
	for q := range reqs {
		all = append(all, q)
	}
	// AUTH, SET_CLIENT_NAME, CREATE_RECORD_STREAM: a named source asks no server info.
	if len(all) != 3 {
		t.Fatalf("%d requests, want 3", len(all))
	}
	for i, q := range all {
		h := [descriptorSize]byte(q[:descriptorSize])
		fh, err := parseDescriptor(&h)
		if err != nil || fh.channel != channelPacket || int(fh.length) != len(q)-descriptorSize || fh.offset != 0 || fh.flags != 0 {
			t.Errorf("request %d: descriptor %+v, %v", i, fh, err)
		}
	}
	d := decoder{b: all[0][descriptorSize:]}
	if cmd, tag, v := d.u32(), d.u32(), d.u32(); cmd != cmdAuth || tag != 0 || v != version {
		t.Errorf("AUTH: cmd %d tag %d version %d", cmd, tag, v)
	}
	if c := d.arbitrary(CookieSize); !bytes.Equal(c, cookie) || len(d.b) != 0 || d.err != nil {
		t.Errorf("AUTH cookie %x, %d bytes left, %v", c, len(d.b), d.err)
	}
	d = decoder{b: all[2][descriptorSize:]}
	cmd, tag := d.u32(), d.u32()
	ss := d.sampleSpec()
	nmap := d.channelMap()
	idx := d.u32()
	src, _ := d.string()
	d.u32() // maxlength
	corked := d.bool()
	frag := d.u32()
	if d.err != nil || cmd != cmdCreateRecordStream || tag != 2 || ss != (sampleSpec{sampleS16LE, 1, 48000}) ||
		nmap != 1 || idx != invalid || src != "mic" || corked || frag != 480*2 {
		t.Errorf("CREATE_RECORD_STREAM: cmd %d tag %d %+v map %d idx %#x source %q corked %v fragsize %d: %v",
			cmd, tag, ss, nmap, idx, src, corked, frag, d.err)
	}
}

func addr(l net.Listener) string { return l.Addr().String() }

// TestHostile: a server that sends huge lengths, truncated tagstructs, wrong
// replies or audio it should not makes Dial or Run fail with ErrProtocol
// (or the kind named), without a panic and without allocating what the
// frame claims.
func TestHostile(t *testing.T) {
	with := func(cmd uint32, f func(tag uint32) []byte) map[uint32]func(uint32) []byte {
		return map[uint32]func(uint32) []byte{cmd: f}
	}
	huge := func(uint32) []byte { return descriptor(0xFFFFFFF0, channelPacket, 0, 0) }
	cases := []struct {
		name   string
		s      script
		inDial bool  // the error comes from Dial, else from Run
		want   error // nil: ErrProtocol
	}{
		{"huge packet", script{instead: with(cmdAuth, huge)}, true, nil},
		{"packet just over the limit", script{instead: with(cmdAuth, func(uint32) []byte { return descriptor(maxPacket+1, channelPacket, 0, 0) })}, true, nil},
		{"huge memblock", script{after: [][]byte{descriptor(0xFFFFFFFF, fakeStream, 0, 0)}}, false, nil},
		{"memblock at the limit, cut short", script{after: [][]byte{descriptor(maxMemblock, fakeStream, 0, 0), make([]byte, 1000)}}, false, io.ErrUnexpectedEOF},
		{"empty frame", script{after: [][]byte{descriptor(0, fakeStream, 0, 0)}}, false, nil},
		{"shm frame", script{after: [][]byte{descriptor(16, fakeStream, 0, 0x80000000), make([]byte, 16)}}, false, nil},
		{"shm release", script{after: [][]byte{descriptor(0, 0, 0, 0x40000000)}}, false, nil},
		{"bad seek mode", script{after: [][]byte{descriptor(4, fakeStream, 0, 9), make([]byte, 4)}}, false, nil},
		{"packet with flags", script{instead: with(cmdAuth, func(tag uint32) []byte {
			b := cannedReply(cmdAuth, tag, defaultSpec)
			b[19] = 1
			return b
		})}, true, nil},
		{"truncated AUTH reply", script{instead: with(cmdAuth, func(tag uint32) []byte {
			return packet(func(e *encoder) { e.u32(cmdReply); e.u32(tag); e.raw(tagU32, 0, 0) })
		})}, true, nil},
		{"truncated command header", script{instead: with(cmdAuth, func(uint32) []byte {
			return packet(func(e *encoder) { e.raw(tagU32, 0, 0, 0) })
		})}, true, nil},
		{"frame cut inside the descriptor", script{instead: with(cmdAuth, func(tag uint32) []byte {
			return cannedReply(cmdAuth, tag, defaultSpec)[:10]
		}), end: true}, true, io.ErrUnexpectedEOF},
		{"frame cut inside the payload", script{instead: with(cmdAuth, func(tag uint32) []byte {
			return cannedReply(cmdAuth, tag, defaultSpec)[:descriptorSize+2]
		}), end: true}, true, io.ErrUnexpectedEOF},
		{"closed instead of a reply", script{instead: with(cmdGetSinkInfo, func(uint32) []byte { return nil }), end: true}, true, io.EOF},
		{"old server", script{instead: with(cmdAuth, func(tag uint32) []byte { return reply(tag, func(e *encoder) { e.u32(13) }) })}, true, nil},
		{"string without NUL", script{instead: with(cmdGetServerInfo, func(tag uint32) []byte {
			return reply(tag, func(e *encoder) { e.raw(tagString, 'p', 'u', 'l', 's', 'e') })
		})}, true, nil},
		{"huge channel map", script{instead: with(cmdGetSinkInfo, func(tag uint32) []byte {
			return reply(tag, func(e *encoder) {
				e.u32(1)
				e.string("out")
				e.string("d")
				e.sampleSpec(sampleSpec{sampleS16LE, 2, 44100})
				e.raw(tagChannelMap, 200)
				e.raw(make([]byte, 200)...)
			})
		})}, true, nil},
		{"huge proplist value", script{instead: with(cmdCreateRecordStream, func(tag uint32) []byte {
			b := cannedReply(cmdCreateRecordStream, tag, defaultSpec)
			// The format info's proplist ends with 'N'; put an entry
			// claiming 4 GiB before it.
			var e encoder
			e.string("k")
			e.u32(0xFFFFFFFF)
			e.raw(tagArbitrary, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3)
			b = append(b[:len(b)-1], append(e.b, tagStringNull)...)
			binary.BigEndian.PutUint32(b, uint32(len(b)-descriptorSize))
			return b
		})}, true, nil},
		{"proplist length mismatch", script{instead: with(cmdCreateRecordStream, func(tag uint32) []byte {
			b := cannedReply(cmdCreateRecordStream, tag, defaultSpec)
			var e encoder
			e.string("k")
			e.u32(3)
			e.arbitrary([]byte{1, 2})
			b = append(b[:len(b)-1], append(e.b, tagStringNull)...)
			binary.BigEndian.PutUint32(b, uint32(len(b)-descriptorSize))
			return b
		})}, true, nil},
		{"wrong tag", script{instead: with(cmdSetClientName, func(tag uint32) []byte { return reply(tag+1, func(e *encoder) { e.u32(3) }) })}, true, nil},
		{"reply to another command's layout", script{instead: with(cmdCreateRecordStream, func(tag uint32) []byte { return cannedReply(cmdGetServerInfo, tag, defaultSpec) })}, true, nil},
		{"client command from the server", script{instead: with(cmdGetServerInfo, func(uint32) []byte {
			return packet(func(e *encoder) { e.u32(cmdCreateRecordStream); e.u32(0) })
		})}, true, nil},
		{"float samples", script{instead: with(cmdCreateRecordStream, func(tag uint32) []byte {
			b := cannedReply(cmdCreateRecordStream, tag, defaultSpec)
			i := bytes.IndexByte(b[descriptorSize+10:], tagSampleSpec) + descriptorSize + 10
			b[i+1] = 5 // PA_SAMPLE_FLOAT32LE
			return b
		})}, true, nil},
		{"audio before the stream", script{instead: with(cmdGetServerInfo, func(uint32) []byte { return memblock(fakeStream, make([]byte, 4)) })}, true, nil},
		{"audio on another channel", script{after: [][]byte{memblock(fakeStream+1, make([]byte, 4))}}, false, nil},
		{"reply to nothing", script{after: [][]byte{reply(99, func(*encoder) {})}}, false, nil},
		{"unknown command", script{after: [][]byte{notify(200, func(*encoder) {})}}, false, nil},
		{"srbchannel", script{after: [][]byte{notify(101, func(*encoder) {})}}, false, nil},
		{"truncated kill", script{after: [][]byte{notify(cmdRecordStreamKilled, func(e *encoder) { e.raw(tagU32, 0) })}}, false, nil},
		{"killed", script{after: [][]byte{notify(cmdRecordStreamKilled, func(e *encoder) { e.u32(fakeStream) })}}, false, ErrKilled},
		{"access refused", script{instead: with(cmdAuth, func(tag uint32) []byte { return errorReply(tag, errAccess) })}, true, ErrAuth},
		{"no such source", script{instead: with(cmdCreateRecordStream, func(tag uint32) []byte { return errorReply(tag, 5) })}, true, &ServerError{}},
		{"truncated error", script{instead: with(cmdAuth, func(tag uint32) []byte {
			return packet(func(e *encoder) { e.u32(cmdError); e.u32(tag) })
		})}, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := startFake(t, c.s)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, err := Dial(ctx, Config{Addr: addr})
			if err == nil {
				if c.inDial {
					r.Close()
					t.Fatal("Dial succeeded")
				}
				_, err = collect(t, ctx, r)
				r.Close()
			} else if !c.inDial {
				t.Fatalf("Dial: %v", err)
			}
			runtime.ReadMemStats(&after)
			want := c.want
			if want == nil {
				want = ErrProtocol
			}
			var se *ServerError
			switch {
			case err == nil:
				t.Fatal("no error")
			case errors.As(want, &se):
				if !errors.As(err, &se) || errors.Is(err, ErrProtocol) || errors.Is(err, ErrAuth) {
					t.Errorf("error %v, want a ServerError", err)
				}
			case !errors.Is(err, want):
				t.Errorf("error %v, want %v", err, want)
			}
			if want != ErrProtocol && errors.Is(err, ErrProtocol) {
				t.Errorf("error %v is also ErrProtocol", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("allocated %d bytes", n)
			}
			t.Logf("%v", err)
		})
	}
}

// TestCancel: Run returns promptly when its context ends, and Close makes a
// running Run return, against a server that sends nothing after the
// handshake. Dial returns when its context ends during the handshake.
func TestCancel(t *testing.T) {
	dial := func(t *testing.T) *Recorder {
		addr := startFake(t, script{hold: true})
		r, err := Dial(context.Background(), Config{Addr: addr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	t.Run("context", func(t *testing.T) {
		r := dial(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, func([]byte, time.Duration) {}) }()
		time.Sleep(50 * time.Millisecond) // let Run block in Read
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("Run returned %v after cancel", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		if err := r.Run(context.Background(), nil); err == nil {
			t.Error("second Run succeeded")
		}
	})
	t.Run("close", func(t *testing.T) {
		r := dial(t)
		done := make(chan error, 1)
		go func() { done <- r.Run(context.Background(), func([]byte, time.Duration) {}) }()
		time.Sleep(50 * time.Millisecond)
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Run after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after Close")
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("ended context", func(t *testing.T) {
		r := dial(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Run(ctx, func([]byte, time.Duration) { t.Error("delivery") }); !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	t.Run("dial", func(t *testing.T) {
		// A server that accepts and never answers.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := l.Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		defer wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = Dial(ctx, Config{Addr: addr(l)})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Dial returned after %v", d)
		}
	})
}

// TestConfig: bad settings are refused before connecting; a bare host gets
// port 4713.
func TestConfig(t *testing.T) {
	for _, c := range []Config{
		{},
		{Addr: "h:1", Channels: 3},
		{Addr: "h:1", SampleRate: -1},
		{Addr: "h:1", SampleRate: 1 << 30},
		{Addr: "h:1", Cookie: []byte{1}},
		{Addr: "h:1", Source: "a\x00b"},
		{Addr: "h:1", Fragment: -time.Second},
	} {
		if _, err := Dial(context.Background(), c); err == nil {
			t.Errorf("Dial(%+v) succeeded", c)
		}
	}
	for in, want := range map[string]string{"host": "host:4713", "::1": "[::1]:4713", "[::1]": "[::1]:4713", "h:1": "h:1"} {
		c, err := Config{Addr: in}.withDefaults()
		if err != nil || c.Addr != want {
			t.Errorf("Addr %q became %q (%v), want %q", in, c.Addr, err, want)
		}
	}
}

func TestMediaTime(t *testing.T) {
	r := &Recorder{rate: 44100}
	for _, f := range []int64{0, 1, 44099, 44100, 44101, 1 << 40} {
		r.frames = f
		want := time.Duration(float64(f) / 44100 * float64(time.Second))
		if d := r.mediaTime() - want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%d frames: %v, want %v", f, r.mediaTime(), want)
		}
	}
}
