package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
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
// the render pipeline itself, in process, as the gateway wires it: display operations
// into a render.Display, one Viewer whose output a wire.Canvas decodes, acknowledging
// every FRAME.
//
// To give every variant exactly the same input, the operations are recorded once from a
// protocols/vnc client watching the workload on Xvnc, then replayed into each variant in
// turn, one frame at a time: after each EndFrame the replay waits for the viewer's FRAME
// (a fast client), so frames are never merged and runs are repeatable. The JPEG variant
// replays its own recording, made at the same time by a client that asked Xvnc for JPEG
// (quality 8), as the gateway does for quality=8.

// renderVariant is one set of options, changed from the gateway's lossless defaults.
type renderVariant struct {
	name string
	set  func(o *render.Options)
	jpeg bool // replay the recording with Tight JPEG (QualityLevel 8)
}

var renderVariants = []renderVariant{
	{name: "default (lossless)", set: func(*render.Options) {}},
	{name: "quality=8 (JPEG on)", jpeg: true, set: func(o *render.Options) {
		o.JPEGQuality = 15 + 9*8 // as the gateway maps quality 8
		o.Passthrough = true
	}},
	{name: "quality=8, no passthrough", jpeg: true, set: func(o *render.Options) {
		o.JPEGQuality = 15 + 9*8 // Tight JPEG decoded, then encoded again by render
	}},
	{name: "DisableFill", set: func(o *render.Options) { o.DisableFill = true }},
	{name: "DisablePalette", set: func(o *render.Options) { o.DisablePalette = true }},
	{name: "DisableMerge", set: func(o *render.Options) { o.DisableMerge = true }},
	{name: "DisableCopy", set: func(o *render.Options) { o.DisableCopy = true }},
	{name: "ZlibLevel=6", set: func(o *render.Options) { o.ZlibLevel = 6 }},
	{name: "TileSize=32", set: func(o *render.Options) { o.TileSize = 32 }},
	{name: "TileSize=128", set: func(o *render.Options) { o.TileSize = 128 }},
}

// maxRecording bounds the bytes of pixels one recording keeps; it stops at the end of the
// frame that crosses it.
const maxRecording = 256 << 20

// replayRuns is how many times each variant replays.
const replayRuns = 2

type opKind uint8

const (
	opResize opKind = iota
	opPixels
	opFill
	opCopy
	opJPEG
	opCursor
	opEnd
)

type recOp struct {
	kind opKind
	r    image.Rectangle
	pt   image.Point
	c    color.RGBA
	data []byte // pixels (stride r.Dx()*4), JPEG bytes or cursor RGBA
}

// recorder is a render.Sink that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	on     bool // recording; set by the harness
	full   bool // over maxRecording: stop at the next EndFrame
	ops    []recOp
	bytes  int
	frames int
	start  time.Time
	span   time.Duration // from the first to the last recorded EndFrame
}

func (r *recorder) add(op recOp) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	r.ops = append(r.ops, op)
	r.bytes += len(op.data)
	if r.bytes > maxRecording {
		r.full = true
	}
}

func (r *recorder) Resize(w, h int) { r.add(recOp{kind: opResize, r: image.Rect(0, 0, w, h)}) }

func (r *recorder) SetPixels(rect image.Rectangle, pix []byte, stride int) {
	row := rect.Dx() * render.BytesPerPixel
	if rect.Empty() || stride < row || len(pix) < stride*(rect.Dy()-1)+row {
		return
	}
	r.mu.Lock()
	on := r.on
	r.mu.Unlock()
	if !on {
		return
	}
	data := make([]byte, row*rect.Dy())
	for y := 0; y < rect.Dy(); y++ {
		copy(data[y*row:], pix[y*stride:y*stride+row])
	}
	r.add(recOp{kind: opPixels, r: rect, data: data})
}

func (r *recorder) Fill(rect image.Rectangle, c color.RGBA) {
	r.add(recOp{kind: opFill, r: rect, c: c})
}

func (r *recorder) Copy(dst image.Rectangle, src image.Point) {
	r.add(recOp{kind: opCopy, r: dst, pt: src})
}

func (r *recorder) DrawJPEG(rect image.Rectangle, data []byte) error {
	r.add(recOp{kind: opJPEG, r: rect, data: append([]byte(nil), data...)})
	return nil
}

func (r *recorder) SetCursor(img *image.RGBA, hot image.Point) {
	op := recOp{kind: opCursor, pt: hot}
	if img != nil {
		op.r = img.Rect
		op.data = append([]byte(nil), img.Pix...)
	}
	r.add(op)
}

