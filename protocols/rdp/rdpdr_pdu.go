package rdp

import "fmt"

// The PDUs of the File System Virtual Channel Extension (MS-RDPEFS 2.2)
// that a client without devices exchanges, named as the spec names them.
// Every PDU starts with an RDPDR_HEADER; rdpdr.go runs the client's side.

// Component values of RDPDR_HEADER (2.2.1.1).
const (
	rdpdrCtypCore = 0x4472 // RDPDR_CTYP_CORE
	rdpdrCtypPrn  = 0x5052 // RDPDR_CTYP_PRN (printer PDUs, MS-RDPEPC)
)

// PacketId values of RDPDR_HEADER (2.2.1.1).
const (
	pakidCoreServerAnnounce     = 0x496E // PAKID_CORE_SERVER_ANNOUNCE
	pakidCoreClientIDConfirm    = 0x4343 // PAKID_CORE_CLIENTID_CONFIRM
	pakidCoreClientName         = 0x434E // PAKID_CORE_CLIENT_NAME
	pakidCoreDeviceListAnnounce = 0x4441 // PAKID_CORE_DEVICELIST_ANNOUNCE
	pakidCoreDeviceReply        = 0x6472 // PAKID_CORE_DEVICE_REPLY
	pakidCoreDeviceIORequest    = 0x4952 // PAKID_CORE_DEVICE_IOREQUEST
	pakidCoreDeviceIOCompletion = 0x4943 // PAKID_CORE_DEVICE_IOCOMPLETION
	pakidCoreServerCapability   = 0x5350 // PAKID_CORE_SERVER_CAPABILITY
	pakidCoreClientCapability   = 0x4350 // PAKID_CORE_CLIENT_CAPABILITY
	pakidCoreDeviceListRemove   = 0x444D // PAKID_CORE_DEVICELIST_REMOVE
	pakidPrnCacheData           = 0x5043 // PAKID_PRN_CACHE_DATA
	pakidCoreUserLoggedOn       = 0x554C // PAKID_CORE_USER_LOGGEDON
	pakidPrnUsingXPS            = 0x5543 // PAKID_PRN_USING_XPS
)

// CapabilityType values of CAPABILITY_HEADER (2.2.1.2).
const (
	capGeneralType   = 0x0001 // CAP_GENERAL_TYPE
	capPrinterType   = 0x0002 // CAP_PRINTER_TYPE
	capPortType      = 0x0003 // CAP_PORT_TYPE
	capDriveType     = 0x0004 // CAP_DRIVE_TYPE
	capSmartcardType = 0x0005 // CAP_SMARTCARD_TYPE
)

// GENERAL_CAPS_SET values (2.2.2.7.1).
const (
	generalCapabilityVersion02 = 0x00000002 // SpecialTypeDeviceCap present
	generalCapsSetSize         = 44         // version 2, header included
	// ioCode1: every RDPDR_IRP_MJ_* bit 0x0001-0x8000; the client never
	// receives a request, having no device, so the mask is the usual one.
	rdpdrIoCode1All = 0x0000FFFF
)

// extendedPDU flags of GENERAL_CAPS_SET (2.2.2.7.1).
const (
	rdpdrDeviceRemovePDUs     = 0x00000001 // RDPDR_DEVICE_REMOVE_PDUS
	rdpdrClientDisplayNamePDU = 0x00000002 // RDPDR_CLIENT_DISPLAY_NAME_PDU
	rdpdrUserLoggedOnPDU      = 0x00000004 // RDPDR_USER_LOGGEDON_PDU
)

// Sizes and versions.
const (
	rdpdrHeaderSize      = 4  // RDPDR_HEADER (2.2.1.1)
	capabilityHeaderSize = 8  // CAPABILITY_HEADER (2.2.1.2)
	deviceIORequestSize  = 20 // DR_DEVICE_IOREQUEST after its header (2.2.1.4)
	rdpdrVersionMajor    = 0x0001
	rdpdrMinorVersion12  = 0x000C // VersionMinor 12
)

