package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleRun() *Run {
	lat := &Latency{TotalRaw: []float64{3, 4, 5, 6, 20}, GatewayRaw: []float64{0.2, 0.3, 0.4, 0.5, 9}}
	lat.Samples = len(lat.TotalRaw)
	lat.Total, lat.Gateway = QuantilesOf(lat.TotalRaw), QuantilesOf(lat.GatewayRaw)
	rs := []Result{
		{Scenario: "busy", Gateway: "racgate", Sessions: 1, BytesPerSec: 200e3, CPUPerSession10s: 1, CPUTotal10s: 1.25, RSSPerSession: 8e6, USSPerSession: 8e6, PSSPerSession: 9e6, RecordingBytesPerHour: 360e6,
			LoadStart: 1.5, LoadEnd: 2.25},
		{Scenario: "busy", Gateway: "guacd", Sessions: 1, BytesPerSec: 1000e3, CPUPerSession10s: 4, RSSPerSession: 32e6, USSPerSession: 16e6, PSSPerSession: 20e6, RecordingBytesPerHour: 3600e6},
		{Scenario: "typing <&>", Gateway: "racgate", Sessions: 1, Latency: lat},
		{Scenario: "ssh-idle", Gateway: "racgate", Skipped: "no SSH yet"},
		{Scenario: "scale", Variant: "1 sessions", Gateway: "racgate", Sessions: 1, CPUTotal10s: 0.01, RSSBytes: 20e6},
		{Scenario: "scale", Variant: "10 sessions", Gateway: "racgate", Sessions: 10, CPUTotal10s: 0.05, RSSBytes: 40e6},
		{Scenario: "scale", Variant: "100 sessions", Gateway: "racgate", Sessions: 100, CPUTotal10s: 0.4, RSSBytes: 200e6},
	}
	return &Run{Host: Host{CPUs: 2}, Width: 1024, Height: 768, Duration: 5, Results: rs, Ratios: Ratios(rs)}
}

func TestQuantiles(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(100 - i) // 100..1, unsorted
	}
	q := QuantilesOf(xs)
	if q.P50 != 50 || q.P95 != 95 || q.P99 != 99 || q.Max != 100 || xs[0] != 100 {
		t.Fatalf("QuantilesOf = %+v (input changed: %v)", q, xs[0] != 100)
	}
	if q := QuantilesOf(nil); q != (Quantiles{}) {
		t.Fatalf("empty: %+v", q)
	}
}

