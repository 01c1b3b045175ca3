package anontls

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// ffdhe2048 is the RFC 7919 §A.1 group (generator 2).
var ffdhe2048, _ = new(big.Int).SetString("FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF97D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F619172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA886B423861285C97FFFFFFFFFFFFFFFF", 16)

// serverOpts shapes the in-test server. The hooks let a test replace what
// the server sends with malformed input.
type serverOpts struct {
	suite       uint16
	noEMS       bool
	helloBody   func(b []byte) []byte // rewrites the ServerHello body
	skeBody     func(p, g, ys []byte) []byte
	afterHello  func(s *Conn) // replaces everything after reading ClientHello
	badFinished bool
	afterHS     func(s *Conn) // replaces the echo loop
}

// testServer is a tiny DH_anon TLS 1.2 server built on this package's record
// layer (a Conn used for its record and handshake-message functions). After
// the handshake it echoes application data.
func testServer(nc net.Conn, o serverOpts) error {
	s, _ := Client(nc, nil)
	ch, err := s.readHandshake(typeClientHello)
	if err != nil {
		return err
	}
	if len(ch) < 4+2+randomLen {
		return errors.New("short ClientHello")
	}
	clientRandom := ch[6 : 6+randomLen]
	if o.afterHello != nil {
		o.afterHello(s)
		return nil
	}
	transcript := slices.Clone(ch)
	var serverRandom [randomLen]byte
	rand.Read(serverRandom[:])
	cs := suites[slices.IndexFunc(suites, func(x suite) bool { return x.id == o.suite })]

	b := []byte{3, 3}
	b = append(b, serverRandom[:]...)
	b = append(b, 0)
	b = u16(b, cs.id)
	b = append(b, 0)
	var ext []byte
	if !o.noEMS {
		ext = u16(u16(ext, extExtendedMasterSecret), 0)
	}
	ext = append(u16(u16(ext, extRenegotiationInfo), 1), 0)
	b = append(u16(b, uint16(len(ext))), ext...)
	if o.helloBody != nil {
		b = o.helloBody(b)
	}
	sh := handshakeMsg(typeServerHello, b)

	y, _ := rand.Int(rand.Reader, ffdhe2048)
	ys := new(big.Int).Exp(big.NewInt(2), y, ffdhe2048)
	var kx []byte
	if o.skeBody != nil {
		kx = o.skeBody(ffdhe2048.Bytes(), []byte{2}, ys.Bytes())
	} else {
		for _, v := range [][]byte{ffdhe2048.Bytes(), {2}, ys.Bytes()} {
			kx = append(u16(kx, uint16(len(v))), v...)
		}
	}
	ske := handshakeMsg(typeServerKeyExchange, kx)
	shd := handshakeMsg(typeServerHelloDone, nil)
	// All three in one record: messages may share records.
	flight := slices.Concat(sh, ske, shd)
	transcript = append(transcript, flight...)
	if _, err := s.writeRecord(recordHandshake, flight); err != nil {
		return err
	}

	cke, err := s.readHandshake(typeClientKeyExchange)
	if err != nil {
		return err
	}
	transcript = append(transcript, cke...)
	p := parser(cke[4:])
	ycb, ok := p.vec16()
	if !ok {
		return errors.New("bad ClientKeyExchange")
	}
	yc := new(big.Int).SetBytes(ycb)
	pms := new(big.Int).Exp(yc, y, ffdhe2048).Bytes()
	var ms []byte
	if !o.noEMS {
		ms = prf12(cs.hash, pms, "extended master secret", sum(cs.hash, transcript), masterSecretLen)
	} else {
		ms = prf12(cs.hash, pms, "master secret", concat(clientRandom, serverRandom[:]), masterSecretLen)
	}
	kb := prf12(cs.hash, ms, "key expansion", concat(serverRandom[:], clientRandom), 2*cs.keyLen+8)
	clientAEAD, _ := newGCM(kb[:cs.keyLen])
	serverAEAD, _ := newGCM(kb[cs.keyLen : 2*cs.keyLen])
	if err := s.readChangeCipherSpec(); err != nil {
		return err
	}
	s.in.setKey(clientAEAD, kb[2*cs.keyLen:2*cs.keyLen+4])
	fin, err := s.readHandshake(typeFinished)
	if err != nil {
		return err
	}
	if want := prf12(cs.hash, ms, "client finished", sum(cs.hash, transcript), verifyLen); !bytes.Equal(fin[4:], want) {
		return errors.New("client Finished does not verify")
	}
	transcript = append(transcript, fin...)
	if _, err := s.writeRecord(recordChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	s.out.setKey(serverAEAD, kb[2*cs.keyLen+4:])
	vd := prf12(cs.hash, ms, "server finished", sum(cs.hash, transcript), verifyLen)
	if o.badFinished {
		vd[0] ^= 1
	}
	if _, err := s.writeRecord(recordHandshake, handshakeMsg(typeFinished, vd)); err != nil {
		return err
	}
	if o.afterHS != nil {
		o.afterHS(s)
		return nil
	}
	for {
		typ, data, err := s.readRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if typ != recordApplicationData {
			return fmt.Errorf("record type %d after the handshake", typ)
		}
		if _, err := s.writeRecord(recordApplicationData, data); err != nil {
			return err
		}
	}
}

// startServer runs testServer on a loopback listener (kernel buffers, so a
// client that gives up early cannot deadlock it) and returns a client.
func startServer(t *testing.T, o serverOpts) (*Conn, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		ln.Close()
		if err != nil {
			errc <- err
			return
		}
		defer nc.Close()
		errc <- testServer(nc, o)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Client(nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, errc
}

func handshakeCtx(c *Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.HandshakeContext(ctx)
}

func TestFakeServerEcho(t *testing.T) {
	for _, tc := range []struct {
		suite uint16
		noEMS bool
	}{
		{TLS_DH_anon_WITH_AES_128_GCM_SHA256, false},
		{TLS_DH_anon_WITH_AES_256_GCM_SHA384, false},
		{TLS_DH_anon_WITH_AES_128_GCM_SHA256, true},
	} {
		t.Run(fmt.Sprintf("%#04x ems=%v", tc.suite, !tc.noEMS), func(t *testing.T) {
			t.Parallel()
			c, errc := startServer(t, serverOpts{suite: tc.suite, noEMS: tc.noEMS})
			if err := handshakeCtx(c); err != nil {
				t.Fatal(err)
			}
			st := c.ConnectionState()
			if st.CipherSuite != tc.suite || st.ExtendedMasterSecret == tc.noEMS || st.DHBits != 2048 {
				t.Fatalf("state %+v", st)
			}
			// More than one record's worth each way, written and read
			// concurrently (the race detector checks the locking).
			msg := make([]byte, 3*maxPlaintext+123)
			rand.Read(msg)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Write(msg); err != nil {
					t.Error(err)
				}
			}()
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if !bytes.Equal(got, msg) {
				t.Fatal("echo differs")
			}
			c.Close() // close_notify: the server's loop ends with io.EOF
			if err := <-errc; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

// rawRecord frames payload as a plaintext record.
func rawRecord(typ uint8, payload []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// sendRaw makes the server answer ClientHello with raw bytes, then wait for
// the client's alert, returned on alertc (0xff when none arrived).
func sendRaw(raw []byte, alertc chan<- uint8) func(*Conn) {
	return func(s *Conn) {
		s.conn.Write(raw)
		if cw, ok := s.conn.(interface{ CloseWrite() error }); ok && alertc == nil {
			cw.CloseWrite()
		}
		s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, data, err := s.readRecordOnce() // readRecord would consume the alert
		if alertc != nil {
			if err == nil && typ == recordAlert && len(data) == 2 && data[0] == alertLevelFatal {
				alertc <- data[1]
			} else {
				alertc <- 0xff
			}
		}
	}
}

func helloBody(suite uint16, ext []byte) []byte {
	b := append([]byte{3, 3}, make([]byte, randomLen)...)
	b = append(b, 0)
	b = u16(b, suite)
	b = append(b, 0)
	if ext != nil {
		b = append(u16(b, uint16(len(ext))), ext...)
	}
	return b
}

func skeBody(vals ...[]byte) []byte {
	var b []byte
	for _, v := range vals {
		b = append(u16(b, uint16(len(v))), v...)
	}
	return b
}

// Malformed server input ends the handshake with a clear error (never a
// panic), and the client tells the server why with the right alert.
func TestFakeServerHostile(t *testing.T) {
	okHello := handshakeMsg(typeServerHello, helloBody(TLS_DH_anon_WITH_AES_128_GCM_SHA256, nil))
	p := ffdhe2048.Bytes()
	pm1 := new(big.Int).Sub(ffdhe2048, big.NewInt(1)).Bytes()
	small, _ := hex.DecodeString(strings.Repeat("ff", 64)) // 512 bits
	cases := []struct {
		name  string
		raw   []byte
		alert uint8 // 0xff: no alert expected
		want  string
	}{
		{"truncated record", rawRecord(recordHandshake, okHello)[:7], 0xff, "unexpected EOF"},
		{"oversized record", []byte{recordHandshake, 3, 3, 0x40, 0x01}, alertRecordOverflow, "record of 16385 bytes"},
		{"unknown record type", rawRecord(99, []byte{1}), alertUnexpectedMessage, "record type 99"},
		{"record version 2.0", append([]byte{recordHandshake, 2, 0, 0, 1}, 0), alertProtocolVersion, "version"},
		{"empty handshake record", rawRecord(recordHandshake, nil), alertDecodeError, "empty record"},
		{"application data in handshake", rawRecord(recordApplicationData, []byte("hi")), alertUnexpectedMessage, "record type 23"},
		{"huge handshake message", rawRecord(recordHandshake, []byte{typeServerHello, 0xff, 0xff, 0xff}), alertDecodeError, "handshake message of 16777215 bytes"},
		{"wrong first message", rawRecord(recordHandshake, handshakeMsg(typeServerHelloDone, nil)), alertUnexpectedMessage, "handshake message 14, want 2"},
		{"truncated ServerHello", rawRecord(recordHandshake, handshakeMsg(typeServerHello, helloBody(0xA6, nil)[:20])), alertDecodeError, "ServerHello too short"},
		{"ServerHello TLS 1.1", rawRecord(recordHandshake, handshakeMsg(typeServerHello, append([]byte{3, 2}, helloBody(0xA6, nil)[2:]...))), alertProtocolVersion, "version 0x0302"},
		{"suite not offered", rawRecord(recordHandshake, handshakeMsg(typeServerHello, helloBody(0x002f, nil))), alertIllegalParameter, "cipher suite 0x002f"},
		{"extension not offered", rawRecord(recordHandshake, handshakeMsg(typeServerHello, helloBody(0xA6, []byte{0, 5, 0, 0}))), alertUnsupportedExtension, "extension 5"},
		{"bad extensions length", rawRecord(recordHandshake, handshakeMsg(typeServerHello, helloBody(0xA6, []byte{0, 23, 0, 9}))), alertDecodeError, "ServerHello extension"},
		{"renegotiation_info not empty", rawRecord(recordHandshake, handshakeMsg(typeServerHello, helloBody(0xA6, []byte{0xff, 0x01, 0, 2, 1, 7}))), alertHandshakeFailure, "renegotiation_info"},
		{"compression", rawRecord(recordHandshake, handshakeMsg(typeServerHello, append(helloBody(0xA6, nil)[:37], 1))), alertIllegalParameter, "compression method 1"},
		{"small DH prime", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, skeBody(small, []byte{2}, []byte{5})))), alertInsufficientSecurity, "512 bits"},
		{"even DH prime", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, skeBody(append(p[:255:255], 0xfe), []byte{2}, []byte{5})))), alertIllegalParameter, "even"},
		{"Ys = 1", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, skeBody(p, []byte{2}, []byte{1})))), alertIllegalParameter, "public value out of range"},
		{"Ys = p-1", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, skeBody(p, []byte{2}, pm1)))), alertIllegalParameter, "public value out of range"},
		{"g = 0", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, skeBody(p, nil, []byte{5})))), alertIllegalParameter, "generator"},
		{"trailing SKE bytes", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, append(skeBody(p, []byte{2}, []byte{5}), 0)))), alertDecodeError, "ServerKeyExchange length"},
		{"ServerHelloDone with body", rawRecord(recordHandshake, slices.Concat(okHello, handshakeMsg(typeServerKeyExchange, skeBody(p, []byte{2}, []byte{5})), handshakeMsg(typeServerHelloDone, []byte{0}))), alertDecodeError, "ServerHelloDone has a body"},
		{"fatal alert", rawRecord(recordAlert, []byte{alertLevelFatal, alertHandshakeFailure}), 0xff, "alert 40"},
		{"alert of 3 bytes", rawRecord(recordAlert, []byte{2, 40, 0}), alertDecodeError, "alert of 3 bytes"},
		{"ChangeCipherSpec too early", rawRecord(recordChangeCipherSpec, []byte{1}), alertUnexpectedMessage, "record type 20"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var alertc chan uint8
			if tc.alert != 0xff {
				alertc = make(chan uint8, 1)
			}
			c, errc := startServer(t, serverOpts{afterHello: sendRaw(tc.raw, alertc)})
			err := handshakeCtx(c)
			if err == nil {
				t.Fatal("handshake succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			var ae *AlertError
			if tc.alert != 0xff && !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
			if tc.name == "fatal alert" && (!errors.As(err, &ae) || ae.Description != alertHandshakeFailure) {
				t.Fatalf("err = %v, want *AlertError 40", err)
			}
			if alertc != nil {
				if got := <-alertc; got != tc.alert {
					t.Fatalf("client sent alert %d, want %d", got, tc.alert)
				}
			}
			<-errc
			// The failure is sticky: no data can flow afterwards.
			if _, err := c.Write([]byte("x")); err == nil {
				t.Fatal("Write after a failed handshake succeeded")
			}
		})
	}
}

