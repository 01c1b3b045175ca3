package recording

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// viewerStream makes messages as a recording viewer sends them: images as pieces of one
// Huffman-only deflate stream, begun anew at each key frame.
type viewerStream struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

func (v *viewerStream) restart() {
	v.buf.Reset()
	v.zw, _ = zlib.NewWriterLevel(&v.buf, zlib.HuffmanOnly)
}

// rgb is an IMAGE ZRGB of img's r.
func (v *viewerStream) rgb(img *image.RGBA, r image.Rectangle) wire.Image {
	var layout []byte
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.Pix[img.PixOffset(x, y):]
			layout = append(layout, p[0], p[1], p[2])
		}
	}
	v.buf.Reset()
	v.zw.Write(layout)
	v.zw.Flush()
	return wire.Image{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Encoding: wire.ZRGB, Data: bytes.Clone(v.buf.Bytes())}
}

// recode is what tc.message makes of msg other than a delta record: the payload of the
// message's own record.
func recode(tc *transcoder, msg []byte, key bool, at time.Duration) ([]byte, error) {
	recs, err := tc.message(msg, key, at)
	var out []byte
	for _, r := range recs {
		if r.kind != KindDelta {
			out = append(out, r.payload...)
		}
	}
	return out, err
}

// text draws rows of random dark glyph-like marks on white into img's r.
func text(rng *rand.Rand, img *image.RGBA, r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBA{255, 255, 255, 255}
			if (x/6+y/13)%3 != 0 && rng.IntN(3) == 0 {
				c = color.RGBA{0, 0, 40, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
}

// The file's messages draw, on a player's canvas that starts anew at each key record,
// exactly what the viewer's drew: PREDICT where the budget allows, the file's own
// deflate stream otherwise (and always in key frames), and JPEG as the pixels Go
// decoded.
func TestTranscoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const W, H = 320, 200
	src := image.NewRGBA(image.Rect(0, 0, W, H))
	var vs viewerStream
	tc := newTranscoder(50_000, 1<<40) // half a screen a second
	viewer, player := wire.NewCanvas(), wire.NewCanvas()
	counts := map[uint8]int{}
	id := uint32(0)
	at := time.Duration(0)
	for i := range 40 {
		var msg []byte
		key := i%10 == 0
		switch {
		case key:
			vs.restart()
			text(rng, src, src.Rect)
			msg = wire.Resize{Width: W, Height: H}.Append(nil)
			for y := 0; y < H; y += 64 { // a key frame's tiles
				msg = vs.rgb(src, image.Rect(0, y, W, min(y+64, H))).Append(msg)
			}
		case i%10 == 5:
			// A JPEG, as a VNC server's Tight encoding passes them through.
			r := image.Rect(16, 16, 80, 64)
			var jb bytes.Buffer
			jpeg.Encode(&jb, src.SubImage(r), &jpeg.Options{Quality: 50})
			msg = wire.Image{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Encoding: wire.JPEG, Data: jb.Bytes()}.Append(nil)
		case i%10 == 7:
			msg = wire.Copy{X: 100, Y: 100, W: 50, H: 40, SrcX: 0, SrcY: 0}.Append(nil)
			msg = wire.Fill{X: 200, Y: 150, W: 30, H: 30, R: 9, G: 8, B: 7}.Append(msg)
		default:
			// Some lines of text change; a big change now and then outruns the budget.
			r := image.Rect(rng.IntN(W/2), rng.IntN(H/2), W, H)
			if i%10 != 9 {
				r.Max.Y = r.Min.Y + 13
			}
			text(rng, src, r)
			msg = vs.rgb(src, r).Append(nil)
		}
		id++
		msg = wire.Frame{ID: id}.Append(msg)
		at += 100 * time.Millisecond
		if i%10 == 9 {
			at += time.Millisecond // the budget is spent: no time to refill it
		}
		out, err := recode(tc, msg, key, at)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if key {
			viewer.ResetStream()
			player.ResetStream()
		}
		if err := wire.Decode(msg, viewer.Apply); err != nil {
			t.Fatal(err)
		}
		err = wire.Decode(out, func(m wire.Message) error {
			if im, ok := m.(wire.Image); ok {
				if key && im.Encoding == wire.Predict {
					t.Errorf("message %d: a key frame image predicted", i)
				}
				if !key {
					counts[im.Encoding]++
				}
			}
			return player.Apply(m)
		})
		if err != nil {
			t.Fatalf("message %d, played: %v", i, err)
		}
		if !bytes.Equal(viewer.Image().Pix, player.Image().Pix) {
			t.Fatalf("message %d: the player's screen differs from the viewer's", i)
		}
	}
	if counts[wire.Predict] == 0 || counts[wire.ZPalette] == 0 || counts[wire.JPEG] != 0 {
		t.Errorf("images after key frames by encoding: %v; want PREDICT and ZPALETTE (over budget), no JPEG", counts)
	}
}

// With no budget to predict, a JPEG is written as the pixels Go decoded: a browser's JPEG
// decoder may round differently, and the next images are predicted from this screen.
func TestTranscoderJPEG(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 64, 48))
	text(rand.New(rand.NewPCG(2, 2)), src, src.Rect)
	var jb bytes.Buffer
	jpeg.Encode(&jb, src, &jpeg.Options{Quality: 40})
	msg := wire.Resize{Width: 64, Height: 48}.Append(nil)
	msg = wire.Image{W: 64, H: 48, Encoding: wire.JPEG, Data: jb.Bytes()}.Append(msg)
	msg = wire.Frame{ID: 1}.Append(msg)
	out, err := recode(newTranscoder(0, 0), msg, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	viewer, player := wire.NewCanvas(), wire.NewCanvas()
	wire.Decode(msg, viewer.Apply)
	var encodings []uint8
	if err := wire.Decode(out, func(m wire.Message) error {
		if im, ok := m.(wire.Image); ok {
			encodings = append(encodings, im.Encoding)
		}
		return player.Apply(m)
	}); err != nil {
		t.Fatal(err)
	}
	if len(encodings) != 1 || encodings[0] != wire.ZRGB || !bytes.Equal(viewer.Image().Pix, player.Image().Pix) {
		t.Fatalf("a JPEG written as encodings %v; the screens equal: %v", encodings, bytes.Equal(viewer.Image().Pix, player.Image().Pix))
	}
}

