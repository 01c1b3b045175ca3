package render

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zlib"

	"github.com/racgate/racgate/render/wire"
)

// ErrClosed is returned by Viewer.Run after Viewer.Close or Display.Close.
var ErrClosed = errors.New("render: closed")

// Options tune a Display. The zero value of a field means its default; the Disable
// switches exist so that the benchmark can measure what each choice is worth.
type Options struct {
	TileSize      int   // damage granularity in pixels; default 64, at most 256
	MaxInFlight   int   // unacknowledged frames per viewer; default 2
	JPEGQuality   int   // 0 = lossless only; 1..100 = JPEG for photo-like regions
	JPEGMinPixels int   // smallest region sent as JPEG; default 64×64
	ZlibLevel     int   // compress/zlib level; 0 means the default, zlib.BestSpeed
	Pool          *Pool // bounded worker pool for encoding; nil = encode on the viewer's goroutine
	Passthrough   bool  // forward DrawJPEG bytes undecoded (DefaultOptions sets it)

	// RefreshDelay is how long after its last lossy (JPEG) region a viewer gets those
	// areas again losslessly; default 300 ms, negative: never.
	RefreshDelay time.Duration

	// MinFrameInterval is the least time between two frames of a viewer; 0 = no limit.
	// The limit is on the leading edge: a frame due after a quiet period goes out at
	// once, and changes that come sooner merge into one frame sent when the interval
	// has passed. Busy servers (Xvnc) end updates back to back; gathering them costs
	// at most one interval of latency, only while the screen is busy.
	MinFrameInterval time.Duration

	MaxPendingOps   int // COPY and passthrough JPEG ops held per viewer; default 64
	MaxPendingBytes int // passthrough JPEG bytes held per viewer; default 2 MiB

	DisableFill    bool // never send FILL for uniform regions
	DisablePalette bool // never send ZPALETTE
	DisableMerge   bool // one rectangle per dirty tile
	DisableCopy    bool // send copied areas as pixels instead of COPY
}

// DefaultOptions are the options racgate runs with.
func DefaultOptions() Options {
	return Options{Passthrough: true, MinFrameInterval: DefaultMinFrameInterval}
}

// DefaultMinFrameInterval is DefaultOptions' MinFrameInterval, chosen by measurement
// (docs/benchmarks.md, "Frame rate limit").
const DefaultMinFrameInterval = 20 * time.Millisecond

const (
	// maxRegionPixels bounds one IMAGE so that its worst case (ZRGB of noise, about
	// 3 bytes a pixel) stays far below the 4 MiB websocket message limit.
	maxRegionPixels = 64 * 1024
	// maxStackPixels bounds a region joined from rows of tiles (damage.go, stack).
	maxStackPixels = 128 * 1024
	// chunkBytes is where a viewer sends what it has encoded so far of a frame.
	chunkBytes = 1 << 20
	// maxCursor bounds the cursor image's side; larger ones are cropped.
	maxCursor = 256
)

func (o Options) withDefaults() Options {
	if o.TileSize <= 0 {
		o.TileSize = 64
	}
	if o.TileSize > 256 {
		o.TileSize = 256 // a tile must fit in maxRegionPixels
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 2
	}
	if o.JPEGQuality > 100 {
		o.JPEGQuality = 100
	}
	if o.JPEGMinPixels <= 0 {
		o.JPEGMinPixels = 64 * 64
	}
	if o.ZlibLevel == 0 || o.ZlibLevel < zlib.HuffmanOnly || o.ZlibLevel > zlib.BestCompression {
		o.ZlibLevel = zlib.BestSpeed
	}
	if o.RefreshDelay == 0 {
		o.RefreshDelay = 300 * time.Millisecond
	}
	if o.MaxPendingOps <= 0 {
		o.MaxPendingOps = 64
	}
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = 2 << 20
	}
	return o
}

