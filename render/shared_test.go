package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/render/wire"
)

func sumCounts(cs []*client) EncodeCounts {
	var sum EncodeCounts
	for _, c := range cs {
		sum.add(c.v.Stats().Counts)
	}
	return sum
}

// Many viewers of one display, fast, stalled and late-joining, all end with the
// framebuffer's exact picture, while sharing encoded regions.
func TestManyViewersConverge(t *testing.T) {
	pool := NewPool(2)
	defer pool.Close()
	d := NewDisplay(Options{TileSize: 16, Pool: pool, Passthrough: true, MaxInFlight: 1})
	defer d.Close()
	size := image.Pt(160, 96)
	d.Resize(size.X, size.Y)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cs []*client
	stalled := map[int]bool{}
	for i := range 50 {
		c := newClient(t, d)
		if i%10 == 3 {
			c.setStalled(true)
			stalled[i] = true
		}
		c.run(ctx)
		cs = append(cs, c)
	}
	r := newRandOps(21)
	r.noResize = true // a resize resets everyone: keep the viewers' damage comparable
	for i := range 1500 {
		r.step(t, d, &size)
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		if i == 700 { // late joiners: a full frame each, while the others get updates
			for range 5 {
				c := newClient(t, d)
				c.run(ctx)
				cs = append(cs, c)
			}
		}
	}
	d.EndFrame()
	for i, c := range cs {
		if stalled[i] {
			if st := c.v.Stats(); st.Frames > 1 {
				t.Errorf("stalled viewer %d was sent %d frames", i, st.Frames)
			}
			c.setStalled(false)
		}
		c.converge(d)
	}
	sum := sumCounts(cs)
	if sum.Shared == 0 || sum.SharedMiss == 0 {
		t.Errorf("counts %+v: the viewers did not share", sum)
	}
	cancel()
	for _, c := range cs {
		if err := <-c.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}
}

// textRound writes new text-like content into some tiles, different every round.
func textRound(d *Display, round int, size image.Point) {
	rng := rand.New(rand.NewPCG(uint64(round), 99))
	for k := range 6 {
		x, y := rng.IntN(size.X-40), rng.IntN(size.Y-20)
		pix := textTile(40, 20, rng)
		pix[0], pix[1] = byte(round), byte(k) // never the same twice
		d.SetPixels(image.Rect(x, y, x+40, y+20), pix, 40*4)
	}
	if round%3 == 0 { // and something many-coloured: ZRGB1
		pix := photoTile(30, 30, rng)
		pix[0] = byte(round)
		d.SetPixels(image.Rect(5, 5, 35, 35), pix, 30*4)
	}
	d.EndFrame()
}

// N viewers in step encode each region about once between them.
func TestSharedEncodesOnce(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("pool=%v", pooled), func(t *testing.T) {
			o := Options{TileSize: 32, MinFrameInterval: 0}
			if pooled {
				pool := NewPool(2) // far fewer workers than viewers: waits happen on workers
				defer pool.Close()
				o.Pool = pool
			}
			const n = 12
			d := NewDisplay(o)
			defer d.Close()
			size := image.Pt(320, 200)
			d.Resize(size.X, size.Y)
			d.EndFrame()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cs := runClients(ctx, t, d, n)
			for round := 1; round <= 20; round++ {
				textRound(d, round, size)
				for _, c := range cs {
					c.converge(d)
				}
			}
			sum := sumCounts(cs)
			regions := sum.Shared + sum.SharedMiss
			t.Logf("%d regions sent, %d encoded", regions, sum.SharedMiss)
			if sum.Shared == 0 || regions == 0 {
				t.Fatalf("counts %+v: nothing shared", sum)
			}
			if slack := regions / 20; sum.SharedMiss > regions/n+slack {
				t.Errorf("%d regions encoded for %d sent to %d viewers, want about %d (counts %+v)", sum.SharedMiss, regions, n, regions/n, sum)
			}
			for i, c := range cs {
				_, encs := c.seen()
				if slices.Contains(encs, wire.ZRGB) || slices.Contains(encs, wire.ZPalette) {
					t.Errorf("viewer %d: stream encodings %v with %d viewers", i, encs, n)
				}
				if !slices.Contains(encs, wire.ZPalette1) || !slices.Contains(encs, wire.ZRGB1) {
					t.Errorf("viewer %d: encodings %v, want ZPALETTE1 and ZRGB1", i, encs)
				}
			}
			cancel()
			for _, c := range cs {
				<-c.done
				// Shared from the first frame on: no viewer made a deflate stream.
				if c.v.enc.stream != nil {
					t.Error("a viewer that only ever shared holds a zlib stream")
				}
			}
		})
	}
}

