package main

import (
	"context"
	"maps"
	"net"
	"time"

	"github.com/racgate/racgate/bench/guac"
	"github.com/racgate/racgate/bench/procstat"
	"github.com/racgate/racgate/bench/report"
)

// guacd runs sc through the guacd at -guacd.
func (h *harness) guacd(ctx context.Context, sc scenario, label string) report.Result {
	return h.scenario(ctx, sc, label, &guacdGateway{addr: h.o.guacd, pid: h.o.guacdPID, width: h.o.width, height: h.o.height})
}

// guacdGateway talks to a guacd someone else runs. It reaches the scenario's Xvnc on
// 127.0.0.1, so guacd must run on this machine. Its CPU and memory are known only with
// -guacd-pid: then the figures are guacd's and its per-connection children's.
type guacdGateway struct {
	addr          string
	pid           int
	width, height int
	rem           remoteServer
}

func (g *guacdGateway) name() string { return "guacd" }

func (g *guacdGateway) start(ctx context.Context, ps *procs, dir string, rem remoteServer) error {
	g.rem = rem
	return nil
}

func (g *guacdGateway) proc() (procstat.Sample, bool, error) {
	if g.pid == 0 {
		return procstat.Sample{At: time.Now()}, false, nil
	}
	s, err := procstat.ReadTree(g.pid)
	return s, err == nil, err
}

// params are guacd's parameters for the scenario: the settings racgate gets, under
// guacd's names (Guacamole's, which racgate follows).
func (g *guacdGateway) params(sc scenario) map[string]string {
	host, port, _ := net.SplitHostPort(g.rem.Addr)
	p := map[string]string{"hostname": host, "port": port}
	maps.Copy(p, g.rem.Settings)
	// The key pinned for racgate, in its format; guacd without host-key accepts any.
	delete(p, "host-key")
	if e := sc.Settings.Get("encodings"); e != "" {
		p["encodings"] = e
	}
	maps.Copy(p, sc.GuacdParams)
	return p
}

func (g *guacdGateway) dial(ctx context.Context, sc scenario, onFrame func(time.Time, bool)) (viewer, error) {
	c, err := guac.Dial(ctx, g.addr, guac.Config{Protocol: g.rem.Protocol, Params: g.params(sc), Width: g.width, Height: g.height})
	if err != nil {
		return nil, err
	}
	if onFrame != nil {
		c.OnSync = func(ev guac.SyncEvent) { onFrame(ev.At, ev.Changed) }
	}
	// guacamole-common-js answers a sync once it has drawn the frame: a slow browser
	// answers late.
	c.SyncDelay = sc.AckDelay
	return guacdViewer{c}, nil
}

func (g *guacdGateway) finish(context.Context, *report.Result) {}

type guacdViewer struct{ c *guac.Conn }

func (v guacdViewer) run(ctx context.Context) error { return v.c.Run(ctx) }
func (v guacdViewer) close()                        { v.c.Close() }

func (v guacdViewer) stats() viewStats {
	st := v.c.Stats()
	return viewStats{Bytes: st.Bytes, Frames: st.Syncs, FirstFrame: st.FirstSync, ImageBytes: st.ImageBytes}
}

func (v guacdViewer) press(_ context.Context, keysym uint32, _ string) error {
	if err := v.c.Key(keysym, true); err != nil {
		return err
	}
	return v.c.Key(keysym, false)
}

func (v guacdViewer) pointer(_ context.Context, x, y int) error { return v.c.Mouse(x, y, 0) }
