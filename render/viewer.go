package render

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// op is a pending COPY (jpeg nil) or passthrough JPEG, in Sink order.
type op struct {
	dst  image.Rectangle
	src  image.Point
	jpeg []byte // shared between viewers, read-only
}

// viewerState is a viewer's pending work, guarded by Display.mu. Its size is bounded:
// fixed-size damage plus at most MaxPendingOps ops of at most MaxPendingBytes.
type viewerState struct {
	dmg      damage // beside the display's log, from since on (damagelog.go)
	since    uint64 // the last log segment folded into dmg or taken
	ops      []op
	opsBytes int
	resized  bool // RESIZE to send
	first    bool // a full frame is due (new viewer, Resize) even without a new EndFrame
}

// Viewer is one client watching a Display; see NewViewer.
type Viewer struct {
	d     *Display
	send  func([]byte) error
	wake  chan struct{}
	done  chan struct{}
	close sync.Once

	sent  atomic.Uint32 // last FRAME id sent
	acked atomic.Uint32 // last FRAME id acknowledged
	// ackWait: Run may be waiting for an ACK to send a frame, so Ack must wake it.
	// Otherwise an ACK changes nothing Run waits for, and waking it would be wasted (with
	// many viewers, a goroutine switch per frame each).
	ackWait atomic.Bool

	// Guarded by d.mu.
	st        viewerState
	collapsed uint64 // ops turned into damage
	seenSeq   uint64 // d.frameSeq when the last frame was taken
	cursorSeq uint64 // d.cursorSeq last sent
	waitEnd   bool   // the next EndFrame takes a frame for this viewer
	taken     bool   // a frame was taken for Run (by EndFrame)

	// Owned by Run's goroutine.
	enc      *encoder
	out      []byte
	ops      []op
	rects    []image.Rectangle
	tmpRects []image.Rectangle
	offs     []int
	vers     []uint64      // shared: each rect's version (Display.versionLocked)
	hits     []*cacheEntry // shared: each rect's cached encoding, found when taken; nil: encode
	pix      []byte        // the damaged pixels of the frame taken: scratch, or from d.env.pix
	copied   int           // rects[:copied] have their pixels in pix (see copyBatchLocked)
	copyMod  uint64        // d.modSeq when the last batch was copied
	encodes  bool          // the frame taken has regions to encode (not all cached)
	bigPix   bool          // pix came from d.env.pix: return it once the frame is sent
	scratch  []byte        // kept between frames: at most smallBuffer shared; alone, loneScratch
	size     image.Point   // for RESIZE
	resized  bool
	first    bool
	shared   bool // the display had several viewers (not counting standalone ones) when the frame was taken

	standalone bool          // ViewerOptions.Standalone
	interval   time.Duration // ViewerOptions.MinFrameInterval, else the display's
	onFrame    func(time.Duration)
	level      int // ViewerOptions.ZlibLevel, else the display's

	lossy      tileSet
	blank      tileSet     // tiles the client has had nothing drawn on since RESIZE (lone viewers)
	refresh    *time.Timer // armed after a lossy region, until the refresh
	refreshArm bool        // refresh is armed
	refreshDue bool        // the timer fired
	lossless   bool        // the frame being sent is a lossless refresh
	sentLossy  bool        // the frame being sent has lossy regions

	lastFrame time.Time   // when the last frame was taken, for MinFrameInterval
	pace      *time.Timer // armed while a frame waits for MinFrameInterval
	paced     bool        // pace is armed

	countsPtr atomic.Pointer[EncodeCounts] // the encoder's counts after the last chunk

	stats struct {
		bytes, frames, messages, merged atomic.Uint64
		encodeNanos                     atomic.Int64
	}
}

// ViewerStats are a viewer's counters, for metrics and the benchmark.
type ViewerStats struct {
	Bytes        uint64        // bytes passed to send
	Frames       uint64        // FRAME messages sent
	Messages     uint64        // websocket messages (send calls)
	EncodeTime   time.Duration // time spent encoding
	Merged       uint64        // display frames (EndFrame) folded into a later frame
	Collapsed    uint64        // COPY / JPEG ops sent as pixels instead (limits, stalls)
	InFlight     int           // frames sent and not acknowledged
	PendingOps   int           // ops held now
	PendingBytes int           // passthrough JPEG bytes held now
	Counts       EncodeCounts  // regions and ops by encoding
}

