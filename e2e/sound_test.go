package e2e

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/internal/tone"
)

// Sound end to end: a real server plays a 440 Hz tone, racgate carries it, and what
// headless Chromium's page played (its AudioWorklet's output, read through the test
// build's recorder) has the tone's pitch on both channels and no gap, for 10 s.

const (
	soundFreq   = 440
	soundListen = 10 // seconds of played output analysed
)

// playedSound reads the last seconds the page played, one []float64 per channel, and
// the AudioContext's rate.
func playedSound(t *testing.T, b *browser, seconds int) (left, right []float64, rate int) {
	t.Helper()
	res := b.do(map[string]any{"soundOutput": seconds})
	r, _ := res["rate"].(float64)
	decode := func(key string) []float64 {
		s, _ := res[key].(string)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw)%4 != 0 {
			t.Fatalf("soundOutput %s: %d bytes, %v", key, len(raw), err)
		}
		x := make([]float64, len(raw)/4)
		for i := range x {
			x[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		return x
	}
	return decode("left"), decode("right"), int(r)
}

// checkPlayedTone plays with play (which must sound for soundListen+3 s) and checks the
// page's output over soundListen seconds of it.
func checkPlayedTone(t *testing.T, b *browser, play func()) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Go(play)
	defer wg.Wait()
	// The last soundListen seconds of output, read a second and a half after the
	// tone's start plus soundListen, lie inside the tone whatever the latency.
	time.Sleep(time.Duration(soundListen)*time.Second + 1500*time.Millisecond)
	left, right, rate := playedSound(t, b, soundListen)
	stats := b.do(map[string]any{"soundStats": true})["stats"]
	t.Logf("played %d samples a channel at %d Hz; player %v", len(left), rate, stats)
	if rate < 8000 || len(left) < rate*soundListen*9/10 {
		t.Fatalf("%d samples at %d Hz for %d s", len(left), rate, soundListen)
	}
	for i, x := range [][]float64{left, right} {
		ch := []string{"left", "right"}[i]
		if f := tone.Frequency(x, rate); math.Abs(f-soundFreq) > soundFreq/100 {
			t.Errorf("%s: %.2f Hz played, want %d ± 1%%", ch, f, soundFreq)
		}
		// Purity, a quarter second at a time (the player may nudge its rate by up to
		// 0.2% to follow clock drift, which a longer window would see as off pitch):
		// clicks, dropouts and distortion put power elsewhere.
		for w := 0; w+rate/4 <= len(x); w += rate / 4 {
			if p := tone.Power(x[w:w+rate/4], rate, soundFreq); p < 0.8 {
				t.Errorf("%s: at %d ms, %.2f of the power at %d Hz", ch, w*1000/rate, p, soundFreq)
				break
			}
		}
		// A sine at half scale is below 0.02 for a few samples around each zero;
		// anything longer is a dropout.
		if gap := tone.LongestGap(x, 0.02); gap > rate/20 {
			t.Errorf("%s: a gap of %d ms in %d s of played sound", ch, gap*1000/rate, soundListen)
		}
	}
}

// TestBrowserVNCSound: a VNC endpoint with enable-audio, the tone played into a real
// PulseAudio daemon's default sink with pacat.
func TestBrowserVNCSound(t *testing.T) {
	peers.Require(t, "Xvnc", "pulseaudio", "pacat")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "800x600"})
	p := peers.StartPulse(t)
	url := startGateway(t, x.Addr, fmt.Sprintf("enable-audio: true, audio-servername: %q", "tcp:"+p.Addr))
	b := openDesk(t, url, 800, 600, 20*time.Second)
	checkPlayedTone(t, b, func() { p.PlayTone(t, soundFreq, soundListen+3) })
}

// TestBrowserRDPSound: an xrdp session, the tone written to xrdp-chansrv's sound socket
// (what a sound server in the session would do). The browser decodes Opus, so this is
// xrdp's Opus passed through to WebCodecs.
func TestBrowserRDPSound(t *testing.T) {
	peers.Require(t, "xrdp-chansrv")
	srv := peers.StartXRDP(t, peers.XRDPOptions{})
	url := startRDPGateway(t, srv.Addr, fmt.Sprintf("username: %s, password: %s, ignore-cert: true", srv.User, srv.Password))
	b := openDesk(t, url, 800, 600, 30*time.Second)
	x := srv.WaitSession(t, 30*time.Second)
	out := peers.DialXRDPAudioOut(t, x.Display, 30*time.Second)
	checkPlayedTone(t, b, func() {
		if _, err := out.PlayTone(soundFreq, (soundListen+3)*time.Second, 0.5); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Error(err)
		}
	})
}
