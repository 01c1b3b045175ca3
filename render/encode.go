package render

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/jpeg"

	"github.com/racgate/racgate/render/wire"
)

// Encoding choices an encoder made, counted for tests and the benchmark.
type EncodeCounts struct {
	Fill, ZPalette, ZRGB, JPEG, Copy, Passthrough uint64
}

// encoder turns regions of pixels into IMAGE and FILL messages for one viewer. It owns
// the viewer's deflate stream (one per websocket, docs/protocol.md § IMAGE) and scratch
// buffers reused from region to region.
type encoder struct {
	opts   *Options
	zbuf   bytes.Buffer
	zw     *zlib.Writer
	raw    []byte // inflated ZRGB / ZPALETTE bytes
	idx    []uint8
	pal    paletteTable
	jbuf   bytes.Buffer
	counts EncodeCounts
	noJPEG bool // this frame is a lossless refresh
}

func newEncoder(o *Options) *encoder {
	e := &encoder{opts: o}
	zw, err := zlib.NewWriterLevel(&e.zbuf, o.ZlibLevel)
	if err != nil { // an invalid level: NewDisplay checked it, so this is a fallback
		zw = zlib.NewWriter(&e.zbuf)
	}
	e.zw = zw
	return e
}

// region appends the messages for r, whose pixels are pix (framebuffer layout,
// stride), and reports whether it chose a lossy encoding.
func (e *encoder) region(out []byte, r image.Rectangle, pix []byte, stride int) ([]byte, bool) {
	w, h := r.Dx(), r.Dy()
	if w <= 0 || h <= 0 {
		return out, false
	}
	if !e.opts.DisableFill {
		if c, ok := uniform(pix, w, h, stride); ok {
			e.counts.Fill++
			return wire.Fill{X: r.Min.X, Y: r.Min.Y, W: w, H: h, R: uint8(c), G: uint8(c >> 8), B: uint8(c >> 16)}.Append(out), false
		}
	}
	if !e.opts.DisablePalette {
		if n, ok := e.palette(pix, w, h, stride); ok {
			e.counts.ZPalette++
			return e.deflate(out, r, wire.ZPalette, e.packPalette(n, w, h)), false
		}
	}
	if e.opts.JPEGQuality > 0 && !e.noJPEG && w*h >= e.opts.JPEGMinPixels && photoLike(pix, w, h, stride) {
		e.counts.JPEG++
		return e.jpeg(out, r, pix, stride), true
	}
	if t := e.opts.TileSize; r.Min.X/t != (r.Max.X-1)/t && !(e.opts.DisablePalette && e.opts.DisableFill) {
		// A merged run of tiles with many colours: most of its tiles may still be
		// uniform or few-coloured (text beside an icon), so encode tile by tile.
		lossy := false
		for x := r.Min.X; x < r.Max.X; {
			next := min((x/t+1)*t, r.Max.X)
			var l bool
			out, l = e.region(out, image.Rect(x, r.Min.Y, next, r.Max.Y), pix[(x-r.Min.X)*BytesPerPixel:], stride)
			lossy = lossy || l
			x = next
		}
		return out, lossy
	}
	e.counts.ZRGB++
	raw := grow(e.raw, w*h*3)
	e.raw = raw
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

// deflate writes raw into the stream, sync-flushes and appends the IMAGE.
func (e *encoder) deflate(out []byte, r image.Rectangle, enc uint8, raw []byte) []byte {
	e.zbuf.Reset()
	e.zw.Write(raw) // writes to a bytes.Buffer do not fail
	e.zw.Flush()
	out = wire.AppendImageHeader(out, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), enc, e.zbuf.Len())
	return append(out, e.zbuf.Bytes()...)
}

func (e *encoder) jpeg(out []byte, r image.Rectangle, pix []byte, stride int) []byte {
	e.jbuf.Reset()
	// image/jpeg reads *image.RGBA's bytes directly and ignores the fourth byte.
	img := &image.RGBA{Pix: pix, Stride: stride, Rect: image.Rect(0, 0, r.Dx(), r.Dy())}
	if err := jpeg.Encode(&e.jbuf, img, &jpeg.Options{Quality: e.opts.JPEGQuality}); err != nil {
		return out // cannot happen with a bytes.Buffer and a valid image
	}
	out = wire.AppendImageHeader(out, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), wire.JPEG, e.jbuf.Len())
	return append(out, e.jbuf.Bytes()...)
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

// paletteTable is an open-addressing set of up to 256 colours. Its size is fixed and
// it is cleared per region, so counting colours allocates nothing.
type paletteTable struct {
	keys   [1024]uint32 // colour | 1<<24, 0 = free
	index  [1024]uint8
	colors [256]uint32
	n      int
}

func (t *paletteTable) reset() {
	clear(t.keys[:])
	t.n = 0
}

// lookup returns the colour's index, adding it; ok is false when a 257th colour arrives.
func (t *paletteTable) lookup(c uint32) (uint8, bool) {
	k := c | 1<<24
	h := (c * 0x9E3779B1) >> 22 // Fibonacci hashing to 10 bits
	for {
		switch t.keys[h] {
		case k:
			return t.index[h], true
		case 0:
			if t.n == 256 {
				return 0, false
			}
			t.keys[h], t.index[h] = k, uint8(t.n)
			t.colors[t.n] = c
			t.n++
			return uint8(t.n - 1), true
		}
		h = (h + 1) & 1023
	}
}

// palette indexes the region's pixels into e.idx if it has at most 256 colours.
// Runs of one colour (most of text and UI) skip the table.
func (e *encoder) palette(pix []byte, w, h, stride int) (int, bool) {
	e.pal.reset()
	idx := grow(e.idx, w*h)
	e.idx = idx
	prev, pi := uint32(1<<31), uint8(0)
	o := 0
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w*BytesPerPixel]
		for i := 0; i < len(row); i += BytesPerPixel {
			c := binary.LittleEndian.Uint32(row[i:]) & 0xffffff
			if c != prev {
				var ok bool
				if pi, ok = e.pal.lookup(c); !ok {
					return 0, false
				}
				prev = c
			}
			idx[o] = pi
			o++
		}
	}
	return e.pal.n, true
}

// packPalette lays out ZPALETTE's inflated bytes (§ IMAGE, 1 ZPALETTE): n−1, the
// colours, then rows of indices packed most significant bits first.
func (e *encoder) packPalette(n, w, h int) []byte {
	bits := wire.PaletteBits(n)
	stride := (w*bits + 7) / 8
	size := 1 + 3*n + stride*h
	raw := grow(e.raw, size)
	e.raw = raw
	raw[0] = byte(n - 1)
	for i := 0; i < n; i++ {
		c := e.pal.colors[i]
		raw[1+3*i], raw[2+3*i], raw[3+3*i] = byte(c), byte(c>>8), byte(c>>16)
	}
	body := raw[1+3*n:]
	if bits == 8 {
		copy(body, e.idx[:w*h])
		return raw
	}
	clear(body)
	for y := 0; y < h; y++ {
		src := e.idx[y*w : y*w+w]
		dst := body[y*stride : y*stride+stride]
		for x, k := range src {
			bit := x * bits // bits is 1, 2 or 4: shifts, no division
			dst[bit>>3] |= k << (8 - bits - bit&7)
		}
	}
	return raw
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
