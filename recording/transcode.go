package recording

import (
	"bytes"
	"fmt"
	"image"
	"time"

	"github.com/klauspost/compress/zlib"
	"github.com/racgate/racgate/render/predict"
	"github.com/racgate/racgate/render/wire"
)

// Predicting costs tens of nanoseconds a pixel to encode, several times what deflate
// costs, and a web player takes longer still to decode it. So a recording predicts at
// most predictRate pixels a second (a second's worth in a burst), for racgate's CPU, and
// at most predictPerKey units of decoding work (decodeWork) after each key frame, for the
// player: seeking replays the last key frame before the time sought and everything after
// it, and this bounds the predicted part of that replay (50–100 ms in Chromium, warm; the
// rest is inflated, which is fast). An idle or typing desktop's every change is
// predicted, a busy one's first few; the rest is deflated (docs/recording.md § Size).
// Key frames are always deflated.
const (
	predictRate   = 500_000
	predictPerKey = 1_600_000
)

// transcoder re-codes the images of a recording viewer's messages for the file: it
// decodes them onto a screen (what a player will show) and writes each again, as
// PREDICT against that screen or as a piece of the file's own deflate stream at the
// best level. The viewer's own stream is cheap to make and to inflate (Huffman only);
// JPEG and PNG images are written losslessly from the pixels Go decoded, so that a
// player's screen is, pixel for pixel, the one images are predicted from.
type transcoder struct {
	screen *wire.Canvas
	pred   *predict.Encoder
	zw     *zlib.Writer
	zbuf   bytes.Buffer
	rate   float64 // pixels predicted a second, at most (and at most a second's in a burst)
	tokens float64 // pixels that may be predicted now
	perKey int     // decoding work predicted after a key frame, at most

	// Since the last key frame (keyDue): the work of its predicted images, the bytes of
	// the key frame, and the bytes written after it other than PREDICT data.
	work, keyBytes, since int
	keyAt                 time.Duration // when the last key frame began
	asked                 bool          // keyDue said yes since

	predicted int           // PREDICT data in the message being re-coded
	last      time.Duration // when tokens was last filled
	inKey     bool          // the messages are a key frame's, up to its FRAME

	old, pix []byte            // an image's rectangle before and after it
	parts    []image.Rectangle // the parts of it that changed
	part     []byte            // a part's new pixels
	out      []byte
}

func newTranscoder(rate float64, perKey int) *transcoder {
	zw, _ := zlib.NewWriterLevel(nil, zlib.BestCompression) // a valid level: no error
	return &transcoder{screen: wire.NewCanvas(), pred: predict.NewEncoder(), zw: zw, rate: rate, tokens: rate, perKey: perKey}
}

// message re-codes one websocket message recorded at; key: it begins a key frame. The
// result is valid until the next call.
func (t *transcoder) message(msg []byte, key bool, at time.Duration) ([]byte, error) {
	if key {
		// The file's streams start anew with the viewer's.
		t.screen.ResetStream()
		t.pred.Reset()
		t.zbuf.Reset()
		t.zw.Reset(&t.zbuf)
		t.inKey = true
		t.work, t.keyBytes, t.since = 0, 0, 0
		t.keyAt, t.asked = at, false
	}
	if at > t.last {
		t.tokens = min(t.tokens+(at-t.last).Seconds()*t.rate, t.rate)
		t.last = at
	}
	t.out = t.out[:0]
	t.predicted = 0
	inKey := t.inKey
	err := wire.Decode(msg, func(m wire.Message) error {
		switch m := m.(type) {
		case wire.Image:
			return t.image(m)
		case wire.Frame:
			t.inKey = false
		}
		if err := t.screen.Apply(m); err != nil {
			return err
		}
		if a, ok := m.(interface{ Append([]byte) []byte }); ok {
			t.out = a.Append(t.out)
			return nil
		}
		return fmt.Errorf("recording: cannot write a %T", m)
	})
	if err != nil {
		return nil, fmt.Errorf("recording: re-coding the viewer's images: %w", err)
	}
	if inKey {
		t.keyBytes += len(t.out)
	} else {
		t.since += len(t.out) - t.predicted
	}
	return t.out, nil
}

