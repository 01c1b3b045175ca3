package anontls

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Client. The zero value is ready to use.
type Config struct {
	// Rand is the source of randomness; nil means crypto/rand.Reader.
	Rand io.Reader
	// CipherSuites lists the suites to offer, in preference order (the
	// server decides); nil means TLS_DH_anon_WITH_AES_128_GCM_SHA256 and
	// TLS_DH_anon_WITH_AES_256_GCM_SHA384. Unknown values are an error.
	CipherSuites []uint16
}

// State describes an established connection.
type State struct {
	CipherSuite          uint16 // TLS_DH_anon_WITH_AES_*_GCM_*
	ExtendedMasterSecret bool   // RFC 7627 was negotiated
	DHBits               int    // size of the server's DH prime
}

// Conn is a TLS 1.2 client connection with anonymous DH key exchange. It
// implements net.Conn; Read and Write may be called concurrently with each
// other (one reader and one writer at a time each).
type Conn struct {
	conn   net.Conn
	br     *bufio.Reader // conn, read a record or more per system call
	rand   io.Reader
	suites []suite

	hsMu   sync.Mutex // serialises handshakes
	hsDone atomic.Bool
	hsErr  error // guarded by hsMu
	state  State // written by the handshake before hsDone is set

	inMu       sync.Mutex // guards the read side below
	in         halfConn
	rbuf       []byte // one record: header + up to maxCiphertext
	rawPartial int    // bytes of the current record header read
	input      []byte // unread application data (in rbuf)
	hsBuf      []byte // handshake bytes not yet consumed
	rerr       error

	outMu sync.Mutex // guards the write side below
	out   halfConn
	wbuf  []byte
	werr  error
}

var _ net.Conn = (*Conn)(nil)

// Client returns a client-side connection over conn. The handshake runs on
// the first Read or Write, or explicitly with Handshake or HandshakeContext.
func Client(conn net.Conn, cfg *Config) (*Conn, error) {
	if conn == nil {
		return nil, errors.New("anontls: nil net.Conn")
	}
	c := &Conn{
		conn:   conn,
		br:     bufio.NewReaderSize(conn, recordHeaderLen+maxCiphertext),
		rand:   rand.Reader,
		suites: suites,
		rbuf:   make([]byte, recordHeaderLen+maxCiphertext),
		wbuf:   make([]byte, 0, recordHeaderLen+explicitNonce+maxPlaintext+gcmTagLen),
	}
	if cfg == nil {
		return c, nil
	}
	if cfg.Rand != nil {
		c.rand = cfg.Rand
	}
	if cfg.CipherSuites != nil {
		c.suites = nil
		for _, id := range cfg.CipherSuites {
			i := slices.IndexFunc(suites, func(s suite) bool { return s.id == id })
			if i < 0 {
				return nil, fmt.Errorf("anontls: cipher suite %#04x is not supported", id)
			}
			c.suites = append(c.suites, suites[i])
		}
		if len(c.suites) == 0 {
			return nil, errors.New("anontls: no cipher suites")
		}
	}
	return c, nil
}

// Handshake runs the handshake if it has not run yet.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake if it has not run yet. If ctx ends
// first, the underlying connection is closed and ctx's error returned
// (wrapped). A failed handshake leaves the connection unusable.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if c.hsDone.Load() {
		return nil
	}
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsDone.Load() {
		return nil
	}
	if c.hsErr != nil {
		return c.hsErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("anontls: handshake: %w", err)
	}
	if err := c.handshakeWatched(ctx); err != nil {
		c.hsErr = err
		return err
	}
	c.hsDone.Store(true)
	return nil
}

// handshakeWatched runs the handshake, closing the connection if ctx ends
// first; then ctx's error is what it returns.
func (c *Conn) handshakeWatched(ctx context.Context) (err error) {
	if ctx.Done() != nil {
		done := make(chan struct{})
		interrupted := make(chan error, 1)
		go func() {
			select {
			case <-ctx.Done():
				c.conn.Close() // unblocks the handshake's reads and writes
				interrupted <- ctx.Err()
			case <-done:
				interrupted <- nil
			}
		}()
		defer func() {
			close(done)
			if ctxErr := <-interrupted; ctxErr != nil {
				err = fmt.Errorf("anontls: handshake: %w", ctxErr)
			}
		}()
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if err := c.clientHandshake(); err != nil {
		var le *localError
		var ae *AlertError
		if !errors.As(err, &le) && !errors.As(err, &ae) {
			err = fmt.Errorf("anontls: handshake: %w", err) // I/O errors say where
		}
		return err
	}
	return nil
}

// ConnectionState reports the negotiated parameters; zero before the
// handshake completes.
func (c *Conn) ConnectionState() State {
	if !c.hsDone.Load() {
		return State{}
	}
	return c.state
}

// Read reads application data, running the handshake first if needed.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for len(c.input) == 0 {
		typ, data, err := c.readRecord()
		if err != nil {
			return 0, err
		}
		switch {
		case typ == recordApplicationData:
			c.input = data
		case typ == recordHandshake && isHelloRequest(data):
			// RFC 5246 §7.4.1.1: a client may ignore HelloRequest; we never
			// renegotiate.
		default:
			c.rerr = protoErr(alertUnexpectedMessage, "record type %d after the handshake", typ)
			c.sendAlertFor(c.rerr)
			return 0, c.rerr
		}
	}
	n := copy(b, c.input)
	c.input = c.input[n:]
	return n, nil
}

func isHelloRequest(b []byte) bool {
	if len(b)%4 != 0 {
		return false
	}
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if len(b) == 0 {
		return 0, c.werr
	}
	return c.writeRecord(recordApplicationData, b)
}

// Close sends close_notify if the write side is idle and closes the
// underlying connection.
func (c *Conn) Close() error {
	if c.hsDone.Load() && c.outMu.TryLock() {
		if c.werr == nil {
			c.conn.SetWriteDeadline(time.Now().Add(time.Second))
			c.writeRecord(recordAlert, []byte{alertLevelWarning, alertCloseNotify})
			c.werr = net.ErrClosed
		}
		c.outMu.Unlock()
	}
	return c.conn.Close()
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

func (c *Conn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
