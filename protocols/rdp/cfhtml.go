package rdp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CF_HTML: the data of the registered clipboard format "HTML Format"
// (CFNameHTML), as Microsoft's "HTML Clipboard Format" article lays it
// out. It is UTF-8: a header of "Keyword:value" lines, the first
// "Version:", whose StartHTML/EndHTML and StartFragment/EndFragment give
// byte offsets from the start of the data to the context (a whole HTML
// document, or -1 without one) and to the fragment within it; then the
// document, the fragment between <!--StartFragment--> and
// <!--EndFragment-->. The offsets count bytes of UTF-8, not characters.

const (
	// cfhtmlMaxHeader bounds the bytes read as the header: real headers
	// are a few hundred bytes (SourceURL the longest line).
	cfhtmlMaxHeader = 4096
	// cfhtmlDigits is the width the encoder pads its offsets to with
	// zeros (the article allows any number of leading zeros), so that
	// the header's length does not depend on the offsets it holds.
	cfhtmlDigits = 10
	// cfhtmlMaxValue bounds an offset's value, leading zeros and spaces
	// included, before it is read.
	cfhtmlMaxValue = 64
)

// The document encodeCFHTML wraps a fragment in: the minimal context,
// with the comments the article asks for around the fragment.
const (
	cfhtmlBefore = "<html>\r\n<body>\r\n<!--StartFragment-->"
	cfhtmlAfter  = "<!--EndFragment-->\r\n</body>\r\n</html>"
)

// cfhtmlHeaderSize is the length of the header encodeCFHTML writes:
// Version and four offsets of cfhtmlDigits digits, each line ending in
// CR LF.
const cfhtmlHeaderSize = len("Version:0.9\r\n") +
	len("StartHTML:\r\n") + len("EndHTML:\r\n") + len("StartFragment:\r\n") + len("EndFragment:\r\n") +
	4*cfhtmlDigits

// cfhtmlSize is the length of encodeCFHTML's data for a fragment of n
// bytes of valid UTF-8: the header, the document around the fragment and
// a terminating NUL.
func cfhtmlSize(n int) int {
	return cfhtmlHeaderSize + len(cfhtmlBefore) + n + len(cfhtmlAfter) + 1
}

// encodeCFHTML wraps an HTML fragment in CF_HTML: the header, then a
// minimal html/body document with the fragment between the comments.
// Invalid UTF-8 in fragment becomes U+FFFD (CF_HTML is UTF-8). The data
// ends in a NUL after EndHTML, outside every offset, because Windows
// programs read clipboard text formats as NUL-terminated strings.
func encodeCFHTML(fragment string) []byte {
	fragment = strings.ToValidUTF8(fragment, "\uFFFD")
	startHTML := cfhtmlHeaderSize
	startFragment := startHTML + len(cfhtmlBefore)
	endFragment := startFragment + len(fragment)
	endHTML := endFragment + len(cfhtmlAfter)
	b := make([]byte, 0, cfhtmlSize(len(fragment)))
	b = append(b, "Version:0.9\r\n"...)
	for _, f := range [...]struct {
		key string
		off int
	}{{"StartHTML", startHTML}, {"EndHTML", endHTML}, {"StartFragment", startFragment}, {"EndFragment", endFragment}} {
		b = append(b, f.key...)
		b = append(b, ':')
		b = fmt.Appendf(b, "%0*d", cfhtmlDigits, f.off)
		b = append(b, '\r', '\n')
	}
	b = append(b, cfhtmlBefore...)
	b = append(b, fragment...)
	b = append(b, cfhtmlAfter...)
	return append(b, 0)
}

// cfhtmlOffset is one offset of the header: its value, or why it has
// none (missing, -1, or unreadable).
type cfhtmlOffset struct {
	v      int64
	reason string // "" when v is an offset
}

var cfhtmlMissing = cfhtmlOffset{reason: "missing"}

