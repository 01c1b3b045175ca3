package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/internal/peers"
)

// testDir holds what the package's tests share: the racgate binary, built once.
var testDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "racgate-bench-test-")
	if err != nil {
		panic(err)
	}
	testDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

var racgateBin = sync.OnceValues(func() (string, error) {
	bin, _, err := buildRacgate(context.Background(), testDir)
	return bin, err
})

func testRacgate(t *testing.T) string {
	t.Helper()
	bin, err := racgateBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestSmoke runs the busy terminal (2 sessions) and the typing latency scenario for a few
// seconds each through a real racgate process against real Xvnc, and checks that every
// figure is there and sane.
// runBench runs the harness with args; stderr holds its progress and logs.
func runBench(ctx context.Context, t *testing.T, args ...string) (*report.Run, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	o, err := parseFlags(args, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	o.progress = &stderr
	run, err := execute(ctx, o)
	if err != nil {
		t.Fatalf("execute: %v\n%s", err, stderr.String())
	}
	return run, &stderr
}

func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke run starts Xvnc and racgate")
	}
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot", "go")
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "out.json")
	svgDir := filepath.Join(dir, "svg")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, stderr := runBench(ctx, t, "-racgate", testRacgate(t), "-scenarios", "busy,typing", "-sessions", "2", "-duration", "3s",
		"-warmup", "500ms", "-samples", "40", "-json", jsonPath, "-svg", svgDir)
	if len(run.Results) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(run.Results), run.Results)
	}
	for _, r := range run.Results {
		if r.Skipped != "" || len(r.Errors) > 0 {
			t.Fatalf("%s: skipped %q, errors %v\n%s", r.Scenario, r.Skipped, r.Errors, stderr.String())
		}
		// typing stops at -samples key presses, before the 3 s window ends
		if r.Gateway != "racgate" || r.Seconds < 0.5 || r.Seconds > 10 {
			t.Errorf("%s: gateway %q, window %.1f s", r.Scenario, r.Gateway, r.Seconds)
		}
		if r.FirstFrameMs <= 0 || r.FirstFrameMs > 30000 || r.FirstFrameMax < r.FirstFrameMs {
			t.Errorf("%s: first frame %.1f ms (max %.1f)", r.Scenario, r.FirstFrameMs, r.FirstFrameMax)
		}
		if r.RSSBytes <= 0 || r.Threads <= 0 {
			t.Errorf("%s: RSS %d, threads %d", r.Scenario, r.RSSBytes, r.Threads)
		}
	}
	busy, typing := run.Results[0], run.Results[1]
	if busy.Scenario != "busy" || busy.Sessions != 2 || typing.Scenario != "typing" {
		t.Fatalf("scenarios %q (%d sessions), %q", busy.Scenario, busy.Sessions, typing.Scenario)
	}
	// A scrolling terminal: many frames, kilobytes a second, real CPU in racgate and Xvnc.
	if busy.Bytes == 0 || busy.BytesPerSec < 1000 || busy.Frames < 4 || busy.FramesPerSec <= 1 {
		t.Errorf("busy: %d bytes (%.0f/s), %d frames (%.1f/s per session)", busy.Bytes, busy.BytesPerSec, busy.Frames, busy.FramesPerSec)
	}
	if busy.CPUPerSession10s <= 0 || busy.ServerCPU10s <= 0 || busy.CPUTotal10s < busy.CPUPerSession10s {
		t.Errorf("busy: CPU %.3f s/session/10s, total %.3f, Xvnc %.3f", busy.CPUPerSession10s, busy.CPUTotal10s, busy.ServerCPU10s)
	}
	if len(busy.Encodings) == 0 {
		t.Errorf("busy: no IMAGE bytes counted by encoding")
	}
	// Latency: key presses reached the screen, within a second, with the shares adding up.
	l := typing.Latency
	if l == nil || l.Samples < 10 {
		t.Fatalf("typing: latency %+v", l)
	}
	if l.Total.P50 <= 0 || l.Total.P99 < l.Total.P50 || l.Total.Max > 1000 {
		t.Errorf("typing: latency quantiles %+v", l.Total)
	}
	if l.Server.P50 <= 0 || l.Server.P50 > l.Total.P99 || l.Gateway.P50 < 0 || l.Gateway.P50 > l.Total.P50 {
		t.Errorf("typing: server share %+v, gateway share %+v, total %+v", l.Server, l.Gateway, l.Total)
	}
	if l.Lost > l.Samples/4 {
		t.Errorf("typing: %d of %d key presses lost", l.Lost, l.Samples+l.Lost)
	}

	// The outputs: JSON that reads back, a table, SVG files.
	if err := report.WriteJSON(jsonPath, run); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Run
	if err := json.Unmarshal(b, &back); err != nil || len(back.Results) != 2 || back.Results[0].Bytes != busy.Bytes {
		t.Fatalf("JSON round trip: %v, %+v", err, back.Results)
	}
	var table bytes.Buffer
	report.Table(&table, run)
	if !strings.Contains(table.String(), "busy") || !strings.Contains(table.String(), "typing") {
		t.Errorf("table lacks scenarios:\n%s", table.String())
	}
	if err := report.WriteSVG(svgDir, run); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
}

