package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/racgate/racgate/bench/onset"
	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/internal/tone"
)

// Sound scenarios (rdp-audio, vnc-audio): a remote machine plays a 440 Hz tone that stops
// for a moment at irregular intervals, and one session listens through the gateway. The
// bursts mark time: the harness notes when each burst's first sample is written at the
// server and the client notes when the packet carrying it arrives (bench/onset), which
// gives the sound's latency through the whole path; between the marks the tone is
// continuous, which gives the bytes and CPU of sound.
//
//   - rdp-audio: an xrdp session (xrdp-sesman, xrdp, Xorg with xorgxrdp, xrdp-chansrv).
//     Once the RDP client has accepted sound, chansrv listens on a Unix socket for the
//     sound to play to it; the harness writes the signal there in real time, as a sound
//     server would (what pulseaudio-module-xrdp's sink does, which Debian 12 does not
//     package). chansrv sends it to the client as PCM, or Opus when the client takes
//     Opus.
//   - vnc-audio: an Xvnc desktop and a PulseAudio daemon (a null sink, the native
//     protocol on a loopback TCP port), with the signal played by pacat: what a VNC host
//     set up for Guacamole's sound runs. Each gateway records the sink's monitor.

// soundSpec makes a scenario a sound scenario.
type soundSpec struct {
	// Remote is "rdp" (xrdp, the signal written to chansrv's socket) or "vnc" (Xvnc
	// and PulseAudio, the signal played with pacat).
	Remote string
	// Codecs is racgate's audio parameter (the codecs the client decodes). Empty turns
	// sound off on both sides: the endpoint's sound setting is off (RDP disable-audio,
	// VNC no enable-audio), the clients ask for none, and nothing is played: the
	// baseline for the memory and CPU sound costs.
	Codecs string
}

func (s *soundSpec) on() bool { return s != nil && s.Codecs != "" }

// The signal: S16LE stereo at 44.1 kHz (chansrv's format, and PulseAudio's here),
// written in 20 ms chunks paced in real time. Bursts start 580 to 860 ms apart, in an
// irregular but fixed order (soundPeriods, 7.06 s in all), so that a gateway that buffers
// a fixed amount (guacd's raw encoder sends 250 ms at a time) meets the bursts at every
// phase of its buffer, and so that a burst is not taken for the one before it. Each
// period is 160 ms of gap, then the tone at half scale, starting at its peak so that the
// burst's first sample is already loud. The gap is silence for RDP; for VNC it is the
// tone at 1%, because guacd's PulseAudio client drops fragments of pure silence (and
// sends what it buffered), which would leave its client nothing to see a gap in.
const (
	soundRate        = 44100
	soundChannels    = 2
	soundFreq        = 440
	soundLoud        = 0.5
	soundQuietVNC    = 0.01
	soundChunk       = 20 * time.Millisecond
	soundChunkFrames = soundRate / 50
	soundChunkBytes  = soundChunkFrames * 2 * soundChannels
	soundGapChunks   = 8 // the first 160 ms of each period
	// soundMatchWithin is how late a burst's start may arrive and still count as that
	// burst's: the shortest period. A later one is counted as spurious, not heard.
	soundMatchWithin  = 29 * soundChunk
	soundPacatLatency = 40 // ms: pacat's buffer (--latency-msec)
	soundPacatLead    = 2  // chunks written at once before pacing starts: pacat's buffer
	// soundPipeSize is the pipe to pacat's standard input: a page, 23 ms of sound, so that
	// a stall of PulseAudio blocks the writer instead of filling a 64 KiB pipe (370 ms)
	// that would then delay every later burst while its write times stayed on time.
	soundPipeSize      = 4096
	soundStartTimeout  = 30 * time.Second
	xrdpAudioDataMsgID = 0
	xrdpAudioCloseID   = 1
)

// soundPeriods are the bursts' periods, in chunks, in the order played (then again).
var soundPeriods = [...]int{31, 37, 29, 41, 34, 39, 30, 43, 33, 36}

