package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/render/wire"
)

func startDisplay(t *testing.T, o Options, w, h int) (*Display, *client, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := NewDisplay(o)
	d.Resize(w, h)
	d.EndFrame()
	c := newClient(t, d)
	c.run(ctx)
	t.Cleanup(func() { cancel(); d.Close() })
	// The first frame: RESIZE, CURSOR, a full picture.
	waitFor(t, "first frame", func() bool { return c.v.Stats().Frames == 1 })
	return d, c, cancel
}

func imagesAfter(c *client, fn func()) ([]wire.Type, []uint8) {
	c.reset()
	n := c.v.Stats().Frames
	fn()
	waitFor(c.t, "a frame", func() bool { return c.v.Stats().Frames > n })
	return c.seen()
}

func TestFirstFrame(t *testing.T) {
	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(130, 70)
	d.Fill(image.Rect(0, 0, 130, 70), color.RGBA{1, 2, 3, 255})
	d.EndFrame()
	c := newClient(t, d)
	c.run(context.Background())
	waitFor(t, "first frame", func() bool { return c.v.Stats().Frames == 1 })
	types, _ := c.seen()
	if types[0] != wire.TypeResize || types[1] != wire.TypeCursor || types[len(types)-1] != wire.TypeFrame {
		t.Fatalf("first frame %v", types)
	}
	// Uniform everywhere: only FILLs between CURSOR and FRAME.
	for _, ty := range types[2 : len(types)-1] {
		if ty != wire.TypeFill {
			t.Fatalf("uniform picture sent as %v", types)
		}
	}
	c.converge(d)
}

func TestEncodingChoice(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 256, 128)
	tile := image.Rect(64, 64, 128, 128)
	pix := make([]byte, 64*64*4)
	set := func(f func(x, y int) (r, g, b uint8)) {
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				o := (y*64 + x) * 4
				pix[o], pix[o+1], pix[o+2] = f(x, y)
			}
		}
		d.SetPixels(tile, pix, 64*4)
		d.EndFrame()
	}
	check := func(name string, wantType wire.Type, wantEnc int, fn func()) {
		t.Helper()
		types, encs := imagesAfter(c, fn)
		if !slices.Contains(types, wantType) {
			t.Errorf("%s: sent %v, want a %v", name, types, wantType)
		}
		if wantEnc >= 0 && !slices.Equal(encs, []uint8{uint8(wantEnc)}) {
			t.Errorf("%s: image encodings %v, want [%d]", name, encs, wantEnc)
		}
		if wantType == wire.TypeFill && len(encs) != 0 {
			t.Errorf("%s: images %v", name, encs)
		}
		c.converge(d)
	}
	check("uniform", wire.TypeFill, -1, func() { set(func(x, y int) (uint8, uint8, uint8) { return 9, 8, 7 }) })
	check("two colours", wire.TypeImage, wire.ZPalette, func() {
		set(func(x, y int) (uint8, uint8, uint8) {
			if (x/3+y/5)%2 == 0 {
				return 255, 255, 255
			}
			return 0, 0, 0
		})
	})
	check("200 colours", wire.TypeImage, wire.ZPalette, func() {
		set(func(x, y int) (uint8, uint8, uint8) { return uint8((x * y) % 200), 1, uint8((x * y) % 200) })
	})
	rng := rand.New(rand.NewPCG(1, 2))
	check("noise", wire.TypeImage, wire.ZRGB, func() {
		set(func(x, y int) (uint8, uint8, uint8) {
			return uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
		})
	})
	check("scroll", wire.TypeCopy, -1, func() {
		d.Copy(image.Rect(0, 0, 256, 112), image.Pt(0, 16))
		d.EndFrame()
	})
	types, _ := c.seen()
	if slices.Contains(types, wire.TypeImage) {
		t.Errorf("scroll of an in-sync viewer sent pixels: %v", types)
	}
}

