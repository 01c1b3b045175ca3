package clipboard

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render/wire"
)

var discard = slog.New(slog.DiscardHandler)

// recorder is the browser side: what reached it, and the notices.
type recorder struct {
	mu      sync.Mutex
	got     []wire.ClipboardContent
	notices []string
}

func (r *recorder) clipboard(c wire.ClipboardContent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
}

func (r *recorder) notice(level uint8, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, fmt.Sprint(level, " ", s))
}

func (r *recorder) wait(t *testing.T, n int) []wire.ClipboardContent {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
	}
	t.Fatalf("%d clipboards reached the browser, want %d", len(r.got), n)
	return nil
}

// setter records what Paste sets on the remote.
type setter struct {
	got []rdp.ClipboardContent
	err error
}

func (s *setter) SetClipboardContent(c rdp.ClipboardContent) error {
	s.got = append(s.got, c)
	return s.err
}

// TestRDPWays: disable-copy, disable-paste and read-only decide which ways the clipboard
// goes and whether the channel is asked for at all.
func TestRDPWays(t *testing.T) {
	r := &recorder{}
	for _, tc := range []struct {
		set            config.Settings
		fetch, channel bool // the remote's content is fetched; the channel is asked for
		paste          bool
	}{
		{config.Settings{}, true, true, true},
		{config.Settings{"disable-paste": "true"}, true, true, false},
		{config.Settings{"read-only": "true"}, true, true, false},
		{config.Settings{"disable-copy": "true"}, false, true, true},
		{config.Settings{"disable-copy": "true", "disable-paste": "true"}, false, false, false},
		{config.Settings{"disable-copy": "true", "read-only": "true"}, false, false, false},
	} {
		var cfg rdp.Config
		c := NewRDP(&cfg, tc.set, r.clipboard, r.notice, discard)
		channel := cfg.Clipboard != nil || cfg.ClipboardContent != nil
		if (cfg.ClipboardContent != nil) != tc.fetch || channel != tc.channel || (c != nil) != tc.channel || (c != nil && c.paste != tc.paste) {
			t.Errorf("%v: fetch %v, channel %v, clip %+v", tc.set, cfg.ClipboardContent != nil, channel, c)
		}
		var s setter
		if err := c.Paste(&s, wire.ClipboardContent{Text: "x"}); err != nil || len(s.got) != 0 && !tc.paste || len(s.got) != 1 && tc.paste {
			t.Errorf("%v: Paste set %v (%v)", tc.set, s.got, err)
		}
	}
}

// TestRDPLines: normalize-clipboard applies to text both ways, not to HTML.
func TestRDPLines(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{
		{"", "a\r\nb\nc\rd"}, {"preserve", "a\r\nb\nc\rd"}, {"unix", "a\nb\nc\nd"}, {"windows", "a\r\nb\r\nc\r\nd"},
	} {
		r := &recorder{}
		var cfg rdp.Config
		set := config.Settings{"normalize-clipboard": tc.mode}
		if err := Configure(&cfg, set); err != nil {
			t.Fatal(err)
		}
		c := NewRDP(&cfg, set, r.clipboard, r.notice, discard)
		cfg.ClipboardContent(rdp.ClipboardContent{Text: "a\r\nb\nc\rd", HTML: "<p>\r\n</p>"}, nil)
		cfg.ClipboardContent(rdp.ClipboardContent{}, rdp.ErrClipboardTimeout)
		cfg.ClipboardContent(rdp.ClipboardContent{}, nil) // empty: not passed on
		if got := r.wait(t, 1); len(got) != 1 || got[0].Text != tc.want || got[0].HTML != "<p>\r\n</p>" {
			t.Errorf("normalize-clipboard %q: browser got %q, want %q", tc.mode, got, tc.want)
		}
		var s setter
		if err := c.Paste(&s, wire.ClipboardContent{Text: "a\r\nb\nc\rd", HTML: "<p>\n</p>"}); err != nil || len(s.got) != 1 ||
			s.got[0].Text != tc.want || s.got[0].HTML != "<p>\n</p>" {
			t.Errorf("normalize-clipboard %q: remote got %q (%v)", tc.mode, s.got, err)
		}
	}
	var cfg rdp.Config
	if err := Configure(&cfg, config.Settings{"normalize-clipboard": "mac"}); err == nil {
		t.Error("normalize-clipboard mac accepted")
	}
	for _, n := range []string{"0", "-1", "x", "1048577"} {
		if err := Configure(&cfg, config.Settings{"clipboard-max-bytes": n}); err == nil {
			t.Errorf("clipboard-max-bytes %s accepted", n)
		}
	}
}

