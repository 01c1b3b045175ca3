package recording

import (
	"bytes"
	"image"
	"image/color"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/racgate/racgate/render/wire"
)

// play draws From's records, rd, with a Player starting at k; toFrame: only up to the
// first record with its picture whole.
func play(t *testing.T, rd io.Reader, k Key, toFrame bool) *wire.Canvas {
	t.Helper()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPlayer(k)
	for {
		r, rest, ok := Next(b)
		if !ok {
			break
		}
		b = rest
		framed, err := p.Play(r)
		if err != nil {
			t.Fatal(err)
		}
		if framed && toFrame && !p.Waiting() {
			break
		}
	}
	return p.Canvas
}

// Key frames on a screen that changes in one small place are deltas over the last full
// key frame's picture, a fraction of its bytes; a screen that changed in most places, or
// changed size, gets a full one. A player that starts at any key frame, with From, shows
// the screen as the viewer's messages drew it, there and at the end; so does one that
// plays through the delta key frames.
func TestDeltaKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	W, H := 200, 120
	src := image.NewRGBA(image.Rect(0, 0, W, H))
	var vs viewerStream
	d, err := CreateDesktop(filepath.Join(t.TempDir(), "rec"), testMeta())
	if err != nil {
		t.Fatal(err)
	}
	d.tc.perKey = 400_000 // a delta of noise over half the screen is past half of it
	viewer := wire.NewCanvas()
	id := uint32(0)
	output := func(msg []byte) {
		t.Helper()
		if len(msg) > 0 && wire.Type(msg[0]) == wire.TypeResize {
			viewer.ResetStream()
		}
		if err := wire.Decode(msg, viewer.Apply); err != nil {
			t.Fatal(err)
		}
		if err := d.Output(msg); err != nil {
			t.Fatal(err)
		}
	}
	var pictures [][]byte // the screen at each key frame's FRAME
	key := func() {
		// As a viewer sends one: RESIZE and the top half, then the rest and FRAME.
		vs.restart()
		msg := wire.Resize{Width: W, Height: H}.Append(nil)
		output(vs.rgb(src, image.Rect(0, 0, W, H/2)).Append(msg))
		id++
		output(wire.Frame{ID: id}.Append(vs.rgb(src, image.Rect(0, H/2, W, H)).Append(nil)))
		pictures = append(pictures, bytes.Clone(viewer.Image().Pix))
	}
	change := func(r image.Rectangle) {
		text(rng, src, r)
		id++
		output(wire.Frame{ID: id}.Append(vs.rgb(src, r).Append(nil)))
	}
	clock := func() {
		for range 5 {
			change(image.Rect(150, 10, 180, 30))
		}
	}
	// The key frames, the clock changing between them: 0 full, the first; 1 and 2 deltas
	// over 0; 3 full, most of the screen having changed; 4 a delta over 3; 5 a delta
	// over 3 too, which the screen before it foretold, but whose own images have noise
	// over half the screen: deflated; 6 full, another size; 7 a delta over 6.
	text(rng, src, src.Rect)
	key()
	clock()
	key()
	clock()
	key()
	d.tcMu.Lock()
	workAfter2 := d.tc.work
	d.tcMu.Unlock()
	clock()
	change(src.Rect)
	key()
	clock()
	key()
	for y := range H / 2 {
		for x := range W {
			src.SetRGBA(x, y, color.RGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 255})
		}
	}
	key()
	d.tcMu.Lock()
	workAfter5 := d.tc.work
	d.tcMu.Unlock()
	W, H = 160, 100
	src = image.NewRGBA(image.Rect(0, 0, W, H))
	text(rng, src, src.Rect)
	key()
	change(image.Rect(10, 10, 20, 20))
	key()
	final := bytes.Clone(viewer.Image().Pix)
	if err := d.Close(""); err != nil {
		t.Fatal(err)
	}

	data, _ := os.ReadFile(d.Path())
	rec, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	wantDelta := []bool{false, true, true, false, true, true, false, true}
	wantBase := []int{-1, 0, 0, -1, 3, 3, -1, 6}
	if len(rec.Keys) != len(wantDelta) {
		t.Fatalf("%d key frames, want %d: %+v", len(rec.Keys), len(wantDelta), rec.Keys)
	}
	size := func(k Key) int { // the key record and those after it up to its FRAME
		b := data[k.Offset:]
		n := 0
		for {
			r, rest, _ := Next(b)
			n += len(b) - len(rest)
			b = rest
			if wire.Decode(r.Payload, func(m wire.Message) error {
				if _, ok := m.(wire.Frame); ok {
					return io.EOF
				}
				return nil
			}) != nil {
				return n
			}
		}
	}
	for i, k := range rec.Keys {
		if k.Delta != wantDelta[i] || (k.Delta && k.Base != rec.Keys[wantBase[i]].Offset) {
			t.Fatalf("key frame %d: %+v, want delta %v over key frame %d (%+v)", i, k, wantDelta[i], wantBase[i], rec.Keys)
		}
		pic := play(t, io.LimitReader(bytes.NewReader(data[k.Base:]), k.BaseEnd-k.Base), Key{}, true)
		if k.Delta && !bytes.Equal(pic.Image().Pix, pictures[wantBase[i]]) {
			t.Fatalf("key frame %d: its base's records draw another picture", i)
		}
		from, _ := rec.From(bytes.NewReader(data), k)
		if got := play(t, from, k, true); !bytes.Equal(got.Image().Pix, pictures[i]) {
			t.Fatalf("key frame %d (%+v): a player starting there shows another picture", i, k)
		}
		from, _ = rec.From(bytes.NewReader(data), k)
		if got := play(t, from, k, false); !bytes.Equal(got.Image().Pix, final) {
			t.Fatalf("key frame %d: a player starting there ends on another screen", i)
		}
		r, _, _ := Next(data[k.Offset:])
		got, deflated := encodings(r.Payload), !k.Delta || i == 5
		ok := got != 0 && got&^deflatedEncodings == 0
		if !deflated {
			ok = got == 1<<wire.Predict
		}
		if !ok {
			t.Fatalf("key frame %d: image encodings %b, want them deflated: %v", i, got, deflated)
		}
		if k.Delta && i != 5 && 4*size(k) > size(rec.Keys[wantBase[i]]) {
			t.Fatalf("key frame %d: a delta of %d bytes over a key frame of %d", i, size(k), size(rec.Keys[wantBase[i]]))
		}
	}
	// A delta's decoding work is its segment's first, unless it was deflated.
	if want := work(pictures[0], pictures[2], image.Rect(0, 0, 200, 120)); workAfter2 != want || want == 0 {
		t.Fatalf("after delta key frame 2, %d units of work, want %d", workAfter2, want)
	}
	if workAfter5 != 0 {
		t.Fatalf("after the deflated delta key frame 5, %d units of work, want none", workAfter5)
	}
}
