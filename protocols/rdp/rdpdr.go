package rdp

import (
	"crypto/rand"
	"encoding/binary"
)

// Device redirection: the client side of the File System Virtual Channel
// Extension (MS-RDPEFS 3.2) over the static channel "rdpdr". Without
// Config.Drive it announces no device, just enough for the server to
// consider the channel up: Windows servers send no sound on rdpsnd unless
// the client has joined rdpdr (MS-RDPEA 2.1, product behavior note 1), so
// the client requests it with Config.Audio. With Config.Drive it announces
// one file system device and answers the server's requests for it
// (drive.go). The PDUs are in rdpdr_pdu.go and drive_pdu.go.
//
// The initialization (3.1.3): the server announces itself (Server Announce
// Request); the client answers with its version and ClientId (Client
// Announce Reply) and its name (Client Name Request). The server sends its
// capabilities (Server Core Capability Request), answered with the
// client's (Client Core Capability Response), and confirms the ClientId
// (Server Client ID Confirm), after which the client announces its
// devices (Client Device List Announce Request): none, or the drive where
// the server does not send Server User Logged On. Once the user has
// logged on (Server User Logged On) the client announces the devices that
// wait for a logon: the drive, if any. A device I/O request names the
// drive, or a device the client never announced, which is answered with
// STATUS_UNSUCCESSFUL.
//
// Servers seen: xrdp 0.9 (chansrv) announces version 1.12 with a ClientId,
// and on the Client Name Request sends Server User Logged On first, then
// its capabilities (general, printer, port, drive and smart card sets) and
// the Client ID Confirm: the client answers each PDU as it comes, so the
// order does not matter to it. chansrv takes a Device List Announce with
// no devices and mounts nothing.

// maxRdpdrMessage bounds one rdpdr message: the PDUs the client takes are
// small, and a write request (which it refuses) is bounded by this too.
const maxRdpdrMessage = 1 << 20

// rdpdr is the client's rdpdr state. It is used on Run's goroutine only
// (and during Dial's finalization, before Run).
type rdpdr struct {
	c  *Client
	ch int // index of "rdpdr" in c.channels

	clientID uint32
	// announced: the Client Announce Reply was sent, with clientID.
	announced bool
	// confirmed: the Server Client ID Confirm came; devices announced.
	confirmed bool
	loggedOn  bool
	server    rdpdrServerCaps
	out       []byte // scratch for the PDUs the client sends
	drive     *drive // Config.Drive's state; nil: no drive
	// driveAnnounced: the drive was announced since the last Server Announce.
	driveAnnounced bool
}

// initRdpdr requests the static channel "rdpdr" (MS-RDPEFS 2.1) with the
// options usual for it, INITIALIZED | COMPRESS_RDP: the server ignores
// INITIALIZED (MS-RDPBCGR 2.2.1.3.4.1), and COMPRESS_RDP compresses the
// channel only when RDP data is compressed, which this client never asks
// for.
func (c *Client) initRdpdr() {
	r := &rdpdr{c: c, ch: len(c.channels)}
	if c.cfg.Drive != nil {
		r.drive = newDrive(c.cfg.Drive)
		r.drive.log = c.log
	}
	c.addChannelLimit("rdpdr", channelOptionCompressRDP, maxRdpdrMessage, r.handle)
	c.rdpdr = r
}