// keyDue reports, at now, whether a key frame is worth making, at most once per key
// frame (it is asked for then, and comes through the viewer a little later). Seeking
// replays the last key frame before the time sought and what was recorded after it; one
// is made once interval has passed since the last and either what was deflated since is
// a quarter of the key frame's bytes, or the predicted images since have nearly spent the
// segment's budget. Until then a key frame would cost more bytes than the replay it saves
// is worth: a still screen's recording holds its first key frame only, and an idle one's
// segments last as long as their budget.
func (t *transcoder) keyDue(now, interval time.Duration) bool {
	if t.asked || now-t.keyAt < interval {
		return false
	}
	t.asked = 4*t.since >= t.keyBytes || 10*t.work >= 9*t.perKey
	return t.asked
}

func (t *transcoder) image(m wire.Image) error {
	r := image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H)
	area := float64(m.W) * float64(m.H)
	predicting := !t.inKey && area <= t.tokens && t.work < t.perKey
	if predicting {
		t.old = crop(t.old[:0], t.screen.Image(), r)
	}
	if err := t.screen.Apply(m); err != nil {
		return err
	}
	img := t.screen.Image()
	if predicting {
		t.pix = crop(t.pix[:0], img, r)
		t.parts = changedParts(t.parts[:0], t.old, t.pix, r)
		work := 0
		for _, p := range t.parts {
			work += decodeWork(t.old, t.pix, r, p)
		}
		if predicting = t.work+work <= t.perKey; predicting {
			t.work += work
		}
	}
	if predicting {
		// Only the parts that changed are coded; the player's screen already has the
		// rest. The screen goes back to its old pixels, which Encode draws over.
		t.tokens -= area
		paste(img, r, t.old)
		for _, p := range t.parts {
			data, err := t.pred.Encode(nil, img, p, sub(&t.part, t.pix, r, p))
			if err != nil {
				return err
			}
			t.out = wire.Image{X: p.Min.X, Y: p.Min.Y, W: p.Dx(), H: p.Dy(), Encoding: wire.Predict, Data: data}.Append(t.out)
			t.predicted += len(data)
		}
		return nil
	}
	out := wire.Image{X: m.X, Y: m.Y, W: m.W, H: m.H, Encoding: m.Encoding}
	switch {
	case m.Encoding == wire.ZRGB || m.Encoding == wire.ZPalette:
		out.Data = t.deflate(t.screen.Layout())
	case m.Encoding == wire.ZRGB1 || m.Encoding == wire.ZPalette1:
		out.Data = m.Data // whole on its own
	default: // JPEG, PNG: the pixels decoded, as RGB
		t.pix = t.pix[:0]
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
			for i := 0; i < len(row); i += 4 {
				t.pix = append(t.pix, row[i], row[i+1], row[i+2])
			}
		}
		out.Encoding, out.Data = wire.ZRGB, t.deflate(t.pix)
	}
	t.out = out.Append(t.out)
	return nil
}

// splitGap is the fewest unchanged columns, across a rectangle, at which changedParts
// splits it: a split costs an IMAGE's header and a coder's last byte, about as many bytes
// as coding that many columns of a text line's unchanged pixels, and saves a player
// decoding them.
const splitGap = 48

