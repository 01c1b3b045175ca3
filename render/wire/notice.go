package wire

import "unicode/utf8"

// TypeNotice is NOTICE (0x13): something for the user to read that does not end the
// session (docs/protocol.md, § NOTICE).
const TypeNotice Type = 0x13

// NOTICE levels (§ NOTICE); any other is a protocol error.
const (
	NoticeInfo    = 0
	NoticeWarning = 1
)

// MaxNoticeText is the most bytes of text a NOTICE carries (§ NOTICE).
const MaxNoticeText = 1024

// Notice is NOTICE (0x13). Text is 1 to MaxNoticeText bytes of UTF-8; encoding other
// text or a Level other than NoticeInfo and NoticeWarning gives a message receivers
// refuse.
type Notice struct {
	Level uint8
	Text  string
}

func (Notice) Type() Type { return TypeNotice }

func (m Notice) Append(b []byte) []byte {
	return append(append(header(b, TypeNotice, 1+len(m.Text)), m.Level), m.Text...)
}

func decodeNotice(b, rest, p []byte) (Message, []byte, error) {
	text := p[1:]
	switch {
	case p[0] > NoticeWarning:
		return nil, b, malformed(TypeNotice, "level %d", p[0])
	case len(text) == 0:
		return nil, b, malformed(TypeNotice, "empty text")
	case len(text) > MaxNoticeText:
		return nil, b, malformed(TypeNotice, "text of %d bytes over the %d limit", len(text), MaxNoticeText)
	case !utf8.Valid(text):
		return nil, b, malformed(TypeNotice, "text is not UTF-8")
	}
	return Notice{Level: p[0], Text: string(text)}, rest, nil
}
