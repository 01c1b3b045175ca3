package gateway

import (
	"bufio"
	"net"
	"net/http"
)

// wsWriteBuffer is a websocket's write buffer. net/http hands a hijacked connection a
// 4 KiB writer, so every frame message over 4 KiB took two system calls (the buffer's
// worth, then the rest); most frames of a quiet desktop are a few KiB, so with many
// sessions that was a large share of racgate's CPU (docs/benchmarks.md, scale).
const wsWriteBuffer = 16 << 10

// bigWriteBuffer gives websocket.Accept a connection with a wsWriteBuffer writer.
type bigWriteBuffer struct{ http.ResponseWriter }

func (b bigWriteBuffer) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b bigWriteBuffer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(b.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Whatever net/http left buffered (the handshake response) goes first.
	if err := rw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, bufio.NewReadWriter(rw.Reader, bufio.NewWriterSize(c, wsWriteBuffer)), nil
}
