// Command bench measures racgate on real servers: it starts Xvnc with scripted
// workloads, racgate as its own process, and drives headless racgate.v1 clients that
// decode and acknowledge every frame as the browser does. It reports bytes, frames, CPU,
// memory and input-to-pixel latency per scenario; given -guacd it runs the same scenarios
// through guacd and prints racgate/guacd ratios. See docs/benchmarks.md.
//
//	go run ./bench [-duration 10s] [-sessions 1] [-scenarios busy,typing] [-json out.json] [-svg dir]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/racgate/racgate/bench/report"
)

type options struct {
	racgate  string
	duration time.Duration
	record   time.Duration
	warmup   time.Duration
	width    int
	height   int
	sessions int
	scale    []int
	desktops []int // the desktops scenario's counts
	only     []string
	variants bool
	samples  int
	guacd    string
	guacdPID int
	// guacdFirst starts the alternation with guacd: scenario i (from 0) runs through
	// guacd first when i is even, racgate first when odd; without it the other way round.
	// Alternate it between runs too, so that neither gateway always meets the machine
	// (or a server) first in any scenario.
	guacdFirst bool
	// recordings: the sessions are recorded (racgate's recording, guacd's
	// recording-path) and the recordings' growth is reported per hour.
	recordings bool
	sftpSize   int64 // the sftp scenario's file
	// browserCanvas: the browser-* scenarios run in each of these canvas modes
	// ("software", "gpu").
	browserCanvas []string
	// browserClients: the web clients the browser-* scenarios measure, in rotation.
	browserClients []string
	jsonPath       string
	svgDir         string
	pprofDir       string
	keep           bool
	verbose        bool
	progress       io.Writer
}

// guacdFirstIn reports whether scenario i (from 0) runs through guacd before racgate:
// every other scenario, so that load rising during a run lands on both gateways alike.
func (o *options) guacdFirstIn(i int) bool { return o.guacdFirst == (i%2 == 0) }

