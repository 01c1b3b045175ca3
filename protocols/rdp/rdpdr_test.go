package rdp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The server's PDUs of MS-RDPEFS, for the tests' fake server.

// serverAnnounce is DR_CORE_SERVER_ANNOUNCE_REQ (2.2.2.2).
func serverAnnounce(minor uint16, clientID uint32) []byte {
	b := appendRdpdrHeader(nil, pakidCoreServerAnnounce)
	b = putU16(b, 1)
	b = putU16(b, minor)
	return putU32(b, clientID)
}

// serverClientIDConfirm is DR_CORE_SERVER_CLIENTID_CONFIRM (2.2.2.6).
func serverClientIDConfirm(minor uint16, clientID uint32) []byte {
	b := appendRdpdrHeader(nil, pakidCoreClientIDConfirm)
	b = putU16(b, 1)
	b = putU16(b, minor)
	return putU32(b, clientID)
}

// xrdpServerCaps is the Server Core Capability Request (2.2.2.7) as xrdp
// 0.9's chansrv sends it: five sets, the general one (version 2, osType 2,
// protocol 1.12, ioCode1 0xFFFF, extendedPDU 7, SpecialTypeDeviceCap 2),
// then printer, port, drive (version 2) and smart card headers.
const xrdpServerCaps = "72 44 50 53 05 00 00 00" +
	" 01 00 2c 00 02 00 00 00 02 00 00 00 00 00 00 00 01 00 0c 00" +
	" ff ff 00 00 00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00" +
	" 02 00 08 00 01 00 00 00" + // CAP_PRINTER_TYPE
	" 03 00 08 00 01 00 00 00" + // CAP_PORT_TYPE
	" 04 00 08 00 02 00 00 00" + // CAP_DRIVE_TYPE, DRIVE_CAPABILITY_VERSION_02
	" 05 00 08 00 01 00 00 00" // CAP_SMARTCARD_TYPE

// The client's PDUs, written out from MS-RDPEFS 2.2.
const (
	// Client Name Request (2.2.2.4): Unicode, CodePage 0,
	// ComputerNameLen 16, "racgate" and its null terminator in UTF-16LE.
	clientNameRacgate = "72 44 4e 43 01 00 00 00 00 00 00 00 10 00 00 00" +
		" 72 00 61 00 63 00 67 00 61 00 74 00 65 00 00 00"
	// Client Core Capability Response (2.2.2.8): one set, the general
	// one (2.2.2.7.1): CAP_GENERAL_TYPE, 44 bytes, version 2, osType
	// and osVersion 0, protocol 1.12, ioCode1 0xFFFF, ioCode2 0,
	// extendedPDU RDPDR_DEVICE_REMOVE_PDUS|RDPDR_USER_LOGGEDON_PDU,
	// extraFlags1 0, extraFlags2 0, SpecialTypeDeviceCap 0.
	clientCoreCaps = "72 44 50 43 01 00 00 00" +
		" 01 00 2c 00 02 00 00 00 00 00 00 00 00 00 00 00 01 00 0c 00" +
		" ff ff 00 00 00 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	// Client Device List Announce Request (2.2.2.9): DeviceCount 0.
	deviceListNone = "72 44 41 44 00 00 00 00"
	// Server User Logged On (2.2.2.5).
	userLoggedOn = "72 44 4c 55"
)

func sendRdpdr(t *testing.T, c *Client, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := sendOn(c, rdpdrTestChannel, m); err != nil {
			t.Fatalf("% x: %v", m, err)
		}
	}
}

func expectRdpdr(t *testing.T, cc *capConn, want ...string) {
	t.Helper()
	got := sentOn(t, cc, rdpdrTestChannel)
	if len(got) != len(want) {
		t.Fatalf("client sent %d rdpdr messages, want %d: % x", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], hx(want[i])) {
			t.Errorf("rdpdr message %d:\n got % x\nwant % x", i, got[i], hx(want[i]))
		}
	}
}