// However much time there is, a segment (a key frame and what follows it, which a player
// seeking replays) has at most perKey units of decoding work predicted; an image that
// would go over is deflated, and the next key frame starts anew.
func TestTranscoderPerKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const W, H, perKey = 200, 120, 60_000
	src := image.NewRGBA(image.Rect(0, 0, W, H))
	var vs viewerStream
	tc := newTranscoder(1e9, perKey)
	at := time.Duration(0)
	for seg := range 3 {
		vs.restart()
		text(rng, src, src.Rect)
		msg := wire.Resize{Width: W, Height: H}.Append(nil)
		msg = wire.Frame{ID: 1}.Append(vs.rgb(src, src.Rect).Append(msg))
		if _, err := recode(tc, msg, true, at); err != nil {
			t.Fatal(err)
		}
		done, deflated := 0, 0
		for i := range 60 {
			at += 100 * time.Millisecond
			r := image.Rect(0, i%9*13, W, i%9*13+13)
			old := crop(nil, src, r)
			text(rng, src, r)
			w := work(old, crop(nil, src, r), r)
			out, err := recode(tc, wire.Frame{ID: uint32(i + 2)}.Append(vs.rgb(src, r).Append(nil)), false, at)
			if err != nil {
				t.Fatal(err)
			}
			switch encodings(out) {
			case 1 << wire.Predict:
				if done+w > perKey {
					t.Fatalf("segment %d image %d: predicted past the limit", seg, i)
				}
				done += w
			case 1 << wire.ZPalette:
				if done+w <= perKey {
					t.Fatalf("segment %d image %d: deflated with %d of %d units left", seg, i, perKey-done, perKey)
				}
				deflated++
			default:
				t.Fatalf("segment %d image %d: encodings %b", seg, i, encodings(out))
			}
		}
		if done > perKey || done < perKey/2 || deflated == 0 {
			t.Fatalf("segment %d: %d units predicted, %d images deflated; want at most %d and some deflated", seg, done, deflated, perKey)
		}
	}
}

