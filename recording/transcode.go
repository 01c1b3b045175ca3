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
// Full key frames are always deflated; a delta key frame's work is its segment's first.
const (
	predictRate   = 500_000
	predictPerKey = 1_600_000
)

// transcoder re-codes the images of a recording viewer's messages for the file: it
// decodes them onto a screen (what a player will show) and writes what each frame
// changed again (changes.go), as PREDICT against that screen or, past the budget, as
// FILL, ZPALETTE or ZRGB of the screen's pixels (recode.go), each a piece of the file's
// own deflate stream at the best level; and it makes key frames whole or as deltas. The
// viewer's own stream is cheap to make and to inflate (Huffman only); JPEG and PNG
// images are written losslessly from the pixels Go decoded, so that a player's screen
// is, pixel for pixel, the one images are predicted from.
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
	inKey     bool          // the messages are a full key frame's, up to its FRAME
	inDelta   bool          // the messages are a delta key frame's, up to its FRAME

	// The picture of the last full key frame, which delta key frames are drawn over
	// (baseOK: there is one), RGBA rows packed.
	base   []byte
	baseOK bool

	// The group of drawing messages being taken (changes.go): each one's rectangle and
	// old pixels; whether its changes are to be predicted; a cluster of it.
	group    []change
	gOld     []byte
	gArea    float64 // its pixels, drawn
	inRun    bool    // drawing messages are coming one after another
	grouping bool
	members  []int
	drawn    []image.Rectangle // drawn in the run, to be coded from the screen at its end
	coder    coder             // codes them (recode.go)

	old, pix []byte            // a cluster's box before and after it
	parts    []image.Rectangle // the parts of it that changed
	part     []byte            // a part's new pixels
	keyMsgs  []byte            // a delta key frame's messages other than images, for its record
	prev     []byte            // the picture before a delta key frame, RGBA rows packed
	out      []byte
	delta    []byte
	recs     []record
}

func newTranscoder(rate float64, perKey int) *transcoder {
	zw, _ := zlib.NewWriterLevel(nil, zlib.BestCompression) // a valid level: no error
	return &transcoder{screen: wire.NewCanvas(), pred: predict.NewEncoder(), zw: zw, rate: rate, tokens: rate, perKey: perKey}
}