// soundSignal is one cycle of the signal (every period in turn) and the chunks at which
// bursts start; gap is the level of the tone in the gaps (0: silence).
func soundSignal(gap float64) (pcm []byte, starts map[int]bool) {
	starts = map[int]bool{}
	k := 0
	for _, period := range soundPeriods {
		for i := range period {
			if i < soundGapChunks {
				if gap == 0 {
					pcm = append(pcm, make([]byte, soundChunkBytes)...)
				} else {
					pcm = append(pcm, tone.Sine(soundFreq, soundRate, soundChannels, (k+i)*soundChunkFrames, soundChunkFrames, gap)...)
				}
				continue
			}
			if i == soundGapChunks {
				starts[k+i] = true
			}
			// A quarter of the tone's period in: the burst starts at its peak.
			start := (i-soundGapChunks)*soundChunkFrames + soundRate/(4*soundFreq)
			pcm = append(pcm, tone.Sine(soundFreq, soundRate, soundChannels, start, soundChunkFrames, soundLoud)...)
		}
		k += period
	}
	return pcm, starts
}

// feeder plays the signal and notes when each burst's first chunk was written.
type feeder struct {
	mu     sync.Mutex
	onsets []time.Time
	err    error
}

// run writes the signal with write in 20 ms chunks: lead chunks at once, then each when
// the sound written so far has played, until ctx ends. A write that blocks delays the
// ones after it (they are not sent early to catch up beyond the schedule); a burst's
// time is when its first chunk was handed over.
func (f *feeder) run(ctx context.Context, gap float64, lead int, write func([]byte) error) {
	signal, starts := soundSignal(gap)
	chunks := len(signal) / soundChunkBytes
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for k := 0; ; k++ {
		if d := time.Until(start.Add(time.Duration(k-lead) * soundChunk)); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		i := k % chunks
		if starts[i] {
			f.mu.Lock()
			f.onsets = append(f.onsets, time.Now())
			f.mu.Unlock()
		}
		if err := write(signal[i*soundChunkBytes : (i+1)*soundChunkBytes]); err != nil {
			if ctx.Err() == nil {
				f.mu.Lock()
				f.err = err
				f.mu.Unlock()
			}
			return
		}
	}
}

func (f *feeder) sent() ([]time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.onsets...), f.err
}

// soundSource is the remote's sound: start plays the signal from once the sessions are
// connected until ctx ends.
type soundSource interface {
	start(ctx context.Context) error
	// sent returns when each burst was written so far, and a write error, if any.
	sent() ([]time.Time, error)
}

// soundResult fills res.Sound from the window's counters and bursts.
func soundResult(res *report.Result, sc scenario, st0, st1 viewStats, snd soundSource, heard []time.Time, t0, t1 time.Time) error {
	secs := t1.Sub(t0).Seconds()
	n := float64(sc.Sessions)
	s := &report.Sound{
		Codec:          st1.AudioCodec,
		Packets:        st1.AudioPackets - st0.AudioPackets,
		Undecoded:      st1.AudioUndecoded - st0.AudioUndecoded,
		BytesPerSec:    float64(st1.AudioBytes-st0.AudioBytes) / secs / n,
		PCMBytesPerSec: float64(st1.AudioPCM-st0.AudioPCM) / secs / n,
	}
	res.Sound = s
	if snd == nil {
		return nil
	}
	sent, err := snd.sent()
	if err != nil {
		return fmt.Errorf("sound source: %w", err)
	}
	// Bursts whose arrival may fall after the window are left out.
	lat, bursts, spurious := onset.Match(sent, heard, t0, t1.Add(-soundMatchWithin), soundMatchWithin)
	s.Bursts, s.Heard, s.Spurious, s.SpuriousRaw = bursts, len(lat), len(spurious), spurious
	s.Latency = report.QuantilesOf(lat)
	s.Raw = lat
	return nil
}