// Display is a Sink that any number of viewers watch. See the package documentation.
type Display struct {
	opts Options

	mu        sync.Mutex
	fb        Framebuffer
	frameSeq  uint64 // EndFrame calls
	midFrame  bool   // the framebuffer changed since the last EndFrame
	cursor    wire.Cursor
	cursorSeq uint64
	viewers   []*Viewer
	// standalones counts the standalone viewers among viewers: a display is shared
	// (one-shot images from the cache) only by two or more of the others.
	standalones int
	tmp         []image.Rectangle // scratch for Copy
	// Region versions for the cache (cache.go): every Sink call that changes pixels
	// stamps the tiles it touches with a new modSeq.
	stamps   []uint64 // per tile, row by row
	tileCols int
	modSeq   uint64
	log      damageLog // damage every viewer lacks (damagelog.go)
	closed   bool
	demand   []func() // WhenWanted callbacks waiting for a viewer with room (demand.go)

	blankCopy     int         // maxBlankCopy; smaller in tests
	demandWaiting atomic.Bool // demand may be non-empty: Ack must look
	env           encodeEnv   // shared by the viewers' encoders; safe without mu
}

var _ Sink = (*Display)(nil)

// NewDisplay returns an empty (0×0) display.
func NewDisplay(o Options) *Display {
	d := &Display{opts: o.withDefaults(), blankCopy: maxBlankCopy}
	d.env.cache.init(cacheLimit(0))
	return d
}

// Close ends every viewer's Run with ErrClosed. Sink calls after Close are harmless.
func (d *Display) Close() {
	d.mu.Lock()
	d.closed = true
	vs := d.viewers
	d.mu.Unlock()
	for _, v := range vs {
		v.Close()
	}
	d.fireDemand() // nobody will want frames again: let waiters go
}

// Snapshot returns a copy of the framebuffer and cursor.
func (d *Display) Snapshot() *Framebuffer {
	d.mu.Lock()
	defer d.mu.Unlock()
	fb := d.fb
	fb.Pix = bytes.Clone(d.fb.Pix)
	if d.fb.Cursor != nil {
		c := *d.fb.Cursor
		c.Pix = bytes.Clone(c.Pix)
		fb.Cursor = &c
	}
	return &fb
}

// Resize implements Sink: every viewer gets RESIZE and then a full frame.
func (d *Display) Resize(width, height int) {
	if width > 0xffff {
		width = 0xffff // the wire carries u16 sizes
	}
	if height > 0xffff {
		height = 0xffff
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fb.Resize(width, height)
	d.midFrame = true
	t := d.opts.TileSize
	d.tileCols = (d.fb.Width + t - 1) / t
	d.stamps = make([]uint64, d.tileCols*((d.fb.Height+t-1)/t))
	d.touchLocked(d.fb.Bounds())
	d.log.reset(d.fb.Bounds(), t)
	d.tmp = trimmed(d.tmp, len(d.stamps))
	for _, v := range d.viewers {
		v.resetLocked()
	}
	// Entries of the old size are no use; the bound follows the new size.
	d.env.cache.reset(cacheLimit(len(d.fb.Pix)))
}

// touchLocked gives the tiles r meets a new version.
func (d *Display) touchLocked(r image.Rectangle) {
	r = r.Intersect(d.fb.Bounds())
	if r.Empty() {
		return
	}
	d.modSeq++
	t := d.opts.TileSize
	for ty := r.Min.Y / t; ty <= (r.Max.Y-1)/t; ty++ {
		row := d.stamps[ty*d.tileCols:]
		for tx := r.Min.X / t; tx <= (r.Max.X-1)/t; tx++ {
			row[tx] = d.modSeq
		}
	}
}

// versionLocked is r's version: the newest stamp among its tiles. Equal versions of one
// rectangle mean equal pixels.
func (d *Display) versionLocked(r image.Rectangle) uint64 {
	r = r.Intersect(d.fb.Bounds())
	var ver uint64
	t := d.opts.TileSize
	for ty := r.Min.Y / t; ty <= (r.Max.Y-1)/t; ty++ {
		row := d.stamps[ty*d.tileCols:]
		for tx := r.Min.X / t; tx <= (r.Max.X-1)/t; tx++ {
			ver = max(ver, row[tx])
		}
	}
	return ver
}

// SetPixels implements Sink.
func (d *Display) SetPixels(r image.Rectangle, pix []byte, stride int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fb.SetPixels(r, pix, stride)
	d.drawnLocked(r)
}

var _ PixelWriter = (*Display)(nil)

// WritePixels implements PixelWriter.
func (d *Display) WritePixels(r image.Rectangle, write func(dst []byte, stride int)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.fb.WritePixels(r, write) {
		return false
	}
	d.drawnLocked(r)
	return true
}

// Fill implements Sink.
func (d *Display) Fill(r image.Rectangle, c color.RGBA) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fb.Fill(r, c)
	d.drawnLocked(r)
}

