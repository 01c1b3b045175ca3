package wire

import (
	"encoding/binary"
	"unicode/utf8"
)

// TypeShare is SHARE (0x8C), client to server: the session's owner creates or revokes a
// share link; TypeShares is SHARES (0x16), server to client: the owner's links and who
// is watching (docs/protocol.md, § SHARE, § SHARES).
const (
	TypeShares Type = 0x16
	TypeShare  Type = 0x8C
)

// HELLO flags of sharing: FlagShare, the session may be shared (SHARE works);
// FlagViewOnly, the client's input is ignored (a read-only connection, a view-only
// watcher).
const (
	FlagShare    = 16
	FlagViewOnly = 32
)

// SHARE operations and share modes (§ SHARE).
const (
	ShareCreate = 0
	ShareRevoke = 1

	ShareView    = 0 // watchers see the screen; their input is refused
	ShareControl = 1 // watchers' keyboard and mouse reach the remote too
)

// Bounds of SHARES (§ SHARES).
const (
	MaxShareLinks = 16
	MaxWatchers   = 64
	MaxShareText  = 512 // a link's URL, a watcher's name
	shareEntry    = 1 + 4 + 1 + 4 + 2
)

// SHARES entry kinds (§ SHARES).
const (
	shareKindLink    = 0
	shareKindWatcher = 1
)

// Share is SHARE (0x8C). Create: Mode is ShareView or ShareControl and Value the link's
// lifetime in seconds (0: the server's default). Revoke: Value is the link's ID.
type Share struct {
	Op    uint8
	Mode  uint8
	Value uint32
}

// ShareLink is one link of SHARES: ExpiresIn is seconds from when SHARES was sent; URL
// is absolute, or a path on the page's own origin.
type ShareLink struct {
	ID        uint32
	Mode      uint8
	ExpiresIn uint32
	URL       string
}

// Watcher is one watcher of SHARES: Link is the ID of the link it came by, 0 for an
// administrator watching from the admin page.
type Watcher struct {
	Link uint32
	Mode uint8
	Name string
}

// Shares is SHARES (0x16): every live link and watcher, each time either changes.
type Shares struct {
	Links    []ShareLink
	Watchers []Watcher
}

func (Share) Type() Type  { return TypeShare }
func (Shares) Type() Type { return TypeShares }

func (m Share) Append(b []byte) []byte {
	b = append(header(b, TypeShare, 6), m.Op, m.Mode)
	return binary.LittleEndian.AppendUint32(b, m.Value)
}

// Append encodes m, links first. More links or watchers than the limits, or text
// past MaxShareText, is the caller's bug and gives a message receivers refuse.
func (m Shares) Append(b []byte) []byte {
	n := 1
	for _, l := range m.Links {
		n += shareEntry + len(l.URL)
	}
	for _, w := range m.Watchers {
		n += shareEntry + len(w.Name)
	}
	b = append(header(b, TypeShares, n), byte(len(m.Links)+len(m.Watchers)))
	entry := func(kind uint8, id uint32, mode uint8, expires uint32, text string) {
		b = append(b, kind)
		b = binary.LittleEndian.AppendUint32(b, id)
		b = append(b, mode)
		b = binary.LittleEndian.AppendUint32(b, expires)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(text)))
		b = append(b, text...)
	}
	for _, l := range m.Links {
		entry(shareKindLink, l.ID, l.Mode, l.ExpiresIn, l.URL)
	}
	for _, w := range m.Watchers {
		entry(shareKindWatcher, w.Link, w.Mode, 0, w.Name)
	}
	return b
}

func decodeShare(b, rest, p []byte) (Message, []byte, error) {
	m := Share{Op: p[0], Mode: p[1], Value: binary.LittleEndian.Uint32(p[2:])}
	switch {
	case m.Op > ShareRevoke:
		return nil, b, malformed(TypeShare, "op %d", m.Op)
	case m.Mode > ShareControl:
		return nil, b, malformed(TypeShare, "mode %d", m.Mode)
	}
	return m, rest, nil
}

func decodeShares(b, rest, p []byte) (Message, []byte, error) {
	var m Shares
	n := int(p[0])
	if n > MaxShareLinks+MaxWatchers {
		return nil, b, malformed(TypeShares, "%d entries over the %d limit", n, MaxShareLinks+MaxWatchers)
	}
	p = p[1:]
	for i := range n {
		if len(p) < shareEntry {
			return nil, b, malformed(TypeShares, "entry %d beyond the %d bytes left", i, len(p))
		}
		kind, id, mode, expires := p[0], binary.LittleEndian.Uint32(p[1:]), p[5], binary.LittleEndian.Uint32(p[6:])
		tl := le16(p, 10)
		p = p[shareEntry:]
		switch {
		case kind > shareKindWatcher:
			return nil, b, malformed(TypeShares, "entry %d kind %d", i, kind)
		case mode > ShareControl:
			return nil, b, malformed(TypeShares, "entry %d mode %d", i, mode)
		case tl > MaxShareText:
			return nil, b, malformed(TypeShares, "entry %d text of %d bytes over the %d limit", i, tl, MaxShareText)
		case tl > len(p):
			return nil, b, malformed(TypeShares, "entry %d text of %d bytes beyond the %d left", i, tl, len(p))
		case kind == shareKindLink && len(m.Watchers) > 0:
			return nil, b, malformed(TypeShares, "entry %d: a link after a watcher", i)
		case kind == shareKindWatcher && expires != 0:
			return nil, b, malformed(TypeShares, "entry %d: a watcher with expiresIn %d", i, expires)
		case !utf8.Valid(p[:tl]):
			return nil, b, malformed(TypeShares, "entry %d text is not UTF-8", i)
		}
		text := string(p[:tl])
		p = p[tl:]
		if kind == shareKindLink {
			if len(m.Links) == MaxShareLinks {
				return nil, b, malformed(TypeShares, "over %d links", MaxShareLinks)
			}
			m.Links = append(m.Links, ShareLink{ID: id, Mode: mode, ExpiresIn: expires, URL: text})
		} else {
			if len(m.Watchers) == MaxWatchers {
				return nil, b, malformed(TypeShares, "over %d watchers", MaxWatchers)
			}
			m.Watchers = append(m.Watchers, Watcher{Link: id, Mode: mode, Name: text})
		}
	}
	// Bytes after the entries are ignored (§ Framing: fields appended within a version).
	return m, rest, nil
}
