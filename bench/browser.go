package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/bench/browser"
	"github.com/racgate/racgate/bench/guac"
	"github.com/racgate/racgate/bench/procstat"
	"github.com/racgate/racgate/bench/report"
)

// browserWorkloads are the browser-* scenarios: what each web client costs the browser
// showing the same desktop. They run only when named (they need node, Chromium and
// npm ci in bench/browser).
var browserWorkloads = []struct {
	name string
	wl   func(context.Context, *xvnc, time.Duration) error
	// ssh, if set, is the command an SSH session runs instead of a desktop: the
	// terminal's cost (xterm.js in racgate's page; guacd's terminal images in
	// guacamole-common-js; noVNC has none).
	ssh   string
	flood bool
	// keys, if set, types a letter this often during the window and measures each key's
	// time to the frame that draws its echo, in the page.
	keys time.Duration
}{
	{name: "browser-idle", wl: workloadIdle},
	{name: "browser-busy", wl: workloadBusy},
	{name: "browser-scroll", wl: workloadScroll},
	{name: "browser-drag", wl: workloadDrag},
	{name: "browser-churn", wl: workloadChurn},
	{name: "browser-typing", wl: workloadTyping, keys: 250 * time.Millisecond},
	{name: "browser-ssh-idle", ssh: idleCommand},
	{name: "browser-ssh-flood", ssh: floodScript, flood: true},
}

func (o *options) wantBrowser(name string) bool { return slices.Contains(o.only, name) }

// browserBench runs every browser-* scenario named, on each canvas mode asked for.
func (h *harness) browserBench(ctx context.Context) []report.Browser {
	var out []report.Browser
	i := 0
	for _, w := range browserWorkloads {
		if !h.o.wantBrowser(w.name) {
			continue
		}
		for _, canvas := range h.o.browserCanvas {
			label := fmt.Sprintf("%s (%s canvas)", w.name, canvas)
			sc := scenario{Name: w.name, Workload: w.wl, SSH: w.ssh, Flood: w.flood, Sessions: 1}
			out = append(out, h.browserWorkload(ctx, sc, w.keys, canvas, i, label)...)
			i++
		}
	}
	return out
}

func (h *harness) browserWorkload(ctx context.Context, sc scenario, keys time.Duration, canvas string, turn int, label string) []report.Browser {
	name := sc.Name
	// Each workload starts one further on in -browser-clients, so that no client always
	// meets the machine first.
	clients := h.o.browserClients
	order := make([]string, len(clients))
	for k := range order {
		order[k] = clients[(k+turn)%len(clients)]
	}
	results := make([]report.Browser, len(order))
	for k, c := range order {
		results[k] = report.Browser{Workload: name, Canvas: canvas, Client: c, Order: k + 1}
	}
	fail := func(err error) []report.Browser {
		for k := range results {
			results[k].Error = err.Error()
		}
		return results
	}
	dir, err := h.newDir(name + "-" + canvas)
	if err != nil {
		return fail(err)
	}
	ps := &procs{}
	defer ps.stopAll()
	// The workload runs through every client's page, one after the other.
	per := h.o.warmup + time.Second + h.o.duration
	window := time.Duration(len(order))*per + 30*time.Second
	_, rem, _, _, _, err := h.startRemote(ctx, ps, dir, sc, label, window)
	if err != nil {
		return fail(err)
	}
	guacConf := guac.Config{Protocol: rem.Protocol, Width: h.o.width, Height: h.o.height, Params: map[string]string{}}
	host, port, _ := strings.Cut(rem.Addr, ":")
	guacConf.Params["hostname"], guacConf.Params["port"] = host, port
	if sc.SSH != "" {
		guacConf.Params["username"], guacConf.Params["password"] = rem.Settings["username"], rem.Settings["password"]
	} else {
		// racgate shows the desktop at its size, as the peers do: no resize to the page.
		rem.Settings = map[string]string{"resize-method": "none"}
	}
	user, pass := "bench", randomPassword()
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		return fail(err)
	}
	h.prog.Set(label + ": starting racgate")
	rg, err := startRacgate(ctx, ps, h.bin, dir, configYAML(rem, user, string(hash), ""), false, h.log)
	if err != nil {
		return fail(err)
	}
	root, err := benchRoot()
	if err != nil {
		return fail(err)
	}
	vncAddr := rem.Addr
	if sc.SSH != "" {
		vncAddr = "" // no noVNC page
	}
	srv, err := browser.NewServer(browser.Peers{
		VNC: vncAddr, Guacd: h.o.guacd, Dir: filepath.Join(root, "bench", "browser"), Log: h.log,
		Guac: guacConf,
	})
	if err != nil {
		return fail(err)
	}
	defer srv.Close()
	h.prog.Set(label + ": starting Chromium")
	drv, err := browser.Start(ctx, filepath.Join(root, "bench", "browser"), canvas == "gpu")
	if err != nil {
		return fail(err)
	}
	defer drv.Close()
	for k, c := range order {
		r := &results[k]
		if c == "guacamole-common-js" && h.o.guacd == "" {
			r.Error = "no -guacd"
			continue
		}
		if c == "noVNC" && sc.SSH != "" {
			r.Error = "n/a: VNC only"
			continue
		}
		h.prog.Set(fmt.Sprintf("%s: %s", label, c))
		if err := h.browserClient(ctx, drv, c, rg.Base, srv.URL, user, pass, keys, r); err != nil {
			r.Error = err.Error()
		}
		drv.ClosePage(ctx)
	}
	return results
}

