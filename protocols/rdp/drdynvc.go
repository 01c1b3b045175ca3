package rdp

import "fmt"

// Dynamic virtual channels: the client side of the Dynamic Channel Virtual
// Channel Extension (MS-RDPEDYC), a DVC client manager over the static
// virtual channel "drdynvc". The server announces its version
// (Capabilities), then asks the client to open channels by listener name
// (Create Request); the client accepts those it has a listener for and
// refuses the others. Messages on an open channel are cut into Data First
// and Data PDUs of at most 1,600 bytes; either side may close a channel.
// The PDUs are in drdynvc_pdu.go.
//
// The client supports version 2: it takes priority classes (and ignores
// them, as the spec allows: there is no processing specified for them) but
// not the compressed data of version 3 (RDP 8.0 bulk compression in
// RDP_SEGMENTED_DATA, MS-RDPEGFX 2.2.5), so it never answers 3 and refuses
// compressed PDUs.
//
// Listeners: "AUDIO_PLAYBACK_DVC" (audio output, MS-RDPEA 2.1) when
// Config.Audio is set, running the rdpsnd state machine of rdpsnd.go, and
// Display Control when Config.DisplayControl is set.
// "AUDIO_PLAYBACK_LOSSY_DVC" is the same over UDP (MS-RDPEUDP), which this
// client does not do, so it has no listener.
//
// Servers seen: xrdp 0.9 sends DYNVC_CAPS_VERSION2 with all four
// PriorityCharges 0 once the connection is finalized, refuses a client
// version other than 2 or 3, and then asks to open
// "Microsoft::Windows::RDS::DisplayControl" (MS-RDPEDISP, unless
// enable_dynamic_resizing=false), which this client takes with
// Config.DisplayControl (dispctl.go) and refuses otherwise; xrdp logs a
// refusal as an error and carries on. xrdp sends sound on the static
// channel rdpsnd only.

// dynvcVersion is the highest DVC version the client supports (see above).
const dynvcVersion = 2

// dvcListener is a client-side DVC listener (MS-RDPEDYC 3.2.3.2.1): a
// server's Create Request that names it opens a channel, and open returns
// the handler for the channel's messages.
type dvcListener struct {
	name  string
	limit int // the longest message the handler takes (at most maxDynvcMessage)
	open  func(ch *dvcChannel) dvcHandler
}

// dvcHandler receives the messages of one open DVC, on Run's goroutine.
type dvcHandler interface {
	// handle receives one complete message; data is only valid during
	// the call. An error ends the session, as for a static channel.
	handle(msg []byte) error
	// closed: the channel closed (either side); no more messages come.
	closed()
}

// dvcChannel is one open dynamic virtual channel.
type dvcChannel struct {
	m     *drdynvc
	id    uint32 // ChannelId
	name  string
	pri   uint8 // priority class from the Create Request (version 2)
	limit int
	h     dvcHandler

	// Reassembly of a fragmented message (3.1.5.2.3).
	buf        []byte
	total      int
	assembling bool
}

// send sends msg on the channel (a sndTransport for rdpsnd).
func (ch *dvcChannel) send(msg []byte) error { return ch.m.sendData(ch.id, msg) }

// drdynvc is the client's DVC manager. It is used on Run's goroutine only
// (and during Dial's finalization, before Run).
type drdynvc struct {
	c         *Client
	ch        int    // index of "drdynvc" in c.channels
	version   uint16 // negotiated; 0 until the server's Capabilities
	charges   [4]uint16
	listeners []dvcListener
	open      map[uint32]*dvcChannel
	out       []byte // scratch for the PDUs the client sends

	// refused: the names of the first channels refused, for tests.
	refused []string
}

// maxRefusedKept bounds drdynvc.refused.
const maxRefusedKept = 16

// initDrdynvc requests the static channel "drdynvc" with the given
// listeners; it runs before the connection sequence, only when some
// feature needs a DVC (Config.Audio, Config.DisplayControl).
func (c *Client) initDrdynvc(listeners ...dvcListener) {
	m := &drdynvc{c: c, ch: len(c.channels), listeners: listeners, open: map[uint32]*dvcChannel{}}
	c.addChannelLimit("drdynvc", channelOptionEncryptRDP|channelOptionCompressRDP, maxDrdynvcPDU, m.handle)
	c.dvc = m
}