// NewViewer adds a viewer. send gets one websocket message at a time (several wire
// messages, at most wire.MaxServerMessage bytes); it must not keep msg, and is called
// only from Run's goroutine. Call Run once.
func (d *Display) NewViewer(send func(msg []byte) error) *Viewer {
	return d.NewViewerWith(send, ViewerOptions{})
}

// ViewerOptions tune one viewer.
type ViewerOptions struct {
	// Standalone: the viewer's deflate stream starts anew at every key frame (its first,
	// a resize's, Refresh's), and a key frame draws the whole screen before its FRAME,
	// so that drawing can start at any key frame with a new inflater: what a recording
	// needs to be seekable. A standalone viewer keeps its own stream whatever other
	// viewers the display has, and does not make the display shared for them.
	Standalone bool
	// MinFrameInterval, when above the display's Options.MinFrameInterval, is this
	// viewer's least time between two frames: a recording need not hold every frame a
	// browser gets (damage merges meanwhile, as for any paced viewer).
	MinFrameInterval time.Duration
	// ZlibLevel, when not 0, is this viewer's deflate level instead of the display's
	// Options.ZlibLevel: a recording, written once and kept, is worth the best.
	ZlibLevel int
	// OnFrame, if set, is called with the time spent encoding each frame (for a
	// histogram of it) as the frame's last message, the one with FRAME, is about to be
	// sent: what the client does once it has the frame comes after it.
	OnFrame func(encode time.Duration)
}

// NewViewerWith is NewViewer with options.
func (d *Display) NewViewerWith(send func(msg []byte) error, o ViewerOptions) *Viewer {
	v := &Viewer{d: d, send: send, wake: make(chan struct{}, 1), done: make(chan struct{}), standalone: o.Standalone,
		interval: max(o.MinFrameInterval, d.opts.MinFrameInterval), level: o.ZlibLevel, onFrame: o.OnFrame}
	d.mu.Lock()
	v.resetLocked()
	v.cursorSeq = d.cursorSeq - 1 // send the cursor first thing
	if d.closed {
		v.Close() // Run returns at once
	} else {
		d.viewers = append(d.viewers, v)
		if v.standalone {
			d.standalones++
		}
	}
	d.mu.Unlock()
	d.fireDemand() // a new viewer has room
	return v
}

// resetLocked makes the next frame a RESIZE and a full update (new viewer, Resize).
func (v *Viewer) resetLocked() {
	st := &v.st
	clear(st.ops)
	st.ops, st.opsBytes = st.ops[:0], 0
	st.dmg.reset(v.d.fb.Bounds(), v.d.opts.TileSize)
	st.dmg.all()
	v.d.joinLocked(v)
	st.resized, st.first = true, true
	// A screen that shrank: the scratch need not hold the old one (a lone viewer's
	// grows to a screen's worth). It is only touched under the lock; a frame being sent
	// keeps its pixels through v.pix until releaseFrame.
	v.scratch = trimmed(v.scratch, max(len(v.d.fb.Pix), smallBuffer))
}

func (v *Viewer) wakeUp() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// Ack records that the client drew frame id. Call it from the websocket reader.
func (v *Viewer) Ack(id uint32) {
	for {
		a := v.acked.Load()
		if id <= a || id > v.sent.Load() {
			return // old, duplicate or never sent: ignore
		}
		if v.acked.CompareAndSwap(a, id) {
			// Paired with step, which sets ackWait before it reads acked: either step
			// sees this ACK or this sees ackWait (atomics are sequentially consistent).
			if v.ackWait.Load() {
				v.wakeUp()
			}
			v.d.fireDemand() // the remote may be waiting for a viewer with room
			return
		}
	}
}

// Refresh makes the next frame a key frame: RESIZE, CURSOR and the whole screen, as a
// new viewer's first frame, so that a player of what this viewer sent can start there.
func (v *Viewer) Refresh() {
	d := v.d
	d.mu.Lock()
	v.resetLocked()
	v.cursorSeq = d.cursorSeq - 1
	d.mu.Unlock()
	v.wakeUp()
}

// Close ends Run with ErrClosed (or its context's error, if that ended too).
func (v *Viewer) Close() {
	v.close.Do(func() { close(v.done) })
}

