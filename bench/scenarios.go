package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/racgate/racgate/bench/slowlink"
)

// scenario is one scripted workload on a fresh Xvnc, watched by Sessions clients.
type scenario struct {
	Name     string
	Desc     string
	Variant  string     // what Settings vary, for the report
	Settings url.Values // connection settings the clients ask for
	// GuacdParams are extra guacd connection parameters (racgate ignores them).
	GuacdParams map[string]string
	Sessions    int
	// Workload starts the X clients; they run until the scenario ends.
	Workload func(ctx context.Context, x *xvnc, window time.Duration) error
	RDP      bool // the sessions use RDP (freerdp-shadow-cli on Xvfb) instead of VNC
	// SSH, if set, is the command every SSH session runs (sshd's ForceCommand): the
	// sessions are terminals on a bench sshd, with no X display and no Workload.
	SSH string
	// Flood: SSH is floodScript, which gets a counter file's path as its argument.
	Flood    bool
	Latency  bool          // measure input-to-pixel latency instead of only watching
	AckDelay time.Duration // slow clients
	Skip     string        // why this scenario cannot run yet
	// Desktops, when over 1, starts that many desktops (each its own Xvnc with the
	// Workload), session i on desktop i mod Desktops.
	Desktops int
	// Join makes guacd's sessions users of one connection (guacd's sharing: the first
	// session's connection ID selected by the others), as racgate's sessions of one
	// endpoint share its desktop.
	Join bool
	// Link, if set, puts the sessions (not the latency probe's server-side client)
	// behind a slow link: bench/slowlink between the clients and the gateway.
	Link *slowlink.Profile
	// Sound, if set, makes a sound scenario (sound.go): its own remote (xrdp, or Xvnc
	// with PulseAudio) playing a tone with bursts; no Workload.
	Sound *soundSpec
}

// linkProfiles are the slow links of the link-* scenarios.
var linkProfiles = []slowlink.Profile{
	{Name: "5 Mbit/s, 40 ms RTT", Rate: 5e6, Delay: 20 * time.Millisecond},
	{Name: "5 Mbit/s, 40 ms RTT, 0.5% loss", Rate: 5e6, Delay: 20 * time.Millisecond, Loss: 0.005, Seed: 1},
	{Name: "1 Mbit/s, 150 ms RTT", Rate: 1e6, Delay: 75 * time.Millisecond, Seed: 1},
}

// Screen layout: the default xterm font (fixed, 6×13) with a 2-pixel border.
func termGeometry(w, h int) string {
	return fmt.Sprintf("%dx%d+0+0", (w-4)/6, (h-4)/13)
}

// setRoot paints the root window one colour, so that what windows uncover is the same
// in every run (Xvnc's default root is a stipple).
func setRoot(ctx context.Context, x *xvnc) error {
	_, err := x.run(ctx, "xsetroot", "-solid", "#336699")
	return err
}

// idle: a clock that ticks every second and top refreshing every second — the cheapest
// realistic desktop.
func workloadIdle(ctx context.Context, x *xvnc, _ time.Duration) error {
	if err := setRoot(ctx, x); err != nil {
		return err
	}
	if _, err := x.start("xterm", "-T", "bench-top", "-geometry", "100x30+0+0", "-e", "top", "-d", "1"); err != nil {
		return err
	}
	if _, err := x.start("xclock", "-update", "1", "-geometry", "200x200+700+20"); err != nil {
		return err
	}
	_, err := x.waitWindow(ctx, "bench-top")
	return err
}

// busyScript lists /usr/share/doc over and over, paced at 2000 lines a second (20 lines,
// then 10 ms) so that every run, and every gateway, gets the same text at the same rate
// whatever else the machine is doing; unpaced, the rate is xterm's and varied 7× between
// runs here. perl's select is its portable sub-second sleep.
const busyScript = `while :; do ls -lR /usr/share/doc; done | perl -ne 'BEGIN { $| = 1 } print; select(undef, undef, undef, 0.01) unless $. % 20'`

