package predict

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"image"
	"math/rand/v2"
	"os"
	"testing"
)

// testdata/vectors.json is what this encoder writes for a few streams of images; the web
// player's decoder (webclient/test/unit/predict.test.ts) must draw each image to the
// same screen. Each stream starts on a black screen of its size; an image with "reset"
// starts the model anew first. "sha256" is of the whole screen's RGBA after the image.
// go test -run TestVectors -update writes the file again.

var update = flag.Bool("update", false, "write testdata/vectors.json")

type vectorImage struct {
	X, Y, W, H int
	Reset      bool   `json:"reset,omitempty"`
	Data       string `json:"data"` // hex
	SHA256     string `json:"sha256"`
}

type vectorStream struct {
	Name   string        `json:"name"`
	Width  int           `json:"width"`
	Height int           `json:"height"`
	Images []vectorImage `json:"images"`
}

func makeVectors() []vectorStream {
	rng := rand.New(rand.NewPCG(11, 12))
	var out []vectorStream
	add := func(name string, w, h int, n int, next func(i int, screen *image.RGBA) (*image.RGBA, image.Rectangle, bool)) {
		vs := vectorStream{Name: name, Width: w, Height: h}
		screen := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range screen.Pix {
			if i%4 == 3 {
				screen.Pix[i] = 255
			}
		}
		enc := NewEncoder()
		for i := range n {
			pic, r, reset := next(i, screen)
			if reset {
				enc.Reset()
			}
			data, err := enc.Encode(nil, screen, r, crop(pic, r))
			if err != nil {
				panic(err)
			}
			sum := sha256.Sum256(screen.Pix)
			vs.Images = append(vs.Images, vectorImage{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Reset: reset,
				Data: hex.EncodeToString(data), SHA256: hex.EncodeToString(sum[:])})
		}
		out = append(out, vs)
	}
	// Glyphs typed and changed, as on a terminal; every edge of the screen touched.
	add("text", 48, 39, 8, func(i int, _ *image.RGBA) (*image.RGBA, image.Rectangle, bool) {
		order := make([]int, 40)
		for k := range order {
			order[k] = rng.IntN(4)
		}
		rects := []image.Rectangle{image.Rect(0, 0, 48, 39), image.Rect(6, 13, 30, 26), image.Rect(42, 26, 48, 39),
			image.Rect(0, 0, 6, 13), image.Rect(5, 7, 5, 20), image.Rect(12, 0, 48, 39), image.Rect(1, 38, 47, 39), image.Rect(0, 0, 48, 39)}
		return glyphs(48, 39, order), rects[i], i == 7
	})
	// Photo-like noise, a gradient and flat areas: literals, the cache, every candidate.
	add("scene", 40, 30, 6, func(i int, _ *image.RGBA) (*image.RGBA, image.Rectangle, bool) {
		x, y := rng.IntN(30), rng.IntN(20)
		r := image.Rect(x, y, x+1+rng.IntN(40-x), y+1+rng.IntN(30-y))
		if i == 0 {
			r = image.Rect(0, 0, 40, 30)
		}
		return scene(rng, 40, 30), r, false
	})
	// Long enough for counters to be sure (the direct-counter shortcut) and to move on
	// from sure: one glyph at a time over a screen of text.
	add("typing", 60, 26, 40, func(i int, _ *image.RGBA) (*image.RGBA, image.Rectangle, bool) {
		order := make([]int, 20)
		for k := range order {
			order[k] = rng.IntN(4)
		}
		if i == 0 {
			return glyphs(60, 26, order), image.Rect(0, 0, 60, 26), false
		}
		x, y := rng.IntN(10)*6, rng.IntN(2)*13
		return glyphs(60, 26, order), image.Rect(x, y, x+6, y+13), false
	})
	// More distinct colours than the literal cache holds, then the oldest it still holds
	// (its last place), then many of them again in another order.
	add("colours", 16, 16, 3, func(i int, _ *image.RGBA) (*image.RGBA, image.Rectangle, bool) {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		colour := func(k int) []byte { return []byte{byte(k), byte(k*37 + 1), byte(255 - k), 255} }
		for p := range 256 {
			k := p // 256 colours, each a literal, each new
			if i == 2 {
				k = p * 7 % 256
			}
			copy(img.Pix[p*4:], colour(k))
		}
		if i == 1 {
			copy(img.Pix, colour(1)) // the first colour was dropped; the second is the cache's last
			return img, image.Rect(0, 0, 1, 1), false
		}
		return img, img.Rect, false
	})
	return out
}

func TestVectors(t *testing.T) {
	got, err := json.MarshalIndent(makeVectors(), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const path = "testdata/vectors.json"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the encoder writes now: a change to the format must be made in the web player's decoder too; then go test -run TestVectors -update", path)
	}
	// And they decode here.
	var streams []vectorStream
	json.Unmarshal(want, &streams)
	for _, vs := range streams {
		screen := image.NewRGBA(image.Rect(0, 0, vs.Width, vs.Height))
		for i := range screen.Pix {
			if i%4 == 3 {
				screen.Pix[i] = 255
			}
		}
		dec := NewDecoder()
		for i, im := range vs.Images {
			if im.Reset {
				dec.Reset()
			}
			data, _ := hex.DecodeString(im.Data)
			if err := dec.Decode(data, screen, image.Rect(im.X, im.Y, im.X+im.W, im.Y+im.H)); err != nil {
				t.Fatalf("%s image %d: %v", vs.Name, i, err)
			}
			if sum := sha256.Sum256(screen.Pix); hex.EncodeToString(sum[:]) != im.SHA256 {
				t.Fatalf("%s image %d: screen differs", vs.Name, i)
			}
		}
	}
}
