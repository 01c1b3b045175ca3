package ssh

import (
	"net"
)

// bulkConn reads the connection through a buffer of its own once reads turn bulky.
// x/crypto/ssh reads through a 4 KiB bufio.Reader: for a stream of 32 KiB packets (a
// download, a flood of output) that is about two read system calls a packet. A read
// of 16 KiB or more is a sign of such a stream; from then on reads are served from a
// 64 KiB buffer filled by one system call. A quiet connection (a terminal at a prompt)
// never allocates it.
type bulkConn struct {
	net.Conn
	buf        []byte // nil until reads turn bulky
	start, end int    // buf[start:end] is read but not yet returned
}

const (
	bulkRead   = 16 << 10 // a read this large makes the connection bulky
	bulkBuffer = 64 << 10
)

func (c *bulkConn) Read(p []byte) (int, error) {
	if c.start < c.end {
		n := copy(p, c.buf[c.start:c.end])
		c.start += n
		return n, nil
	}
	if c.buf == nil {
		if len(p) < bulkRead {
			return c.Conn.Read(p)
		}
		c.buf = make([]byte, bulkBuffer)
	}
	if len(p) >= len(c.buf) {
		return c.Conn.Read(p)
	}
	n, err := c.Conn.Read(c.buf)
	c.start, c.end = 0, n
	m := copy(p, c.buf[:n])
	c.start = m
	if m < n {
		err = nil // the rest is buffered; an error comes again on the next read
	}
	return m, err
}