func (r *recorder) EndFrame() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	r.ops = append(r.ops, recOp{kind: opEnd})
	if r.frames == 0 {
		r.start = time.Now()
	}
	r.frames++
	r.span = time.Since(r.start)
	if r.full {
		r.on = false
	}
}

// startRecording starts keeping operations. The client has drawn the whole screen by
// then; the recording starts with a Resize and one full picture (a snapshot), so that a
// replay begins from the same screen.
func (r *recorder) startRecording(snapshot *render.Framebuffer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = true
	b := snapshot.Bounds()
	row := b.Dx() * render.BytesPerPixel
	pix := make([]byte, row*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		copy(pix[y*row:(y+1)*row], snapshot.Pix[y*snapshot.Stride:])
	}
	r.ops = append(r.ops, recOp{kind: opResize, r: b}, recOp{kind: opPixels, r: b, data: pix}, recOp{kind: opEnd})
}

func (r *recorder) stop() ([]recOp, time.Duration, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.ops, r.span, r.frames
}

// tee is a render.Sink that draws into a Display (for the starting snapshot) and records.
type tee struct {
	d   *render.Display
	rec *recorder
}

func (t tee) Resize(w, h int) { t.d.Resize(w, h); t.rec.Resize(w, h) }
func (t tee) SetPixels(r image.Rectangle, pix []byte, stride int) {
	t.d.SetPixels(r, pix, stride)
	t.rec.SetPixels(r, pix, stride)
}
func (t tee) Fill(r image.Rectangle, c color.RGBA)      { t.d.Fill(r, c); t.rec.Fill(r, c) }
func (t tee) Copy(dst image.Rectangle, src image.Point) { t.d.Copy(dst, src); t.rec.Copy(dst, src) }
func (t tee) DrawJPEG(r image.Rectangle, data []byte) error {
	t.rec.DrawJPEG(r, data)
	return t.d.DrawJPEG(r, data)
}
func (t tee) SetCursor(img *image.RGBA, hot image.Point) {
	t.d.SetCursor(img, hot)
	t.rec.SetCursor(img, hot)
}
func (t tee) EndFrame() { t.d.EndFrame(); t.rec.EndFrame() }

// record watches x with two VNC clients (lossless, and JPEG quality 8) for d.
func (h *harness) record(ctx context.Context, x *xvnc, d time.Duration) (lossless, jpeg recording, err error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type client struct {
		rec  *recorder
		disp *render.Display
		vc   *vnc.Client
		done chan error
	}
	var cs [2]*client
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.vc.Close()
				<-c.done
				c.disp.Close()
			}
		}
	}()
	for i, q := range []int{-1, 8} {
		c := &client{rec: &recorder{}, disp: render.NewDisplay(render.DefaultOptions()), done: make(chan error, 1)}
		cfg := vnc.Config{SecurityTypes: []uint8{vnc.SecurityNone}, QualityLevel: q, CompressLevel: -1, Shared: true}
		c.vc, err = vnc.Dial(rctx, x.Addr, cfg, tee{c.disp, c.rec})
		if err != nil {
			c.disp.Close()
			return lossless, jpeg, err
		}
		cs[i] = c
		go func() { c.done <- c.vc.Run(rctx) }()
	}
	if err := sleep(ctx, h.o.warmup); err != nil { // the first full pictures
		return lossless, jpeg, err
	}
	for _, c := range cs {
		c.rec.startRecording(c.disp.Snapshot())
	}
	if err := sleep(ctx, d); err != nil {
		return lossless, jpeg, err
	}
	out := [2]recording{}
	for i, c := range cs {
		select {
		case err := <-c.done:
			c.done <- err
			return lossless, jpeg, fmt.Errorf("recording client ended: %w", err)
		default:
		}
		out[i].ops, out[i].span, out[i].frames = c.rec.stop()
	}
	return out[0], out[1], nil
}

type recording struct {
	ops    []recOp
	span   time.Duration
	frames int
}

