package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a config file, at a line, naming the key at fault.
type Error struct {
	File string
	Line int
	Key  string // e.g. "endpoints[2].protocol"; empty for the whole file
	Msg  string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Errors is every problem found in a config file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find a *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// decoder walks a yaml.Node tree by hand so that every error has a line and a key path,
// and so that unknown and duplicate keys are caught (yaml.Unmarshal does neither well).
type decoder struct {
	file string
	errs Errors
}

func (d *decoder) errorf(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

type fieldFunc func(key string, v *yaml.Node)

// mapping calls fields[k] for every key k of the mapping n; unknown or repeated keys are
// errors. It returns false when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]fieldFunc) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping (key: value lines), got %s", kindName(n))
		return false
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		kp := join(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(k, kp, "duplicate key (first at line %d)", first)
			continue
		}
		seen[name] = k.Line
		f, ok := fields[name]
		if !ok {
			d.errorf(k, kp, "unknown key%s", suggest(name, fields))
			continue
		}
		f(kp, v)
	}
	return true
}

// sequence calls f for each element of the sequence n.
func (d *decoder) sequence(n *yaml.Node, path string, f func(key string, v *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "want a list, got %s", kindName(n))
		return
	}
	for i, v := range n.Content {
		f(fmt.Sprintf("%s[%d]", path, i), v)
	}
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, path, "want a value, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string, dst *string) {
	if s, ok := d.scalar(n, path); ok {
		*dst = s
	}
}

func (d *decoder) strList(n *yaml.Node, path string, dst *[]string) {
	d.sequence(n, path, func(key string, v *yaml.Node) {
		if s, ok := d.scalar(v, key); ok {
			*dst = append(*dst, s)
		}
	})
}

func (d *decoder) integer(n *yaml.Node, path string, dst *int) {
	s, ok := d.scalar(n, path)
	if !ok {
		return
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		d.errorf(n, path, "want a whole number, got %q", s)
		return
	}
	*dst = v
}

func (d *decoder) duration(n *yaml.Node, path string, dst *time.Duration) {
	s, ok := d.scalar(n, path)
	if !ok {
		return
	}
	if s == "0" {
		*dst = 0
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.errorf(n, path, "want a duration like 30m, 8h or 1h30m, got %q", s)
		return
	}
	*dst = v
}

// size reads a byte count: a whole number of bytes, or of KiB, MiB, GiB or TiB ("4GiB").
func (d *decoder) size(n *yaml.Node, path string, dst *int64) {
	s, ok := d.scalar(n, path)
	if !ok {
		return
	}
	num, shift := s, 0
	for i, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if strings.HasSuffix(s, u) {
			num, shift = strings.TrimSpace(strings.TrimSuffix(s, u)), 10*(i+1)
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > math.MaxInt64>>shift {
		d.errorf(n, path, "want a size like 500MiB, 4GiB or a number of bytes, got %q", s)
		return
	}
	*dst = v << shift
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest names a known key close to a misspelt one.
func suggest(name string, fields map[string]fieldFunc) string {
	best, bestD := "", 3
	for k := range fields {
		if dd := editDistance(name, k); dd < bestD || (dd == bestD && best != "" && k < best) {
			best, bestD = k, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
