package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/racgate/racgate/bench/procstat"
	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/bench/slowlink"
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
	dialParallel      = 8 // sessions starting at once
)

// gateway is what the sessions go through: racgate or guacd.
type gateway interface {
	name() string
	// start readies the gateway for sessions to rem (racgate: start the process, log in).
	start(ctx context.Context, ps *procs, dir string, rem remoteServer) error
	// proc samples the gateway's processes; ok is false when they are not known.
	proc() (s procstat.Sample, ok bool, err error)
	// dial opens session i (from 0); onFrame, if not nil, is told of every frame.
	dial(ctx context.Context, sc scenario, i int, onFrame func(at time.Time, changed bool)) (viewer, error)
	// finish adds what only this gateway knows to res at the end of the window.
	finish(ctx context.Context, res *report.Result)
	// recordingBytes is the size of the session recordings so far (-recordings); ok
	// is false when sessions are not recorded.
	recordingBytes() (n int64, ok bool, err error)
}

// linked is a gateway whose sessions can go through a slow link (scenario.Link).
type linked interface {
	// target is the address sessions dial; via makes them dial addr instead.
	target() string
	via(addr string)
}

// recordingBytes is a gateway's recordingBytes for recordings under dir ("": none).
func recordingBytes(dir string) (int64, bool, error) {
	if dir == "" {
		return 0, false, nil
	}
	n, err := dirBytes(dir)
	return n, err == nil, err
}

// dirBytes is the size of the files under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	return n, err
}

// remoteServer is the machine the sessions connect to.
type remoteServer struct {
	Protocol string            // vnc, rdp or ssh
	Addr     string            // host:port
	Settings map[string]string // connection parameters (credentials, security)
	// Others are further desktops of the same kind (scenario.Desktops): session i goes
	// to desktop i mod (1+len(Others)), Addr being desktop 0.
	Others []string
}

// desktop is the address of session i's desktop.
func (rem remoteServer) desktop(i int) (index int, addr string) {
	k := i % (1 + len(rem.Others))
	if k == 0 {
		return 0, rem.Addr
	}
	return k, rem.Others[k-1]
}

// viewer is one session, as a client sees it.
type viewer interface {
	run(ctx context.Context) error
	stats() viewStats
	press(ctx context.Context, keysym uint32, code string) error
	pointer(ctx context.Context, x, y int) error
	// audioOnsets are when the tone bursts of a sound scenario arrived (bench/onset).
	audioOnsets() []time.Time
	close()
}

type viewStats struct {
	Bytes         uint64
	Frames        uint64
	TerminalBytes uint64            // TERMINAL data (racgate's terminal sessions)
	ImageBytes    map[string]uint64 // by encoding
	FirstFrame    time.Duration     // dial to first frame; 0 before
	// Sound: messages carrying it, their bytes as read, the PCM decoded from them, those
	// not decoded, and the codec (racgate) or mimetype (guacd) of the last format.
	AudioPackets   uint64
	AudioBytes     uint64
	AudioPCM       uint64
	AudioUndecoded uint64
	AudioCodec     string
}

// newDir makes a fresh directory for one scenario.
func (h *harness) newDir(name string) (string, error) {
	h.seq++
	d := filepath.Join(h.dir, fmt.Sprintf("%02d-%s", h.seq, strings.ReplaceAll(name, "/", "_")))
	return d, os.MkdirAll(d, 0o700)
}

// racgate runs sc through racgate.
func (h *harness) racgate(ctx context.Context, sc scenario, label string) report.Result {
	return h.scenario(ctx, sc, label, &racgateGateway{bin: h.bin, log: h.log, width: h.o.width, height: h.o.height, pprofDir: h.o.pprofDir, record: h.o.recordings})
}

// scenario runs sc through gw and measures it. Failures become the result's Errors (or
// Skipped when a program is missing): one broken scenario does not stop the run.
func (h *harness) scenario(ctx context.Context, sc scenario, label string, gw gateway) report.Result {
	res := report.Result{Scenario: sc.Name, Variant: sc.Variant, Gateway: gw.name(), Sessions: sc.Sessions, Goroutines: -1}
	if sc.Skip != "" {
		res.Skipped = sc.Skip
		return res
	}
	ps := &procs{}
	defer ps.stopAll()
	if err := h.measure(ctx, ps, sc, label, gw, &res); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, errSkip) {
			res.Skipped = err.Error()
		} else {
			res.Errors = append(res.Errors, err.Error())
		}
		h.log.Warn("scenario failed", "scenario", sc.Name, "variant", sc.Variant, "gateway", gw.name(), "err", err)
	}
	return res
}

