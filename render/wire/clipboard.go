package wire

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// CLIPBOARD_CONTENT carries a clipboard in several formats at once, each named by its
// MIME type (docs/protocol.md § 0x14 CLIPBOARD_CONTENT, § 0x8A CLIPBOARD_CONTENT). Text
// alone still goes as CLIPBOARD, which every client knows.
const (
	TypeClipboardContent       Type = 0x14
	TypeClientClipboardContent Type = 0x8A
)

// The formats of CLIPBOARD_CONTENT; a receiver skips the others.
const (
	MIMEText = "text/plain"
	MIMEHTML = "text/html"
	MIMEPNG  = "image/png"
)

// MaxClipboardItems is the most formats one CLIPBOARD_CONTENT holds.
const MaxClipboardItems = 8

// pngSignature starts every PNG file (PNG spec § 5.2).
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// ClipboardContent is CLIPBOARD_CONTENT (0x14), server to client: the remote clipboard.
// Text and HTML are UTF-8 of at most MaxClipboard bytes each, PNG a PNG file; an empty
// field is not sent. Content with no field, or with a field outside those bounds, makes
// a message receivers refuse; the whole message is bounded by MaxServerMessage.
type ClipboardContent struct {
	Text, HTML string
	PNG        []byte
}

// ClientClipboardContent is CLIPBOARD_CONTENT (0x8A), client to server: the browser's
// clipboard, with ClipboardContent's fields and bounds within MaxClientMessage.
type ClientClipboardContent ClipboardContent

func (ClipboardContent) Type() Type       { return TypeClipboardContent }
func (ClientClipboardContent) Type() Type { return TypeClientClipboardContent }

func (m ClipboardContent) Append(b []byte) []byte {
	return appendClipboardContent(b, TypeClipboardContent, m)
}
func (m ClientClipboardContent) Append(b []byte) []byte {
	return appendClipboardContent(b, TypeClientClipboardContent, ClipboardContent(m))
}

// Size is the framed message's length, to check against the message limits before
// building it.
func (m ClipboardContent) Size() int {
	n := headerLen + 1
	if m.Text != "" {
		n += 1 + len(MIMEText) + 4 + len(m.Text)
	}
	if m.HTML != "" {
		n += 1 + len(MIMEHTML) + 4 + len(m.HTML)
	}
	if len(m.PNG) > 0 {
		n += 1 + len(MIMEPNG) + 4 + len(m.PNG)
	}
	return n
}

type clipItem struct {
	mime string
	data []byte
}

func (m ClipboardContent) items() []clipItem {
	var items []clipItem
	if m.Text != "" {
		items = append(items, clipItem{MIMEText, []byte(m.Text)})
	}
	if m.HTML != "" {
		items = append(items, clipItem{MIMEHTML, []byte(m.HTML)})
	}
	if len(m.PNG) > 0 {
		items = append(items, clipItem{MIMEPNG, m.PNG})
	}
	return items
}

func appendClipboardContent(b []byte, t Type, m ClipboardContent) []byte {
	items := m.items()
	b = append(header(b, t, m.Size()-headerLen), byte(len(items)))
	for _, it := range items {
		b = append(append(b, byte(len(it.mime))), it.mime...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(it.data)))
		b = append(b, it.data...)
	}
	return b
}

// decodeClipboardContent reads § CLIPBOARD_CONTENT: count, then count items of
// mimeLength, mime, dataLength, data. Each known format may come once; unknown ones are
// skipped. The fields alias p.
func decodeClipboardContent(b, rest, p []byte, t Type) (Message, []byte, error) {
	n := int(p[0])
	if n < 1 || n > MaxClipboardItems {
		return nil, b, malformed(t, "%d formats, want 1-%d", n, MaxClipboardItems)
	}
	var m ClipboardContent
	seen := map[string]bool{}
	p = p[1:]
	for i := range n {
		if len(p) < 1 || len(p) < 1+int(p[0])+4 {
			return nil, b, malformed(t, "format %d beyond the payload", i)
		}
		mime := string(p[1 : 1+p[0]])
		p = p[1+len(mime):]
		size := binary.LittleEndian.Uint32(p)
		if uint64(size) > uint64(len(p)-4) {
			return nil, b, malformed(t, "%s of %d bytes beyond the %d left", mime, size, len(p)-4)
		}
		data := p[4 : 4+int(size)]
		p = p[4+int(size):]
		if mime == "" || seen[mime] {
			return nil, b, malformed(t, "format %d: empty or repeated MIME type %q", i, mime)
		}
		seen[mime] = true
		switch mime {
		case MIMEText, MIMEHTML:
			if len(data) > MaxClipboard || !utf8.Valid(data) {
				return nil, b, malformed(t, "%s: %d bytes, not UTF-8 or over the %d limit", mime, len(data), MaxClipboard)
			}
			if mime == MIMEText {
				m.Text = string(data)
			} else {
				m.HTML = string(data)
			}
		case MIMEPNG:
			if !bytes.HasPrefix(data, pngSignature) {
				return nil, b, malformed(t, "image/png data is not a PNG file")
			}
			m.PNG = data
		}
	}
	if t == TypeClientClipboardContent {
		return ClientClipboardContent(m), rest, nil
	}
	return m, rest, nil
}

// ValidText is s as a text field may carry it: valid UTF-8 ("?" for each run of bad
// bytes) of at most n bytes, cut at a character boundary.
func ValidText(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