func TestRatiosAndTable(t *testing.T) {
	run := sampleRun()
	if len(run.Ratios) != 1 || run.Ratios[0].Bytes != 0.2 || run.Ratios[0].CPU != 0.25 || run.Ratios[0].RSS != 0.25 || run.Ratios[0].Recording != 0.1 {
		t.Fatalf("ratios %+v", run.Ratios)
	}
	var b bytes.Buffer
	Table(&b, run)
	out := b.String()
	for _, want := range []string{"busy", "guacd", "skipped: no SSH yet", "0.20x", "0.25x", "5.0/20.0/20.0", "0.10x",
		"busy (racgate) recording: 360.0 MB per session-hour (the wire: 720.0 MB per hour)",
		"core %", "12.5", "1.50→2.25"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	run := sampleRun()
	run.Ratios = append(run.Ratios, Ratio{Scenario: "x", Bytes: math.NaN(), Recording: math.NaN()})
	p := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(p, run); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	var back Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != len(run.Results) || back.Results[2].Latency.Total.P99 != 20 || back.Ratios[1].Bytes != 0 {
		t.Fatalf("round trip: %+v", back)
	}
}

// TestWriteSVG: every chart is well-formed XML and shows what it should.
func TestWriteSVG(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSVG(dir, sampleRun()); err != nil {
		t.Fatal(err)
	}
	for name, wants := range map[string][]string{
		BytesSVG:   {"busy", "racgate", "guacd", "1000"},
		CPUSVG:     {"busy", "4.0"},
		LatencySVG: {"racgate total", "racgate gateway share"},
		ScalingSVG: {"sessions (log scale)", ">100<"},
		MemorySVG:  {"busy", "USS", ">8.0<", ">16.0<"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: not XML: %v", name, err)
			}
		}
		for _, w := range wants {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
	// The bytes chart scales bars to the largest value: guacd's bar is five times racgate's.
	b, _ := os.ReadFile(filepath.Join(dir, BytesSVG))
	if !strings.Contains(string(b), `width="500.0" height="12.0" fill="#e08a1e"`) || !strings.Contains(string(b), `width="100.0" height="12.0" fill="#2b7bba"`) {
		t.Errorf("bar widths not proportional:\n%s", b)
	}
	// The memory chart is USS, not PSS or RSS: guacd's 16 MB is the axis's 20 MB less a
	// fifth, racgate's 8 MB two fifths of it.
	b, _ = os.ReadFile(filepath.Join(dir, MemorySVG))
	if !strings.Contains(string(b), `width="400.0" height="12.0" fill="#e08a1e"`) || !strings.Contains(string(b), `width="200.0" height="12.0" fill="#2b7bba"`) {
		t.Errorf("memory bars not USS:\n%s", b)
	}
}

// TestLatencyRatios: latency ratios are total p50 and p99, racgate over guacd, only
// where both ran the latency probe.
func TestLatencyRatios(t *testing.T) {
	mk := func(p50, p99 float64) *Latency {
		return &Latency{Samples: 10, Total: Quantiles{P50: p50, P95: p99, P99: p99, Max: p99}}
	}
	rs := []Result{
		{Scenario: "typing", Gateway: "racgate", Latency: mk(10, 15), CPUPerSession10s: 1},
		{Scenario: "typing", Gateway: "guacd", Latency: mk(20, 60), CPUPerSession10s: 2},
		{Scenario: "busy", Gateway: "racgate", BytesPerSec: 1},
		{Scenario: "busy", Gateway: "guacd", BytesPerSec: 2},
	}
	q := Ratios(rs)
	if len(q) != 2 || q[0].LatencyP50 != 0.5 || q[0].LatencyP99 != 0.25 || q[0].CPU != 0.5 {
		t.Fatalf("typing ratios %+v", q)
	}
	if !math.IsNaN(q[1].LatencyP50) || !math.IsNaN(q[1].LatencyP99) || q[1].Bytes != 0.5 {
		t.Fatalf("busy has no latency: %+v", q[1])
	}
	var b bytes.Buffer
	Table(&b, &Run{Results: rs, Ratios: q})
	for _, want := range []string{"lat p99", "0.25x", "n/a"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if err := WriteJSON(p, &Run{Results: rs, Ratios: q}); err != nil {
		t.Fatalf("NaN latency ratios must not break JSON: %v", err)
	}
}

// TestTerminalLine: terminal scenarios get a line with the remote's output per second and
// per gateway CPU-second; others do not.
func TestTerminalLine(t *testing.T) {
	run := &Run{Results: []Result{
		{Scenario: "ssh-flood", Gateway: "racgate", Seconds: 2, RemoteBytes: 600e3, TerminalBytes: 700e3, RemoteBytesPerCPUSec: 8e6},
		{Scenario: "ssh-flood", Gateway: "guacd", Seconds: 2, RemoteBytes: 500e3, RemoteBytesPerCPUSec: 0.5e6},
		{Scenario: "busy", Gateway: "racgate", Seconds: 2},
	}}
	var b strings.Builder
	Table(&b, run)
	for _, want := range []string{
		"- ssh-flood (racgate) terminal: remote wrote 300.0 KB/s TERMINAL data 350.0 KB/s (8.00 MB of remote output per gateway CPU-second)",
		"- ssh-flood (guacd) terminal: remote wrote 250.0 KB/s (0.50 MB of remote output per gateway CPU-second)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "busy (racgate) terminal") {
		t.Errorf("busy got a terminal line:\n%s", b.String())
	}
}

// TestSoundRatiosAndTable: sound ratios are the sound messages' bytes, the sound latency
// p50 (only where both heard bursts) and PSS per session (only where both are known);
// failed results pair with nothing; the sound table lists each sound result.
func TestSoundRatiosAndTable(t *testing.T) {
	snd := func(codec string, bps, p50 float64, heard int) *Sound {
		return &Sound{Codec: codec, Packets: 100, BytesPerSec: bps, Bursts: 20, Heard: heard, Spurious: 20 - heard,
			Latency: Quantiles{P50: p50, P95: p50 + 10, Max: p50 + 20}}
	}
	rs := []Result{
		{Scenario: "rdp-audio", Gateway: "racgate", CPUPerSession10s: 0.05, PSSBytes: 30e6, PSSPerSession: 2e6, RSSPerSession: 3e6, USSBytes: 20e6, USSPerSession: 1e6,
			Sound: snd("opus", 12e3, 60, 20)},
		{Scenario: "rdp-audio", Gateway: "guacd", CPUPerSession10s: 0.5, PSSBytes: 40e6, PSSPerSession: 20e6, RSSPerSession: 60e6, USSBytes: 30e6, USSPerSession: 4e6,
			Sound: snd("audio/L16;rate=44100,channels=2", 240e3, 120, 20)},
		{Scenario: "vnc-audio", Gateway: "racgate", Sound: snd("adpcm", 45e3, 50, 20), PSSBytes: 30e6, PSSPerSession: 1e6},
		{Scenario: "vnc-audio", Gateway: "guacd", Sound: snd("audio/L16", 240e3, 0, 0), Errors: []string{"broke"}},
		{Scenario: "vnc-audio", Variant: "sound off", Gateway: "racgate", Sound: snd("", 0, 0, 0), RSSPerSession: 1e6},
		{Scenario: "vnc-audio", Variant: "sound off", Gateway: "guacd", Sound: snd("", 0, 0, 0), RSSPerSession: 2e6},
	}
	q := Ratios(rs)
	if len(q) != 2 {
		t.Fatalf("ratios %+v: want rdp-audio and vnc-audio [sound off] (vnc-audio's guacd failed)", q)
	}
	if q[0].SoundBytes != 0.05 || q[0].SoundLatencyP50 != 0.5 || q[0].CPU != 0.1 || q[0].PSS != 0.1 || q[0].RSS != 0.05 || q[0].USS != 0.25 {
		t.Errorf("rdp-audio ratios %+v", q[0])
	}
	if !math.IsNaN(q[1].SoundLatencyP50) || !math.IsNaN(q[1].SoundBytes) || !math.IsNaN(q[1].PSS) || !math.IsNaN(q[1].USS) || q[1].RSS != 0.5 {
		t.Errorf("sound off ratios %+v: no sound, no PSS", q[1])
	}
	var b bytes.Buffer
	Table(&b, &Run{Results: rs, Ratios: q})
	for _, want := range []string{"sound KB/s", "opus", "240.0", "60/70/80", "20/20", "2.00", "0.05x", "0.10x",
		"! vnc-audio (guacd) failed: broke"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if !strings.Contains(b.String(), "0/20 (+20)") {
		t.Errorf("table lacks the spurious starts of vnc-audio [sound off]:\n%s", b.String())
	}
	if err := WriteJSON(filepath.Join(t.TempDir(), "r.json"), &Run{Results: rs, Ratios: q}); err != nil {
		t.Fatal(err)
	}
}