func (h *harness) measure(ctx context.Context, ps *procs, sc scenario, label string, gw gateway, res *report.Result) error {
	o := h.o
	label += " via " + gw.name()
	dir, err := h.newDir(sc.Name + "-" + gw.name())
	if err != nil {
		return err
	}
	window := o.warmup + o.duration + 30*time.Second // workloads outlive the measurement
	x, rem, server, counter, snd, err := h.startRemote(ctx, ps, dir, sc, label, window)
	if err != nil {
		return err
	}
	servers := []int{server.pid()}
	for k := 1; k < sc.Desktops; k++ {
		h.prog.Set(fmt.Sprintf("%s: starting desktop %d of %d", label, k+1, sc.Desktops))
		_, more, p, err := h.startDisplay(ctx, ps, dir, sc, label, window)
		if err != nil {
			return fmt.Errorf("desktop %d: %w", k+1, err)
		}
		rem.Others = append(rem.Others, more.Addr)
		servers = append(servers, p.pid())
	}
	h.prog.Set(label + ": starting " + gw.name())
	if err := gw.start(ctx, ps, dir, rem); err != nil {
		return err
	}
	idle, idleOK, err := gw.proc()
	if err != nil {
		return err
	}
	if sc.Link != nil {
		lg, ok := gw.(linked)
		if !ok {
			return fmt.Errorf("%w: %s has no address to put a link before", errSkip, gw.name())
		}
		l, err := slowlink.Listen(*sc.Link, lg.target())
		if err != nil {
			return err
		}
		defer l.Close()
		lg.via(l.Addr)
	}

	h.prog.Set(fmt.Sprintf("%s: opening %d sessions", label, sc.Sessions))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lat *latencyProbe
	if sc.Latency {
		lat = newLatencyProbe()
	}
	views, runErrs, wait, err := openViewers(sctx, gw, sc, lat)
	defer func() {
		cancel()
		wait()
	}()
	if err != nil {
		return err
	}
	if err := waitFirstFrames(sctx, views, runErrs); err != nil {
		return err
	}
	var ttff, ttffMax time.Duration
	for _, v := range views {
		f := v.stats().FirstFrame
		ttff += f
		ttffMax = max(ttffMax, f)
	}
	res.FirstFrameMs = ms(ttff) / float64(len(views))
	res.FirstFrameMax = ms(ttffMax)
	if snd != nil {
		h.prog.Set(label + ": starting the sound")
		if err := snd.start(sctx); err != nil {
			return fmt.Errorf("sound: %w", err)
		}
		// The window opens once the sound flows (then after the warm-up), not while a
		// sound server is still starting.
		if err := waitSound(sctx, views[0], snd); err != nil {
			return fmt.Errorf("sound: %w", err)
		}
	}

	h.prog.Set(label + ": warming up")
	if err := sleep(ctx, o.warmup); err != nil {
		return err
	}
	// sshd's work is in its per-session children, xrdp-sesman's in its sessions' (Xorg,
	// chansrv).
	tree := sc.SSH != "" || sc.Sound != nil && sc.Sound.Remote == "rdp"
	r0, err := remoteBytes(counter)
	if err != nil {
		return err
	}
	s0, g0, x0, err := sample(views, gw, servers, tree)
	if err != nil {
		return err
	}
	res.LoadStart = loadAverage()
	rec0, recOK, err := gw.recordingBytes()
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	h.prog.Set(fmt.Sprintf("%s: measuring %v", label, o.duration))
	if p, ok := gw.(profiler); ok {
		stop := p.profile(sctx, o.duration, sc.Name+"-"+strings.ReplaceAll(sc.Variant, " ", "_"))
		defer stop()
	}
	if lat != nil {
		l, err := lat.run(sctx, views[0], x, o.duration, o.samples)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		res.Latency = l
	} else if err := sleep(ctx, o.duration); err != nil {
		return err
	}
	s1, g1, x1, err := sample(views, gw, servers, tree)
	if err != nil {
		return err
	}
	res.LoadEnd = loadAverage()
	rec1, _, err := gw.recordingBytes()
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	r1, err := remoteBytes(counter)
	if err != nil {
		return err
	}
	select {
	case err := <-runErrs:
		return fmt.Errorf("a session ended early: %w", err)
	default:
	}
	secs := x1.At.Sub(x0.At).Seconds()
	n := float64(len(views))
	res.Seconds = secs
	res.Bytes = s1.Bytes - s0.Bytes
	res.Frames = s1.Frames - s0.Frames
	res.BytesPerSec = float64(res.Bytes) / secs / n
	res.FramesPerSec = float64(res.Frames) / secs / n
	res.TerminalBytes = s1.TerminalBytes - s0.TerminalBytes
	res.RemoteBytes = r1 - r0
	res.ServerCPU10s = (x1.CPU - x0.CPU).Seconds() * 10 / secs
	if recOK {
		// What the window added to the recordings: an hour of it, per session.
		res.RecordingBytesPerHour = float64(rec1-rec0) / secs * 3600 / n
	}
	if idleOK {
		res.CPUTotal10s = (g1.CPU - g0.CPU).Seconds() * 10 / secs
		res.CPUPerSession10s = res.CPUTotal10s / n
		res.RSSBytes = g1.RSS
		res.RSSPerSession = float64(g1.RSS-idle.RSS) / n
		res.RSSGrowth = g1.RSS - g0.RSS
		if idle.PSS >= 0 && g0.PSS >= 0 && g1.PSS >= 0 {
			res.PSSBytes = g1.PSS
			res.PSSPerSession = float64(g1.PSS-idle.PSS) / n
			res.PSSGrowth = g1.PSS - g0.PSS
		}
		if idle.RootUSS >= 0 && g1.USS >= 0 && g1.RootUSS >= 0 {
			// What the sessions hold privately: the children's (guacd's connection
			// processes) and what the gateway's own process grew by. When guacd forks,
			// its pages become shared with the child and leave its USS: that is no
			// saving, so the root's part is never below its idle figure.
			res.USSBytes = g1.USS
			res.USSPerSession = float64(g1.USS-g1.RootUSS+max(0, g1.RootUSS-idle.RootUSS)) / n
		}
		if idle.RSSAnon >= 0 && g1.RSSAnon >= 0 && g1.RSSFile >= 0 {
			res.RSSAnonBytes = g1.RSSAnon
			res.RSSFileBytes = g1.RSSFile
			res.RSSAnonPerSession = float64(g1.RSSAnon-idle.RSSAnon) / n
		}
		res.Threads = g1.Threads
		if cpu := (g1.CPU - g0.CPU).Seconds(); res.RemoteBytes > 0 && cpu > 0 {
			res.RemoteBytesPerCPUSec = float64(res.RemoteBytes) / cpu
		}
	}
	res.Encodings = map[string]uint64{}
	for k, b := range s1.ImageBytes {
		if d := b - s0.ImageBytes[k]; d > 0 {
			res.Encodings[k] = d
		}
	}
	if sc.AckDelay > 0 {
		res.Note = fmt.Sprintf("client acknowledges each frame %v late", sc.AckDelay)
	}
	if sc.Sound != nil {
		if err := soundResult(res, sc, s0, s1, snd, views[0].audioOnsets(), x0.At, x1.At); err != nil {
			return err
		}
	}
	gw.finish(ctx, res)
	return nil
}