// TestRecordingBytes: with -recordings racgate records the busy terminal, and the
// recording's growth over the window is reported: less than the wire carried, since a
// recording takes at most ten frames a second (frame-interval) where the browser gets up
// to fifty, and more than nothing.
func TestRecordingBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc and racgate")
	}
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot", "go")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, stderr := runBench(ctx, t, "-racgate", testRacgate(t), "-scenarios", "busy", "-duration", "3s", "-warmup", "300ms", "-recordings")
	if len(run.Results) != 1 || run.Results[0].Skipped != "" || len(run.Results[0].Errors) > 0 {
		t.Fatalf("results %+v\n%s", run.Results, stderr.String())
	}
	r := run.Results[0]
	wire := r.BytesPerSec * 3600
	t.Logf("recording %.1f MB per session-hour, wire %.1f MB per hour", r.RecordingBytesPerHour/1e6, wire/1e6)
	if r.RecordingBytesPerHour < 0.05*wire || r.RecordingBytesPerHour > wire { // ten frames a second, the wire up to fifty
		t.Errorf("recording %.0f bytes per hour against %.0f on the wire", r.RecordingBytesPerHour, wire)
	}
	var table bytes.Buffer
	report.Table(&table, run)
	if !strings.Contains(table.String(), "busy (racgate) recording: ") {
		t.Errorf("the table lacks the recording line:\n%s", table.String())
	}
}

