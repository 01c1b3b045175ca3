package recording

import (
	"encoding/binary"
	"time"
)

// Magic starts every desktop recording (docs/recording.md § File).
const Magic = "RACGATE-RECORDING\n"

// Version is the desktop recording format this package writes. Version 4 adds delta key
// records, drawn over the picture of the full key frame before them. Version 3 adds
// PREDICT images, whose model starts anew at every key record as the deflate stream does.
// Version 2 images are pieces of a deflate stream that starts anew at every key record
// (ZRGB, ZPALETTE); version 1's each stood alone (ZRGB1, ZPALETTE1). A player that
// starts both anew at every key record plays all three.
const Version = 4

// MinVersion is the oldest format this package reads.
const MinVersion = 1

// Record kinds (§ Records).
const (
	KindOutput = 1 // racgate.v1 server messages: one websocket message's worth
	KindKey    = 2 // the same, beginning a key frame: RESIZE, then the whole screen; a new deflate stream
	KindInput  = 3 // racgate.v1 client messages (include-input only)
	KindEnd    = 4 // the session ended: JSON {"reason": ...}
	// KindDelta begins a key frame drawn over the picture of the last KindKey before it
	// (its records up to its FRAME): what differs from that picture, and no RESIZE; a new
	// deflate stream and PREDICT model, as at a KindKey.
	KindDelta = 5
)

// recordHeader is the size of a record's kind, time and length.
const recordHeader = 9

// MaxRecord bounds a record's payload: a websocket message is at most 4 MiB either way,
// and a reader refuses a larger length before it allocates.
const MaxRecord = 4 << 20

// maxMeta bounds the header's JSON.
const maxMeta = 64 << 10

// Meta describes a recording; desktop files hold it as JSON after the magic, asciicast
// files under the header's "racgate" key.
type Meta struct {
	Version  int       `json:"version"`
	Protocol string    `json:"protocol"`
	User     string    `json:"user"`
	Endpoint string    `json:"endpoint"`
	Provider string    `json:"provider,omitempty"`
	Instance string    `json:"instance,omitempty"`
	Session  string    `json:"session,omitempty"` // the connection's ID in logs and the audit trail
	Start    time.Time `json:"start"`
	// KeyFrameInterval is how often a desktop recording has a key frame, in ms.
	KeyFrameInterval int64 `json:"keyFrameInterval,omitempty"`
	Input            bool  `json:"input"` // client messages (keystrokes) are recorded
}

func appendRecord(b []byte, kind byte, at time.Duration, payload []byte) []byte {
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint32(b, millis(at))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// millis is at in whole milliseconds, held at the u32 limit (49 days).
func millis(at time.Duration) uint32 {
	ms := at.Milliseconds()
	switch {
	case ms < 0:
		return 0
	case ms > 0xffffffff:
		return 0xffffffff
	}
	return uint32(ms)
}
