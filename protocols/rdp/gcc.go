package rdp

import "encoding/binary"

// T.124 GCC Conference Create Request/Response (MS-RDPBCGR 2.2.1.3.1,
// 2.2.1.4.1) carry the client and server data blocks as h221NonStandard user
// data. The PER prefix is fixed for RDP, as MS-RDPBCGR 4.1.3/4.1.4 show.

// Data block types (MS-RDPBCGR 2.2.1.3.1 TS_UD_HEADER).
const (
	csCore     = 0xC001
	csSecurity = 0xC002
	csNet      = 0xC003
	csCluster  = 0xC004
	scCore     = 0x0C01
	scSecurity = 0x0C02
	scNet      = 0x0C03
	scMCSMsg   = 0x0C04
)

// t124ConnectPrefix: ConnectData key = object t124Identifier {0 0 20 124 0 1}.
var t124ConnectPrefix = []byte{0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01}

// gccCCRHeader: ConferenceCreateRequest with conferenceName "1", no password,
// terminationMethod automatic, one userData item keyed h221NonStandard "Duca".
var gccCCRHeader = []byte{0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xC0, 0x00, 'D', 'u', 'c', 'a'}

// gccConferenceCreateRequest wraps the client data blocks.
func gccConferenceCreateRequest(userData []byte) []byte {
	b := append([]byte(nil), t124ConnectPrefix...)
	inner := append([]byte(nil), gccCCRHeader...)
	inner = appendPERLength(inner, len(userData))
	inner = append(inner, userData...)
	b = appendPERLength(b, len(inner))
	return append(b, inner...)
}

// Client core data constants (MS-RDPBCGR 2.2.1.3.2).
const (
	rnsUDColor8BPP    = 0xCA01
	rnsUDSASDel       = 0xAA03
	rnsUD24BPPSupport = 0x0001
	rnsUD16BPPSupport = 0x0002
	rnsUD15BPPSupport = 0x0004
	rnsUD32BPPSupport = 0x0008

	rnsUDCSSupportErrInfoPDU      = 0x0001
	rnsUDCSWant32BPPSession       = 0x0002
	rnsUDCSSupportStatusInfoPDU   = 0x0004
	rnsUDCSValidConnectionType    = 0x0020
	rnsUDCSSupportDynamicTimeZone = 0x0200

	connectionTypeLAN = 0x06
	rdpVersion5Plus   = 0x00080004
)

// clientDataBlocks builds TS_UD_CS_CORE, TS_UD_CS_SECURITY, TS_UD_CS_NET and
// TS_UD_CS_CLUSTER for cfg and the negotiated protocol.
func clientDataBlocks(cfg *Config, selected uint32, channels []staticChannel) []byte {
	var b []byte
	// TS_UD_CS_CORE (2.2.1.3.2).
	start := len(b)
	b = putU16(b, csCore)
	b = putU16(b, 0)
	b = putU32(b, rdpVersion5Plus)
	b = putU16(b, uint16(cfg.Width))
	b = putU16(b, uint16(cfg.Height))
	b = putU16(b, rnsUDColor8BPP)
	b = putU16(b, rnsUDSASDel)
	b = putU32(b, cfg.KeyboardLayout)
	b = putU32(b, 2600) // clientBuild
	b = putFixedUTF16(b, cfg.ClientName, 32)
	b = putU32(b, 4)                   // keyboardType: IBM enhanced (101/102 keys)
	b = putU32(b, 0)                   // keyboardSubType
	b = putU32(b, 12)                  // keyboardFunctionKey
	b = append(b, make([]byte, 64)...) // imeFileName
	b = putU16(b, rnsUDColor8BPP)      // postBeta2ColorDepth
	b = putU16(b, 1)                   // clientProductId
	b = putU32(b, 0)                   // serialNumber
	high, early := uint16(cfg.ColorDepth), uint16(rnsUDCSSupportErrInfoPDU|rnsUDCSValidConnectionType)
	if cfg.ColorDepth == 32 {
		high = 24
		early |= rnsUDCSWant32BPPSession
	}
	b = putU16(b, high)
	b = putU16(b, rnsUD24BPPSupport|rnsUD16BPPSupport|rnsUD15BPPSupport|rnsUD32BPPSupport)
	b = putU16(b, early)
	b = append(b, make([]byte, 64)...) // clientDigProductId
	b = append(b, connectionTypeLAN, 0)
	b = putU32(b, selected) // serverSelectedProtocol
	if cfg.DPI > 0 {
		// Physical size and scale factors (2.2.1.3.2), from the DPI.
		b = putU32(b, uint32(cfg.Width*254/(cfg.DPI*10))) // desktopPhysicalWidth, mm
		b = putU32(b, uint32(cfg.Height*254/(cfg.DPI*10)))
		b = putU16(b, 0) // desktopOrientation: landscape
		b = putU32(b, uint32(max(100, min(500, cfg.DPI*100/96))))
		b = putU32(b, deviceScaleFactor(cfg.DPI))
	}
	binary.LittleEndian.PutUint16(b[start+2:], uint16(len(b)-start))

	// TS_UD_CS_SECURITY (2.2.1.3.3): with TLS/CredSSP the server ignores the
	// methods and answers ENCRYPTION_METHOD_NONE; we offer none since this
	// client does not implement standard RDP security.
	b = putU16(b, csSecurity)
	b = putU16(b, 12)
	b = putU32(b, 0)
	b = putU32(b, 0)

	// TS_UD_CS_NET (2.2.1.3.4).
	b = putU16(b, csNet)
	b = putU16(b, uint16(8+12*len(channels)))
	b = putU32(b, uint32(len(channels)))
	for _, ch := range channels {
		var name [8]byte
		copy(name[:7], ch.Name)
		b = append(b, name[:]...)
		b = putU32(b, ch.Options)
	}

	// TS_UD_CS_CLUSTER (2.2.1.3.5): REDIRECTION_SUPPORTED, version 4.
	b = putU16(b, csCluster)
	b = putU16(b, 12)
	b = putU32(b, 0x01|3<<2)
	b = putU32(b, 0)
	return b
}

