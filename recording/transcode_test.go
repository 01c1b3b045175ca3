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
	tc := newTranscoder(50_000) // half a screen a second
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
		out, err := tc.message(msg, key, at)
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
	if counts[wire.Predict] == 0 || counts[wire.ZRGB] == 0 || counts[wire.JPEG] != 0 {
		t.Errorf("images after key frames by encoding: %v; want PREDICT and ZRGB (over budget), no JPEG", counts)
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
	out, err := newTranscoder(0).message(msg, true, 0)
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
