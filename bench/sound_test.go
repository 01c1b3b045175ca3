package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/racgate/racgate/bench/onset"
	"github.com/racgate/racgate/bench/report"
	"github.com/racgate/racgate/internal/peers"
)

// TestSoundSignal: one cycle holds every period in turn; a burst starts after each gap, at
// its peak, where bench/onset finds it; the gaps are silence, or the tone at 1%.
func TestSoundSignal(t *testing.T) {
	total := 0
	for _, p := range soundPeriods {
		if p < soundGapChunks+5 || time.Duration(p)*soundChunk < soundMatchWithin {
			t.Fatalf("period of %d chunks: shorter than the gap plus a tone, or than soundMatchWithin", p)
		}
		total += p
	}
	for _, gap := range []float64{0, soundQuietVNC} {
		pcm, starts := soundSignal(gap)
		if len(pcm) != total*soundChunkBytes || len(starts) != len(soundPeriods) {
			t.Fatalf("gap %v: %d bytes, %d starts; want %d, %d", gap, len(pcm), len(starts), total*soundChunkBytes, len(soundPeriods))
		}
		var d onset.PCM
		d.Reset(soundRate, soundChannels)
		k := 0
		for _, p := range soundPeriods {
			if !starts[k+soundGapChunks] {
				t.Fatalf("gap %v: no burst at chunk %d", gap, k+soundGapChunks)
			}
			k += p
		}
		peakGap := 0
		for i := 0; i < total; i++ {
			chunk := pcm[i*soundChunkBytes : (i+1)*soundChunkBytes]
			if d.Feed(chunk) != (starts[i] && i > 0) && i > 0 {
				t.Errorf("gap %v: burst found in chunk %d: %v, want %v", gap, i, !starts[i], starts[i])
			}
			if starts[i] {
				if v := int16(binary.LittleEndian.Uint16(chunk)); v < 16000 {
					t.Errorf("gap %v: burst at chunk %d starts at %d, want its peak", gap, i, v)
				}
			}
			if i < soundGapChunks {
				for j := 0; j < len(chunk); j += 2 {
					v := int(int16(binary.LittleEndian.Uint16(chunk[j:])))
					peakGap = max(peakGap, v, -v)
				}
			}
		}
		if want := int(gap * 32768); peakGap < want-2 || peakGap > want+2 {
			t.Errorf("gap %v: gap peaks at %d, want %d", gap, peakGap, want)
		}
	}
}

// TestFeeder: chunks go out in real time after the lead, a burst's time is its first
// chunk's write, and a write error stops the feeder and is reported.
func TestFeeder(t *testing.T) {
	var f feeder
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	var writes []time.Time
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.run(ctx, 0, 2, func(b []byte) error {
			writes = append(writes, time.Now())
			buf.Write(b)
			if len(writes) == 40 {
				cancel()
			}
			return nil
		})
	}()
	<-done
	if len(writes) != 40 {
		t.Fatalf("%d writes, want 40", len(writes))
	}
	// 40 chunks, 2 of them written at once: the last goes out 37 chunks after the start.
	if el := writes[39].Sub(start); el < 37*soundChunk || el > 37*soundChunk+500*time.Millisecond {
		t.Errorf("40 chunks took %v, want about %v", el, 37*soundChunk)
	}
	pcm, _ := soundSignal(0)
	if !bytes.Equal(buf.Bytes(), pcm[:40*soundChunkBytes]) {
		t.Error("the feeder did not write the signal in order")
	}
	sent, err := f.sent()
	near := func(a, b time.Time) bool { return !a.After(b) && b.Sub(a) < 5*time.Millisecond }
	if err != nil || len(sent) != 2 || !near(sent[0], writes[soundGapChunks]) || !near(sent[1], writes[soundPeriods[0]+soundGapChunks]) {
		t.Errorf("bursts sent %v (%v), want the writes of chunks %d and %d", sent, err, soundGapChunks, soundPeriods[0]+soundGapChunks)
	}

	var g feeder
	boom := errors.New("boom")
	g.run(context.Background(), 0, 0, func([]byte) error { return boom })
	if _, err := g.sent(); !errors.Is(err, boom) {
		t.Errorf("sent() error %v, want boom", err)
	}
}

// TestPipeSize: the pipe to pacat holds a page, so a stalled reader blocks the writer
// instead of queueing a third of a second of sound.
func TestPipeSize(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := setPipeSize(w, soundPipeSize); err != nil {
		t.Fatal(err)
	}
	fd := int(w.Fd()) // once: Fd makes the file blocking again
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		k, err := syscall.Write(fd, make([]byte, 512))
		if err != nil {
			break
		}
		n += k
		if n > 1<<20 {
			break
		}
	}
	if n != soundPipeSize {
		t.Fatalf("the pipe took %d bytes, want %d", n, soundPipeSize)
	}
}

