package anontls

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// byteConn is a net.Conn that reads a fixed server stream and discards writes.
type byteConn struct{ r *bytes.Reader }

func (b *byteConn) Read(p []byte) (int, error)       { return b.r.Read(p) }
func (b *byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (b *byteConn) Close() error                     { return nil }
func (b *byteConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (b *byteConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (b *byteConn) SetDeadline(time.Time) error      { return nil }
func (b *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (b *byteConn) SetWriteDeadline(time.Time) error { return nil }

// sealedRecord protects payload with the fuzz key at seq 0.
func sealedRecord(typ uint8, payload []byte) []byte {
	var h halfConn
	aead, _ := newGCM(make([]byte, 16))
	h.setKey(aead, []byte{1, 2, 3, 4})
	rec, _ := h.seal([]byte{typ, 3, 3, 0, 0}, typ, payload)
	rec[3], rec[4] = byte((len(rec)-5)>>8), byte(len(rec)-5)
	return rec
}

// FuzzRecord reads records from arbitrary bytes, in plaintext when the first
// byte is even and with a fixed AES-GCM key otherwise, as Read does after the
// handshake.
func FuzzRecord(f *testing.F) {
	f.Add(append([]byte{0}, rawRecord(recordHandshake, []byte{typeServerHelloDone, 0, 0, 0})...))
	f.Add(append([]byte{0}, rawRecord(recordAlert, []byte{alertLevelWarning, alertCloseNotify})...))
	f.Add(append([]byte{0}, 22, 3, 3, 0xff, 0xff))
	f.Add(append([]byte{1}, sealedRecord(recordApplicationData, []byte("hello"))...))
	f.Add(append([]byte{1}, sealedRecord(recordHandshake, []byte{0, 0, 0, 0})...))
	f.Add(append([]byte{1}, sealedRecord(recordAlert, []byte{2, 20})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c, _ := Client(&byteConn{bytes.NewReader(data[1:])}, nil)
		if data[0]&1 == 1 {
			aead, _ := newGCM(make([]byte, 16))
			c.in.setKey(aead, []byte{1, 2, 3, 4})
			c.hsDone.Store(true) // exercise Read's post-handshake path
			buf := make([]byte, 100)
			for range 64 {
				n, err := c.Read(buf)
				if n > len(buf) {
					t.Fatalf("read %d", n)
				}
				if err != nil {
					var ae *AlertError
					if !errors.Is(err, ErrProtocol) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ae) {
						t.Fatalf("unexpected error kind: %v", err)
					}
					return
				}
			}
			return
		}
		for range 64 {
			typ, payload, err := c.readRecord()
			if err != nil {
				return
			}
			if len(payload) == 0 && typ != recordApplicationData || len(payload) > maxPlaintext {
				t.Fatalf("record type %d with %d bytes accepted", typ, len(payload))
			}
		}
	})
}

func FuzzServerHello(f *testing.F) {
	f.Add(helloBody(TLS_DH_anon_WITH_AES_128_GCM_SHA256, nil))
	f.Add(helloBody(TLS_DH_anon_WITH_AES_256_GCM_SHA384, []byte{0, 23, 0, 0, 0xff, 1, 0, 1, 0}))
	f.Add(helloBody(0xA6, []byte{0, 23, 0, 0, 0, 23, 0, 0}))
	f.Add(helloBody(0xA6, []byte{0, 5, 0, 0}))
	f.Add([]byte{3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m serverHelloMsg
		if err := m.unmarshal(data); err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if len(data) < 2+randomLen+1+2+1 {
			t.Fatalf("accepted %d bytes", len(data))
		}
	})
}

func FuzzServerKeyExchange(f *testing.F) {
	p := ffdhe2048.Bytes()
	f.Add(skeBody(p, []byte{2}, []byte{5}))
	f.Add(skeBody(p, []byte{2}, []byte{1}))
	f.Add(skeBody(p[:64], []byte{2}, []byte{5}))
	f.Add(skeBody(make([]byte, 1100), []byte{2}, []byte{5}))
	f.Add([]byte{0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m serverKeyExchangeMsg
		if err := m.unmarshal(data); err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		pm2 := new(big.Int).Sub(m.p, big.NewInt(2))
		if n := m.p.BitLen(); n < minDHBits || n > maxDHBits || m.p.Bit(0) == 0 {
			t.Fatalf("accepted a %d-bit prime", n)
		}
		for _, v := range []*big.Int{m.g, m.ys} {
			if v.Cmp(big.NewInt(2)) < 0 || v.Cmp(pm2) > 0 {
				t.Fatalf("accepted %v outside [2, p-2]", v)
			}
		}
	})
}

// FuzzClientHandshake plays arbitrary bytes as the server's side of the whole
// handshake.
func FuzzClientHandshake(f *testing.F) {
	hello := handshakeMsg(typeServerHello, helloBody(TLS_DH_anon_WITH_AES_128_GCM_SHA256, []byte{0, 23, 0, 0}))
	ske := handshakeMsg(typeServerKeyExchange, skeBody(ffdhe2048.Bytes(), []byte{2}, []byte{5}))
	flight := rawRecord(recordHandshake, append(append(hello, ske...), typeServerHelloDone, 0, 0, 0))
	f.Add(flight)
	f.Add(append(flight, rawRecord(recordChangeCipherSpec, []byte{1})...))
	f.Add(rawRecord(recordHandshake, hello))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := Client(&byteConn{bytes.NewReader(data)}, nil)
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake succeeded against bytes that know no keys")
		}
	})
}