// Stats returns the viewer's counters.
func (v *Viewer) Stats() ViewerStats {
	acked := v.acked.Load() // before sent: acked <= sent holds between the two loads
	s := ViewerStats{
		Bytes:      v.stats.bytes.Load(),
		Frames:     v.stats.frames.Load(),
		Messages:   v.stats.messages.Load(),
		EncodeTime: time.Duration(v.stats.encodeNanos.Load()),
		Merged:     v.stats.merged.Load(),
		InFlight:   int(v.sent.Load() - acked),
	}
	v.d.mu.Lock()
	s.Collapsed = v.collapsed
	s.PendingOps, s.PendingBytes = len(v.st.ops), v.st.opsBytes
	v.d.mu.Unlock()
	if c := v.countsPtr.Load(); c != nil {
		s.Counts = *c
	}
	return s
}

// Run sends the viewer RESIZE, CURSOR and a full frame, then updates paced by Ack. It
// returns ErrClosed after Close or Display.Close, ctx's error when ctx ends, or the
// error of send.
func (v *Viewer) Run(ctx context.Context) error {
	d := v.d
	defer d.remove(v)
	// Everything that ends Run closes v.done (ctx here, Display.Close by closing every
	// viewer): the select below waits on as few channels as possible, as it runs for
	// every frame of every viewer.
	defer context.AfterFunc(ctx, v.Close)()
	v.enc = newEncoder(&d.opts)
	v.enc.env = &d.env
	if v.level != 0 {
		v.enc.setLevel(v.level)
	}
	v.refresh = time.NewTimer(time.Hour)
	v.refresh.Stop()
	defer v.refresh.Stop()
	v.pace = time.NewTimer(time.Hour)
	v.pace.Stop()
	defer v.pace.Stop()
	for {
		select {
		case <-v.done:
			return v.closed(ctx)
		default:
		}
		sent, err := v.step(ctx)
		if err != nil {
			return err
		}
		if sent {
			continue
		}
		var refreshC, paceC <-chan time.Time // nil unless armed: never ready
		if v.refreshArm {
			refreshC = v.refresh.C
		}
		if v.paced {
			paceC = v.pace.C
		}
		select {
		case <-v.done:
			return v.closed(ctx)
		case <-v.wake:
		case <-refreshC:
			v.refreshArm, v.refreshDue = false, true
		case <-paceC:
			v.paced = false
		}
	}
}

