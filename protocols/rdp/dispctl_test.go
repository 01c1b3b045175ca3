package rdp

import (
	"errors"
	"sync"
	"testing"
)

// dispClient is an active Client with drdynvc (ID 1007) and the Display
// Control listener, its DVC capabilities exchanged.
func dispClient(t *testing.T) (*Client, *capConn) {
	t.Helper()
	c, cc := newDispClient()
	sendDVC(t, c, appendDynvcCapsVersion(nil, 2, [4]uint16{}))
	expectDVC(t, cc, "50 00 02 00")
	return c, cc
}

// newDispClient is an active Client with drdynvc (ID 1007) and the Display Control
// listener, before the DVC capabilities.
func newDispClient() (*Client, *capConn) {
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	c.cfg.DisplayControl = true
	c.initChannels()
	c.channels[c.dvc.ch].ID = drdynvcTestChannel
	return c, cc
}

// The server's DISPLAYCONTROL_CAPS_PDU (MS-RDPEDISP 2.2.2.1) as xrdp 0.9
// sends it: 16 monitors, 8192 x 8192.
const dispServerCaps = "05 00 00 00 14 00 00 00 10 00 00 00 00 20 00 00 00 20 00 00"

// TestDisplayControl: the channel opens, the capabilities make Resize
// possible, and a resize is one DISPLAYCONTROL_MONITOR_LAYOUT_PDU written out
// field by field from 2.2.2.2; sizes are brought within 200-8192 and the
// width made even; the server's close ends it.
func TestDisplayControl(t *testing.T) {
	c, cc := dispClient(t)
	if c.CanResize() || !errors.Is(c.Resize(800, 600, 100), ErrDisplayControl) {
		t.Fatal("resize before the channel opened")
	}
	sendDVC(t, c, appendDynvcCreateReq(nil, 7, 0, displayControlDVC))
	expectDVC(t, cc, "10 07 00 00 00 00")
	if c.CanResize() {
		t.Fatal("resize before the capabilities")
	}
	sendDVC(t, c, appendDynvcData(nil, 7, hx(dispServerCaps)))
	if !c.CanResize() {
		t.Fatal("no resize after the capabilities")
	}
	if err := c.Resize(1001, 50, 150); err != nil {
		t.Fatal(err)
	}
	expectDVC(t, cc, "30 07"+
		" 02 00 00 00 38 00 00 00"+ // Type MONITOR_LAYOUT, Length 56
		" 28 00 00 00 01 00 00 00"+ // MonitorLayoutSize 40, NumMonitors 1
		" 01 00 00 00 00 00 00 00 00 00 00 00"+ // Flags PRIMARY, Left 0, Top 0
		" e8 03 00 00 c8 00 00 00"+ // Width 1000 (even), Height 200 (the least)
		" b0 00 00 00 23 00 00 00"+ // PhysicalWidth 176 mm, PhysicalHeight 35 mm (96 dpi x 1.5)
		" 00 00 00 00 96 00 00 00 8c 00 00 00") // landscape, DesktopScaleFactor 150, DeviceScaleFactor 140
	if err := c.Resize(9000, 9000, 0); err != nil {
		t.Fatal(err)
	}
	if got := sentDVC(t, cc); len(got) != 1 || !bytesAt(got[0], 2+8+8+12, "00 20 00 00 00 20 00 00") ||
		!bytesAt(got[0], 2+8+8+32, "64 00 00 00 64 00 00 00") {
		t.Errorf("a 9000x9000 request: % x", got)
	}
	if err := c.Resize(800, 600, 501); err == nil {
		t.Error("scale 501% taken")
	}
	sendDVC(t, c, appendDynvcClose(nil, 7))
	expectDVC(t, cc, "40 07")
	if c.CanResize() || !errors.Is(c.Resize(800, 600, 100), ErrDisplayControl) {
		t.Error("resize after the channel closed")
	}
}

// bytesAt reports whether b holds want's bytes at off.
func bytesAt(b []byte, off int, want string) bool {
	w := hx(want)
	if off+len(w) > len(b) {
		return false
	}
	for i := range w {
		if b[off+i] != w[i] {
			return false
		}
	}
	return true
}

// TestDisplayControlArea: a request beyond the server's MaxNumMonitors x
// MaxMonitorAreaFactorA x MaxMonitorAreaFactorB is scaled down to fit, its
// shape kept.
func TestDisplayControlArea(t *testing.T) {
	c, cc := dispClient(t)
	sendDVC(t, c, appendDynvcCreateReq(nil, 7, 0, displayControlDVC),
		appendDynvcData(nil, 7, hx("05 00 00 00 14 00 00 00 01 00 00 00 00 04 00 00 00 03 00 00"))) // 1 x 1024 x 768
	cc.take()
	if err := c.Resize(2048, 1536, 100); err != nil {
		t.Fatal(err)
	}
	if got := sentDVC(t, cc); len(got) != 1 || !bytesAt(got[0], 2+8+8+12, "00 04 00 00 00 03 00 00") {
		t.Errorf("2048x1536 over a 1024x768 area: % x", got)
	}
}

// TestDisplayControlMalformed: capabilities that are not 20 bytes, of
// another Type, or with no monitors end the session with a ProtocolError.
func TestDisplayControlMalformed(t *testing.T) {
	for name, caps := range map[string]string{
		"short":       "05 00 00 00 14 00 00 00 10 00 00 00",
		"long":        dispServerCaps + " 00",
		"length lies": "05 00 00 00 18 00 00 00 10 00 00 00 00 20 00 00 00 20 00 00",
		"layout type": "02 00 00 00 14 00 00 00 10 00 00 00 00 20 00 00 00 20 00 00",
		"no monitors": "05 00 00 00 14 00 00 00 00 00 00 00 00 20 00 00 00 20 00 00",
	} {
		c, _ := dispClient(t)
		sendDVC(t, c, appendDynvcCreateReq(nil, 7, 0, displayControlDVC))
		err := sendOn(c, drdynvcTestChannel, appendDynvcData(nil, 7, hx(caps)))
		var pe *ProtocolError
		if !errors.As(err, &pe) || c.CanResize() {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDisplayControlConcurrent: Resize from other goroutines while Run's
// goroutine handles DVC traffic (for the race detector).
func TestDisplayControlConcurrent(t *testing.T) {
	c, cc := dispClient(t)
	sendDVC(t, c, appendDynvcCreateReq(nil, 7, 0, displayControlDVC), appendDynvcData(nil, 7, hx(dispServerCaps)))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				c.Resize(640+2*i, 480+j, 100)
			}
		})
	}
	for range 50 {
		sendDVC(t, c, appendDynvcCreateReq(nil, 9, 0, "testdvc"))
	}
	wg.Wait()
	cc.take()
}