// handle receives one complete rdpdr message (3.2.5.1).
func (r *rdpdr) handle(msg []byte) error {
	h, body, err := parseRdpdrHeader(msg)
	if err != nil {
		return err
	}
	if h.component != rdpdrCtypCore {
		// Printer PDUs (RDPDR_CTYP_PRN, MS-RDPEPC) concern printers
		// the client did not announce; the packet error rules
		// (3.1.5.2) let an endpoint terminate the channel on anything
		// unexpected, which for a static channel means ignoring it.
		r.c.log.Debug("rdp: rdpdr PDU ignored", "component", h.component, "packetId", h.packetID)
		return nil
	}
	switch h.packetID {
	case pakidCoreServerAnnounce:
		return r.handleServerAnnounce(body)
	case pakidCoreServerCapability:
		sc, err := parseServerCoreCapabilityRequest(body)
		if err != nil {
			return err
		}
		r.server = sc
		r.c.log.Debug("rdp: rdpdr server capabilities", "types", sc.types, "general", sc.general)
		// 3.2.5.1.8: at once, with the client's capabilities.
		return r.send(appendClientCoreCapabilityResponse(r.out[:0], rdpdrVersionMinor, r.drive != nil))
	case pakidCoreClientIDConfirm:
		return r.handleClientIDConfirm(body)
	case pakidCoreUserLoggedOn:
		if len(body) != 0 {
			return protoErr(rdpdrPDUName(h.packetID), "MS-RDPEFS 2.2.2.5", "%d bytes after the header", len(body))
		}
		r.loggedOn = true
		// Announce the devices that wait for a logon (2.2.2.5): the
		// drive, if there is one and it was not announced yet.
		return r.announceDevices()
	case pakidCoreDeviceReply:
		d := decoder{b: body}
		id, result := d.u32(), d.u32()
		if d.err != nil {
			return protoErr("Server Device Announce Response", "MS-RDPEFS 2.2.2.1", "%d bytes", len(body))
		}
		r.c.log.Debug("rdp: rdpdr device announce response", "deviceId", id, "resultCode", result)
		if r.drive != nil && id == driveDeviceID && result != statusSuccess {
			r.c.log.Warn("rdp: the server refused the redirected drive", "resultCode", result)
		}
		return nil
	case pakidCoreDeviceIORequest:
		req, err := parseDeviceIORequest(body)
		if err != nil {
			return err
		}
		if r.drive != nil && r.driveAnnounced && req.deviceID == driveDeviceID {
			resp, err := r.drive.handle(r.out[:0], driveIORequest{deviceIORequest: req, body: body[deviceIORequestSize:]})
			if err != nil || resp == nil {
				return err
			}
			r.c.log.Debug("rdp: rdpdr drive request", "fileId", req.fileID, "majorFunction", req.majorFunction,
				"minorFunction", req.minorFunction, "ioStatus", binary.LittleEndian.Uint32(resp[12:]))
			return r.send(resp)
		}
		r.c.log.Debug("rdp: rdpdr I/O request for a device never announced", "deviceId", req.deviceID, "majorFunction", req.majorFunction)
		return r.send(appendDeviceIOFailure(r.out[:0], req, ntStatusUnsuccessful))
	}
	r.c.log.Debug("rdp: rdpdr PDU ignored", "packetId", h.packetID, "bytes", len(body))
	return nil
}

// handleServerAnnounce answers a Server Announce Request with the Client
// Announce Reply and the Client Name Request (3.2.5.1.3, 2.2.2.4). From
// server version 1.12 the ClientId is the server's, else a random one. A
// later Server Announce starts the sequence over (3.2.5.1.2).
func (r *rdpdr) handleServerAnnounce(body []byte) error {
	v, err := parseRdpdrVersions(pakidCoreServerAnnounce, "MS-RDPEFS 2.2.2.2", body)
	if err != nil {
		return err
	}
	r.clientID = v.clientID
	if v.versionMinor < rdpdrMinorVersion12 {
		var id [4]byte
		rand.Read(id[:])
		r.clientID = binary.LittleEndian.Uint32(id[:])
	}
	r.announced, r.confirmed, r.loggedOn, r.driveAnnounced = true, false, false, false
	if r.drive != nil {
		r.drive.closeAll() // a new sequence: the server forgot the old handles
	}
	if err := r.send(appendClientAnnounceReply(r.out[:0], rdpdrVersionMinor, r.clientID)); err != nil {
		return err
	}
	return r.send(appendClientNameRequest(r.out[:0], r.c.cfg.ClientName))
}

// handleClientIDConfirm checks the confirmed ClientId (3.2.5.1.6) and
// announces the client's devices, none, the first time (3.1.3).
func (r *rdpdr) handleClientIDConfirm(body []byte) error {
	const sec = "MS-RDPEFS 2.2.2.6"
	v, err := parseRdpdrVersions(pakidCoreClientIDConfirm, sec, body)
	if err != nil {
		return err
	}
	if !r.announced {
		return protoErr(rdpdrPDUName(pakidCoreClientIDConfirm), sec, "before the Server Announce Request")
	}
	if v.clientID != r.clientID {
		return protoErr(rdpdrPDUName(pakidCoreClientIDConfirm), sec, "ClientId %#x, but the client announced %#x", v.clientID, r.clientID)
	}
	if r.confirmed {
		return nil
	}
	r.confirmed = true
	// A drive waits for the logon where the server sends Server User
	// Logged On (3.2.5.1.5); otherwise it goes now.
	if r.loggedOn || !(r.server.hasGeneral && r.server.general.extendedPDU&rdpdrUserLoggedOnPDU != 0) {
		return r.announceDevices()
	}
	return r.send(appendDeviceListAnnounce(r.out[:0]))
}

// announceDevices sends a Device List Announce: the drive once, or none.
func (r *rdpdr) announceDevices() error {
	if r.drive != nil && !r.driveAnnounced {
		r.driveAnnounced = true
		d := r.drive.d
		return r.send(appendDriveDeviceAnnounce(r.out[:0], driveDeviceID, dosName(d.Name), d.Name))
	}
	return r.send(appendDeviceListAnnounce(r.out[:0]))
}

// send sends one message on rdpdr and keeps msg's buffer as scratch.
func (r *rdpdr) send(msg []byte) error {
	r.out = msg
	return r.c.sendChannel(r.c.channels[r.ch].ID, msg)
}
