// Package tone makes and measures test tones: a sine wave as S16LE PCM, and
// the frequency and the silent gaps of a recorded signal. Tests of the audio
// path use it to check what a real server played against what arrived.
package tone

import (
	"encoding/binary"
	"math"
)

// Sine returns frames of a sine wave at freq Hz, sampled at rate, as
// interleaved S16LE PCM with the same sample in each of channels, starting at
// phase frame start (so consecutive calls join without a click).
func Sine(freq float64, rate, channels, start, frames int, amplitude float64) []byte {
	b := make([]byte, 0, frames*channels*2)
	for i := range frames {
		v := int16(math.Round(amplitude * 32767 * math.Sin(2*math.Pi*freq*float64(start+i)/float64(rate))))
		for range channels {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
	}
	return b
}

// Mono returns channel ch of interleaved S16LE PCM as floats in [-1, 1).
func Mono(pcm []byte, channels, ch int) []float64 {
	n := len(pcm) / (2 * channels)
	out := make([]float64, n)
	for i := range n {
		out[i] = float64(int16(binary.LittleEndian.Uint16(pcm[(i*channels+ch)*2:]))) / 32768
	}
	return out
}

// Frequency estimates the dominant frequency of x, sampled at rate, from its
// rising zero crossings (with linear interpolation between the samples around
// each): the mean period between the first and the last crossing. A crossing
// counts only after the signal went below a tenth of its peak, so that noise
// around zero (a lossy codec's) adds none. It returns 0 when x has fewer than
// two crossings.
func Frequency(x []float64, rate int) float64 {
	peak := 0.0
	for _, v := range x {
		peak = max(peak, math.Abs(v))
	}
	first, last, n := -1.0, -1.0, 0
	armed := false
	for i := 1; i < len(x); i++ {
		if x[i] < -peak/10 {
			armed = true
		}
		if armed && x[i-1] < 0 && x[i] >= 0 {
			armed = false
			t := float64(i-1) + x[i-1]/(x[i-1]-x[i])
			if first < 0 {
				first = t
			} else {
				n++
			}
			last = t
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * float64(rate) / (last - first)
}

// Power is the power of x at freq Hz relative to the signal's total power
// (Goertzel), between 0 and 1: near 1 for a pure tone at freq, near 0 for a
// tone elsewhere or for noise.
func Power(x []float64, rate int, freq float64) float64 {
	if len(x) == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
		total += v * v
	}
	if total == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * p / (float64(len(x)) * total)
}

// LongestGap is the longest run of samples in x whose magnitude stays below
// threshold, in samples.
func LongestGap(x []float64, threshold float64) int {
	best, run := 0, 0
	for _, v := range x {
		if math.Abs(v) < threshold {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