// replay runs rec through one variant and returns bytes, frames, encode time and image
// bytes by encoding.
func replay(ctx context.Context, rec recording, v renderVariant) (report.Result, error) {
	opts := render.DefaultOptions()
	opts.MinFrameInterval = 0 // frame by frame, as recorded: the replay waits for each FRAME
	opts.Passthrough = false  // the gateway's lossless default
	v.set(&opts)
	d := render.NewDisplay(opts)
	defer d.Close()
	canvas := wire.NewCanvas()
	res := report.Result{Gateway: "render", Variant: v.name, Sessions: 1, Goroutines: -1, Encodings: map[string]uint64{}}
	frameCh := make(chan struct{}, 1)
	var view *render.Viewer
	var decodeErr error
	view = d.NewViewer(func(msg []byte) error {
		res.Bytes += uint64(len(msg))
		err := wire.Decode(msg, func(m wire.Message) error {
			if err := canvas.Apply(m); err != nil {
				return err
			}
			switch m := m.(type) {
			case wire.Image:
				if int(m.Encoding) < len(encodingNames) {
					res.Encodings[encodingNames[m.Encoding]] += uint64(len(m.Data))
				}
			case wire.Frame:
				res.Frames++
				view.Ack(m.ID)
				select {
				case frameCh <- struct{}{}:
				default:
				}
			}
			return nil
		})
		if err != nil {
			decodeErr = err
		}
		return err
	})
	vctx, cancel := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- view.Run(vctx) }()
	// The viewer's goroutine writes res and decodeErr: stop it before reading them.
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			view.Close()
			<-runDone
		})
	}
	defer stop()
	drew := false
	for _, op := range rec.ops {
		switch op.kind {
		case opResize:
			d.Resize(op.r.Dx(), op.r.Dy())
		case opPixels:
			d.SetPixels(op.r, op.data, op.r.Dx()*render.BytesPerPixel)
		case opFill:
			d.Fill(op.r, op.c)
		case opCopy:
			d.Copy(op.r, op.pt)
		case opJPEG:
			if err := d.DrawJPEG(op.r, op.data); err != nil {
				stop()
				return res, fmt.Errorf("replay JPEG: %w", err)
			}
		case opCursor:
			var img *image.RGBA
			if !op.r.Empty() {
				img = &image.RGBA{Pix: op.data, Stride: op.r.Dx() * 4, Rect: op.r}
			}
			d.SetCursor(img, op.pt)
		case opEnd:
			d.EndFrame()
			if !drew {
				continue
			}
			drew = false
			// A fast client: wait for this frame before the next, so none are merged.
			select {
			case <-frameCh:
			case <-time.After(2 * time.Second):
				stop()
				return res, errors.New("replay: no FRAME for 2 s")
			case <-ctx.Done():
				stop()
				return res, ctx.Err()
			}
			continue
		}
		if op.kind != opCursor {
			drew = true
		}
	}
	stop()
	if decodeErr != nil {
		return res, fmt.Errorf("client decode: %w", decodeErr)
	}
	st := view.Stats()
	secs := rec.span.Seconds()
	if secs <= 0 {
		return res, errors.New("empty recording")
	}
	res.Seconds = secs
	res.BytesPerSec = float64(res.Bytes) / secs
	res.FramesPerSec = float64(res.Frames) / secs
	res.CPUPerSession10s = st.EncodeTime.Seconds() * 10 / secs
	res.CPUTotal10s = res.CPUPerSession10s
	return res, nil
}

// renderMatrix records workload wl on a fresh Xvnc and replays it through variants.
func (h *harness) renderMatrix(ctx context.Context, name string, wl func(context.Context, *xvnc, time.Duration) error, variants []renderVariant, label string) []report.Result {
	results := make([]report.Result, len(variants))
	for i, v := range variants {
		results[i] = report.Result{Scenario: name, Variant: v.name, Gateway: "render", Sessions: 1, Goroutines: -1}
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
	if err := wl(ctx, x, 2*h.o.warmup+h.o.record+30*time.Second); err != nil {
		return fail(fmt.Errorf("workload: %w", err))
	}
	h.prog.Set(fmt.Sprintf("%s: recording %v", label, h.o.record))
	lossless, jpeg, err := h.record(ctx, x, h.o.record)
	if err != nil {
		return fail(err)
	}
	ps.stopAll() // the replays need no servers; leave them the CPU
	for i, v := range variants {
		h.prog.Set(fmt.Sprintf("%s: replaying %s", label, v.name))
		rec := lossless
		if v.jpeg {
			rec = jpeg
		}
		// Encode time is wall time on a shared machine: keep the fastest of a few replays.
		var r report.Result
		var err error
		for k := range replayRuns {
			var rk report.Result
			rk, err = replay(ctx, rec, v)
			if err != nil {
				r = rk
				break
			}
			if k == 0 || rk.CPUPerSession10s < r.CPUPerSession10s {
				r = rk
			}
		}
		r.Scenario = name
		r.Note = fmt.Sprintf("replay of %d recorded frames (%.1f s); CPU is render's encode time, best of %d", rec.frames, rec.span.Seconds(), replayRuns)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
		}
		results[i] = r
	}
	return results
}
