package rdp

import (
	"encoding/binary"
	"fmt"
)

// Static virtual channels (MS-RDPBCGR 1.3.3, 2.2.1.3.4 CHANNEL_DEF): named
// in the Client Network Data, joined after Attach User, and carrying
// Virtual Channel PDUs (2.2.6.1) on their own MCS channel, each message cut
// into chunks of at most CHANNEL_CHUNK_LENGTH bytes with a CHANNEL_PDU_HEADER.
// Channels register with addChannel before Dial's connection sequence:
// audio output (rdpsnd.go, with rdpdr.go and drdynvc.go) when Config.Audio
// is set, the clipboard (cliprdr.go) when Config.Clipboard is.

// Channel options (2.2.1.3.4.1).
const (
	channelOptionInitialized  = 0x80000000
	channelOptionEncryptRDP   = 0x40000000
	channelOptionCompressRDP  = 0x00800000
	channelOptionShowProtocol = 0x00200000
)

// CHANNEL_PDU_HEADER flags (2.2.6.1.1).
const (
	channelFlagFirst        = 0x00000001
	channelFlagLast         = 0x00000002
	channelFlagShowProtocol = 0x00000010
	channelPacketCompressed = 0x00200000
)

// channelChunkLength is CHANNEL_CHUNK_LENGTH (2.2.6.1), the chunk size we
// announce in the Virtual Channel Capability Set.
const channelChunkLength = 1600

// maxChannelMessage bounds one reassembled virtual channel message: the
// clipboard's largest image (maxClipboardImageBytes) with its header.
const maxChannelMessage = 64<<20 + 1024

// staticChannel is one requested static virtual channel.
type staticChannel struct {
	Name    string // up to 7 ASCII characters, e.g. "cliprdr"
	Options uint32
	ID      uint16 // MCS channel ID assigned by the server (2.2.1.4.4)
	// handle receives each complete message, on Run's goroutine; data is
	// only valid during the call.
	handle func(data []byte) error
	limit  int    // the longest message accepted
	buf    []byte // reassembly of a chunked message
	total  int    // its announced length
	// oversize, when set, is told of a message longer than limit (given its
	// first chunk, for the header, and its length), which is then skipped
	// chunk by chunk instead of ending the connection.
	oversize func(first []byte, total int) error
	// msgLimit, when set, is the limit for the message whose first chunk
	// is given, at most limit: a channel whose messages differ in what
	// they may hold refuses one at its first chunk, not once buffered.
	msgLimit func(first []byte) int
	skip     int // bytes of a skipped message still to come
}

// addChannel requests a static virtual channel; call it before the
// connection sequence sends the Client Network Data.
func (c *Client) addChannel(name string, options uint32, handle func([]byte) error) {
	c.addChannelLimit(name, options, maxChannelMessage, handle)
}

// addChannelLimit is addChannel for a channel whose messages are at most
// limit bytes long (at most maxChannelMessage): a longer one is refused at
// its first chunk, before anything is buffered.
func (c *Client) addChannelLimit(name string, options uint32, limit int, handle func([]byte) error) {
	c.channels = append(c.channels, staticChannel{Name: name, Options: options | channelOptionInitialized, handle: handle, limit: min(limit, maxChannelMessage)})
}

// handleChannelData receives one Virtual Channel PDU (2.2.6.1) for MCS
// channel ch and hands complete messages to the channel's handler.
func (c *Client) handleChannelData(ch uint16, data []byte) error {
	const pdu, sec = "Virtual Channel PDU", "MS-RDPBCGR 2.2.6.1"
	var vc *staticChannel
	for i := range c.channels {
		if c.channels[i].ID == ch {
			vc = &c.channels[i]
		}
	}
	if vc == nil {
		c.log.Debug("rdp: data on unrequested channel", "channel", ch, "bytes", len(data))
		return nil
	}
	d := decoder{b: data}
	total, flags := int(d.u32()), d.u32()
	chunk := d.rest()
	if d.err != nil {
		return protoErr(pdu, sec, "truncated header on channel %s", vc.Name)
	}
	if flags&channelPacketCompressed != 0 {
		return protoErr(pdu, sec, "compressed data on channel %s, but no compression was advertised", vc.Name)
	}
	if len(chunk) > total {
		return protoErr(pdu, sec, "channel %s: chunk of %d bytes of a %d-byte message", vc.Name, len(chunk), total)
	}
	if flags&channelFlagFirst == 0 && vc.skip > 0 {
		// The rest of a message too long to take: counted, not kept.
		if len(chunk) > vc.skip {
			return protoErr(pdu, sec, "channel %s: chunks exceed the announced %d bytes", vc.Name, total)
		}
		vc.skip -= len(chunk)
		if flags&channelFlagLast != 0 && vc.skip != 0 {
			return protoErr(pdu, sec, "channel %s: a skipped message ended %d bytes short", vc.Name, vc.skip)
		}
		return nil
	}
	vc.skip = 0
	limit := vc.limit
	if vc.msgLimit != nil && flags&channelFlagFirst != 0 {
		limit = min(limit, vc.msgLimit(chunk))
	}
	if total > limit {
		if vc.oversize == nil || flags&channelFlagFirst == 0 {
			return protoErr(pdu, sec, "channel %s: a %d-byte message, longer than the %d bytes it allows", vc.Name, total, limit)
		}
		vc.buf, vc.total = vc.buf[:0], 0
		if flags&channelFlagLast == 0 {
			vc.skip = total - len(chunk)
		}
		return vc.oversize(chunk, total)
	}
	if flags&channelFlagFirst != 0 {
		vc.buf, vc.total = vc.buf[:0], total
	} else if vc.total == 0 {
		return protoErr(pdu, sec, "channel %s: continuation without a first chunk", vc.Name)
	}
	if flags&channelFlagFirst != 0 && flags&channelFlagLast != 0 {
		vc.total = 0
		return vc.handle(chunk)
	}
	if len(vc.buf)+len(chunk) > vc.total {
		return protoErr(pdu, sec, "channel %s: chunks exceed the announced %d bytes", vc.Name, vc.total)
	}
	vc.buf = append(vc.buf, chunk...)
	if flags&channelFlagLast == 0 {
		return nil
	}
	if len(vc.buf) != vc.total {
		return protoErr(pdu, sec, "channel %s: %d of %d bytes", vc.Name, len(vc.buf), vc.total)
	}
	vc.total = 0
	return vc.handle(vc.buf)
}

// sendChannel sends one message on the static channel with MCS ID id, cut
// into chunks (2.2.6.1). It may be called from any goroutine.
func (c *Client) sendChannel(id uint16, msg []byte) error {
	if len(msg) > maxChannelMessage {
		return fmt.Errorf("rdp: channel message of %d bytes too long", len(msg))
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for off := 0; off == 0 || off < len(msg); {
		n := min(len(msg)-off, channelChunkLength)
		flags := uint32(0)
		if off == 0 {
			flags |= channelFlagFirst
		}
		if off+n == len(msg) {
			flags |= channelFlagLast
		}
		b := appendMCSSendDataRequest(c.wbuf[:0], c.userID, id)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(msg)))
		b = binary.LittleEndian.AppendUint32(b, flags)
		b = append(b, msg[off:off+n]...)
		c.wbuf = b
		if err := finishMCSSendData(b, 0); err != nil {
			return err
		}
		if err := c.writeLocked(b); err != nil {
			return err
		}
		off += n
		if len(msg) == 0 {
			break
		}
	}
	return nil
}
