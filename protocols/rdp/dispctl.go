package rdp

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Display Control (MS-RDPEDISP): the client asks the server for a new
// desktop size while connected, over the dynamic channel
// "Microsoft::Windows::RDS::DisplayControl", requested when
// Config.DisplayControl is set. The server opens the channel and sends
// its capabilities (2.2.2.1); the client may then send a monitor layout
// (2.2.2.2), and the server answers with a new desktop: without the
// graphics pipeline, through deactivation-reactivation (MS-RDPBCGR
// 1.3.1.3), which Run handles as for any Demand Active (the sink is
// resized).
//
// Servers seen: xrdp 0.9.21 with xorgxrdp opens the channel at connect
// (enable_dynamic_resizing, on by default) and resizes the X session.

// displayControlDVC is the channel's name (MS-RDPEDISP 2.1).
const displayControlDVC = "Microsoft::Windows::RDS::DisplayControl"

// PDU types (2.2.1.1 DISPLAYCONTROL_HEADER).
const (
	dispTypeMonitorLayout = 0x00000002
	dispTypeCaps          = 0x00000005
)

const (
	dispHeaderSize        = 8  // DISPLAYCONTROL_HEADER: Type, Length
	dispCapsSize          = 20 // DISPLAYCONTROL_CAPS_PDU
	dispMonitorLayoutSize = 40 // DISPLAYCONTROL_MONITOR_LAYOUT (2.2.2.2.1)
	dispMonitorPrimary    = 0x00000001
	dispMaxMessage        = 64 // the server sends only its capabilities
)

// Desktop size bounds (2.2.2.2.1): 200-8192 pixels a side, the width even.
const (
	DisplayMinSide = 200
	DisplayMaxSide = 8192
)

// ErrDisplayControl reports a resize the server cannot take now: it has not
// opened the Display Control channel (or has closed it).
var ErrDisplayControl = errors.New("rdp: the server offers no display control")

// dispCaps is the DISPLAYCONTROL_CAPS_PDU (2.2.2.1).
type dispCaps struct {
	maxMonitors              uint32
	areaFactorA, areaFactorB uint32
}

// parseDispCaps reads the server's capabilities.
func parseDispCaps(msg []byte) (dispCaps, error) {
	const pdu, sec = "DISPLAYCONTROL_CAPS_PDU", "MS-RDPEDISP 2.2.2.1"
	d := decoder{b: msg}
	typ, length := d.u32(), d.u32()
	if d.err != nil {
		return dispCaps{}, protoErr(pdu, sec, "%d bytes", len(msg))
	}
	if typ != dispTypeCaps {
		return dispCaps{}, protoErr("DISPLAYCONTROL_HEADER", "MS-RDPEDISP 2.2.1.1", "Type %#x from the server (only capabilities come)", typ)
	}
	if int(length) != len(msg) || length != dispCapsSize {
		return dispCaps{}, protoErr(pdu, sec, "Length %d in a %d-byte message, want %d", length, len(msg), dispCapsSize)
	}
	c := dispCaps{maxMonitors: d.u32(), areaFactorA: d.u32(), areaFactorB: d.u32()}
	if c.maxMonitors == 0 {
		return dispCaps{}, protoErr(pdu, sec, "MaxNumMonitors 0")
	}
	return c, nil
}

// appendMonitorLayout appends a DISPLAYCONTROL_MONITOR_LAYOUT_PDU (2.2.2.2)
// with one primary monitor of width x height at the origin.
func appendMonitorLayout(b []byte, width, height int, scale int) []byte {
	b = putU32(b, dispTypeMonitorLayout)
	b = putU32(b, dispHeaderSize+8+dispMonitorLayoutSize)
	b = putU32(b, dispMonitorLayoutSize) // MonitorLayoutSize
	b = putU32(b, 1)                     // NumMonitors
	b = putU32(b, dispMonitorPrimary)    // Flags
	b = putU32(b, 0)                     // Left
	b = putU32(b, 0)                     // Top
	b = putU32(b, uint32(width))
	b = putU32(b, uint32(height))
	// PhysicalWidth and PhysicalHeight in millimetres, as at 96 dpi times
	// the scale (within 10-10000 for any allowed size).
	b = putU32(b, uint32(width*2540/(96*scale)))
	b = putU32(b, uint32(height*2540/(96*scale)))
	b = putU32(b, 0)                  // Orientation: ORIENTATION_LANDSCAPE
	b = putU32(b, uint32(scale))      // DesktopScaleFactor
	b = putU32(b, deviceScale(scale)) // DeviceScaleFactor
	return b
}

