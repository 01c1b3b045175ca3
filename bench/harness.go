package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/bench/client"
	"github.com/racgate/racgate/bench/procstat"
	"github.com/racgate/racgate/bench/report"
)

type harness struct {
	o    *options
	dir  string
	bin  string
	log  *slog.Logger
	prog *report.Progress
	seq  int
}

// Bounds of a scenario's set-up.
const (
	firstFrameTimeout = 60 * time.Second
	dialParallel      = 16 // websockets opened at once
	endpointName      = "bench"
)

// configYAML is racgate's config for one scenario: one user, one endpoint on addr whose
// clients may choose quality, compress-level and encodings.
func configYAML(addr, user, hash string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
store: memory
users:
  - username: %s
    password-hash: %q
providers:
  - name: bench
endpoints:
  - name: %s
    provider: bench
    protocol: vnc
    host: %s
    maximum-connections: -1
    connection-settings: [quality, compress-level, encodings]
`, user, hash, endpointName, addr)
}

// newDir makes a fresh directory for one scenario.
func (h *harness) newDir(name string) (string, error) {
	h.seq++
	d := filepath.Join(h.dir, fmt.Sprintf("%02d-%s", h.seq, strings.ReplaceAll(name, "/", "_")))
	return d, os.MkdirAll(d, 0o700)
}

// racgate runs sc through racgate and measures it. Failures become the result's Errors
// (or Skipped when a server is missing): one broken scenario does not stop the run.
func (h *harness) racgate(ctx context.Context, sc scenario, label string) report.Result {
	res := report.Result{Scenario: sc.Name, Variant: sc.Variant, Gateway: "racgate", Sessions: sc.Sessions, Goroutines: -1}
	if sc.Skip != "" {
		res.Skipped = sc.Skip
		return res
	}
	ps := &procs{}
	defer ps.stopAll()
	if err := h.racgateRun(ctx, ps, sc, label, &res); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			res.Skipped = err.Error()
		} else {
			res.Errors = append(res.Errors, err.Error())
		}
		h.log.Warn("scenario failed", "scenario", sc.Name, "variant", sc.Variant, "err", err)
	}
	return res
}

func (h *harness) racgateRun(ctx context.Context, ps *procs, sc scenario, label string, res *report.Result) error {
	o := h.o
	dir, err := h.newDir(sc.Name)
	if err != nil {
		return err
	}
	h.prog.Set(label + ": starting Xvnc")
	x, err := startXvnc(ctx, ps, dir, o.width, o.height)
	if err != nil {
		return err
	}
	window := o.warmup + o.duration + 30*time.Second // workloads outlive the measurement
	if err := sc.Workload(ctx, x, window); err != nil {
		return fmt.Errorf("workload: %w", err)
	}
	user, pass := "bench", randomPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		return err
	}
	h.prog.Set(label + ": starting racgate")
	rg, err := startRacgate(ctx, ps, h.bin, dir, configYAML(x.Addr, user, string(hash)), h.log)
	if err != nil {
		return err
	}
	hc, err := client.Login(ctx, rg.Base, user, pass)
	if err != nil {
		return err
	}
	idle, err := procstat.Read(rg.p.pid())
	if err != nil {
		return err
	}

	h.prog.Set(fmt.Sprintf("%s: opening %d sessions", label, sc.Sessions))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lat *latencyProbe
	if sc.Latency {
		lat = newLatencyProbe()
	}
	sessions, runErrs, wait, err := h.openSessions(sctx, hc, rg.Base, sc, lat)
	defer func() {
		cancel()
		wait()
	}()
	if err != nil {
		return err
	}
	if err := waitFirstFrames(sctx, sessions, runErrs); err != nil {
		return err
	}
	var ttff, ttffMax time.Duration
	for _, s := range sessions {
		f := s.Stats().FirstFrame
		ttff += f
		ttffMax = max(ttffMax, f)
	}
	res.FirstFrameMs = ms(ttff) / float64(len(sessions))
	res.FirstFrameMax = ms(ttffMax)

	h.prog.Set(label + ": warming up")
	if err := sleep(ctx, o.warmup); err != nil {
		return err
	}
	s0, r0, x0, err := sample(sessions, rg.p.pid(), x.p.pid())
	if err != nil {
		return err
	}
	h.prog.Set(fmt.Sprintf("%s: measuring %v", label, o.duration))
	if lat != nil {
		l, err := lat.run(sctx, sessions[0], x, o.duration, o.samples)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		res.Latency = l
	} else if err := sleep(ctx, o.duration); err != nil {
		return err
	}
	s1, r1, x1, err := sample(sessions, rg.p.pid(), x.p.pid())
	if err != nil {
		return err
	}
	select {
	case err := <-runErrs:
		return fmt.Errorf("a session ended early: %w", err)
	default:
	}
	secs := r1.At.Sub(r0.At).Seconds()
	n := float64(len(sessions))
	res.Seconds = secs
	res.Bytes = s1.Bytes - s0.Bytes
	res.Frames = s1.Frames - s0.Frames
	res.BytesPerSec = float64(res.Bytes) / secs / n
	res.FramesPerSec = float64(res.Frames) / secs / n
	res.CPUTotal10s = (r1.CPU - r0.CPU).Seconds() * 10 / secs
	res.CPUPerSession10s = res.CPUTotal10s / n
	res.ServerCPU10s = (x1.CPU - x0.CPU).Seconds() * 10 / secs
	res.RSSBytes = r1.RSS
	res.RSSPerSession = float64(r1.RSS-idle.RSS) / n
	res.RSSGrowth = r1.RSS - r0.RSS
	res.Threads = r1.Threads
	res.Goroutines = goroutines(ctx, hc, rg.Base)
	res.Encodings = map[string]uint64{}
	for i, name := range []string{"zrgb", "zpalette", "jpeg", "png"} {
		if b := s1.ImageBytes[i] - s0.ImageBytes[i]; b > 0 {
			res.Encodings[name] = b
		}
	}
	if sc.AckDelay > 0 {
		res.Note = fmt.Sprintf("client acknowledges each frame %v late", sc.AckDelay)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func randomPassword() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// openSessions dials sc.Sessions websockets, at most dialParallel at a time, and runs
// each. runErrs gets the error of any session that ends before ctx; wait waits for all
// of them after ctx is cancelled.
func (h *harness) openSessions(ctx context.Context, hc *http.Client, base string, sc scenario, lat *latencyProbe) ([]*client.Session, chan error, func(), error) {
	sessions := make([]*client.Session, sc.Sessions)
	runErrs := make(chan error, sc.Sessions)
	var runWG sync.WaitGroup
	wait := func() {
		for _, s := range sessions {
			if s != nil {
				s.Close()
			}
		}
		runWG.Wait()
	}
	var dialWG sync.WaitGroup
	sem := make(chan struct{}, dialParallel)
	errs := make(chan error, sc.Sessions)
	for i := range sessions {
		opts := client.Options{Width: h.o.width, Height: h.o.height, Settings: sc.Settings, AckDelay: sc.AckDelay}
		if i == 0 && lat != nil {
			opts.OnFrame = lat.onFrame
		}
		dialWG.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := client.Dial(ctx, hc, base, endpointName, opts)
			if err != nil {
				errs <- err
				return
			}
			sessions[i] = s
			runWG.Go(func() {
				if err := s.Run(ctx); err != nil && ctx.Err() == nil {
					runErrs <- err
				}
			})
		})
	}
	dialWG.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return sessions, runErrs, wait, err
	}
	return sessions, runErrs, wait, nil
}

// waitFirstFrames waits until every session has drawn a frame.
func waitFirstFrames(ctx context.Context, sessions []*client.Session, runErrs chan error) error {
	deadline := time.Now().Add(firstFrameTimeout)
	for {
		missing := 0
		for _, s := range sessions {
			if s.Stats().Frames == 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d sessions had no frame after %v", missing, len(sessions), firstFrameTimeout)
		}
		select {
		case err := <-runErrs:
			return fmt.Errorf("a session ended before its first frame: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sample reads the sessions' counters and the two processes at one moment.
func sample(sessions []*client.Session, gatewayPID, serverPID int) (client.Stats, procstat.Sample, procstat.Sample, error) {
	var sum client.Stats
	for _, s := range sessions {
		st := s.Stats()
		sum.Bytes += st.Bytes
		sum.Frames += st.Frames
		for i := range sum.ImageBytes {
			sum.ImageBytes[i] += st.ImageBytes[i]
		}
	}
	g, err := procstat.Read(gatewayPID)
	if err != nil {
		return sum, g, g, err
	}
	x, err := procstat.Read(serverPID)
	return sum, g, x, err
}

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
