package term

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// runIDs marks each byte of in with the plain run it belongs to (0: none), byte by byte
// with a fresh scanner: the model buffer.write's fast path must agree with. A run is
// plain text with the modes at their defaults; any other byte ends it.
func runIDs(in []byte) []int {
	var sc vtScanner
	ids := make([]int, len(in))
	run, cp := 0, 0
	for i := range in {
		if !sc.pending() {
			cp = i
		}
		c, dropped := sc.feed(in[i])
		if dropped {
			run = 0
			cp = i
		}
		switch c {
		case vtPlain:
			if run == 0 && sc.modes.defaults() {
				run = cp + 1 // a unique id: where it starts, plus one
			}
			for j := cp; j <= i; j++ {
				ids[j] = run
			}
		case vtOther:
			run = 0
		}
	}
	return ids
}

// checkPieces verifies that pieces (what take sent: pieces of in, in order) bring a
// terminal to the state in brings it to, by the buffer's argument: every jump (a piece not
// starting where the last one ended, forward or back) stays inside one plain run, leaves
// from a character boundary and lands on a line start, and is followed, before any byte
// outside the run and before the end, by m complete lines sent without a jump.
func checkPieces(in []byte, pieces [][2]int64, m int) error {
	ids := runIDs(in)
	var pos int64
	healed, lines, run := true, 0, 0
	for k, p := range pieces {
		a, b := p[0], p[1]
		if a < 0 || b > int64(len(in)) || a >= b {
			return fmt.Errorf("piece %d [%d,%d) outside the %d bytes", k, a, b, len(in))
		}
		if a != pos {
			lo, hi := min(a, pos), max(a, pos)
			run = ids[lo]
			for i := lo; i < hi; i++ {
				if run == 0 || ids[i] != run {
					return fmt.Errorf("piece %d jumps from %d to %d across byte %d outside the run", k, pos, a, i)
				}
			}
			if ids[a] != run {
				return fmt.Errorf("piece %d jumps from %d to %d, out of the run", k, pos, a)
			}
			if pos < int64(len(in)) && ids[pos] == run && in[pos]&0xc0 == 0x80 {
				return fmt.Errorf("piece %d jumps from %d, inside a character", k, pos)
			}
			if a < 2 || in[a-2] != '\r' || in[a-1] != '\n' || ids[a-2] != run {
				return fmt.Errorf("piece %d jumps to %d, not a line start of the run", k, a)
			}
			healed, lines = false, 0
		}
		for i := a; i < b && !healed; i++ {
			if ids[i] != run {
				return fmt.Errorf("byte %d (%q) outside the run before %d lines followed the jump", i, in[i], m)
			}
			if in[i] == '\n' && i > a && in[i-1] == '\r' {
				if lines++; lines >= m {
					healed = true
				}
			}
		}
		pos = b
	}
	if pos != int64(len(in)) {
		return fmt.Errorf("sent up to %d of %d bytes", pos, len(in))
	}
	if !healed {
		return fmt.Errorf("the end came %d lines after the last jump, want %d", lines, m)
	}
	return nil
}

// termSchedule drives a buffer: chunks of input, and between them what the pump does.
type termStep struct {
	write  []byte
	takes  int  // messages sent after this chunk
	settle bool // a quiet spell
}

// drive feeds steps to o, then ends the output and sends the rest. It returns the
// pieces sent, and the most output o held at once.
func drive(t testing.TB, o *buffer, steps []termStep) (pieces [][2]int64, peak int) {
	var raw []byte
	o.trace = func(from, to int64) { pieces = append(pieces, [2]int64{from, to}) }
	now := time.Unix(0, 0)
	for _, s := range steps {
		now = now.Add(time.Millisecond)
		for c := range slices.Chunk(s.write, readChunk) {
			for o.full() { // the reader waits: the pump must be able to go on
				if o.sendable(termMsgData) == 0 && !o.owed {
					t.Fatalf("full (%d bytes held) with nothing to send", len(o.buf))
				}
				o.settle()
				raw = o.take(raw[:0], termMsgData)
			}
			o.write(c, now)
			peak = max(peak, len(o.buf))
		}
		for range s.takes {
			if o.sendable(termMsgData) > 0 {
				raw = o.take(raw[:0], termMsgData)
			}
		}
		if s.settle {
			o.settle()
		}
	}
	o.eof = true
	for o.unsent() > 0 || o.owed {
		before, owed := o.sent, o.owed
		raw = o.take(raw[:0], termMsgData)
		if o.sent == before && o.owed == owed {
			t.Fatalf("take makes no progress at %d of %d (owed %v)", o.sent, o.end(), o.owed)
		}
	}
	return pieces, peak
}

const termMsgData = 64 << 10

// floodLines is "1\r\n2\r\n..." for n lines from first.
func floodLines(first, n int) []byte {
	var b bytes.Buffer
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "%d\r\n", i)
	}
	return b.Bytes()
}