// serverData holds what we use of the server data blocks (2.2.1.4.2-4).
type serverData struct {
	version            uint32
	requestedProtocols uint32
	encryptionMethod   uint32
	encryptionLevel    uint32
	ioChannel          uint16
	channelIDs         []uint16
	msgChannel         uint16 // 0 if none
}

// parseGCCConferenceCreateResponse parses the GCC Conference Create Response
// (MS-RDPBCGR 2.2.1.4) and its server data blocks.
func parseGCCConferenceCreateResponse(p []byte) (*serverData, error) {
	const pdu, sec = "GCC Conference Create Response", "MS-RDPBCGR 2.2.1.4"
	d := decoder{b: p}
	d.u8() // t124Identifier key: object
	oid := d.bytes(int(d.u8()))
	d.perLength()                   // connectPDU length
	d.u8()                          // ConnectGCCPDU choice: conferenceCreateResponse
	d.u16be()                       // nodeID
	d.bytes(int(d.u8()))            // tag (PER integer)
	result := d.u8()                // result enumerated
	d.u8()                          // userData set count
	d.u8()                          // userData value present, key choice h221NonStandard
	key := d.bytes(int(d.u8()) + 4) // octet string SIZE(4..255)
	n := d.perLength()
	blocks := d.bytes(n)
	if d.err != nil {
		return nil, protoErr(pdu, sec, "%d bytes: %v", len(p), d.err)
	}
	if len(oid) != 5 || oid[2] != 0x7C || string(key) != "McDn" {
		return nil, protoErr(pdu, sec, "not a T.124 response with McDn user data")
	}
	if result != 0 {
		return nil, protoErr(pdu, sec, "result %d", result)
	}
	sd := &serverData{ioChannel: ioChannelID}
	d = decoder{b: blocks}
	for d.remaining() >= 4 {
		typ, length := d.u16(), int(d.u16())
		if length < 4 {
			return nil, protoErr("server data block", "MS-RDPBCGR 2.2.1.4", "type %#x length %d", typ, length)
		}
		body := d.bytes(length - 4)
		if d.err != nil {
			return nil, protoErr("server data block", "MS-RDPBCGR 2.2.1.4", "type %#x length %d exceeds the %d bytes left", typ, length, d.remaining())
		}
		bd := decoder{b: body}
		switch typ {
		case scCore: // 2.2.1.4.2
			sd.version = bd.u32()
			if bd.remaining() >= 4 {
				sd.requestedProtocols = bd.u32()
			}
		case scSecurity: // 2.2.1.4.3
			sd.encryptionMethod = bd.u32()
			sd.encryptionLevel = bd.u32()
		case scNet: // 2.2.1.4.4
			sd.ioChannel = bd.u16()
			count := int(bd.u16())
			if count > 31 { // CHANNEL_MAX_COUNT is 31 (2.2.1.3.4)
				return nil, protoErr("Server Network Data", "MS-RDPBCGR 2.2.1.4.4", "%d channels", count)
			}
			for range count {
				sd.channelIDs = append(sd.channelIDs, bd.u16())
			}
		case scMCSMsg: // 2.2.1.4.5
			sd.msgChannel = bd.u16()
		}
		if bd.err != nil {
			return nil, protoErr("server data block", "MS-RDPBCGR 2.2.1.4", "type %#x truncated", typ)
		}
	}
	return sd, nil
}

// deviceScaleFactor picks the allowed deviceScaleFactor (100, 140 or 180,
// MS-RDPBCGR 2.2.1.3.2) nearest to dpi/96.
func deviceScaleFactor(dpi int) uint32 {
	switch s := dpi * 100 / 96; {
	case s < 120:
		return 100
	case s < 160:
		return 140
	}
	return 180
}
