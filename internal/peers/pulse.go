package peers

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/tone"
)

// Pulse is a PulseAudio daemon for one test, serving its native protocol on a
// free loopback TCP port to anyone (auth-anonymous=1), as a VNC host set up
// for Guacamole's audio does. It has two null sinks: "out", the default, and
// "spare"; each has a monitor source ("out.monitor", "spare.monitor") that
// records what is played to it.
//
// How it runs here (Debian 12, pulseaudio 16.1), as the tests run, as root:
//
//	pulseaudio -n -F DIR/pulse.pa --daemonize=no --system=false --exit-idle-time=-1
//	  --use-pid-file=no --disable-shm=yes --log-target=stderr
//
// with HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME and XDG_STATE_HOME pointing
// into the test's temporary directory and every PULSE_* variable removed
// from the environment, so that neither the system's default.pa (-n) nor a
// user's configuration, cookie or running daemon has a say. pulse.pa loads
// module-null-sink twice, module-native-protocol-tcp with
// listen=127.0.0.1 port=P auth-anonymous=1, and sets the default sink.
// As root, pulseaudio 16 only warns ("This program is not intended to be run
// as root (unless --system is specified)") and runs as a per-user daemon
// with --system=false: neither --system (which wants the pulse user,
// /var/run/pulse and D-Bus) nor a throwaway user is needed. Its other
// warnings (no cookie file, no D-Bus session) are harmless: no client here
// needs either. Without module-suspend-on-idle (only default.pa loads it)
// the sinks never suspend, so a monitor records silence between tones.
type Pulse struct {
	Addr string // "127.0.0.1:P", the native protocol's TCP listener
	Dir  string // the daemon's HOME, runtime directory, script and log
	PID  int

	env []string
}

// StartPulse starts pulseaudio and stops it (by PID) when the test ends.
func StartPulse(t testing.TB) *Pulse {
	t.Helper()
	bin := mustLookup(t, "pulseaudio")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	run := filepath.Join(dir, "run")
	for _, d := range []string{home, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_STATE_HOME=" + filepath.Join(home, ".local/state")}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "PULSE_"), k == "HOME", strings.HasPrefix(k, "XDG_"), k == "DBUS_SESSION_BUS_ADDRESS":
		default:
			env = append(env, kv)
		}
	}
	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		script := filepath.Join(dir, fmt.Sprintf("pulse.%d.pa", attempt))
		text := "load-module module-null-sink sink_name=out\n" +
			"load-module module-null-sink sink_name=spare\n" +
			fmt.Sprintf("load-module module-native-protocol-tcp listen=127.0.0.1 port=%d auth-anonymous=1\n", port) +
			"set-default-sink out\n"
		if err := os.WriteFile(script, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, fmt.Sprintf("pulseaudio.%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-n", "-F", script, "--daemonize=no", "--system=false",
			"--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes", "--log-target=stderr")
		cmd.Env, cmd.Dir = env, dir
		cmd.Stdout, cmd.Stderr = logf, logf
		p, err := startProcess(t, cmd)
		logf.Close()
		if err != nil {
			t.Fatalf("peers: pulseaudio: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		// A failed script (the port taken) makes pulseaudio exit, which
		// waitPort notices.
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: pulseaudio on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return &Pulse{Addr: addr, Dir: dir, PID: p.cmd.Process.Pid, env: env}
	}
	t.Fatal(lastErr)
	return nil
}

// Log returns the daemon's log so far (for failure messages).
func (p *Pulse) Log() string {
	matches, _ := filepath.Glob(filepath.Join(p.Dir, "pulseaudio.*.log"))
	var b strings.Builder
	for _, m := range matches {
		b.WriteString(logTail(m))
	}
	return b.String()
}

// PlayTone plays a sine of freq Hz for seconds to the default sink ("out")
// and returns once it has been played. A failure is reported with t.Errorf, so
// it may run on a goroutine of its own.
func (p *Pulse) PlayTone(t testing.TB, freq, seconds float64) {
	t.Helper()
	p.PlayToneTo(t, "", freq, seconds)
}

// PlayToneTo is PlayTone to the sink named sink ("" for the default): pacat
// plays raw S16LE 44.1 kHz stereo made by tone.Sine at half amplitude, and
// drains before it exits.
func (p *Pulse) PlayToneTo(t testing.TB, sink string, freq, seconds float64) {
	t.Helper()
	pacat := mustLookup(t, "pacat")
	const rate, channels = 44100, 2
	pcm := tone.Sine(freq, rate, channels, 0, int(seconds*rate), 0.5)
	args := []string{"--server=" + p.Addr, "--playback", "--raw", "--format=s16le",
		"--rate=" + strconv.Itoa(rate), "--channels=" + strconv.Itoa(channels), "--client-name=racgate-test"}
	if sink != "" {
		args = append(args, "--device="+sink)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds*float64(time.Second))+startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pacat, args...)
	cmd.Env, cmd.Dir = p.env, p.Dir
	cmd.Stdin = bytes.NewReader(pcm)
	// Errorf, not Fatalf: tests play tones from a goroutine while they listen.
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("peers: pacat: %v: %s", err, out)
	}
}