// startRemote starts the scenario's display, its workload and the server the sessions
// connect to: Xvnc itself, Xvfb shared by freerdp-shadow-cli for RDP, or sshd running
// the scenario's command for SSH (x is nil then). server is the process whose CPU is the
// server's share; counter is the flood's byte counter file, if any.
func (h *harness) startRemote(ctx context.Context, ps *procs, dir string, sc scenario, label string, window time.Duration) (x *xvnc, rem remoteServer, server *proc, counter string, snd soundSource, err error) {
	if sc.Sound != nil {
		x, rem, server, snd, err = h.startSoundRemote(ctx, ps, dir, sc, label)
		return x, rem, server, "", snd, err
	}
	if sc.SSH != "" {
		h.prog.Set(label + ": starting sshd")
		command := sc.SSH
		if sc.Flood {
			if counter, err = newCounter(dir); err != nil {
				return nil, rem, nil, "", nil, err
			}
			command += counter
		}
		s, err := startSSHD(ctx, ps, dir, command, counter)
		if err != nil {
			return nil, rem, nil, "", nil, err
		}
		rem = remoteServer{Protocol: "ssh", Addr: s.Addr, Settings: map[string]string{
			"username": sshUser, "password": s.Password, "host-key": s.HostKey}}
		return nil, rem, s.p, counter, nil, nil
	}
	x, rem, server, err = h.startDisplay(ctx, ps, dir, sc, label, window)
	return x, rem, server, "", nil, err
}