// A terminal scrolling line by line between two frames: the frame carries one COPY by
// all the lines, and only the new lines as pixels.
func TestScrollComposesCopies(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 256, 160)
	rng := rand.New(rand.NewPCG(5, 6))
	line := func(y int) { // a line of "text": two colours, different every line
		pix := make([]byte, 256*10*4)
		for i := 0; i < len(pix); i += 4 {
			if rng.IntN(3) == 0 {
				pix[i], pix[i+1], pix[i+2] = 255, 255, 255
			}
		}
		d.SetPixels(image.Rect(0, y, 256, y+10), pix, 256*4)
	}
	for y := 0; y < 150; y += 10 {
		line(y)
	}
	d.Fill(image.Rect(0, 150, 256, 160), color.RGBA{0, 0, 200, 255}) // a status line, not scrolled
	d.EndFrame()
	c.converge(d)
	types, _ := imagesAfter(c, func() {
		for range 8 {
			d.Copy(image.Rect(0, 0, 256, 140), image.Pt(0, 10))
			line(140)
		}
		d.EndFrame()
	})
	if n := count(types, wire.TypeCopy); n != 1 {
		t.Errorf("8 scrolled lines: %d COPY messages, want 1 (%v)", n, types)
	}
	c.converge(d)
	c.mu.Lock()
	img := c.canvas.Image()
	c.mu.Unlock()
	if got := img.RGBAAt(5, 155); got != (color.RGBA{0, 0, 200, 255}) {
		t.Errorf("status line %v after the scroll", got)
	}
}

func count[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestJPEGForPhotos(t *testing.T) {
	d, c, _ := startDisplay(t, Options{JPEGQuality: 85}, 256, 128)
	rng := rand.New(rand.NewPCG(3, 4))
	pix := make([]byte, 128*128*4)
	for i := range pix {
		pix[i] = uint8(100 + rng.IntN(60)) // photo-like: most pixels differ, smoothly
	}
	_, encs := imagesAfter(c, func() {
		d.SetPixels(image.Rect(0, 0, 128, 128), pix, 128*4)
		d.EndFrame()
	})
	if len(encs) == 0 || !slices.Contains(encs, wire.JPEG) {
		t.Fatalf("encodings %v, want JPEG", encs)
	}
	// Lossy, but close: mean absolute error per channel.
	waitFor(t, "drawn", func() bool { return c.v.Stats().InFlight == 0 })
	fb := d.Snapshot()
	c.mu.Lock()
	img := c.canvas.Image()
	sum := 0
	for y := 0; y < 128; y++ {
		for x := 0; x < 128; x++ {
			for k := 0; k < 3; k++ {
				sum += abs(int(img.Pix[img.PixOffset(x, y)+k]) - int(fb.Pix[y*fb.Stride+x*4+k]))
			}
		}
	}
	c.mu.Unlock()
	if mean := float64(sum) / (128 * 128 * 3); mean > 20 {
		t.Errorf("JPEG mean error %.1f", mean)
	}
	// Once no more lossy regions come, the lossy area is sent again losslessly.
	c.converge(d)
	if _, encs := c.seen(); slices.Contains(encs[len(encs)-1:], wire.JPEG) {
		t.Errorf("refresh sent as JPEG: %v", encs)
	}
	// Text-like content with many colours stays lossless.
	for i := 0; i < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2] = uint8(i>>9), uint8(i>>10), uint8(i>>11)
	}
	_, encs = imagesAfter(c, func() {
		d.SetPixels(image.Rect(0, 0, 128, 128), pix, 128*4)
		d.EndFrame()
	})
	if slices.Contains(encs, wire.JPEG) {
		t.Errorf("runs of equal pixels sent as JPEG: %v", encs)
	}
	c.converge(d)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestPassthroughJPEG(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 64, 64)
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	data := b.Bytes()
	orig := bytes.Clone(data)
	n := c.v.Stats().Frames
	if err := d.DrawJPEG(image.Rect(10, 20, 34, 36), data); err != nil {
		t.Fatal(err)
	}
	clear(data) // the caller may reuse data after DrawJPEG returns
	d.EndFrame()
	waitFor(t, "frame", func() bool { return c.v.Stats().Frames > n })
	if st := c.v.Stats(); st.Counts.Passthrough != 1 {
		t.Fatalf("counts %+v", st.Counts)
	}
	c.mu.Lock()
	if len(c.jpegs) != 1 || !bytes.Equal(c.jpegs[0], orig) {
		t.Errorf("passthrough sent %d JPEGs, not the original bytes", len(c.jpegs))
	}
	c.mu.Unlock()
	// Go's decoder on both sides: the client's picture is exactly the framebuffer.
	c.converge(d)
	if err := d.DrawJPEG(image.Rect(0, 0, 10, 10), orig); err == nil {
		t.Error("JPEG of the wrong size accepted")
	}
}

