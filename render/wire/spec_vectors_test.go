package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// testdata/spec_vectors.json holds messages typed by hand, field by field, from the
// layouts in docs/protocol.md: unlike vectors.json, nothing in it was written by an
// encoder, so it tests the Go and browser codecs against the spec rather than against
// each other. Each vector is
//
//	{ "name", "section": the spec's heading ("0x86 WHEEL"),
//	  "fields": [[name, hex], ...]: "type", "length", then the table's fields in order,
//	  "message": the decoded message as in vectors.json,
//	  "canvas": (optional) {"width","height","rgb"}: a fresh canvas of that size with
//	            the message drawn on it,
//	  "terminal": (optional) hex of what a TERMINAL_DEFLATE piece inflates to }
//
// The field names and sizes are checked against the spec's table, so a vector cannot
// drift from the layout it claims to follow.

const specVectorsPath = "testdata/spec_vectors.json"

type specVector struct {
	Name     string         `json:"name"`
	Section  string         `json:"section"`
	Comment  string         `json:"comment,omitempty"`
	Fields   [][2]string    `json:"fields"`
	Message  map[string]any `json:"message"`
	Canvas   *canvasVector  `json:"canvas,omitempty"`
	Terminal *string        `json:"terminal,omitempty"`
}

func firstBacktick(s string) string {
	if m := backtickRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// checkLayout checks that fields follow s's table: "type" and "length" first, then one
// field per row (per name in rows of several sizes) with the row's size, a size named
// by an earlier field taking that field's value, a "then `count` times" group repeated
// by the value of count, an optional group ("then, where the payload goes on") present
// or not, and a rest row taking the one field left.
func checkLayout(s *specType, fields [][2]string) error {
	raw := make([][]byte, len(fields))
	total := 0
	for i, f := range fields {
		b, err := hex.DecodeString(f[1])
		if err != nil {
			return fmt.Errorf("field %q: %v", f[0], err)
		}
		raw[i] = b
		if i >= 2 {
			total += len(b)
		}
	}
	if len(fields) < 2 || fields[0][0] != "type" || fields[1][0] != "length" {
		return fmt.Errorf("fields must begin with type and length")
	}
	if len(raw[0]) != 1 || Type(raw[0][0]) != s.t {
		return fmt.Errorf("type % x, section is %#x", raw[0], uint8(s.t))
	}
	if len(raw[1]) != 4 || int(binary.LittleEndian.Uint32(raw[1])) != total {
		return fmt.Errorf("length % x, the payload fields hold %d bytes", raw[1], total)
	}
	vals := map[string]int{} // little-endian values of the fields so far
	i := 2
	take := func(name string, size int) error {
		if i >= len(fields) {
			return fmt.Errorf("spec's %q missing", name)
		}
		f, b := fields[i], raw[i]
		if name != "" && f[0] != name {
			return fmt.Errorf("field %d is %q, spec has %q", i, f[0], name)
		}
		if size >= 0 && len(b) != size {
			return fmt.Errorf("field %q has %d bytes, spec says %d", f[0], len(b), size)
		}
		if len(b) <= 4 {
			var v [4]byte
			copy(v[:], b)
			vals[f[0]] = int(binary.LittleEndian.Uint32(v[:]))
		}
		i++
		return nil
	}
	walk := func(rows []specRow) error {
		for _, r := range rows {
			switch {
			case r.size == "rest":
				if i != len(fields)-1 {
					return fmt.Errorf("the rest of the payload is one field, vector has %d left", len(fields)-i)
				}
				if err := take("", -1); err != nil {
					return err
				}
			case strings.HasPrefix(r.size, "`"):
				name := strings.Trim(r.size, "`")
				n, ok := vals[name]
				if !ok {
					return fmt.Errorf("size %s before that field", r.size)
				}
				if err := take(firstBacktick(r.field), n); err != nil {
					return err
				}
			default:
				names := backtickRE.FindAllStringSubmatch(r.field, -1)
				sizes := strings.Split(r.size, ",")
				if len(names) < len(sizes) {
					return fmt.Errorf("spec row %q | %q: fewer names than sizes", r.size, r.field)
				}
				for k, sz := range sizes {
					n, err := strconv.Atoi(sz)
					if err != nil {
						return fmt.Errorf("spec row size %q", r.size)
					}
					if err := take(names[k][1], n); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	rows := s.rows
	for k, r := range rows {
		if strings.HasPrefix(r.size, "then") {
			if err := walk(rows[:k]); err != nil {
				return err
			}
			// "then `count` times:" repeats the rows after it count times; "then,
			// where the payload goes on:" has them once if the vector goes on.
			n, optional := vals[firstBacktick(r.size)], firstBacktick(r.size) == ""
			if optional && i < len(fields) {
				n = 1
			}
			for range n {
				if err := walk(rows[k+1:]); err != nil {
					return err
				}
			}
			rows = nil
			break
		}
	}
	if err := walk(rows); err != nil {
		return err
	}
	if i != len(fields) {
		return fmt.Errorf("fields after the layout: %v", fields[i:])
	}
	return nil
}

func loadSpecVectors(t *testing.T) []specVector {
	t.Helper()
	raw, err := os.ReadFile(specVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vs []specVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestSpecVectors(t *testing.T) {
	spec := loadSpec(t)
	covered := map[Type]bool{}
	for _, v := range loadSpecVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			var s *specType
			for _, st := range spec {
				if fmt.Sprintf("0x%02X %s", uint8(st.t), st.name) == v.Section {
					s = st
				}
			}
			if s == nil {
				t.Fatalf("no section %q in %s", v.Section, specPath)
			}
			if err := checkLayout(s, v.Fields); err != nil {
				t.Fatalf("not the layout of § %s: %v", v.Section, err)
			}
			var b []byte
			for _, f := range v.Fields {
				h, _ := hex.DecodeString(f[1])
				b = append(b, h...)
			}
			m, rest, err := Next(b)
			if err != nil || len(rest) != 0 {
				t.Fatalf("decoding % x: %v, %d bytes left", b, err, len(rest))
			}
			covered[m.Type()] = true
			if got := describe(m); !reflect.DeepEqual(roundJSON(t, got), roundJSON(t, v.Message)) {
				t.Errorf("decoded %v, spec says %v", got, v.Message)
			}
			if enc := m.Append(nil); !bytes.Equal(enc, b) {
				t.Errorf("encoder wrote % x, spec says % x", enc, b)
			}
			if v.Canvas != nil {
				c := NewCanvas()
				if err := c.Apply(Resize{Width: v.Canvas.Width, Height: v.Canvas.Height}); err != nil {
					t.Fatal(err)
				}
				if err := c.Apply(m); err != nil {
					t.Fatalf("drawing: %v", err)
				}
				if got := canvasOf(c); *got != *v.Canvas {
					t.Errorf("canvas %+v, spec says %+v", got, v.Canvas)
				}
			}
			if v.Terminal != nil {
				var z TerminalInflater
				out, err := z.Inflate(m.(TerminalDeflate))
				if err != nil || hex.EncodeToString(out) != *v.Terminal {
					t.Errorf("inflated %q (%v), spec says %s", out, err, *v.Terminal)
				}
			}
		})
	}
	// Every type the spec lays out has a hand-typed vector (AUDIO has no layout yet).
	for ty, s := range spec {
		if ty != TypeAudio && !covered[ty] {
			t.Errorf("no spec vector of %s", s.name)
		}
	}
}
