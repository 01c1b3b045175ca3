package tone

import "testing"

func TestFrequencyAndPower(t *testing.T) {
	for _, f := range []float64{220, 440, 441, 1000} {
		x := Mono(Sine(f, 44100, 2, 0, 44100, 0.5), 2, 1)
		if got := Frequency(x, 44100); got < f*0.999 || got > f*1.001 {
			t.Errorf("Frequency of a %g Hz tone: %g", f, got)
		}
		if p := Power(x, 44100, f); p < 0.95 {
			t.Errorf("Power at %g Hz of a tone at that frequency: %g", f, p)
		}
		if p := Power(x, 44100, f*1.1); p > 0.05 {
			t.Errorf("Power at %g Hz of a %g Hz tone: %g", f*1.1, f, p)
		}
	}
}

func TestSineJoins(t *testing.T) {
	a := Sine(440, 48000, 1, 0, 1000, 0.8)
	b := Sine(440, 48000, 1, 1000, 1000, 0.8)
	whole := Sine(440, 48000, 1, 0, 2000, 0.8)
	if string(append(a, b...)) != string(whole) {
		t.Fatal("two calls with consecutive starts differ from one call")
	}
}

func TestLongestGap(t *testing.T) {
	x := Mono(Sine(440, 44100, 1, 0, 4410, 0.5), 1, 0)
	for i := 1000; i < 1000+441*3; i++ {
		x[i] = 0.0001
	}
	// The gap is the 3 silent periods plus the quiet samples near the zero crossings
	// either side of it.
	if g := LongestGap(x, 0.01); g < 441*3 || g > 441*3+10 {
		t.Fatalf("LongestGap = %d, want about %d", g, 441*3)
	}
}

// Noise around the zero crossings (a lossy codec's) does not add crossings.
func TestFrequencyNoisy(t *testing.T) {
	x := Mono(Sine(440, 44100, 1, 0, 44100, 0.5), 1, 0)
	for i := range x {
		if i%7 == 0 {
			x[i] += 0.01
		} else if i%7 == 3 {
			x[i] -= 0.01
		}
	}
	if got := Frequency(x, 44100); got < 439.5 || got > 440.5 {
		t.Fatalf("Frequency of a noisy 440 Hz tone: %g", got)
	}
}