func TestFakeServerBadFinished(t *testing.T) {
	c, _ := startServer(t, serverOpts{suite: TLS_DH_anon_WITH_AES_256_GCM_SHA384, badFinished: true})
	err := handshakeCtx(c)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "Finished does not verify") {
		t.Fatalf("err = %v, want a Finished error", err)
	}
}

// After the handshake: a tampered record, a record too large, a fatal alert
// and close_notify each end reading with the right error.
func TestFakeServerAfterHandshake(t *testing.T) {
	cases := []struct {
		name  string
		send  func(s *Conn)
		check func(error) bool
	}{
		{"tampered record", func(s *Conn) {
			rec, _ := s.out.seal([]byte{recordApplicationData, 3, 3, 0, 0}, recordApplicationData, []byte("hello"))
			rec[len(rec)-1] ^= 0x80
			rec[4] = byte(len(rec) - 5)
			s.conn.Write(rec)
		}, func(err error) bool {
			return errors.Is(err, ErrProtocol) && strings.Contains(err.Error(), "authentication failed")
		}},
		{"record over 2^14+2048", func(s *Conn) {
			s.conn.Write([]byte{recordApplicationData, 3, 3, 0x48, 0x01})
		}, func(err error) bool { return errors.Is(err, ErrProtocol) && strings.Contains(err.Error(), "18433") }},
		{"handshake message", func(s *Conn) {
			s.writeRecord(recordHandshake, handshakeMsg(typeServerHello, []byte{3, 3}))
		}, func(err error) bool { return errors.Is(err, ErrProtocol) }},
		{"fatal alert", func(s *Conn) {
			s.writeRecord(recordAlert, []byte{alertLevelFatal, alertInternalError})
		}, func(err error) bool {
			var ae *AlertError
			return errors.As(err, &ae) && ae.Description == alertInternalError
		}},
		{"close_notify after data", func(s *Conn) {
			s.writeRecord(recordApplicationData, []byte("bye"))
			s.writeRecord(recordHandshake, []byte{typeHelloRequest, 0, 0, 0})           // ignored
			s.writeRecord(recordAlert, []byte{alertLevelWarning, alertNoRenegotiation}) // ignored
			s.writeRecord(recordAlert, []byte{alertLevelWarning, alertCloseNotify})
		}, func(err error) bool { return err == io.EOF }},
		{"truncated record", func(s *Conn) {
			s.conn.Write([]byte{recordApplicationData, 3, 3, 0, 40, 1, 2})
		}, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, errc := startServer(t, serverOpts{suite: TLS_DH_anon_WITH_AES_128_GCM_SHA256, afterHS: tc.send})
			if err := handshakeCtx(c); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("server: %v", err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			data, err := io.ReadAll(c)
			if tc.name == "close_notify after data" && string(data) != "bye" {
				t.Fatalf("read %q before close_notify", data)
			}
			if tc.name == "close_notify after data" {
				err = io.EOF // ReadAll turns EOF into nil
			}
			if !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
			if _, err2 := c.Read(make([]byte, 1)); err2 == nil {
				t.Fatal("Read after the error succeeded")
			}
		})
	}
}