// waitSound waits until the first session has heard two bursts (the sound flows: a
// PulseAudio null sink may take a second or two to start), or reports why not.
func waitSound(ctx context.Context, v viewer, snd soundSource) error {
	deadline := time.Now().Add(soundStartTimeout)
	for {
		if _, err := snd.sent(); err != nil {
			return fmt.Errorf("sound source: %w", err)
		}
		if len(v.audioOnsets()) >= 2 {
			return nil
		}
		if time.Now().After(deadline) {
			st := v.stats()
			if st.AudioPackets > 0 && st.AudioUndecoded == st.AudioPackets {
				return nil // packets the client cannot decode (Opus without libopus): no bursts to wait for
			}
			return fmt.Errorf("no tone burst heard %v after the sound started (%d sound packets, codec %q)",
				soundStartTimeout, st.AudioPackets, st.AudioCodec)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// startSoundRemote starts the remote of a sound scenario: xrdp, or Xvnc with PulseAudio.
// x is nil for xrdp (no latency probe, no X client of ours); snd is nil with sound off.
func (h *harness) startSoundRemote(ctx context.Context, ps *procs, dir string, sc scenario, label string) (x *xvnc, rem remoteServer, server *proc, snd soundSource, err error) {
	switch sc.Sound.Remote {
	case "rdp":
		h.prog.Set(label + ": starting xrdp-sesman and xrdp")
		srv, err := startXRDP(ctx, ps, h.o.keep)
		if err != nil {
			return nil, rem, nil, nil, err
		}
		rem = remoteServer{Protocol: "rdp", Addr: srv.Addr, Settings: map[string]string{
			"username": srv.User, "password": srv.Password, "ignore-cert": "true"}}
		if !sc.Sound.on() {
			rem.Settings["disable-audio"] = "true"
			return nil, rem, srv.sesman, nil, nil
		}
		return nil, rem, srv.sesman, &xrdpSound{srv: srv}, nil
	case "vnc":
		h.prog.Set(label + ": starting Xvnc and pulseaudio")
		if x, err = startXvnc(ctx, ps, dir, h.o.width, h.o.height); err != nil {
			return nil, rem, nil, nil, err
		}
		if err := setRoot(ctx, x); err != nil {
			return nil, rem, nil, nil, fmt.Errorf("workload: %w", err)
		}
		pa, err := startPulse(ctx, ps, dir)
		if err != nil {
			return nil, rem, nil, nil, err
		}
		rem = remoteServer{Protocol: "vnc", Addr: x.Addr, Settings: map[string]string{}}
		if !sc.Sound.on() {
			return x, rem, pa.p, nil, nil
		}
		// guacd hands audio-servername to pa_context_connect, which takes host:port;
		// racgate takes the same.
		rem.Settings["enable-audio"] = "true"
		rem.Settings["audio-servername"] = pa.Addr
		return x, rem, pa.p, &pulseSound{srv: pa, ps: ps}, nil
	}
	return nil, rem, nil, nil, fmt.Errorf("sound remote %q", sc.Sound.Remote)
}

// errSkip marks a scenario that cannot run here (a shared resource is busy): the run
// reports it as skipped, as it does a missing program.
var errSkip = errors.New("skipped")

// xrdp: xrdp-sesman and xrdp, as internal/peers.StartXRDP runs them for the tests (its
// configuration, the same machine-wide lock), without testing.TB.

// xrdpUser is the local account the rdp-audio sessions log into: the bench's own, with a
// home (Xorg and chansrv write below it) and a fresh random password each run.
const xrdpUser = "racgate-bench-rdp"

// xrdpLockWait is how long to wait for a test's xrdp to finish before skipping: as long
// as internal/peers waits for the bench's.
const xrdpLockWait = 5 * time.Minute

type xrdpServer struct {
	Addr     string
	User     string
	Password string
	Dir      string // configs, the session script and logs (readable by the session user)
	sesman   *proc
}

var (
	xrdpSessionRe = regexp.MustCompile(`Session started successfully for user \S+ on display (\d+)`)
	xrdpWMRe      = regexp.MustCompile(`window manager \(pid (\d+)\)`)
)

// startXRDP starts xrdp-sesman (port 3350) and xrdp (a free loopback port), a session
// being a still desktop. It needs root (a PAM user) and skips when a test's xrdp holds
// the machine-wide lock or something else has sesman's port.
func startXRDP(ctx context.Context, ps *procs, keep bool) (*xrdpServer, error) {
	var bins [3]string
	for i, name := range []string{"xrdp", "xrdp-sesman", "Xorg"} {
		b, err := lookup(name)
		if err != nil {
			return nil, err
		}
		bins[i] = b
	}
	if _, err := os.Stat("/usr/lib/xorg/modules/libxorgxrdp.so"); err != nil {
		return nil, fmt.Errorf("xorgxrdp not installed: %w", exec.ErrNotFound)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("xrdp needs root (a local user, sesman): %w", errSkip)
	}
	lock, err := peers.LockFile(peers.XRDPLock, xrdpLockWait)
	if err != nil {
		return nil, fmt.Errorf("xrdp is in use (%v): %w", err, errSkip)
	}
	ps.atStop(func() { lock.Close() }) // released after everything below has stopped
	if err := waitPortFree(ctx, peers.XRDPSesmanPort, 10*time.Second); err != nil {
		return nil, fmt.Errorf("xrdp-sesman's port %d is taken: %w", peers.XRDPSesmanPort, errSkip)
	}
	srv := &xrdpServer{User: xrdpUser, Password: randomPassword()}
	if err := peers.EnsureUser(srv.User, srv.Password, true); err != nil {
		return nil, err
	}
	// The session script runs as the user: its directory must be readable by it.
	if srv.Dir, err = os.MkdirTemp("", "racgate-bench-xrdp-"); err != nil {
		return nil, err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "bench: xrdp files in", srv.Dir)
	} else {
		ps.atStop(func() { os.RemoveAll(srv.Dir) })
	}
	if err := os.Chmod(srv.Dir, 0o755); err != nil {
		return nil, err
	}
	script := filepath.Join(srv.Dir, "session.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nxsetroot -solid '#336699'\nexec sleep 100000\n"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll("/run/xrdp/sockdir", 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod("/run/xrdp/sockdir", 0o777|os.ModeSticky|os.ModeSetgid); err != nil {
		return nil, err
	}
	ini := filepath.Join(srv.Dir, "sesman.ini")
	if err := os.WriteFile(ini, []byte(peers.XRDPSesmanConfig(srv.Dir, script)), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(srv.Dir, "sesman.out.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bins[1], "-n", "-c", ini)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, srv.Dir
	srv.sesman, err = ps.start(cmd)
	logf.Close()
	if err != nil {
		return nil, fmt.Errorf("start xrdp-sesman: %w", err)
	}
	// Runs before sesman is stopped: sesman cleans up the sessions' Xorg and chansrv.
	ps.atStop(srv.endSessions)
	if err := waitPorts(ctx, srv.sesman, peers.XRDPSesmanPort, "127.0.0.1", "::1"); err != nil {
		return nil, fmt.Errorf("xrdp-sesman: %w: %s", err, logTail(filepath.Join(srv.Dir, "sesman.log")))
	}
	var lastErr error
	for attempt := range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		ini := filepath.Join(srv.Dir, fmt.Sprintf("xrdp.%d.ini", attempt))
		logPath := filepath.Join(srv.Dir, fmt.Sprintf("xrdp.%d.log", attempt))
		if err := os.WriteFile(ini, []byte(peers.XRDPConfig(logPath, port, false)), 0o644); err != nil {
			return nil, err
		}
		logf, err := os.Create(filepath.Join(srv.Dir, fmt.Sprintf("xrdp.out.%d.log", attempt)))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bins[0], "-n", "-c", ini)
		cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, srv.Dir
		p, err := ps.start(cmd)
		logf.Close()
		if err != nil {
			return nil, fmt.Errorf("start xrdp: %w", err)
		}
		srv.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(ctx, p, srv.Addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("xrdp on %s: %w: %s", srv.Addr, err, logTail(logPath))
			continue
		}
		return srv, nil
	}
	return nil, lastErr
}

// display waits until sesman has started a session and returns its display number.
func (s *xrdpServer) display(ctx context.Context) (string, error) {
	deadline := time.Now().Add(soundStartTimeout)
	for {
		b, _ := os.ReadFile(filepath.Join(s.Dir, "sesman.log"))
		if m := xrdpSessionRe.FindAllSubmatch(b, -1); len(m) > 0 {
			return string(m[len(m)-1][1]), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no xrdp session after %v: %s", soundStartTimeout, logTail(filepath.Join(s.Dir, "sesman.log")))
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// endSessions ends the sessions sesman started: it stops their window manager (the
// session script, which sesman started for us and waits for), then waits for their X
// displays to go.
func (s *xrdpServer) endSessions() {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "sesman.log"))
	var displays []string
	for _, m := range xrdpSessionRe.FindAllSubmatch(b, -1) {
		displays = append(displays, string(m[1]))
	}
	for _, m := range xrdpWMRe.FindAllSubmatch(b, -1) {
		if pid, err := strconv.Atoi(string(m[1])); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, d := range displays {
		for time.Now().Before(deadline) {
			if _, err := os.Stat("/tmp/.X11-unix/X" + d); os.IsNotExist(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// xrdpSound writes the signal to chansrv's audio socket of the session: messages of
// u32 id (0 data, 1 close), u32 size of the whole message, then S16LE 44.1 kHz stereo
// (chansrv's sound.c; internal/peers/xrdp_audio.go).
type xrdpSound struct {
	srv *xrdpServer
	f   feeder
}

func (s *xrdpSound) start(ctx context.Context) error {
	display, err := s.srv.display(ctx)
	if err != nil {
		return err
	}
	path := "/run/xrdp/sockdir/xrdp_chansrv_audio_out_socket_" + display
	deadline := time.Now().Add(soundStartTimeout)
	var conn net.Conn
	for {
		if _, err := os.Stat(path); err == nil {
			if conn, err = net.DialTimeout("unix", path, time.Second); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no xrdp audio socket %s after %v (did the client accept sound?)", path, soundStartTimeout)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	msg := make([]byte, 0, 8+soundChunkBytes)
	write := func(pcm []byte) error {
		msg = binary.LittleEndian.AppendUint32(msg[:0], xrdpAudioDataMsgID)
		msg = binary.LittleEndian.AppendUint32(msg, uint32(8+len(pcm)))
		msg = append(msg, pcm...)
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := conn.Write(msg)
		return err
	}
	go func() {
		s.f.run(ctx, 0, 0, write)
		// chansrv tells the client the sound stopped (SNDC_CLOSE).
		var bye [8]byte
		binary.LittleEndian.PutUint32(bye[:], xrdpAudioCloseID)
		binary.LittleEndian.PutUint32(bye[4:], 8)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write(bye[:])
		conn.Close()
	}()
	return nil
}

func (s *xrdpSound) sent() ([]time.Time, error) { return s.f.sent() }

// pulseServer is a PulseAudio daemon as internal/peers.StartPulse runs it: its own HOME
// and runtime directory, a null sink "out" (the default), the native protocol on a
// loopback TCP port for anyone.
type pulseServer struct {
	Addr string
	p    *proc
	env  []string
	dir  string
}

func startPulse(ctx context.Context, ps *procs, dir string) (*pulseServer, error) {
	bin, err := lookup("pulseaudio")
	if err != nil {
		return nil, err
	}
	if _, err := lookup("pacat"); err != nil {
		return nil, err
	}
	pdir := filepath.Join(dir, "pulse")
	home, run := filepath.Join(pdir, "home"), filepath.Join(pdir, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	env := []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_STATE_HOME=" + filepath.Join(home, ".local/state")}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "PULSE_") && k != "HOME" && !strings.HasPrefix(k, "XDG_") && k != "DBUS_SESSION_BUS_ADDRESS" {
			env = append(env, kv)
		}
	}
	var lastErr error
	for attempt := range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		script := filepath.Join(pdir, fmt.Sprintf("pulse.%d.pa", attempt))
		text := "load-module module-null-sink sink_name=out\n" +
			fmt.Sprintf("load-module module-native-protocol-tcp listen=127.0.0.1 port=%d auth-anonymous=1\n", port) +
			"set-default-sink out\n"
		if err := os.WriteFile(script, []byte(text), 0o600); err != nil {
			return nil, err
		}
		logPath := filepath.Join(pdir, fmt.Sprintf("pulseaudio.%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "-n", "-F", script, "--daemonize=no", "--system=false",
			"--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes", "--log-target=stderr")
		cmd.Env, cmd.Dir = env, pdir
		cmd.Stdout, cmd.Stderr = logf, logf
		p, err := ps.start(cmd)
		logf.Close()
		if err != nil {
			return nil, fmt.Errorf("start pulseaudio: %w", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(ctx, p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("pulseaudio on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return &pulseServer{Addr: addr, p: p, env: env, dir: pdir}, nil
	}
	return nil, lastErr
}

// pulseSound plays the signal to the default sink with pacat, fed through its standard
// input: written at once for pacat's buffer, then paced in real time, through a pipe of
// one page (soundPipeSize).
type pulseSound struct {
	srv *pulseServer
	ps  *procs
	f   feeder
}

func (s *pulseSound) start(ctx context.Context) error {
	pacat, err := lookup("pacat")
	if err != nil {
		return err
	}
	cmd := exec.Command(pacat, "--server="+s.srv.Addr, "--playback", "--raw", "--format=s16le",
		"--rate="+strconv.Itoa(soundRate), "--channels="+strconv.Itoa(soundChannels),
		"--latency-msec="+strconv.Itoa(soundPacatLatency), "--client-name=racgate-bench")
	cmd.Env, cmd.Dir = s.srv.env, s.srv.dir
	logf, err := os.Create(filepath.Join(s.srv.dir, "pacat.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	if err := setPipeSize(w, soundPipeSize); err != nil {
		r.Close()
		w.Close()
		return err
	}
	cmd.Stdin = r
	p, err := s.ps.start(cmd)
	r.Close() // pacat's now
	if err != nil {
		w.Close()
		return fmt.Errorf("start pacat: %w", err)
	}
	go func() {
		s.f.run(ctx, soundQuietVNC, soundPacatLead, func(b []byte) error {
			if p.exited() {
				return fmt.Errorf("pacat exited: %s", logTail(filepath.Join(s.srv.dir, "pacat.log")))
			}
			_, err := w.Write(b)
			return err
		})
		w.Close()
	}()
	return nil
}

func (s *pulseSound) sent() ([]time.Time, error) { return s.f.sent() }

// waitPortFree waits until nothing listens on port on either loopback address.
func waitPortFree(ctx context.Context, port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		taken := false
		for _, a := range []string{"127.0.0.1", "::1"} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(a, strconv.Itoa(port)), time.Second); err == nil {
				c.Close()
				taken = true
			}
		}
		if !taken {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d still taken after %v", port, within)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitPorts waits until port accepts connections on one of addrs (sesman resolves its
// ListenAddress its own way and may bind [::1]), or p exits.
func waitPorts(ctx context.Context, p *proc, port int, addrs ...string) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return errors.New("server exited")
		}
		for _, a := range addrs {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(a, strconv.Itoa(port)), time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("port not accepting connections")
}

// setPipeSize sets the capacity of the pipe f (fcntl F_SETPIPE_SZ; Linux rounds it up to
// a page).
func setPipeSize(f *os.File, n int) error {
	const fSetPipeSz = 1031 // F_SETPIPE_SZ, linux/fcntl.h
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fSetPipeSz, uintptr(n)); errno != 0 {
		return fmt.Errorf("pipe size: %w", errno)
	}
	return nil
}
