package recording

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/render/wire"
)

func testMeta() Meta {
	return Meta{Protocol: "vnc", User: "alice", Endpoint: "desk", Provider: "lab", Start: time.Now(), KeyFrameInterval: 1000}
}

// key is a key frame's first message: RESIZE, then a FILL of the whole screen.
func key(w, h int) []byte {
	return wire.Fill{W: w, H: h, R: 1}.Append(wire.Resize{Width: w, Height: h}.Append(nil))
}

func TestDesktopRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := testMeta()
	m.Start = time.Now().Add(-2 * time.Second) // records are 2 s in
	d, err := CreateDesktop(filepath.Join(dir, "sub", "rec"), m)
	if err != nil {
		t.Fatal(err)
	}
	msgs := [][]byte{
		key(64, 48),
		wire.Frame{ID: 1}.Append(wire.Fill{X: 1, Y: 2, W: 3, H: 4}.Append(nil)),
		key(64, 48),
		wire.Frame{ID: 2}.Append(nil),
	}
	if err := d.Output(msgs[0]); err != nil {
		t.Fatal(err)
	}
	if err := d.Output(msgs[1]); err != nil {
		t.Fatal(err)
	}
	if err := d.Input(wire.Key{Down: true, Keysym: 'a'}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	d.Output(msgs[2])
	d.Output(msgs[3])
	if err := d.Close("The remote machine ended the session."); err != nil {
		t.Fatal(err)
	}
	if err := d.Output(msgs[0]); err == nil {
		t.Fatal("Output after Close succeeded")
	}
	path := d.Path()
	if path != filepath.Join(dir, "sub", "rec"+ExtDesktop) {
		t.Fatalf("path %s", path)
	}
	for p, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700 | fs.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Fatalf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	data, _ := os.ReadFile(path)
	rec, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Meta.User != "alice" || rec.Meta.Version != Version || !rec.Meta.Start.Equal(m.Start) {
		t.Fatalf("meta %+v", rec.Meta)
	}
	if !rec.Ended || rec.Reason != "The remote machine ended the session." || rec.Torn || rec.Records != 6 || rec.End != int64(len(data)) {
		t.Fatalf("index %+v", rec)
	}
	// The second key frame differs from the first's picture in msgs[1]'s FILL only: a
	// delta over it.
	if len(rec.Keys) != 2 || rec.Keys[0].At < 2*time.Second || rec.Keys[1].At < rec.Keys[0].At+20*time.Millisecond || rec.Keys[0].Offset != rec.First ||
		rec.Keys[0].Delta || !rec.Keys[1].Delta || rec.Keys[1].Base != rec.First || rec.Keys[1].BaseEnd != rec.Keys[0].BaseEnd {
		t.Fatalf("keys %+v", rec.Keys)
	}
	// The records read back in order, with their kinds.
	b := data[rec.First:]
	var kinds []byte
	var outs [][]byte
	for {
		r, rest, ok := Next(b)
		if !ok {
			break
		}
		kinds = append(kinds, r.Kind)
		if r.Kind == KindOutput || r.Kind == KindKey || r.Kind == KindDelta {
			outs = append(outs, r.Payload)
		}
		if r.Kind == KindInput && rec.Keys[0].BaseEnd != int64(len(data)-len(b)) {
			t.Fatalf("the first key frame's picture ends at %d, want %d (before the input)", rec.Keys[0].BaseEnd, len(data)-len(b))
		}
		if r.Kind == KindDelta && rec.Keys[1].Offset != int64(len(data)-len(b)) {
			t.Fatalf("the delta key frame at %d, want %d", rec.Keys[1].Offset, len(data)-len(b))
		}
		b = rest
	}
	if len(b) != 0 || !bytes.Equal(kinds, []byte{KindKey, KindOutput, KindInput, KindOutput, KindDelta, KindEnd}) {
		t.Fatalf("kinds %v, %d bytes left", kinds, len(b))
	}
	// The full key frame as it came; the delta key frame's change, with its FRAME, for a
	// player that is playing (no RESIZE; its FILL repaints the 3x4 black FILL of msgs[1],
	// as PREDICT), then the delta record for one that starts there: the same, from the
	// base's picture.
	for i := range 2 {
		if !bytes.Equal(outs[i], msgs[i]) {
			t.Fatalf("record %d: % x, want % x", i, outs[i], msgs[i])
		}
	}
	for _, i := range []int{2, 3} {
		var got []wire.Message
		wire.Decode(outs[i], func(m wire.Message) error {
			got = append(got, m)
			return nil
		})
		if im, ok := got[0].(wire.Image); len(got) != 2 || !ok || im.Encoding != wire.Predict || im.X != 1 || im.Y != 2 || im.W != 3 || im.H != 4 || got[1] != (wire.Frame{ID: 2}) {
			t.Fatalf("record %d: %v", i, got)
		}
	}

	// A second recording of the same name does not overwrite the first.
	d2, err := CreateDesktop(filepath.Join(dir, "sub", "rec"), m)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close("")
	if d2.Path() != filepath.Join(dir, "sub", "rec-2"+ExtDesktop) {
		t.Fatalf("second path %s", d2.Path())
	}
}