// A key frame is due once the interval has passed and a quarter of its bytes has been
// deflated after it, or nine tenths of a segment's decoding work predicted (PREDICT data
// does not count as bytes); it is said once, and each key frame starts the count again.
func TestKeyDue(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const W, H = 200, 120
	const interval = 2 * time.Second
	src := image.NewRGBA(image.Rect(0, 0, W, H))
	var vs viewerStream
	at := time.Duration(0)
	key := func(tc *transcoder) int {
		vs.restart()
		text(rng, src, src.Rect)
		msg := wire.Resize{Width: W, Height: H}.Append(nil)
		msg = vs.rgb(src, src.Rect).Append(msg)
		// A key frame over two messages: its bytes are those of its records, or of its
		// delta record, the segment's start, if it is a delta.
		n, delta := 0, -1
		for i, m := range [][]byte{msg, wire.Frame{ID: 1}.Append(nil)} {
			recs, err := tc.message(m, i == 0, at)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				n += len(r.payload)
				if r.kind == KindDelta {
					delta = len(r.payload)
				}
			}
		}
		if tc.keyDue(at+time.Hour, interval) {
			t.Fatal("due right after a key frame")
		}
		if delta >= 0 {
			return delta
		}
		return n
	}
	// Deflated only (no time to predict): due at a quarter of the key frame's bytes, once
	// the interval has passed.
	tc := newTranscoder(0, 1<<40)
	for round := range 3 {
		start := at
		keyBytes := key(tc)
		since := 0
		for i := 0; ; i++ {
			fill := wire.Fill{X: i % W, Y: 3, W: 1, H: 1, R: byte(round)}.Append(nil)
			at += time.Millisecond
			out, err := recode(tc, fill, false, at)
			if err != nil {
				t.Fatal(err)
			}
			since += len(out)
			if tc.keyDue(start+interval-time.Millisecond, interval) {
				t.Fatalf("round %d: due before the interval", round)
			}
			if due := tc.keyDue(start+interval, interval); due != (4*since >= keyBytes) {
				t.Fatalf("round %d: %d bytes since a key frame of %d: due %v", round, since, keyBytes, due)
			} else if due {
				if tc.keyDue(start+interval, interval) {
					t.Fatalf("round %d: due twice for one key frame", round)
				}
				break
			}
		}
	}
	// Predicted: due at nine tenths of the work, however many bytes.
	const perKey = 200_000
	tc = newTranscoder(1e9, perKey)
	for round := range 3 {
		keyBytes := key(tc)
		done, bytes := 0, 0
		for i := 0; ; i++ {
			r := image.Rect(0, i%9*13, W, i%9*13+13)
			old := crop(nil, src, r)
			text(rng, src, r)
			w := work(old, crop(nil, src, r), r)
			at += 100 * time.Millisecond
			out, err := recode(tc, vs.rgb(src, r).Append(nil), false, at)
			if err != nil {
				t.Fatal(err)
			}
			if encodings(out) == 1<<wire.Predict {
				done += w
			}
			bytes += len(out)
			if due := tc.keyDue(at+interval, interval); due != (10*done >= 9*perKey) {
				t.Fatalf("round %d: %d units predicted: due %v", round, done, due)
			} else if due {
				if 4*bytes < keyBytes {
					t.Fatalf("round %d: the test wants more than a quarter of the key frame predicted: %d of %d bytes", round, bytes, keyBytes)
				}
				break
			}
		}
	}
}

// work is the decoding work of predicting r's change from old to pix, as the transcoder
// counts it: over the parts that changed.
func work(old, pix []byte, r image.Rectangle) int {
	n := 0
	for _, p := range changedParts(nil, old, pix, r) {
		n += decodeWork(old, pix, r, p)
	}
	return n
}

// encodings is a bit set of the encodings of msg's images.
// deflatedEncodings are encodings' bits of images in the file's deflate stream.
const deflatedEncodings = 1<<wire.ZRGB | 1<<wire.ZPalette

func encodings(msg []byte) int {
	set := 0
	wire.Decode(msg, func(m wire.Message) error {
		if im, ok := m.(wire.Image); ok {
			set |= 1 << im.Encoding
		}
		return nil
	})
	return set
}