// handle receives one message of the static channel: one DVC PDU.
func (m *drdynvc) handle(msg []byte) error {
	if len(msg) == 0 {
		return protoErr("DVC PDU", "MS-RDPEDYC 2.2", "empty message")
	}
	h, body := parseDynvcHeader(msg[0]), msg[1:]
	if h.cmd != dynvcCapabilities && m.version == 0 {
		// 2.2.1: the server MUST send its capabilities before
		// creating a channel.
		return protoErr(dynvcPDUName(h.cmd), "MS-RDPEDYC 2.2.1", "before the Capabilities Request")
	}
	switch h.cmd {
	case dynvcCapabilities:
		return m.handleCaps(h, body)
	case dynvcCreate:
		return m.handleCreate(h, body)
	case dynvcDataFirst:
		p, err := parseDynvcDataFirst(h, body)
		if err != nil {
			return err
		}
		return m.handleDataFirst(p)
	case dynvcData:
		p, err := parseDynvcData(h, body)
		if err != nil {
			return err
		}
		return m.handleData(p)
	case dynvcClose:
		id, err := parseDynvcClose(h, body)
		if err != nil {
			return err
		}
		return m.handleClose(id)
	case dynvcDataFirstCompressed, dynvcDataCompressed:
		return protoErr(dynvcPDUName(h.cmd), "MS-RDPEDYC 2.2.3.3", "compressed data, but version %d was negotiated (compression needs version 3)", m.version)
	case dynvcSoftSyncRequest:
		return protoErr(dynvcPDUName(h.cmd), "MS-RDPEDYC 2.2.5.1", "no multitransport connection was set up")
	}
	return protoErr("DVC PDU", "MS-RDPEDYC 2.2", "unknown Cmd %#x", h.cmd)
}

// handleCaps answers the Capabilities Request with the highest version the
// client supports that the server does too (3.2.3.1): the server adjusts
// to the client's version, and a client MUST answer at least 2 to take
// priority classes, which it does (they change nothing here).
func (m *drdynvc) handleCaps(h dynvcHeader, body []byte) error {
	caps, err := parseDynvcCaps(h, body)
	if err != nil {
		return err
	}
	m.version = min(caps.version, dynvcVersion)
	m.charges = caps.charges
	m.c.log.Debug("rdp: drdynvc capabilities", "serverVersion", caps.version, "version", m.version, "priorityCharges", caps.charges)
	return m.sendPDU(appendDynvcCapsRsp(m.out[:0], m.version))
}

// handleCreate opens a channel for a listener of that name or refuses it
// (3.2.3.2.1). A refused ChannelId is not kept: the server may reuse it.
func (m *drdynvc) handleCreate(h dynvcHeader, body []byte) error {
	req, err := parseDynvcCreateReq(h, body)
	if err != nil {
		return err
	}
	if _, dup := m.open[req.channelID]; dup {
		return protoErr("DVC Create Request PDU", "MS-RDPEDYC 2.2.2.1", "ChannelId %d (%q) is already open", req.channelID, req.name)
	}
	var l *dvcListener
	for i := range m.listeners {
		if m.listeners[i].name == req.name {
			l = &m.listeners[i]
		}
	}
	if l == nil {
		m.c.log.Debug("rdp: drdynvc channel refused", "name", req.name, "channelId", req.channelID)
		if len(m.refused) < maxRefusedKept {
			m.refused = append(m.refused, req.name)
		}
		return m.sendPDU(appendDynvcCreateRsp(m.out[:0], req.channelID, hresultEFail))
	}
	ch := &dvcChannel{m: m, id: req.channelID, name: req.name, pri: req.pri, limit: min(l.limit, maxDynvcMessage)}
	if err := m.sendPDU(appendDynvcCreateRsp(m.out[:0], req.channelID, hresultOK)); err != nil {
		return err
	}
	m.open[req.channelID] = ch
	ch.h = l.open(ch)
	m.c.log.Debug("rdp: drdynvc channel open", "name", req.name, "channelId", req.channelID, "priority", req.pri)
	return nil
}

// channel returns the open channel id, or nil for data on a channel that
// is not open: the client may have closed it while the server was
// sending, so such data is dropped.
func (m *drdynvc) channel(id uint32, pdu string) *dvcChannel {
	ch := m.open[id]
	if ch == nil {
		m.c.log.Debug("rdp: drdynvc data on a channel that is not open", "pdu", pdu, "channelId", id)
	}
	return ch
}