// TestAlternation: scenarios alternate which gateway runs first, and -guacd-first
// starts the other way round.
func TestAlternation(t *testing.T) {
	for _, first := range []bool{false, true} {
		o := &options{guacdFirst: first}
		for i := range 4 {
			if got, want := o.guacdFirstIn(i), first == (i%2 == 0); got != want {
				t.Errorf("-guacd-first=%v, scenario %d: guacd first %v", first, i, got)
			}
		}
		if o.guacdFirstIn(0) == o.guacdFirstIn(1) {
			t.Errorf("-guacd-first=%v: scenarios 0 and 1 run in the same order", first)
		}
	}
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	// make bench passes bin/racgate: each scenario runs in its own folder, so the path
	// must not stay relative.
	if o, err := parseFlags([]string{"-racgate", "bin/racgate"}, &stderr); err != nil || !filepath.IsAbs(o.racgate) || !strings.HasSuffix(o.racgate, "/bin/racgate") {
		t.Fatalf("-racgate bin/racgate: %q %v", o.racgate, err)
	}
	o, err := parseFlags([]string{"-scale", "1, 10,1000", "-scenarios", "busy,scale"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.scale) != 3 || o.scale[2] != 1000 || !o.want("scale") || o.want("idle") {
		t.Fatalf("options %+v", o)
	}
	list := scenarios(o)
	if len(list) != 4 || list[0].Name != "busy" || list[3].Sessions != 1000 {
		t.Fatalf("scenarios %+v", list)
	}
	for _, bad := range [][]string{{"-scale", "0"}, {"-scale", "1001"}, {"-sessions", "0"}, {"-duration", "-1s"}, {"extra"}} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	// Browser scenarios: only when named, in the canvas modes and clients asked for.
	o, err = parseFlags([]string{"-scenarios", "busy-unpaced,browser-scroll", "-browser-canvas", "software,gpu", "-browser-clients", "noVNC,racgate"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if list = scenarios(o); len(list) != 1 || list[0].Name != "busy-unpaced" || !o.wantBrowser("browser-scroll") || o.wantBrowser("browser-busy") ||
		!slices.Equal(o.browserCanvas, []string{"software", "gpu"}) || !slices.Equal(o.browserClients, []string{"noVNC", "racgate"}) {
		t.Fatalf("options %+v, scenarios %+v", o, list)
	}
	if o, _ = parseFlags(nil, &stderr); o.wantBrowser("browser-busy") || !slices.Equal(o.browserClients, []string{"racgate", "noVNC", "guacamole-common-js"}) {
		t.Fatalf("default options %+v: browser scenarios run only when named", o)
	}
	for _, bad := range [][]string{{"-browser-canvas", "webgl"}, {"-browser-clients", "vnc.js"}} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	// SSH scenarios run a command on sshd in a 128x48 terminal.
	o, _ = parseFlags([]string{"-scenarios", "ssh-idle,ssh-flood"}, &stderr)
	list = scenarios(o)
	if len(list) != 2 || list[0].SSH != idleCommand || list[1].SSH != floodScript || !list[1].Flood ||
		list[1].Settings.Get("cols") != "128" || list[1].Settings.Get("rows") != "48" {
		t.Fatalf("ssh scenarios %+v", list)
	}
}

// TestSSHFlood runs ssh-flood for 2 s through racgate against a real sshd: the client
// must get terminal output and FRAMEs (acknowledged, or the flow stops), racgate must use
// CPU, and what arrived must be no more than the flood's own count of what it wrote (the
// gateway drops output the browser could never show, and deflates the rest).
func TestSSHFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd and racgate")
	}
	peers.Require(t, "sshd", "ssh-keygen", "useradd", "chpasswd", "perl")
	peers.RequireRoot(t, "TestSSHFlood (a local user and sshd)")
	o, err := parseFlags([]string{"-duration", "2s", "-warmup", "500ms", "-scenarios", "ssh-flood"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	list := scenarios(o)
	if len(list) != 1 {
		t.Fatalf("scenarios %+v", list)
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := h.racgate(ctx, list[0], "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("skipped %q errors %v", res.Skipped, res.Errors)
	}
	t.Logf("bytes %d frames %d terminal %d remote %d CPU-s/10s %.3f remote B/CPU-s %.0f",
		res.Bytes, res.Frames, res.TerminalBytes, res.RemoteBytes, res.CPUPerSession10s, res.RemoteBytesPerCPUSec)
	if res.Bytes == 0 || res.Frames == 0 || res.TerminalBytes == 0 || res.RemoteBytes == 0 ||
		res.CPUPerSession10s <= 0 || res.RemoteBytesPerCPUSec <= 0 || res.RSSBytes <= 0 {
		t.Fatalf("result %+v", res)
	}
	// The pty adds a CR to each line of about 8 bytes; up to 4 frames of 64 KiB may be
	// in flight at either end of the window.
	if hi := res.RemoteBytes*2 + 512<<10; res.TerminalBytes > hi {
		t.Fatalf("terminal bytes %d, remote wrote %d", res.TerminalBytes, res.RemoteBytes)
	}
	// Elided and deflated, the flood costs the websocket a fraction of its output.
	if res.Bytes*4 > res.RemoteBytes {
		t.Fatalf("websocket bytes %d for %d bytes of remote output: want under a quarter", res.Bytes, res.RemoteBytes)
	}
}

// TestRenderMatrix runs three render variants on one busy terminal for a few seconds and
// checks their figures. (All nine under -race on two shared cores would not get past
// their first frames; DisablePalette alone sends megabyte frames that the race detector
// slows to a crawl.)
func TestRenderMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc")
	}
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot")
	o, err := parseFlags([]string{"-record", "1s", "-warmup", "1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: t.TempDir(), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var variants []renderVariant
	for _, v := range renderVariants {
		if v.name == "default (lossless)" || v.name == "DisableFill" || v.name == "TileSize=32" {
			variants = append(variants, v)
		}
	}
	rs := h.renderMatrix(ctx, "render-busy", workloadBusy, variants, "test")
	if len(rs) != 3 {
		t.Fatalf("%d results for 3 variants", len(rs))
	}
	by := map[string]report.Result{}
	for _, r := range rs {
		if r.Skipped != "" || len(r.Errors) > 0 {
			t.Fatalf("%s: skipped %q errors %v", r.Variant, r.Skipped, r.Errors)
		}
		if r.Bytes == 0 || r.Frames == 0 || r.CPUPerSession10s <= 0 {
			t.Errorf("%s: %d bytes, %d frames, %.3f CPU", r.Variant, r.Bytes, r.Frames, r.CPUPerSession10s)
		}
		by[r.Variant] = r
	}
	// Terminal text has few colours: palettes carry it, unless switched off.
	if by["default (lossless)"].Encodings["zpalette"] == 0 {
		t.Errorf("default: no ZPALETTE bytes: %v", by["default (lossless)"].Encodings)
	}
	if n := by["default (lossless)"].Encodings["jpeg"]; n != 0 {
		t.Errorf("lossless default: %d JPEG bytes", n)
	}
}

// TestCanvasMatchesScreen: what the harness's client draws from racgate's frames is the X
// screen, pixel for pixel (xwd -root, once the screen is still): the bytes and frames the
// harness counts are the real picture.
func TestCanvasMatchesScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc and racgate")
	}
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot", "xwd", "go")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	ps := &procs{}
	defer ps.stopAll()
	x, err := startXvnc(ctx, ps, dir, 640, 480)
	if err != nil {
		t.Fatal(err)
	}
	if err := workloadTyping(ctx, x, time.Minute); err != nil {
		t.Fatal(err)
	}
	gw := &racgateGateway{bin: testRacgate(t), log: slog.New(slog.DiscardHandler), width: 640, height: 480}
	if err := gw.start(ctx, ps, dir, remoteServer{Protocol: "vnc", Addr: x.Addr}); err != nil {
		t.Fatal(err)
	}
	// After each FRAME (on Run's goroutine, where the canvas may be read) keep a copy
	// of the canvas, to compare with the screen while the session runs.
	var (
		mu   sync.Mutex
		last *image.RGBA
		rv   racgateViewer
	)
	v, err := gw.dial(ctx, scenario{}, 0, func(time.Time, bool) {
		img := rv.s.Canvas().Image()
		cp := &image.RGBA{Pix: bytes.Clone(img.Pix), Stride: img.Stride, Rect: img.Rect}
		mu.Lock()
		last = cp
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	rv = v.(racgateViewer)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.run(rctx) }()
	// racgate drops input until the session is up: wait for the first FRAME.
	for deadline := time.Now().Add(20 * time.Second); v.stats().Frames == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no FRAME 20 s after the session opened")
		}
	}
	// Type something so that the picture is more than a blank terminal. Without a
	// window manager the keyboard follows the pointer: wait until it is there.
	if err := v.pointer(ctx, 100, 100); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := x.run(ctx, "xdotool", "getmouselocation")
		if err == nil && strings.HasPrefix(string(out), "x:100 y:100 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pointer is at %q, not at (100,100), 10 s after POINTER", out)
		}
	}
	for _, ch := range "racgate bench" {
		if err := v.press(ctx, uint32(ch), ""); err != nil {
			t.Fatal(err)
		}
	}
	var screen *image.RGBA
	for prev := []byte(nil); ; {
		time.Sleep(300 * time.Millisecond)
		out, err := x.run(ctx, "xwd", "-root", "-silent")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(out, prev) {
			if screen, err = peers.DecodeXWD(out); err != nil {
				t.Fatal(err)
			}
			break
		}
		prev = out
	}
	// The last frames reach the client: wait until a FRAME leaves the canvas equal
	// to the still screen.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		img := last
		mu.Unlock()
		n := -1
		if img != nil {
			n = pixelDiff(img, screen)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the screen was still, the canvas differs from it in %d pixels (-1: no frame)", n)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("session: %v", err)
	}
	v.close()
	got := v.(racgateViewer).s.Canvas().Image()
	if diff := pixelDiff(got, screen); diff != 0 {
		t.Fatalf("%d of %d pixels differ from the X screen (-1: sizes %v, %v)", diff, len(got.Pix)/4, got.Rect, screen.Rect)
	}
	if st := v.stats(); st.Frames == 0 || st.Bytes == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// pixelDiff counts the pixels whose R, G or B differ; -1 if the sizes differ.