// browserClient opens one client's page, lets it settle and measures it.
func (h *harness) browserClient(ctx context.Context, drv *browser.Driver, client, racgateBase, peersBase, user, pass string, keys time.Duration, r *report.Browser) error {
	var err error
	switch client {
	case "racgate":
		err = drv.Open(ctx, racgateBase+"/connect/"+endpointName,
			&browser.Login{URL: racgateBase + "/login", Username: user, Password: pass})
	case "noVNC":
		err = drv.Open(ctx, peersBase+"/novnc.html", nil)
	default:
		err = drv.Open(ctx, peersBase+"/guac.html", nil)
	}
	if err != nil {
		return err
	}
	if err := sleep(ctx, h.o.warmup+time.Second); err != nil {
		return err
	}
	r.LoadStart = loadAverage()
	t0, err := chromiumCPU(drv.PID())
	if err != nil {
		return err
	}
	start := time.Now()
	profile := ""
	if h.o.pprofDir != "" {
		profile = filepath.Join(h.o.pprofDir, fmt.Sprintf("%s-%s-%s.cpuprofile", r.Workload, r.Canvas, client))
		if err := os.MkdirAll(h.o.pprofDir, 0o755); err != nil {
			return err
		}
	}
	c, err := drv.Measure(ctx, h.o.duration, profile, keys)
	if err != nil {
		return err
	}
	t1, err := chromiumCPU(drv.PID())
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	r.LoadEnd = loadAverage()
	if c.MetricsMs <= 0 || c.PageMs <= 0 {
		return fmt.Errorf("the page's clocks did not advance (%.0f ms, %.0f ms)", c.MetricsMs, c.PageMs)
	}
	r.MainCPU, r.Script = c.Task*1e4/c.MetricsMs, c.Script*1e4/c.MetricsMs
	r.Layout, r.Renderer = (c.Layout+c.Style)*1e4/c.MetricsMs, c.Renderer
	if keys > 0 {
		r.Keys, r.KeysAnswered = c.Keys, len(c.KeyMs)
		if len(c.KeyMs) == 0 {
			return fmt.Errorf("none of %d keys was drawn", c.Keys)
		}
		q := report.QuantilesOf(c.KeyMs)
		r.KeyP50, r.KeyP95 = q.P50, q.P95
	}
	r.FramesPerSec, r.DrawsPerSec = float64(c.Frames)*1e3/c.PageMs, float64(c.Draws)*1e3/c.PageMs
	r.BrowserCPU = (t1 - t0).Seconds() * 10 / wall
	return nil
}

// chromiumCPU is the CPU time of every process under the driver's node (Chromium's),
// node's own left out.
func chromiumCPU(nodePID int) (time.Duration, error) {
	all, err := procstat.ReadTree(nodePID)
	if err != nil {
		return 0, err
	}
	self, err := procstat.Read(nodePID)
	if err != nil {
		return 0, err
	}
	return all.CPU - self.CPU, nil
}

// benchRoot is the module's root, where bench/browser lies.
func benchRoot() (string, error) {
	goBin, err := lookup("go")
	if err != nil {
		return "", err
	}
	return moduleRoot(context.Background(), goBin)
}