// Two viewers share; when one leaves the other goes back to its own stream and
// still ends with the right picture.
func TestSharedBackToOneViewer(t *testing.T) {
	d := NewDisplay(Options{TileSize: 32, MinFrameInterval: 0})
	defer d.Close()
	size := image.Pt(200, 120)
	d.Resize(size.X, size.Y)
	d.EndFrame()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := newClient(t, d), newClient(t, d)
	a.run(ctx)
	b.run(ctx)
	for round := 1; round <= 3; round++ {
		textRound(d, round, size)
		a.converge(d)
		b.converge(d)
	}
	_, encs := a.seen()
	if !slices.Contains(encs, wire.ZPalette1) || slices.Contains(encs, wire.ZPalette) {
		t.Fatalf("two viewers: encodings %v", encs)
	}
	b.v.Close()
	if err := <-b.done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Run: %v", err)
	}
	if _, _, entries := d.env.cache.usage(); entries != 0 {
		t.Errorf("cache holds %d entries with one viewer", entries)
	}
	a.reset()
	for round := 4; round <= 8; round++ {
		textRound(d, round, size)
		a.converge(d)
	}
	_, encs = a.seen()
	if !slices.Contains(encs, wire.ZPalette) || slices.Contains(encs, wire.ZPalette1) || slices.Contains(encs, wire.ZRGB1) {
		t.Errorf("one viewer again: encodings %v, want the stream's", encs)
	}
	// And back to two: a late joiner shares with the one that kept its stream.
	c := newClient(t, d)
	c.run(ctx)
	c.converge(d)
	a.reset()
	textRound(d, 9, size)
	a.converge(d)
	c.converge(d)
	if _, encs = a.seen(); !slices.Contains(encs, wire.ZPalette1) {
		t.Errorf("two again: encodings %v", encs)
	}
}

// The cache's bytes stay under its limit whatever the content, and its map holds no
// more than its FIFO.
func TestCacheBounded(t *testing.T) {
	d := NewDisplay(Options{TileSize: 16, MinFrameInterval: 0})
	defer d.Close()
	size := image.Pt(256, 160)
	d.Resize(size.X, size.Y)
	d.EndFrame()
	// A small limit, so that random content overflows it many times.
	const limit = 64 << 10
	d.env.cache.reset(limit)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := []*client{newClient(t, d), newClient(t, d), newClient(t, d)}
	for _, c := range cs {
		c.run(ctx)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	maxBytes, maxEntries := 0, 0
	for i := range 300 {
		w, h := 1+rng.IntN(120), 1+rng.IntN(80)
		x, y := rng.IntN(size.X-w+1), rng.IntN(size.Y-h+1)
		pix := make([]byte, w*h*4)
		for j := range pix {
			pix[j] = byte(rng.Uint32())
		}
		d.SetPixels(image.Rect(x, y, x+w, y+h), pix, w*4)
		d.EndFrame()
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
		b, l, e := d.env.cache.usage()
		if l != limit {
			t.Fatalf("limit %d", l)
		}
		maxBytes, maxEntries = max(maxBytes, b), max(maxEntries, e)
	}
	for _, c := range cs {
		c.converge(d)
	}
	b, _, e := d.env.cache.usage()
	if maxBytes > limit || b > limit {
		t.Errorf("cache held %d bytes, limit %d", maxBytes, limit)
	}
	if maxBytes < limit/2 {
		t.Errorf("cache never filled (%d bytes): the bound was not exercised", maxBytes)
	}
	c := &d.env.cache
	c.mu.Lock()
	live := len(c.fifo) - c.head
	c.mu.Unlock()
	if e > live+len(cs) { // entries being encoded are not in the FIFO yet
		t.Errorf("%d map entries, %d in the FIFO", e, live)
	}
	if maxEntries > limit/entryOverhead+len(cs) {
		t.Errorf("%d entries", maxEntries)
	}
	// Resize empties it and sets the bound for the new size.
	d.Resize(1000, 1000)
	if b, l, e := d.env.cache.usage(); b != 0 || e != 0 || l != 2*1000*1000*4 {
		t.Errorf("after Resize: %d bytes, limit %d, %d entries", b, l, e)
	}
}

// Encoders missing the same region at once: one encodes, the others wait for it and
// send the same bytes.
func TestCacheConcurrentMiss(t *testing.T) {
	o := Options{TileSize: 64}.withDefaults()
	var env encodeEnv
	env.cache.init(4 << 20)
	rng := rand.New(rand.NewPCG(6, 6))
	const w, h = 192, 64
	// Text (ZPALETTE1), noise (ZRGB1), and a run split tile by tile: FILL, FILL, ZRGB1.
	split := make([]byte, w*h*4)
	noise := photoTile(64, h, rng)
	for y := range h {
		copy(split[(y*w+128)*4:][:64*4], noise[y*64*4:])
	}
	regions := [][]byte{textTile(w, h, rng), photoTile(w, h, rng), split}
	r := image.Rect(64, 0, 64+w, h)
	for round, pix := range regions {
		const n = 16
		outs := make([][]byte, n)
		encs := make([]*encoder, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			e := newEncoder(&o)
			e.env, e.shared = &env, true
			encs[i] = e
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				outs[i], _ = e.region(nil, r, pix, w*4, uint64(round+1)) // each round new pixels
				e.release()
			}()
		}
		close(start)
		wg.Wait()
		var misses, hits uint64
		for i, e := range encs {
			misses += e.counts.SharedMiss
			hits += e.counts.Shared
			if !bytes.Equal(outs[i], outs[0]) {
				t.Fatalf("round %d: encoder %d sent other bytes", round, i)
			}
			if e.counts.Fill+e.counts.ZPalette+e.counts.ZRGB == 0 {
				t.Errorf("round %d: encoder %d counted no encoding: %+v", round, i, e.counts)
			}
			if round == 2 && (e.counts.Fill != 2 || e.counts.ZRGB != 1) {
				t.Errorf("split run: encoder %d counted %+v, want 2 FILL and 1 ZRGB", i, e.counts)
			}
		}
		if misses != 1 || hits != n-1 {
			t.Errorf("round %d: %d misses, %d hits", round, misses, hits)
		}
		c := wire.NewCanvas()
		if err := c.Apply(wire.Resize{Width: 64 + w, Height: h}); err != nil {
			t.Fatal(err)
		}
		if err := wire.Decode(outs[0], c.Apply); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkRegion(t, c, r, pix, w*4, 0)
	}
	// An owner that gives up wakes its waiters, who then encode for themselves.
	k := cacheKey{r: image.Rect(0, 0, 1, 1)}
	ent, owner := env.cache.lookup(k)
	again, owner2 := env.cache.lookup(k)
	if !owner || owner2 || again != ent {
		t.Fatal("second lookup of a key being encoded is not a waiter")
	}
	env.cache.abandon(ent)
	<-again.ready
	if again.filled {
		t.Error("abandoned entry filled")
	}
	if _, owner := env.cache.lookup(k); !owner {
		t.Error("abandoned key still cached")
	}
}

