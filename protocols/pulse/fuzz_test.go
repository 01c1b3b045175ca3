package pulse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// scriptedConn is a net.Conn whose reads come from a fixed byte string and
// whose writes go nowhere: the server side of a connection without a network
// or a goroutine, for fuzzing.
type scriptedConn struct{ r *bytes.Reader }

func (c *scriptedConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptedConn) Close() error                     { return nil }
func (c *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }

// serverBytes is what the fuzzed server sends: the canned replies to the
// first step requests of the handshake (0 to 5, taken modulo 6; 5 is the whole
// handshake), then data in place of everything after.
func serverBytes(step uint8, data []byte) []byte {
	var b []byte
	for _, p := range handshake()[:step%6] {
		b = append(b, p...)
	}
	return append(b, data...)
}

// FuzzReplies feeds arbitrary server bytes to the client: in place of any of
// the handshake's replies (step 0 to 4), or after a correct handshake, as the
// stream Run reads (step 5). Whatever the bytes, Dial and Run must end with
// an error of a known kind, without a panic, delivering only whole frames
// with exact media times.
func FuzzReplies(f *testing.F) {
	hs := handshake()
	audio := memblock(fakeStream, ramp(64))
	for i := range hs {
		f.Add(uint8(i), hs[i])                                           // the right reply: the next one is missing
		f.Add(uint8(i), hs[i][:len(hs[i])-1])                            // cut short
		f.Add(uint8(i), errorReply(uint32(i), errAccess))                // refused
		f.Add(uint8(i), append(notify(66, func(*encoder) {}), hs[i]...)) // an event first
	}
	f.Add(uint8(5), audio)
	f.Add(uint8(5), append(audio[:descriptorSize+3], memblock(fakeStream, ramp(5))...))
	f.Add(uint8(5), memblock(fakeStream, ramp(3)))
	f.Add(uint8(5), append(memblock(fakeStream, ramp(6)), memblock(fakeStream, ramp(6))...))
	f.Add(uint8(5), notify(cmdRecordStreamKilled, func(e *encoder) { e.u32(fakeStream) }))
	f.Add(uint8(5), notify(cmdRecordStreamKilled, func(e *encoder) { e.u32(fakeStream + 1) }))
	f.Add(uint8(5), notify(79, func(e *encoder) { e.u32(fakeStream); e.u32(2); e.string("x.monitor"); e.bool(false) }))
	f.Add(uint8(5), append(notify(95, func(e *encoder) { e.u32(fakeStream); e.u32(1 << 20); e.u32(4096); e.usec(0) }), audio...))
	f.Add(uint8(5), descriptor(0xFFFFFFFF, fakeStream, 0, 0))
	f.Add(uint8(5), descriptor(maxMemblock, fakeStream, 0, 0))
	f.Add(uint8(5), reply(5, func(*encoder) {}))
	f.Add(uint8(5), []byte{})

	f.Fuzz(func(t *testing.T, step uint8, data []byte) {
		conn := &scriptedConn{bytes.NewReader(serverBytes(step, data))}
		ctx := context.Background()
		r, err := dialConn(ctx, conn, Config{Addr: "fuzz", SampleRate: 44100, Channels: 2, ClientName: "racgate", Fragment: 20 * time.Millisecond})
		if err == nil {
			rate, ch := r.Format()
			delivered := 0
			err = r.Run(ctx, func(pcm []byte, at time.Duration) {
				if len(pcm) == 0 || len(pcm)%(2*ch) != 0 {
					t.Fatalf("delivery of %d bytes", len(pcm))
				}
				frames := delivered / (2 * ch)
				want := time.Duration(frames) * time.Second / time.Duration(rate)
				if d := at - want; d < -time.Microsecond || d > time.Microsecond {
					t.Fatalf("at %v after %d frames", at, frames)
				}
				delivered += len(pcm)
			})
			if delivered > len(data) {
				t.Fatalf("delivered %d bytes of %d", delivered, len(data))
			}
		}
		var se *ServerError
		switch {
		case err == nil:
			t.Fatal("no error at the end of the stream")
		case errors.Is(err, ErrProtocol), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
			errors.Is(err, ErrKilled), errors.As(err, &se):
		case err.Error() == "pulse: the server has no default sink",
			bytes.HasPrefix([]byte(err.Error()), []byte("pulse: the default sink")):
		default:
			t.Fatalf("error of an unknown kind: %v", err)
		}
	})
}