// busy: a screen-sized xterm scrolling a long listing.
var workloadBusy = terminalWorkload("bench-busy", busyScript)

// busyUnpacedScript is busyScript without the pacing: as fast as xterm takes it, which
// varies with the machine's load, so its figures compare gateways only within one run.
const busyUnpacedScript = `while :; do ls -lR /usr/share/doc; done`

// busy-unpaced: busy as fast as xterm scrolls.
var workloadBusyUnpaced = terminalWorkload("bench-busy", busyUnpacedScript)

// scrollScript is busyScript at 200 lines a second: each line scrolls the terminal on
// its own, the case where a client pays per copy.
const scrollScript = `while :; do ls -lR /usr/share/doc; done | perl -ne 'BEGIN { $| = 1 } print; select(undef, undef, undef, 0.005)'`

// scroll: a screen-sized xterm scrolling line by line.
var workloadScroll = terminalWorkload("bench-scroll", scrollScript)

// terminalWorkload is a screen-sized xterm titled title running the shell script.
func terminalWorkload(title, script string) func(context.Context, *xvnc, time.Duration) error {
	return func(ctx context.Context, x *xvnc, _ time.Duration) error {
		if err := setRoot(ctx, x); err != nil {
			return err
		}
		if _, err := x.start("xterm", "-T", title, "-geometry", termGeometry(x.Width, x.Height),
			"-e", "sh", "-c", script); err != nil {
			return err
		}
		_, err := x.waitWindow(ctx, title)
		return err
	}
}

// churnScript paints the whole terminal with blocks of random 256-palette colours, frame
// after frame. awk's srand(1) makes the sequence the same in every run; the blocks are
// noise, the worst case for every encoder, like video.
const churnScript = `BEGIN { srand(1); for (;;) { s = "\033[H"; for (r = 0; r < ROWS; r++) { for (c = 0; c < COLS; c += 2) s = s sprintf("\033[48;5;%dm  ", int(rand()*256)); if (r < ROWS-1) s = s "\n" } printf "%s\033[0m", s; fflush() } }`

// churn: full-screen repaint with noise-like colour blocks.
func workloadChurn(ctx context.Context, x *xvnc, _ time.Duration) error {
	if err := setRoot(ctx, x); err != nil {
		return err
	}
	cols, rows := (x.Width-4)/6, (x.Height-4)/13
	script := strings.NewReplacer("ROWS", strconv.Itoa(rows), "COLS", strconv.Itoa(cols-1)).Replace(churnScript)
	if _, err := x.start("xterm", "-T", "bench-churn", "-geometry", termGeometry(x.Width, x.Height),
		"-e", "awk", script); err != nil {
		return err
	}
	_, err := x.waitWindow(ctx, "bench-churn")
	return err
}

// drag: a terminal window with still text dragged around the screen by xdotool, every
// 20 ms along the same path, for as long as the scenario runs: a chain of windowmove and
// sleep commands for one lap of the path, repeated by a shell loop (one xdotool a lap;
// a chain for a whole long window would not fit on a command line). Without a window
// manager there is no real drag; moving the window is what a drag shows on the screen.
func workloadDrag(ctx context.Context, x *xvnc, _ time.Duration) error {
	if err := setRoot(ctx, x); err != nil {
		return err
	}
	if _, err := x.start("xterm", "-T", "bench-drag", "-geometry", "80x24+100+100",
		"-e", "sh", "-c", "ls -l /usr/share/doc | head -40; exec sleep 100000"); err != nil {
		return err
	}
	wid, err := x.waitWindow(ctx, "bench-drag")
	if err != nil {
		return err
	}
	const lap = 100
	args := []string{"-c", `while xdotool "$@"; do :; done`, "sh"}
	for i := range lap {
		// a triangle wave across and down the screen
		t := i
		if t >= lap/2 {
			t = lap - t
		}
		px, py := 20+t*(x.Width-520)/50, 20+t*(x.Height-360)/50
		// --sync waits for the move, which also flushes it: without it xdotool keeps
		// the requests buffered until it exits.
		args = append(args, "windowmove", "--sync", wid, strconv.Itoa(px), strconv.Itoa(py), "sleep", "0.02")
	}
	_, err = x.start("sh", args...)
	return err
}