// TestRDPNotices: a copy that cannot be fetched is a warning the user reads, saying why;
// an image over the limit leaves the text to go.
func TestRDPNotices(t *testing.T) {
	r := &recorder{}
	var cfg rdp.Config
	if err := Configure(&cfg, config.Settings{"clipboard-max-bytes": "1000"}); err != nil {
		t.Fatal(err)
	}
	cfg.ClipboardMaxImageBytes = 4096
	c := NewRDP(&cfg, config.Settings{}, r.clipboard, r.notice, discard)
	cfg.ClipboardContent(rdp.ClipboardContent{}, fmt.Errorf("%w: 5000 bytes", rdp.ErrClipboardTooLarge))
	cfg.ClipboardContent(rdp.ClipboardContent{}, rdp.ErrClipboardTimeout)
	cfg.ClipboardContent(rdp.ClipboardContent{Text: "caption"}, fmt.Errorf("%w: 9000 bytes", rdp.ErrClipboardImageTooLarge))
	want := []string{"1 The remote clipboard is over the 1000-byte limit and was not copied.",
		"1 The remote clipboard did not answer; copy again on the remote machine.",
		"1 The remote clipboard's image is over the 4096-byte limit; only its text was copied."}
	if got := r.wait(t, 1); !slices.Equal(r.notices, want) || len(got) != 1 || got[0].Text != "caption" {
		t.Errorf("notices %q, want %q; browser got %v", r.notices, want, got)
	}
	// From the browser: an image too large or not a PNG is left out, the text goes.
	r.notices = nil
	var s setter
	big := encodeTestPNG(t, 40, 30) // 1200 pixels, over 4096/4
	if err := c.Paste(&s, wire.ClipboardContent{Text: "t", PNG: big}); err != nil || len(s.got) != 1 || s.got[0].Image != nil || s.got[0].Text != "t" {
		t.Errorf("image over the limit: set %v (%v)", s.got, err)
	}
	if err := c.Paste(&s, wire.ClipboardContent{PNG: []byte("\x89PNG\r\n\x1a\nbroken")}); err != nil || len(s.got) != 1 {
		t.Errorf("broken PNG alone: set %v (%v)", s.got, err)
	}
	s.err = fmt.Errorf("%w: text", rdp.ErrClipboardTooLarge)
	if err := c.Paste(&s, wire.ClipboardContent{Text: "long"}); err != nil {
		t.Errorf("text over the limit ended the session: %v", err)
	}
	s.err = errors.New("connection lost")
	if err := c.Paste(&s, wire.ClipboardContent{Text: "t"}); err == nil {
		t.Error("the connection's error was swallowed")
	}
	if len(r.notices) != 3 {
		t.Errorf("notices %q, want 3", r.notices)
	}
}

// TestRDPImages: the remote's image reaches the browser as a PNG of the same pixels, a
// browser's PNG the remote as the same pixels; a slow image does not overtake a newer copy.
func TestRDPImages(t *testing.T) {
	r := &recorder{}
	var cfg rdp.Config
	c := NewRDP(&cfg, config.Settings{}, r.clipboard, r.notice, discard)
	img := testImage(33, 17)
	cfg.ClipboardContent(rdp.ClipboardContent{Text: "pic", Image: img}, nil)
	got := r.wait(t, 1)
	back, err := DecodePNG(got[0].PNG, 1<<20)
	if err != nil || got[0].Text != "pic" {
		t.Fatalf("browser got %q (%v)", got[0].Text, err)
	}
	samePixels(t, back, img)

	var s setter
	if err := c.Paste(&s, wire.ClipboardContent{PNG: got[0].PNG}); err != nil || len(s.got) != 1 {
		t.Fatalf("Paste: %v %v", s.got, err)
	}
	samePixels(t, s.got[0].Image, img)

	// A big image, then text at once: the text is the clipboard, the image never shows.
	r.got = nil
	cfg.ClipboardContent(rdp.ClipboardContent{Image: testImage(2000, 1500)}, nil)
	cfg.ClipboardContent(rdp.ClipboardContent{Text: "newer"}, nil)
	time.Sleep(2 * time.Second) // the encoding's time, and more
	if got := r.wait(t, 1); len(got) != 1 || got[0].Text != "newer" {
		t.Errorf("browser got %d clipboards, last %q: want only the newer text", len(got), got[len(got)-1].Text)
	}
}

func TestDecodePNGBounds(t *testing.T) {
	p := encodeTestPNG(t, 100, 50)
	if _, err := DecodePNG(p, 5000); err != nil {
		t.Errorf("5000 pixels refused: %v", err)
	}
	if _, err := DecodePNG(p, 4999); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("5000 pixels over 4999: %v", err)
	}
	// A header claiming 100000x100000 is refused before anything is allocated.
	huge := bytes.Clone(p)
	copy(huge[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	if _, err := DecodePNG(huge, 1<<24); err == nil {
		t.Error("100000x100000 accepted")
	}
}

func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	return img
}

func encodeTestPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	p, err := EncodePNG(testImage(w, h))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func samePixels(t *testing.T, got, want image.Image) {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			g := color.NRGBAModel.Convert(got.At(got.Bounds().Min.X+x, got.Bounds().Min.Y+y))
			if w := want.At(x, y); g != w {
				t.Fatalf("pixel %d,%d: %v, want %v", x, y, g, w)
			}
		}
	}
}