func TestCursorWithoutFrame(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 32, 32)
	c.reset()
	img := image.NewRGBA(image.Rect(0, 0, 300, 2)) // wider than maxCursor: cropped
	img.Pix[0], img.Pix[3] = 200, 255
	d.SetCursor(img, image.Pt(1, 1))
	waitFor(t, "cursor", func() bool { ty, _ := c.seen(); return slices.Contains(ty, wire.TypeCursor) })
	c.mu.Lock()
	cur, hot := c.canvas.CursorImg, c.canvas.CursorHot
	c.mu.Unlock()
	if cur == nil || cur.Rect.Dx() != maxCursor || cur.Rect.Dy() != 2 || cur.Pix[0] != 200 || hot != image.Pt(1, 1) {
		t.Fatalf("cursor %v hot %v", cur.Rect, hot)
	}
	if s := d.Snapshot(); s.Cursor == nil || s.Cursor.Pix[0] != 200 {
		t.Fatal("snapshot cursor")
	}
	d.SetCursor(nil, image.Point{})
	waitFor(t, "hidden cursor", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.canvas.CursorImg == nil })
}

func TestResize(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 32, 32)
	d.Fill(image.Rect(0, 0, 10, 10), color.RGBA{R: 255})
	d.Resize(300, 40)
	d.Fill(image.Rect(100, 10, 300, 40), color.RGBA{G: 255})
	d.EndFrame()
	waitFor(t, "resize", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.canvas.Image().Rect.Dx() == 300 })
	c.converge(d)
}

func TestNoEmptyFrames(t *testing.T) {
	for _, interval := range []time.Duration{0, DefaultMinFrameInterval} {
		t.Run(fmt.Sprint("interval=", interval), func(t *testing.T) {
			o := DefaultOptions()
			o.MinFrameInterval = interval
			d, c, _ := startDisplay(t, o, 32, 32)
			// Each EndFrame without a change, once the viewer has taken it (what it
			// took was nothing), then a change; twice.
			for round := range 2 {
				for range 5 {
					d.EndFrame()
					waitFor(t, "the viewer to take the empty frame", func() bool {
						d.mu.Lock()
						defer d.mu.Unlock()
						return c.v.seenSeq == d.frameSeq
					})
				}
				d.Fill(image.Rect(round, round, round+1, round+1), color.RGBA{B: 9, G: uint8(round)})
				d.EndFrame()
				// Frames go out in order: once the change is drawn, every frame the
				// empty EndFrames before it could have caused has been received.
				c.converge(d)
			}
			types, _ := c.seen()
			drew, frames := false, 0
			for i, ty := range types {
				switch ty {
				case wire.TypeResize, wire.TypeFill, wire.TypeCopy, wire.TypeImage:
					drew = true
				case wire.TypeFrame:
					frames++
					if !drew {
						t.Fatalf("message %d: a FRAME with nothing drawn since the last (%v)", i, types)
					}
					drew = false
				}
			}
			if frames != 3 {
				t.Errorf("%d frames for the first picture and two changes, want 3", frames)
			}
		})
	}
}

