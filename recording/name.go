package recording

import (
	"path/filepath"
	"strings"
)

// Name expands a file-name pattern (config.Recording.FileName, checked there) for m: values are cleaned to letters, digits and
// ._@- (anything else becomes _), so that no user name or endpoint makes a path
// element of its own; ${time} is m.Start in UTC as 20061231T150405Z.
func Name(pattern string, m Meta) string {
	r := strings.NewReplacer(
		"${user}", SafeElement(m.User), "${endpoint}", SafeElement(m.Endpoint), "${provider}", SafeElement(m.Provider),
		"${protocol}", SafeElement(m.Protocol), "${session}", SafeElement(m.Session),
		"${time}", m.Start.UTC().Format("20060102T150405Z"), "${date}", m.Start.UTC().Format("2006-01-02"),
	)
	return r.Replace(pattern)
}

// SafeElement is s made one safe path element: letters, digits and ._@- kept, anything
// else (a "/", a leading ".") made _, at most 64 bytes; "" is "_". The gateway names
// per-user folders with it too (drive-path's ${user}).
func SafeElement(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '-'
		if !ok || (i == 0 && c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// Extensions of the two formats.
const (
	ExtDesktop  = ".rgrec"
	ExtTerminal = ".cast"
)

// Base is where a recording named by pattern goes under dir, without its extension.
func Base(dir, pattern string, m Meta) string {
	return filepath.Join(dir, filepath.FromSlash(Name(pattern, m)))
}