// drawnLocked records that the framebuffer's pixels in r were drawn: mid-frame, a
// change for the stamps and for every viewer's damage.
func (d *Display) drawnLocked(r image.Rectangle) {
	d.midFrame = true
	d.touchLocked(r)
	d.addLocked(r)
}

// clipCopy clips a copy the way Framebuffer.Copy does: the destination by the
// framebuffer, then the source by the framebuffer, moving the other with it.
func clipCopy(bounds, dst image.Rectangle, src image.Point) (image.Rectangle, image.Point) {
	dc := dst.Intersect(bounds)
	s := src.Add(dc.Min.Sub(dst.Min))
	sr := image.Rectangle{s, s.Add(dc.Size())}.Intersect(bounds)
	min := dc.Min.Add(sr.Min.Sub(s))
	return image.Rectangle{min, min.Add(sr.Size())}, sr.Min
}

// Copy implements Sink. A viewer gets a COPY, and the part of its pending damage that
// lies in the source moves with the copy: the client copies what it has, which is stale
// there.
func (d *Display) Copy(dst image.Rectangle, src image.Point) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dc, sp := clipCopy(d.fb.Bounds(), dst, src)
	d.fb.Copy(dst, src)
	d.midFrame = true
	d.touchLocked(dc)
	if dc.Empty() || dc.Min == sp {
		return // nothing, or onto itself
	}
	delta := dc.Min.Sub(sp)
	sr := dc.Sub(delta)
	// The damage that moves is each viewer's whole damage: fold the log in first. What
	// changed before the copy is sealed off, so that later changes stay shared.
	d.sealLocked()
	for _, v := range d.viewers {
		d.materializeLocked(v)
		st := &v.st
		if st.dmg.allDirty {
			continue // everything is sent anyway
		}
		n := len(st.ops)
		prev := -1
		if n > 0 && st.ops[n-1].jpeg == nil && st.ops[n-1].dst.In(dc) {
			prev = n - 1 // composed below, so never over the limit
		}
		if d.opts.DisableCopy || (prev < 0 && n >= d.opts.MaxPendingOps) {
			st.dmg.add(dc)
			v.collapsed++
			continue
		}
		d.tmp = d.tmp[:0]
		st.dmg.forEach(sr, func(b image.Rectangle) { d.tmp = append(d.tmp, b.Add(delta)) })
		for _, b := range d.tmp {
			st.dmg.add(b)
		}
		if prev >= 0 {
			st.ops = composeCopy(st.ops, &st.dmg, dc, delta)
			continue
		}
		st.ops = append(st.ops, op{dst: dc, src: sp})
	}
}

// composeCopy folds a COPY of dst by delta into the COPY that ends ops, whose
// destination lies inside dst: a terminal scrolling line by line between two frames
// sends one COPY, not one per line (a browser canvas pays a fixed cost per copy).
// Where dst's source lies inside the earlier COPY's destination, the pixels come from
// that COPY's source, moved by both deltas (always inside the framebuffer). The rest of
// dst was copied from pixels the client does not have yet, so it becomes damage; in a
// scroll that is the line drawn between the two copies, damage already. The earlier
// COPY's own destination is all overwritten, so nothing of it is lost.
func composeCopy(ops []op, dmg *damage, dst image.Rectangle, delta image.Point) []op {
	last := &ops[len(ops)-1]
	total := delta.Add(last.dst.Min.Sub(last.src))
	keep := dst.Intersect(last.dst.Add(delta))
	eachOutside(dst, keep, dmg.add)
	if keep.Empty() || total == (image.Point{}) {
		return ops[:len(ops)-1] // nothing kept, or every kept pixel is back where it was
	}
	*last = op{dst: keep, src: keep.Min.Sub(total)}
	return ops
}

// eachOutside calls fn for each of the at most four rectangles that make up a minus b
// (on the Copy path: no slice for them).
func eachOutside(a, b image.Rectangle, fn func(image.Rectangle)) {
	b = b.Intersect(a)
	if b.Empty() {
		fn(a)
		return
	}
	if b.Min.Y > a.Min.Y {
		fn(image.Rect(a.Min.X, a.Min.Y, a.Max.X, b.Min.Y))
	}
	if b.Max.Y < a.Max.Y {
		fn(image.Rect(a.Min.X, b.Max.Y, a.Max.X, a.Max.Y))
	}
	if b.Min.X > a.Min.X {
		fn(image.Rect(a.Min.X, b.Min.Y, b.Min.X, b.Max.Y))
	}
	if b.Max.X < a.Max.X {
		fn(image.Rect(b.Max.X, b.Min.Y, a.Max.X, b.Max.Y))
	}
}

