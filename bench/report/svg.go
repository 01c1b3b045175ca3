package report

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Chart files WriteSVG makes (each only when the run has data for it).
const (
	BytesSVG   = "bytes.svg"   // bytes per second per scenario
	CPUSVG     = "cpu.svg"     // gateway CPU per session per scenario
	LatencySVG = "latency.svg" // latency distribution (CDF)
	ScalingSVG = "scaling.svg" // CPU and memory against idle sessions
	MemorySVG  = "memory.svg"  // private memory (USS) per session per scenario
)

// Colours per gateway.
var gatewayColour = map[string]string{"racgate": "#2b7bba", "guacd": "#e08a1e"}

func colour(gw string) string {
	if c, ok := gatewayColour[gw]; ok {
		return c
	}
	return "#777"
}

// WriteSVG writes the charts into dir (made if missing).
func WriteSVG(dir string, run *Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var measured []Result
	for _, r := range run.Results {
		if r.Skipped == "" && len(r.Errors) == 0 && r.Scenario != "scale" {
			measured = append(measured, r)
		}
	}
	charts := map[string]string{}
	if len(measured) > 0 {
		charts[BytesSVG] = bars("Bytes to the client per session (KB/s)", measured, func(r Result) float64 { return r.BytesPerSec / 1e3 })
		charts[CPUSVG] = bars("Gateway CPU seconds per session per 10 s", measured, func(r Result) float64 { return r.CPUPerSession10s })
	}
	// Private memory where the run read it (smaps_rollup): what a session costs the
	// machine, without the shared pages RSS counts once per process.
	var uss []Result
	for _, r := range measured {
		if r.USSPerSession > 0 {
			uss = append(uss, r)
		}
	}
	if len(uss) > 0 {
		charts[MemorySVG] = bars("Private memory (USS) per session (MB)", uss, func(r Result) float64 { return r.USSPerSession / 1e6 })
	}
	if s := latencyCDF(run.Results); s != "" {
		charts[LatencySVG] = s
	}
	if s := scaling(run.Results); s != "" {
		charts[ScalingSVG] = s
	}
	for name, body := range charts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}

// svg is a small SVG document builder.
type svg struct {
	b    strings.Builder
	w, h int
}

func newSVG(w, h int, title string) *svg {
	s := &svg{w: w, h: h}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&s.b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	s.text(float64(w)/2, 20, "middle", 14, title)
	return s
}

func (s *svg) text(x, y float64, anchor string, size int, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, size, html.EscapeString(t))
}

// vtext is text turned to read upwards, for a vertical axis.
func (s *svg) vtext(x, y float64, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n", x, y, x, y, html.EscapeString(t))
}

func (s *svg) rect(x, y, w, h float64, fill string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, w, h, fill)
}

func (s *svg) line(x1, y1, x2, y2 float64, stroke string) {
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x1, y1, x2, y2, stroke)
}

func (s *svg) polyline(pts [][2]float64, stroke string) {
	var b strings.Builder
	for _, p := range pts {
		fmt.Fprintf(&b, "%.1f,%.1f ", p[0], p[1])
	}
	fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.TrimSpace(b.String()), stroke)
}

func (s *svg) legend(x, y float64, names ...string) {
	for i, n := range names {
		yy := y + float64(i)*16
		s.rect(x, yy-9, 10, 10, colour(n))
		s.text(x+14, yy, "start", 12, n)
	}
}

func (s *svg) String() string { return s.b.String() + "</svg>\n" }

// niceMax rounds v up to 1, 2 or 5 times a power of ten, for axis ends.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// bars is a horizontal bar chart, one row per scenario (and variant), one bar per gateway.
func bars(title string, rs []Result, value func(Result) float64) string {
	type row struct {
		label string
		vals  []Result
	}
	var rows []*row
	find := func(label string) *row {
		for _, r := range rows {
			if r.label == label {
				return r
			}
		}
		r := &row{label: label}
		rows = append(rows, r)
		return r
	}
	top := 0.0
	gws := []string{}
	for _, r := range rs {
		rw := find(r.Scenario + variantSuffix(r.Variant))
		rw.vals = append(rw.vals, r)
		top = max(top, value(r))
		if !slices.Contains(gws, r.Gateway) {
			gws = append(gws, r.Gateway)
		}
	}
	top = niceMax(top)
	const left, right, barH, gap = 220.0, 40.0, 14.0, 10.0
	rowH := float64(len(gws))*barH + gap
	w := 760.0
	h := 60 + float64(len(rows))*rowH + 30
	s := newSVG(int(w), int(h), title)
	plotW := w - left - right
	for i := 0; i <= 4; i++ { // grid and axis labels
		x := left + plotW*float64(i)/4
		s.line(x, 40, x, h-30, "#ddd")
		s.text(x, h-14, "middle", 11, trimFloat(top*float64(i)/4))
	}
	for i, rw := range rows {
		y := 45 + float64(i)*rowH
		s.text(left-8, y+float64(len(gws))*barH/2+4, "end", 12, rw.label)
		for _, r := range rw.vals {
			j := slices.Index(gws, r.Gateway)
			v := value(r)
			s.rect(left, y+float64(j)*barH, plotW*v/top, barH-2, colour(r.Gateway))
			s.text(left+plotW*v/top+4, y+float64(j)*barH+barH-4, "start", 10, trimFloat(v))
		}
	}
	s.legend(w-right-90, 40, gws...)
	return s.String()
}

