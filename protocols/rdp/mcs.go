package rdp

import "fmt"

// T.125 MCS: the Connect-Initial/Connect-Response pair is BER-encoded (T.125
// 7, MS-RDPBCGR 2.2.1.3/2.2.1.4); the domain PDUs that follow are ALIGNED
// PER (MS-RDPBCGR 2.2.1.5-2.2.1.9, 2.2.8.1.1.1.1 mcsPdu).

// MCS channel IDs: the I/O channel is fixed; user IDs are sent relative to
// it's base (T.125 UserId is DynamicChannelId 1001..).
const (
	mcsBaseChannelID = 1001
	ioChannelID      = 1003 // MS-RDPBCGR 2.2.1.4.4: MCS I/O channel
)

// DomainMCSPDU choice indices (T.125 7, ASN.1 CHOICE order), shifted left 2
// in the PER encoding.
const (
	mcsErectDomainRequest          = 1
	mcsDisconnectProviderUltimatum = 8
	mcsAttachUserRequest           = 10
	mcsAttachUserConfirm           = 11
	mcsChannelJoinRequest          = 14
	mcsChannelJoinConfirm          = 15
	mcsSendDataRequest             = 25
	mcsSendDataIndication          = 26
)

// BER encoding helpers (X.690).

func appendBERLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	default:
		return append(b, 0x82, byte(n>>8), byte(n))
	}
}

func appendBERInteger(b []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte(v)
		v >>= 8
		if v == 0 {
			break
		}
	}
	if tmp[i]&0x80 != 0 { // keep it positive
		i--
		tmp[i] = 0
	}
	b = append(b, 0x02, byte(len(tmp)-i))
	return append(b, tmp[i:]...)
}

func appendBERTLV(b []byte, tag []byte, content []byte) []byte {
	b = append(b, tag...)
	b = appendBERLength(b, len(content))
	return append(b, content...)
}

// domainParameters encodes T.125 DomainParameters.
func domainParameters(maxChannelIDs, maxUserIDs, maxTokenIDs, numPriorities, minThroughput, maxHeight, maxMCSPDUSize, protocolVersion uint32) []byte {
	var c []byte
	for _, v := range []uint32{maxChannelIDs, maxUserIDs, maxTokenIDs, numPriorities, minThroughput, maxHeight, maxMCSPDUSize, protocolVersion} {
		c = appendBERInteger(c, v)
	}
	return appendBERTLV(nil, []byte{0x30}, c)
}

// mcsConnectInitial builds the MCS Connect-Initial PDU (MS-RDPBCGR 2.2.1.3,
// T.125 7 Connect-Initial) around the GCC Conference Create Request.
func mcsConnectInitial(gccCCR []byte) []byte {
	var c []byte
	c = appendBERTLV(c, []byte{0x04}, []byte{1})    // callingDomainSelector
	c = appendBERTLV(c, []byte{0x04}, []byte{1})    // calledDomainSelector
	c = appendBERTLV(c, []byte{0x01}, []byte{0xFF}) // upwardFlag TRUE
	// Values as MS-RDPBCGR 4.1.3 shows mstsc sending.
	c = append(c, domainParameters(34, 2, 0, 1, 0, 1, 0xFFFF, 2)...)
	c = append(c, domainParameters(1, 1, 1, 1, 0, 1, 0x420, 2)...)
	c = append(c, domainParameters(0xFFFF, 0xFC17, 0xFFFF, 1, 0, 1, 0xFFFF, 2)...)
	c = appendBERTLV(c, []byte{0x04}, gccCCR)
	return appendBERTLV(nil, []byte{0x7F, 0x65}, c)
}

// berReader reads BER TLVs with bounds checks.
type berReader struct{ decoder }