// handleDataFirst starts a fragmented message (3.1.5.2.3): its announced
// Length is checked against the channel's limit before anything is
// buffered. A Data First that holds the whole message (2.2.3.1: when the
// header and Length fit in 1,600 bytes) is delivered at once.
func (m *drdynvc) handleDataFirst(p dynvcDataPDU) error {
	const pdu, sec = "DVC Data First PDU", "MS-RDPEDYC 2.2.3.1"
	ch := m.channel(p.channelID, pdu)
	if ch == nil {
		return nil
	}
	if p.length > uint32(ch.limit) {
		return protoErr(pdu, sec, "channel %q: a %d-byte message, longer than the %d bytes it allows", ch.name, p.length, ch.limit)
	}
	if ch.assembling {
		return protoErr(pdu, sec, "channel %q: a new message while %d of %d bytes of the last one have come", ch.name, len(ch.buf), ch.total)
	}
	if len(p.data) == int(p.length) {
		return ch.h.handle(p.data)
	}
	ch.buf, ch.total, ch.assembling = append(ch.buf[:0], p.data...), int(p.length), true
	return nil
}

// handleData continues a fragmented message, or is a whole message when
// none is being reassembled (1.3.3.2.2).
func (m *drdynvc) handleData(p dynvcDataPDU) error {
	const pdu, sec = "DVC Data PDU", "MS-RDPEDYC 2.2.3.2"
	ch := m.channel(p.channelID, pdu)
	if ch == nil {
		return nil
	}
	if !ch.assembling {
		if len(p.data) > ch.limit {
			return protoErr(pdu, sec, "channel %q: a %d-byte message, longer than the %d bytes it allows", ch.name, len(p.data), ch.limit)
		}
		return ch.h.handle(p.data)
	}
	if len(p.data) > ch.total-len(ch.buf) {
		return protoErr(pdu, sec, "channel %q: %d more bytes with %d of the announced %d received", ch.name, len(p.data), len(ch.buf), ch.total)
	}
	ch.buf = append(ch.buf, p.data...)
	if len(ch.buf) < ch.total {
		return nil
	}
	ch.assembling = false
	return ch.h.handle(ch.buf)
}

// handleClose closes a channel at the server's request and confirms it
// with a DYNVC_CLOSE of its own, as the client MAY (3.2.5.2); a close for
// a channel that is not open MUST be ignored and is not answered.
func (m *drdynvc) handleClose(id uint32) error {
	ch := m.open[id]
	if ch == nil {
		m.c.log.Debug("rdp: drdynvc close for a channel that is not open", "channelId", id)
		return nil
	}
	delete(m.open, id)
	ch.h.closed()
	m.c.log.Debug("rdp: drdynvc channel closed by the server", "name", ch.name, "channelId", id)
	return m.sendPDU(appendDynvcClose(m.out[:0], id))
}

// closeChannel closes a channel from the client's side (3.2.5.2): an
// unsolicited DYNVC_CLOSE, which the server does not answer.
func (m *drdynvc) closeChannel(id uint32) error {
	ch := m.open[id]
	if ch == nil {
		return nil
	}
	delete(m.open, id)
	ch.h.closed()
	return m.sendPDU(appendDynvcClose(m.out[:0], id))
}

// sendData sends one message on channel id: a single DYNVC_DATA up to
// 1,590 bytes, else a DYNVC_DATA_FIRST with the total Length and then
// DYNVC_DATA PDUs, none longer than 1,600 bytes (3.1.5.1.1, 3.1.5.1.2).
func (m *drdynvc) sendData(id uint32, msg []byte) error {
	if len(msg) > maxDynvcMessage {
		return fmt.Errorf("rdp: DVC message of %d bytes too long", len(msg))
	}
	if len(msg) <= dynvcMaxSingleData {
		return m.sendPDU(appendDynvcData(m.out[:0], id, msg))
	}
	idSize := dynvcUintSize(dynvcUintCode(id))
	// A message of a few bytes over 1,590 fits in the Data First alone
	// (2.2.3.1: its data is then the whole Length).
	n := min(len(msg), dynvcMaxPDU-1-idSize-dynvcUintSize(dynvcUintCode(uint32(len(msg)))))
	if err := m.sendPDU(appendDynvcDataFirst(m.out[:0], id, uint32(len(msg)), msg[:n])); err != nil {
		return err
	}
	for off := n; off < len(msg); {
		n := min(len(msg)-off, dynvcMaxPDU-1-idSize)
		if err := m.sendPDU(appendDynvcData(m.out[:0], id, msg[off:off+n])); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// sendPDU sends one DVC PDU as one message on the static channel and
// keeps pdu's buffer as scratch for the next.
func (m *drdynvc) sendPDU(pdu []byte) error {
	m.out = pdu
	return m.c.sendChannel(m.c.channels[m.ch].ID, pdu)
}