func pixelDiff(a, b *image.RGBA) int {
	if a.Rect != b.Rect || len(a.Pix) != len(b.Pix) {
		return -1
	}
	diff := 0
	for i := 0; i < len(a.Pix); i += 4 {
		if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
			diff++
		}
	}
	return diff
}

// TestRDPBusy: the busy terminal over RDP, freerdp-shadow-cli sharing an Xvfb with NLA
// checked against a SAM file, through racgate.
func TestRDPBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvfb, freerdp-shadow-cli and racgate")
	}
	peers.Require(t, "Xvfb", "freerdp-shadow-cli", "xterm", "xdotool", "xsetroot", "perl")
	o, err := parseFlags([]string{"-duration", "2s", "-warmup", "500ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := h.racgate(ctx, scenario{Name: "rdp-busy", Sessions: 1, Workload: workloadBusy, RDP: true}, "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("skipped %q errors %v", res.Skipped, res.Errors)
	}
	if res.Bytes == 0 || res.Frames == 0 || res.CPUPerSession10s <= 0 || res.ServerCPU10s <= 0 || res.RSSBytes <= 0 {
		t.Fatalf("result %+v", res)
	}
}

// TestSFTPBench runs the sftp scenario with a small file against a real sshd: both
// clients move it both ways, and the table compares them.
func TestSFTPBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd and racgate")
	}
	peers.Require(t, "sshd", "sftp", "ssh-keygen", "useradd", "chpasswd", "go")
	peers.RequireRoot(t, "the sftp scenario")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, stderr := runBench(ctx, t, "-racgate", testRacgate(t), "-scenarios", "sftp", "-sftp-size", "8")
	if run.TransferError != "" || len(run.Transfers) != 2 || len(run.Results) != 0 {
		t.Fatalf("transfers %+v, error %q\n%s", run.Transfers, run.TransferError, stderr.String())
	}
	for i, want := range []string{"upload", "download"} {
		tr := run.Transfers[i]
		if tr.Direction != want || tr.Bytes != 8<<20 || tr.Racgate <= 0 || tr.OpenSSH <= 0 {
			t.Errorf("transfer %+v", tr)
		}
	}
	var table bytes.Buffer
	report.Table(&table, run)
	if !strings.Contains(table.String(), "racgate/OpenSSH") || !regexp.MustCompile(`(?m)^\s+download\s+8\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+x$`).MatchString(table.String()) {
		t.Errorf("the table:\n%s", table.String())
	}
}