func trimFloat(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// latencyCDF draws the cumulative distribution of input-to-pixel latency, total and
// gateway share, for every result with latency samples.
func latencyCDF(rs []Result) string {
	type series struct {
		name, colour string
		xs           []float64
	}
	var ss []series
	top := 0.0
	for _, r := range rs {
		if r.Latency == nil || len(r.Latency.TotalRaw) == 0 {
			continue
		}
		c := colour(r.Gateway)
		ss = append(ss, series{r.Gateway + " total", c, r.Latency.TotalRaw})
		if len(r.Latency.GatewayRaw) > 0 {
			ss = append(ss, series{r.Gateway + " gateway share", c + `" stroke-dasharray="5,3`, r.Latency.GatewayRaw})
		}
		top = max(top, QuantilesOf(r.Latency.TotalRaw).P99)
	}
	if len(ss) == 0 {
		return ""
	}
	top = niceMax(top)
	const w, h, left, bottom, topY, right = 760.0, 420.0, 60.0, 50.0, 40.0, 200.0
	pw, ph := w-left-right, h-topY-bottom
	s := newSVG(int(w), int(h), "Key to pixel latency, cumulative (ms, up to p99)")
	for i := 0; i <= 4; i++ {
		x := left + pw*float64(i)/4
		y := topY + ph*float64(i)/4
		s.line(x, topY, x, topY+ph, "#ddd")
		s.line(left, y, left+pw, y, "#ddd")
		s.text(x, h-bottom+16, "middle", 11, trimFloat(top*float64(i)/4))
		s.text(left-6, y+4, "end", 11, fmt.Sprintf("%d%%", 100-25*i))
	}
	s.text(left+pw/2, h-12, "middle", 12, "milliseconds")
	for i, se := range ss {
		xs := slices.Clone(se.xs)
		slices.Sort(xs)
		pts := make([][2]float64, 0, len(xs)+1)
		pts = append(pts, [2]float64{left, topY + ph})
		for k, v := range xs {
			pts = append(pts, [2]float64{left + pw*min(v, top)/top, topY + ph*(1-float64(k+1)/float64(len(xs)))})
		}
		s.polyline(pts, se.colour)
		y := topY + 10 + float64(i)*16
		fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", left+pw+12, y-4, left+pw+30, y-4, se.colour)
		s.text(left+pw+34, y, "start", 11, se.name)
	}
	return s.String()
}

// scaling draws gateway CPU (all sessions, per 10 s) and RSS against the number of idle
// sessions, log scale across.
func scaling(rs []Result) string {
	var pts []Result
	for _, r := range rs {
		if r.Scenario == "scale" && r.Skipped == "" && len(r.Errors) == 0 {
			pts = append(pts, r)
		}
	}
	if len(pts) < 2 {
		return ""
	}
	slices.SortFunc(pts, func(a, b Result) int { return a.Sessions - b.Sessions })
	maxN, maxCPU, maxRSS := 1, 0.0, 0.0
	for _, r := range pts {
		maxN = max(maxN, r.Sessions)
		maxCPU = max(maxCPU, r.CPUTotal10s)
		maxRSS = max(maxRSS, float64(r.RSSBytes)/1e6)
	}
	maxCPU, maxRSS = niceMax(maxCPU), niceMax(maxRSS)
	const w, h, left, right, topY, bottom = 760.0, 420.0, 70.0, 70.0, 40.0, 50.0
	pw, ph := w-left-right, h-topY-bottom
	logMax := math.Log10(float64(maxN))
	xOf := func(n int) float64 {
		if logMax == 0 {
			return left
		}
		return left + pw*math.Log10(float64(n))/logMax
	}
	s := newSVG(int(w), int(h), "Idle desktop sessions: gateway CPU and memory")
	for n := 1; n <= maxN; n *= 10 {
		s.line(xOf(n), topY, xOf(n), topY+ph, "#ddd")
		s.text(xOf(n), h-bottom+16, "middle", 11, fmt.Sprint(n))
	}
	for i := 0; i <= 4; i++ {
		y := topY + ph*float64(i)/4
		s.line(left, y, left+pw, y, "#eee")
		s.text(left-6, y+4, "end", 11, trimFloat(maxCPU*float64(4-i)/4))
		s.text(left+pw+6, y+4, "start", 11, trimFloat(maxRSS*float64(4-i)/4))
	}
	s.text(left+pw/2, h-12, "middle", 12, "sessions (log scale)")
	s.vtext(18, topY+ph/2, "CPU-s per 10 s")
	s.vtext(w-18, topY+ph/2, "RSS MB")
	byGW := map[string][]Result{}
	var gws []string
	for _, r := range pts {
		if _, ok := byGW[r.Gateway]; !ok {
			gws = append(gws, r.Gateway)
		}
		byGW[r.Gateway] = append(byGW[r.Gateway], r)
	}
	for i, gw := range gws {
		var cpu, rss [][2]float64
		for _, r := range byGW[gw] {
			cpu = append(cpu, [2]float64{xOf(r.Sessions), topY + ph*(1-r.CPUTotal10s/maxCPU)})
			rss = append(rss, [2]float64{xOf(r.Sessions), topY + ph*(1-float64(r.RSSBytes)/1e6/maxRSS)})
		}
		s.polyline(cpu, colour(gw))
		s.polyline(rss, colour(gw)+`" stroke-dasharray="5,3`)
		s.text(left+10, topY+14+float64(i)*32, "start", 11, gw+": CPU (solid)")
		s.text(left+10, topY+28+float64(i)*32, "start", 11, gw+": RSS (dashed)")
	}
	return s.String()
}
