package audio

import "time"

// opusDuration is how long an Opus packet plays at 48 kHz, from its TOC byte (RFC 6716
// 3.1) and frame count (3.2), or 0 for a packet too short to say. It does not check the
// packet further: it only places packets on the clock (stamp), and the browser's decoder
// judges the rest.
func opusDuration(p []byte) time.Duration {
	if len(p) < 1 {
		return 0
	}
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = [4]time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = [4]time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	switch p[0] & 3 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	}
	if len(p) < 2 { // code 3 needs its frame count byte
		return 0
	}
	return time.Duration(p[1]&0x3f) * frame
}