// tlv reads a tag (one byte, or 0x7F and one more for application tags above
// 30) and its definite length and returns the content.
func (r *berReader) tlv() (tag uint16, content []byte) {
	t := uint16(r.u8())
	if t&0x1F == 0x1F {
		t = t<<8 | uint16(r.u8())
	}
	n := int(r.u8())
	if n&0x80 != 0 {
		k := n & 0x7F
		if k == 0 || k > 2 {
			if r.err == nil {
				r.err = fmt.Errorf("BER length of %d bytes", k)
			}
			return 0, nil
		}
		n = 0
		for range k {
			n = n<<8 | int(r.u8())
		}
	}
	return t, r.bytes(n)
}

// parseMCSConnectResponse parses the MCS Connect-Response PDU (MS-RDPBCGR
// 2.2.1.4) and returns its user data: the GCC Conference Create Response.
func parseMCSConnectResponse(p []byte) ([]byte, error) {
	const pdu, sec = "MCS Connect-Response", "MS-RDPBCGR 2.2.1.4"
	r := berReader{decoder{b: p}}
	tag, body := r.tlv()
	if r.err != nil || tag != 0x7F66 {
		return nil, protoErr(pdu, sec, "tag %#x (%v)", tag, r.err)
	}
	r = berReader{decoder{b: body}}
	tag, res := r.tlv()
	if r.err != nil || tag != 0x0A || len(res) != 1 {
		return nil, protoErr(pdu, sec, "result field (tag %#x, %v)", tag, r.err)
	}
	if res[0] != 0 {
		return nil, protoErr(pdu, sec, "result %d (rt-successful is 0)", res[0])
	}
	r.tlv() // calledConnectId
	r.tlv() // domainParameters
	tag, userData := r.tlv()
	if r.err != nil || tag != 0x04 {
		return nil, protoErr(pdu, sec, "user data (tag %#x, %v)", tag, r.err)
	}
	return userData, nil
}

// PER helpers (X.691 ALIGNED).

// appendPERLength writes a PER length determinant (1 or 2 bytes).
func appendPERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	return putU16be(b, uint16(n)|0x8000)
}

func (d *decoder) perLength() int {
	n := int(d.u8())
	if n&0x80 != 0 {
		n = (n&0x7F)<<8 | int(d.u8())
	}
	return n
}

// mcsErectDomainRequest (MS-RDPBCGR 2.2.1.5): subHeight 0, subInterval 0.
func mcsErectDomainRequestPDU() []byte {
	b := appendX224Data(nil)
	b = append(b, mcsErectDomainRequest<<2, 1, 0, 1, 0)
	_ = finishTPKT(b, 0)
	return b
}

// mcsAttachUserRequestPDU (MS-RDPBCGR 2.2.1.6).
func mcsAttachUserRequestPDU() []byte {
	b := appendX224Data(nil)
	b = append(b, mcsAttachUserRequest<<2)
	_ = finishTPKT(b, 0)
	return b
}

// parseMCSAttachUserConfirm (MS-RDPBCGR 2.2.1.7) returns the user channel ID.
func parseMCSAttachUserConfirm(p []byte) (uint16, error) {
	const pdu, sec = "MCS Attach User Confirm", "MS-RDPBCGR 2.2.1.7"
	d := decoder{b: p}
	choice := d.u8()
	result := d.u8()
	if d.err != nil || choice>>2 != mcsAttachUserConfirm {
		return 0, protoErr(pdu, sec, "PDU choice %#x", choice)
	}
	if result != 0 {
		return 0, protoErr(pdu, sec, "result %d", result)
	}
	if choice&2 == 0 {
		return 0, protoErr(pdu, sec, "no initiator")
	}
	initiator := d.u16be()
	if d.err != nil {
		return 0, protoErr(pdu, sec, "truncated")
	}
	return initiator + mcsBaseChannelID, nil
}