func concat(steps []termStep) []byte {
	var b []byte
	for _, s := range steps {
		b = append(b, s.write...)
	}
	return b
}

// TestTermOutElision: a flood the browser does not take is elided to the last m lines
// (plus slack), memory stays bounded, and what is sent is exact.
func TestTermOutElision(t *testing.T) {
	o := newBuffer(24, 1000) // m = 1048
	var steps []termStep
	steps = append(steps, termStep{write: []byte("\x1b[1;32mgreen prompt$\x1b[0m "), takes: 1})
	for i := range 2000 {
		steps = append(steps, termStep{write: floodLines(i*100, 100)}) // no takes: a stalled browser
	}
	in := concat(steps)
	pieces, peak := drive(t, o, steps)
	if err := checkPieces(in, pieces, o.m()); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, p := range pieces {
		sent += int(p[1] - p[0])
	}
	m := o.m()
	if maxHeld := (m + slack(m) + 200) * 8; peak > maxHeld {
		t.Fatalf("held %d bytes at most, want at most %d", peak, maxHeld)
	}
	if sent > (m+slack(m)+200)*8 || sent < m*6 {
		t.Fatalf("sent %d of %d bytes", sent, len(in))
	}
	if o.drop == 0 {
		t.Fatal("nothing dropped")
	}
}

// TestTermOutLongLines: lines long enough that m+slack of them overflow the buffer are
// still elided before it is full, so a stalled browser never stops the reader.
func TestTermOutLongLines(t *testing.T) {
	o := newBuffer(24, 5000) // m = 5048 lines of 150 bytes: 757 KB
	o.write([]byte("$ "), time.Time{})
	o.take(nil, termMsgData)
	in := lines(20000, func(i int) string { return fmt.Sprintf("%06d %s\r\n", i, strings.Repeat("x", 140)) })
	for c := range slices.Chunk(in, readChunk) {
		if o.full() {
			t.Fatalf("full (%d bytes held) with a stalled browser: the reader would stop", len(o.buf))
		}
		o.write(c, time.Time{})
	}
	if o.drop == 0 {
		t.Fatal("nothing elided")
	}
}

// TestTermOutSnapshots: a long flood to a browser that keeps up switches to snapshots
// (a screenful per message), and the replay makes it exact when the flood ends: with
// other output, a quiet spell, or the end.
func TestTermOutSnapshots(t *testing.T) {
	for _, end := range []string{"escape", "quiet", "eof"} {
		t.Run(end, func(t *testing.T) {
			o := newBuffer(10, 100) // m = 120
			var steps []termStep
			for i := range 200 {
				steps = append(steps, termStep{write: floodLines(i*50, 50), takes: 1})
			}
			switch end {
			case "escape":
				steps = append(steps, termStep{write: []byte("\x1b[1mdone\x1b[0m\r\n$ "), takes: 1})
			case "quiet":
				steps = append(steps, termStep{settle: true, takes: 3})
			}
			in := concat(steps)
			pieces, _ := drive(t, o, steps)
			if err := checkPieces(in, pieces, o.m()); err != nil {
				t.Fatal(err)
			}
			sent, jumps := 0, 0
			for i, p := range pieces {
				sent += int(p[1] - p[0])
				if i > 0 && p[0] != pieces[i-1][1] {
					jumps++
				}
			}
			if jumps < 100 || sent > len(in)/3 {
				t.Fatalf("%d jumps, %d of %d bytes sent: no snapshots", jumps, sent, len(in))
			}
		})
	}
}

// TestTermOutKeepsEverything: output that must not be elided is sent whole.
func TestTermOutKeepsEverything(t *testing.T) {
	flood := floodLines(0, 5000)
	for name, tc := range map[string]struct {
		o   *buffer
		pre string
	}{
		"margins":        {newBuffer(24, 100), "\x1b[2;20r"},
		"origin":         {newBuffer(24, 100), "\x1b[?6h"},
		"rows unknown":   {newBuffer(0, 100), ""},
		"no line ends":   {newBuffer(24, 100), ""},
		"colours inside": {newBuffer(24, 100), ""},
	} {
		t.Run(name, func(t *testing.T) {
			in := append([]byte(tc.pre), flood...)
			if name == "no line ends" {
				in = bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))
			}
			if name == "colours inside" {
				in = bytes.ReplaceAll(in, []byte("0\r\n"), []byte("\x1b[31m0\x1b[m\r\n"))
			}
			var steps []termStep
			for c := range slices.Chunk(in, 4096) {
				steps = append(steps, termStep{write: c})
			}
			pieces, _ := drive(t, tc.o, steps)
			var got []byte
			for _, p := range pieces {
				got = append(got, in[p[0]:p[1]]...)
			}
			if !bytes.Equal(got, in) {
				t.Fatalf("sent %d of %d bytes, or not in order", len(got), len(in))
			}
		})
	}
}

