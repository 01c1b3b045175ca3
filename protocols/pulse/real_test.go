package pulse

import (
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/internal/tone"
)

// recording runs r in the background, keeping what it delivers and checking
// as collect does that at follows the sample count exactly.
type recording struct {
	t      *testing.T
	r      *Recorder
	cancel context.CancelFunc
	done   chan error

	mu  sync.Mutex
	pcm []byte
}

func record(t *testing.T, r *Recorder) *recording {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recording{t: t, r: r, cancel: cancel, done: make(chan error, 1)}
	rate, ch := r.Format()
	var last time.Duration = -1
	go func() {
		rec.done <- r.Run(ctx, func(pcm []byte, at time.Duration) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			frames := int64(len(rec.pcm) / (2 * ch))
			want := time.Duration(frames) * time.Second / time.Duration(rate)
			if d := at - want; d < -time.Microsecond || d > time.Microsecond || at <= last {
				t.Errorf("at %v after %d frames (previous %v), want %v", at, frames, last, want)
			}
			if len(pcm) == 0 || len(pcm)%(2*ch) != 0 {
				t.Errorf("delivery of %d bytes", len(pcm))
			}
			last = at
			rec.pcm = append(rec.pcm, pcm...)
		})
	}()
	t.Cleanup(func() { rec.stop() })
	return rec
}

// frames is how many sample frames have arrived.
func (rec *recording) frames() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	_, ch := rec.r.Format()
	return len(rec.pcm) / (2 * ch)
}

// waitMore waits until d more audio than now has arrived.
func (rec *recording) waitMore(d time.Duration) {
	rate, _ := rec.r.Format()
	want := rec.frames() + int(d.Seconds()*float64(rate))
	deadline := time.Now().Add(d + 10*time.Second)
	for rec.frames() < want {
		if time.Now().After(deadline) {
			rec.t.Fatalf("only %d frames of %d arrived", rec.frames(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop ends Run (which must return context.Canceled promptly) and returns
// the recording.
func (rec *recording) stop() []byte {
	rec.cancel()
	select {
	case err, ok := <-rec.done:
		if ok {
			close(rec.done)
			if !errors.Is(err, context.Canceled) {
				rec.t.Errorf("Run: %v", err)
			}
		}
	case <-time.After(2 * time.Second):
		rec.t.Fatal("Run did not return within 2 s of the cancel")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.pcm
}

// loud returns channel ch of pcm between its first and last sample louder
// than 0.1.
func loud(pcm []byte, channels, ch int) []float64 {
	x := tone.Mono(pcm, channels, ch)
	first, last := -1, -1
	for i, v := range x {
		if math.Abs(v) > 0.1 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	return x[first : last+1]
}

func dialPulse(t *testing.T, p *peers.Pulse, cfg Config) *Recorder {
	t.Helper()
	cfg.Addr = p.Addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, p.Log())
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRecordTone: from a real PulseAudio, a 3 s tone of 440 Hz played to the
// default sink arrives through its monitor whole: 440 Hz ± 1% with more than
// 80% of the power at 440 Hz in the middle of it on both channels, about 3 s
// long, without a gap, and with media times that advance by exactly the PCM
// delivered.
func TestRecordTone(t *testing.T) {
	p := peers.StartPulse(t)
	r := dialPulse(t, p, Config{})
	if rate, ch := r.Format(); rate != 44100 || ch != 2 {
		t.Fatalf("Format %d, %d", rate, ch)
	}
	rec := record(t, r)
	rec.waitMore(100 * time.Millisecond) // the stream runs before the tone starts
	p.PlayTone(t, 440, 3)
	rec.waitMore(300 * time.Millisecond) // the tone's tail, through the sink's latency
	pcm := rec.stop()
	for ch := range 2 {
		x := loud(pcm, 2, ch)
		if n := float64(len(x)) / 44100; n < 2.95 || n > 3.05 {
			t.Fatalf("channel %d: tone of %.3f s, want 3 (%d bytes recorded)", ch, n, len(pcm))
		}
		mid := x[len(x)/4 : 3*len(x)/4]
		if f := tone.Frequency(mid, 44100); math.Abs(f-440) > 4.4 {
			t.Errorf("channel %d: %.2f Hz, want 440", ch, f)
		}
		if pw := tone.Power(mid, 44100, 440); pw < 0.8 {
			t.Errorf("channel %d: power at 440 Hz %.3f", ch, pw)
		}
		if g := tone.LongestGap(mid, 0.01); g > 20 {
			t.Errorf("channel %d: a gap of %d samples in the tone", ch, g)
		}
	}
}

// TestSources: Source "" records the monitor of the default sink ("out") and
// a named source records that source: a tone played to "spare" reaches
// "spare.monitor" and not the default recording, and one played to "out"
// the other way round. A source that does not exist is the server's
// "no such entity", not a protocol error.
func TestSources(t *testing.T) {
	p := peers.StartPulse(t)
	def := dialPulse(t, p, Config{})
	spare := dialPulse(t, p, Config{Source: "spare.monitor", ClientName: "racgate-spare"})
	if def.Source() != "out.monitor" || spare.Source() != "spare.monitor" {
		t.Fatalf("sources %q and %q", def.Source(), spare.Source())
	}
	rd, rs := record(t, def), record(t, spare)
	rd.waitMore(50 * time.Millisecond)
	p.PlayToneTo(t, "spare", 440, 1)
	p.PlayToneTo(t, "out", 660, 1)
	rd.waitMore(300 * time.Millisecond)
	rs.waitMore(300 * time.Millisecond)
	for _, c := range []struct {
		name string
		pcm  []byte
		freq float64
	}{{"default", rd.stop(), 660}, {"spare.monitor", rs.stop(), 440}} {
		x := loud(c.pcm, 2, 0)
		if n := float64(len(x)) / 44100; n < 0.95 || n > 1.05 {
			t.Errorf("%s: %.3f s of sound, want the 1 s tone alone", c.name, n)
			continue
		}
		if f := tone.Frequency(x[len(x)/4:3*len(x)/4], 44100); math.Abs(f-c.freq) > c.freq/100 {
			t.Errorf("%s: %.2f Hz, want %g", c.name, f, c.freq)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Dial(ctx, Config{Addr: p.Addr, Source: "nothing.monitor"})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != 5 || errors.Is(err, ErrProtocol) || errors.Is(err, ErrAuth) {
		t.Errorf("Dial of a missing source: %v", err)
	}
}

// TestRealCancelAndClose: against a real server that streams continuously,
// Run returns promptly after the cancel (checked by stop), and Close ends a
// running Run with net.ErrClosed.
func TestRealCancelAndClose(t *testing.T) {
	p := peers.StartPulse(t)
	rec := record(t, dialPulse(t, p, Config{Fragment: 5 * time.Millisecond, SampleRate: 48000, Channels: 1}))
	rec.waitMore(200 * time.Millisecond)
	start := time.Now()
	rec.stop()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Run took %v to return", d)
	}

	r := dialPulse(t, p, Config{})
	done := make(chan error, 1)
	var n int
	go func() { done <- r.Run(context.Background(), func(pcm []byte, _ time.Duration) { n += len(pcm) }) }()
	time.Sleep(200 * time.Millisecond)
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if n == 0 {
		t.Error("nothing recorded in 200 ms")
	}
}
