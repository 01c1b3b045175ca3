package vnc

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"

	"github.com/racgate/racgate/render"
)

// fakeConn is a net.Conn that plays a recorded server stream and records what
// the client writes: deterministic and goroutine-free, for decoders and fuzzing.
type fakeConn struct {
	r       io.Reader
	mu      sync.Mutex
	written bytes.Buffer
}

func newFakeConn(server []byte) *fakeConn { return &fakeConn{r: bytes.NewReader(server)} }

func (f *fakeConn) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written.Write(p)
}
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// serverHello is RFB 3.8 with security None and a ServerInit of w x h.
func serverHello(w, h int) []byte {
	b := []byte("RFB 003.008\n")
	b = append(b, 1, SecurityNone)
	b = be32(b, 0) // SecurityResult OK
	b = be16(b, uint16(w))
	b = be16(b, uint16(h))
	b = framebufferFormat.marshal(b)
	b = be32(b, 4)
	return append(b, "test"...)
}

func rect(x, y, w, h int, enc int32, body []byte) []byte {
	var b []byte
	b = be16(b, uint16(x))
	b = be16(b, uint16(y))
	b = be16(b, uint16(w))
	b = be16(b, uint16(h))
	b = be32(b, uint32(enc))
	return append(b, body...)
}

func fbUpdate(rects ...[]byte) []byte {
	b := []byte{msgFramebufferUpdate, 0}
	b = be16(b, uint16(len(rects)))
	for _, r := range rects {
		b = append(b, r...)
	}
	return b
}

// zlibStream compresses chunks as one zlib stream with a sync flush after
// each, as servers do per rectangle.
func zlibStream(chunks ...[]byte) [][]byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	var out [][]byte
	for _, c := range chunks {
		zw.Write(c)
		zw.Flush()
		out = append(out, bytes.Clone(buf.Bytes()))
		buf.Reset()
	}
	return out
}

func withLen32(data []byte) []byte { return append(be32(nil, uint32(len(data))), data...) }

// runFake connects to a fake server playing stream and runs until the stream
// ends. It returns the client, the framebuffer and Run's error.
func runFake(stream []byte, cfg Config) (*Client, *render.Framebuffer, *fakeConn, error) {
	fb := render.NewFramebuffer(0, 0)
	conn := newFakeConn(stream)
	c, err := NewClient(context.Background(), conn, cfg, fb)
	if err != nil {
		return nil, fb, conn, err
	}
	return c, fb, conn, c.Run(context.Background())
}

// rgbx is a pixel in the framebuffer layout.
func rgbx(r, g, b byte) []byte { return []byte{r, g, b, 0} }

func u16be(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