// ntStatusUnsuccessful is STATUS_UNSUCCESSFUL (MS-ERREF 2.3).
const ntStatusUnsuccessful uint32 = 0xC0000001

// rdpdrVersionMinor is the VersionMinor the client announces: 12, the
// version at which the client takes the server's ClientId (3.2.5.1.3).
const rdpdrVersionMinor = rdpdrMinorVersion12

// MajorFunction values of DR_DEVICE_IOREQUEST (2.2.1.4).
const (
	irpMjCreate                 = 0x00000000
	irpMjClose                  = 0x00000002
	irpMjRead                   = 0x00000003
	irpMjWrite                  = 0x00000004
	irpMjDeviceControl          = 0x0000000E
	irpMjQueryVolumeInformation = 0x0000000A
	irpMjSetVolumeInformation   = 0x0000000B
	irpMjQueryInformation       = 0x00000005
	irpMjSetInformation         = 0x00000006
	irpMjDirectoryControl       = 0x0000000C
	irpMjLockControl            = 0x00000011
)

// rdpdrHeader is an RDPDR_HEADER (2.2.1.1).
type rdpdrHeader struct {
	component, packetID uint16
}

func parseRdpdrHeader(msg []byte) (rdpdrHeader, []byte, error) {
	if len(msg) < rdpdrHeaderSize {
		return rdpdrHeader{}, nil, protoErr("RDPDR_HEADER", "MS-RDPEFS 2.2.1.1", "%d bytes", len(msg))
	}
	d := decoder{b: msg}
	return rdpdrHeader{component: d.u16(), packetID: d.u16()}, msg[rdpdrHeaderSize:], nil
}

func appendRdpdrHeader(b []byte, packetID uint16) []byte {
	b = putU16(b, rdpdrCtypCore)
	return putU16(b, packetID)
}

// rdpdrPDUName names a core PDU by its PacketId for error messages.
func rdpdrPDUName(id uint16) string {
	switch id {
	case pakidCoreServerAnnounce:
		return "Server Announce Request"
	case pakidCoreClientIDConfirm:
		return "Server Client ID Confirm"
	case pakidCoreServerCapability:
		return "Server Core Capability Request"
	case pakidCoreUserLoggedOn:
		return "Server User Logged On"
	case pakidCoreDeviceReply:
		return "Server Device Announce Response"
	case pakidCoreDeviceIORequest:
		return "Device I/O Request"
	}
	return fmt.Sprintf("RDPDR PDU %#04x", id)
}

// rdpdrVersions is the body of DR_CORE_SERVER_ANNOUNCE_REQ (2.2.2.2),
// DR_CORE_CLIENT_ANNOUNCE_RSP (2.2.2.3) and DR_CORE_SERVER_CLIENTID_CONFIRM
// (2.2.2.6), which share their layout.
type rdpdrVersions struct {
	versionMajor, versionMinor uint16
	clientID                   uint32
}

func parseRdpdrVersions(packetID uint16, sec string, body []byte) (rdpdrVersions, error) {
	if len(body) != 8 {
		return rdpdrVersions{}, protoErr(rdpdrPDUName(packetID), sec, "%d bytes after the header, want 8", len(body))
	}
	d := decoder{b: body}
	v := rdpdrVersions{versionMajor: d.u16(), versionMinor: d.u16(), clientID: d.u32()}
	if v.versionMajor != rdpdrVersionMajor {
		return v, protoErr(rdpdrPDUName(packetID), sec, "VersionMajor %d, want 1", v.versionMajor)
	}
	return v, nil
}

// appendClientAnnounceReply appends DR_CORE_CLIENT_ANNOUNCE_RSP (2.2.2.3).
func appendClientAnnounceReply(b []byte, versionMinor uint16, clientID uint32) []byte {
	b = appendRdpdrHeader(b, pakidCoreClientIDConfirm)
	b = putU16(b, rdpdrVersionMajor)
	b = putU16(b, versionMinor)
	return putU32(b, clientID)
}