// TestDesktopTorn: a file cut anywhere (a crash mid-write) reads as its whole records,
// marked torn, never as an error.
func TestDesktopTorn(t *testing.T) {
	dir := t.TempDir()
	d, err := CreateDesktop(filepath.Join(dir, "rec"), testMeta())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		d.Output(key(8, 8))
		d.Output(wire.Frame{ID: uint32(i)}.Append(wire.Fill{W: 8, H: 8, R: byte(i)}.Append(nil)))
	}
	d.Close("")
	data, _ := os.ReadFile(d.Path())
	full, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for cut := int(full.First); cut < len(data); cut++ {
		rec, err := Read(bytes.NewReader(data[:cut]), int64(cut))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if rec.Ended || rec.End > int64(cut) || (rec.End < int64(cut)) != rec.Torn {
			t.Fatalf("cut at %d: %+v", cut, rec)
		}
		if len(rec.Keys) > 0 && rec.Keys[len(rec.Keys)-1].Offset >= rec.End {
			t.Fatalf("cut at %d: key at %d past the end %d", cut, rec.Keys[len(rec.Keys)-1].Offset, rec.End)
		}
		// The same key frames as far as the file goes, a picture's end where it is there.
		if len(rec.Keys) > len(full.Keys) {
			t.Fatalf("cut at %d: %d keys, more than %d", cut, len(rec.Keys), len(full.Keys))
		}
		for i, k := range rec.Keys {
			if f := full.Keys[i]; k.BaseEnd == 0 && k.BaseEnd != f.BaseEnd && f.BaseEnd > int64(cut) {
				k.BaseEnd = f.BaseEnd
			}
			if k != full.Keys[i] {
				t.Fatalf("cut at %d: keys %+v, want a prefix of %+v", cut, rec.Keys, full.Keys)
			}
		}
		if cut == len(data)-1 && !slices.ContainsFunc(rec.Keys, func(k Key) bool { return k.Delta }) {
			t.Fatalf("no delta key frame in %+v", rec.Keys)
		}
	}
	// Not a recording, or a record over the limit: errors.
	for name, b := range map[string][]byte{
		"empty":    nil,
		"no magic": []byte("RACGATE-RECORDINX\n\x02\x00\x00\x00{}"),
		"version":  append([]byte(Magic), 13, 0, 0, 0, '{', '"', 'v', 'e', 'r', 's', 'i', 'o', 'n', '"', ':', '9', '}'),
		"huge": append(append([]byte(nil), data[:full.First]...),
			KindOutput, 0, 0, 0, 0, 0, 0, 0x40, 0x01),
	} {
		if _, err := Read(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	// Versions 1 (one-shot images), 2 (a stream per key frame), 3 (PREDICT images) and 4
	// (delta key frames) are read; 0 and 5 are not.
	for v := range 6 {
		meta := fmt.Appendf(nil, `{"version":%d}`, v)
		b := binary.LittleEndian.AppendUint32([]byte(Magic), uint32(len(meta)))
		b = append(b, meta...)
		_, err := Read(bytes.NewReader(b), int64(len(b)))
		if ok := v >= 1 && v <= 4; ok != (err == nil) {
			t.Errorf("version %d: %v", v, err)
		}
	}
}

func TestKeyBefore(t *testing.T) {
	rec := &Recording{Keys: []Key{{At: 0, Offset: 10}, {At: 10 * time.Second, Offset: 20}, {At: 20 * time.Second, Offset: 30}}}
	for at, want := range map[time.Duration]int64{0: 10, 9 * time.Second: 10, 10 * time.Second: 20, 19 * time.Second: 20, time.Hour: 30} {
		if k, ok := rec.KeyBefore(at); !ok || k.Offset != want {
			t.Errorf("KeyBefore(%v) = %+v, want offset %d", at, k, want)
		}
	}
	if _, ok := (&Recording{}).KeyBefore(0); ok {
		t.Error("a recording without key frames has one")
	}
}

// castEvents parses an asciicast v2 file: the header and the events.
func castEvents(t *testing.T, path string) (map[string]any, [][3]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var h map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatalf("header %q: %v", lines[0], err)
	}
	var evs [][3]any
	for _, l := range lines[1:] {
		var e [3]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		evs = append(evs, e)
	}
	return h, evs
}