// A viewer that never acknowledges keeps bounded state while the display changes a lot.
func TestStalledViewerBounded(t *testing.T) {
	o := Options{TileSize: 32, MaxPendingOps: 16, MaxPendingBytes: 64 << 10, Passthrough: true}
	d := NewDisplay(o)
	defer d.Close()
	d.Resize(320, 200)
	d.EndFrame()
	c := newClient(t, d)
	c.setStalled(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.run(ctx)
	waitFor(t, "first frames", func() bool { return c.v.Stats().Frames >= 1 })
	r := newRandOps(99)
	r.noResize = true // a resize would make everything damage: no ops to bound
	size := image.Pt(320, 200)
	maxOps, maxBytes := 0, 0
	for i := 0; i < 10000; i++ {
		r.step(t, d, &size)
		if i%100 == 0 {
			st := c.v.Stats()
			maxOps, maxBytes = max(maxOps, st.PendingOps), max(maxBytes, st.PendingBytes)
		}
	}
	d.EndFrame()
	d.mu.Lock()
	v := c.v
	tiles := len(v.st.dmg.boxes)
	wantTiles := ((d.fb.Width + 31) / 32) * ((d.fb.Height + 31) / 32)
	opsCap := cap(v.st.ops)
	d.mu.Unlock()
	st := c.v.Stats()
	if maxOps > o.MaxPendingOps || maxBytes > o.MaxPendingBytes || opsCap > 2*o.MaxPendingOps {
		t.Errorf("pending ops %d (cap %d), bytes %d over the limits", maxOps, opsCap, maxBytes)
	}
	if maxOps == 0 {
		t.Error("the stalled viewer never held an op: the bound was not exercised")
	}
	if tiles != wantTiles {
		t.Errorf("damage holds %d tiles, framebuffer has %d", tiles, wantTiles)
	}
	if st.Frames > 2 || st.Bytes > 2<<20 {
		t.Errorf("stalled viewer sent %d frames, %d bytes", st.Frames, st.Bytes)
	}
	if st.Collapsed == 0 {
		t.Error("no ops collapsed into damage in 10000 updates")
	}
	c.setStalled(false)
	c.converge(d)
}

// A send that blocks must not block the protocol client's Sink calls.
func TestSlowSendDoesNotBlockSink(t *testing.T) {
	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(200, 100)
	d.EndFrame()
	c := newClient(t, d)
	c.gate = make(chan struct{})
	c.inSend = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.run(ctx)
	<-c.inSend // Run is now blocked in send
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := newRandOps(5)
		size := image.Pt(200, 100)
		for i := 0; i < 500; i++ {
			r.step(t, d, &size)
		}
		d.EndFrame()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Sink calls blocked by a stalled send")
	}
	// Another viewer still gets everything.
	other := newClient(t, d)
	other.run(ctx)
	other.converge(d)
	close(c.gate) // unblock the slow one: it catches up
	c.converge(d)
}

func TestConcurrentViewers(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	d := NewDisplay(Options{TileSize: 32, Pool: pool, Passthrough: true})
	defer d.Close()
	d.Resize(160, 120)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cs []*client
	for i := 0; i < 4; i++ {
		c := newClient(t, d)
		c.run(ctx)
		cs = append(cs, c)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := newRandOps(11)
		size := image.Pt(160, 120)
		for i := 0; i < 2000; i++ {
			r.step(t, d, &size)
		}
		d.EndFrame()
	}()
	// Viewers join and leave while it runs; stats are read concurrently.
	for i := 0; i < 5; i++ {
		c := newClient(t, d)
		cctx, ccancel := context.WithCancel(ctx)
		c.run(cctx)
		_ = c.v.Stats()
		if i%3 == 0 {
			// Leave once joined (its first frame is out), not only before that.
			waitFor(t, "a joining viewer's first frame", func() bool { return c.v.Stats().Frames >= 1 })
		}
		if i%2 == 0 {
			ccancel()
		} else {
			c.v.Close()
		}
		if err := <-c.done; !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
			t.Errorf("Run: %v", err)
		}
		ccancel()
		_ = d.Snapshot()
	}
	wg.Wait()
	for _, c := range cs {
		c.converge(d)
	}
	d.Close()
	for _, c := range cs {
		if err := <-c.done; !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Display.Close: %v", err)
		}
	}
	d.mu.Lock()
	n := len(d.viewers)
	d.mu.Unlock()
	if n != 0 {
		t.Errorf("%d viewers left registered", n)
	}
}

func TestSendErrorEndsRun(t *testing.T) {
	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(10, 10)
	d.EndFrame()
	boom := errors.New("boom")
	v := d.NewViewer(func([]byte) error { return boom })
	if err := v.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run: %v", err)
	}
}

