package e2e

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/recording"
	"github.com/racgate/racgate/render/wire"
)

// playerConfig serves desk at addr, recorded into dir with a key frame a second, to the
// test user, who is an auditor.
func playerConfig(t *testing.T, addr, dir string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`store: memory
auditor-group: auditors
users:
  - username: %s
    password-hash: %q
    groups: [auditors]
providers:
  - name: test
    recording: {path: %s, key-frame-interval: 1s}
endpoints:
  - name: desk
    provider: test
    protocol: vnc
    host: %s
    settings: {quality: lossless}
`, testUser, hash, dir, addr)
}

// TestBrowserPlayer: a busy VNC session is recorded; the player in Chromium, seeking to
// several times t, shows the picture the live canvas showed at t, pixel for pixel.
func TestBrowserPlayer(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xterm", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "480x320"})
	x.Run(t, "xsetroot", "-solid", "#446688")
	x.Start(t, "xterm", "-geometry", "50x12+10+10", "-fa", "", "-bg", "white", "-fg", "black")
	dir := t.TempDir()
	url := serveConfig(t, playerConfig(t, x.Addr, dir))

	// No comparison before the first click: until the VNC client moves the pointer,
	// Xvnc draws the pointer into the picture, which xwd does not show.
	live := openDesk(t, url, 480, 320, 20*time.Second)
	type sample struct {
		at  time.Time
		img *image.RGBA
	}
	var samples []sample
	for i, cmd := range []string{"echo one-$((1))", "ls -l /usr/bin | head -8", "echo three; seq 1 5"} {
		if i == 1 {
			x.Run(t, "xsetroot", "-solid", "#884422")
		}
		typeInXterm(t, live, x, cmd)
		waitCanvasEquals(t, live, x, "live after "+cmd)
		// The picture holds for the next second: sample its middle.
		samples = append(samples, sample{time.Now().Add(500 * time.Millisecond), canvasImage(t, live)})
		time.Sleep(time.Second)
	}
	live.close()

	var path string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "*"+recording.ExtDesktop)); len(m) == 1 {
			if data, err := os.ReadFile(m[0]); err == nil && strings.Contains(string(data), `{"reason":`) {
				path = m[0]
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no finished recording")
		}
		time.Sleep(100 * time.Millisecond)
	}
	f, _ := os.Open(path)
	fi, _ := f.Stat()
	meta, first, err := recording.ReadMeta(f, fi.Size())
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The player is to draw both kinds of image a recording holds: PREDICT (all of this
	// session's changes fit its budget) and, in key frames, deflate.
	pixels := imagePixels(t, path, first)
	if pixels[wire.Predict] == 0 || pixels[wire.ZRGB]+pixels[wire.ZPalette] == 0 {
		t.Fatalf("the recording's image pixels by encoding: %v; want PREDICT and deflated ones", pixels)
	}
	t.Logf("the recording's image pixels by encoding: %v", pixels)
	// The typing changes the xterm only: some key frames are deltas over the full one
	// after the background changed, and some samples are seeks into their segments.
	data, _ := os.ReadFile(path)
	rec, err := recording.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	deltaSeeks := 0
	for _, s := range samples {
		if k, _ := rec.KeyBefore(s.at.Sub(meta.Start) / (100 * time.Millisecond) * (100 * time.Millisecond)); k.Delta {
			deltaSeeks++
		}
	}
	if deltaSeeks == 0 {
		t.Fatalf("no sample is in a delta key frame's segment: key frames %+v", rec.Keys)
	}

	b := startBrowser(t, url)
	b.do(map[string]any{"setViewport": map[string]any{"width": 900, "height": 700}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"goto": "/recordings"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#list tbody tr"}})
	if n := b.do(map[string]any{"visible": "#list tbody tr"})["count"].(float64); n != 1 {
		t.Fatalf("%v recordings listed, want 1", n)
	}
	b.do(map[string]any{"clickSelector": "#list tbody tr button"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#player[data-drawn='0']"}})
	for i, s := range samples {
		ms := s.at.Sub(meta.Start).Milliseconds() / 100 * 100
		res := b.do(map[string]any{"seekPlayer": ms})
		img := canvasImage(t, b)
		if n, first := peers.DiffRGB(img, s.img); n != 0 {
			t.Fatalf("sample %d: the player at %d ms differs from the live canvas in %d pixels (%s)", i, ms, n, first)
		}
		t.Logf("sample %d at %d ms: equal, drawn %.0f ms after the seek", i, ms, res["elapsed"])
	}
	// Played from the start at 8x through every key record (one a second), each of which
	// begins a new deflate stream, the player ends on the last picture.
	b.do(map[string]any{"seekPlayer": 0})
	b.do(map[string]any{"selectOption": map[string]any{"selector": "#speed", "value": "8"}})
	b.do(map[string]any{"clickSelector": "#play"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#player[data-state='paused'][data-drawn]"}})
	if n, first := peers.DiffRGB(canvasImage(t, b), samples[len(samples)-1].img); n != 0 {
		t.Fatalf("played to the end: %d pixels differ from the live canvas's last picture (%s); note %q", n, first, b.do(map[string]any{"text": "#note"})["text"])
	}
}

// imagePixels counts a desktop recording's image pixels by encoding.
func imagePixels(t *testing.T, path string, first int64) map[uint8]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[uint8]int{}
	for b := data[first:]; ; {
		r, rest, ok := recording.Next(b)
		if !ok {
			return counts
		}
		b = rest
		if r.Kind != recording.KindOutput && r.Kind != recording.KindKey {
			continue
		}
		if err := wire.Decode(r.Payload, func(m wire.Message) error {
			if im, ok := m.(wire.Image); ok {
				counts[im.Encoding] += im.W * im.H
			}
			return nil
		}); err != nil {
			t.Fatalf("record at %v: %v", r.At, err)
		}
	}
}

// openOnlyRecording signs in to the racgate at url in Chromium, with a viewport of w×h,
// and opens the one recording listed, drawn at its start.
func openOnlyRecording(t *testing.T, url string, w, h int) *browser {
	t.Helper()
	b := startBrowser(t, url)
	b.do(map[string]any{"setViewport": map[string]any{"width": w, "height": h}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"goto": "/recordings"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#list tbody tr"}})
	b.do(map[string]any{"clickSelector": "#list tbody tr button"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#player[data-drawn='0']"}})
	return b
}

// writeSynthetic writes a desktop recording of length d by hand, from docs/recording.md:
// a 320x240 screen with a key frame every 10 s and, every 100 ms, a FILL of the square
// (8,8)-(40,40) in the colour colourAt gives for that time.
func writeSynthetic(t *testing.T, path string, start time.Time, d time.Duration) {
	t.Helper()
	meta, _ := json.Marshal(map[string]any{"version": 1, "protocol": "vnc", "user": "synthetic", "endpoint": "long",
		"start": start, "keyFrameInterval": 10000, "input": false})
	b := append([]byte(recording.Magic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[len(recording.Magic):], uint32(len(meta)))
	b = append(b, meta...)
	record := func(kind byte, ms int, payload []byte) {
		b = append(b, kind)
		b = binary.LittleEndian.AppendUint32(b, uint32(ms))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
		b = append(b, payload...)
	}
	id := uint32(0)
	for ms := 0; ms <= int(d.Milliseconds()); ms += 100 {
		id++
		c := colourAt(ms)
		fill := wire.Fill{X: 8, Y: 8, W: 32, H: 32, R: c[0], G: c[1], B: c[2]}
		if ms%10000 == 0 {
			p := wire.Resize{Width: 320, Height: 240}.Append(nil)
			p = wire.Fill{W: 320, H: 240, R: 20, G: 30, B: 40}.Append(p)
			p = wire.Frame{ID: id}.Append(fill.Append(p))
			record(recording.KindKey, ms, p)
			continue
		}
		record(recording.KindOutput, ms, wire.Frame{ID: id}.Append(fill.Append(nil)))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func colourAt(ms int) [3]byte {
	i := ms / 100
	return [3]byte{byte(i * 7), byte(i * 13), byte(i * 29)}
}

// TestBrowserPlayerSeek: in a one-hour recording the player seeks anywhere in under
// 200 ms, and shows the picture of that time.
func TestBrowserPlayerSeek(t *testing.T) {
	peers.Require(t, "chromium")
	dir := t.TempDir()
	writeSynthetic(t, filepath.Join(dir, "long"+recording.ExtDesktop), time.Now().Add(-2*time.Hour), time.Hour)
	url := serveConfig(t, playerConfig(t, "127.0.0.1:9", dir))
	b := openOnlyRecording(t, url, 900, 700)
	var worst float64
	for _, ms := range []int{1800_000 + 9_900, 3_599_900, 600_000, 100, 2_345_600} {
		res := b.do(map[string]any{"seekPlayer": ms})
		elapsed := res["elapsed"].(float64)
		worst = max(worst, elapsed)
		img := canvasImage(t, b)
		c := colourAt(ms)
		o := img.PixOffset(20, 20)
		if got := [3]byte{img.Pix[o], img.Pix[o+1], img.Pix[o+2]}; got != c {
			t.Fatalf("at %d ms the square is %v, want %v", ms, got, c)
		}
		if o := img.PixOffset(100, 100); img.Pix[o] != 20 || img.Pix[o+1] != 30 || img.Pix[o+2] != 40 {
			t.Fatalf("at %d ms the background is %v", ms, img.Pix[o:o+3])
		}
		t.Logf("seek to %d ms: drawn in %.0f ms", ms, elapsed)
	}
	if worst >= 200 {
		t.Fatalf("the slowest seek took %.0f ms, want under 200", worst)
	}
}

// TestBrowserPlayerTerminal: an SSH session is recorded as asciicast; played to its end
// in Chromium, the player's terminal shows what the live terminal showed at the end, and
// its search finds a command's output and jumps to it.
func TestBrowserPlayerTerminal(t *testing.T) {
	d := peers.StartSSHD(t)
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	url := serveConfig(t, fmt.Sprintf(`store: memory
auditor-group: auditors
users:
  - username: %s
    password-hash: %q
    groups: [auditors]
providers:
  - name: test
    recording: {path: %s}
endpoints:
  - name: shell
    provider: test
    protocol: ssh
    host: %s
    settings: {username: %q, password: %q, host-key: %q}
`, testUser, hash, dir, d.Addr, d.User, d.Password, d.HostKey))

	live := startBrowser(t, url)
	live.do(map[string]any{"setViewport": map[string]any{"width": 700, "height": 400}})
	live.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	live.do(map[string]any{"open": "shell"})
	live.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	live.do(map[string]any{"terminalType": "echo marker-$((40+2)); seq 1 30 | paste -sd+ | bc\n"})
	waitTerminal(t, live, regexp.MustCompile(`(?m)^465$`))
	live.do(map[string]any{"terminalType": "printf '\\033[1mbold\\033[0m %s\\n' done-$((3*3))\n"})
	final, _ := waitTerminal(t, live, regexp.MustCompile(`bold done-9`))
	live.close()

	var path string
	deadline := time.Now().Add(10 * time.Second)
	for path == "" {
		m, _ := filepath.Glob(filepath.Join(dir, "*"+recording.ExtTerminal))
		if len(m) == 1 {
			path = m[0]
		} else if time.Now().After(deadline) {
			t.Fatal("no recording")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the session's end closes the file

	b := openOnlyRecording(t, url, 900, 700)
	b.do(map[string]any{"seekPlayer": 1 << 30}) // the end
	got, _ := b.do(map[string]any{"terminalText": true})["text"].(string)
	if got != final {
		data, _ := os.ReadFile(path)
		t.Fatalf("the player's last screen:\n%s\n--- the live terminal's:\n%s\n--- the recording:\n%s", got, final, data)
	}
	b.do(map[string]any{"fill": map[string]any{"selector": "#search", "value": "marker-42"}})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#hits li button"}})
	b.do(map[string]any{"clickSelector": "#hits li button"})
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#player[data-drawn]"}})
	txt, _ := b.do(map[string]any{"terminalText": true})["text"].(string)
	if !strings.Contains(txt, "marker-42") || strings.Contains(txt, "bold done-9") {
		t.Fatalf("after the search hit the terminal shows:\n%s", txt)
	}
}

// TestBrowserPlayerSeekPredicted: seeking to the end of a segment holding as much
// predicted work as a recording allows after a key frame draws the picture recorded in
// well under a second, the first seek too (the page's JavaScript not yet compiled), and
// under 250 ms once warm: the player decodes every PREDICT image since the key frame.
// Two kinds of picture: text whose glyphs change (most pixels keep their colour or take
// a neighbour's), and marks of new random colours (every changed pixel a literal).
func TestBrowserPlayerSeekPredicted(t *testing.T) {
	peers.Require(t, "chromium")
	palette := [][3]byte{{30, 30, 30}, {200, 40, 40}, {40, 120, 200}}
	shapes := [][13]uint16{
		{0, 0x1C, 0x22, 0x22, 0x26, 0x2A, 0x32, 0x22, 0x22, 0x1C},
		{0, 0x08, 0x18, 0x28, 0x08, 0x08, 0x08, 0x08, 0x08, 0x3E},
		{0, 0x1C, 0x22, 0x02, 0x04, 0x08, 0x10, 0x20, 0x20, 0x3E},
		{},
	}
	for _, tc := range []struct {
		name  string
		lines int
		pixel func(rng *rand.Rand, x, y int, glyph []int) [3]byte
	}{
		{"text", 200, func(rng *rand.Rand, x, y int, glyph []int) [3]byte {
			g := glyph[(y/13)*147+x/7]
			if shapes[g%4][y%13]>>(6-x%7)&1 == 1 {
				return palette[g%3]
			}
			return [3]byte{250, 250, 245}
		}},
		{"marks", 40, func(rng *rand.Rand, x, y int, _ []int) [3]byte {
			if (x/7+y/13)%4 != 0 && rng.IntN(3) == 0 {
				return [3]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), 60}
			}
			return [3]byte{250, 250, 245}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const W, H = 1024, 768
			dir := t.TempDir()
			rec, err := recording.CreateDesktop(filepath.Join(dir, tc.name), recording.Meta{Protocol: "vnc", User: "synthetic",
				Endpoint: tc.name, Start: time.Now(), KeyFrameInterval: 10000})
			if err != nil {
				t.Fatal(err)
			}
			// The viewer's messages: a Huffman-only deflate stream of ZRGB pieces.
			var zbuf bytes.Buffer
			zw, _ := zlib.NewWriterLevel(&zbuf, zlib.HuffmanOnly)
			rng := rand.New(rand.NewPCG(4, 4))
			screen := image.NewRGBA(image.Rect(0, 0, W, H))
			glyph := make([]int, 147*60)
			for i := range glyph {
				glyph[i] = rng.IntN(12)
			}
			zrgb := func(r image.Rectangle) []byte {
				var layout []byte
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						c := tc.pixel(rng, x, y, glyph)
						o := screen.PixOffset(x, y)
						screen.Pix[o], screen.Pix[o+1], screen.Pix[o+2], screen.Pix[o+3] = c[0], c[1], c[2], 255
						layout = append(layout, c[:]...)
					}
				}
				zbuf.Reset()
				zw.Write(layout)
				zw.Flush()
				return wire.Image{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy(), Encoding: wire.ZRGB, Data: bytes.Clone(zbuf.Bytes())}.Append(nil)
			}
			// The key frame is a blank page (cheap to inflate: what is measured is the
			// predicted images); lines of text or marks come after.
			key := wire.Resize{Width: W, Height: H}.Append(nil)
			key = wire.Fill{W: W, H: H, R: 250, G: 250, B: 245}.Append(key)
			for i := range screen.Pix {
				screen.Pix[i] = []byte{250, 250, 245, 255}[i%4]
			}
			if err := rec.Output(wire.Frame{ID: 1}.Append(key)); err != nil {
				t.Fatal(err)
			}
			// Lines of 1024x13 at the pace a recording predicts them, more than a segment
			// may predict: the last ones are deflated.
			for i := range tc.lines {
				time.Sleep(28 * time.Millisecond)
				for k := range 30 { // a fifth of a line's glyphs change
					glyph[i%58*147+rng.IntN(147)] = k + rng.IntN(12)
				}
				y := i % 58 * 13
				if err := rec.Output(wire.Frame{ID: uint32(i + 2)}.Append(zrgb(image.Rect(0, y, W, y+13)))); err != nil {
					t.Fatal(err)
				}
			}
			if err := rec.Close("done"); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(rec.Path())
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			r, err := recording.Read(f, fi.Size())
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			pixels := imagePixels(t, rec.Path(), r.First)
			if pixels[wire.Predict] == 0 || pixels[wire.ZRGB]+pixels[wire.ZPalette] == 0 || len(r.Keys) != 1 {
				t.Fatalf("image pixels by encoding %v, %d key frames: want PREDICT, deflated images past the limit, and one key frame", pixels, len(r.Keys))
			}

			url := serveConfig(t, playerConfig(t, "127.0.0.1:9", dir))
			b := openOnlyRecording(t, url, 1300, 1000)
			end := r.Duration.Milliseconds()
			var worst, last float64
			for i := range 3 { // the first seek is the page's first PREDICT decoding
				res := b.do(map[string]any{"seekPlayer": end})
				last = res["elapsed"].(float64)
				worst = max(worst, last)
				if n, first := peers.DiffRGB(canvasImage(t, b), screen); n != 0 {
					t.Fatalf("at the end (%d ms) the player differs from the recorded screen in %d pixels (%s)", end, n, first)
				}
				t.Logf("seek %d to %d ms (pixels by encoding since the key frame %v): drawn in %.0f ms", i, end, pixels, res["elapsed"])
				b.do(map[string]any{"seekPlayer": 0})
			}
			// Bounds with room for a slower machine than the one they were measured on
			// (2026-12-08: first seek 250-320 ms, third 70-110 ms): a seek that decoded
			// from the recording's start, or past the budget of work a key frame allows,
			// takes seconds.
			if worst >= 600 || last >= 250 {
				t.Fatalf("the slowest seek took %.0f ms, the last %.0f ms: want under 600 and 250", worst, last)
			}
		})
	}
}