// changedParts appends to dst rectangles, within r, that hold every pixel where pix
// differs from old (r's pixels after and before, RGBA rows packed): r less its unchanged
// rows and columns at the edges, split where splitGap or more columns between are
// unchanged. Nothing changed: none.
func changedParts(dst []image.Rectangle, old, pix []byte, r image.Rectangle) []image.Rectangle {
	w, h := r.Dx(), r.Dy()
	differs := func(x, y int) bool {
		i := (y*w + x) * 4
		return pix[i] != old[i] || pix[i+1] != old[i+1] || pix[i+2] != old[i+2]
	}
	colChanged := func(x int) bool {
		for y := range h {
			if differs(x, y) {
				return true
			}
		}
		return false
	}
	rowChanged := func(y, x0, x1 int) bool {
		for x := x0; x < x1; x++ {
			if differs(x, y) {
				return true
			}
		}
		return false
	}
	start, last := -1, -1 // the part being made: its first and last changed columns
	flush := func() {
		if start < 0 {
			return
		}
		top, bottom := 0, h
		for top < bottom && !rowChanged(top, start, last+1) {
			top++
		}
		for bottom > top && !rowChanged(bottom-1, start, last+1) {
			bottom--
		}
		dst = append(dst, image.Rect(r.Min.X+start, r.Min.Y+top, r.Min.X+last+1, r.Min.Y+bottom))
	}
	for x := range w {
		if !colChanged(x) {
			continue
		}
		if start >= 0 && x-last-1 >= splitGap {
			flush()
			start = -1
		}
		if start < 0 {
			start = x
		}
		last = x
	}
	flush()
	return dst
}

// sub returns p's pixels out of pix, r's pixels (RGBA rows packed), in *buf.
func sub(buf *[]byte, pix []byte, r, p image.Rectangle) []byte {
	b := (*buf)[:0]
	w := r.Dx() * 4
	for y := p.Min.Y; y < p.Max.Y; y++ {
		i := (y-r.Min.Y)*w + (p.Min.X-r.Min.X)*4
		b = append(b, pix[i:i+p.Dx()*4]...)
	}
	*buf = b
	return b
}

// decodeWork estimates what decoding p, a part of r, as PREDICT costs a player, in units
// of some tens of nanoseconds of Chromium's time (TestBrowserPlayerSeekPredicted): a
// pixel that kept its colour is mostly one sure question; one that took its left or
// upper neighbour's colour, a few mixed ones; any other, a literal besides. old and pix
// are r's pixels before and after (RGBA rows packed).
func decodeWork(old, pix []byte, r, p image.Rectangle) int {
	stride := r.Dx() * 4
	work := 0
	for y := p.Min.Y; y < p.Max.Y; y++ {
		row := (y-r.Min.Y)*stride + (p.Min.X-r.Min.X)*4
		for x := p.Min.X; x < p.Max.X; x++ {
			i := row + (x-p.Min.X)*4
			switch {
			case pix[i] == old[i] && pix[i+1] == old[i+1] && pix[i+2] == old[i+2]:
				work += workSame
			case x > p.Min.X && pix[i] == pix[i-4] && pix[i+1] == pix[i-3] && pix[i+2] == pix[i-2],
				y > p.Min.Y && pix[i] == pix[i-stride] && pix[i+1] == pix[i-stride+1] && pix[i+2] == pix[i-stride+2]:
				work += workNeighbour
			default:
				work += workOther
			}
		}
	}
	return work
}

// The weights of decodeWork.
const (
	workSame      = 1
	workNeighbour = 4
	workOther     = 36
)

// deflate writes b as the next piece of the file's stream, ending in a sync flush.
func (t *transcoder) deflate(b []byte) []byte {
	t.zbuf.Reset()
	t.zw.Write(b) // into a bytes.Buffer: no error
	t.zw.Flush()
	return t.zbuf.Bytes()
}

// crop appends r's pixels of img (RGBA rows packed) to dst.
func crop(dst []byte, img *image.RGBA, r image.Rectangle) []byte {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst = append(dst, img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]...)
	}
	return dst
}

// paste puts crop's pixels back.
func paste(img *image.RGBA, r image.Rectangle, pix []byte) {
	w := r.Dx() * 4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(img.Pix[img.PixOffset(r.Min.X, y):], pix[(y-r.Min.Y)*w:][:w])
	}
}