func TestAckIgnoresBogusIDs(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 10, 10)
	c.v.Ack(1000) // never sent
	c.v.Ack(0)
	if st := c.v.Stats(); st.InFlight < 0 || st.InFlight > 2 {
		t.Fatalf("in flight %d", st.InFlight)
	}
	d.Fill(image.Rect(0, 0, 3, 3), color.RGBA{R: 1})
	d.EndFrame()
	c.converge(d)
}

func TestPassthroughOff(t *testing.T) {
	d, c, _ := startDisplay(t, Options{}, 64, 64)
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	_, encs := imagesAfter(c, func() {
		if err := d.DrawJPEG(image.Rect(0, 0, 16, 16), b.Bytes()); err != nil {
			t.Fatal(err)
		}
		d.EndFrame()
	})
	if slices.Contains(encs, wire.JPEG) {
		t.Errorf("JPEG forwarded with Passthrough off: %v", encs)
	}
	c.converge(d)
}

// A frame bigger than a websocket message is split; every message stays within the limit
// (the client checks) and the picture is whole.
func TestLargeFrameChunked(t *testing.T) {
	d, c, _ := startDisplay(t, DefaultOptions(), 1200, 900)
	rng := rand.New(rand.NewPCG(8, 9))
	pix := make([]byte, 1200*900*4)
	for i := range pix {
		pix[i] = uint8(rng.Uint32())
	}
	before := c.v.Stats()
	d.SetPixels(image.Rect(0, 0, 1200, 900), pix, 1600*4)
	d.EndFrame()
	c.converge(d)
	after := c.v.Stats()
	if after.Frames != before.Frames+1 || after.Messages-before.Messages < 3 {
		t.Errorf("frames %d→%d, messages %d→%d", before.Frames, after.Frames, before.Messages, after.Messages)
	}
}

