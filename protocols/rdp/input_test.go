package rdp

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// capConn records what the client writes.
type capConn struct {
	nopConn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(b)
}

func (c *capConn) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := bytes.Clone(c.buf.Bytes())
	c.buf.Reset()
	return b
}

func inputClient(fast bool) (*Client, *capConn) {
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	c.fastInputShared = fast
	c.shareID = 0x103EA
	return c, cc
}

func TestPointerButtons(t *testing.T) {
	c, cc := inputClient(true)
	// Press left and back at (10, 20): a move, then the left button down
	// (PTRFLAGS_DOWN|BUTTON1) and the extended button down.
	if err := c.Pointer(1|8, 10, 20); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `0c 80 18
		20 00 08 0a 00 14 00
		20 00 90 0a 00 14 00
		40 01 80 0a 00 14 00`)
	if got := cc.take(); !bytes.Equal(got, want) {
		t.Fatalf("press: got % x\nwant % x", got, want)
	}
	// Release left only, move to (11, 20): a move and BUTTON1 without DOWN.
	c.Pointer(8, 11, 20)
	want = unhex(t, `08 80 11 20 00 08 0b 00 14 00 20 00 10 0b 00 14 00`)
	if got := cc.take(); !bytes.Equal(got, want) {
		t.Fatalf("release: got % x\nwant % x", got, want)
	}
}

func TestWheel(t *testing.T) {
	c, cc := inputClient(true)
	// Three notches down: rotations of -240 and -120 (9-bit two's
	// complement with PTRFLAGS_WHEEL_NEGATIVE), one notch right: +120.
	if err := c.Wheel(1, 3, 5, 6); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `0c 80 18
		20 10 03 05 00 06 00
		20 88 03 05 00 06 00
		20 78 04 05 00 06 00`)
	if got := cc.take(); !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

// TestSlowPathInput: without fast-path input the same events go in a
// slow-path Input Event PDU (MS-RDPBCGR 2.2.8.1.1.3).
func TestSlowPathInput(t *testing.T) {
	c, cc := inputClient(false)
	if err := c.KeyScancode(0xE01D, true); err != nil { // ControlRight
		t.Fatal(err)
	}
	got := cc.take()
	// TPKT, X.224, MCS Send Data Request on the I/O channel, share headers,
	// then numEvents 1, pad, eventTime 0, INPUT_EVENT_SCANCODE, flags
	// KBDFLAGS_EXTENDED, keyCode 0x1d, pad.
	tail := unhex(t, "1c 00 00 00 01 00 00 00 00 00 00 00 04 00 00 01 1d 00 00 00")
	if !bytes.HasSuffix(got, tail) || got[0] != 3 || got[7] != mcsSendDataRequest<<2 {
		t.Fatalf("got % x", got)
	}
	if err := c.SyncLocks(false, true, true, false); err != nil {
		t.Fatal(err)
	}
	if got := cc.take(); !bytes.HasSuffix(got, unhex(t, "00 00 00 00 00 00 00 00 06 00 00 00")) {
		t.Fatalf("sync: % x", got)
	}
}

func TestKeyUnicodeSurrogates(t *testing.T) {
	c, cc := inputClient(true)
	if err := c.KeyUnicode('😀', true); err != nil { // U+1F600
		t.Fatal(err)
	}
	if got, want := cc.take(), unhex(t, "08 80 09 80 3d d8 80 00 de"); !bytes.Equal(got, want) {
		t.Fatalf("got % x want % x", got, want)
	}
}

// TestPointerUpdates: a 32 bpp New Pointer with alpha is shown and cached;
// Cached Pointer shows it again; Null hides the pointer.
func TestPointerUpdates(t *testing.T) {
	c, fb := testClient()
	// 2x1 pointer, xorBpp 32, cache index 3, hot spot (1,0): pixels
	// (B,G,R,A) = half-transparent red, opaque blue; an empty AND mask.
	var p []byte
	p = putU16(p, 32)
	p = putU16(p, 3)
	p = putU16(p, 1)
	p = putU16(p, 0)
	p = putU16(p, 2)
	p = putU16(p, 1)
	p = putU16(p, 2) // lengthAndMask: one row of 2 bytes
	p = putU16(p, 8) // lengthXorMask
	p = append(p, 0, 0, 0xFF, 0x80, 0xFF, 0, 0, 0xFF)
	p = append(p, 0, 0)
	if err := c.handleFastPath(fastPathFrame(fpUpdatePointer, p)); err != nil {
		t.Fatal(err)
	}
	want := []byte{0xFF, 0, 0, 0x80, 0, 0, 0xFF, 0xFF}
	if fb.Cursor == nil || !bytes.Equal(fb.Cursor.Pix, want) || fb.CursorHot.X != 1 {
		t.Fatalf("cursor %v hot %v", fb.Cursor, fb.CursorHot)
	}
	c.handleFastPath(fastPathFrame(fpUpdatePtrNull, nil))
	if fb.Cursor != nil {
		t.Fatal("null pointer did not hide the cursor")
	}
	if err := c.handleFastPath(fastPathFrame(fpUpdateCached, []byte{3, 0})); err != nil {
		t.Fatal(err)
	}
	if fb.Cursor == nil || !bytes.Equal(fb.Cursor.Pix, want) {
		t.Fatal("cached pointer not restored")
	}
	var pe *ProtocolError
	if err := c.handleFastPath(fastPathFrame(fpUpdateCached, []byte{pointerCacheSize, 0})); !errors.As(err, &pe) {
		t.Fatalf("cache index out of range: %v", err)
	}
}

// TestPointerPositionUpdate: a server's pointer position update is checked and dropped
// (a page cannot move the user's pointer); a short one is a protocol error.
func TestPointerPositionUpdate(t *testing.T) {
	c, fb := testClient()
	before := fb.Cursor
	if err := c.handleFastPathUpdate(fpUpdatePtrPosition, []byte{10, 0, 20, 0}); err != nil {
		t.Fatalf("position update: %v", err)
	}
	if fb.Cursor != before {
		t.Fatal("a position update changed the cursor image")
	}
	var pe *ProtocolError
	if err := c.handleFastPathUpdate(fpUpdatePtrPosition, []byte{10, 0}); !errors.As(err, &pe) {
		t.Fatalf("short position update: %v, want a *ProtocolError", err)
	}
}