// mcsChannelJoinRequestPDU (MS-RDPBCGR 2.2.1.8).
func mcsChannelJoinRequestPDU(userID, channelID uint16) []byte {
	b := appendX224Data(nil)
	b = append(b, mcsChannelJoinRequest<<2)
	b = putU16be(b, userID-mcsBaseChannelID)
	b = putU16be(b, channelID)
	_ = finishTPKT(b, 0)
	return b
}

// parseMCSChannelJoinConfirm (MS-RDPBCGR 2.2.1.9) checks that channelID was
// joined.
func parseMCSChannelJoinConfirm(p []byte, channelID uint16) error {
	const pdu, sec = "MCS Channel Join Confirm", "MS-RDPBCGR 2.2.1.9"
	d := decoder{b: p}
	choice := d.u8()
	result := d.u8()
	d.u16be() // initiator
	requested := d.u16be()
	if d.err != nil || choice>>2 != mcsChannelJoinConfirm {
		return protoErr(pdu, sec, "PDU choice %#x", choice)
	}
	if result != 0 {
		return protoErr(pdu, sec, "channel %d: result %d", channelID, result)
	}
	if requested != channelID {
		return protoErr(pdu, sec, "confirms channel %d, requested %d", requested, channelID)
	}
	return nil
}

// appendMCSSendDataRequest starts an MCS Send Data Request on channelID
// (T.125 SendDataRequest, MS-RDPBCGR 2.2.8.1.1.1.1 mcsPdu) with a 2-byte
// length placeholder; finishMCSSendData fills the length.
func appendMCSSendDataRequest(b []byte, userID, channelID uint16) []byte {
	b = appendX224Data(b)
	b = append(b, mcsSendDataRequest<<2)
	b = putU16be(b, userID-mcsBaseChannelID)
	b = putU16be(b, channelID)
	b = append(b, 0x70) // dataPriority high, segmentation begin|end
	return append(b, 0x80, 0)
}

// mcsSendDataHeaderSize is TPKT + X.224 + Send Data Request header.
const mcsSendDataHeaderSize = tpktHeaderSize + x224DataHeaderSize + 8

func finishMCSSendData(b []byte, start int) error {
	n := len(b) - start - mcsSendDataHeaderSize
	if n > 0x3FFF {
		return fmt.Errorf("rdp: MCS user data of %d bytes too long", n)
	}
	b[start+mcsSendDataHeaderSize-2] = 0x80 | byte(n>>8)
	b[start+mcsSendDataHeaderSize-1] = byte(n)
	return finishTPKT(b, start)
}

// errDisconnectUltimatum is returned when the server ends the MCS domain.
type disconnectError struct{ reason uint8 }

func (e *disconnectError) Error() string {
	return fmt.Sprintf("rdp: server disconnected (MCS Disconnect Provider Ultimatum, reason %d)", e.reason)
}

// parseMCSDomainPDU parses an MCS domain PDU from the server: a Send Data
// Indication (returning channel and user data) or a Disconnect Provider
// Ultimatum (returning an error).
func parseMCSDomainPDU(p []byte) (channelID uint16, data []byte, err error) {
	const pdu, sec = "MCS Send Data Indication", "MS-RDPBCGR 2.2.8.1.1.1.1"
	d := decoder{b: p}
	choice := d.u8()
	switch choice >> 2 {
	case mcsSendDataIndication:
	case mcsDisconnectProviderUltimatum:
		// reason is 3 bits after the 6-bit choice, straddling the first
		// two bytes (T.125 PER).
		b1 := d.u8()
		return 0, nil, &disconnectError{reason: (choice&3)<<1 | b1>>7}
	default:
		return 0, nil, protoErr(pdu, sec, "unexpected MCS PDU choice %d", choice>>2)
	}
	d.u16be() // initiator
	channelID = d.u16be()
	d.u8() // dataPriority, segmentation
	n := d.perLength()
	data = d.bytes(n)
	if d.err != nil {
		return 0, nil, protoErr(pdu, sec, "user data length %d of %d bytes", n, len(p))
	}
	return channelID, data, nil
}