// closed is Run's error once v.done is closed.
func (v *Viewer) closed(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// step sends a frame or a cursor change if one is due, and reports whether it did. Its
// phases: is there room (ACKs), is a frame due and taken (under the lock), is the cursor
// due, then the send.
//
// A frame is taken only where the display is consistent: at once if no Sink call
// changed the framebuffer since the last EndFrame, otherwise by the next EndFrame
// (waitEnd), which takes it for us under the lock and wakes us.
func (v *Viewer) step(ctx context.Context) (bool, error) {
	d := v.d
	room := v.hasRoom()
	d.mu.Lock()
	cursor, cursorDue := d.cursor, v.cursorSeq != d.cursorSeq
	first := v.st.first
	taken := v.takeDueLocked(room)
	// Before a first frame (a new viewer's, after a resize, Refresh's key frame) the
	// cursor waits for it: RESIZE comes first, and the key frame holds the cursor.
	cursorDue = cursorDue && (taken || (v.sent.Load() > 0 && !first))
	if cursorDue {
		v.cursorSeq = d.cursorSeq
	}
	d.mu.Unlock()
	if !taken {
		if !cursorDue {
			return false, nil
		}
		// A cursor change goes out at once: it is small and replaces the last one.
		v.out = cursor.Append(v.out[:0])
		return true, v.flush()
	}
	return v.sendTaken(ctx, cursor, cursorDue)
}

// hasRoom reports whether fewer than MaxInFlight frames are unacknowledged. If not, it
// leaves ackWait set, so that the Ack that makes room wakes Run.
func (v *Viewer) hasRoom() bool {
	v.ackWait.Store(true)
	inFlight := int(v.sent.Load() - v.acked.Load())
	if inFlight < v.d.opts.MaxInFlight {
		v.ackWait.Store(false)
		return true
	}
	return false
}

// takeDueLocked takes a frame if one is due and the display is between frames, or
// leaves it to the next EndFrame (waitEnd). It reports whether Run has a frame to send:
// taken now, or by an EndFrame since the last step.
func (v *Viewer) takeDueLocked(room bool) bool {
	taken := v.taken
	v.taken = false
	refresh := v.refreshDue && v.lossy.n > 0 && !v.st.first
	v.refreshDue = v.refreshDue && v.lossy.n > 0
	if taken || v.waitEnd || !v.frameDueLocked(room, refresh) {
		return taken
	}
	if refresh {
		// Lossless refresh: the lossy tiles become damage, sent without JPEG.
		v.lossy.each(v.st.dmg.add)
		v.lossless, v.refreshDue = true, false
	}
	if v.d.midFrame {
		v.waitEnd = true
		return false
	}
	v.takeLocked()
	return true
}

// frameDueLocked reports whether the viewer has room for a frame, something to put in
// it (a first frame, a display frame it has not seen, a lossless refresh) and
// MinFrameInterval's leave to send it now.
func (v *Viewer) frameDueLocked(room, refresh bool) bool {
	d := v.d
	if !room || !(v.st.first || v.seenSeq != d.frameSeq || refresh) {
		return false
	}
	// Checked before waitEnd is set so that EndFrame never takes a frame early for us.
	return !v.tooSoon()
}

// tooSoon reports whether MinFrameInterval has not yet passed since the last frame, and
// then arms pace for the rest of it; meanwhile damage keeps merging.
func (v *Viewer) tooSoon() bool {
	interval := v.interval
	if interval <= 0 || v.lastFrame.IsZero() {
		return false
	}
	wait := interval - time.Since(v.lastFrame)
	if wait <= 0 {
		return false
	}
	if !v.paced {
		v.pace.Reset(wait)
		v.paced = true
	}
	return true
}

// sendTaken sends the frame taken, after RESIZE and CURSOR if they are due. A take that
// found nothing for this viewer sends no empty FRAME (no ACK round trip), only those.
func (v *Viewer) sendTaken(ctx context.Context, cursor wire.Cursor, cursorDue bool) (bool, error) {
	v.out = v.out[:0]
	if v.resized {
		v.lossy.reset(image.Rectangle{Max: v.size}, v.d.opts.TileSize)
		v.out = wire.Resize{Width: v.size.X, Height: v.size.Y}.Append(v.out)
	}
	if cursorDue {
		v.out = cursor.Append(v.out)
	}
	if len(v.ops) == 0 && len(v.rects) == 0 && !v.resized && !v.first {
		v.lossless = false
		if len(v.out) > 0 {
			return true, v.flush()
		}
		return false, nil
	}
	v.startInterval()
	return true, v.sendFrame(ctx)
}

// startInterval starts MinFrameInterval at a frame about to be sent; a frame waiting
// for the last interval is this one. Empty takes (sendTaken) do not count.
func (v *Viewer) startInterval() {
	if v.paced {
		v.pace.Stop()
		v.paced = false
	}
	v.lastFrame = time.Now()
}

// takeLocked moves the pending state to the Run goroutine and copies the damaged
// pixels out, so that encoding happens without the lock. Its phases: the viewer's own
// state (moveStateLocked), its damage beside the display's log (takeRectsLocked), the
// cache's hits (peekCacheLocked), then the pixels: in batches where a lone viewer's
// canvas is blank (takeBlankLocked), otherwise all at once (copyOutLocked).
func (v *Viewer) takeLocked() {
	v.moveStateLocked()
	v.d.takeRectsLocked(v, v.shared)
	v.peekCacheLocked()
	v.offs = v.offs[:0]
	if v.first {
		// A new canvas: blank for a lone viewer, which copies it in batches; a viewer
		// among several tracks nothing (its big frames borrow pooled buffers).
		v.blank.reset(image.Rectangle{Max: v.size}, v.d.opts.TileSize)
		// A standalone viewer's key frame is taken whole: its batches could end the
		// frame early, and a player starting there would show part of it blank.
		if !v.shared && !v.standalone {
			v.blank.fill()
		}
	}
	if !v.shared && v.blank.n > 0 {
		v.takeBlankLocked()
		return
	}
	v.copyOutLocked()
}

// moveStateLocked moves the viewer's pending flags and ops to the Run goroutine, counts
// the display frames merged into this one, and notes whether the display has several
// viewers (shared) for the rest of the frame.
func (v *Viewer) moveStateLocked() {
	d, st := v.d, &v.st
	if skipped := d.frameSeq - v.seenSeq; skipped > 1 && !st.first {
		v.stats.merged.Add(skipped - 1)
	}
	v.seenSeq = d.frameSeq
	if st.resized {
		// Per-rectangle lists grow with the number of tiles: drop a bigger screen's.
		tiles := len(d.stamps)
		v.rects, v.tmpRects = trimmed(v.rects, tiles), trimmed(v.tmpRects, tiles)
		v.offs, v.vers, v.hits = trimmed(v.offs, tiles), trimmed(v.vers, tiles), trimmed(v.hits, tiles)
	}
	v.resized, v.first = st.resized, st.first
	v.size = image.Pt(d.fb.Width, d.fb.Height)
	// A standalone viewer (a recording's) keeps its own deflate stream whatever the
	// others do, and a browser's beside it alone keeps its own too.
	v.shared = !v.standalone && len(d.viewers)-d.standalones >= 2
	st.resized, st.first = false, false
	v.ops = append(v.ops[:0], st.ops...)
	clear(st.ops)
	st.ops, st.opsBytes = st.ops[:0], 0
}

// peekCacheLocked looks the frame's regions up in the display's cache when shared: a
// region another viewer already encoded at this version needs no pixels, so only the
// others are copied out.
func (v *Viewer) peekCacheLocked() {
	d := v.d
	v.hits = v.hits[:0]
	if v.shared {
		noJPEG := v.lossless && d.opts.JPEGQuality > 0
		for i, r := range v.rects {
			v.hits = append(v.hits, d.env.cache.peek(cacheKey{r: r, noJPEG: noJPEG, ver: v.vers[i]}))
		}
	}
}

// copyOutLocked copies out the pixels of every rect the frame must encode (all but the
// cache's hits) into one buffer (framePix).
func (v *Viewer) copyOutLocked() {
	n := 0
	for i, r := range v.rects {
		v.offs = append(v.offs, n)
		if v.shared && v.hits[i] != nil {
			continue
		}
		n += r.Dx() * r.Dy() * BytesPerPixel
	}
	v.encodes = n > 0
	v.copied = len(v.rects)
	v.pix = v.framePix(n)
	for i, r := range v.rects {
		if !v.shared || v.hits[i] == nil {
			v.d.copyRectLocked(v.pix[v.offs[i]:], r)
		}
	}
}

// framePix returns the buffer for n bytes of a frame's pixels: a lone viewer's scratch
// (loneScratch); among several viewers, a borrowed one for a big frame (bigPix, returned
// by releaseFrame), otherwise a scratch of at most smallBuffer, kept.
func (v *Viewer) framePix(n int) []byte {
	switch {
	case n > smallBuffer && v.shared:
		// A big frame (the first, a scroll) of one of many viewers: borrow the buffer
		// rather than keep it, so that idle viewers hold none.
		v.bigPix = true
		return v.d.env.pix.get(n, len(v.d.fb.Pix))[:n]
	case !v.shared:
		return v.loneScratch(n)
	}
	if cap(v.scratch) < n {
		// At most smallBuffer, the most a viewer among several keeps (grow's quarter
		// to spare would pass it).
		v.scratch = make([]byte, 0, min(n+n/4, max(n, smallBuffer)))
	}
	v.scratch = v.scratch[:n]
	return v.scratch
}

// copyRectLocked copies r's pixels out of the framebuffer, rows packed, into dst.
func (d *Display) copyRectLocked(dst []byte, r image.Rectangle) {
	w := r.Dx() * BytesPerPixel
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(dst[(y-r.Min.Y)*w:][:w], d.fb.Pix[y*d.fb.Stride+r.Min.X*BytesPerPixel:])
	}
}

