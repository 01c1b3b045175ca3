// Package report holds the benchmark harness's results and writes them as a terminal
// table, JSON and hand-written SVG charts.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Run is one harness run.
type Run struct {
	Started  time.Time `json:"started"`
	Host     Host      `json:"host"`
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	Duration float64   `json:"duration_s"` // measuring window per scenario
	Results  []Result  `json:"results"`
	Ratios   []Ratio   `json:"ratios,omitempty"` // racgate/guacd, only with --guacd
	Notes    []string  `json:"notes,omitempty"`
	// Transfers are the sftp scenario's: racgate's file panel against OpenSSH's sftp.
	Transfers []Transfer `json:"transfers,omitempty"`
	// TransferError is why the sftp scenario did not finish.
	TransferError string `json:"transfer_error,omitempty"`
	// Browser is the browser-* scenarios': each web client's cost in headless Chromium.
	Browser []Browser `json:"browser,omitempty"`
}

// Browser is one web client showing one workload in headless Chromium, over the
// measuring window. CPU figures are CPU-seconds per 10 s of wall time.
type Browser struct {
	Workload string `json:"workload"`
	Canvas   string `json:"canvas"` // "software" or "gpu"
	Client   string `json:"client"` // racgate, noVNC, guacamole-common-js
	Order    int    `json:"order"`  // 1: measured first for this workload
	// MainCPU is the page's main thread busy in tasks (CDP Performance TaskDuration in
	// thread ticks); Script the JavaScript part of it.
	MainCPU float64 `json:"main_cpu_10s"`
	Script  float64 `json:"script_cpu_10s"`
	// Layout is the main thread's style and layout time, the DOM renderer's main cost.
	Layout float64 `json:"layout_cpu_10s"`
	// Renderer is "canvas", or for racgate's terminal xterm.js's renderer: "dom" or
	// "webgl" (which it takes only on a GPU).
	Renderer string `json:"renderer"`
	// FramesPerSec counts animation frames in which the page drew: on a canvas, with
	// WebGL or by changing the document.
	FramesPerSec float64 `json:"frames_per_s"`
	DrawsPerSec  float64 `json:"draws_per_s"`
	// BrowserCPU is all of Chromium's processes (renderer, GPU, browser).
	BrowserCPU float64 `json:"browser_cpu_10s"`
	// Keys typed (browser-typing), how many were drawn, and the time from a key's
	// keydown to the animation frame that drew after it, in the page (ms).
	Keys         int     `json:"keys,omitempty"`
	KeysAnswered int     `json:"keys_answered,omitempty"`
	KeyP50       float64 `json:"key_p50_ms,omitempty"`
	KeyP95       float64 `json:"key_p95_ms,omitempty"`
	LoadStart    float64 `json:"load_start"`
	LoadEnd      float64 `json:"load_end"`
	Error        string  `json:"error,omitempty"`
}

// Transfer is one direction of the sftp scenario: the median MB/s (MiB per second) of
// each client moving the same file to or from the same sshd.
type Transfer struct {
	Direction string  `json:"direction"` // upload or download
	Bytes     int64   `json:"bytes"`
	Racgate   float64 `json:"racgate_mib_s"`
	OpenSSH   float64 `json:"openssh_mib_s"`
}

// Host describes the machine.
type Host struct {
	CPUs    int     `json:"cpus"`
	Load1   float64 `json:"load1"` // load average at the start: the machine may be shared
	Go      string  `json:"go"`
	Kernel  string  `json:"kernel,omitempty"`
	Comment string  `json:"comment,omitempty"`
}