// startDisplay is startRemote for VNC and RDP.
func (h *harness) startDisplay(ctx context.Context, ps *procs, dir string, sc scenario, label string, window time.Duration) (x *xvnc, rem remoteServer, server *proc, err error) {
	if !sc.RDP {
		h.prog.Set(label + ": starting Xvnc")
		if x, err = startXvnc(ctx, ps, dir, h.o.width, h.o.height); err != nil {
			return nil, rem, nil, err
		}
		if err := sc.Workload(ctx, x, window); err != nil {
			return nil, rem, nil, fmt.Errorf("workload: %w", err)
		}
		return x, remoteServer{Protocol: "vnc", Addr: x.Addr}, x.p, nil
	}
	h.prog.Set(label + ": starting Xvfb and freerdp-shadow-cli")
	if x, err = startXvfb(ctx, ps, dir, h.o.width, h.o.height); err != nil {
		return nil, rem, nil, err
	}
	if err := sc.Workload(ctx, x, window); err != nil {
		return nil, rem, nil, fmt.Errorf("workload: %w", err)
	}
	pass := randomPassword()
	addr, shadow, err := startShadow(ctx, ps, x, pass)
	if err != nil {
		return nil, rem, nil, err
	}
	rem = remoteServer{Protocol: "rdp", Addr: addr, Settings: map[string]string{
		"username": rdpUser, "password": pass, "security": "nla", "ignore-cert": "true"}}
	return x, rem, shadow, nil
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

// openViewers dials sc.Sessions sessions, at most dialParallel at a time, and runs each.
// runErrs gets the error of any session that ends before ctx; wait closes them all and
// waits for them after ctx is cancelled.
func openViewers(ctx context.Context, gw gateway, sc scenario, lat *latencyProbe) ([]viewer, chan error, func(), error) {
	views := make([]viewer, sc.Sessions)
	runErrs := make(chan error, sc.Sessions)
	var runWG sync.WaitGroup
	wait := func() {
		for _, v := range views {
			if v != nil {
				v.close()
			}
		}
		runWG.Wait()
	}
	var dialWG sync.WaitGroup
	sem := make(chan struct{}, dialParallel)
	errs := make(chan error, sc.Sessions)
	for i := range views {
		var onFrame func(time.Time, bool)
		if i == 0 && lat != nil {
			onFrame = lat.onFrame
		}
		dialWG.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := gw.dial(ctx, sc, i, onFrame)
			if err != nil {
				errs <- err
				return
			}
			views[i] = v
			ended := make(chan struct{})
			runWG.Go(func() {
				defer close(ended)
				if err := v.run(ctx); err != nil && ctx.Err() == nil {
					runErrs <- err
				}
			})
			// Hold the slot until the first frame: users arrive a few at a time, and a
			// server flooded with handshakes (Xvnc's listen backlog) resets them.
			deadline := time.Now().Add(firstFrameTimeout)
			for v.stats().Frames == 0 && time.Now().Before(deadline) {
				select {
				case <-ended:
					return
				case <-ctx.Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		})
	}
	dialWG.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return views, runErrs, wait, err
	}
	return views, runErrs, wait, nil
}

// waitFirstFrames waits until every session has drawn a frame.
func waitFirstFrames(ctx context.Context, views []viewer, runErrs chan error) error {
	deadline := time.Now().Add(firstFrameTimeout)
	for {
		missing := 0
		for _, v := range views {
			if v.stats().Frames == 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d sessions had no frame after %v", missing, len(views), firstFrameTimeout)
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

// remoteBytes reads the flood's counter; 0 without one.
func remoteBytes(counter string) (uint64, error) {
	if counter == "" {
		return 0, nil
	}
	return readCounter(counter)
}

// sample reads the sessions' counters and the processes at one moment: the gateway's,
// and the servers' summed (tree counts their descendants too).
func sample(views []viewer, gw gateway, servers []int, tree bool) (viewStats, procstat.Sample, procstat.Sample, error) {
	sum := viewStats{ImageBytes: map[string]uint64{}}
	for _, v := range views {
		st := v.stats()
		sum.Bytes += st.Bytes
		sum.Frames += st.Frames
		sum.TerminalBytes += st.TerminalBytes
		sum.AudioPackets += st.AudioPackets
		sum.AudioBytes += st.AudioBytes
		sum.AudioPCM += st.AudioPCM
		sum.AudioUndecoded += st.AudioUndecoded
		sum.AudioCodec = st.AudioCodec
		for k, b := range st.ImageBytes {
			sum.ImageBytes[k] += b
		}
	}
	g, _, err := gw.proc()
	if err != nil {
		return sum, g, g, err
	}
	read := procstat.Read
	if tree {
		read = procstat.ReadTree
	}
	var x procstat.Sample
	for k, pid := range servers {
		s, err := read(pid)
		if err != nil {
			return sum, g, x, err
		}
		if k == 0 {
			x = s
			continue
		}
		x.CPU += s.CPU
		x.RSS += s.RSS
	}
	return sum, g, x, nil
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg); -1 where it
// cannot be read.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