// TestRdpdrExchange runs the initialization of MS-RDPEFS 3.1.3 in the
// spec's order with a fake server and checks every PDU the client sends
// byte for byte; then a device I/O request (the Server Create Drive
// Request of 4.12), which the client, having no device, fails.
func TestRdpdrExchange(t *testing.T) {
	c, cc, _, _ := audioClient()
	// Server Announce (1.12, ClientId 0x42): the Client Announce Reply
	// with the server's ClientId (3.2.5.1.3), and the Client Name.
	sendRdpdr(t, c, serverAnnounce(12, 0x42))
	expectRdpdr(t, cc, "72 44 43 43 01 00 0c 00 42 00 00 00", clientNameRacgate)
	// Server Core Capability Request: the client's at once (3.2.5.1.8).
	sendRdpdr(t, c, hx(xrdpServerCaps))
	expectRdpdr(t, cc, clientCoreCaps)
	if g := c.rdpdr.server.general; !c.rdpdr.server.hasGeneral || g.protocolMinorVersion != 12 || g.ioCode1 != 0xFFFF || g.extendedPDU != 7 || len(c.rdpdr.server.types) != 5 {
		t.Fatalf("server caps %+v", c.rdpdr.server)
	}
	// Server Client ID Confirm: the devices, none (3.1.3).
	sendRdpdr(t, c, serverClientIDConfirm(12, 0x42))
	expectRdpdr(t, cc, deviceListNone)
	// Server User Logged On: the devices that waited for a logon, none.
	sendRdpdr(t, c, hx(userLoggedOn))
	expectRdpdr(t, cc, deviceListNone)
	if !c.rdpdr.announced || !c.rdpdr.confirmed || !c.rdpdr.loggedOn {
		t.Fatalf("state %+v", c.rdpdr)
	}

	// MS-RDPEFS 4.12: IRP_MJ_CREATE on DeviceId 3, CompletionId 1. The
	// answer is a DR_CREATE_RSP (2.2.1.5.1) with STATUS_UNSUCCESSFUL,
	// FileId 0 and Information 0: the layout of MS-RDPESP 4.3's sample.
	sendRdpdr(t, c, readHexVector(t, "ms-rdpefs-4.12-server-create-drive-request.hex"))
	want := "72 44 43 49 03 00 00 00 01 00 00 00 01 00 00 c0 00 00 00 00 00"
	expectRdpdr(t, cc, want)
	if esp := readHexVector(t, "ms-rdpesp-4.3-client-create-response.hex"); len(esp) != len(hx(want)) || !bytes.Equal(esp[:4], hx(want)[:4]) {
		t.Fatalf("DR_CREATE_RSP layout differs from MS-RDPESP 4.3: % x", esp)
	}
	// Other requests get their response's fields zeroed.
	for major, tail := range map[uint32]string{irpMjClose: "00 00 00 00", irpMjRead: "00 00 00 00", irpMjWrite: "00 00 00 00 00", irpMjDeviceControl: "00 00 00 00", irpMjLockControl: "00 00 00 00 00"} {
		req := appendRdpdrHeader(nil, pakidCoreDeviceIORequest)
		for _, v := range []uint32{3, 9, 0x77, major, 0} {
			req = putU32(req, v)
		}
		sendRdpdr(t, c, append(req, make([]byte, 32)...))
		expectRdpdr(t, cc, "72 44 43 49 03 00 00 00 77 00 00 00 01 00 00 c0 "+tail)
	}

	// Ignored: a device announce response, a printer PDU, an unknown
	// core PDU.
	sendRdpdr(t, c, hx("72 44 72 64 01 00 00 00 00 00 00 00"), hx("52 50 43 50 00 00 00 00"), hx("72 44 ff ff 01 02"))
	expectRdpdr(t, cc)
}

// TestRdpdrXRDPOrder: xrdp's chansrv sends User Logged On before its
// capabilities and the Client ID Confirm; the client answers each as it
// comes.
func TestRdpdrXRDPOrder(t *testing.T) {
	c, cc, _, _ := audioClient()
	sendRdpdr(t, c, serverAnnounce(12, 7))
	expectRdpdr(t, cc, "72 44 43 43 01 00 0c 00 07 00 00 00", clientNameRacgate)
	sendRdpdr(t, c, hx(userLoggedOn), hx(xrdpServerCaps), serverClientIDConfirm(12, 7))
	expectRdpdr(t, cc, deviceListNone, clientCoreCaps, deviceListNone)
	// A second Client ID Confirm (the logon signal of 3.2.5.1.6 for
	// clients without RDPDR_USER_LOGGEDON_PDU) announces nothing more.
	sendRdpdr(t, c, serverClientIDConfirm(12, 7))
	expectRdpdr(t, cc)
}