// message re-codes one websocket message recorded at; key: it begins a key frame (with
// RESIZE). It returns the records to write, none to two, valid until the next call: the
// message's (a key record if it begins a full key frame; none if it is left empty) and,
// after it, the delta record of a delta key frame ending in it.
//
// A key frame is a delta when the screen differs from the last full key frame's picture
// in a few places (deltaWorth): its images are then re-coded as any others, in the
// streams of the segment before, for a player that is playing; at its FRAME the delta
// record holds what differs from the base's picture, in streams of its own, for a player
// that starts there (docs/recording.md § Records); the streams start anew after it.
func (t *transcoder) message(msg []byte, key bool, at time.Duration) ([]record, error) {
	if key {
		t.screen.ResetStream() // the viewer's stream starts anew
		t.inKey, t.inDelta = false, false
	}
	if at > t.last {
		t.tokens = min(t.tokens+(at-t.last).Seconds()*t.rate, t.rate)
		t.last = at
	}
	t.out, t.delta = t.out[:0], nil
	t.predicted = 0
	first, keyMsg := key, t.inKey
	err := wire.Decode(msg, func(m wire.Message) error {
		begins := first
		first = false
		switch m := m.(type) {
		case wire.Image, wire.Fill, wire.Copy:
			if t.inDelta {
				return t.screen.Apply(m) // written at its FRAME, as what differs
			}
		}
		switch m := m.(type) {
		case wire.Image:
			if t.inKey {
				return t.keyImage(m)
			}
			return t.change(m)
		case wire.Fill:
			if !t.inKey {
				return t.change(m)
			}
		}
		if err := t.endRun(); err != nil {
			return err
		}
		switch m := m.(type) {
		case wire.Resize:
			switch {
			case begins && t.deltaWorth(m.Width, m.Height):
				// Drawn on the screen only; at its FRAME, what differs from the picture
				// before goes to the players that are playing, who keep that picture.
				t.inDelta = true
				t.prev = append(t.prev[:0], t.screen.Image().Pix...)
				t.keyMsgs = t.keyMsgs[:0]
				return t.screen.Apply(m)
			case begins:
				t.restart(at)
				t.inKey, keyMsg = true, true
			case t.inDelta:
				// Another size within the key frame (a viewer sends none): written from
				// here on, as if the key frame began here, but no key frame.
				t.inDelta = false
			}
			t.baseOK = false // until a full key frame's FRAME makes its picture the base
		case wire.Frame:
			switch {
			case t.inKey:
				t.base = append(t.base[:0], t.screen.Image().Pix...)
				t.baseOK = true
			case t.inDelta:
				t.inDelta = false
				err := t.keyChanges()
				t.prev = nil // 4 bytes a pixel, kept only while a delta key frame comes
				if err != nil {
					return err
				}
				if err := t.endDelta(m, at); err != nil {
					return err
				}
			}
			t.inKey = false
		case wire.Cursor:
			if t.inDelta {
				t.keyMsgs = m.Append(t.keyMsgs)
			}
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
	if err == nil {
		err = t.endRun()
	}
	t.trim()
	if err != nil {
		return nil, fmt.Errorf("recording: re-coding the viewer's messages: %w", err)
	}
	switch {
	case keyMsg:
		t.keyBytes += len(t.out)
	case t.delta == nil: // a delta's changes are its segment's, which it ended
		t.since += len(t.out) - t.predicted
	}
	t.recs = t.recs[:0]
	switch {
	case key && keyMsg:
		t.recs = append(t.recs, record{KindKey, t.out})
	case len(t.out) > 0:
		t.recs = append(t.recs, record{KindOutput, t.out})
	}
	if t.delta != nil {
		t.recs = append(t.recs, record{KindDelta, t.delta})
	}
	return t.recs, nil
}

// trim lets go of scratch buffers a big frame grew: a session's memory is what its
// frames usually need, not the most one ever did (a frame of changes over the budget
// keeps none).
func (t *transcoder) trim() {
	const keep = 1 << 20
	for _, b := range []*[]byte{&t.gOld, &t.old, &t.pix, &t.part} {
		if cap(*b) > keep {
			*b = nil
		}
	}
}

// record is a record message makes: its kind and payload.
type record struct {
	kind    byte
	payload []byte
}

// restart starts the file's streams anew for a key frame at at, and the segment's counts.
func (t *transcoder) restart(at time.Duration) {
	t.pred.Reset()
	t.zbuf.Reset()
	t.zw.Reset(&t.zbuf)
	t.work, t.keyBytes, t.since = 0, 0, 0
	t.keyAt, t.asked = at, false
}

// deltaWorth reports whether the key frame beginning with a RESIZE to w×h is better
// drawn over the last full key frame's picture than whole: the screen is still that
// size, and what differs from the picture is at most half of it and a quarter of a
// segment's decoding work. A seek into its segment then inflates the base's picture
// (fast), decodes the delta and the segment's changes: still within the budget. On a
// screen that changes in a few places (a clock, a status line) the delta is a fraction
// of a key frame's bytes.
func (t *transcoder) deltaWorth(w, h int) bool {
	img := t.screen.Image()
	r := img.Rect
	if !t.baseOK || r.Dx() != w || r.Dy() != h || len(t.base) != len(img.Pix) {
		return false
	}
	area, work := t.diff(t.base)
	return 2*area <= w*h && 4*work <= t.perKey
}

// keyChanges writes, for the players that are playing, what a delta key frame changed
// from the picture before it (prev), within the segment's budget.
func (t *transcoder) keyChanges() error {
	var err error
	t.out, _, err = t.codeDiff(t.out, t.prev, func(area, work int) bool {
		if float64(area) > t.tokens || t.work+work > t.perKey {
			return false
		}
		t.tokens -= float64(area)
		t.work += work
		return true
	})
	return err
}

// endDelta makes the delta record of a key frame ending with f at at: its CURSOR, what
// differs from the base's picture (as PREDICT within half a segment's budget, since the
// screen may have changed more since deltaWorth, else deflated) and f, in streams begun
// for it; the streams then begin again for the segment, whose budget the delta's
// decoding work starts.
func (t *transcoder) endDelta(f wire.Frame, at time.Duration) error {
	t.restart(at)
	d, work, err := t.codeDiff(t.keyMsgs, t.base, func(_, work int) bool { return 2*work <= t.perKey })
	if err != nil {
		return err
	}
	t.keyMsgs = f.Append(d)
	t.delta = t.keyMsgs
	t.restart(at)
	t.work, t.keyBytes = work, len(t.delta)
	return nil
}

// codeDiff appends to dst IMAGEs that bring a player's screen from ref (the screen's
// pixels as the player has them, RGBA rows packed) to the transcoder's: the parts that
// differ, as PREDICT if predict, told their area and decoding work, says so, else
// deflated. It returns dst and the work of what it predicted.
func (t *transcoder) codeDiff(dst, ref []byte, predict func(area, work int) bool) ([]byte, int, error) {
	img := t.screen.Image()
	area, work := t.diff(ref)
	if !predict(area, work) {
		return t.codeRects(dst, t.parts), 0, nil
	}
	// Encode draws each part over ref's pixels, as a player's screen has them (outside
	// the parts, the screen is ref), and leaves the screen as it was.
	t.pix = t.pix[:0]
	for _, p := range t.parts {
		t.pix = crop(t.pix, img, p)
	}
	off := 0
	for _, p := range t.parts {
		n := p.Dx() * p.Dy() * 4
		pasteFrom(img, p, ref)
		data, err := t.pred.Encode(nil, img, p, t.pix[off:off+n])
		if err != nil {
			return nil, 0, err
		}
		off += n
		t.predicted += len(data)
		dst = wire.Image{X: p.Min.X, Y: p.Min.Y, W: p.Dx(), H: p.Dy(), Encoding: wire.Predict, Data: data}.Append(dst)
	}
	return dst, work, nil
}

// diff sets t.parts to the parts of the screen that differ from ref (the whole screen's
// pixels, RGBA rows packed) and returns their area and decoding work.
func (t *transcoder) diff(ref []byte) (area, work int) {
	img := t.screen.Image()
	t.parts = changedParts(t.parts[:0], ref, img.Pix, img.Rect)
	return cost(ref, img.Pix, img.Rect, t.parts)
}

// keyDue reports, at now, whether a key frame is worth making, at most once per key
// frame (it is asked for then, and comes through the viewer a little later). Seeking
// replays the last key frame before the time sought and what was recorded after it; one
// is made once interval has passed since the last and either what was deflated since is
// a quarter of the key frame's bytes, or the predicted images since have nearly spent the
// segment's budget. Until then a key frame would cost more bytes than the replay it saves
// is worth: a still screen's recording holds its first key frame only, and an idle one's
// segments last as long as their budget. A delta key frame, a fraction of a full one's
// bytes, may come from half the interval on, once the budget is nearly spent: the
// segment's changes would be deflated until the interval (docs/recording.md).
func (t *transcoder) keyDue(now, interval time.Duration) bool {
	since := now - t.keyAt
	if t.asked || since < interval/2 {
		return false
	}
	spent := 10*t.work >= 9*t.perKey
	if since < interval {
		r := t.screen.Image().Rect
		t.asked = spent && t.deltaWorth(r.Dx(), r.Dy())
	} else {
		t.asked = 4*t.since >= t.keyBytes || spent
	}
	return t.asked
}

// keyImage draws m, an image of a full key frame, to be coded from the screen at the
// run's end (recode.go).
func (t *transcoder) keyImage(m wire.Image) error {
	if err := t.screen.Apply(m); err != nil {
		return err
	}
	if r := image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H); !r.Empty() {
		t.drawn = append(t.drawn, r)
	}
	return nil
}
