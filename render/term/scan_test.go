package term

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// classes runs s through a fresh scanner and gives each byte's class as a letter: p
// plain, o other, . inside a code point (its class goes to the byte that completes it).
func classes(s string) (string, vtModes) {
	var sc vtScanner
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c, dropped := sc.feed(s[i])
		if dropped {
			b.WriteString("!") // the partial code point before was dropped
		}
		b.WriteByte(".po"[c])
	}
	return b.String(), sc.modes
}

func TestVTScannerClasses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ab 1\t\r\n~", "pppppppp"},
		{"\x1b[31mX", "ooooop"},
		{"\x1b[3\r\n1mX", "ooooooop"},                         // controls inside a sequence are not plain
		{"\x1b]0;t\r\nx\x07y", "ooooooooop"},                  // OSC: \r\n ignored inside, BEL ends it
		{"\x1b]8;;u\x1b\\z", "oooooooop"},                     // ST (ESC \) ends it
		{"\x1bP1$r0m\x1b\\q", "ooooooooop"},                   // DCS
		{"\x1b_apc\x1b\\a", "ooooooop"},                       // APC ignored up to ST
		{"\x1b_a\xc3\xa9b", "ooo.op"},                         // a code point from U+00A0 ends SOS/PM/APC (an error)
		{"\x1b\xc3\xa9x", "o.op"},                             // and an escape sequence
		{"\x07\x08\x0b\x0c\x0e\x7f", "oooooo"},                // BEL, BS, VT, FF, SO, DEL
		{"\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80", ".p..p...p"}, // é, 漢, 😀
		{"\xc2\x85x", ".op"},                                  // C1 NEL as a code point
		{"\xc2\x9b2;3rx", ".ooooop"},                          // C1 CSI
		{"\xff\x80x", "oop"},                                  // bytes the decoder skips
		{"\xe2\x82x", "..!p"},                                 // a truncated code point: dropped, x starts afresh
		{"\xef\xbb\xbfx", "..op"},                             // a BOM: dropped by xterm.js's decoder
		{"\xc0\xafx", ".op"},                                  // overlong
		{"\xed\xa0\x80x", "..op"},                             // a surrogate
		{"\xf4\x90\x80\x80x", "...op"},                        // beyond U+10FFFF
		{"\x1b[?25h\x1b7\x1b8a", "oooooooooop"},               // modes that do not matter
		{"\x18a\x1b[1\x18b\x1ac", "opoooopop"},                // CAN and SUB end a sequence
	} {
		got, _ := classes(tc.in)
		if got != tc.want {
			t.Errorf("%q: classes %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestVTScannerModes(t *testing.T) {
	for _, tc := range []struct {
		in       string
		defaults bool
	}{
		{"", true},
		{"\x1b[2;10r", false},
		{"\x1b[2;10r\x1b[r", true},
		{"\x1b[5r", false},
		{"\x1b[1r", true},      // top 1, no bottom: the whole screen
		{"\x1b[;r", true},      // both empty (0)
		{"\x1b[1;0r", true},    // bottom 0: the last row
		{"\x1b[1;24r", false},  // an explicit bottom: the browser's rows may differ
		{"\x1b[5;2r", false},   // refused by the terminal, still taken for margins
		{"\x1b[2:1;5r", false}, // sub-parameters: not followed
		{"\x1b[?6h", false},    // origin mode
		{"\x1b[?6h\x1b[?6l", true},
		{"\x1b[?6;1049h", false},
		{"\x1b[?69h", false}, // left/right margin mode
		{"\x1b[?69h\x1b[?69l", true},
		{"\x1b[2;10r\x1b[!p", true},                // DECSTR
		{"\x1b[?6h\x1b[!p", true},                  //
		{"\x1b[2;10r\x1b[?6h\x1bc", true},          // RIS
		{"\x1b[?1049h\x1b[2;10r", false},           // margins on the alternate screen
		{"\x1b[?1049h\x1b[2;10r\x1b[?1049l", true}, // cleared with it on leaving
		{"\x1b[2;10r\x1b[?1049h", true},            // the normal screen's margins stay with it
		{"\x1b[2;10r\x1b[?1049h\x1b[?1049l", false},
		{"\x1b[?47h\x1b[3r\x1b[?47l\x1b[?1047h", true},
		{"\xc2\x9b?6h", false},                              // C1 CSI
		{"\x1b[?" + strings.Repeat("1;", 40) + "6h", false}, // over 32 parameters: unknown
		{"\x1b[?" + strings.Repeat("1;", 40) + "6h\x1bc", true},
		{"\x1b[2;10$r", true},        // DECCARA, not DECSTBM
		{"\x1b[>2;10r", true},        // a private sequence
		{"\x1b]2;\x1b[2;10r", false}, // ESC ends the OSC and starts DECSTBM
		{"\x1b]2;\x1b[2;10r\x07", false},
	} {
		_, m := classes(tc.in)
		if m.defaults() != tc.defaults {
			t.Errorf("%q: defaults %v, want %v (%+v)", tc.in, m.defaults(), tc.defaults, m)
		}
	}
}

// FuzzVTScanner: output split into reads anywhere leaves the tracker where it is when
// read whole (buffer.write's ASCII loop and the scanner agree), and what the buffer sends
// of arbitrary bytes passes checkPieces.
func FuzzVTScanner(f *testing.F) {
	f.Add([]byte("ab\r\n\x1b[2;5r\x1b[?6h\x1b]0;t\x07\xe6\xbc\xa2\r\n"), uint8(3))
	f.Add([]byte("\x1b[?1049h\x1b[3r\x1b[?1049l12\r\n34\r\n\xc2\x9b?69h\r\n"), uint8(1))
	f.Add([]byte("\x1bP1$r0m\x1b\\\x1b_x\xc3\xa9\x18\x1b[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33;6h"), uint8(5))
	f.Add(bytes.Repeat([]byte("line\r\n"), 100), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		whole, parts := newBuffer(3, 4), newBuffer(3, 4)
		whole.write(data, time.Time{})
		step := int(split%16) + 1
		for c := range slices.Chunk(data, step) {
			parts.write(c, time.Time{})
		}
		if whole.sc != parts.sc || whole.run != parts.run || whole.prevCR != parts.prevCR || whole.run && whole.runStart != parts.runStart {
			t.Fatalf("read whole: %+v run %v@%d; in %d-byte reads: %+v run %v@%d", whole.sc, whole.run, whole.runStart, step, parts.sc, parts.run, parts.runStart)
		}
		var steps []termStep
		for i, c := range slices.Collect(slices.Chunk(data, step)) {
			steps = append(steps, termStep{write: c, takes: i % 3})
		}
		o := newBuffer(3, 4)
		pieces, _ := drive(t, o, steps)
		if err := checkPieces(data, pieces, o.m()); err != nil {
			t.Fatal(err)
		}
	})
}