// maxBlankCopy bounds the pixels a lone viewer copies out at once where its client's
// canvas is blank (its first frame, a resize). The viewer keeps its buffer, and a copy
// of the whole screen would stay with it for good: a few megabytes a session, where
// its later frames (a busy terminal's) need a third of that.
const maxBlankCopy = 1 << 20

// takeBlankLocked copies out the pixels of a lone viewer's frame while part of its
// client's canvas is still blank: its first frame, and those that finish it. The rects
// that touch a tile drawn on before come first and are all copied; the rects on blank
// tiles follow in batches (copyBatchLocked).
func (v *Viewer) takeBlankLocked() {
	for _, o := range v.ops {
		v.blank.unmark(o.dst) // drawn on by this frame's ops, which come first
	}
	v.tmpRects = v.tmpRects[:0]
	drawn := 0
	for _, r := range v.rects {
		if !v.blank.every(r) {
			v.rects[drawn] = r
			drawn++
		} else {
			v.tmpRects = append(v.tmpRects, r)
		}
	}
	copy(v.rects[drawn:], v.tmpRects)
	v.offs = slices.Grow(v.offs, len(v.rects))[:len(v.rects)]
	v.copyBatchLocked(0, drawn)
}

// copyBatchLocked copies the pixels of a lone viewer's rects, from rect `from` on, into
// its scratch: those before minEnd, and then as many as fit in maxBlankCopy bytes (one
// rect at least). The rects not copied, all on tiles still blank in the client, go back
// into the viewer's damage at once, so that anything that changes the framebuffer
// meanwhile (a COPY moving them included) finds them there; if nothing did by the time
// they are due, nextBatch takes them back for the same frame. If something did, the
// frame ends early: the browser has all of the frame's changes to what it showed and
// part of what it has not shown yet, as it was when the frame was taken, and the rest
// follows in the next frame. A frame may thus leave part of the canvas blank, but never
// shows two moments mixed.
func (v *Viewer) copyBatchLocked(from, minEnd int) {
	d := v.d
	n, end := 0, from
	for ; end < len(v.rects); end++ {
		sz := v.rects[end].Dx() * v.rects[end].Dy() * BytesPerPixel
		if end > from && end >= minEnd && n+sz > d.blankCopy {
			break
		}
		v.offs[end] = n
		n += sz
	}
	v.encodes = n > 0
	v.pix = v.loneScratch(n)
	for i := from; i < end; i++ {
		d.copyRectLocked(v.pix[v.offs[i]:], v.rects[i])
	}
	for _, r := range v.rects[end:] {
		v.st.dmg.add(r)
	}
	v.copied, v.copyMod = end, d.modSeq
}

