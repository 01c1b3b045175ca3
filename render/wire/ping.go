package wire

import "encoding/binary"

// TypePing is PING (0x8B), client to server, and TypePong its answer PONG (0x15): the
// client's round trip through racgate, behind whatever racgate has queued for it
// (docs/protocol.md, § PING).
const (
	TypePong Type = 0x15
	TypePing Type = 0x8B
)

// Ping is PING (0x8B): Token is the client's, echoed in the PONG.
type Ping struct{ Token uint32 }

// Pong is PONG (0x15): the Token of the PING it answers.
type Pong struct{ Token uint32 }

func (Ping) Type() Type { return TypePing }
func (Pong) Type() Type { return TypePong }

func (m Ping) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypePing, 4), m.Token)
}

func (m Pong) Append(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(header(b, TypePong, 4), m.Token)
}
