package render

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"

	"github.com/klauspost/compress/zlib"

	"github.com/racgate/racgate/render/palette"
	"github.com/racgate/racgate/render/wire"
)

// Encoding choices an encoder made, counted for tests and the benchmark. A region taken
// from the display's cache counts as the encodings it holds, and as Shared.
type EncodeCounts struct {
	Fill, ZPalette, ZRGB, JPEG, Copy, Passthrough uint64
	// Shared counts regions taken from the display's cache of encoded regions (while it
	// has several viewers); SharedMiss counts regions this viewer encoded into it.
	Shared, SharedMiss uint64
}

func (c *EncodeCounts) add(d EncodeCounts) {
	c.Fill += d.Fill
	c.ZPalette += d.ZPalette
	c.ZRGB += d.ZRGB
	c.JPEG += d.JPEG
	c.Copy += d.Copy
	c.Passthrough += d.Passthrough
	c.Shared += d.Shared
	c.SharedMiss += d.SharedMiss
}

func (c EncodeCounts) sub(d EncodeCounts) EncodeCounts {
	return EncodeCounts{
		Fill: c.Fill - d.Fill, ZPalette: c.ZPalette - d.ZPalette, ZRGB: c.ZRGB - d.ZRGB,
		JPEG: c.JPEG - d.JPEG, Copy: c.Copy - d.Copy, Passthrough: c.Passthrough - d.Passthrough,
		Shared: c.Shared - d.Shared, SharedMiss: c.SharedMiss - d.SharedMiss,
	}
}

// encoder turns regions of pixels into IMAGE and FILL messages for one viewer. Alone on
// its display it writes ZRGB and ZPALETTE into the viewer's deflate stream (one per
// websocket, docs/protocol.md § IMAGE); with others (shared) it writes ZRGB1 and
// ZPALETTE1, one zlib stream per image, through the display's cache, so that a region
// is encoded once for all viewers.
type encoder struct {
	opts   *Options
	env    *encodeEnv   // the display's cache and pools; nil: standalone (tests)
	stream *zlib.Writer // the deflate stream, created on first use: most viewers never need it
	level  int          // the stream's deflate level
	sink   appendWriter // what stream appends to
	w      *work        // scratch, held while encoding a chunk
	counts EncodeCounts
	noJPEG bool // this frame is a lossless refresh
	shared bool // the display has several viewers: one-shot encodings through the cache
}

// work is the scratch that encoding a region needs. Viewers take one from the display's
// pool per chunk, so idle viewers hold none.
type work struct {
	raw     []byte // inflated ZRGB / ZPALETTE bytes
	idx     []uint8
	pal     palette.Table
	oneShot *zlib.Writer // reset for every ZRGB1 / ZPALETTE1; made on first use
	level   int
	sink    appendWriter // what oneShot and JPEG append to
}

func newWork(level int) *work { return &work{level: level} }

// oneShotWriter returns the one-shot writer, reset to append to wk.sink. A lone viewer
// never needs one, and a zlib writer's state is most of a megabyte.
func (wk *work) oneShotWriter() *zlib.Writer {
	if wk.oneShot == nil {
		zw, err := zlib.NewWriterLevel(&wk.sink, wk.level)
		if err != nil { // an invalid level: withDefaults checked it, so this is a fallback
			zw = zlib.NewWriter(&wk.sink)
		}
		wk.oneShot = zw
		return zw
	}
	wk.oneShot.Reset(&wk.sink)
	return wk.oneShot
}

// appendWriter is an io.Writer that appends to b, so that compressed data goes straight
// into the outgoing message.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func newEncoder(o *Options) *encoder { return &encoder{opts: o, level: o.ZlibLevel} }

// setLevel sets the stream's deflate level (an invalid one is the package default),
// before the stream's first use.
func (e *encoder) setLevel(level int) {
	if level < zlib.HuffmanOnly || level > zlib.BestCompression {
		level = zlib.BestSpeed
	}
	e.level = level
}

// restartStream makes the next ZRGB or ZPALETTE the first piece of a new zlib stream,
// which an inflater made there can read.
func (e *encoder) restartStream() {
	if e.stream != nil {
		e.stream.Reset(&e.sink)
	}
}

// work returns the scratch, taking it from the display's pool if there is one.
func (e *encoder) work() *work {
	if e.w == nil {
		if e.env != nil {
			e.w = e.env.getWork(e.opts.ZlibLevel)
		} else {
			e.w = newWork(e.opts.ZlibLevel)
		}
	}
	return e.w
}

// release gives the scratch back to the display's pool.
func (e *encoder) release() {
	if e.env != nil && e.w != nil {
		e.env.works.Put(e.w)
		e.w = nil
	}
}

