package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/protocols/vnc"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/render/wire"
)

// The render matrix measures what each render.Options choice costs and saves. racgate's
// config cannot set most of them (tile size, the Disable switches), so the harness runs
// the render pipeline itself, in process, the way the gateway wires it: a protocols/vnc
// client drawing into a render.Display, one Viewer whose output is decoded by a
// wire.Canvas that acknowledges every FRAME. Every variant watches the same Xvnc at the
// same time, so they all see the same workload.

// renderVariant is one set of options, changed from the gateway's lossless defaults.
type renderVariant struct {
	name string
	set  func(o *render.Options, c *vnc.Config)
}

// jpegOn is what the gateway does for quality=8.
func jpegOn(o *render.Options, c *vnc.Config) {
	c.QualityLevel = 8
	o.JPEGQuality = 15 + 9*8
	o.Passthrough = true
}

var renderVariants = []renderVariant{
	{"default (lossless)", func(*render.Options, *vnc.Config) {}},
	{"quality=8 (JPEG on)", jpegOn},
	{"DisableFill", func(o *render.Options, _ *vnc.Config) { o.DisableFill = true }},
	{"DisablePalette", func(o *render.Options, _ *vnc.Config) { o.DisablePalette = true }},
	{"DisableMerge", func(o *render.Options, _ *vnc.Config) { o.DisableMerge = true }},
	{"DisableCopy", func(o *render.Options, _ *vnc.Config) { o.DisableCopy = true }},
	{"ZlibLevel=6", func(o *render.Options, _ *vnc.Config) { o.ZlibLevel = 6 }},
	{"TileSize=32", func(o *render.Options, _ *vnc.Config) { o.TileSize = 32 }},
	{"TileSize=128", func(o *render.Options, _ *vnc.Config) { o.TileSize = 128 }},
}

// renderPipe is one variant's pipeline.
type renderPipe struct {
	variant renderVariant
	disp    *render.Display
	view    *render.Viewer
	vc      *vnc.Client
	canvas  *wire.Canvas // the viewer's goroutine only

	mu         sync.Mutex
	bytes      uint64
	frames     uint64
	imageBytes [4]uint64
	err        error
}

// send is the viewer's send: decode, draw and acknowledge, as a client would.
func (p *renderPipe) send(msg []byte) error {
	var frames uint64
	var img [4]uint64
	err := wire.Decode(msg, func(m wire.Message) error {
		if err := p.canvas.Apply(m); err != nil {
			return err
		}
		switch m := m.(type) {
		case wire.Image:
			if int(m.Encoding) < len(img) {
				img[m.Encoding] += uint64(len(m.Data))
			}
		case wire.Frame:
			frames++
			p.view.Ack(m.ID)
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += uint64(len(msg))
	p.frames += frames
	for i := range img {
		p.imageBytes[i] += img[i]
	}
	if err != nil && p.err == nil {
		p.err = err
	}
	return err
}

type pipeSample struct {
	bytes, frames uint64
	imageBytes    [4]uint64
	encode        time.Duration
	at            time.Time
}

func (p *renderPipe) sample() (pipeSample, error) {
	st := p.view.Stats()
	p.mu.Lock()
	defer p.mu.Unlock()
	return pipeSample{bytes: p.bytes, frames: p.frames, imageBytes: p.imageBytes, encode: st.EncodeTime, at: time.Now()}, p.err
}

// renderMatrix runs every render variant on one Xvnc with workload wl.
func (h *harness) renderMatrix(ctx context.Context, name string, wl func(context.Context, *xvnc, time.Duration) error, variants []renderVariant, label string) []report.Result {
	results := make([]report.Result, len(variants))
	for i, v := range variants {
		results[i] = report.Result{Scenario: name, Variant: v.name, Gateway: "render", Sessions: 1, Goroutines: -1,
			Note: "in-process render pipeline; CPU is render's encode time"}
	}
	fail := func(err error) []report.Result {
		for i := range results {
			if errors.Is(err, exec.ErrNotFound) {
				results[i].Skipped = err.Error()
			} else {
				results[i].Errors = append(results[i].Errors, err.Error())
			}
		}
		h.log.Warn("render matrix failed", "scenario", name, "err", err)
		return results
	}
	ps := &procs{}
	defer ps.stopAll()
	dir, err := h.newDir(name)
	if err != nil {
		return fail(err)
	}
	h.prog.Set(label + ": starting Xvnc")
	x, err := startXvnc(ctx, ps, dir, h.o.width, h.o.height)
	if err != nil {
		return fail(err)
	}
	if err := wl(ctx, x, h.o.warmup+h.o.duration+30*time.Second); err != nil {
		return fail(fmt.Errorf("workload: %w", err))
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	pipes := make([]*renderPipe, 0, len(variants))
	defer func() {
		cancel()
		for _, p := range pipes {
			p.vc.Close()
			p.view.Close()
		}
		wg.Wait()
		for _, p := range pipes {
			p.disp.Close()
		}
	}()
	h.prog.Set(fmt.Sprintf("%s: starting %d pipelines", label, len(variants)))
	for _, v := range variants {
		opts := render.DefaultOptions()
		opts.Passthrough = false // the gateway's lossless default
		cfg := vnc.Config{SecurityTypes: []uint8{vnc.SecurityNone}, QualityLevel: -1, CompressLevel: -1, Shared: true}
		v.set(&opts, &cfg)
		p := &renderPipe{variant: v, disp: render.NewDisplay(opts), canvas: wire.NewCanvas()}
		p.view = p.disp.NewViewer(p.send)
		vc, err := vnc.Dial(rctx, x.Addr, cfg, p.disp)
		if err != nil {
			p.disp.Close()
			return fail(fmt.Errorf("%s: %w", v.name, err))
		}
		p.vc = vc
		pipes = append(pipes, p)
		wg.Go(func() { vc.Run(rctx) })
		wg.Go(func() { p.view.Run(rctx) })
	}
	deadline := time.Now().Add(firstFrameTimeout)
	for _, p := range pipes {
		for {
			s, err := p.sample()
			if err != nil {
				return fail(fmt.Errorf("%s: %w", p.variant.name, err))
			}
			if s.frames > 0 {
				break
			}
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("%s: no frame after %v", p.variant.name, firstFrameTimeout))
			}
			if err := sleep(ctx, 20*time.Millisecond); err != nil {
				return fail(err)
			}
		}
	}
	h.prog.Set(label + ": warming up")
	if err := sleep(ctx, h.o.warmup); err != nil {
		return fail(err)
	}
	s0 := make([]pipeSample, len(pipes))
	for i, p := range pipes {
		s0[i], _ = p.sample()
	}
	h.prog.Set(fmt.Sprintf("%s: measuring %v", label, h.o.duration))
	if err := sleep(ctx, h.o.duration); err != nil {
		return fail(err)
	}
	for i, p := range pipes {
		s1, err := p.sample()
		r := &results[i]
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		secs := s1.at.Sub(s0[i].at).Seconds()
		r.Seconds = secs
		r.Bytes = s1.bytes - s0[i].bytes
		r.Frames = s1.frames - s0[i].frames
		r.BytesPerSec = float64(r.Bytes) / secs
		r.FramesPerSec = float64(r.Frames) / secs
		r.CPUPerSession10s = (s1.encode - s0[i].encode).Seconds() * 10 / secs
		r.CPUTotal10s = r.CPUPerSession10s
		r.Encodings = map[string]uint64{}
		for k, name := range encodingNames {
			if b := s1.imageBytes[k] - s0[i].imageBytes[k]; b > 0 {
				r.Encodings[name] = b
			}
		}
	}
	return results
}