// Result is one scenario through one gateway.
type Result struct {
	Scenario string `json:"scenario"`
	Variant  string `json:"variant,omitempty"` // settings varied (e.g. quality=lossless)
	Gateway  string `json:"gateway"`           // racgate or guacd
	Sessions int    `json:"sessions"`
	Skipped  string `json:"skipped,omitempty"` // why it did not run

	Seconds       float64 `json:"seconds"`        // measuring window
	BytesPerSec   float64 `json:"bytes_per_s"`    // to the client, per session
	FramesPerSec  float64 `json:"frames_per_s"`   // per session
	FirstFrameMs  float64 `json:"first_frame_ms"` // mean over sessions, from dial to the first FRAME
	FirstFrameMax float64 `json:"first_frame_max_ms"`

	// CPU of the gateway process, seconds per session per 10 s of wall time.
	CPUPerSession10s float64 `json:"cpu_s_per_session_per_10s"`
	CPUTotal10s      float64 `json:"cpu_s_per_10s"` // the gateway, all sessions
	// The machine's 1-minute load average when the measuring window opened and closed:
	// other work on a shared machine shows here.
	LoadStart     float64 `json:"load_start"`
	LoadEnd       float64 `json:"load_end"`
	ServerCPU10s  float64 `json:"server_cpu_s_per_10s"`
	RSSBytes      int64   `json:"rss_bytes"`             // the gateway at the end of the window
	RSSPerSession float64 `json:"rss_bytes_per_session"` // growth over the idle gateway, per session
	RSSGrowth     int64   `json:"rss_growth_bytes"`      // RSS change within the window (bounded memory)
	// The same from the proportional set size (shared pages divided among the processes
	// sharing them: guacd's forked children share its libraries); 0 where unknown.
	PSSBytes      int64   `json:"pss_bytes,omitempty"`
	PSSPerSession float64 `json:"pss_bytes_per_session,omitempty"`
	PSSGrowth     int64   `json:"pss_growth_bytes,omitempty"`
	// The same from the unique set size (pages no other process maps: what the
	// sessions cost the machine, guacd's shared copy-on-write pages left out).
	USSBytes      int64   `json:"uss_bytes,omitempty"`
	USSPerSession float64 `json:"uss_bytes_per_session,omitempty"`
	Threads       int     `json:"threads"`
	Goroutines    int     `json:"goroutines"` // -1: not exposed by the gateway

	// RSSBytes split into anonymous and file-backed pages (RssAnon, RssFile; see
	// procstat.Sample: the file-backed part moves with the binary's layout), and the
	// anonymous part's growth over the idle gateway per session; 0 where unknown.
	RSSAnonBytes      int64   `json:"rss_anon_bytes,omitempty"`
	RSSFileBytes      int64   `json:"rss_file_bytes,omitempty"`
	RSSAnonPerSession float64 `json:"rss_anon_bytes_per_session,omitempty"`

	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"bytes"`
	// Terminal scenarios: TERMINAL data the client got (racgate), the output that left
	// the remote program in the window (the flood counts its own), and that output per
	// CPU-second of the gateway.
	TerminalBytes        uint64            `json:"terminal_bytes,omitempty"`
	RemoteBytes          uint64            `json:"remote_bytes,omitempty"`
	RemoteBytesPerCPUSec float64           `json:"remote_bytes_per_cpu_s,omitempty"`
	Encodings            map[string]uint64 `json:"image_bytes_by_encoding,omitempty"`
	Latency              *Latency          `json:"latency,omitempty"`
	Sound                *Sound            `json:"sound,omitempty"`
	LagFrames            float64           `json:"lag_frames_per_s,omitempty"`
	Note                 string            `json:"note,omitempty"`
	Errors               []string          `json:"errors,omitempty"`
	// RecordingBytesPerHour is what the measuring window added to the session
	// recordings (-recordings), scaled to an hour, per session; 0 when not recorded.
	RecordingBytesPerHour float64 `json:"recording_bytes_per_hour,omitempty"`
}

// Latency is input-to-pixel latency in milliseconds.
type Latency struct {
	Samples int       `json:"samples"`
	Lost    int       `json:"lost"` // key presses with no change seen in time
	Total   Quantiles `json:"total_ms"`
	Server  Quantiles `json:"server_ms"`  // the remote server's share (direct RFB client)
	Gateway Quantiles `json:"gateway_ms"` // total minus server, per sample
	// Raw samples (ms) for the distribution chart.
	TotalRaw   []float64 `json:"total_raw_ms,omitempty"`
	GatewayRaw []float64 `json:"gateway_raw_ms,omitempty"`
}

// Sound is what a sound scenario's client received and when its tone bursts arrived.
type Sound struct {
	// Codec is what the client got: racgate's AUDIO_FORMAT codec (opus, adpcm, pcm),
	// guacd's audio mimetype (audio/L16;rate=44100,channels=2).
	Codec string `json:"codec"`
	// Sound messages (AUDIO; guacd's blob instructions on audio streams) in the window,
	// and those the client could not decode (MP3; Opus without libopus).
	Packets   uint64 `json:"packets"`
	Undecoded uint64 `json:"undecoded,omitempty"`
	// Their bytes as read per second per session (racgate: the AUDIO messages and the
	// websocket header of a websocket message holding only sound; guacd: the blob
	// instructions, base64 included), and the PCM decoded from them.
	BytesPerSec    float64 `json:"bytes_per_s"`
	PCMBytesPerSec float64 `json:"pcm_bytes_per_s"`
	// Tone bursts written at the server in the window; of those, the ones whose start
	// arrived at the client before the next burst could have (bench/onset.Match); and
	// burst starts the client saw that belong to no burst (a stall in a tone).
	Bursts      int       `json:"bursts"`
	Heard       int       `json:"heard"`
	Spurious    int       `json:"spurious,omitempty"`
	SpuriousRaw []float64 `json:"spurious_ms_after_burst,omitempty"`
	// Latency: from writing a burst's first sample at the server to the arrival of the
	// packet holding it (the message read off the connection), decoded.
	Latency Quantiles `json:"latency_ms"`
	Raw     []float64 `json:"latency_raw_ms,omitempty"`
}

// Quantiles of a sample.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// QuantilesOf computes the nearest-rank quantiles of xs (ms). xs is not changed.
func QuantilesOf(xs []float64) Quantiles {
	if len(xs) == 0 {
		return Quantiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Quantiles{P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: s[len(s)-1]}
}

// Ratio compares racgate with guacd on one scenario: racgate's figure over guacd's.
type Ratio struct {
	Scenario string  `json:"scenario"`
	Bytes    float64 `json:"bytes"`
	CPU      float64 `json:"cpu"`
	RSS      float64 `json:"rss_per_session"`
	// Input-to-pixel latency, total (key sent to the frame that shows it), where both
	// ran the latency probe; NaN (0 in JSON) otherwise.
	LatencyP50 float64 `json:"latency_p50"`
	LatencyP99 float64 `json:"latency_p99"`
	// PSS and USS per session, where both are known; NaN otherwise.
	PSS float64 `json:"pss"`
	USS float64 `json:"uss"`
	// Sound latency p50 and sound bytes (sound messages only), where both had sound;
	// NaN otherwise.
	SoundLatencyP50 float64 `json:"sound_latency_p50"`
	SoundBytes      float64 `json:"sound_bytes"`
	// Recording bytes per hour, where both recorded; NaN otherwise.
	Recording float64 `json:"recording"`
}

// Ratios pairs racgate and guacd results of the same scenario and variant.
func Ratios(rs []Result) []Ratio {
	var out []Ratio
	for _, r := range rs {
		if r.Gateway != "racgate" || r.Skipped != "" || len(r.Errors) > 0 {
			continue
		}
		for _, g := range rs {
			if g.Gateway == "guacd" && g.Skipped == "" && len(g.Errors) == 0 && g.Scenario == r.Scenario && g.Variant == r.Variant {
				out = append(out, Ratio{
					Scenario:   r.Scenario + variantSuffix(r.Variant),
					Bytes:      div(r.BytesPerSec, g.BytesPerSec),
					CPU:        div(r.CPUPerSession10s, g.CPUPerSession10s),
					RSS:        div(r.RSSPerSession, g.RSSPerSession),
					LatencyP50: math.NaN(), LatencyP99: math.NaN(), PSS: math.NaN(), USS: math.NaN(),
					SoundLatencyP50: math.NaN(), SoundBytes: math.NaN(), Recording: math.NaN(),
				})
				if r.RecordingBytesPerHour > 0 && g.RecordingBytesPerHour > 0 {
					out[len(out)-1].Recording = div(r.RecordingBytesPerHour, g.RecordingBytesPerHour)
				}
				if r.PSSBytes > 0 && g.PSSBytes > 0 {
					out[len(out)-1].PSS = div(r.PSSPerSession, g.PSSPerSession)
				}
				if r.USSBytes > 0 && g.USSBytes > 0 {
					out[len(out)-1].USS = div(r.USSPerSession, g.USSPerSession)
				}
				if r.Sound != nil && g.Sound != nil {
					q := &out[len(out)-1]
					q.SoundBytes = div(r.Sound.BytesPerSec, g.Sound.BytesPerSec)
					if r.Sound.Heard > 0 && g.Sound.Heard > 0 {
						q.SoundLatencyP50 = div(r.Sound.Latency.P50, g.Sound.Latency.P50)
					}
				}
				if r.Latency != nil && g.Latency != nil && r.Latency.Samples > 0 && g.Latency.Samples > 0 {
					q := &out[len(out)-1]
					q.LatencyP50 = div(r.Latency.Total.P50, g.Latency.Total.P50)
					q.LatencyP99 = div(r.Latency.Total.P99, g.Latency.Total.P99)
				}
			}
		}
	}
	return out
}

func div(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func variantSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " [" + v + "]"
}

// WriteJSON writes run to path, indented.
func WriteJSON(path string, run *Run) error {
	b, err := json.MarshalIndent(sanitize(run), "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// sanitize replaces NaN ratios (no guacd figure) by 0: JSON has no NaN.
func sanitize(run *Run) *Run {
	c := *run
	c.Ratios = slices.Clone(run.Ratios)
	for i := range c.Ratios {
		q := &c.Ratios[i]
		for _, p := range []*float64{&q.Bytes, &q.CPU, &q.RSS, &q.PSS, &q.USS, &q.LatencyP50, &q.LatencyP99, &q.SoundLatencyP50, &q.SoundBytes, &q.Recording} {
			if math.IsNaN(*p) || math.IsInf(*p, 0) {
				*p = 0
			}
		}
	}
	return &c
}

// Table writes the human summary.
func Table(w io.Writer, run *Run) {
	fmt.Fprintf(w, "racgate bench: %d CPUs (load %.2f at start, shared machine), %dx%d, %.0f s per scenario, %s\n\n",
		run.Host.CPUs, run.Host.Load1, run.Width, run.Height, run.Duration, run.Host.Go)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(run.Results) > 0 { // none: an sftp-only run
		fmt.Fprintln(tw, "scenario\tgateway\tsess\tKB/s\tfps/sess\tTTFF ms\tCPU-s/sess/10s\tserver CPU-s/10s\tRSS MB\tUSS/sess MB\tPSS/sess MB\tRSS/sess MB\tΔRSS MB\tlat p50/p95/p99 ms\tgw share p50/p99 ms\tcore %\tload\t")
	}
	for _, r := range run.Results {
		name := r.Scenario + variantSuffix(r.Variant)
		if r.Skipped != "" || len(r.Errors) > 0 {
			continue // listed below the table
		}
		lat, gw := "-", "-"
		if l := r.Latency; l != nil && l.Samples > 0 {
			lat = fmt.Sprintf("%.1f/%.1f/%.1f", l.Total.P50, l.Total.P95, l.Total.P99)
			gw = fmt.Sprintf("%.1f/%.1f", l.Gateway.P50, l.Gateway.P99)
		}
		if r.Gateway == "render" { // the in-process render matrix: no process, no server
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t-\t%.3f\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\n",
				name, r.Gateway, r.Sessions, r.BytesPerSec/1e3, r.FramesPerSec, r.CPUPerSession10s)
			continue
		}
		// CPU-s per 10 s is tenths of a core: times 10, the gateway's share of one core in %.
		uss, pss := "-", "-"
		if r.USSBytes > 0 {
			uss = fmt.Sprintf("%.2f", r.USSPerSession/1e6)
		}
		if r.PSSBytes > 0 {
			pss = fmt.Sprintf("%.2f", r.PSSPerSession/1e6)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%.0f\t%.3f\t%.3f\t%.1f\t%s\t%s\t%.2f\t%+.1f\t%s\t%s\t%.1f\t%.2f→%.2f\t\n",
			name, r.Gateway, r.Sessions, r.BytesPerSec/1e3, r.FramesPerSec, r.FirstFrameMs,
			r.CPUPerSession10s, r.ServerCPU10s, float64(r.RSSBytes)/1e6, uss, pss, r.RSSPerSession/1e6,
			float64(r.RSSGrowth)/1e6, lat, gw, r.CPUTotal10s*10, r.LoadStart, r.LoadEnd)
	}
	tw.Flush()
	if len(run.Ratios) > 0 {
		fmt.Fprintln(w, "\nracgate / guacd (same run; below 1 is better for racgate):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tbytes\tCPU\tUSS/sess\tPSS/sess\tRSS/sess\tlat p50\tlat p99\tsound bytes\tsound lat p50\trecording\t")
		for _, q := range run.Ratios {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", q.Scenario, ratio(q.Bytes), ratio(q.CPU), ratio(q.USS), ratio(q.PSS), ratio(q.RSS),
				ratio(q.LatencyP50), ratio(q.LatencyP99), ratio(q.SoundBytes), ratio(q.SoundLatencyP50), ratio(q.Recording))
		}
		tw.Flush()
	}
	for _, r := range run.Results {
		if r.Skipped != "" || len(r.Errors) > 0 || r.TerminalBytes == 0 && r.RemoteBytes == 0 {
			continue
		}
		fmt.Fprintf(w, "- %s (%s) terminal:", r.Scenario+variantSuffix(r.Variant), r.Gateway)
		if r.RemoteBytes > 0 {
			fmt.Fprintf(w, " remote wrote %.1f KB/s", float64(r.RemoteBytes)/r.Seconds/1e3)
		}
		if r.TerminalBytes > 0 {
			fmt.Fprintf(w, " TERMINAL data %.1f KB/s", float64(r.TerminalBytes)/r.Seconds/1e3)
		}
		if r.RemoteBytesPerCPUSec > 0 {
			fmt.Fprintf(w, " (%.2f MB of remote output per gateway CPU-second)", r.RemoteBytesPerCPUSec/1e6)
		}
		fmt.Fprintln(w)
	}
	soundTable(w, run)
	for _, r := range run.Results {
		if r.RecordingBytesPerHour > 0 && r.Skipped == "" && len(r.Errors) == 0 {
			fmt.Fprintf(w, "- %s (%s) recording: %.1f MB per session-hour (the wire: %.1f MB per hour)\n", r.Scenario+variantSuffix(r.Variant),
				r.Gateway, r.RecordingBytesPerHour/1e6, r.BytesPerSec*3600/1e6)
		}
	}
	for _, r := range run.Results {
		if r.Skipped != "" {
			fmt.Fprintf(w, "- %s (%s) skipped: %s\n", r.Scenario+variantSuffix(r.Variant), r.Gateway, r.Skipped)
		}
		for _, e := range r.Errors {
			fmt.Fprintf(w, "! %s (%s) failed: %s\n", r.Scenario+variantSuffix(r.Variant), r.Gateway, e)
		}
	}
	transferTable(w, run)
	browserTable(w, run)
	if len(run.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range run.Notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
}

// soundTable lists the sound scenarios' own figures: what the client got, the gateway's
// CPU and memory (RSS and PSS), and when the bursts arrived.
func soundTable(w io.Writer, run *Run) {
	var rs []Result
	for _, r := range run.Results {
		if r.Sound != nil && r.Skipped == "" && len(r.Errors) == 0 {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nsound (per session; latency from a burst written at the server to its packet read by the client):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tgateway\tcodec\tsound KB/s\tPCM KB/s\tpackets\tCPU-s/10s\tserver CPU-s/10s\tRSS/sess MB\tPSS/sess MB\tΔRSS MB\tΔPSS MB\theard\tlat p50/p95/max ms\t")
	for _, r := range rs {
		s := r.Sound
		lat := "-"
		if s.Heard > 0 {
			lat = fmt.Sprintf("%.0f/%.0f/%.0f", s.Latency.P50, s.Latency.P95, s.Latency.Max)
		}
		heard := fmt.Sprintf("%d/%d", s.Heard, s.Bursts)
		if s.Spurious > 0 {
			heard += fmt.Sprintf(" (+%d)", s.Spurious)
		}
		pss, dpss := "-", "-"
		if r.PSSBytes > 0 {
			pss, dpss = fmt.Sprintf("%.2f", r.PSSPerSession/1e6), fmt.Sprintf("%+.2f", float64(r.PSSGrowth)/1e6)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%d\t%.3f\t%.3f\t%.2f\t%s\t%+.2f\t%s\t%s\t%s\t\n",
			r.Scenario+variantSuffix(r.Variant), r.Gateway, orNone(s.Codec), s.BytesPerSec/1e3, s.PCMBytesPerSec/1e3, s.Packets,
			r.CPUPerSession10s, r.ServerCPU10s, r.RSSPerSession/1e6, pss, float64(r.RSSGrowth)/1e6, dpss, heard, lat)
	}
	tw.Flush()
	for _, r := range rs {
		if r.Sound.Undecoded > 0 {
			fmt.Fprintf(w, "- %s (%s): %d of %d sound packets not decoded (no burst seen in them)\n",
				r.Scenario+variantSuffix(r.Variant), r.Gateway, r.Sound.Undecoded, r.Sound.Packets)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func ratio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", x)
}

// Progress is the one-line status on a terminal: each Set overwrites the line.
type Progress struct {
	W     io.Writer
	start time.Time
	last  int
}

// Set shows msg with the time since the first call.
func (p *Progress) Set(msg string) {
	if p == nil || p.W == nil {
		return
	}
	if p.start.IsZero() {
		p.start = time.Now()
	}
	line := fmt.Sprintf("[%5.1fs] %s", time.Since(p.start).Seconds(), msg)
	pad := ""
	if n := p.last - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.W, "\r%s%s", line, pad)
	p.last = len(line)
}

// Done ends the progress line.
func (p *Progress) Done() {
	if p != nil && p.W != nil && p.last > 0 {
		fmt.Fprintln(p.W)
		p.last = 0
	}
}

// browserTable prints the browser-* scenarios, with each client's main-thread time
// against the better of the other two.
func browserTable(w io.Writer, run *Run) {
	if len(run.Browser) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "browser (headless Chromium; CPU-s per 10 s; frames: animation frames in which the page drew; drawn by: canvas, or xterm.js's dom or webgl renderer):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tcanvas\tclient\tdrawn by\torder\tmain CPU\tscript\tlayout\tframes/s\tdraws/s\tChromium CPU\tkey p50/p95 ms\tload\t")
	for _, b := range run.Browser {
		if b.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\tn/a\t%d\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\t%.2f→%.2f\t\n", b.Workload, b.Canvas, b.Client, b.Order, b.LoadStart, b.LoadEnd)
			continue
		}
		keys := "-"
		if b.Keys > 0 {
			keys = fmt.Sprintf("%.0f/%.0f (%d of %d)", b.KeyP50, b.KeyP95, b.KeysAnswered, b.Keys)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.1f\t%.0f\t%.2f\t%s\t%.2f→%.2f\t\n", b.Workload, b.Canvas, b.Client, b.Renderer, b.Order,
			b.MainCPU, b.Script, b.Layout, b.FramesPerSec, b.DrawsPerSec, b.BrowserCPU, keys, b.LoadStart, b.LoadEnd)
	}
	tw.Flush()
	for _, b := range run.Browser {
		if b.Error != "" {
			fmt.Fprintf(w, "! %s %s %s: %s\n", b.Workload, b.Canvas, b.Client, b.Error)
		}
	}
	// racgate's main-thread time against the better (lower) of the peers', same workload
	// and canvas, with the frames each drew: less time at fewer frames is not a win.
	type key struct{ wl, canvas string }
	best := map[key]Browser{}
	ours := map[key]Browser{}
	var keys []key
	for _, b := range run.Browser {
		if b.Error != "" {
			continue
		}
		k := key{b.Workload, b.Canvas}
		if b.Client == "racgate" {
			ours[k] = b
			keys = append(keys, k)
		} else if v, ok := best[k]; !ok || b.MainCPU < v.MainCPU {
			best[k] = b
		}
	}
	for _, k := range keys {
		if v, ok := best[k]; ok {
			fmt.Fprintf(w, "  %s %s: racgate's main thread %s of the better peer's (%s), at %s its frames; Chromium %s\n", k.wl, k.canvas,
				ratio(div(ours[k].MainCPU, v.MainCPU)), v.Client, ratio(div(ours[k].FramesPerSec, v.FramesPerSec)), ratio(div(ours[k].BrowserCPU, v.BrowserCPU)))
		}
	}
}

// transferTable prints the sftp scenario: MiB/s through racgate and OpenSSH's sftp.
func transferTable(w io.Writer, run *Run) {
	if run.TransferError != "" {
		fmt.Fprintf(w, "! sftp failed: %s\n", run.TransferError)
	}
	if len(run.Transfers) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "file transfer (sftp: racgate's file panel vs OpenSSH's sftp, the same sshd; median MiB/s):")
	fmt.Fprintf(w, "  %9s  %8s  %8s  %8s  %s\n", "direction", "MiB", "racgate", "OpenSSH", "racgate/OpenSSH")
	for _, t := range run.Transfers {
		ratio := "n/a"
		if t.OpenSSH > 0 && t.Racgate > 0 {
			ratio = fmt.Sprintf("%.2fx", t.Racgate/t.OpenSSH)
		}
		fmt.Fprintf(w, "  %9s  %8d  %8.1f  %8.1f  %s\n", t.Direction, t.Bytes>>20, t.Racgate, t.OpenSSH, ratio)
	}
}
