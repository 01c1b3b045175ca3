package opus

import (
	"errors"
	"math"
	"testing"

	"github.com/racgate/racgate/internal/tone"
)

// TestRoundTrip: a 440 Hz tone coded in 60 ms packets (as xrdp sends) decodes to a
// 440 Hz tone of about the same level, S16LE stereo, one packet's worth at a time.
func TestRoundTrip(t *testing.T) {
	enc, err := NewEncoder(48000, 2)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no libopus: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder(48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	const frames = 2880 // 60 ms
	var out []byte
	for i := range 10 {
		p, err := enc.Encode(tone.Sine(440, 48000, 2, i*frames, frames, 0.5))
		if err != nil {
			t.Fatal(err)
		}
		n := len(out)
		if out, err = dec.Decode(out, p); err != nil {
			t.Fatal(err)
		}
		if len(out)-n != frames*4 {
			t.Fatalf("packet %d decoded to %d bytes, want %d", i, len(out)-n, frames*4)
		}
	}
	for ch := range 2 {
		x := tone.Mono(out[len(out)/2:], 2, ch) // past the codec's start
		peak := 0.0
		for _, v := range x {
			peak = max(peak, math.Abs(v))
		}
		if f := tone.Frequency(x, 48000); math.Abs(f-440) > 2 {
			t.Errorf("channel %d: %.1f Hz, want 440", ch, f)
		}
		if p := tone.Power(x, 48000, 440); p < 0.9 {
			t.Errorf("channel %d: power at 440 Hz %.2f, want most of it", ch, p)
		}
		if peak < 0.4 || peak > 0.6 {
			t.Errorf("channel %d: peak %.2f, want about 0.5", ch, peak)
		}
	}
	if _, err := dec.Decode(nil, []byte{0xff}); err == nil {
		t.Error("a 1-byte packet with 3 frames decoded")
	}
	if _, err := dec.Decode(nil, nil); err == nil {
		t.Error("an empty packet decoded")
	}
	if _, err := NewDecoder(44100, 2); err == nil {
		t.Error("a decoder at 44.1 kHz (not an Opus rate) was made")
	}
	dec.Close()
	dec.Close() // twice is fine
	if _, err := dec.Decode(nil, []byte{0xfc, 0xff, 0xfe}); err == nil {
		t.Error("a closed decoder decoded")
	}
}
