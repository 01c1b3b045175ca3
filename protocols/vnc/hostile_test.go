package vnc

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/racgate/racgate/render"
)

// hostileCases are server streams (after a 16x16 hello) that must end the
// session with a *ProtocolError, or an io error when the stream is cut.
func hostileCases() map[string][]byte {
	bigZeros := zlibStream(make([]byte, 8<<20))[0] // inflates far beyond a 16x16 rectangle
	tile := func(sub byte, rest ...byte) []byte {
		z := zlibStream(append([]byte{sub}, rest...))[0]
		return fbUpdate(rect(0, 0, 4, 4, EncodingZRLE, withLen32(z)))
	}
	hugeProvide := func() []byte {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(be32(nil, 0xffffffff))
		zw.Close()
		return extClip(clipProvide|clipText, z.Bytes())
	}
	closed := func(n int) []byte { // a whole zlib stream: final block, then its checksum
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(make([]byte, n))
		zw.Close()
		return z.Bytes()
	}
	return map[string][]byte{
		"zlib bytes past the end":    fbUpdate(rect(0, 0, 4, 4, EncodingZlib, withLen32(closed(64)))),
		"raw beyond framebuffer":     fbUpdate(rect(10, 10, 10, 10, EncodingRaw, nil)),
		"raw width overflow":         fbUpdate(rect(0xffff, 0, 0xffff, 1, EncodingRaw, nil)),
		"copyrect source outside":    fbUpdate(rect(0, 0, 8, 8, EncodingCopyRect, append(u16be(12), u16be(12)...))),
		"rre too many subrects":      fbUpdate(rect(0, 0, 4, 4, EncodingRRE, append(be32(nil, 0xffffffff), 0, 0, 0, 0))),
		"rre subrect outside":        fbUpdate(rect(0, 0, 4, 4, EncodingRRE, append(append(be32(nil, 1), make([]byte, 8)...), 0, 2, 0, 2, 0, 5, 0, 5))),
		"hextile subrect outside":    fbUpdate(rect(0, 0, 4, 4, EncodingHextile, []byte{hextileAnySubrects, 1, 0x00, 0xff})),
		"zlib huge length":           fbUpdate(rect(0, 0, 4, 4, EncodingZlib, be32(nil, 0xffffffff))),
		"zlib bad header":            fbUpdate(rect(0, 0, 4, 4, EncodingZlib, withLen32([]byte{0x12, 0x34, 0, 0}))),
		"zlib bomb":                  fbUpdate(rect(0, 0, 16, 16, EncodingZlib, withLen32(bigZeros))),
		"zrle bomb":                  fbUpdate(rect(0, 0, 16, 16, EncodingZRLE, withLen32(bigZeros))),
		"zrle huge length":           fbUpdate(rect(0, 0, 4, 4, EncodingZRLE, be32(nil, 0x7fffffff))),
		"zrle truncated tile":        tile(0, 1, 2, 3),
		"zrle palette index":         tile(3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0xff, 0xff, 0xff, 0xff),
		"zrle palette rle index":     tile(130, 1, 1, 1, 2, 2, 2, 0x05),
		"zrle run too long":          tile(128, 1, 2, 3, 255, 255),
		"zrle reserved subencoding":  tile(17),
		"tight bad control":          fbUpdate(rect(0, 0, 4, 4, EncodingTight, []byte{0xb0})),
		"tight png":                  fbUpdate(rect(0, 0, 4, 4, EncodingTight, []byte{0xa0})),
		"tight bad filter":           fbUpdate(rect(0, 0, 4, 4, EncodingTight, []byte{0x40, 9})),
		"tight bad jpeg":             fbUpdate(rect(0, 0, 4, 4, EncodingTight, []byte{0x90, 3, 1, 2, 3})),
		"tight palette index":        fbUpdate(rect(0, 0, 4, 1, EncodingTight, []byte{0x40, 1, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1, 2, 7})),
		"tight palette index n":      fbUpdate(rect(0, 0, 4, 1, EncodingTight, []byte{0x40, 1, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 0, 1, 2})),
		"tight inflate too long":     fbUpdate(rect(0, 0, 16, 16, EncodingTight, append([]byte{0x00, 0xff, 0xff, 0x7f}, bigZeros...))),
		"cut text huge":              append([]byte{msgServerCutText, 0, 0, 0}, be32(nil, 0x7fffffff)...),
		"ext clipboard huge":         append([]byte{msgServerCutText, 0, 0, 0}, be32(nil, 0x80000000)...),
		"ext clipboard huge provide": hugeProvide(),
		"ext clipboard short":        append([]byte{msgServerCutText, 0, 0, 0}, be32(nil, negLen(2))...),
		"fence payload too long":     append(append([]byte{msgServerFence, 0, 0, 0}, be32(nil, fenceRequest)...), 200),
		"unknown message":            {77},
		"cursor huge":                fbUpdate(rect(0, 0, 5000, 5000, PseudoEncodingCursor, nil)),
		"desktop size huge":          fbUpdate(rect(0, 0, 60000, 60000, PseudoEncodingDesktopSize, nil)),
		"desktop name huge":          fbUpdate(rect(0, 0, 0, 0, PseudoEncodingDesktopName, be32(nil, 0xfffffff0))),
		"unrequested encoding":       fbUpdate(rect(0, 0, 1, 1, 99, nil)),
		"truncated raw":              fbUpdate(rect(0, 0, 16, 16, EncodingRaw, make([]byte, 100))),
		"truncated header":           {msgFramebufferUpdate, 0, 0, 1, 0, 0},
	}
}