// TestRdpdrClientID: below version 1.12 the client draws its own ClientId
// (3.2.5.1.2) and the confirm must carry it; a new Server Announce starts
// over.
func TestRdpdrClientID(t *testing.T) {
	c, cc, _, _ := audioClient()
	sendRdpdr(t, c, serverAnnounce(10, 0x42))
	got := sentOn(t, cc, rdpdrTestChannel)
	if len(got) != 2 || !bytes.HasPrefix(got[0], hx("72 44 43 43 01 00 0c 00")) || len(got[0]) != 12 {
		t.Fatalf("client sent % x", got)
	}
	id := uint32(got[0][8]) | uint32(got[0][9])<<8 | uint32(got[0][10])<<16 | uint32(got[0][11])<<24
	if id != c.rdpdr.clientID {
		t.Fatalf("ClientId %#x, kept %#x", id, c.rdpdr.clientID)
	}
	if id != 0x42 { // 1 in 2^32 that the random one is the server's
		var pe *ProtocolError
		if err := sendOn(c, rdpdrTestChannel, serverClientIDConfirm(10, 0x42)); !errors.As(err, &pe) {
			t.Fatalf("confirm of the server's ClientId: %v", err)
		}
	}
	sendRdpdr(t, c, serverClientIDConfirm(10, id))
	expectRdpdr(t, cc, deviceListNone)

	// A reconnected server announces again: the sequence starts over.
	sendRdpdr(t, c, serverAnnounce(13, 0x99))
	expectRdpdr(t, cc, "72 44 43 43 01 00 0c 00 99 00 00 00", clientNameRacgate)
	if c.rdpdr.confirmed {
		t.Fatal("still confirmed after a new Server Announce")
	}
	sendRdpdr(t, c, serverClientIDConfirm(13, 0x99))
	expectRdpdr(t, cc, deviceListNone)
}

// TestRdpdrClientName: the Client Name Request carries Config.ClientName
// in UTF-16LE with its terminator counted.
func TestRdpdrClientName(t *testing.T) {
	got := appendClientNameRequest(nil, "Büro-PC")
	want := hx("72 44 4e 43 01 00 00 00 00 00 00 00 10 00 00 00 42 00 fc 00 72 00 6f 00 2d 00 50 00 43 00 00 00")
	if !bytes.Equal(got, want) {
		t.Fatalf("% x", got)
	}
}

// TestRdpdrMalformed: malformed rdpdr PDUs are protocol errors that name
// MS-RDPEFS.
func TestRdpdrMalformed(t *testing.T) {
	caps := hx(xrdpServerCaps)
	for name, msgs := range map[string][][]byte{
		"short header":              {hx("72 44 6e")},
		"announce short":            {hx("72 44 6e 49 01 00 0c 00 01 00 00")},
		"announce long":             {append(serverAnnounce(12, 1), 0)},
		"announce VersionMajor 2":   {hx("72 44 6e 49 02 00 0c 00 01 00 00 00")},
		"caps truncated":            {hx("72 44 50 53 01")},
		"caps too many":             {hx("72 44 50 53 ff ff 00 00 01 00 08 00 01 00 00 00")},
		"caps length below 8":       {hx("72 44 50 53 01 00 00 00 02 00 07 00 01 00 00 00")},
		"caps length overrun":       {hx("72 44 50 53 01 00 00 00 02 00 09 00 01 00 00 00")},
		"general caps truncated":    {hx("72 44 50 53 01 00 00 00 01 00 0c 00 02 00 00 00 00 00 00 00")},
		"caps trailing bytes":       {append(bytes.Clone(caps), 0)},
		"caps count short":          {append(hx("72 44 50 53 06 00 00 00"), caps[8:]...)},
		"confirm before announce":   {serverClientIDConfirm(12, 1)},
		"confirm of another id":     {serverAnnounce(12, 1), serverClientIDConfirm(12, 2)},
		"confirm short":             {serverAnnounce(12, 1), hx("72 44 43 43 01 00 0c 00")},
		"logged on with a body":     {hx("72 44 4c 55 00")},
		"I/O request truncated":     {hx("72 44 52 49 03 00 00 00 00 00 00 00 01 00 00 00 00 00 00")},
		"announce VersionMajor 0":   {hx("72 44 6e 49 00 00 0c 00 01 00 00 00")},
		"confirm VersionMajor 3":    {serverAnnounce(12, 1), hx("72 44 43 43 03 00 0c 00 01 00 00 00")},
		"caps general length 0x2b0": {hx("72 44 50 53 01 00 00 00 01 00 b0 02 02 00 00 00")},
	} {
		c, _, _, _ := audioClient()
		var err error
		for _, m := range msgs {
			if err = sendOn(c, rdpdrTestChannel, m); err != nil {
				break
			}
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, "MS-RDPEFS") {
			t.Errorf("%s: %v", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}