// Every FRAME closes a picture the display had at an EndFrame, never a half-drawn one.
func TestFramesAreConsistent(t *testing.T) {
	d := NewDisplay(Options{TileSize: 16})
	defer d.Close()
	d.Resize(64, 64)
	d.EndFrame()
	var torn, frames int
	var mu sync.Mutex
	canvas := wire.NewCanvas()
	var v *Viewer
	v = d.NewViewer(func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return wire.Decode(b, func(m wire.Message) error {
			if f, ok := m.(wire.Frame); ok {
				img := canvas.Image()
				if img.RGBAAt(0, 0) != img.RGBAAt(63, 63) {
					torn++
				}
				frames++
				v.Ack(f.ID)
			}
			return canvas.Apply(m)
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	for i := 0; i < 3000; i++ {
		c := color.RGBA{uint8(i), uint8(i >> 8), 0, 255}
		d.Fill(image.Rect(0, 0, 64, 32), c)
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // give the viewer room to take mid-frame
		}
		d.Fill(image.Rect(0, 32, 64, 64), c)
		d.EndFrame()
	}
	waitFor(t, "last frame", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return canvas.Image().RGBAAt(0, 63) == color.RGBA{uint8(2999 & 255), uint8(2999 >> 8), 0, 255}
	})
	mu.Lock()
	defer mu.Unlock()
	if torn > 0 {
		t.Errorf("%d of %d frames showed a half-drawn picture", torn, frames)
	}
}

// A burst of display frames 1 ms apart is sent as about one frame per MinFrameInterval,
// and the last picture still arrives.
func TestMinFrameIntervalMerges(t *testing.T) {
	const interval = 20 * time.Millisecond
	d, c, _ := startDisplay(t, Options{TileSize: 16, MinFrameInterval: interval}, 64, 64)
	before := c.v.Stats()
	start := time.Now()
	for i := range 100 {
		d.Fill(image.Rect(i%64, 0, i%64+1, 64), color.RGBA{uint8(i), uint8(i * 7), 1, 255})
		d.EndFrame()
		time.Sleep(time.Millisecond)
	}
	c.converge(d)
	elapsed := time.Since(start)
	after := c.v.Stats()
	frames := after.Frames - before.Frames
	// One frame at once (leading edge), then at most one per interval.
	if bound := uint64(elapsed/interval) + 2; frames > bound {
		t.Errorf("%d frames in %v with MinFrameInterval %v, want at most %d", frames, elapsed, interval, bound)
	}
	if frames == 0 || after.Merged == before.Merged {
		t.Errorf("frames %d, merged %d→%d: the burst was not merged", frames, before.Merged, after.Merged)
	}
}

// The first change after a quiet period goes out without waiting for MinFrameInterval;
// one that follows it at once waits.
func TestMinFrameIntervalLeadingEdge(t *testing.T) {
	const interval = 200 * time.Millisecond // long, so that "did not wait" is unambiguous
	d := NewDisplay(Options{MinFrameInterval: interval})
	defer d.Close()
	d.Resize(32, 32)
	d.EndFrame()
	var (
		mu     sync.Mutex
		frames []time.Time
	)
	var v *Viewer
	v = d.NewViewer(func(b []byte) error {
		return wire.Decode(b, func(m wire.Message) error {
			if f, ok := m.(wire.Frame); ok {
				mu.Lock()
				frames = append(frames, time.Now())
				mu.Unlock()
				v.Ack(f.ID)
			}
			return nil
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(frames) }
	frameAt := func(i int) time.Time { mu.Lock(); defer mu.Unlock(); return frames[i] }
	waitFor(t, "first frame", func() bool { return count() == 1 })
	for round := range 3 {
		time.Sleep(interval + interval/2) // quiet
		n := count()
		end := time.Now()
		d.Fill(image.Rect(0, 0, 32, 32), color.RGBA{uint8(round), 2, 3, 255})
		d.EndFrame()
		waitFor(t, "leading frame", func() bool { return count() > n })
		if lag := frameAt(n).Sub(end); lag >= interval/2 {
			t.Fatalf("round %d: first frame after quiet sent %v after EndFrame; it must not wait MinFrameInterval (%v)", round, lag, interval)
		}
		// A change right behind it is held back until the interval has passed.
		d.Fill(image.Rect(0, 0, 8, 8), color.RGBA{uint8(round), 9, 9, 255})
		d.EndFrame()
		waitFor(t, "trailing frame", func() bool { return count() > n+1 })
		if gap := frameAt(n + 1).Sub(frameAt(n)); gap < interval*3/4 {
			t.Fatalf("round %d: second frame %v after the first, want about %v", round, gap, interval)
		}
	}
}

// A lone viewer copies a full frame out in batches (Display.blankCopy) rather than the
// whole screen at once. With the framebuffer unchanged between batches, the first FRAME
// has the whole screen. When it changes between them (here a COPY whose source is not
// copied yet), the first FRAME holds what was copied, as it was when the frame was
// taken, and nothing else; the next frame completes the picture. A standalone viewer
// (a recording's) takes its first frame whole, change or not: a player starting at a key
// frame shows all of it.
func TestFirstFrameInBatches(t *testing.T) {
	for _, tc := range []struct{ change, standalone bool }{{false, false}, {true, false}, {true, true}} {
		change := tc.change
		t.Run(fmt.Sprintf("change=%v,standalone=%v", change, tc.standalone), func(t *testing.T) {
			pool := NewPool(1)
			defer pool.Close()
			d := NewDisplay(Options{TileSize: 16, Pool: pool, MinFrameInterval: 0})
			defer d.Close()
			d.blankCopy = 64 * 16 * BytesPerPixel // a row of tiles per batch
			d.Resize(64, 64)
			band := func(i int) image.Rectangle { return image.Rect(0, 16*i, 64, 16*i+16) }
			for i := range 4 {
				d.Fill(band(i), color.RGBA{R: uint8(50*i + 20), G: 7, B: 9, A: 255})
			}
			d.EndFrame()
			taken := d.Snapshot()

			// The pool's worker is busy until release: the viewer takes its frame and
			// waits to encode the first batch, while the test changes the screen.
			release, busy := make(chan struct{}), make(chan struct{})
			go pool.do(context.Background(), func() { close(busy); <-release })
			<-busy
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := &client{t: t, canvas: wire.NewCanvas(), done: make(chan error, 1)}
			c.v = d.NewViewerWith(c.send, ViewerOptions{Standalone: tc.standalone})
			c.run(ctx)
			waitFor(t, "first batch copied", func() bool {
				d.mu.Lock()
				defer d.mu.Unlock()
				return c.v.copied >= 1
			})
			if change {
				d.Copy(band(0), band(3).Min) // the last band over the first
				d.EndFrame()
			}
			close(release)
			c.converge(d)

			c.mu.Lock()
			first, frames := c.first, len(c.frames)
			c.mu.Unlock()
			for i := range 4 {
				r := band(i)
				want := taken.Pix[r.Min.Y*taken.Stride:][:3]
				got := first.Pix[first.PixOffset(r.Min.X, r.Min.Y):][:3]
				if sent := i == 0 || !change || tc.standalone; sent != bytes.Equal(got, want) {
					t.Errorf("band %d at the first FRAME: %v, taken %v (sent %v)", i, got, want, sent)
				}
			}
			if change && frames < 2 {
				t.Errorf("%d frames: the screen changed, the rest needs a second", frames)
			}
			if !change && frames != 1 {
				t.Errorf("%d frames for an unchanged screen", frames)
			}
		})
	}
}

// TestViewerMinFrameInterval: a viewer's own MinFrameInterval paces it apart from the
// display's other viewers: it takes a few frames where its neighbour takes one per
// display frame, damage merging meanwhile, and both end on the same picture.
func TestViewerMinFrameInterval(t *testing.T) {
	d := NewDisplay(Options{TileSize: 32, MinFrameInterval: 0})
	defer d.Close()
	d.Resize(64, 64)
	fast := newClient(t, d)
	slow := &client{t: t, canvas: wire.NewCanvas(), done: make(chan error, 1)}
	slow.v = d.NewViewerWith(slow.send, ViewerOptions{MinFrameInterval: 150 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fast.run(ctx)
	slow.run(ctx)
	start := time.Now()
	for n := range 60 {
		d.Fill(image.Rect(n, 0, n+1, 64), color.RGBA{uint8(4 * n), 80, 160, 255})
		d.EndFrame()
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	fast.converge(d)
	slow.converge(d)
	nf, ns := fast.v.Stats().Frames, slow.v.Stats().Frames
	if most := uint64(elapsed/(150*time.Millisecond)) + 3; ns > most {
		t.Errorf("the paced viewer took %d frames in %v, want at most %d", ns, elapsed, most)
	}
	if nf < 3*ns {
		t.Errorf("the unpaced viewer took %d frames, the paced one %d", nf, ns)
	}
}

// TestOnFrameBeforeFrameSent: OnFrame runs before the message holding FRAME is sent,
// for a one-message frame and for one sent in chunks, so that whatever a client does on
// receiving the frame (the next key press, for racgate_input_to_frame_seconds) comes
// after it.
func TestOnFrameBeforeFrameSent(t *testing.T) {
	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(1200, 900)
	d.EndFrame()
	var mu sync.Mutex
	calls, frames, early := 0, 0, 0
	var v *Viewer
	v = d.NewViewerWith(func(msg []byte) error {
		n := 0
		wire.Decode(msg, func(m wire.Message) error {
			if _, ok := m.(wire.Frame); ok {
				n++
			}
			return nil
		})
		mu.Lock()
		frames += n
		if n > 0 && calls < frames {
			early++ // a FRAME out before its OnFrame
		}
		mu.Unlock()
		for range n {
			v.Ack(uint32(frames))
		}
		return nil
	}, ViewerOptions{OnFrame: func(time.Duration) { mu.Lock(); calls++; mu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	rng := rand.New(rand.NewPCG(3, 4))
	pix := make([]byte, 1200*900*4)
	for i := range pix {
		pix[i] = uint8(rng.Uint32())
	}
	for i := range 4 {
		d.SetPixels(image.Rect(0, 0, 1200, 900/(1+i*3)), pix, 1200*4) // the first a screen of noise: chunks
		d.EndFrame()
		waitFor(t, "a frame", func() bool { return v.Stats().Frames >= uint64(i+2) })
	}
	mu.Lock()
	defer mu.Unlock()
	if early != 0 || calls != frames || frames < 5 {
		t.Fatalf("%d frames, %d OnFrame calls, %d FRAMEs sent before their call", frames, calls, early)
	}
}