func (o *options) want(name string) bool {
	return len(o.only) == 0 || slices.Contains(o.only, name)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	o.progress = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := execute(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	report.Table(stdout, res)
	if o.jsonPath != "" {
		if err := report.WriteJSON(o.jsonPath, res); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	if o.svgDir != "" {
		if err := report.WriteSVG(o.svgDir, res); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.racgate, "racgate", "", "racgate binary (default: go build ./cmd/racgate into a temp dir)")
	fs.DurationVar(&o.duration, "duration", 4*time.Second, "measuring window per scenario")
	fs.DurationVar(&o.record, "record", 2*time.Second, "render matrix: workload recorded, then replayed through each render option")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "time after the first frames before measuring")
	fs.IntVar(&o.width, "width", 1024, "desktop width")
	fs.IntVar(&o.height, "height", 768, "desktop height")
	fs.IntVar(&o.sessions, "sessions", 1, "concurrent sessions per workload scenario")
	scale := fs.String("scale", "1,10,100", "session counts for the scaling curve (idle desktop), at most 1000")
	desktops := fs.String("desktops", "10,50", "desktop counts for the desktops scenario (that many Xvnc, one session each), at most 100")
	only := fs.String("scenarios", "", "comma-separated scenarios to run (idle,busy,busy-unpaced,churn,drag,typing,slow-client,slow-typing,link-busy,link-typing,scale,desktops,rdp-idle,rdp-busy,ssh-idle,ssh-flood,rdp-audio,vnc-audio,render,sftp; and, only when named, browser-idle,browser-busy,browser-scroll,browser-drag,browser-churn,browser-typing,browser-ssh-idle,browser-ssh-flood); default all")
	fs.BoolVar(&o.variants, "variants", false, "also run busy with each quality/compress/encodings variant")
	fs.IntVar(&o.samples, "samples", 200, "latency samples (key presses) at most, within -duration")
	fs.StringVar(&o.guacd, "guacd", "", "guacd host:port: run the scenarios through guacd too and print ratios")
	fs.IntVar(&o.guacdPID, "guacd-pid", 0, "guacd's PID (local guacd), for its CPU and memory")
	fs.BoolVar(&o.guacdFirst, "guacd-first", false, "with -guacd: start the alternation with guacd (scenarios alternate which gateway runs first; alternate this between runs)")
	fs.BoolVar(&o.recordings, "recordings", false, "record every session (racgate's recording, guacd's recording-path) and report the recordings' bytes per hour")
	sftpMiB := fs.Int("sftp-size", 256, "the sftp scenario's file, in MiB (1-4096)")
	clients := fs.String("browser-clients", "racgate,noVNC,guacamole-common-js", "browser-* scenarios: the web clients measured, comma-separated")
	canvas := fs.String("browser-canvas", "software", "browser-* scenarios: canvas modes, comma-separated (software, gpu: SwiftShader without a GPU)")
	fs.StringVar(&o.jsonPath, "json", "", "write results as JSON to this file")
	fs.StringVar(&o.svgDir, "svg", "", "write SVG charts into this directory")
	fs.StringVar(&o.pprofDir, "pprof", "", "write racgate's CPU profile of each measuring window into this directory")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (logs, configs)")
	fs.BoolVar(&o.verbose, "v", false, "debug logs")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.scale, err = counts("scale", *scale, 1000); err != nil {
		return nil, err
	}
	if o.desktops, err = counts("desktops", *desktops, 100); err != nil {
		return nil, err
	}
	for f := range strings.SplitSeq(*only, ",") {
		if f = strings.TrimSpace(f); f != "" {
			o.only = append(o.only, f)
		}
	}
	switch {
	case o.duration <= 0 || o.duration > 10*time.Minute:
		return nil, errors.New("-duration: want 0-10m")
	case o.record <= 0 || o.record > time.Minute:
		return nil, errors.New("-record: want 0-1m")
	case o.sessions < 1 || o.sessions > 1000:
		return nil, errors.New("-sessions: want 1-1000")
	case o.width < 64 || o.height < 64 || o.width > 4096 || o.height > 4096:
		return nil, errors.New("-width/-height: want 64-4096")
	case o.samples < 1 || o.samples > 10000:
		return nil, errors.New("-samples: want 1-10000")
	case *sftpMiB < 1 || *sftpMiB > 4096:
		return nil, errors.New("-sftp-size: want 1-4096 (MiB)")
	}
	o.sftpSize = int64(*sftpMiB) << 20
	if o.browserClients, err = choices("browser-clients", *clients, "racgate", "noVNC", "guacamole-common-js"); err != nil {
		return nil, err
	}
	if o.browserCanvas, err = choices("browser-canvas", *canvas, "software", "gpu"); err != nil {
		return nil, err
	}
	if o.racgate != "" {
		// Each scenario runs in a folder of its own: a relative binary (make bench's
		// bin/racgate) would be looked up there.
		abs, err := filepath.Abs(o.racgate)
		if err != nil {
			return nil, fmt.Errorf("-racgate: %w", err)
		}
		o.racgate = abs
	}
	return o, nil
}

// counts parses flag name's comma-separated counts, each 1 to max.
func counts(name, list string, max int) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > max {
			return nil, fmt.Errorf("-%s: want counts 1-%d, got %q", name, max, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// choices parses flag name's comma-separated values, each one of allowed.
func choices(name, list string, allowed ...string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(allowed, f) {
			return nil, fmt.Errorf("-%s: want %s, got %q", name, strings.Join(allowed, ", "), f)
		}
		out = append(out, f)
	}
	return out, nil
}

// execute runs every selected scenario and returns the results.
func execute(ctx context.Context, o *options) (*report.Run, error) {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(o.progress, &slog.HandlerOptions{Level: level}))
	dir, err := os.MkdirTemp("", "racgate-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(o.progress, "bench: files in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	prog := &report.Progress{W: o.progress}
	defer prog.Done()
	bin, buildNote := o.racgate, ""
	if bin == "" {
		prog.Set("building racgate")
		var note string
		if bin, note, err = buildRacgate(ctx, dir); err != nil {
			return nil, err
		}
		if note != "" {
			buildNote = note
			prog.Done()
			fmt.Fprintln(o.progress, "bench:", note)
		}
	}
	h := &harness{o: o, dir: dir, bin: bin, log: log, prog: prog}
	run := &report.Run{
		Started: time.Now().UTC(), Width: o.width, Height: o.height, Duration: o.duration.Seconds(),
		Host: hostInfo(),
	}
	list := scenarios(o)
	browserOnly := len(o.only) > 0 && slices.ContainsFunc(o.only, func(s string) bool { return strings.HasPrefix(s, "browser-") })
	if len(list) == 0 && !o.want("render") && !o.want("sftp") && !browserOnly {
		return nil, fmt.Errorf("no scenario matches -scenarios %q", strings.Join(o.only, ","))
	}
	for i, sc := range list {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		label := fmt.Sprintf("%d/%d %s", i+1, len(list), sc.Name+variantLabel(sc.Variant))
		first := o.guacdFirstIn(i)
		if o.guacd != "" && first {
			run.Results = append(run.Results, h.guacd(ctx, sc, label))
		}
		run.Results = append(run.Results, h.racgate(ctx, sc, label))
		if o.guacd != "" && !first {
			run.Results = append(run.Results, h.guacd(ctx, sc, label))
		}
	}
	if o.want("render") {
		for i, m := range []struct {
			name string
			wl   func(context.Context, *xvnc, time.Duration) error
		}{{"render-busy", workloadBusy}, {"render-churn", workloadChurn}, {"render-drag", workloadDrag}} {
			label := fmt.Sprintf("render %d/3 %s", i+1, m.name)
			run.Results = append(run.Results, h.renderMatrix(ctx, m.name, m.wl, renderVariants, label)...)
		}
	}
	if o.want("sftp") {
		if run.Transfers, err = h.sftpBench(ctx, "sftp"); err != nil {
			run.TransferError = err.Error()
		}
	}
	run.Browser = h.browserBench(ctx)
	if o.guacd != "" {
		run.Ratios = report.Ratios(run.Results)
	}
	if buildNote != "" {
		run.Notes = append(run.Notes, buildNote)
	}
	run.Notes = append(run.Notes,
		"CPU and RSS are read from /proc of the racgate process (utime+stime, VmRSS); server CPU is Xvnc's (freerdp-shadow-cli's for RDP; sshd's and its children's, the remote command included, for SSH).",
		"SSH: the client counts terminal output (TERMINAL, and TERMINAL_DEFLATE inflated) and acknowledges each FRAME once the message is read, without terminal emulation; ssh-flood's remote output is counted by the flood itself.",
		"goroutines: go_goroutines from racgate's /metrics (-1 where it cannot be read).")
	if hasSound(list) {
		run.Notes = append(run.Notes,
			"sound: a 440 Hz tone at half scale, broken by a 160 ms gap (silence for RDP, the tone at 1% for VNC) every 580-860 ms in a fixed irregular order; the window opens once the client has heard two bursts. Latency is from writing a burst's first sample at the server (chansrv's socket for RDP, pacat's standard input for VNC) to the read of the message holding it, decoded (Opus with the system's libopus); sound bytes are racgate's AUDIO messages (with the websocket header of sound-only messages) and guacd's blob instructions. Gateway CPU and memory: racgate's process; guacd's and its forked children's (PSS: shared pages divided among the processes). Server CPU is xrdp-sesman's and its sessions' (Xorg, chansrv) for rdp-audio, pulseaudio's for vnc-audio.")
	}
	return run, nil
}

func hasSound(list []scenario) bool {
	for _, sc := range list {
		if sc.Sound != nil {
			return true
		}
	}
	return false
}

func variantLabel(v string) string {
	if v == "" {
		return ""
	}
	return " [" + v + "]"
}

func hostInfo() report.Host {
	h := report.Host{CPUs: runtime.NumCPU(), Go: runtime.Version(), Comment: "shared machine: other work may run at the same time"}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			h.Load1, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}