// region appends the messages for r, whose pixels are pix (framebuffer layout,
// stride), and reports whether it chose a lossy encoding. Shared, it takes them from
// the display's cache under r's version ver, or encodes them into it.
func (e *encoder) region(out []byte, r image.Rectangle, pix []byte, stride int, ver uint64) ([]byte, bool) {
	if !e.shared || e.env == nil || r.Empty() {
		return e.encode(out, r, pix, stride)
	}
	c := &e.env.cache
	ent, owner := c.lookup(cacheKey{r: r, noJPEG: e.noJPEG && e.opts.JPEGQuality > 0, ver: ver})
	if !owner {
		// Another viewer has it or is encoding it now; an owner never waits while it
		// encodes, so this wait is at most one region's encoding, pool or not.
		<-ent.ready
		if ent.filled {
			return e.cached(out, ent)
		}
		return e.encode(out, r, pix, stride) // the owner gave up (it panicked)
	}
	filled := false
	defer func() {
		if !filled {
			c.abandon(ent) // waiters encode for themselves
		}
	}()
	start, before := len(out), e.counts
	out, lossy := e.encode(out, r, pix, stride)
	c.fill(ent, bytes.Clone(out[start:]), lossy, e.counts.sub(before))
	filled = true
	e.counts.SharedMiss++
	return out, lossy
}

// cached appends a filled cache entry's messages.
func (e *encoder) cached(out []byte, ent *cacheEntry) ([]byte, bool) {
	e.counts.add(ent.counts)
	e.counts.Shared++
	return append(out, ent.data...), ent.lossy
}

// encode appends the messages for r, choosing by content.
func (e *encoder) encode(out []byte, r image.Rectangle, pix []byte, stride int) ([]byte, bool) {
	w, h := r.Dx(), r.Dy()
	if w <= 0 || h <= 0 {
		return out, false
	}
	if !e.opts.DisableFill {
		if c, ok := uniform(pix, w, h, stride); ok {
			return e.fill(out, r, c), false
		}
	}
	wk := e.work()
	if !e.opts.DisablePalette {
		if n, ok := wk.palette(pix, w, h, stride); ok {
			e.counts.ZPalette++
			return e.deflate(out, r, wire.ZPalette, wk.packPalette(n, w, h)), false
		}
	}
	if e.opts.JPEGQuality > 0 && !e.noJPEG && w*h >= e.opts.JPEGMinPixels && photoLike(pix, w, h, stride) {
		e.counts.JPEG++
		return e.jpeg(out, r, pix, stride), true
	}
	if t := e.opts.TileSize; !(e.opts.DisablePalette && e.opts.DisableFill) {
		// A merged region with many colours: most of its tiles may still be uniform or
		// few-coloured (text beside an icon), so encode it row of tiles by row (as it was
		// stacked, damage.go), each row tile by tile.
		if r.Min.Y/t != (r.Max.Y-1)/t {
			return e.encodeParts(out, r, pix, stride, true)
		}
		if r.Min.X/t != (r.Max.X-1)/t {
			return e.encodeParts(out, r, pix, stride, false)
		}
	}
	e.counts.ZRGB++
	raw := grow(wk.raw, w*h*3)
	wk.raw = raw
	o := 0
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w*BytesPerPixel]
		for i := 0; i < len(row); i += BytesPerPixel {
			raw[o], raw[o+1], raw[o+2] = row[i], row[i+1], row[i+2]
			o += 3
		}
	}
	return e.deflate(out, r, wire.ZRGB, raw), false
}

// encodeParts encodes r cut at the tile grid: into rows of tiles, or into columns.
func (e *encoder) encodeParts(out []byte, r image.Rectangle, pix []byte, stride int, rows bool) ([]byte, bool) {
	t, lossy := e.opts.TileSize, false
	lo, hi := r.Min.X, r.Max.X
	if rows {
		lo, hi = r.Min.Y, r.Max.Y
	}
	for at := lo; at < hi; {
		next := min((at/t+1)*t, hi)
		part, off := image.Rect(at, r.Min.Y, next, r.Max.Y), (at-lo)*BytesPerPixel
		if rows {
			part, off = image.Rect(r.Min.X, at, r.Max.X, next), (at-lo)*stride
		}
		var l bool
		out, l = e.encode(out, part, pix[off:], stride)
		lossy = lossy || l
		at = next
	}
	return out, lossy
}

func (e *encoder) fill(out []byte, r image.Rectangle, c uint32) []byte {
	e.counts.Fill++
	return wire.Fill{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), R: uint8(c), G: uint8(c >> 8), B: uint8(c >> 16)}.Append(out)
}