// A server that never answers: HandshakeContext returns when ctx ends.
func TestHandshakeContextCancel(t *testing.T) {
	block := make(chan struct{})
	c, _ := startServer(t, serverOpts{afterHello: func(*Conn) { <-block }})
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.HandshakeContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if err := c.Handshake(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Handshake: %v, want the sticky error", err)
	}
}

// A claimed 16 MiB handshake message or 64 KiB record must not make the client
// allocate for it.
func TestHostileLengthsDoNotAllocate(t *testing.T) {
	for _, raw := range [][]byte{
		rawRecord(recordHandshake, []byte{typeServerHello, 0xff, 0xff, 0xff}),
		{recordHandshake, 3, 3, 0xff, 0xff},
	} {
		c, errc := startServer(t, serverOpts{afterHello: sendRaw(raw, nil)})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := handshakeCtx(c); !errors.Is(err, ErrProtocol) {
			t.Fatalf("err = %v, want ErrProtocol", err)
		}
		runtime.ReadMemStats(&after)
		<-errc
		// The test server's goroutine allocates too; the bound only has to
		// be far below the claimed sizes.
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Fatalf("allocated %d bytes", d)
		}
	}
}

func TestConfigCipherSuites(t *testing.T) {
	nc, _ := net.Pipe()
	defer nc.Close()
	if _, err := Client(nc, &Config{CipherSuites: []uint16{0x002f}}); err == nil {
		t.Fatal("unknown suite accepted")
	}
	if _, err := Client(nc, &Config{CipherSuites: []uint16{}}); err == nil {
		t.Fatal("empty suite list accepted")
	}
	if _, err := Client(nil, nil); err == nil {
		t.Fatal("nil conn accepted")
	}
}

// Once established, moving data allocates nothing per record: buffers are
// reused on both sides (the test server runs the same record layer).
func TestSteadyStateAllocs(t *testing.T) {
	c, _ := startServer(t, serverOpts{suite: TLS_DH_anon_WITH_AES_128_GCM_SHA256})
	if err := handshakeCtx(c); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 3000)
	buf := make([]byte, len(msg))
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.5 {
		t.Fatalf("%.1f allocations per echo", allocs)
	}
}

func BenchmarkEcho16K(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		nc, err := ln.Accept()
		ln.Close()
		if err == nil {
			defer nc.Close()
			testServer(nc, serverOpts{suite: TLS_DH_anon_WITH_AES_128_GCM_SHA256})
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c, _ := Client(nc, nil)
	defer c.Close()
	if err := c.Handshake(); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, maxPlaintext)
	buf := make([]byte, len(msg))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		c.Write(msg)
		io.ReadFull(c, buf)
	}
}
