package wire

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The message layouts as docs/protocol.md states them, read from its tables, so that
// what the tests know about each type (its fixed fields, whether its last field is "the
// rest of the payload") follows the spec instead of a hand-kept list that goes stale.

const specPath = "../../docs/protocol.md"

// specRow is one row of a message's table: its size cell and its field cell.
type specRow struct{ size, field string }

// specType is one "### 0xNN NAME" section of the spec.
type specType struct {
	t        Type
	name     string
	toServer bool // under "Client to server"
	rows     []specRow
}

var (
	specOnce  sync.Once
	specTypes map[Type]*specType
	specErr   error
)

var (
	headingRE  = regexp.MustCompile("^### 0x([0-9A-Fa-f]{2}) ([A-Z_]+)$")
	backtickRE = regexp.MustCompile("`([^`]+)`")
)

// loadSpec parses docs/protocol.md once.
func loadSpec(t testing.TB) map[Type]*specType {
	t.Helper()
	specOnce.Do(func() {
		f, err := os.Open(specPath)
		if err != nil {
			specErr = err
			return
		}
		defer f.Close()
		specTypes = map[Type]*specType{}
		var cur *specType // the section whose layout table is still to come or being read
		inTable, toServer := false, false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "## "):
				cur, inTable = nil, false
				toServer = line == "## Client to server"
			case strings.HasPrefix(line, "### "):
				cur, inTable = nil, false
				if m := headingRE.FindStringSubmatch(line); m != nil {
					n, _ := strconv.ParseUint(m[1], 16, 8)
					cur = &specType{t: Type(n), name: m[2], toServer: toServer}
					specTypes[cur.t] = cur
				}
			case cur != nil && strings.HasPrefix(line, "| size | field |"):
				inTable = true
			case inTable && strings.HasPrefix(line, "|-"):
			case inTable && strings.HasPrefix(line, "| "):
				cells := strings.Split(strings.Trim(line, "|"), "|")
				if len(cells) >= 2 {
					cur.rows = append(cur.rows, specRow{strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])})
				}
			case inTable:
				// The layout is the section's first table; later ones (CLOSE's codes) are not.
				cur, inTable = nil, false
			}
		}
		specErr = sc.Err()
	})
	if specErr != nil {
		t.Fatalf("reading %s: %v", specPath, specErr)
	}
	return specTypes
}

// fixedLen is the least payload the layout allows: the numeric sizes before a repeated
// or optional group ("then ...") or the rest, with variable-length strings (sized by a
// field) empty.
func (s *specType) fixedLen() int {
	n := 0
	for _, r := range s.rows {
		if r.size == "rest" || strings.HasPrefix(r.size, "then") {
			break
		}
		for _, part := range strings.Split(r.size, ",") {
			if k, err := strconv.Atoi(part); err == nil {
				n += k
			}
		}
	}
	return n
}

// hasRest reports whether the layout ends in a field that is the rest of the payload.
func (s *specType) hasRest() bool {
	for _, r := range s.rows {
		if r.size == "rest" {
			return true
		}
	}
	return false
}

// goName is the name typeNames gives s's type: the spec calls both directions'
// clipboard messages alike (CLIPBOARD, CLIPBOARD_CONTENT).
func (s *specType) goName() string {
	if s.toServer && (s.t == TypeClientClipboard || s.t == TypeClientClipboardContent) {
		return "CLIENT_" + s.name
	}
	return s.name
}

// mayDropTrailing reports whether re-encoding m may be shorter than the payload it was
// decoded from: bytes after the known fields are ignored (§ Framing), which shows only
// where the layout does not end in "the rest". CURSOR's rest is sized by width × height.
func mayDropTrailing(spec map[Type]*specType, m Message) bool {
	if _, ok := m.(Unknown); ok {
		return false // kept whole, to be skipped
	}
	if m.Type() == TypeCursor {
		return true
	}
	s := spec[m.Type()]
	return s != nil && !s.hasRest()
}

// Every message type the spec lists is one this package knows, by the same number and
// name, in the right direction, with the spec's fixed length; and every type it knows is
// in the spec.
func TestSpecCoversTypes(t *testing.T) {
	spec := loadSpec(t)
	if len(spec) < 20 {
		t.Fatalf("found %d message sections in %s", len(spec), specPath)
	}
	for ty, s := range spec {
		if got := typeNames[ty]; got != s.goName() {
			t.Errorf("spec has %#x %s, typeNames says %q", uint8(ty), s.name, got)
		}
		if s.toServer != (ty >= 0x80) {
			t.Errorf("%s %#x is in the wrong direction's section", s.name, uint8(ty))
		}
		if want := s.fixedLen(); int(fixed[ty]) != want {
			t.Errorf("%s: decoder's fixed length %d, spec's fixed fields %d bytes", s.name, fixed[ty], want)
		}
	}
	for ty, name := range typeNames {
		if spec[ty] == nil {
			t.Errorf("%s (%#x) is not in %s", name, uint8(ty), specPath)
		}
	}
	for ty := range 256 {
		if fixed[ty] != 0 && spec[Type(ty)] == nil {
			t.Errorf("fixed length for %#x, a type the spec does not have", ty)
		}
	}
	// A few layouts pinned, so that a parser that reads nothing cannot pass.
	for ty, want := range map[Type]struct {
		fixed int
		rest  bool
	}{TypeFill: {11, false}, TypeImage: {9, true}, TypePrompt: {9, false}, TypeTerminalScrollback: {4, false}, TypeKey: {5, true}, TypeBell: {0, false}} {
		if s := spec[ty]; s == nil || s.fixedLen() != want.fixed || s.hasRest() != want.rest {
			t.Errorf("%v: spec parsed as %+v, want fixed %d, rest %v", ty, s, want.fixed, want.rest)
		}
	}
}