// deflate appends an IMAGE of raw: enc (ZRGB or ZPALETTE) as the next sync-flushed piece
// of the viewer's stream, or shared, its one-shot twin (ZRGB1, ZPALETTE1).
func (e *encoder) deflate(out []byte, r image.Rectangle, enc uint8, raw []byte) []byte {
	start := len(out)
	if e.shared {
		enc += wire.ZRGB1 - wire.ZRGB // ZRGB → ZRGB1, ZPALETTE → ZPALETTE1
	}
	out = wire.AppendImageHeader(out, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), enc, 0)
	hdr := len(out) - start
	if e.shared {
		wk := e.work()
		wk.sink.b = out
		zw := wk.oneShotWriter()
		zw.Write(raw) // appends do not fail
		zw.Close()
		out, wk.sink.b = wk.sink.b, nil
	} else {
		e.sink.b = out
		e.streamWriter().Write(raw)
		e.stream.Flush()
		out, e.sink.b = e.sink.b, nil
	}
	return patchImageHeader(out, start, hdr, r, enc)
}

// patchImageHeader rewrites the IMAGE header of hdr bytes at start, written with no
// data, now that the data after it is known. Appending to out[start:start] writes in place.
func patchImageHeader(out []byte, start, hdr int, r image.Rectangle, enc uint8) []byte {
	wire.AppendImageHeader(out[start:start], r.Min.X, r.Min.Y, r.Dx(), r.Dy(), enc, len(out)-start-hdr)
	return out
}

func (e *encoder) streamWriter() *zlib.Writer {
	if e.stream == nil {
		zw, err := zlib.NewWriterLevel(&e.sink, e.level)
		if err != nil { // an invalid level: withDefaults checked it, so this is a fallback
			zw = zlib.NewWriter(&e.sink)
		}
		e.stream = zw
	}
	return e.stream
}

func (e *encoder) jpeg(out []byte, r image.Rectangle, pix []byte, stride int) []byte {
	wk := e.work()
	start := len(out)
	wk.sink.b = wire.AppendImageHeader(out, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), wire.JPEG, 0)
	hdr := len(wk.sink.b) - start
	// image/jpeg reads *image.RGBA's bytes directly and ignores the fourth byte.
	img := &image.RGBA{Pix: pix, Stride: stride, Rect: image.Rect(0, 0, r.Dx(), r.Dy())}
	err := jpeg.Encode(&wk.sink, img, &jpeg.Options{Quality: e.opts.JPEGQuality})
	out, wk.sink.b = wk.sink.b, nil
	if err != nil {
		return out[:start] // cannot happen with an appendWriter and a valid image
	}
	return patchImageHeader(out, start, hdr, r, wire.JPEG)
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, n+n/4)
	}
	return b[:n]
}

// px reads one pixel as R | G<<8 | B<<16.
func px(p []byte, i int) uint32 { return binary.LittleEndian.Uint32(p[i:]) & 0xffffff }

// uniform reports whether every pixel has one colour, stopping at the first that differs.
func uniform(pix []byte, w, h, stride int) (uint32, bool) {
	c := px(pix, 0)
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w*BytesPerPixel]
		for i := 0; i < len(row); i += BytesPerPixel {
			if binary.LittleEndian.Uint32(row[i:])&0xffffff != c {
				return 0, false
			}
		}
	}
	return c, true
}

// palette indexes the region's pixels into wk.idx if it has at most palette.Max
// colours, and returns how many.
func (wk *work) palette(pix []byte, w, h, stride int) (int, bool) {
	wk.pal.Reset()
	wk.idx = grow(wk.idx, w*h)
	ok := wk.pal.Index(wk.idx, pix, w, h, stride)
	return wk.pal.Len(), ok
}

// packPalette lays out ZPALETTE's inflated bytes (§ IMAGE, 1 ZPALETTE) of the indexed
// region: n−1, the colours, then rows of indices packed most significant bits first.
func (wk *work) packPalette(n, w, h int) []byte {
	wk.raw = palette.AppendRows(wk.pal.AppendHeader(wk.raw[:0]), wk.idx[:w*h], w, n)
	return wk.raw
}

// photoLike guesses whether lossy JPEG suits a region with many colours: in photos
// and video most pixels differ from their left neighbour; in text and UI most repeat
// it. It samples every fourth row.
func photoLike(pix []byte, w, h, stride int) bool {
	same, total := 0, 0
	for y := 0; y < h; y += 4 {
		row := pix[y*stride : y*stride+w*BytesPerPixel]
		for i := BytesPerPixel; i < len(row); i += BytesPerPixel {
			if binary.LittleEndian.Uint32(row[i:])&0xffffff == binary.LittleEndian.Uint32(row[i-BytesPerPixel:])&0xffffff {
				same++
			}
			total++
		}
	}
	return same*2 < total
}
