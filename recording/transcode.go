package recording

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"time"

	"github.com/racgate/racgate/render/predict"
	"github.com/racgate/racgate/render/wire"
)

// Predicting costs tens of nanoseconds a pixel, about ten times what deflate costs, so a
// recording predicts at most predictRate pixels a second (a second's worth in a burst):
// an idle or typing desktop's every change, a busy one's first few, and a screen that
// churns mostly deflated (docs/recording.md § Size). Key frames are always deflated: a
// player seeking replays them, and inflating is what is fast.
const predictRate = 500_000

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
	rate   float64       // pixels predicted a second, at most (and at most a second's in a burst)
	tokens float64       // pixels that may be predicted now
	last   time.Duration // when tokens was last filled
	inKey  bool          // the messages are a key frame's, up to its FRAME
	old    []byte        // an image's rectangle before it
	pix    []byte        // its new pixels
	out    []byte
}

func newTranscoder(rate float64) *transcoder {
	zw, _ := zlib.NewWriterLevel(nil, zlib.BestCompression) // a valid level: no error
	return &transcoder{screen: wire.NewCanvas(), pred: predict.NewEncoder(), zw: zw, rate: rate, tokens: rate}
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
	}
	t.tokens = min(t.tokens+(at-t.last).Seconds()*t.rate, t.rate)
	t.last = at
	t.out = t.out[:0]
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
	return t.out, nil
}

func (t *transcoder) image(m wire.Image) error {
	r := image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H)
	area := float64(m.W) * float64(m.H)
	predicting := !t.inKey && area <= t.tokens
	if predicting {
		t.old = crop(t.old[:0], t.screen.Image(), r)
	}
	if err := t.screen.Apply(m); err != nil {
		return err
	}
	img := t.screen.Image()
	out := wire.Image{X: m.X, Y: m.Y, W: m.W, H: m.H, Encoding: m.Encoding}
	switch {
	case predicting:
		t.tokens -= area
		t.pix = crop(t.pix[:0], img, r)
		paste(img, r, t.old)
		data, err := t.pred.Encode(nil, img, r, t.pix)
		if err != nil {
			return err
		}
		out.Encoding, out.Data = wire.Predict, data
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