func TestTerminalAsciicast(t *testing.T) {
	dir := t.TempDir()
	m := testMeta()
	m.Protocol = "ssh"
	c, err := CreateTerminal(filepath.Join(dir, "shell"), m, 80, 24, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// é (c3 a9) and ✓ (e2 9c 93) split across writes; a stray 0xff.
	for _, p := range [][]byte{[]byte("caf\xc3"), []byte("\xa9 \xe2"), []byte("\x9c"), []byte("\x93 ok\xff\r\n")} {
		if err := c.Output(p); err != nil {
			t.Fatal(err)
		}
	}
	c.Resize(100, 30)
	c.Input([]byte("ls\r"))
	c.Output([]byte("tail \xe2\x9c")) // held back at Close, then written as it is
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(c.Path()); err != nil || fi.Mode() != 0o600 || !strings.HasSuffix(c.Path(), ExtTerminal) {
		t.Fatalf("%s: %v %v", c.Path(), fi.Mode(), err)
	}
	f, _ := os.Open(c.Path())
	cm, cols, rows, err := ReadCastMeta(f)
	f.Close()
	if err != nil || cm.User != "alice" || cm.Protocol != "ssh" || cols != 80 || rows != 24 {
		t.Fatalf("ReadCastMeta: %+v %dx%d %v", cm, cols, rows, err)
	}
	h, evs := castEvents(t, c.Path())
	if h["version"] != 2.0 || h["width"] != 80.0 || h["height"] != 24.0 || h["timestamp"] != float64(m.Start.Unix()) {
		t.Fatalf("header %v", h)
	}
	if r, _ := h["racgate"].(map[string]any); r["user"] != "alice" || r["protocol"] != "ssh" {
		t.Fatalf("header's racgate %v", h["racgate"])
	}
	var out, codes strings.Builder
	last := -1.0
	for _, e := range evs {
		at, _ := e[0].(float64)
		if at < last {
			t.Fatalf("time goes back: %v", evs)
		}
		last = at
		codes.WriteString(e[1].(string))
		if e[1] == "o" {
			out.WriteString(e[2].(string))
		}
		if e[1] == "r" && e[2] != "100x30" {
			t.Fatalf("resize %v", e)
		}
		if e[1] == "i" && e[2] != "ls\r" {
			t.Fatalf("input %v", e)
		}
	}
	if want := "café ✓ ok\ufffd\r\ntail \ufffd"; out.String() != want && out.String() != "café ✓ ok\ufffd\r\ntail \ufffd\ufffd" {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	if codes.String() != "ooorioo" { // the held-back tail is an event of its own at Close
		t.Fatalf("event codes %q", codes.String())
	}
}

func TestName(t *testing.T) {
	m := Meta{User: "../../etc/passwd", Endpoint: ".hidden desk", Protocol: "vnc", Start: time.Date(2026, 12, 6, 15, 4, 5, 0, time.FixedZone("x", 3600))}
	if got := Name("${date}/${time}-${user}-${endpoint}", m); got != "2026-12-06/20261206T140405Z-_._.._etc_passwd-_hidden_desk" {
		t.Fatalf("name %q", got)
	}
	if got := Base("/rec", "${user}/${time}", m); !strings.HasPrefix(got, "/rec/") || strings.Count(got, "/") != 3 {
		t.Fatalf("base %q", got)
	}
}

// FuzzRead: whatever the file holds, Read returns an index within the file or an error
// wrapping ErrFormat; never a panic or an allocation over the limits.
func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	d, err := CreateDesktop(filepath.Join(dir, "seed"), testMeta())
	if err != nil {
		f.Fatal(err)
	}
	d.Output(key(8, 8))
	d.Output(wire.Frame{ID: 1}.Append(nil))
	d.Input([]byte{1})
	d.Output(key(8, 8)) // a delta key frame over the first, the 2x2 FILL its change
	d.Output(wire.Frame{ID: 2}.Append(wire.Fill{X: 2, Y: 2, W: 2, H: 2, G: 9}.Append(nil)))
	d.Output(wire.Frame{ID: 3}.Append(wire.Fill{X: 1, Y: 1, W: 1, H: 1, B: 9}.Append(nil)))
	d.Close("end")
	seed, _ := os.ReadFile(d.Path())
	f.Add(seed)
	f.Add(seed[:len(seed)-3])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if rec.End > int64(len(b)) || rec.First > rec.End {
			t.Fatalf("index past the file: %+v of %d bytes", rec, len(b))
		}
		for _, k := range rec.Keys {
			r, _, ok := Next(b[k.Offset:])
			if !ok || (r.Kind != KindKey) == !k.Delta || k.Offset < rec.First || k.Offset >= rec.End {
				t.Fatalf("key %+v is no key record", k)
			}
			if !k.Delta {
				continue
			}
			if r, _, ok := Next(b[k.Base:]); !ok || r.Kind != KindKey || k.Base < rec.First || k.BaseEnd <= k.Base || k.BaseEnd > k.Offset {
				t.Fatalf("delta key %+v: no base before it", k)
			}
			from, n := rec.From(bytes.NewReader(b), k)
			if got, err := io.ReadAll(from); err != nil || int64(len(got)) != n {
				t.Fatalf("delta key %+v: read %d of %d bytes: %v", k, len(got), n, err)
			}
		}
		// Played from any key frame, damage is an error, never a panic.
		for _, k := range rec.Keys {
			rec.Replay(bytes.NewReader(b), k, nil)
		}
	})
}