// loneScratch returns a lone viewer's scratch with n bytes. It keeps its own (a pool
// emptied by every garbage collection would only churn it), and when it grows, it grows
// once to a whole screen's worth: step by step, each step would leave the last buffer
// to the garbage collector, and the process's RSS keeps such pages. Only the pages a
// frame writes become resident: a fresh allocation is not touched until used, so an
// idle desktop's viewer, whose first frame is copied in batches (copyBatchLocked),
// costs about one batch.
func (v *Viewer) loneScratch(n int) []byte {
	if cap(v.scratch) < n {
		v.scratch = make([]byte, 0, max(n, len(v.d.fb.Pix)))
	}
	return v.scratch[:n]
}

// nextBatch copies the next batch of a lone viewer's full frame if the framebuffer has
// not changed since the last: the viewer's damage is then exactly the rects left, which
// it takes back. Otherwise the frame ends with the rects copied so far.
func (v *Viewer) nextBatch() {
	d := v.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.modSeq != v.copyMod {
		v.rects = v.rects[:v.copied]
		return
	}
	v.st.dmg.clear()
	v.copyBatchLocked(v.copied, 0)
}

// sendFrame encodes the taken frame in chunks of about chunkBytes (on the pool if
// there is one) and sends each, ending with FRAME.
func (v *Viewer) sendFrame(ctx context.Context) error {
	defer v.releaseFrame()
	oi, ri := 0, 0
	v.enc.noJPEG, v.sentLossy = v.lossless, false
	v.enc.shared = v.shared
	if v.standalone && v.first {
		v.enc.restartStream() // a key frame: a player may start here with a new inflater
	}
	v.lossless = false
	if v.bigPix && cap(v.out) <= smallBuffer { // shared, as bigPix is
		v.out = append(v.d.env.out.get(0, chunkBytes+chunkBytes/4), v.out...)
	}
	var spent time.Duration // encoding this frame
	encode := func() {
		start := time.Now()
		oi, ri = v.encodeChunk(oi, ri)
		v.enc.release() // the encoder's scratch goes back between chunks
		d := time.Since(start)
		spent += d
		v.stats.encodeNanos.Add(int64(d))
	}
	for {
		if p := v.d.opts.Pool; p != nil && v.encodes {
			// Only real encoding goes to the pool: copying cached bytes and COPY ops is
			// cheaper than the two goroutine switches of a pool job.
			if err := p.do(ctx, encode); err != nil {
				return err
			}
		} else {
			encode()
		}
		if ri == v.copied && ri < len(v.rects) {
			v.nextBatch() // a lone viewer's full frame: the next batch, or the end
			if ri < len(v.rects) && len(v.out) < chunkBytes {
				continue
			}
		}
		done := oi == len(v.ops) && ri == len(v.rects)
		if done {
			if v.sentLossy && v.d.opts.RefreshDelay > 0 {
				v.refresh.Reset(v.d.opts.RefreshDelay)
				v.refreshArm = true
			}
			id := v.sent.Load() + 1
			v.out = wire.Frame{ID: id}.Append(v.out)
			v.sent.Store(id) // before send: an ack may come back at once
		}
		c := v.enc.counts
		v.countsPtr.Store(&c)
		if done && v.onFrame != nil {
			v.onFrame(spent)
		}
		if err := v.flush(); err != nil {
			return err
		}
		if done {
			v.stats.frames.Add(1)
			return nil
		}
	}
}