// appendClientNameRequest appends DR_CORE_CLIENT_NAME_REQ (2.2.2.4) with
// the name in Unicode (UTF-16LE), null-terminated.
func appendClientNameRequest(b []byte, name string) []byte {
	u := utf16le(name)
	b = appendRdpdrHeader(b, pakidCoreClientName)
	b = putU32(b, 1) // UnicodeFlag
	b = putU32(b, 0) // CodePage
	b = putU32(b, uint32(len(u)+2))
	b = append(b, u...)
	return append(b, 0, 0)
}

// rdpdrGeneralCaps is what the client keeps of a server's GENERAL_CAPS_SET
// (2.2.2.7.1), for the log.
type rdpdrGeneralCaps struct {
	version                                    uint32 // CAPABILITY_HEADER Version
	protocolMajorVersion, protocolMinorVersion uint16
	ioCode1, extendedPDU, extraFlags1          uint32
}

// rdpdrServerCaps is a Server Core Capability Request (2.2.2.7): the
// general set and the types of the others.
type rdpdrServerCaps struct {
	general    rdpdrGeneralCaps
	hasGeneral bool
	types      []uint16
}

func parseServerCoreCapabilityRequest(body []byte) (rdpdrServerCaps, error) {
	const pdu, sec = "Server Core Capability Request", "MS-RDPEFS 2.2.2.7"
	var sc rdpdrServerCaps
	d := decoder{b: body}
	n := int(d.u16())
	d.skip(2) // Padding
	if d.err != nil {
		return sc, protoErr(pdu, sec, "%d bytes after the header", len(body))
	}
	// Each CAPABILITY_SET holds at least its 8-byte header: bound the
	// count by what the PDU can hold before keeping anything per set.
	if n*capabilityHeaderSize > d.remaining() {
		return sc, protoErr(pdu, sec, "numCapabilities %d in %d bytes", n, d.remaining())
	}
	sc.types = make([]uint16, 0, n)
	for i := range n {
		typ, length, version := d.u16(), int(d.u16()), d.u32()
		if d.err != nil {
			return sc, protoErr(pdu, sec, "capability %d of %d: CAPABILITY_HEADER truncated", i, n)
		}
		if length < capabilityHeaderSize || length-capabilityHeaderSize > d.remaining() {
			return sc, protoErr(pdu, sec, "capability %d of %d: CapabilityLength %d with %d bytes left", i, n, length, d.remaining()+capabilityHeaderSize)
		}
		data := d.bytes(length - capabilityHeaderSize)
		sc.types = append(sc.types, typ)
		if typ != capGeneralType {
			continue
		}
		g := decoder{b: data}
		sc.general = rdpdrGeneralCaps{version: version}
		g.skip(8) // osType, osVersion
		sc.general.protocolMajorVersion, sc.general.protocolMinorVersion = g.u16(), g.u16()
		sc.general.ioCode1 = g.u32()
		g.skip(4) // ioCode2
		sc.general.extendedPDU, sc.general.extraFlags1 = g.u32(), g.u32()
		if g.err != nil {
			return sc, protoErr(pdu, sec, "GENERAL_CAPS_SET of %d bytes", length)
		}
		sc.hasGeneral = true
	}
	if d.remaining() != 0 {
		return sc, protoErr(pdu, sec, "%d bytes after %d capability sets", d.remaining(), n)
	}
	return sc, nil
}

