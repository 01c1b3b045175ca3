package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"time"

	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/protocols/vnc"
)

// latencyProbe measures input-to-pixel latency: it types a key through the racgate
// session and times the first FRAME that changes the picture after it. In parallel a
// direct RFB client (protocols/vnc) watches the same Xvnc; the first update it sees after
// the key is the server's share (racgate's input path, Xvnc's echo and its update). The
// gateway's share is the rest: what racgate adds between Xvnc's update and the frame.
type latencyProbe struct {
	frames chan time.Time // changed FRAMEs from the racgate session
	direct chan time.Time // changed updates seen by the direct RFB client
}

// Bounds of the probe.
const (
	changeTimeout = time.Second           // a key with no change seen by then is lost
	keyGap        = 25 * time.Millisecond // between key presses: a fast typist
	lineLength    = 60                    // characters before Return (no wrapping)
)

func newLatencyProbe() *latencyProbe {
	return &latencyProbe{frames: make(chan time.Time, 256), direct: make(chan time.Time, 256)}
}

// onFrame is told of every frame of the probed session: changed ones are kept, never
// blocking the session's reader.
func (p *latencyProbe) onFrame(at time.Time, changed bool) {
	if !changed {
		return
	}
	select {
	case p.frames <- at:
	default:
	}
}

// directSink is a render.Sink that only notes when an update changed something.
type directSink struct {
	ch    chan<- time.Time
	dirty bool // the vnc client's goroutine only
}

func (d *directSink) Resize(int, int)                        { d.dirty = true }
func (d *directSink) SetPixels(image.Rectangle, []byte, int) { d.dirty = true }
func (d *directSink) Fill(image.Rectangle, color.RGBA)       { d.dirty = true }
func (d *directSink) Copy(image.Rectangle, image.Point)      { d.dirty = true }
func (d *directSink) DrawJPEG(image.Rectangle, []byte) error { d.dirty = true; return nil }
func (d *directSink) SetCursor(*image.RGBA, image.Point)     {}
func (d *directSink) EndFrame() {
	if d.dirty {
		select {
		case d.ch <- time.Now():
		default:
		}
	}
	d.dirty = false
}

func drain(ch chan time.Time) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// firstAfter waits for the first time on ch after t0.
func firstAfter(ctx context.Context, ch chan time.Time, t0 time.Time) (time.Time, bool) {
	timeout := time.NewTimer(changeTimeout)
	defer timeout.Stop()
	for {
		select {
		case at := <-ch:
			if at.After(t0) {
				return at, true
			}
		case <-timeout.C:
			return time.Time{}, false
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

// run types up to n keys within d into the xterm under the pointer and returns the
// latency figures.
func (p *latencyProbe) run(ctx context.Context, s viewer, x *xvnc, d time.Duration, n int) (*report.Latency, error) {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vc, err := vnc.Dial(dctx, x.Addr, vnc.Config{SecurityTypes: []uint8{vnc.SecurityNone}, QualityLevel: -1, CompressLevel: -1, Shared: true},
		&directSink{ch: p.direct})
	if err != nil {
		return nil, fmt.Errorf("direct RFB client: %w", err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- vc.Run(dctx) }()
	defer func() {
		cancel()
		vc.Close()
		<-runDone
	}()
	// Keyboard focus follows the pointer (no window manager): put it over the xterm.
	if err := s.pointer(ctx, 200, 150); err != nil {
		return nil, err
	}
	if err := sleep(ctx, 200*time.Millisecond); err != nil {
		return nil, err
	}
	lat := &report.Latency{}
	var server []float64
	end := time.Now().Add(d)
	for i := 0; i < n && time.Now().Before(end); i++ {
		if i > 0 && i%lineLength == 0 {
			if err := s.press(ctx, 0xff0d, "Enter"); err != nil { // XK_Return
				return nil, err
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return nil, err
			}
		}
		drain(p.frames)
		drain(p.direct)
		ch := 'a' + rune(i%26)
		t0 := time.Now()
		if err := s.press(ctx, uint32(ch), "Key"+string(ch-'a'+'A')); err != nil {
			return nil, err
		}
		at, ok := firstAfter(ctx, p.frames, t0)
		if !ok {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lat.Lost++
			continue
		}
		total := ms(at.Sub(t0))
		lat.TotalRaw = append(lat.TotalRaw, total)
		if sat, ok := firstAfter(ctx, p.direct, t0); ok {
			srv := ms(sat.Sub(t0))
			server = append(server, srv)
			// Clocks are the same process's monotonic clock; a negative share means the
			// frame came first (both within scheduling noise): count it as zero.
			lat.GatewayRaw = append(lat.GatewayRaw, max(0, total-srv))
		}
		if err := sleep(ctx, keyGap); err != nil {
			return nil, err
		}
	}
	lat.Samples = len(lat.TotalRaw)
	if lat.Samples == 0 {
		return lat, errors.New("no key press showed on the screen")
	}
	lat.Total = report.QuantilesOf(lat.TotalRaw)
	lat.Server = report.QuantilesOf(server)
	lat.Gateway = report.QuantilesOf(lat.GatewayRaw)
	return lat, nil
}