// DrawJPEG implements Sink. The JPEG is decoded into the framebuffer and, with
// Passthrough, its bytes are forwarded to viewers as they are.
func (d *Display) DrawJPEG(r image.Rectangle, data []byte) error {
	// Decode outside the lock: only the protocol client's goroutine calls Sink methods.
	img, err := DecodeJPEG(data, r.Size())
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fb.SetPixels(r, img.Pix, img.Stride)
	d.midFrame = true
	d.touchLocked(r)
	pass := d.opts.Passthrough && r.In(d.fb.Bounds()) && len(data) <= d.opts.MaxPendingBytes && len(data) <= wire.MaxServerMessage/2
	if !pass {
		d.addLocked(r)
		return nil
	}
	// The JPEG clears each viewer's damage under it, the log's part included.
	d.sealLocked()
	var shared []byte // one copy for all viewers; never written after
	for _, v := range d.viewers {
		d.materializeLocked(v)
		st := &v.st
		if st.dmg.allDirty {
			continue // everything is sent anyway
		}
		if len(st.ops) >= d.opts.MaxPendingOps || st.opsBytes+len(data) > d.opts.MaxPendingBytes {
			st.dmg.add(r)
			v.collapsed++
			continue
		}
		if shared == nil {
			shared = bytes.Clone(data)
		}
		st.ops = append(st.ops, op{dst: r, jpeg: shared})
		st.opsBytes += len(shared)
		st.dmg.removeWithin(r)
	}
	return nil
}

// SetCursor implements Sink: every viewer gets CURSOR once per change.
func (d *Display) SetCursor(img *image.RGBA, hot image.Point) {
	c := wire.Cursor{HotX: max(hot.X, 0), HotY: max(hot.Y, 0)}
	var own *image.RGBA
	if img != nil && !img.Rect.Empty() {
		b := img.Rect
		b.Max.X = min(b.Max.X, b.Min.X+maxCursor)
		b.Max.Y = min(b.Max.Y, b.Min.Y+maxCursor)
		own = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			copy(own.Pix[y*own.Stride:][:b.Dx()*4], img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		c.W, c.H, c.RGBA = b.Dx(), b.Dy(), own.Pix
		c.HotX, c.HotY = min(c.HotX, 0xffff), min(c.HotY, 0xffff)
	}
	d.mu.Lock()
	d.fb.SetCursor(own, hot)
	d.cursor = c
	d.cursorSeq++
	vs := d.viewers
	d.mu.Unlock()
	for _, v := range vs {
		v.wakeUp()
	}
}

// EndFrame implements Sink. The framebuffer is consistent now: viewers waiting for
// that get their frame taken here (a copy of their damaged pixels, under the lock they
// would take anyway), and every viewer is woken.
func (d *Display) EndFrame() {
	d.mu.Lock()
	d.fb.EndFrame()
	d.sealLocked()
	d.frameSeq++
	d.midFrame = false
	for _, v := range d.viewers {
		if v.waitEnd {
			v.takeLocked()
			v.waitEnd, v.taken = false, true
		}
	}
	vs := d.viewers
	d.mu.Unlock()
	for _, v := range vs {
		v.wakeUp()
	}
}

func (d *Display) remove(v *Viewer) {
	d.mu.Lock()
	for i, x := range d.viewers {
		if x == v {
			// Copy on write: Sink methods wake a slice taken under the lock.
			d.viewers = append(d.viewers[:i:i], d.viewers[i+1:]...)
			if v.standalone {
				d.standalones--
			}
			if len(d.viewers) < 2 {
				// A lone viewer uses its own stream: free what the cache holds.
				d.env.cache.reset(cacheLimit(len(d.fb.Pix)))
			}
			break
		}
	}
	d.mu.Unlock()
	d.fireDemand() // the viewer that left may have been the one the remote waited on
}

// appendVersionsLocked appends the version of each of rects.
func (d *Display) appendVersionsLocked(vers []uint64, rects []image.Rectangle) []uint64 {
	for _, r := range rects {
		vers = append(vers, d.versionLocked(r))
	}
	return vers
}
