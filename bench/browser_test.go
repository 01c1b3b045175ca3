package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/internal/peers"
)

// TestBrowserClients shows one scrolling terminal, then one typed into (real Xvnc), in
// headless Chromium through racgate's web client (a real racgate process) and noVNC
// (through the bench's websocket bridge), and through guacamole-common-js when
// RACGATE_GUACD names a guacd; each must have drawn frames in the window, taken
// main-thread time and Chromium CPU, and drawn the typed keys' echoes.
func TestBrowserClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc, racgate and Chromium")
	}
	peers.Require(t, "Xvnc", "xterm", "xsetroot", "perl", "node", "chromium")
	root, err := benchRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bench", "browser", "node_modules", "@novnc", "novnc")); err != nil {
		peers.Skip(t, "noVNC is not installed: npm ci in bench/browser (%v)", err)
	}
	args := []string{"-duration", "2s", "-warmup", "300ms", "-scenarios", "browser-scroll,browser-typing", "-browser-clients", "racgate,noVNC"}
	ps := &procs{}
	t.Cleanup(ps.stopAll)
	if os.Getenv(guacdEnv) != "" {
		addr, _ := startGuacd(t, ps)
		args = append(args, "-guacd", addr, "-browser-clients", "racgate,noVNC,guacamole-common-js")
	}
	o, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res := h.browserBench(ctx)
	if len(res) != 2*len(o.browserClients) {
		t.Fatalf("%d results for %v", len(res), o.browserClients)
	}
	for _, r := range res {
		t.Logf("%s %s: main %.2f script %.2f CPU-s/10s, %.1f frames/s, %.0f draws/s, Chromium %.2f CPU-s/10s, keys %d of %d, p50 %.1f p95 %.1f ms",
			r.Workload, r.Client, r.MainCPU, r.Script, r.FramesPerSec, r.DrawsPerSec, r.BrowserCPU, r.KeysAnswered, r.Keys, r.KeyP50, r.KeyP95)
		if r.Error != "" {
			t.Errorf("%s %s: %s", r.Workload, r.Client, r.Error)
			continue
		}
		if r.Workload == "browser-typing" {
			// A key every 250 ms into `cat` on an otherwise still screen: each echo is
			// drawn, well within the next key.
			if r.Keys < 4 || r.KeysAnswered < r.Keys-1 || r.KeyP50 <= 0 || r.KeyP95 < r.KeyP50 || r.KeyP95 > 250 {
				t.Errorf("%s: keys %+v", r.Client, r)
			}
			continue
		}
		// A terminal scrolling 200 lines a second changes the screen in every frame any
		// client can draw; 2 frames a second is far below what each managed here.
		if r.FramesPerSec < 2 || r.DrawsPerSec < r.FramesPerSec || r.MainCPU <= 0 || r.Script <= 0 || r.Script > r.MainCPU || r.BrowserCPU < r.MainCPU/2 {
			t.Errorf("%s: implausible %+v", r.Client, r)
		}
	}
}

// TestBrowserTerminal shows an SSH flood (real sshd) in headless Chromium through racgate's
// terminal (xterm.js), and through guacamole-common-js when RACGATE_GUACD names a guacd
// built with SSH; noVNC has no terminal and must say so.
func TestBrowserTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sshd, racgate and Chromium")
	}
	peers.Require(t, "sshd", "ssh-keygen", "useradd", "chpasswd", "perl", "node", "chromium")
	peers.RequireRoot(t, "TestBrowserTerminal (a local user and sshd)")
	clients := "racgate,noVNC"
	ps := &procs{}
	t.Cleanup(ps.stopAll)
	args := []string{"-duration", "2s", "-warmup", "300ms", "-scenarios", "browser-ssh-flood"}
	if os.Getenv(guacdEnv) != "" {
		addr, _ := startGuacd(t, ps)
		args = append(args, "-guacd", addr)
		clients += ",guacamole-common-js"
	}
	o, err := parseFlags(append(args, "-browser-clients", clients), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res := h.browserBench(ctx)
	if len(res) != len(o.browserClients) {
		t.Fatalf("%d results for %v", len(res), o.browserClients)
	}
	for _, r := range res {
		t.Logf("%s (%s): main %.2f script %.2f layout %.2f CPU-s/10s, %.1f frames/s, %.0f draws/s, Chromium %.2f CPU-s/10s",
			r.Client, r.Renderer, r.MainCPU, r.Script, r.Layout, r.FramesPerSec, r.DrawsPerSec, r.BrowserCPU)
		if r.Client == "noVNC" {
			if !strings.Contains(r.Error, "VNC only") {
				t.Errorf("noVNC on a terminal: %+v", r)
			}
			continue
		}
		if r.Error != "" {
			t.Errorf("%s: %s", r.Client, r.Error)
			continue
		}
		want := "canvas"
		if r.Client == "racgate" {
			want = "dom|webgl"
		}
		// A flood changes the terminal in every frame racgate sends (10 a second) and
		// guacd draws.
		if !slices.Contains(strings.Split(want, "|"), r.Renderer) || r.FramesPerSec < 3 || r.DrawsPerSec < r.FramesPerSec ||
			r.MainCPU <= 0 || r.Script <= 0 || r.Script > r.MainCPU || r.Layout > r.MainCPU {
			t.Errorf("%s: implausible %+v", r.Client, r)
		}
	}
}
