package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/bench/client"
	"github.com/racgate/racgate/bench/procstat"
	"github.com/racgate/racgate/bench/report"
)

const endpointName = "bench"

// endpointFor is the endpoint of desktop k: bench, then bench-1, bench-2...
func endpointFor(k int) string {
	if k == 0 {
		return endpointName
	}
	return fmt.Sprintf("%s-%d", endpointName, k)
}

// configYAML is racgate's config for one scenario: one user (an administrator, so that
// its login may read /metrics) and one endpoint on each of rem's desktops. A
// VNC endpoint's clients may choose quality, compress-level, encodings and
// render-min-frame-interval. recordings, when not "", is the folder the provider's
// sessions are recorded into (-recordings).
func configYAML(rem remoteServer, user, hash, recordings string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `listen: 127.0.0.1:0
store: memory
admin-group: bench
users:
  - username: %s
    password-hash: %q
    groups: [bench]
providers:
  - name: bench
%sendpoints:
`, user, hash, recordingYAML(recordings))
	for k := range 1 + len(rem.Others) {
		_, addr := rem.desktop(k)
		fmt.Fprintf(&b, `  - name: %s
    provider: bench
    protocol: %s
    host: %s
    maximum-connections: -1
`, endpointFor(k), rem.Protocol, addr)
		if rem.Protocol == "vnc" {
			b.WriteString("    connection-settings: [quality, compress-level, encodings, render-min-frame-interval]\n")
		}
		if len(rem.Settings) > 0 {
			b.WriteString("    settings:\n")
			for _, k := range slices.Sorted(maps.Keys(rem.Settings)) {
				fmt.Fprintf(&b, "      %s: %q\n", k, rem.Settings[k])
			}
		}
	}
	return b.String()
}

// recordingYAML is the provider's recording into dir, with racgate's default key frames.
func recordingYAML(dir string) string {
	if dir == "" {
		return ""
	}
	return fmt.Sprintf("    recording: {path: %q, key-frame-interval: 10s}\n", dir)
}

// racgateGateway runs racgate as its own process for one scenario.
type racgateGateway struct {
	bin           string
	log           *slog.Logger
	width, height int    // the browser's size, sent as the browser does
	pprofDir      string // "": no profiles
	record        bool   // -recordings: sessions are recorded into recDir
	recDir        string
	rg            *racgateProc
	hc            *http.Client
	rem           remoteServer
	viaBase       string // "": sessions dial rg.Base; else through a slow link (via)
}

func (g *racgateGateway) target() string  { return strings.TrimPrefix(g.rg.Base, "http://") }
func (g *racgateGateway) via(addr string) { g.viaBase = "http://" + addr }

func (g *racgateGateway) name() string { return "racgate" }

func (g *racgateGateway) start(ctx context.Context, ps *procs, dir string, rem remoteServer) error {
	user, pass := "bench", randomPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		return err
	}
	if g.record {
		g.recDir = filepath.Join(dir, "recordings")
	}
	g.rem = rem
	g.rg, err = startRacgate(ctx, ps, g.bin, dir, configYAML(rem, user, string(hash), g.recDir), g.pprofDir != "", g.log)
	if err != nil {
		return err
	}
	g.hc, err = client.Login(ctx, g.rg.Base, user, pass)
	return err
}

func (g *racgateGateway) proc() (procstat.Sample, bool, error) {
	s, err := procstat.Read(g.rg.p.pid())
	return s, err == nil, err
}

func (g *racgateGateway) dial(ctx context.Context, sc scenario, i int, onFrame func(time.Time, bool)) (viewer, error) {
	o := client.Options{Width: g.width, Height: g.height, Settings: sc.Settings, AckDelay: sc.AckDelay}
	if sc.Sound.on() {
		o.Audio = sc.Sound.Codecs
	}
	if onFrame != nil {
		o.OnFrame = func(ev client.FrameEvent) { onFrame(ev.At, ev.Changed) }
	}
	k, _ := g.rem.desktop(i)
	base := g.rg.Base
	if g.viaBase != "" {
		base = g.viaBase
	}
	s, err := client.Dial(ctx, g.hc, base, endpointFor(k), o)
	if err != nil {
		return nil, err
	}
	return racgateViewer{s}, nil
}

func (g *racgateGateway) recordingBytes() (int64, bool, error) { return recordingBytes(g.recDir) }

func (g *racgateGateway) finish(ctx context.Context, res *report.Result) {
	res.Goroutines = goroutines(ctx, g.hc, g.rg.Base)
}

type racgateViewer struct{ s *client.Session }

func (v racgateViewer) run(ctx context.Context) error { return v.s.Run(ctx) }
func (v racgateViewer) close()                        { v.s.Close() }

var encodingNames = [...]string{"zrgb", "zpalette", "jpeg", "png", "zrgb1", "zpalette1"}

func (v racgateViewer) stats() viewStats {
	st := v.s.Stats()
	out := viewStats{Bytes: st.Bytes, Frames: st.Frames, TerminalBytes: st.TerminalBytes, FirstFrame: st.FirstFrame, ImageBytes: map[string]uint64{},
		AudioPackets: st.AudioPackets, AudioBytes: st.AudioBytes, AudioPCM: st.AudioPCM, AudioUndecoded: st.AudioUndecoded}
	if st.AudioCodec != 0 {
		out.AudioCodec = st.AudioCodec.String()
	}
	for i, name := range encodingNames {
		out.ImageBytes[name] = st.ImageBytes[i]
	}
	return out
}

func (v racgateViewer) press(ctx context.Context, keysym uint32, code string) error {
	if err := v.s.Key(ctx, keysym, code, true); err != nil {
		return err
	}
	return v.s.Key(ctx, keysym, code, false)
}

func (v racgateViewer) pointer(ctx context.Context, x, y int) error {
	return v.s.Pointer(ctx, x, y, 0)
}

func (v racgateViewer) audioOnsets() []time.Time { return v.s.AudioOnsets() }

// goroutines reads go_goroutines from racgate's /metrics, or -1 when it is not there.
func goroutines(ctx context.Context, hc *http.Client, base string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return -1
	}
	resp, err := hc.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		for _, name := range []string{"go_goroutines ", "racgate_goroutines "} {
			if v, ok := strings.CutPrefix(sc.Text(), name); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					return int(f)
				}
			}
		}
	}
	return -1
}

// profiler is a gateway that can record its own CPU profile over a window.
type profiler interface {
	// profile starts recording CPU for d into a file named for name, and the heap after
	// it; stop waits for both.
	profile(ctx context.Context, d time.Duration, name string) (stop func())
}

func (g *racgateGateway) profile(ctx context.Context, d time.Duration, name string) func() {
	if g.pprofDir == "" || g.rg.Debug == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := fetchProfile(ctx, g.rg.Debug+fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(d.Round(time.Second)/time.Second))),
			filepath.Join(g.pprofDir, name+".pprof")); err != nil {
			g.log.Warn("cpu profile", "scenario", name, "err", err)
		}
	})
	wg.Go(func() {
		// The heap near the end of the window, while the sessions still run: what they
		// hold, as of a fresh garbage collection.
		select {
		case <-ctx.Done():
			return
		case <-time.After(d * 9 / 10):
		}
		if err := fetchProfile(ctx, g.rg.Debug+"/debug/pprof/heap?gc=1", filepath.Join(g.pprofDir, name+".heap.pprof")); err != nil {
			g.log.Warn("heap profile", "scenario", name, "err", err)
		}
	})
	return wg.Wait
}

// fetchProfile gets a profile from racgate's pprof listener and writes it to path.
func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
