package gateway

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/recording"
	"github.com/racgate/racgate/render/wire"
)

// recordingConfig is testConfig with the lab provider's sessions recorded into dir, and
// desk at addr.
func recordingConfig(dir, addr, extra string) string {
	return strings.NewReplacer("https://gw.example", "http://gw.example",
		"  - name: lab\n", "  - name: lab\n    recording:\n      path: "+dir+"\n      key-frame-interval: 1s\n"+extra,
		"host: 127.0.0.1:1\n", "host: "+addr+"\n").Replace(testConfig)
}

// onlyFile is the one file under dir.
func onlyFile(t *testing.T, dir string) string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("files under %s: %v, want one", dir, files)
	}
	return files[0]
}

// endRecording closes b's session and returns the one recording under dir, read.
func endRecording(t *testing.T, ts *testServer, b *browser, dir string) (path string, data []byte, rec *recording.Recording) {
	t.Helper()
	b.conn.Close(1000, "")
	waitFor(t, "the session to end", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.sessions) == 0 })
	path = onlyFile(t, dir)
	data, rec = readRecording(t, path)
	return path, data, rec
}

// readRecording reads the desktop recording at path, as far as it is written.
func readRecording(t *testing.T, path string) ([]byte, *recording.Recording) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recording.Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return data, rec
}

