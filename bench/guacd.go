package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/racgate/racgate/bench/guac"
	"github.com/racgate/racgate/bench/procstat"
	"github.com/racgate/racgate/bench/report"
)

// guacd runs sc through the guacd at -guacd.
func (h *harness) guacd(ctx context.Context, sc scenario, label string) report.Result {
	return h.scenario(ctx, sc, label, &guacdGateway{addr: h.o.guacd, pid: h.o.guacdPID, width: h.o.width, height: h.o.height, record: h.o.recordings})
}

// guacdGateway talks to a guacd someone else runs. It reaches the scenario's Xvnc on
// 127.0.0.1, so guacd must run on this machine. Its CPU and memory are known only with
// -guacd-pid: then the figures are guacd's and its per-connection children's.
type guacdGateway struct {
	addr          string
	pid           int
	width, height int
	rem           remoteServer
	// record (-recordings): guacd records each session into recDir (its recording-path),
	// which it must be able to write: guacd runs on this machine.
	record bool
	recDir string

	viaAddr string // "": sessions dial addr; else through a slow link (via)

	// join (scenario.Join): the first session's connection, which the others join.
	joinMu sync.Mutex
	joinID string
}

func (g *guacdGateway) name() string { return "guacd" }

func (g *guacdGateway) target() string  { return g.addr }
func (g *guacdGateway) via(addr string) { g.viaAddr = addr }

func (g *guacdGateway) start(ctx context.Context, ps *procs, dir string, rem remoteServer) error {
	g.rem = rem
	if g.record {
		g.recDir = filepath.Join(dir, "guacd-recordings")
		// guacd may run as another user: the folder is its to write in.
		if err := os.Mkdir(g.recDir, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(g.recDir, 0o777); err != nil { // past the umask
			return err
		}
	}
	if g.pid == 0 || g.pid == os.Getpid() { // the tests' fake guacd is this process
		return nil
	}
	// The previous scenario's connection process may still be ending: measured from
	// here, its CPU and memory would leave the sum mid-window (or count as idle).
	deadline := time.Now().Add(guacdSettle)
	for {
		kids, err := procstat.Descendants(g.pid)
		if err != nil || len(kids) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("guacd (pid %d) still has %d child processes after %v: a connection of someone else's?", g.pid, len(kids), guacdSettle)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// guacdSettle bounds the wait for guacd's earlier connection processes to end.
var guacdSettle = 20 * time.Second

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
	if g.recDir != "" {
		p["recording-path"] = g.recDir
		p["recording-name"] = "${GUAC_DATE}-${GUAC_TIME}-" + randomPassword()[:8]
	}
	return p
}

func (g *guacdGateway) recordingBytes() (int64, bool, error) { return recordingBytes(g.recDir) }

func (g *guacdGateway) dial(ctx context.Context, sc scenario, i int, onFrame func(time.Time, bool)) (viewer, error) {
	params := g.params(sc)
	if _, addr := g.rem.desktop(i); addr != g.rem.Addr {
		params["hostname"], params["port"], _ = net.SplitHostPort(addr)
	}
	cfg := guac.Config{Protocol: g.rem.Protocol, Params: params, Width: g.width, Height: g.height}
	if sc.Sound.on() {
		// What guacamole-common-js declares: its raw PCM player's types.
		cfg.AudioTypes = []string{"audio/L8", "audio/L16"}
	}
	if sc.Join {
		// The first session makes the connection (the others wait for its ID); the
		// others select its ID, as guacamole-client's shared connections do.
		g.joinMu.Lock()
		if g.joinID == "" {
			defer g.joinMu.Unlock()
		} else {
			cfg.Protocol = g.joinID
			g.joinMu.Unlock()
		}
	}
	addr := g.addr
	if g.viaAddr != "" {
		addr = g.viaAddr
	}
	c, err := guac.Dial(ctx, addr, cfg)
	if err != nil {
		return nil, err
	}
	if sc.Join && g.joinID == "" {
		if c.ID == "" {
			c.Close()
			return nil, errors.New("guacd: no connection ID in ready, nothing to join")
		}
		g.joinID = c.ID // under joinMu, held since the check above
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
	return viewStats{Bytes: st.Bytes, Frames: st.Syncs, FirstFrame: st.FirstSync, ImageBytes: st.ImageBytes,
		AudioPackets: st.AudioBlobs, AudioBytes: st.AudioBytes, AudioPCM: st.AudioPCM, AudioCodec: st.AudioType}
}

func (v guacdViewer) press(_ context.Context, keysym uint32, _ string) error {
	if err := v.c.Key(keysym, true); err != nil {
		return err
	}
	return v.c.Key(keysym, false)
}

func (v guacdViewer) pointer(_ context.Context, x, y int) error { return v.c.Mouse(x, y, 0) }

func (v guacdViewer) audioOnsets() []time.Time { return v.c.AudioOnsets() }