// truncated names the cases that end by running out of data.
var truncated = map[string]bool{"truncated raw": true, "truncated header": true}

func TestHostileServer(t *testing.T) {
	for name, msg := range hostileCases() {
		t.Run(name, func(t *testing.T) {
			stream := append(serverHello(16, 16), msg...)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, _, err := runFake(stream, Config{})
			runtime.ReadMemStats(&after)
			var pe *ProtocolError
			if !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Run: %v, want *ProtocolError or io.ErrUnexpectedEOF", err)
			}
			t.Logf("%v", err)
			if errors.Is(err, io.ErrUnexpectedEOF) && !truncated[name] {
				t.Fatalf("the stream was accepted: %v", err)
			}
			// Nothing a hostile server says may make us allocate much.
			if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
				t.Fatalf("allocated %d MiB", n>>20)
			}
		})
	}
}

// The same over a real loopback connection: Run returns the error; a silent
// server lets Run end when the context is cancelled.
func TestHostileLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	scripts := [][]byte{
		append(serverHello(16, 16), fbUpdate(rect(8, 8, 16, 16, EncodingRaw, nil))...),
		serverHello(16, 16), // then silence
	}
	go func() {
		for _, s := range scripts {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Write(s)
			go io.Copy(io.Discard, conn)
			defer conn.Close()
		}
		time.Sleep(10 * time.Second)
	}()
	ctx := context.Background()
	c, err := Dial(ctx, l.Addr().String(), Config{}, render.NewFramebuffer(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var pe *ProtocolError
	if err := c.Run(ctx); !errors.As(err, &pe) {
		t.Fatalf("Run: %v, want *ProtocolError", err)
	}
	c.Close()

	c, err = Dial(ctx, l.Addr().String(), Config{}, render.NewFramebuffer(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	// Input methods are safe while Run runs.
	for i := range 50 {
		c.PointerEvent(0, i, i)
		c.SetClipboard("x")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestHandshakeCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err == nil {
			defer conn.Close()
			io.Copy(io.Discard, conn) // never says anything
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, l.Addr().String(), Config{}, render.NewFramebuffer(0, 0))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("handshake ignored the context")
	}
}
