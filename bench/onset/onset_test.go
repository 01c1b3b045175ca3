package onset

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/racgate/racgate/bench/opus"
	"github.com/racgate/racgate/internal/tone"
	"github.com/racgate/racgate/render/wire"
)

const (
	rate     = 44100
	channels = 2
	chunk    = rate / 50 // 20 ms
)

// signal is quiet (a tone at level quiet) for gapMs, then the tone at half scale from
// its peak for toneMs, repeated n times.
func signal(quiet float64, gapMs, toneMs, n int) []byte {
	var b []byte
	for range n {
		b = append(b, tone.Sine(440, rate, channels, 0, rate*gapMs/1000, quiet)...)
		b = append(b, tone.Sine(440, rate, channels, rate/(4*440), rate*toneMs/1000, 0.5)...)
	}
	return b
}

// feed gives pcm to d in packets of size bytes and returns the indexes of the packets
// in which a burst started.
func feed(d *PCM, pcm []byte, size int) []int {
	var at []int
	for i := 0; i*size < len(pcm); i++ {
		p := pcm[i*size : min((i+1)*size, len(pcm))]
		if d.Feed(p) {
			at = append(at, i)
		}
	}
	return at
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPCMFindsEachBurstOnce(t *testing.T) {
	for _, quiet := range []float64{0, 0.01} {
		var d PCM
		d.Reset(rate, channels)
		// 160 ms gap (8 packets), 340 ms tone (17 packets): bursts start in packets 8,
		// 33 and 58.
		got := feed(&d, signal(quiet, 160, 340, 3), chunk*4)
		if want := []int{8, 33, 58}; !equal(got, want) {
			t.Errorf("quiet %v: bursts in packets %v, want %v", quiet, got, want)
		}
	}
}

func TestPCMNeedsALongQuiet(t *testing.T) {
	var d PCM
	d.Reset(rate, channels)
	// A 40 ms dip in a tone (a stall of two packets) is not a gap; the tone's start
	// after 100 ms of nothing is.
	pcm := signal(0, 100, 200, 1)
	pcm = append(pcm, make([]byte, rate*40/1000*4)...)
	pcm = append(pcm, tone.Sine(440, rate, channels, rate/(4*440), rate/5, 0.5)...)
	if got, want := feed(&d, pcm, chunk*4), []int{5}; !equal(got, want) {
		t.Errorf("bursts in packets %v, want %v", got, want)
	}
	// Sound between the levels (20% of full scale) is neither quiet nor loud: it
	// breaks a quiet run.
	d.Reset(rate, channels)
	pcm = tone.Sine(440, rate, channels, 0, rate*40/1000, 0)
	pcm = append(pcm, tone.Sine(440, rate, channels, 0, rate*20/1000, 0.2)...)
	pcm = append(pcm, tone.Sine(440, rate, channels, 0, rate*40/1000, 0)...)
	pcm = append(pcm, tone.Sine(440, rate, channels, rate/(4*440), rate/10, 0.5)...)
	if got := feed(&d, pcm, chunk*4); len(got) != 0 {
		t.Errorf("bursts in packets %v after quiet runs of 40 ms, want none", got)
	}
}

func TestPCMIgnoresPartialFramesAndNoFormat(t *testing.T) {
	var d PCM
	if d.Feed(signal(0, 100, 100, 1)) {
		t.Error("a detector without a format found a burst")
	}
	d.Reset(rate, channels)
	if d.Feed(make([]byte, 3)) {
		t.Error("3 bytes (no whole frame) found a burst")
	}
}

func TestFeedS8(t *testing.T) {
	pcm := signal(0, 160, 340, 2)
	s8 := make([]byte, len(pcm)/2)
	for i := range s8 {
		s8[i] = byte(int8(int16(binary.LittleEndian.Uint16(pcm[2*i:])) >> 8))
	}
	var d PCM
	d.Reset(rate, channels)
	var got []int
	for i := 0; i*chunk*2 < len(s8); i++ {
		if d.FeedS8(s8[i*chunk*2 : min((i+1)*chunk*2, len(s8))]) {
			got = append(got, i)
		}
	}
	if want := []int{8, 33}; !equal(got, want) {
		t.Errorf("L8 bursts in packets %v, want %v", got, want)
	}
}

// The bursts survive IMA ADPCM (racgate's coding of PCM for the browser).
func TestThroughADPCM(t *testing.T) {
	pcm := signal(0.01, 160, 340, 3)
	states := make([]wire.ADPCMState, channels)
	var d PCM
	d.Reset(rate, channels)
	var got []int
	var dec []byte
	for i := 0; i*chunk*4 < len(pcm); i++ {
		block := wire.AppendADPCM(nil, pcm[i*chunk*4:min((i+1)*chunk*4, len(pcm))], channels, states)
		var err error
		if dec, err = wire.DecodeADPCM(dec[:0], block, channels); err != nil {
			t.Fatal(err)
		}
		if d.Feed(dec) {
			got = append(got, i)
		}
	}
	if want := []int{8, 33, 58}; !equal(got, want) {
		t.Errorf("ADPCM bursts in packets %v, want %v", got, want)
	}
}

// The bursts survive Opus as xrdp codes it (60 ms packets; the quiet after a tone is not
// digital silence once decoded), where packet sizes would not show them.
func TestThroughOpus(t *testing.T) {
	enc, err := opus.NewEncoder(48000, channels)
	if err != nil {
		t.Skipf("no libopus: %v", err)
	}
	defer enc.Close()
	dec, err := opus.NewDecoder(48000, channels)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	const packet = 2880 * channels * 2 // 60 ms at 48 kHz
	// Gaps of 180 ms between bursts of 300 ms: at least two whole packets of each.
	var pcm []byte
	for range 4 {
		pcm = append(pcm, make([]byte, 48000*180/1000*4)...)
		pcm = append(pcm, tone.Sine(440, 48000, channels, 48000/(4*440), 48000*300/1000, 0.5)...)
	}
	var d PCM
	d.Reset(48000, channels)
	var got, sizes []int
	var out []byte
	for i := 0; (i+1)*packet <= len(pcm); i++ {
		p, err := enc.Encode(pcm[i*packet : (i+1)*packet])
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p))
		if out, err = dec.Decode(out[:0], p); err != nil {
			t.Fatal(err)
		}
		if len(out) != packet {
			t.Fatalf("packet %d decoded to %d bytes, want %d", i, len(out), packet)
		}
		if d.Feed(out) {
			got = append(got, i)
		}
	}
	// Burst k starts at 180 + 480k ms: in packets 3, 11, 19, 27 (the codec's delay
	// may move a start into the next packet).
	want := []int{3, 11, 19, 27}
	if len(got) != len(want) {
		t.Fatalf("Opus bursts in packets %v, want %v (sizes %v)", got, want, sizes)
	}
	for i := range want {
		if got[i] != want[i] && got[i] != want[i]+1 {
			t.Errorf("burst %d in packet %d, want %d or %d", i, got[i], want[i], want[i]+1)
		}
	}
}

func TestMatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	within := 600 * time.Millisecond
	sent := at(0, 620, 1360, 1940, 2760)
	for _, tc := range []struct {
		name           string
		heard          []time.Time
		from, to       int
		lat            []float64
		bursts, extras int
	}{
		{"all heard", at(40, 700, 1400, 2000, 2800), 0, 3000, []float64{40, 80, 40, 60, 40}, 5, 0},
		{"window", at(40, 700, 1400, 2000, 2800), 500, 2000, []float64{80, 40, 60}, 3, 0},
		{"stream start before the first burst", at(-300, 40, 700), 0, 1000, []float64{40, 80}, 2, 0},
		{"one lost", at(40, 1400, 2000), 0, 2500, []float64{40, 40, 60}, 4, 0},
		{"a second start in a burst is spurious", at(40, 300, 700), 0, 1000, []float64{40, 80}, 2, 1},
		{"too late for its burst", at(610, 700), 0, 1000, []float64{80}, 2, 1},
		{"nothing heard", nil, 0, 3000, nil, 5, 0},
	} {
		lat, bursts, spurious := Match(sent, tc.heard, t0.Add(time.Duration(tc.from)*time.Millisecond),
			t0.Add(time.Duration(tc.to)*time.Millisecond), within)
		if bursts != tc.bursts || len(spurious) != tc.extras || len(lat) != len(tc.lat) {
			t.Errorf("%s: latencies %v, bursts %d, spurious %v; want %v, %d, %d", tc.name, lat, bursts, spurious, tc.lat, tc.bursts, tc.extras)
			continue
		}
		for i := range lat {
			if math.Abs(lat[i]-tc.lat[i]) > 1e-9 {
				t.Errorf("%s: latencies %v, want %v", tc.name, lat, tc.lat)
				break
			}
		}
	}
}