// changedParts covers every changed pixel with rectangles trimmed to them, split only at
// splitGap or more unchanged columns, or rowGap or more unchanged rows.
func TestChangedParts(t *testing.T) {
	r := image.Rect(10, 20, 210, 40) // 200x20
	old := make([]byte, 200*20*4)
	if rowGap+3 > r.Dy() {
		t.Fatalf("rowGap %d: the test wants a taller rectangle", rowGap)
	}
	for _, tc := range []struct {
		name    string
		changed []image.Point // in r's coordinates
		want    []image.Rectangle
	}{
		{"nothing", nil, nil},
		{"one pixel", []image.Point{{5, 7}}, []image.Rectangle{image.Rect(15, 27, 16, 28)}},
		{"corners", []image.Point{{0, 0}, {199, 19}}, []image.Rectangle{image.Rect(10, 20, 11, 21), image.Rect(209, 39, 210, 40)}},
		{"a gap one short", []image.Point{{10, 3}, {10 + splitGap, 9}}, []image.Rectangle{image.Rect(20, 23, 21+splitGap, 30)}},
		{"a gap just enough", []image.Point{{10, 3}, {11 + splitGap, 9}}, []image.Rectangle{image.Rect(20, 23, 21, 24), image.Rect(21+splitGap, 29, 22+splitGap, 30)}},
		// Rows: split where rowGap rows between are unchanged, each piece trimmed to its
		// own columns.
		{"a row gap one short", []image.Point{{10, 1}, {20, 1 + rowGap}}, []image.Rectangle{image.Rect(20, 21, 31, 22+rowGap)}},
		{"a row gap just enough", []image.Point{{10, 1}, {20, 2 + rowGap}}, []image.Rectangle{image.Rect(20, 21, 21, 22), image.Rect(30, 22+rowGap, 31, 23+rowGap)}},
	} {
		pix := bytes.Clone(old)
		for _, p := range tc.changed {
			pix[(p.Y*200+p.X)*4+1] = 1 // green only: any channel counts
		}
		got := changedParts(nil, old, pix, r)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// A frame's tiles are coded together: changes near each other, across tiles, as few
// PREDICT images as their parts; changes far apart as images of their own; tiles that
// overlap as the last drew them; and past the budget the frame's messages as they came,
// FILLs and all. A player's screen is the viewer's after every message.
func TestTranscoderGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const W, H = 256, 128
	src := image.NewRGBA(image.Rect(0, 0, W, H))
	var vs viewerStream
	vs.restart()
	text(rng, src, src.Rect)
	tc := newTranscoder(1e9, 1<<40)
	viewer, player := wire.NewCanvas(), wire.NewCanvas()
	id := uint32(0)
	send := func(name string, msg []byte, key bool) []byte {
		t.Helper()
		id++
		msg = wire.Frame{ID: id}.Append(msg)
		out, err := recode(tc, msg, key, time.Duration(id)*100*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if key {
			viewer.ResetStream()
			player.ResetStream()
		}
		if err := wire.Decode(msg, viewer.Apply); err != nil {
			t.Fatal(err)
		}
		if err := wire.Decode(out, player.Apply); err != nil {
			t.Fatalf("%s, played: %v", name, err)
		}
		if !bytes.Equal(viewer.Image().Pix, player.Image().Pix) {
			t.Fatalf("%s: the player's screen differs from the viewer's", name)
		}
		return out
	}
	count := func(out []byte) (images, predicted, fills int) {
		wire.Decode(out, func(m wire.Message) error {
			switch m := m.(type) {
			case wire.Image:
				images++
				if m.Encoding == wire.Predict {
					predicted++
				}
			case wire.Fill:
				fills++
			}
			return nil
		})
		return
	}
	tiles := func(r image.Rectangle) []byte { // r's 16x16 tiles, as a viewer sends them
		var msg []byte
		for y := r.Min.Y; y < r.Max.Y; y += 16 {
			for x := r.Min.X; x < r.Max.X; x += 16 {
				msg = vs.rgb(src, image.Rect(x, y, x+16, y+16).Intersect(r)).Append(msg)
			}
		}
		return msg
	}
	send("key frame", append(wire.Resize{Width: W, Height: H}.Append(nil), tiles(src.Rect)...), true)

	// A line of text across eight tiles: one image.
	text(rng, src, image.Rect(8, 20, 120, 33))
	if images, predicted, _ := count(send("a line", tiles(image.Rect(0, 16, 128, 48)), false)); images != 1 || predicted != 1 {
		t.Fatalf("a line across 16 tiles: %d images, %d predicted; want one", images, predicted)
	}
	// Two marks far apart, in one message: two.
	text(rng, src, image.Rect(4, 100, 12, 110))
	text(rng, src, image.Rect(200, 4, 210, 12))
	msg := append(tiles(image.Rect(0, 96, 16, 112)), tiles(image.Rect(192, 0, 208, 16))...)
	if images, predicted, _ := count(send("two marks", msg, false)); images != 2 || predicted != 2 {
		t.Fatalf("two marks far apart: %d images, %d predicted; want two", images, predicted)
	}
	// Overlapping images, a FILL between: the last drawn shows.
	r := image.Rect(40, 60, 80, 90)
	msg = vs.rgb(src, r).Append(nil)
	msg = wire.Fill{X: 50, Y: 70, W: 10, H: 10, R: 200}.Append(msg)
	text(rng, src, r)
	msg = vs.rgb(src, image.Rect(40, 60, 60, 90)).Append(msg)
	send("overlapping", msg, false)
	// A cluster that fits, predicted; one past what is left of the budget then, coded
	// from the screen, and the budget is spent: the next, small as it is, too (one
	// colour: a FILL).
	tc.perKey = tc.work + 1000
	text(rng, src, image.Rect(200, 100, 202, 102))
	text(rng, src, image.Rect(0, 0, 64, 64))
	for y := 100; y < 104; y++ {
		for x := 100; x < 104; x++ {
			src.SetRGBA(x, y, color.RGBA{250, 1, 2, 255}) // a colour text never has: a change
		}
	}
	msg = append(tiles(image.Rect(192, 96, 208, 112)), tiles(image.Rect(0, 0, 64, 64))...)
	msg = append(msg, tiles(image.Rect(96, 96, 112, 112))...)
	if images, predicted, fills := count(send("a cluster past the budget", msg, false)); images != 2 || predicted != 1 || fills != 1 || tc.work != tc.perKey {
		t.Fatalf("a cluster past the budget: %d images, %d predicted, %d FILLs, %d of %d units; want the first predicted, the 16 tiles as one image and the last as a FILL, the budget spent",
			images, predicted, fills, tc.work, tc.perKey)
	}
	// More tiles than may be predicted now: those within the rate are, together; the
	// rest, side by side, are coded as one.
	tc.perKey, tc.rate = 1<<40, 1000
	text(rng, src, image.Rect(128, 64, 256, 80))
	tc.tokens = 1000 // three tiles
	if images, predicted, _ := count(send("past the rate", tiles(image.Rect(128, 64, 256, 80)), false)); predicted != 1 || images != 1+1 {
		t.Fatalf("8 tiles past the rate: %d images, %d predicted; want the first 3 predicted as one, 5 as one", images, predicted)
	}
	tc.rate = 1e9
	// Past the budget: coded from the screen, each row of tiles as one image, and the
	// FILL.
	tc.perKey = tc.work
	text(rng, src, image.Rect(0, 0, 64, 64))
	msg = wire.Fill{X: 100, Y: 100, W: 8, H: 8, G: 99}.Append(tiles(image.Rect(0, 0, 64, 64)))
	if images, predicted, fills := count(send("past the budget", msg, false)); images != 4 || predicted != 0 || fills != 1 {
		t.Fatalf("past the budget: %d images, %d predicted, %d FILLs; want the 4 rows of tiles and the FILL", images, predicted, fills)
	}
}

// FuzzTranscoder: whatever messages the viewer sends, re-coding them never panics, and
// when the transcoder takes them, a player that draws its records has the viewer's
// screen: after a key frame, then the message as a change, then as a key frame (a
// delta, where it changes little).
func FuzzTranscoder(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 11))
	src := image.NewRGBA(image.Rect(0, 0, 64, 48))
	text(rng, src, src.Rect)
	var vs viewerStream
	vs.restart()
	start := wire.Frame{ID: 1}.Append(vs.rgb(src, src.Rect).Append(wire.Resize{Width: 64, Height: 48}.Append(nil)))
	text(rng, src, image.Rect(3, 5, 40, 18))
	f.Add(wire.Frame{ID: 2}.Append(vs.rgb(src, image.Rect(0, 0, 32, 32)).Append(vs.rgb(src, image.Rect(32, 0, 64, 32)).Append(nil))))
	f.Add(wire.Fill{X: 60, Y: 40, W: 4, H: 8, R: 3}.Append(wire.Copy{X: 1, Y: 1, W: 8, H: 8, SrcX: 2, SrcY: 3}.Append(nil)))
	f.Add(wire.Frame{ID: 3}.Append(wire.Resize{Width: 8, Height: 8}.Append(nil)))
	// A transcoder's model and deflater are big to make; the key frame each run starts
	// with resets them.
	model := newTranscoder(1e9, 1<<40)
	f.Fuzz(func(t *testing.T, msg []byte) {
		tc := &transcoder{screen: wire.NewCanvas(), pred: model.pred, zw: model.zw, rate: 1e9, tokens: 1e9, perKey: 1 << 40}
		viewer, player := wire.NewCanvas(), wire.NewCanvas()
		viewer.MaxPixels, player.MaxPixels, tc.screen.MaxPixels = 1<<16, 1<<16, 1<<16
		key := wire.Frame{ID: 9}.Append(append(wire.Resize{Width: 64, Height: 48}.Append(nil), msg...))
		for i, m := range [][]byte{start, msg, key} {
			key := i != 1
			if key {
				viewer.ResetStream()
			}
			recs, err := tc.message(m, key, time.Duration(i)*time.Second)
			if err != nil {
				return
			}
			if wire.Decode(m, viewer.Apply) != nil {
				t.Fatalf("message %d: the transcoder took what the viewer's canvas refuses", i)
			}
			for _, r := range recs {
				if r.kind == KindDelta {
					continue // for a player that starts there (TestDeltaKeys)
				}
				if r.kind == KindKey {
					player.ResetStream()
				}
				if err := wire.Decode(r.payload, player.Apply); err != nil {
					t.Fatalf("message %d, played: %v", i, err)
				}
			}
			// A delta key frame's changes come with its FRAME.
			if !tc.inDelta && !bytes.Equal(viewer.Image().Pix, player.Image().Pix) {
				t.Fatalf("message %d: the player's screen differs from the viewer's", i)
			}
		}
	})
}

