package rdp

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestReactivation: Deactivate All then a Demand Active with another
// desktop size (MS-RDPBCGR 1.3.1.3) resizes the sink and is answered with
// Confirm Active and the finalization PDUs; the Font Map reactivates.
func TestReactivation(t *testing.T) {
	c, fb := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	if err := c.handleSlowPath(shareControlFrame(pduTypeDeactivateAll, []byte{0xEA, 0x03, 1, 0, 1, 0, 0})); err != nil {
		t.Fatal(err)
	}
	if c.active {
		t.Fatal("still active after Deactivate All")
	}
	if err := c.handleSlowPath(demandActiveFrame(800, 600)); err != nil {
		t.Fatal(err)
	}
	if w, h := c.Size(); w != 800 || h != 600 || fb.Width != 800 || fb.Height != 600 {
		t.Fatalf("size %dx%d, framebuffer %dx%d", w, h, fb.Width, fb.Height)
	}
	// The client's PDUs, in order: Confirm Active, then Synchronize,
	// Control (cooperate), Control (request control), Font List.
	var got []int
	out := cc.take()
	for len(out) >= 4 {
		n := int(out[2])<<8 | int(out[3])
		frame := out[:n]
		out = out[n:]
		sc := frame[tpktHeaderSize+x224DataHeaderSize+8:] // after the Send Data Request header
		typ := int(sc[2]) | int(sc[3])<<8
		if typ&0xF == pduTypeData {
			got = append(got, int(sc[14]))
		} else {
			got = append(got, -(typ & 0xF))
		}
	}
	want := []int{-pduTypeConfirmActive, pduType2Synchronize, pduType2Control, pduType2Control, pduType2FontList}
	if !slices.Equal(got, want) {
		t.Fatalf("client PDUs %v, want %v", got, want)
	}
	if err := c.handleSlowPath(slowPathFrame(pduType2FontMap, []byte{0, 0, 0, 0, 3, 0, 4, 0})); err != nil {
		t.Fatal(err)
	}
	if !c.active {
		t.Fatal("not active after Font Map")
	}
}

// TestLogonErrors: an NTSTATUS logon failure in Save Session Info ends the
// session with ErrAuthFailed; LOGON_MSG_SESSION_CONTINUE does not.
func TestLogonErrors(t *testing.T) {
	c, _ := testClient()
	if err := c.handleSlowPath(slowPathFrame(pduType2SaveSessionInfo, logonErrorsInfo(0xFFFFFFFE, 2))); err != nil {
		t.Fatalf("session continue: %v", err)
	}
	err := c.handleSlowPath(slowPathFrame(pduType2SaveSessionInfo, logonErrorsInfo(0xC000006D, 0)))
	if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "STATUS_LOGON_FAILURE") {
		t.Fatalf("logon failure: %v", err)
	}
}