// deviceScale is the DeviceScaleFactor (100, 140 or 180) nearest scale.
func deviceScale(scale int) uint32 {
	switch {
	case scale >= 160:
		return 180
	case scale >= 120:
		return 140
	}
	return 100
}

// dispctl is the client's Display Control state: the channel, once the
// server has sent its capabilities. Resize may be called from any
// goroutine; the handler runs on Run's.
type dispctl struct {
	mu   sync.Mutex
	ch   *dvcChannel // nil until the capabilities came, and after close
	caps dispCaps
}

// dispHandler is the open channel's handler.
type dispHandler struct {
	d  *dispctl
	ch *dvcChannel
}

func (h *dispHandler) handle(msg []byte) error {
	caps, err := parseDispCaps(msg)
	if err != nil {
		return err
	}
	h.ch.m.c.log.Debug("rdp: display control capabilities", "maxMonitors", caps.maxMonitors,
		"areaFactorA", caps.areaFactorA, "areaFactorB", caps.areaFactorB)
	h.d.mu.Lock()
	h.d.ch, h.d.caps = h.ch, caps
	h.d.mu.Unlock()
	return nil
}

func (h *dispHandler) closed() {
	h.d.mu.Lock()
	if h.d.ch == h.ch {
		h.d.ch = nil
	}
	h.d.mu.Unlock()
}

// displayControlListener is the DVC listener for Config.DisplayControl.
func (c *Client) displayControlListener() dvcListener {
	c.disp = &dispctl{}
	return dvcListener{name: displayControlDVC, limit: dispMaxMessage, open: func(ch *dvcChannel) dvcHandler {
		return &dispHandler{d: c.disp, ch: ch}
	}}
}

// CanResize reports whether the server has opened Display Control and sent
// its capabilities, so that Resize can ask for a new desktop size.
func (c *Client) CanResize() bool {
	if c.disp == nil {
		return false
	}
	c.disp.mu.Lock()
	defer c.disp.mu.Unlock()
	return c.disp.ch != nil
}

// Resize asks the server for a desktop of width x height pixels (brought
// within DisplayMinSide-DisplayMaxSide, the width made even as 2.2.2.2.1
// requires) at scale percent (100-500; 0 means 100). The new size arrives
// as a resize of the sink, if the server grants it. It returns
// ErrDisplayControl when the server offers no display control.
func (c *Client) Resize(width, height, scale int) error {
	if c.disp == nil {
		return ErrDisplayControl
	}
	if scale == 0 {
		scale = 100
	}
	if scale < 100 || scale > 500 {
		return fmt.Errorf("rdp: scale %d%% out of range (100-500)", scale)
	}
	width = max(DisplayMinSide, min(width, DisplayMaxSide)) &^ 1
	height = max(DisplayMinSide, min(height, DisplayMaxSide))
	c.disp.mu.Lock()
	defer c.disp.mu.Unlock()
	ch := c.disp.ch
	if ch == nil {
		return ErrDisplayControl
	}
	// 2.2.2.1: the monitors' area is at most MaxNumMonitors x
	// MaxMonitorAreaFactorA x MaxMonitorAreaFactorB; a larger request is
	// scaled down, keeping its shape.
	if most := uint64(c.disp.caps.maxMonitors) * uint64(c.disp.caps.areaFactorA) * uint64(c.disp.caps.areaFactorB); most > 0 && uint64(width*height) > most {
		f := math.Sqrt(float64(most) / float64(width*height))
		width = max(DisplayMinSide, int(float64(width)*f)) &^ 1
		height = max(DisplayMinSide, int(float64(height)*f))
	}
	// Its own buffer, sent as is: the DVC manager's scratch belongs to
	// Run's goroutine.
	pdu := appendDynvcData(nil, ch.id, appendMonitorLayout(nil, width, height, scale))
	return c.sendChannel(c.channels[ch.m.ch].ID, pdu)
}