// appendClientCoreCapabilityResponse appends DR_CORE_CAPABILITY_RSP
// (2.2.2.8) with the general capability set, and with drive the drive's
// (a device type without a capability set is not supported, 1.7). Version 2 of the set, protocol version 1.versionMinor, every
// ioCode1 bit, Device List Remove and User Logged On PDUs allowed, no
// asynchronous I/O, no special devices before logon.
func appendClientCoreCapabilityResponse(b []byte, versionMinor uint16, drive bool) []byte {
	b = appendRdpdrHeader(b, pakidCoreClientCapability)
	n := uint16(1)
	if drive {
		n = 2
	}
	b = putU16(b, n) // numCapabilities
	b = putU16(b, 0) // Padding
	b = putU16(b, capGeneralType)
	b = putU16(b, generalCapsSetSize)
	b = putU32(b, generalCapabilityVersion02)
	b = putU32(b, 0) // osType: ignored by the receiver
	b = putU32(b, 0) // osVersion: unused
	b = putU16(b, rdpdrVersionMajor)
	b = putU16(b, versionMinor)
	b = putU32(b, rdpdrIoCode1All)
	b = putU32(b, 0) // ioCode2: MUST be 0
	b = putU32(b, rdpdrDeviceRemovePDUs|rdpdrUserLoggedOnPDU)
	b = putU32(b, 0) // extraFlags1: no ENABLE_ASYNCIO
	b = putU32(b, 0) // extraFlags2: MUST be 0
	// SpecialTypeDeviceCap: no smart cards before logon.
	b = putU32(b, 0)
	if drive {
		// DRIVE_CAPS_SET (2.2.2.7.5): the header alone.
		b = putU16(b, capDriveType)
		b = putU16(b, driveCapsSetSize)
		b = putU32(b, driveCapabilityVersion02)
	}
	return b
}

// appendDeviceListAnnounce appends DR_CORE_DEVICELIST_ANNOUNCE_REQ
// (2.2.2.9) announcing no devices.
func appendDeviceListAnnounce(b []byte) []byte {
	b = appendRdpdrHeader(b, pakidCoreDeviceListAnnounce)
	return putU32(b, 0) // DeviceCount
}

// deviceIORequest is the DR_DEVICE_IOREQUEST header (2.2.1.4) of a request
// the client answers without looking further.
type deviceIORequest struct {
	deviceID, fileID, completionID, majorFunction, minorFunction uint32
}

func parseDeviceIORequest(body []byte) (deviceIORequest, error) {
	if len(body) < deviceIORequestSize {
		return deviceIORequest{}, protoErr("Device I/O Request", "MS-RDPEFS 2.2.1.4", "%d bytes after the header", len(body))
	}
	d := decoder{b: body}
	return deviceIORequest{deviceID: d.u32(), fileID: d.u32(), completionID: d.u32(), majorFunction: d.u32(), minorFunction: d.u32()}, nil
}

// appendDeviceIOFailure appends the Device I/O Response (2.2.1.5) to r with
// IoStatus status and the response fields that follow for r's
// MajorFunction, zeroed (a Length of 0 where there is one): DR_CREATE_RSP
// FileId and Information (2.2.1.5.1), DR_CLOSE_RSP Padding (2.2.1.5.2),
// DR_READ_RSP Length (2.2.1.5.3), DR_WRITE_RSP Length and Padding
// (2.2.1.5.4), DR_CONTROL_RSP OutputBufferLength (2.2.1.5.5) and the drive
// responses' Length (2.2.3.4), with the Padding byte of
// DR_DRIVE_SET_INFORMATION_RSP and DR_DRIVE_QUERY_DIRECTORY_RSP and the
// five of DR_DRIVE_LOCK_RSP.
func appendDeviceIOFailure(b []byte, r deviceIORequest, status uint32) []byte {
	b = appendRdpdrHeader(b, pakidCoreDeviceIOCompletion)
	b = putU32(b, r.deviceID)
	b = putU32(b, r.completionID)
	b = putU32(b, status)
	var n int
	switch r.majorFunction {
	case irpMjCreate, irpMjWrite, irpMjSetInformation, irpMjDirectoryControl, irpMjLockControl:
		n = 5
	default: // close, read, device control, volume and file information
		n = 4
	}
	return append(b, make([]byte, n)...)
}