// TestTermOutMargins: elision stops while margins are set and resumes once reset.
func TestTermOutMargins(t *testing.T) {
	o := newBuffer(5, 10) // m = 20
	steps := []termStep{
		{write: floodLines(0, 100)},
		{write: []byte("\x1b[2;4r")},
		{write: floodLines(100, 100)},
		{write: []byte("\x1b[r"), takes: 1},
		{write: floodLines(200, 100)},
	}
	in := concat(steps)
	pieces, _ := drive(t, o, steps)
	if err := checkPieces(in, pieces, o.m()); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, p := range pieces {
		got = append(got, in[p[0]:p[1]]...)
	}
	if !bytes.Contains(got, concat(steps[1:4])) {
		t.Fatal("lines written with margins set were dropped")
	}
	if bytes.Contains(got, []byte("\r\n50\r\n")) || bytes.Contains(got, []byte("\r\n250\r\n")) {
		t.Fatal("lines without margins were not elided")
	}
}

func TestUTF8Partial(t *testing.T) {
	for in, want := range map[string]int{
		"": 0, "a": 0, "é": 0, "\xc3": 1, "a\xe6\xbc": 2, "\xe6": 1, "\xf0\x9f\x98": 3,
		"😀": 0, "\x80": 0, "\xff": 0, "\xe6\xbc\xa2": 0, "a\xf0": 1,
	} {
		if got := utf8Partial([]byte(in)); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}

// termTokens are the pieces fuzzed output is made of: plain lines of every kind, partial
// lines, the controls and sequences that end a run or change a mode.
var termTokens = []string{
	"12345\r\n", "x\r\n", "\r\n", "\r\n\r\n\r\n",
	"a long line that wraps around a narrow terminal more than once\r\n",
	"漢字かな交じり文\r\n", "e\u0301 combining\r\n", "😀 wide 😀\r\n", "\ttab\t\tstops\r\n",
	"progress 50%\rprogress 100%\r\n", "bare\nfeed\r\n", "partial ", "\r", "\n",
	"\x1b[31m", "\x1b[0m", "\x1b[2;5r", "\x1b[r", "\x1b[?6h", "\x1b[?6l",
	"\x1b[?1049h", "\x1b[?1049l", "\x1b]0;title\x07", "\x1b[H\x1b[2J", "\x1b[5A",
	"\x07", "\x08", "\xc2\x85", "\xe6\xbc", "\xa2", "\xff", "\x1b", "[", "\x1bc",
}

// fuzzSession turns fuzz bytes into a session: each byte is a token, a chunk boundary
// with takes, or a quiet spell.
func fuzzSession(data []byte) []termStep {
	var steps []termStep
	var cur []byte
	for _, b := range data {
		switch {
		case b >= 0xf0: // a chunk ends; b&7 messages go out
			steps = append(steps, termStep{write: cur, takes: int(b & 7)})
			cur = nil
		case b >= 0xe8:
			steps = append(steps, termStep{write: cur, settle: true, takes: int(b & 3)})
			cur = nil
		case b >= 0xc0: // a flood of short lines
			cur = append(cur, floodLines(int(b)*1000, int(b&0x3f)*4)...)
		default:
			cur = append(cur, termTokens[int(b)%len(termTokens)]...)
		}
	}
	return append(steps, termStep{write: cur})
}

// FuzzTermOut: whatever the remote writes and however the browser keeps up, what is sent
// brings the browser's terminal to the same state as everything would (checkPieces), and
// the buffer never holds more than its bound.
func FuzzTermOut(f *testing.F) {
	f.Add([]byte{0, 1, 0xf1, 0xff, 0xff, 0xff, 0xf1})
	f.Add(append(bytes.Repeat([]byte{0xc8, 0xf1}, 40), 14, 0xf1, 0xc8, 0xe9))
	f.Add(append(bytes.Repeat([]byte{0xff, 0xf0}, 30), 16, 0xff, 0xf1, 17, 0xff, 0xf2))
	f.Add(bytes.Repeat([]byte{4, 5, 6, 7, 8, 0xd0, 0xf1, 12, 13, 0xf0, 30, 31, 0xf1}, 10))
	f.Add(bytes.Repeat([]byte{0xfe, 0xf1, 0xff, 0xeb, 2, 0xf3}, 30))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		steps := fuzzSession(data)
		o := newBuffer(3, 4) // m = 10: elision and snapshots within a few lines
		in := concat(steps)
		pieces, peak := drive(t, o, steps)
		if err := checkPieces(in, pieces, o.m()); err != nil {
			t.Fatalf("%v\ninput %q", err, truncate(in))
		}
		if peak > MaxHeld+readChunk {
			t.Fatalf("held %d bytes", peak)
		}
	})
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 600 {
		return s[:300] + "…" + s[len(s)-300:]
	}
	return strings.ToValidUTF8(s, "?")
}
