package rdp

import "testing"

// TestReactivationShrinkDropsBuffers: a Demand Active with a smaller desktop lets go
// of bitmap scratch that grew on the bigger one.
func TestReactivationShrinkDropsBuffers(t *testing.T) {
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	const big = 4096 * 2048
	c.pix, c.planes, c.native = make([]byte, 4*big), make([]byte, 4*big), make([]uint32, big)
	if err := c.handleSlowPath(shareControlFrame(pduTypeDeactivateAll, []byte{0xEA, 0x03, 1, 0, 1, 0, 0})); err != nil {
		t.Fatal(err)
	}
	if err := c.handleSlowPath(demandActiveFrame(800, 600)); err != nil {
		t.Fatal(err)
	}
	n := (800 + 64) * (600 + 64) // the largest bitmap drawBitmap accepts
	if cap(c.pix) > 4*n || cap(c.planes) > 4*n || cap(c.native) > n {
		t.Fatalf("after the shrink: pixels %d, planes %d, native %d; want at most %d, %d, %d", cap(c.pix), cap(c.planes), cap(c.native), 4*n, 4*n, n)
	}
}
