package rdp

// Connection finalization (MS-RDPBCGR 1.3.1.1 phase 9, 2.2.1.14-2.2.1.22):
// after Confirm Active the client sends Synchronize, Control Cooperate,
// Control Request Control and Font List; the server answers with the same
// and a Font Map, after which the session is active.

// Control PDU actions (2.2.1.15.1 action).
const (
	ctrlActionRequestControl = 0x0001
	ctrlActionGrantedControl = 0x0002
	ctrlActionDetach         = 0x0003
	ctrlActionCooperate      = 0x0004
)

const serverChannelID = 0x03EA // the server's MCS user ID in share PDUs

// finalizationPDUs returns the four client finalization PDUs' bodies with
// their pduType2, in order.
func finalizationPDUs() []struct {
	typ  uint8
	body []byte
} {
	sync := putU16(putU16(nil, 1), serverChannelID) // SYNCMSGTYPE_SYNC, targetUser (2.2.1.14.1)
	coop := putU32(putU16(putU16(nil, ctrlActionCooperate), 0), 0)
	req := putU32(putU16(putU16(nil, ctrlActionRequestControl), 0), 0)
	// Font List (2.2.1.18.1): no fonts, FONTLIST_FIRST|FONTLIST_LAST, entry size 50.
	fonts := putU16(putU16(putU16(putU16(nil, 0), 0), 0x0003), 0x0032)
	return []struct {
		typ  uint8
		body []byte
	}{
		{pduType2Synchronize, sync},
		{pduType2Control, coop},
		{pduType2Control, req},
		{pduType2FontList, fonts},
	}
}
