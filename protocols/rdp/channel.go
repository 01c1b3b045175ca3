package rdp

// Static virtual channels (MS-RDPBCGR 1.3.3, 2.2.1.3.4 CHANNEL_DEF). Channels
// are requested in the Client Network Data, joined after Attach User, and
// carry Virtual Channel PDUs (2.2.6.1) on their own MCS channel. Clipboard
// (cliprdr) and audio (rdpsnd) will register here; none is requested yet.

// Channel options (2.2.1.3.4.1).
const (
	channelOptionInitialized  = 0x80000000
	channelOptionEncryptRDP   = 0x40000000
	channelOptionCompressRDP  = 0x00800000
	channelOptionShowProtocol = 0x00200000
)

// staticChannel is one requested static virtual channel.
type staticChannel struct {
	Name    string // up to 7 ASCII characters, e.g. "cliprdr"
	Options uint32
	ID      uint16 // MCS channel ID assigned by the server (2.2.1.4.4)
}

// Channel PDU header flags (2.2.6.1.1 CHANNEL_PDU_HEADER).
const (
	channelFlagFirst = 0x01
	channelFlagLast  = 0x02
)
