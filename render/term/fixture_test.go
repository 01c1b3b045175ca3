package term

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// The browser test webclient/test/browser/term_elide_test.mjs writes each case's whole
// output into one xterm.js and what the buffer sent into another, of the same size and
// scrollback, and compares every line of both buffers and the cursor: the proof that
// elision and snapshots change nothing a user could see. This file makes the cases.
// Regenerate with: go test ./render/term -run TestTermElideFixture -update-term-fixture
var updateTermFixture = flag.Bool("update-term-fixture", false, "rewrite "+termFixturePath)

// termFixturePath is where the browser test reads the cases.
const termFixturePath = "testdata/term_elide.json"

type termFixture struct {
	Comment string            `json:"comment"`
	Cases   []termFixtureCase `json:"cases"`
}

type termFixtureCase struct {
	Name       string     `json:"name"`
	Rows       int        `json:"rows"`
	Cols       int        `json:"cols"`
	Scrollback int        `json:"scrollback"`
	Input      string     `json:"input"`  // base64: everything the remote wrote
	Pieces     [][2]int64 `json:"pieces"` // the messages the buffer sent, as [from, to) of the input
	Dropped    int        `json:"dropped"`
	Jumps      int        `json:"jumps"` // pieces not starting where the last one ended (or at 0)
}

// fixtureCase is a case's terminal and its session; wantJumps says elision or
// snapshots must happen in it (else the case would prove nothing about them).
type fixtureCase struct {
	name             string
	rows, cols, sb   int
	steps            []termStep
	wantJumps, exact bool // exact: nothing may be dropped
}

func lines(n int, f func(i int) string) []byte {
	var b strings.Builder
	for i := range n {
		b.WriteString(f(i))
	}
	return []byte(b.String())
}

// stalled is a browser that takes one message, then nothing for the whole output
// (elision), and takes the rest at the end.
func stalled(parts ...[]byte) []termStep {
	steps := []termStep{{write: parts[0], takes: 1}}
	for _, p := range parts[1:] {
		for c := range bytes.Lines(p) {
			steps = append(steps, termStep{write: c})
		}
	}
	return steps
}

// keepingUp is a browser that takes a message after every few lines (a long flood goes
// to snapshots), with end as what follows the flood.
func keepingUp(pre, flood []byte, every int, end ...termStep) []termStep {
	steps := []termStep{{write: pre, takes: 1}}
	var cur []byte
	n := 0
	for l := range bytes.Lines(flood) {
		cur = append(cur, l...)
		if n++; n%every == 0 {
			steps = append(steps, termStep{write: cur, takes: 1})
			cur = nil
		}
	}
	steps = append(steps, termStep{write: cur, takes: 1})
	return append(steps, end...)
}

func fixtureCases() []fixtureCase {
	num := func(i int) string { return fmt.Sprintf("%d\r\n", i) }
	wrap := func(i int) string { return fmt.Sprintf("%03d %s\r\n", i, strings.Repeat("abcdefghij", 4)) }
	prompt := []byte("\x1b[1;32muser@host\x1b[0m:\x1b[1;34m~\x1b[0m$ ")
	return []fixtureCase{
		{name: "plain flood, browser behind", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled(prompt, lines(300, num), prompt)},
		{name: "long lines wrapping twice", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled(prompt, lines(200, wrap), []byte("last partial line"))},
		{name: "wide characters at the wrap column", rows: 4, cols: 11, sb: 7, wantJumps: true,
			steps: stalled(prompt, lines(150, func(i int) string {
				return fmt.Sprintf("%02d 漢字かな交じり文😀%s\r\n", i%100, strings.Repeat("字", i%5))
			}), prompt)},
		{name: "tabs", rows: 5, cols: 30, sb: 6, wantJumps: true,
			steps: stalled(prompt, lines(150, func(i int) string { return fmt.Sprintf("%d\tx\t\ty%s\tz\r\n", i, strings.Repeat("w", i%9)) }), prompt)},
		{name: "combining marks and progress bars", rows: 4, cols: 16, sb: 5, wantJumps: true,
			steps: stalled(prompt, lines(120, func(i int) string {
				if i%3 == 0 {
					return "\u0301e\u0301 start combining\r\n"
				}
				return fmt.Sprintf("%d%%\r%d%% done\r\n", i, i+1)
			}), []byte("\u0301"))},
		{name: "bare line feeds inside lines", rows: 5, cols: 20, sb: 8, wantJumps: true,
			steps: stalled(prompt, lines(150, func(i int) string { return fmt.Sprintf("a%d\nb\nc%d\r\n", i, i) }), prompt)},
		{name: "background colour set before the flood", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled([]byte("\x1b[44;33m"), lines(200, num), []byte("\x1b[0m"), prompt)},
		{name: "escape sequence in the middle", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled(prompt, lines(100, num), []byte("\x1b[3Aup\x1b[2K\x1b[31mred\x1b[m\r\n"), lines(100, num), prompt)},
		{name: "text below the cursor", rows: 5, cols: 20, sb: 3, wantJumps: true,
			steps: stalled(append(append([]byte("\x1b[H"), lines(4, func(int) string { return "XXXXXXXXXXXXXXX\r\n" })...), "XXXX\x1b[41m\x1b[H"...), lines(100, num))},
		{name: "scroll margins set: nothing dropped", rows: 5, cols: 20, sb: 10, exact: true,
			steps: stalled([]byte("\x1b[2;4r"), lines(200, num), prompt)},
		{name: "origin mode set: nothing dropped", rows: 5, cols: 20, sb: 10, exact: true,
			steps: stalled([]byte("\x1b[?6h"), lines(200, num), []byte("\x1b[?6l"), prompt)},
		{name: "margins reset", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled(append(append([]byte("\x1b[2;4r"), lines(50, num)...), "\x1b[r"...), lines(200, num), prompt)},
		{name: "alternate screen", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled(append(append(prompt, lines(50, num)...), "\x1b[?1049h\x1b[H\x1b[2J"...), lines(200, num), []byte("\x1b[?1049l"), prompt)},
		{name: "invalid UTF-8 in the middle", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: stalled(prompt, lines(100, num), []byte("bad \xff\xe2\x82 bytes\r\n"), lines(100, num), prompt)},
		{name: "snapshots, then a prompt", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: keepingUp(prompt, lines(600, num), 12, termStep{write: prompt, takes: 1})},
		{name: "snapshots, then a quiet spell", rows: 5, cols: 20, sb: 10, wantJumps: true,
			steps: keepingUp(prompt, lines(600, wrap), 12, termStep{settle: true, takes: 2}, termStep{write: []byte("typed"), takes: 1})},
		{name: "snapshots, then the end", rows: 4, cols: 11, sb: 7, wantJumps: true,
			steps: keepingUp(prompt, lines(600, func(i int) string { return fmt.Sprintf("%d字\t%s\r\n", i, strings.Repeat("é", i%13)) }), 9)},
		{name: "a real size: 24 rows, 5000 lines of scrollback", rows: 24, cols: 80, sb: 5000, wantJumps: true,
			steps: keepingUp([]byte("\x1b[0m$ perl -e '...'\r\n"), lines(16000, num), 500, termStep{write: prompt, takes: 1})},
	}
}