// Before the interval, from half of it, a key frame is due only once the budget is
// nearly spent and it would be a delta: a screen changed in most places waits for the
// interval.
func TestKeyDueDelta(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	const W, H, perKey = 200, 120, 60_000
	const interval = 2 * time.Second
	for _, whole := range []bool{false, true} {
		src := image.NewRGBA(image.Rect(0, 0, W, H))
		var vs viewerStream
		vs.restart()
		text(rng, src, src.Rect)
		tc := newTranscoder(1e9, perKey)
		msg := wire.Frame{ID: 1}.Append(vs.rgb(src, src.Rect).Append(wire.Resize{Width: W, Height: H}.Append(nil)))
		if _, err := recode(tc, msg, true, 0); err != nil {
			t.Fatal(err)
		}
		if whole { // most of the screen changes: no delta
			text(rng, src, image.Rect(0, 0, W, H*3/4))
			if _, err := recode(tc, wire.Frame{ID: 2}.Append(vs.rgb(src, image.Rect(0, 0, W, H*3/4)).Append(nil)), false, time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		tc.work = perKey // spent
		if tc.keyDue(interval/2-time.Millisecond, interval) {
			t.Fatalf("whole %v: due before half the interval", whole)
		}
		if due := tc.keyDue(interval/2, interval); due == whole {
			t.Fatalf("whole %v: due %v at half the interval, the budget spent", whole, due)
		}
		if !whole {
			continue
		}
		if !tc.keyDue(interval, interval) {
			t.Fatal("not due at the interval, the budget spent")
		}
	}
}
