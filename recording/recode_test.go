package recording

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/racgate/racgate/render/wire"
)

// codeRects draws what the screen has in the rectangles, joining neighbours that make a
// rectangle while one palette holds them (or none would), a rectangle of many colours in
// columns, one colour as a FILL; a player's screen is then the transcoder's.
func TestCodeRects(t *testing.T) {
	const W, H = 320, 512
	rng := rand.New(rand.NewPCG(11, 11))
	blocks := func(img *image.RGBA, r image.Rectangle, first, colours int) { // 4x4 blocks
		for y := r.Min.Y; y < r.Max.Y; y += 4 {
			for x := r.Min.X; x < r.Max.X; x += 4 {
				n := first + rng.IntN(colours)
				c := color.RGBA{uint8(n), uint8(n >> 8), 77, 255}
				for yy := y; yy < min(y+4, r.Max.Y); yy++ {
					for xx := x; xx < min(x+4, r.Max.X); xx++ {
						img.SetRGBA(xx, yy, c)
					}
				}
			}
		}
	}
	noise := func(img *image.RGBA, r image.Rectangle) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.SetRGBA(x, y, color.RGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 255})
			}
		}
	}
	strips := func(r image.Rectangle, h int) []image.Rectangle {
		var rs []image.Rectangle
		for y := r.Min.Y; y < r.Max.Y; y += h {
			rs = append(rs, image.Rect(r.Min.X, y, r.Max.X, min(y+h, r.Max.Y)))
		}
		return rs
	}
	type msg struct {
		enc uint8 // an IMAGE's encoding, or fill
		r   image.Rectangle
	}
	const fill = 255
	for _, tc := range []struct {
		name  string
		draw  func(img *image.RGBA)
		rects []image.Rectangle
		want  []msg
	}{{
		name:  "a screen of blocks, in strips: one palette",
		draw:  func(img *image.RGBA) { blocks(img, img.Rect, 0, 256) },
		rects: strips(image.Rect(0, 0, W, H), 64),
		want:  []msg{{wire.ZPalette, image.Rect(0, 0, W, H)}},
	}, {
		name: "strips of 200 colours, 100 of them shared: joined while 256 do",
		draw: func(img *image.RGBA) {
			blocks(img, image.Rect(0, 0, W, 64), 0, 200)
			blocks(img, image.Rect(0, 64, W, 128), 0, 50)
			blocks(img, image.Rect(0, 128, W, 192), 100, 200)
		},
		rects: strips(image.Rect(0, 0, W, 192), 64),
		want:  []msg{{wire.ZPalette, image.Rect(0, 0, W, 128)}, {wire.ZPalette, image.Rect(0, 128, W, 192)}},
	}, {
		name:  "side by side, and not touching",
		draw:  func(img *image.RGBA) { blocks(img, img.Rect, 0, 3) },
		rects: []image.Rectangle{image.Rect(0, 0, 64, 16), image.Rect(64, 0, 128, 16), image.Rect(0, 17, 128, 24), image.Rect(129, 0, 192, 16), image.Rect(129, 16, 192, 20)},
		want:  []msg{{wire.ZPalette, image.Rect(0, 0, 128, 16)}, {wire.ZPalette, image.Rect(0, 17, 128, 24)}, {wire.ZPalette, image.Rect(129, 0, 192, 20)}},
	}, {
		name: "noise beside text: ZRGB columns (on the tile grid) joined, a palette for the text's",
		draw: func(img *image.RGBA) {
			noise(img, image.Rect(0, 0, 150, 32))
			text(rng, img, image.Rect(150, 0, W, 32))
		},
		rects: []image.Rectangle{image.Rect(10, 0, W, 32)},
		want:  []msg{{wire.ZRGB, image.Rect(10, 0, 192, 32)}, {wire.ZPalette, image.Rect(192, 0, W, 32)}},
	}, {
		name:  "one colour, in pieces: a FILL",
		draw:  func(img *image.RGBA) { blocks(img, img.Rect, 9, 1) },
		rects: strips(image.Rect(10, 10, 110, 50), 7),
		want:  []msg{{fill, image.Rect(10, 10, 110, 50)}},
	}, {
		name:  "within the one before: nothing more",
		draw:  func(img *image.RGBA) { text(rng, img, img.Rect) },
		rects: []image.Rectangle{image.Rect(0, 0, 100, 100), image.Rect(10, 10, 20, 20), image.Rect(0, 100, 100, 120)},
		want:  []msg{{wire.ZPalette, image.Rect(0, 0, 100, 120)}},
	}, {
		name: "taller than a band, at 1 and 4 bits an index",
		draw: func(img *image.RGBA) {
			text(rng, img, image.Rect(0, 0, 203, H))
			blocks(img, image.Rect(204, 0, W, H), 0, 12)
		},
		rects: []image.Rectangle{image.Rect(0, 0, 203, H), image.Rect(204, 0, W, H)},
		want:  []msg{{wire.ZPalette, image.Rect(0, 0, 203, H)}, {wire.ZPalette, image.Rect(204, 0, W, H)}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTranscoder(0, 0)
			img := image.NewRGBA(image.Rect(0, 0, W, H))
			noise(img, img.Rect) // what no rectangle covers must not be drawn
			var vs viewerStream
			vs.restart()
			if err := tr.screen.Apply(wire.Resize{Width: W, Height: H}); err != nil {
				t.Fatal(err)
			}
			if err := tr.screen.Apply(vs.rgb(img, img.Rect)); err != nil {
				t.Fatal(err)
			}
			player := wire.NewCanvas()
			player.Apply(wire.Resize{Width: W, Height: H})
			want := bytes.Clone(player.Image().Pix)
			tc.draw(img)
			if err := tr.screen.Apply(vs.rgb(img, img.Rect)); err != nil {
				t.Fatal(err)
			}
			tr.restart(0)
			out := tr.codeRects(nil, tc.rects)
			var got []msg
			if err := wire.Decode(out, func(m wire.Message) error {
				switch m := m.(type) {
				case wire.Image:
					got = append(got, msg{m.Encoding, image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H)})
				case wire.Fill:
					got = append(got, msg{fill, image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H)})
				}
				return player.Apply(m)
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("messages %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("messages %v, want %v", got, tc.want)
				}
			}
			// The rectangles show the screen; the rest is as the player had it.
			screen := tr.screen.Image()
			for _, r := range tc.rects {
				for y := r.Min.Y; y < r.Max.Y; y++ {
					copy(want[y*W*4+r.Min.X*4:y*W*4+r.Max.X*4], screen.Pix[screen.PixOffset(r.Min.X, y):])
				}
			}
			if !bytes.Equal(player.Image().Pix, want) {
				t.Fatal("the player's screen is not the transcoder's in the rectangles, and blank elsewhere")
			}
		})
	}
}