// randomCases are fuzzSession's sessions from a fixed seed: every token the fuzz target
// knows, mixed, checked against xterm.js itself.
func randomCases() []fixtureCase {
	r := rand.New(rand.NewPCG(1, 2))
	var out []fixtureCase
	for i := range 8 {
		data := make([]byte, 100+r.IntN(100))
		for j := range data {
			switch k := r.IntN(100); {
			case k < 8:
				data[j] = 0xf0 + byte(r.IntN(3)) // a chunk ends, 0-2 messages go
			case k < 10:
				data[j] = 0xe8 // a quiet spell
			case k < 22:
				data[j] = 0xd0 + byte(r.IntN(0x10)) // a flood of 64-124 lines
			case k < 80:
				data[j] = byte(r.IntN(14)) // plain lines of every kind
			default:
				data[j] = byte(r.IntN(len(termTokens)))
			}
		}
		rows, sb := 3+i%3, 2+3*(i%4)
		out = append(out, fixtureCase{name: fmt.Sprintf("random session %d", i), rows: rows, cols: 7 + 5*(i%3), sb: sb, steps: fuzzSession(data)})
	}
	return out
}

func buildTermFixture(t *testing.T) termFixture {
	f := termFixture{Comment: "Written by go test ./render/term -run TestTermElideFixture -update-term-fixture; read by webclient/test/browser/term_elide_test.mjs."}
	for _, fc := range append(fixtureCases(), randomCases()...) {
		o := newBuffer(fc.rows, fc.sb)
		in := concat(fc.steps)
		pieces, _ := drive(t, o, fc.steps)
		if err := checkPieces(in, pieces, o.m()); err != nil {
			t.Fatalf("%s: %v", fc.name, err)
		}
		c := termFixtureCase{Name: fc.name, Rows: fc.rows, Cols: fc.cols, Scrollback: fc.sb,
			Input: base64.StdEncoding.EncodeToString(in), Pieces: pieces, Dropped: len(in)}
		var last int64
		for _, p := range pieces {
			c.Dropped -= int(p[1] - p[0])
			if p[0] != last {
				c.Jumps++
			}
			last = p[1]
		}
		if fc.wantJumps && c.Jumps == 0 || fc.exact && (c.Jumps != 0 || c.Dropped != 0) {
			t.Fatalf("%s: %d jumps, %d bytes dropped", fc.name, c.Jumps, c.Dropped)
		}
		f.Cases = append(f.Cases, c)
	}
	return f
}

// TestTermElideFixture: the browser test's cases are what the buffer does today.
func TestTermElideFixture(t *testing.T) {
	got, err := json.MarshalIndent(buildTermFixture(t), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *updateTermFixture {
		if err := os.WriteFile(termFixturePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(termFixturePath)
	if err != nil {
		t.Fatalf("%v (run with -update-term-fixture)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./render/term -run TestTermElideFixture -update-term-fixture", termFixturePath)
	}
}