// Idle viewers of a shared display hold no big buffers; a lone viewer keeps at most a
// screen's worth of scratch and its zlib stream, and no zlib writer otherwise.
func TestViewerMemory(t *testing.T) {
	d := NewDisplay(Options{TileSize: 64, MinFrameInterval: 0})
	defer d.Close()
	d.Resize(1024, 768) // 3 MiB of pixels: the first frame is far over smallBuffer
	rng := rand.New(rand.NewPCG(2, 3))
	pix := textTile(1024, 768, rng)
	d.SetPixels(image.Rect(0, 0, 1024, 768), pix, 1024*4)
	d.EndFrame()
	for _, n := range []int{1, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		cs := runClients(ctx, t, d, n)
		d.Fill(image.Rect(10, 10, 20, 20), color.RGBA{R: 9, A: 255}) // and a small frame
		d.EndFrame()
		for _, c := range cs {
			c.converge(d)
		}
		cancel()
		for _, c := range cs {
			<-c.done // Run has returned: its fields are ours to read
			v := c.v
			big := smallBuffer
			if n == 1 {
				// A screen's worth of scratch at most (of which the first frame's batches
				// are written), and a chunk of messages.
				big = len(d.fb.Pix)
			}
			if v.pix != nil || v.bigPix || cap(v.scratch) > big || cap(v.out) > big || v.enc.w != nil {
				t.Errorf("%d viewers: idle viewer holds pix %d, scratch %d, out %d bytes, work %v", n, cap(v.pix), cap(v.scratch), cap(v.out), v.enc.w != nil)
			}
			if alone := n == 1; (v.enc.stream != nil) != alone {
				t.Errorf("%d viewers: zlib stream %v", n, v.enc.stream != nil)
			}
		}
	}
}

// runClients starts n clients on d and waits until each has the framebuffer.
func runClients(ctx context.Context, t *testing.T, d *Display, n int) []*client {
	t.Helper()
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = newClient(t, d)
	}
	// All are viewers before any takes a frame: each takes its first as one of n.
	for _, c := range cs {
		c.run(ctx)
	}
	for _, c := range cs {
		c.converge(d)
	}
	return cs
}

// A standalone viewer (a recording's) beside one browser's: each keeps its own deflate
// stream (smaller than one-shot images), as if alone; both end on the display's picture.
func TestStandaloneBesideLone(t *testing.T) {
	d := NewDisplay(Options{TileSize: 32, MinFrameInterval: 0})
	defer d.Close()
	size := image.Pt(200, 120)
	d.Resize(size.X, size.Y)
	d.EndFrame()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newClient(t, d)
	s := &client{t: t, canvas: wire.NewCanvas(), done: make(chan error, 1)}
	s.v = d.NewViewerWith(s.send, ViewerOptions{Standalone: true})
	a.run(ctx)
	s.run(ctx)
	for round := 1; round <= 4; round++ {
		textRound(d, round, size)
		a.converge(d)
		s.converge(d)
	}
	if _, encs := a.seen(); !slices.Contains(encs, wire.ZPalette) || slices.Contains(encs, wire.ZPalette1) || slices.Contains(encs, wire.ZRGB1) {
		t.Errorf("the browser's viewer beside a standalone one: encodings %v, want its stream's", encs)
	}
	if _, encs := s.seen(); !slices.Contains(encs, wire.ZPalette) || slices.Contains(encs, wire.ZPalette1) || slices.Contains(encs, wire.ZRGB1) {
		t.Errorf("the standalone viewer: encodings %v, want its stream's", encs)
	}
}