// TestDesktops runs the desktops scenario with 2 desktops for a second through racgate:
// two Xvnc, two endpoints, one session on each, every session drawing frames.
func TestDesktops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc and racgate")
	}
	peers.Require(t, "Xvnc", "xterm", "xclock", "xsetroot")
	o, err := parseFlags([]string{"-duration", "1s", "-warmup", "300ms", "-scenarios", "desktops", "-desktops", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	list := scenarios(o)
	if len(list) != 1 || list[0].Desktops != 2 || list[0].Sessions != 2 {
		t.Fatalf("scenarios %+v", list)
	}
	rem := remoteServer{Protocol: "vnc", Addr: "127.0.0.1:5901", Others: []string{"127.0.0.1:5902"}}
	cfg := configYAML(rem, "u", "h", "")
	if !strings.Contains(cfg, "name: bench\n") || !strings.Contains(cfg, "name: bench-1\n") || !strings.Contains(cfg, "host: 127.0.0.1:5902\n") {
		t.Fatalf("config for two desktops:\n%s", cfg)
	}
	for i, want := range []string{"127.0.0.1:5901", "127.0.0.1:5902", "127.0.0.1:5901"} {
		if k, addr := rem.desktop(i); addr != want || endpointFor(k) != []string{"bench", "bench-1", "bench"}[i] {
			t.Fatalf("session %d: desktop %d %s, want %s", i, k, addr, want)
		}
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := h.racgate(ctx, list[0], "test")
	// (Two idle Xvnc may use no 10 ms tick of CPU in a second: ServerCPU10s may be 0.)
	if res.Skipped != "" || len(res.Errors) > 0 || res.Frames < 2 || res.ServerCPU10s < 0 || res.USSPerSession <= 0 {
		t.Fatalf("result %+v", res)
	}
}

// TestLinkTyping runs the latency probe through racgate behind the 150 ms link for 2 s:
// every key must take at least the link's round trip (the sessions do go through it) and
// not much more (the link adds no more than its delay and rate).
func TestLinkTyping(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc and racgate")
	}
	peers.Require(t, "Xvnc", "xterm", "xsetroot", "xdotool")
	o, err := parseFlags([]string{"-duration", "2s", "-warmup", "300ms", "-scenarios", "link-typing"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var sc *scenario
	for _, s := range scenarios(o) {
		if s.Link != nil && s.Link.Delay == 75*time.Millisecond {
			sc = &s
		}
	}
	if sc == nil || !sc.Latency {
		t.Fatalf("no 150 ms link-typing in %+v", scenarios(o))
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := h.racgate(ctx, *sc, "test")
	if res.Skipped != "" || len(res.Errors) > 0 || res.Latency == nil || res.Latency.Samples < 3 {
		t.Fatalf("result %+v", res)
	}
	l := res.Latency.Total
	t.Logf("latency p50 %.1f p99 %.1f ms over %d keys; first frame %.0f ms", l.P50, l.P99, res.Latency.Samples, res.FirstFrameMs)
	if l.P50 < 150 || l.P50 > 150+100 {
		t.Errorf("latency p50 %.1f ms behind a 150 ms round trip", l.P50)
	}
	// The websocket's upgrade and the first frame each cross the link.
	if res.FirstFrameMs < 300 {
		t.Errorf("first frame after %.0f ms: faster than two round trips", res.FirstFrameMs)
	}
}
