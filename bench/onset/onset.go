// Package onset finds where a tone starts in received sound, for the benchmark's sound
// latency: the sound scenarios play a tone that stops for a moment at irregular
// intervals (a quiet gap, then a loud burst), the clients note when the packet holding
// each burst's first loud sample arrives, and Match pairs those arrivals with the times
// the bursts were written at the server.
//
// Everything is decoded to S16LE PCM first (PCM, IMA ADPCM, Guacamole's audio/L16 and
// audio/L8, and Opus through bench/opus) and goes through PCM: a burst starts at the
// first loud sample after a long enough quiet run. The size of Opus packets does not
// show the gaps: xrdp's encoder spends about as many bytes on the quiet after a tone as
// on the tone.
package onset

import (
	"encoding/binary"
	"time"
)

// Levels of the PCM detector, on the S16 scale. The bench's bursts peak at half scale
// (16384) and its gaps are silence (RDP) or a tone at 1% (VNC, ±328).
const (
	LoudLevel  = 8192 // a sample at least this far from 0 is loud
	QuietLevel = 1638 // samples within this of 0 are quiet (5% of full scale)
	// MinQuietMs is how long the sound must stay quiet before a loud sample counts as
	// a burst's start: long enough that a stall of a few packets in the middle of a
	// burst (a sound server's underrun) is not taken for a gap, short enough to fit in
	// the bench's 160 ms gaps.
	MinQuietMs = 60
)

// PCM finds bursts in S16LE PCM, channels interleaved, fed in order as it arrives.
type PCM struct {
	Rate, Channels int

	quiet int  // consecutive quiet frames
	armed bool // quiet for MinQuietMs: the next loud frame starts a burst
	s16   []byte
}

// Reset forgets what was fed (a new stream, another format).
func (d *PCM) Reset(rate, channels int) {
	*d = PCM{Rate: rate, Channels: channels, s16: d.s16[:0]}
}

// Feed reads pcm (whole frames) and reports whether a burst starts in it.
func (d *PCM) Feed(pcm []byte) bool {
	if d.Rate <= 0 || d.Channels <= 0 {
		return false
	}
	need := d.Rate * MinQuietMs / 1000
	frame := 2 * d.Channels
	found := false
	for off := 0; off+frame <= len(pcm); off += frame {
		peak := 0
		for c := range d.Channels {
			v := int(int16(binary.LittleEndian.Uint16(pcm[off+2*c:])))
			peak = max(peak, v, -v)
		}
		switch {
		case peak >= LoudLevel:
			if d.armed {
				found = true
			}
			d.armed, d.quiet = false, 0
		case peak <= QuietLevel:
			d.quiet++
			if d.quiet >= need {
				d.armed = true
			}
		default:
			d.quiet = 0
		}
	}
	return found
}

// FeedS8 is Feed for signed 8-bit samples (Guacamole's audio/L8).
func (d *PCM) FeedS8(pcm []byte) bool {
	d.s16 = d.s16[:0]
	for _, s := range pcm {
		d.s16 = binary.LittleEndian.AppendUint16(d.s16, uint16(int16(int8(s))*256))
	}
	return d.Feed(d.s16)
}

// Match pairs the bursts written at the server (sent, in order) with the arrivals of
// burst starts at the client (heard, in order). Only bursts sent in [from, to) count.
// An arrival belongs to the latest burst sent at or before it, and only if it came
// within `within` of it; a burst's first arrival is its latency. With bursts at least
// `within` apart, a latency under `within` cannot be taken for the next burst's.
//
// It returns the latencies in milliseconds (in the order of the bursts), how many bursts
// were sent in the window, and the arrivals in the window that belonged to no burst
// (spurious starts: a stall in the middle of a tone, or a latency over `within`), as
// milliseconds after the latest burst sent before them.
func Match(sent, heard []time.Time, from, to time.Time, within time.Duration) (lat []float64, bursts int, spurious []float64) {
	for _, s := range sent {
		if !s.Before(from) && s.Before(to) {
			bursts++
		}
	}
	i := -1 // the latest burst sent at or before the arrival
	matched := -1
	for _, h := range heard {
		for i+1 < len(sent) && !sent[i+1].After(h) {
			i++
		}
		if i < 0 {
			continue // before the first burst: the stream's own start
		}
		s := sent[i]
		inWindow := !s.Before(from) && s.Before(to)
		d := float64(h.Sub(s)) / float64(time.Millisecond)
		switch {
		case !inWindow:
		case h.Sub(s) >= within || i == matched: // too late, or a second start in one burst
			spurious = append(spurious, d)
		default:
			lat = append(lat, d)
		}
		if h.Sub(s) < within {
			matched = i
		}
	}
	return lat, bursts, spurious
}
