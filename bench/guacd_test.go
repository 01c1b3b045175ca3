package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/racgate/racgate/bench/guac"
	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/internal/peers"
)

// fakeGuacd speaks the server side of the Guacamole handshake and then sends a small PNG
// and a sync every 20 ms, counting the sync answers. guacd is not packaged in Debian:
// this checks the harness's guacd path end to end, not guacd's figures.
type fakeGuacd struct {
	ln      net.Listener
	answers atomic.Int64
	params  chan map[string]string
}

func startFakeGuacd(t *testing.T) *fakeGuacd {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGuacd{ln: ln, params: make(chan map[string]string, 16)}
	t.Cleanup(func() { ln.Close() })
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 32, 32)))
	blob := base64.StdEncoding.EncodeToString(img.Bytes())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c, blob)
		}
	}()
	return f
}

func (f *fakeGuacd) serve(c net.Conn, blob string) {
	defer c.Close()
	r := guac.NewReader(c)
	send := func(ins ...guac.Instruction) error {
		var b []byte
		for _, i := range ins {
			b = i.Append(b)
		}
		_, err := c.Write(b)
		return err
	}
	if ins, err := r.Read(); err != nil || ins.Opcode != "select" {
		return
	}
	names := []string{"VERSION_1_5_0", "hostname", "port", "password"}
	send(guac.Instruction{Opcode: "args", Args: names})
	for {
		ins, err := r.Read()
		if err != nil {
			return
		}
		if ins.Opcode == "connect" {
			p := map[string]string{}
			for i, v := range ins.Args {
				if i < len(names) {
					p[names[i]] = v
				}
			}
			f.params <- p
			break
		}
	}
	send(guac.Instruction{Opcode: "ready", Args: []string{"$fake"}})
	go func() { // count sync answers
		for {
			ins, err := r.Read()
			if err != nil {
				return
			}
			if ins.Opcode == "sync" {
				f.answers.Add(1)
			}
		}
	}()
	for i := 0; ; i++ {
		s := strconv.Itoa(i)
		err := send(
			guac.Instruction{Opcode: "img", Args: []string{"1", "14", "0", "image/png", "0", "0"}},
			guac.Instruction{Opcode: "blob", Args: []string{"1", blob}},
			guac.Instruction{Opcode: "end", Args: []string{"1"}},
			guac.Instruction{Opcode: "sync", Args: []string{s}})
		if err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGuacdPath(t *testing.T) {
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot")
	f := startFakeGuacd(t)
	dir := t.TempDir()
	o, err := parseFlags([]string{"-duration", "1s", "-warmup", "200ms", "-guacd", f.ln.Addr().String(),
		"-guacd-pid", strconv.Itoa(os.Getpid())}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: dir, log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	sc := scenario{Name: "busy", Sessions: 2, Workload: workloadBusy}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := h.guacd(ctx, sc, "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("skipped %q errors %v", res.Skipped, res.Errors)
	}
	p := <-f.params
	if p["hostname"] != "127.0.0.1" || p["port"] == "" || p["password"] != "" {
		t.Errorf("connect parameters %v", p)
	}
	if res.Gateway != "guacd" || res.Bytes == 0 || res.Frames < 10 || res.FramesPerSec < 10 || res.Encodings["image/png"] == 0 {
		t.Errorf("result %+v", res)
	}
	// -guacd-pid is this process here: its CPU is counted.
	if res.CPUPerSession10s <= 0 || res.RSSBytes <= 0 {
		t.Errorf("CPU %.3f RSS %d", res.CPUPerSession10s, res.RSSBytes)
	}
	if f.answers.Load() < int64(res.Frames) {
		t.Errorf("%d sync answers for %d frames", f.answers.Load(), res.Frames)
	}
	// Ratios pair it with a racgate result of the same scenario.
	rs := report.Ratios([]report.Result{{Scenario: "busy", Gateway: "racgate", BytesPerSec: res.BytesPerSec / 2, CPUPerSession10s: res.CPUPerSession10s / 4}, res})
	if len(rs) != 1 || rs[0].Bytes != 0.5 || rs[0].CPU != 0.25 {
		t.Errorf("ratios %+v", rs)
	}
}

// guacdEnv names a guacd binary to test the harness against. guacd is not packaged in
// Debian and never installed by CI, so this is not a peers.Require peer: without the
// variable the test skips, even under RACGATE_REQUIRE_PEERS.
const guacdEnv = "RACGATE_GUACD"

// startGuacd runs the guacd binary named by guacdEnv in the foreground on a free
// loopback port, stopped by PID at the end of the test.
func startGuacd(t *testing.T, ps *procs) (addr string, pid int) {
	t.Helper()
	bin := os.Getenv(guacdEnv)
	if bin == "" {
		t.Skipf("%s is not set: no guacd to test against (guacd is not packaged in Debian)", guacdEnv)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "-b", "127.0.0.1", "-l", strconv.Itoa(port), "-f", "-L", "info")
	logPath := filepath.Join(t.TempDir(), "guacd.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd.Stdout, cmd.Stderr = lf, lf
	p, err := ps.start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitPort(context.Background(), p, addr); err != nil {
		t.Fatalf("guacd: %v\n%s", err, logTail(logPath))
	}
	return addr, p.pid()
}

// TestRealGuacd checks the harness's Guacamole client against a real guacd and Xvnc:
// the handshake is accepted, guacd sizes the display as asked, sends images the client
// decodes, keeps the session while every sync is answered, and its processes are
// measured.
func TestRealGuacd(t *testing.T) {
	peers.Require(t, "Xvnc", "xterm", "xdotool", "xsetroot")
	ps := &procs{}
	t.Cleanup(ps.stopAll)
	addr, pid := startGuacd(t, ps)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The client on its own: handshake, display size, decoded images.
	dir := t.TempDir()
	x, err := startXvnc(ctx, ps, dir, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := workloadBusy(ctx, x, time.Minute); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(x.Addr)
	c, err := guac.Dial(ctx, addr, guac.Config{Protocol: "vnc", Width: 800, Height: 600,
		Params: map[string]string{"hostname": host, "port": port}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "$") {
		t.Errorf("connection ID %q, want guacd's $UUID", c.ID)
	}
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	err = c.Run(rctx)
	rcancel()
	c.Close()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := c.Stats()
	t.Logf("guacd: %d syncs, %d images decoded, by type %v, %d bytes", st.Syncs, st.Decoded, st.Images, st.Bytes)
	if st.Width != 800 || st.Height != 600 {
		t.Errorf("guacd's display %dx%d, want 800x600", st.Width, st.Height)
	}
	if st.Syncs < 10 || st.Decoded == 0 || st.Images["image/png"]+st.Images["image/webp"]+st.Images["image/jpeg"] == 0 {
		t.Errorf("in 3 s of a scrolling terminal: %+v", st)
	}

	// The harness's guacd path: a measured scenario.
	o, err := parseFlags([]string{"-duration", "2s", "-warmup", "300ms", "-guacd", addr,
		"-guacd-pid", strconv.Itoa(pid)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: t.TempDir(), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	res := h.guacd(ctx, scenario{Name: "busy", Sessions: 1, Workload: workloadBusy}, "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("skipped %q errors %v", res.Skipped, res.Errors)
	}
	if res.BytesPerSec < 1000 || res.FramesPerSec < 5 || res.FirstFrameMs <= 0 {
		t.Errorf("bytes/s %.0f frames/s %.1f first frame %.0f ms", res.BytesPerSec, res.FramesPerSec, res.FirstFrameMs)
	}
	// guacd encodes in its per-connection child: CPU and RSS come from the tree.
	if res.CPUPerSession10s <= 0 || res.RSSPerSession <= 0 {
		t.Errorf("guacd CPU %.3f CPU-s/10 s, RSS/session %.0f", res.CPUPerSession10s, res.RSSPerSession)
	}

	// -recordings: guacd's recording grows as the terminal scrolls.
	h.o.recordings = true
	res = h.guacd(ctx, scenario{Name: "busy", Sessions: 1, Workload: workloadBusy}, "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("recorded: skipped %q errors %v", res.Skipped, res.Errors)
	}
	if res.RecordingBytesPerHour < 1e6 {
		t.Errorf("guacd's recording grew by %.0f bytes per hour", res.RecordingBytesPerHour)
	}
}

// TestGuacdParams: with -guacd, busy gains a pair run with guacd's force-lossless, and
// the connect parameters carry it with the server's address and credentials.
func TestGuacdParams(t *testing.T) {
	o, err := parseFlags([]string{"-scenarios", "busy", "-guacd", "127.0.0.1:4822"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	list := scenarios(o)
	if len(list) != 2 || list[1].Variant != "guacd force-lossless" || list[0].GuacdParams != nil {
		t.Fatalf("scenarios %+v", list)
	}
	g := &guacdGateway{rem: remoteServer{Protocol: "rdp", Addr: "127.0.0.1:3390", Settings: map[string]string{"username": "bench"}}}
	p := g.params(list[1])
	if p["force-lossless"] != "true" || p["hostname"] != "127.0.0.1" || p["port"] != "3390" || p["username"] != "bench" {
		t.Fatalf("params %v", p)
	}
	if p := g.params(list[0]); p["force-lossless"] != "" || p["recording-path"] != "" {
		t.Fatalf("plain busy params %v", p)
	}
	// -recordings: guacd records into the scenario's folder, a file per session.
	g.recDir = "/tmp/bench/guacd-recordings"
	p1, p2 := g.params(list[0]), g.params(list[0])
	if p1["recording-path"] != g.recDir || !strings.HasPrefix(p1["recording-name"], "${GUAC_DATE}-${GUAC_TIME}-") || p1["recording-name"] == p2["recording-name"] {
		t.Fatalf("recording params %v, then %v", p1, p2)
	}
	// Without -guacd the pair is not run.
	o, _ = parseFlags([]string{"-scenarios", "busy"}, io.Discard)
	if list := scenarios(o); len(list) != 1 {
		t.Fatalf("scenarios without -guacd %+v", list)
	}
}

// TestGuacdSettle: a scenario through guacd starts once guacd's earlier connection
// processes have ended, and fails if one stays.
func TestGuacdSettle(t *testing.T) {
	peers.Require(t, "sh", "sleep")
	run := func(script string) (*exec.Cmd, *guacdGateway) {
		cmd := exec.Command("sh", "-c", script)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		time.Sleep(100 * time.Millisecond) // sh has started its child
		return cmd, &guacdGateway{pid: cmd.Process.Pid}
	}
	// A child that ends after 700 ms, then none.
	_, g := run("sleep 0.7; exec sleep 30")
	start := time.Now()
	if err := g.start(context.Background(), nil, "", remoteServer{}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("start returned after %v, before the child ended", el)
	}
	// A child that stays.
	defer func(d time.Duration) { guacdSettle = d }(guacdSettle)
	guacdSettle = 300 * time.Millisecond
	_, g = run("sleep 30; true")
	if err := g.start(context.Background(), nil, "", remoteServer{}); err == nil || !strings.Contains(err.Error(), "child processes") {
		t.Errorf("start with a lasting child = %v", err)
	}
}