// TestSoundResult: bytes and PCM per second per session, and the latency of the bursts
// sent in the window less a match period (whose arrival may fall after it).
func TestSoundResult(t *testing.T) {
	t0 := time.Unix(100, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	src := &fakeSound{onsets: []time.Time{ms(-600), ms(100), ms(800), ms(1500), ms(9600)}}
	var res report.Result
	st0 := viewStats{AudioPackets: 10, AudioBytes: 1000, AudioPCM: 4000}
	st1 := viewStats{AudioPackets: 110, AudioBytes: 21000, AudioPCM: 84000, AudioUndecoded: 3, AudioCodec: "adpcm"}
	heard := []time.Time{ms(-500), ms(160), ms(400), ms(880), ms(9700)}
	if err := soundResult(&res, scenario{Sessions: 1}, st0, st1, src, heard, t0, ms(10000)); err != nil {
		t.Fatal(err)
	}
	s := res.Sound
	if s.Codec != "adpcm" || s.Packets != 100 || s.Undecoded != 3 || s.BytesPerSec != 2000 || s.PCMBytesPerSec != 8000 {
		t.Errorf("sound %+v", s)
	}
	// 9600 is within a match period of the end: not counted. 400 is a second start in
	// the burst of 100.
	if s.Bursts != 3 || s.Heard != 2 || s.Spurious != 1 || s.Latency.P50 != 60 || s.Latency.Max != 80 {
		t.Errorf("bursts %d heard %d spurious %d latency %+v", s.Bursts, s.Heard, s.Spurious, s.Latency)
	}
	src.err = io.ErrClosedPipe
	if err := soundResult(&res, scenario{Sessions: 1}, st0, st1, src, heard, t0, ms(10000)); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("a source's error: %v", err)
	}
}

type fakeSound struct {
	onsets []time.Time
	err    error
}

func (f *fakeSound) start(context.Context) error { return nil }
func (f *fakeSound) sent() ([]time.Time, error)  { return f.onsets, f.err }

// TestSoundScenarios: rdp-audio has Opus, ADPCM and sound off; vnc-audio its default
// (ADPCM from PulseAudio's PCM) and sound off; -variants adds PCM to both.
func TestSoundScenarios(t *testing.T) {
	var stderr bytes.Buffer
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-scenarios", "rdp-audio,vnc-audio"}, "rdp-audio/opus,adpcm,pcm rdp-audio[audio=adpcm,pcm]/adpcm,pcm rdp-audio[sound off]/ vnc-audio/opus,adpcm,pcm vnc-audio[sound off]/"},
		{[]string{"-scenarios", "vnc-audio", "-variants"}, "vnc-audio/opus,adpcm,pcm vnc-audio[audio=pcm]/pcm vnc-audio[sound off]/"},
		{[]string{"-scenarios", "busy"}, ""},
	} {
		o, err := parseFlags(tc.args, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sc := range scenarios(o) {
			if sc.Sound == nil {
				continue
			}
			name := sc.Name
			if sc.Variant != "" {
				name += "[" + sc.Variant + "]"
			}
			got = append(got, name+"/"+sc.Sound.Codecs)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, g, tc.want)
		}
	}
}

// TestVNCAudio runs vnc-audio through racgate against a real Xvnc and PulseAudio for a
// few seconds: ADPCM at the real-time rate, every burst heard, in well under a second.
func TestVNCAudio(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Xvnc, pulseaudio and racgate")
	}
	peers.Require(t, "Xvnc", "xsetroot", "pulseaudio", "pacat", "go")
	// 8 s: racgate spends about 5 ms a second on this sound, and CPU comes in 10 ms ticks.
	o, err := parseFlags([]string{"-scenarios", "vnc-audio", "-duration", "8s", "-warmup", "500ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{o: o, dir: t.TempDir(), bin: testRacgate(t), log: slog.New(slog.DiscardHandler), prog: &report.Progress{}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := h.racgate(ctx, scenarios(o)[0], "test")
	if res.Skipped != "" || len(res.Errors) > 0 {
		t.Fatalf("skipped %q errors %v", res.Skipped, res.Errors)
	}
	s := res.Sound
	if s == nil || s.Codec != "adpcm" || s.PCMBytesPerSec < 0.9*soundRate*4 || s.PCMBytesPerSec > 1.1*soundRate*4 ||
		s.BytesPerSec > 0.35*s.PCMBytesPerSec || s.Bursts < 3 || s.Heard != s.Bursts || s.Latency.Max > 500 {
		t.Fatalf("sound %+v", s)
	}
	if res.CPUPerSession10s <= 0 || res.RSSBytes <= 0 || res.PSSBytes <= 0 {
		t.Fatalf("result %+v", res)
	}
}