// decodeCFHTML returns the HTML of CF_HTML data: the fragment
// (StartFragment to EndFragment), or, when the fragment's offsets are
// missing or invalid, the context (StartHTML to EndHTML). Every offset is
// checked against the data and the header before anything is sliced.
// NULs after the document (C producers terminate the data like a string)
// are dropped. Errors wrap ErrClipboardFailed.
func decodeCFHTML(data []byte) (string, error) {
	fragStart, fragEnd := cfhtmlMissing, cfhtmlMissing
	htmlStart, htmlEnd := cfhtmlMissing, cfhtmlMissing
	head := data[:min(len(data), cfhtmlMaxHeader)]
	pos := 0
	unended := false // a header line runs past the bytes scanned
	for line := 0; pos < len(head); line++ {
		end := bytes.IndexAny(head[pos:], "\r\n")
		if end < 0 {
			key, _, ok := bytes.Cut(head[pos:], []byte(":"))
			unended = ok && cfhtmlKeyword(key) && len(head) < len(data)
			break
		}
		end += pos
		key, value, ok := bytes.Cut(head[pos:end], []byte(":"))
		if !ok || !cfhtmlKeyword(key) {
			break // the header ended: the HTML begins
		}
		if line == 0 && string(key) != "Version" {
			return "", fmt.Errorf("%w: CF_HTML: the data starts with %q, not Version", ErrClipboardFailed, key)
		}
		// The article allows CR LF, LF or a lone CR after each line.
		pos = end + 1
		if head[end] == '\r' && pos < len(head) && head[pos] == '\n' {
			pos++
		}
		switch string(key) {
		case "StartHTML":
			htmlStart = parseCFHTMLOffset(value)
		case "EndHTML":
			htmlEnd = parseCFHTMLOffset(value)
		case "StartFragment":
			fragStart = parseCFHTMLOffset(value)
		case "EndFragment":
			fragEnd = parseCFHTMLOffset(value)
		}
	}
	if pos == 0 {
		return "", fmt.Errorf("%w: CF_HTML: no header in the first %d bytes", ErrClipboardFailed, len(head))
	}
	// Trailing NULs are no part of the HTML: a span running into them
	// stops before them.
	n := len(bytes.TrimRight(data, "\x00"))
	html, errFragment := cfhtmlSpan(data, n, pos, "StartFragment", fragStart, "EndFragment", fragEnd)
	if errFragment != nil {
		var errContext error
		html, errContext = cfhtmlSpan(data, n, pos, "StartHTML", htmlStart, "EndHTML", htmlEnd)
		if errContext != nil {
			var more string
			if unended {
				more = fmt.Sprintf(" (the header goes on past the %d bytes read)", len(head))
			}
			return "", fmt.Errorf("%w: CF_HTML: %s; %s%s", ErrClipboardFailed, errFragment, errContext, more)
		}
	}
	if !utf8.Valid(html) {
		return "", fmt.Errorf("%w: CF_HTML: the HTML is not UTF-8", ErrClipboardFailed)
	}
	return string(html), nil
}

// cfhtmlKeyword reports whether key can be a header keyword: letters only
// (a line of HTML has '<' or spaces before its first colon).
func cfhtmlKeyword(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	for _, c := range key {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// parseCFHTMLOffset reads an offset's value: decimal digits, leading
// zeros allowed, spaces around tolerated; -1 means no such part.
func parseCFHTMLOffset(value []byte) cfhtmlOffset {
	if len(value) > cfhtmlMaxValue {
		return cfhtmlOffset{reason: fmt.Sprintf("has a value of %d bytes", len(value))}
	}
	s := strings.TrimSpace(string(value))
	if s == "-1" {
		return cfhtmlOffset{reason: "-1 (none)"}
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return cfhtmlOffset{reason: fmt.Sprintf("%q, not an offset", s)}
	}
	digits := strings.TrimLeft(s, "0")
	if len(digits) > cfhtmlDigits {
		return cfhtmlOffset{reason: s + ", too large"}
	}
	v, err := strconv.ParseInt("0"+digits, 10, 64) // at most 10 digits: no overflow
	if err != nil {
		return cfhtmlOffset{reason: s + ", too large"}
	}
	return cfhtmlOffset{v: v}
}

// cfhtmlSpan checks one pair of offsets against the data (size bytes
// before any trailing NULs) and the header (header bytes) and returns the
// bytes between them.
func cfhtmlSpan(data []byte, size, header int, startName string, start cfhtmlOffset, endName string, end cfhtmlOffset) ([]byte, error) {
	switch {
	case start.reason != "":
		return nil, fmt.Errorf("%s %s", startName, start.reason)
	case end.reason != "":
		return nil, fmt.Errorf("%s %s", endName, end.reason)
	case start.v > int64(len(data)) || end.v > int64(len(data)):
		return nil, fmt.Errorf("%s %d or %s %d beyond the %d bytes of data", startName, start.v, endName, end.v, len(data))
	case start.v > end.v:
		return nil, fmt.Errorf("%s %d after %s %d", startName, start.v, endName, end.v)
	case start.v < int64(header):
		return nil, fmt.Errorf("%s %d within the %d-byte header", startName, start.v, header)
	}
	// Both are within data (so within int) and ordered: clipping the end
	// at size keeps start <= end.
	e := min(int(end.v), size)
	s := min(int(start.v), e)
	return data[s:e], nil
}