// typing: an xterm running cat, so that each key typed echoes one character and nothing
// else changes on the screen: the latency probe's scene.
func workloadTyping(ctx context.Context, x *xvnc, _ time.Duration) error {
	if err := setRoot(ctx, x); err != nil {
		return err
	}
	if _, err := x.start("xterm", "-T", "bench-typing", "-geometry", "100x30+0+0", "-e", "cat"); err != nil {
		return err
	}
	_, err := x.waitWindow(ctx, "bench-typing")
	return err
}

// scenarios lists what a run does, in order.
func scenarios(o *options) []scenario {
	var list []scenario
	add := func(s scenario) {
		if o.want(s.Name) {
			list = append(list, s)
		}
	}
	n := o.sessions
	add(scenario{Name: "idle", Desc: "xclock + top", Sessions: n, Workload: workloadIdle})
	add(scenario{Name: "busy", Desc: "ls -lR loop in a screen-sized xterm, 2000 lines/s", Sessions: n, Workload: workloadBusy})
	if o.variants && o.want("busy") {
		for _, v := range []struct{ name, q string }{
			{"quality=8 (JPEG on)", "quality=8"},
			{"compress-level=1", "compress-level=1"},
			{"compress-level=6", "compress-level=6"},
			{"encodings=zrle", "encodings=zrle copyrect"},
			{"encodings=hextile", "encodings=hextile copyrect"},
		} {
			q, _ := url.ParseQuery(strings.ReplaceAll(v.q, " ", "+"))
			list = append(list, scenario{Name: "busy", Variant: v.name, Settings: q, Sessions: n, Workload: workloadBusy})
		}
	}
	if o.guacd != "" && o.want("busy") {
		// guacd sends regions that change more than 3 times a second as JPEG/WebP (lossy);
		// racgate is lossless unless asked. This pair compares both at lossless quality,
		// as the bytes target is stated.
		list = append(list, scenario{Name: "busy", Variant: "guacd force-lossless", Sessions: n, Workload: workloadBusy,
			GuacdParams: map[string]string{"force-lossless": "true"}})
	}
	add(scenario{Name: "busy-unpaced", Desc: "ls -lR loop in a screen-sized xterm, as fast as xterm scrolls", Sessions: n, Workload: workloadBusyUnpaced})
	add(scenario{Name: "churn", Desc: "full-screen random colour blocks", Sessions: n, Workload: workloadChurn})
	add(scenario{Name: "drag", Desc: "xterm window dragged by xdotool", Sessions: n, Workload: workloadDrag})
	add(scenario{Name: "typing", Desc: "key to pixel latency into xterm -e cat", Sessions: 1, Workload: workloadTyping, Latency: true})
	if o.variants {
		// The frame rate limit (render.Options.MinFrameInterval) off and at each
		// candidate, against the default above, in the same run.
		for _, name := range []string{"busy", "typing"} {
			if !o.want(name) {
				continue
			}
			for _, ms := range []string{"0", "10", "16", "20", "33", "40"} {
				sc := scenario{Name: name, Variant: "min-frame-interval=" + ms + "ms", Sessions: n, Workload: workloadBusy,
					Settings: url.Values{"render-min-frame-interval": {ms}}}
				if name == "typing" {
					sc.Sessions, sc.Workload, sc.Latency = 1, workloadTyping, true
				}
				list = append(list, sc)
			}
		}
	}
	// Slow links (bench/slowlink): the busy terminal and the latency probe behind a
	// link like a small office's and like a poor mobile one.
	for _, name := range []string{"link-busy", "link-typing"} {
		if !o.want(name) {
			continue
		}
		for _, p := range linkProfiles {
			sc := scenario{Name: name, Variant: p.Name, Sessions: 1, Workload: workloadBusy, Link: &p}
			if name == "link-typing" {
				sc.Workload, sc.Latency = workloadTyping, true
			}
			list = append(list, sc)
		}
	}
	add(scenario{Name: "slow-client", Desc: "busy terminal, client acks after 200 ms", Sessions: 1, Workload: workloadBusy, AckDelay: 200 * time.Millisecond})
	// How far a slow client lags: key to pixel when every frame is acknowledged late.
	add(scenario{Name: "slow-typing", Desc: "key to pixel latency, client acks after 200 ms", Sessions: 1, Workload: workloadTyping, Latency: true, AckDelay: 200 * time.Millisecond})
	if o.want("scale") {
		for _, k := range o.scale {
			list = append(list, scenario{Name: "scale", Variant: fmt.Sprintf("%d sessions", k), Desc: "idle desktop, many viewers", Sessions: k, Workload: workloadIdle, Join: true})
		}
	}
	if o.want("desktops") {
		for _, k := range o.desktops {
			list = append(list, scenario{Name: "desktops", Variant: fmt.Sprintf("%d desktops", k), Desc: "idle desktops, one session each", Sessions: k, Desktops: k, Workload: workloadIdle})
		}
	}
	add(scenario{Name: "rdp-idle", Desc: "xclock + top over RDP (freerdp-shadow-cli)", Sessions: n, Workload: workloadIdle, RDP: true})
	add(scenario{Name: "rdp-busy", Desc: "busy terminal over RDP (freerdp-shadow-cli)", Sessions: n, Workload: workloadBusy, RDP: true})
	// Terminals: the client counts terminal output (TERMINAL_DEFLATE inflated) and
	// acknowledges each FRAME as soon as the message is read (no terminal emulation).
	term := url.Values{"cols": {strconv.Itoa(sshCols)}, "rows": {strconv.Itoa(sshRows)}}
	add(scenario{Name: "ssh-idle", Desc: "top -d 1 over SSH", Sessions: n, SSH: idleCommand, Settings: term})
	add(scenario{Name: "ssh-flood", Desc: "numbers at up to ~400 KB/s over SSH", Sessions: n, SSH: floodScript, Flood: true, Settings: term})
	// Sound (sound.go): one session each (xrdp gives a user one session). racgate's
	// client asks first for Opus, as the web client does where WebCodecs decodes it:
	// xrdp's Opus passes through (rdp-audio); PulseAudio gives PCM, which racgate sends
	// as ADPCM (vnc-audio). "audio=adpcm,pcm" is a browser without Opus: xrdp sends PCM
	// and racgate ADPCM. "sound off" is the baseline for what sound costs in memory and
	// CPU. guacd gets the same remote in every variant (its client declares audio/L8
	// and audio/L16 whatever the variant, and none with sound off), so each variant has
	// its own guacd run next to it. -variants adds "audio=pcm" (PCM all the way).
	for _, remote := range []string{"rdp", "vnc"} {
		name := remote + "-audio"
		add(scenario{Name: name, Desc: "440 Hz tone bursts at irregular intervals", Sessions: 1, Sound: &soundSpec{Remote: remote, Codecs: "opus,adpcm,pcm"}})
		if !o.want(name) {
			continue
		}
		if remote == "rdp" {
			list = append(list, scenario{Name: name, Variant: "audio=adpcm,pcm", Sessions: 1, Sound: &soundSpec{Remote: remote, Codecs: "adpcm,pcm"}})
		}
		if o.variants {
			list = append(list, scenario{Name: name, Variant: "audio=pcm", Sessions: 1, Sound: &soundSpec{Remote: remote, Codecs: "pcm"}})
		}
		list = append(list, scenario{Name: name, Variant: "sound off", Sessions: 1, Sound: &soundSpec{Remote: remote}})
	}
	return list
}