// releaseFrame returns the frame's big buffers to the display's pools.
func (v *Viewer) releaseFrame() {
	if v.bigPix {
		v.d.env.pix.put(v.pix)
		v.bigPix = false
	}
	v.pix = nil
	if cap(v.out) > smallBuffer && v.shared {
		v.d.env.out.put(v.out)
		v.out = nil
	}
}

// encodeChunk appends ops from oi and regions from ri to v.out until it holds about
// chunkBytes, and returns where it stopped.
func (v *Viewer) encodeChunk(oi, ri int) (int, int) {
	for ; oi < len(v.ops); oi++ {
		o := v.ops[oi]
		if o.jpeg == nil {
			if v.lossy.any(o.dst.Sub(o.dst.Min).Add(o.src)) {
				v.lossy.mark(o.dst)
			} else {
				v.lossy.sentLossless(o.dst)
			}
			v.out = wire.Copy{X: o.dst.Min.X, Y: o.dst.Min.Y, W: o.dst.Dx(), H: o.dst.Dy(), SrcX: o.src.X, SrcY: o.src.Y}.Append(v.out)
			v.blank.unmark(o.dst)
			v.enc.counts.Copy++
			continue
		}
		if len(v.out) > 0 && len(v.out)+len(o.jpeg)+64 > wire.MaxServerMessage {
			return oi, ri
		}
		v.out = wire.Image{X: o.dst.Min.X, Y: o.dst.Min.Y, W: o.dst.Dx(), H: o.dst.Dy(), Encoding: wire.JPEG, Data: o.jpeg}.Append(v.out)
		v.enc.counts.Passthrough++
		v.lossy.sentLossless(o.dst) // the client now has what the framebuffer has
		v.blank.unmark(o.dst)
		v.ops[oi].jpeg = nil // let it go once sent
	}
	for ; ri < v.copied; ri++ {
		if len(v.out) >= chunkBytes {
			return oi, ri
		}
		r := v.rects[ri]
		var lossy bool
		switch {
		case !v.shared:
			v.out, lossy = v.enc.region(v.out, r, v.pix[v.offs[ri]:], r.Dx()*BytesPerPixel, 0)
		case v.hits[ri] != nil:
			v.out, lossy = v.enc.cached(v.out, v.hits[ri])
			v.hits[ri] = nil // let it go once sent
		default:
			v.out, lossy = v.enc.region(v.out, r, v.pix[v.offs[ri]:], r.Dx()*BytesPerPixel, v.vers[ri])
		}
		if lossy {
			v.lossy.mark(r)
			v.sentLossy = true
		} else {
			v.lossy.sentLossless(r)
		}
		v.blank.unmark(r)
	}
	return oi, ri
}

func (v *Viewer) flush() error {
	if len(v.out) == 0 {
		return nil
	}
	if err := v.send(v.out); err != nil {
		return fmt.Errorf("render: send: %w", err)
	}
	v.stats.bytes.Add(uint64(len(v.out)))
	v.stats.messages.Add(1)
	v.out = v.out[:0]
	return nil
}