// replay plays a desktop recording from key frame k as a player does, and returns the
// canvas and the input messages it holds.
func replay(t *testing.T, data []byte, rec *recording.Recording, k recording.Key) (*wire.Canvas, []wire.Message) {
	t.Helper()
	var input []wire.Message
	c, err := rec.Replay(bytes.NewReader(data), k, func(r recording.Record) {
		if r.Kind == recording.KindInput {
			wire.Decode(r.Payload, func(m wire.Message) error { input = append(input, copyMsg(m)); return nil })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, input
}

// TestXvncRecording: a VNC session is recorded as it runs, with a key frame at most a
// second apart (half a second for a delta); played from any key frame, the recording
// ends on the picture Xvnc itself shows, and the keystrokes are in it with
// include-input. (Whether a key frame comes is TestKeyDue's and TestRecordingStillScreen's:
// a whole screen of one colour is one small predicted image, and needs none.)
func TestXvncRecording(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	dir := t.TempDir()
	ts := newTestServer(t, recordingConfig(dir, x.Addr, "      include-input: true\n      file-name: \"${user}/${time}-${endpoint}\"\n"))
	start := time.Now()
	b := openBrowser(t, ts, "demo", "/ws/desk")
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
	for i, c := range []string{"#203040", "#806020", "#10a050", "#c0c0c0"} {
		x.Run(t, "xsetroot", "-solid", c)
		if i == 1 {
			b.send(wire.Key{Down: true, Keysym: 'q'}, wire.Key{Down: false, Keysym: 'q'})
		}
		time.Sleep(900 * time.Millisecond)
	}
	screen := matchScreen(t, b, x)
	path, data, rec := endRecording(t, ts, b, dir)
	if rel, _ := filepath.Rel(dir, path); !strings.HasPrefix(rel, "demo/") || !strings.HasSuffix(rel, "-desk"+recording.ExtDesktop) {
		t.Fatalf("recorded to %s", rel)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if m := rec.Meta; m.User != "demo" || m.Endpoint != "desk" || m.Protocol != "vnc" || !m.Input || m.KeyFrameInterval != 1000 || m.Start.Before(start) {
		t.Fatalf("meta %+v", m)
	}
	if !rec.Ended || rec.Torn || !strings.Contains(rec.Reason, "closed") {
		t.Fatalf("ended %v torn %v reason %q", rec.Ended, rec.Torn, rec.Reason)
	}
	// About 3.6 s, the first key frame at the start.
	if len(rec.Keys) == 0 || rec.Keys[0].Offset != rec.First || rec.Duration < 3*time.Second {
		t.Fatalf("%d key frames (%+v) in %v", len(rec.Keys), rec.Keys, rec.Duration)
	}
	for i := 1; i < len(rec.Keys); i++ {
		min := 800 * time.Millisecond
		if rec.Keys[i].Delta {
			min /= 2
		}
		if gap := rec.Keys[i].At - rec.Keys[i-1].At; gap < min {
			t.Errorf("key frames %d and %d are %v apart, want %v at least", i-1, i, gap, min)
		}
	}
	for i, k := range rec.Keys {
		c, input := replay(t, data, rec, k)
		if n, first := peers.DiffRGB(c.Image(), screen); n != 0 {
			t.Fatalf("played from key frame %d (%v): %d pixels differ from xwd (%s)", i, k.At, n, first)
		}
		if i == 0 {
			var keys []wire.Key
			for _, m := range input {
				if k, ok := m.(wire.Key); ok {
					keys = append(keys, k)
				}
			}
			if len(keys) != 2 || keys[0] != (wire.Key{Down: true, Keysym: 'q'}) || keys[1] != (wire.Key{Keysym: 'q'}) {
				t.Fatalf("input recorded: %+v", input)
			}
		}
	}
}

// recordedDesk starts a 320x240 Xvnc with a solid background, a racgate that records
// its sessions into the folder it returns with a key frame a second, and a session,
// its first frame drawn.
func recordedDesk(t *testing.T) (*peers.X, *testServer, *browser, string) {
	t.Helper()
	peers.Require(t, "Xvnc", "xwd", "xsetroot")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	x.Run(t, "xsetroot", "-solid", "#203040")
	dir := t.TempDir()
	ts := newTestServer(t, recordingConfig(dir, x.Addr, ""))
	b := openBrowser(t, ts, "demo", "/ws/desk")
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
	return x, ts, b, dir
}

// TestRecordingStillScreen: a key frame is skipped while what was recorded since the
// last one is cheap to replay beside it. A still screen keeps its first key frame over
// several intervals; so does one whose whole screen turned another colour, which the
// viewer sends as tiles and the recording writes as one predicted image; the screen
// still again, none follows. Played from the key frame, the recording ends on xwd's
// picture.
func TestRecordingStillScreen(t *testing.T) {
	x, _, b, dir := recordedDesk(t)
	keys := func() []recording.Key {
		t.Helper()
		_, rec := readRecording(t, onlyFile(t, dir))
		return rec.Keys
	}
	time.Sleep(4500 * time.Millisecond) // four intervals of a still screen
	if k := keys(); len(k) != 1 {
		t.Fatalf("a still screen over four intervals: %d key frames (%+v), want the first only", len(k), k)
	}
	x.Run(t, "xsetroot", "-solid", "#c08040")
	screen := matchScreen(t, b, x)
	time.Sleep(4 * time.Second) // still again
	data, rec := readRecording(t, onlyFile(t, dir))
	if len(rec.Keys) != 1 {
		t.Fatalf("the whole screen another colour, then still for three intervals: %d key frames (%+v), want one", len(rec.Keys), rec.Keys)
	}
	images := map[uint8]int{}
	for b := data[rec.Keys[0].BaseEnd:]; ; {
		r, rest, ok := recording.Next(b)
		if !ok {
			break
		}
		b = rest
		wire.Decode(r.Payload, func(m wire.Message) error {
			if im, ok := m.(wire.Image); ok {
				images[im.Encoding]++
			}
			return nil
		})
	}
	// The viewer's 64-pixel tiles of the 320x240 screen are 20.
	if images[wire.Predict] == 0 || images[wire.Predict] > 3 || len(images) != 1 {
		t.Fatalf("images after the key frame by encoding: %v; want the new colour in a predicted image or few", images)
	}
	c, _ := replay(t, data, rec, rec.Keys[0])
	if n, first := peers.DiffRGB(c.Image(), screen); n != 0 {
		t.Fatalf("played from the key frame: %d pixels differ from xwd (%s)", n, first)
	}
}

// TestRecordingDeltaKeys: a clock appearing and ticking on a still desktop gets delta key
// frames, drawn over the first, full one; played from any key frame, the recording ends
// on the picture Xvnc itself shows, the clock stopped (SIGSTOP) mid-way, its face and
// hands as they were.
func TestRecordingDeltaKeys(t *testing.T) {
	peers.Require(t, "xclock")
	x, ts, b, dir := recordedDesk(t)
	clock := x.Start(t, "xclock", "-geometry", "90x90+20+20", "-update", "1")
	time.Sleep(5 * time.Second)
	if err := clock.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer clock.Process.Signal(syscall.SIGCONT)
	screen := matchScreen(t, b, x)
	time.Sleep(1500 * time.Millisecond)
	_, data, rec := endRecording(t, ts, b, dir)
	deltas := 0
	for i, k := range rec.Keys {
		if k.Delta {
			deltas++
			if k.Base != rec.Keys[0].Offset {
				t.Fatalf("key frame %d (%+v) is drawn over another than the first (%+v)", i, k, rec.Keys[0])
			}
		}
		c, _ := replay(t, data, rec, k)
		if n, first := peers.DiffRGB(c.Image(), screen); n != 0 {
			t.Fatalf("played from key frame %d (%+v): %d pixels differ from xwd (%s)", i, k, n, first)
		}
	}
	if rec.Keys[0].Delta || deltas == 0 {
		t.Fatalf("key frames %+v: want the first full, and deltas over it", rec.Keys)
	}
	// The clock ticked after the first delta: players that started at it, and those that
	// played through it, drew those ticks in the streams begun after it.
	ticks := 0
	first := rec.Keys[slices.IndexFunc(rec.Keys, func(k recording.Key) bool { return k.Delta })]
	for b := data[first.Offset:]; ; {
		r, rest, ok := recording.Next(b)
		if !ok {
			break
		}
		b = rest
		if r.Kind == recording.KindOutput {
			wire.Decode(r.Payload, func(m wire.Message) error {
				if _, ok := m.(wire.Image); ok {
					ticks++
				}
				return nil
			})
		}
	}
	if ticks < 2 {
		t.Fatalf("%d images after the first delta key frame, want the clock's ticks", ticks)
	}
}

// TestRecordingRequired: a recording that cannot be made ends the session where the
// endpoint requires recording, and is only logged where it does not.
func TestRecordingRequired(t *testing.T) {
	peers.Require(t, "Xvnc")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240"})
	dir := t.TempDir()
	blocked := filepath.Join(dir, "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The recording path is a file: no recording can be made under it.
	for _, required := range []bool{true, false} {
		extra := ""
		if required {
			extra = "      recording-required: true\n"
		}
		ts := newTestServer(t, recordingConfig(blocked, x.Addr, extra))
		b := openBrowser(t, ts, "demo", "/ws/desk")
		if required {
			b.wait("CLOSE", 15*time.Second, func(b *browser) bool { return b.closed != nil })
			if b.closed.Code != wire.CloseInternal || !strings.Contains(b.closed.Reason, `could not record the session on "desk"`) {
				t.Fatalf("CLOSE %+v", b.closed)
			}
			continue
		}
		b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
		time.Sleep(300 * time.Millisecond)
		if b.closed != nil || !strings.Contains(ts.logs.text(), "recording failed: the session goes on unrecorded") {
			t.Fatalf("CLOSE %+v; logs:\n%s", b.closed, ts.logs.text())
		}
		b.conn.Close(1000, "")
	}
}

// TestRecordingPlaceholders: every placeholder the config accepts is expanded.
func TestRecordingPlaceholders(t *testing.T) {
	m := recording.Meta{User: "u", Endpoint: "e", Provider: "p", Protocol: "vnc", Session: "s", Start: time.Now()}
	for _, ph := range config.RecordingPlaceholders {
		if got := recording.Name(ph, m); strings.Contains(got, "$") || got == "" {
			t.Errorf("%s expands to %q", ph, got)
		}
	}
}

// text is what was logged so far.
func (l *logTee) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSSHRecording: an SSH session is recorded as asciicast v2: its output is what the
// browser got, byte for byte, with the resize and (include-input) the typed lines.
func TestSSHRecording(t *testing.T) {
	d := peers.StartSSHD(t)
	dir := t.TempDir()
	cfg := strings.Replace(sshConfigYAML(d.Addr, []string{
		"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(d.HostKey),
	}), "  - name: lab\n", "  - name: lab\n    recording: {path: "+dir+", include-input: true}\n", 1)
	ts := newTestServer(t, cfg)
	c := dialTerm(t, ts, "?cols=91&rows=27").start()
	c.wait("HELLO", 15*time.Second, func(c *termClient) bool { return c.hello != nil })
	c.send(typeLine("echo hello-$((6*7)) ✓"))
	c.waitOutput("hello-42 ✓")
	c.send(wire.TerminalResize{Cols: 120, Rows: 33})
	c.send(typeLine("echo size-$((2+1)) $(stty size)"))
	c.waitOutput("size-3 33 120")
	c.send(typeLine("exit"))
	cl := c.waitClose(10 * time.Second)
	if cl.Code != wire.CloseRemoteEnded {
		t.Fatalf("CLOSE %+v", cl)
	}
	waitFor(t, "the session to end", func() bool { ts.mu.Lock(); defer ts.mu.Unlock(); return len(ts.sessions) == 0 })

	path := onlyFile(t, dir)
	if !strings.HasSuffix(path, "-shell"+recording.ExtTerminal) {
		t.Fatalf("recorded to %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var h struct {
		Version, Width, Height int
		Racgate                recording.Meta
	}
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil || h.Version != 2 || h.Width != 91 || h.Height != 27 || h.Racgate.User != "demo" || h.Racgate.Protocol != "ssh" {
		t.Fatalf("header %s (%v)", lines[0], err)
	}
	var out, in strings.Builder
	var resizes []string
	for _, l := range lines[1:] {
		var e [3]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		s, _ := e[2].(string)
		switch e[1] {
		case "o":
			out.WriteString(s)
		case "i":
			in.WriteString(s)
		case "r":
			resizes = append(resizes, s)
		}
	}
	c.mu.Lock()
	got := c.out.String()
	c.mu.Unlock()
	if out.String() != got {
		t.Fatalf("recorded output (%d bytes) is not what the browser got (%d bytes):\n%q\n%q", out.Len(), len(got), out.String(), got)
	}
	if !strings.Contains(in.String(), "echo hello-$((6*7)) ✓\r") || !strings.Contains(in.String(), "exit\r") {
		t.Fatalf("input %q", in.String())
	}
	if len(resizes) != 1 || resizes[0] != "120x33" {
		t.Fatalf("resizes %v", resizes)
	}
}

// TestRDPRecording: an RDP session (freerdp-shadow) is recorded as a VNC one is: played
// from any of its key frames the recording ends on the picture the X server shows.
func TestRDPRecording(t *testing.T) {
	x := rdpDesktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{Security: "tls"})
	dir := t.TempDir()
	y := strings.Replace(rdpConfig(srv.Addr, "username: "+srv.User+", password: "+srv.Password+", security: tls, ignore-cert: true, color-depth: 32", "read-only"),
		"  - name: lab\n", "  - name: lab\n    recording:\n      path: "+dir+"\n      key-frame-interval: 1s\n", 1)
	ts := newTestServer(t, y)
	b := openBrowser(t, ts, "demo", "/ws/desk")
	b.wait("first frame", 20*time.Second, func(b *browser) bool { return b.frames > 0 || b.closed != nil })
	if b.closed != nil {
		t.Fatalf("CLOSE %+v\n%s", b.closed, srv.Log())
	}
	for _, c := range []string{"#603020", "#206030"} {
		x.Run(t, "xsetroot", "-solid", c)
		time.Sleep(1200 * time.Millisecond)
	}
	screen := matchScreen(t, b, x)
	_, data, rec := endRecording(t, ts, b, dir)
	if rec.Meta.Protocol != "rdp" || rec.Meta.Endpoint != "desk" || !rec.Ended || len(rec.Keys) < 2 {
		t.Fatalf("meta %+v, ended %v, %d key frames", rec.Meta, rec.Ended, len(rec.Keys))
	}
	for i, k := range rec.Keys {
		c, _ := replay(t, data, rec, k)
		if n, first := peers.DiffRGB(c.Image(), screen); n != 0 {
			t.Fatalf("played from key frame %d (%v): %d pixels differ from xwd (%s)", i, k.At, n, first)
		}
	}
}
