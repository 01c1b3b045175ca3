package rdp

import (
	"bytes"
	"fmt"
)

// The PDUs of the Audio Output Virtual Channel Extension (MS-RDPEA 2.2),
// named as the spec names them. Every rdpsnd PDU but the Wave PDU starts
// with an RDPSND PDU Header; rdpsnd.go runs the client's state machine.

// msgType values of the RDPSND PDU Header (2.2.1).
const (
	sndcClose       = 0x01
	sndcWave        = 0x02 // WaveInfo PDU
	sndcSetVolume   = 0x03
	sndcSetPitch    = 0x04
	sndcWaveConfirm = 0x05
	sndcTraining    = 0x06
	sndcFormats     = 0x07
	sndcCryptKey    = 0x08
	sndcWaveEncrypt = 0x09
	sndcUDPWave     = 0x0A
	sndcUDPWaveLast = 0x0B
	sndcQualityMode = 0x0C
	sndcWave2       = 0x0D
)

// dwFlags of the Client Audio Formats and Version PDU (2.2.2.2).
const (
	tssndcapsAlive  = 0x00000001
	tssndcapsVolume = 0x00000002
	tssndcapsPitch  = 0x00000004
)

// wQualityMode of the Quality Mode PDU (2.2.2.3).
const (
	dynamicQuality = 0x0000
	mediumQuality  = 0x0001
	highQuality    = 0x0002
)

const (
	sndPrologSize       = 4  // RDPSND PDU Header (2.2.1)
	audioFormatSize     = 18 // AUDIO_FORMAT without its extra data (2.2.2.1.1)
	sndWavInfoSize      = 16 // WaveInfo PDU including its header (2.2.3.3)
	sndWave2HeaderSize  = 16 // Wave2 PDU up to its data (2.2.3.10)
	maxRdpsndMessage    = sndPrologSize + 0xFFFF
	serverFormatsFixed  = 20 // SERVER_AUDIO_VERSION_AND_FORMATS after its header (2.2.2.1)
	sndWaveConfirmSize  = 8  // Wave Confirm PDU (2.2.3.8)
	sndTrainingBodySize = 4  // wTimeStamp, wPackSize (2.2.3.1, 2.2.3.2)
)

// sndProlog is an RDPSND PDU Header (SNDPROLOG, 2.2.1).
type sndProlog struct {
	msgType  uint8
	bodySize uint16 // for SNDC_WAVE, see sndWavInfo
}

// parseSndProlog reads the header of msg and returns the bytes after it.
func parseSndProlog(msg []byte) (sndProlog, []byte, error) {
	if len(msg) < sndPrologSize {
		return sndProlog{}, nil, protoErr("RDPSND PDU Header", "MS-RDPEA 2.2.1", "%d bytes", len(msg))
	}
	return sndProlog{msgType: msg[0], bodySize: uint16(msg[2]) | uint16(msg[3])<<8}, msg[sndPrologSize:], nil
}

// appendSndProlog appends an RDPSND PDU Header.
func appendSndProlog(b []byte, msgType uint8, bodySize int) []byte {
	b = append(b, msgType, 0)
	return putU16(b, uint16(bodySize))
}

// parseAudioFormat reads an AUDIO_FORMAT (2.2.2.1.1); Extra is a copy.
func parseAudioFormat(d *decoder) AudioFormat {
	f := AudioFormat{
		Tag:            d.u16(),
		Channels:       d.u16(),
		SamplesPerSec:  d.u32(),
		AvgBytesPerSec: d.u32(),
		BlockAlign:     d.u16(),
		BitsPerSample:  d.u16(),
	}
	if extra := d.bytes(int(d.u16())); len(extra) > 0 {
		f.Extra = bytes.Clone(extra)
	}
	return f
}

// appendAudioFormat appends f as an AUDIO_FORMAT (2.2.2.1.1).
func appendAudioFormat(b []byte, f AudioFormat) []byte {
	b = putU16(b, f.Tag)
	b = putU16(b, f.Channels)
	b = putU32(b, f.SamplesPerSec)
	b = putU32(b, f.AvgBytesPerSec)
	b = putU16(b, f.BlockAlign)
	b = putU16(b, f.BitsPerSample)
	b = putU16(b, uint16(len(f.Extra)))
	return append(b, f.Extra...)
}

// serverAudioVersionAndFormats is the Server Audio Formats and Version PDU
// (SERVER_AUDIO_VERSION_AND_FORMATS, 2.2.2.1). dwFlags, dwVolume, dwPitch
// and wDGramPort are unused by servers and not kept.
type serverAudioVersionAndFormats struct {
	lastBlockConfirmed uint8
	version            uint16
	formats            []AudioFormat
}

// parseServerAudioVersionAndFormats reads the PDU's body (after the header).
func parseServerAudioVersionAndFormats(body []byte) (serverAudioVersionAndFormats, error) {
	const pdu, sec = "Server Audio Formats and Version PDU", "MS-RDPEA 2.2.2.1"
	d := decoder{b: body}
	d.skip(14) // dwFlags, dwVolume, dwPitch, wDGramPort
	n := int(d.u16())
	var s serverAudioVersionAndFormats
	s.lastBlockConfirmed = d.u8()
	s.version = d.u16()
	d.skip(1) // bPad
	if d.err != nil {
		return s, protoErr(pdu, sec, "%d bytes", len(body))
	}
	// Each format takes at least audioFormatSize bytes: bound the
	// allocation by what the PDU can hold.
	if n*audioFormatSize > d.remaining() {
		return s, protoErr(pdu, sec, "wNumberOfFormats %d in %d bytes", n, d.remaining())
	}
	s.formats = make([]AudioFormat, 0, n)
	for i := range n {
		f := parseAudioFormat(&d)
		if d.err != nil {
			return s, protoErr(pdu, sec, "format %d of %d overruns the PDU", i, n)
		}
		s.formats = append(s.formats, f)
	}
	if d.remaining() != 0 {
		return s, protoErr(pdu, sec, "%d bytes after %d formats", d.remaining(), n)
	}
	return s, nil
}

// appendClientAudioVersionAndFormats appends the Client Audio Formats and
// Version PDU (CLIENT_AUDIO_VERSION_AND_FORMATS, 2.2.2.2): no UDP port,
// full volume on both channels.
func appendClientAudioVersionAndFormats(b []byte, flags uint32, version uint16, formats []AudioFormat) []byte {
	size := serverFormatsFixed
	for _, f := range formats {
		size += audioFormatSize + len(f.Extra)
	}
	b = appendSndProlog(b, sndcFormats, size)
	b = putU32(b, flags)
	b = putU32(b, 0xFFFFFFFF) // dwVolume: left and right at 0xFFFF
	b = putU32(b, 0)          // dwPitch
	b = putU16(b, 0)          // wDGramPort: no UDP
	b = putU16(b, uint16(len(formats)))
	b = append(b, 0) // cLastBlockConfirmed
	b = putU16(b, version)
	b = append(b, 0) // bPad
	for _, f := range formats {
		b = appendAudioFormat(b, f)
	}
	return b
}

// appendQualityMode appends the Quality Mode PDU (2.2.2.3).
func appendQualityMode(b []byte, mode uint16) []byte {
	b = appendSndProlog(b, sndcQualityMode, 4)
	b = putU16(b, mode)
	return putU16(b, 0) // Reserved
}

// sndTraining is the Training PDU (SNDTRAINING, 2.2.3.1); its data is
// ignored.
type sndTraining struct {
	timeStamp, packSize uint16
}

func parseSndTraining(body []byte) (sndTraining, error) {
	if len(body) < sndTrainingBodySize {
		return sndTraining{}, protoErr("Training PDU", "MS-RDPEA 2.2.3.1", "%d bytes", len(body))
	}
	d := decoder{b: body}
	return sndTraining{timeStamp: d.u16(), packSize: d.u16()}, nil
}

// appendSndTrainingConfirm appends the Training Confirm PDU
// (SNDTRAININGCONFIRM, 2.2.3.2).
func appendSndTrainingConfirm(b []byte, t sndTraining) []byte {
	b = appendSndProlog(b, sndcTraining, sndTrainingBodySize)
	b = putU16(b, t.timeStamp)
	return putU16(b, t.packSize)
}

// sndWavInfo is the WaveInfo PDU (SNDWAVINFO, 2.2.3.3): the first four
// bytes of a wave, whose rest follows in the next message, the Wave PDU.
type sndWavInfo struct {
	timeStamp uint16
	formatNo  uint16
	blockNo   uint8
	data      [4]byte
	// waveSize is the length the Wave PDU (2.2.3.4) must have, derived
	// from BodySize: the 12 bytes after this PDU's header plus the Wave
	// PDU's data after its 4-byte bPad.
	waveSize int
}

func parseSndWavInfo(h sndProlog, body []byte) (sndWavInfo, error) {
	const pdu, sec = "WaveInfo PDU", "MS-RDPEA 2.2.3.3"
	if len(body) != sndWavInfoSize-sndPrologSize {
		return sndWavInfo{}, protoErr(pdu, sec, "%d bytes after the header, want 12", len(body))
	}
	// BodySize counts this PDU after its header (12 bytes) and the Wave
	// PDU's data after its bPad: the Wave PDU is BodySize-8 bytes long
	// and holds at least its bPad.
	if h.bodySize < 12 {
		return sndWavInfo{}, protoErr(pdu, sec, "BodySize %d is less than 12", h.bodySize)
	}
	d := decoder{b: body}
	w := sndWavInfo{timeStamp: d.u16(), formatNo: d.u16(), blockNo: d.u8()}
	d.skip(3) // bPad
	copy(w.data[:], d.bytes(4))
	w.waveSize = int(h.bodySize) - 8
	return w, nil
}

// sndWave2 is the Wave2 PDU (SNDWAVE2, 2.2.3.10): a whole wave in one PDU.
type sndWave2 struct {
	timeStamp      uint16
	formatNo       uint16
	blockNo        uint8
	audioTimeStamp uint32
	data           []byte // a sub-slice of the message
}

func parseSndWave2(body []byte) (sndWave2, error) {
	if len(body) < sndWave2HeaderSize-sndPrologSize {
		return sndWave2{}, protoErr("Wave2 PDU", "MS-RDPEA 2.2.3.10", "%d bytes after the header", len(body))
	}
	d := decoder{b: body}
	w := sndWave2{timeStamp: d.u16(), formatNo: d.u16(), blockNo: d.u8()}
	d.skip(3) // bPad
	w.audioTimeStamp = d.u32()
	w.data = d.rest()
	return w, nil
}

// appendSndWavConfirm appends the Wave Confirm PDU (SNDWAV_CONFIRM, 2.2.3.8).
func appendSndWavConfirm(b []byte, timeStamp uint16, confirmedBlockNo uint8) []byte {
	b = appendSndProlog(b, sndcWaveConfirm, sndWaveConfirmSize-sndPrologSize)
	b = putU16(b, timeStamp)
	return append(b, confirmedBlockNo, 0) // bPad
}

// parseSndVol reads the Volume PDU (SNDVOL, 2.2.4.1): the left channel's
// volume in the low word, the right's in the high word.
func parseSndVol(body []byte) (left, right uint16, err error) {
	if len(body) != 4 {
		return 0, 0, protoErr("Volume PDU", "MS-RDPEA 2.2.4.1", "%d bytes after the header, want 4", len(body))
	}
	d := decoder{b: body}
	return d.u16(), d.u16(), nil
}

// checkBodySize reports a PDU whose header's BodySize disagrees with the
// bytes that follow it (for every msgType but SNDC_WAVE).
func checkBodySize(h sndProlog, body []byte) error {
	if int(h.bodySize) != len(body) {
		return protoErr(sndPDUName(h.msgType), "MS-RDPEA 2.2.1", "BodySize %d, but %d bytes follow the header", h.bodySize, len(body))
	}
	return nil
}

// sndPDUName names a server PDU by its msgType for error messages.
func sndPDUName(t uint8) string {
	switch t {
	case sndcClose:
		return "Close PDU"
	case sndcWave:
		return "WaveInfo PDU"
	case sndcSetVolume:
		return "Volume PDU"
	case sndcSetPitch:
		return "Pitch PDU"
	case sndcTraining:
		return "Training PDU"
	case sndcFormats:
		return "Server Audio Formats and Version PDU"
	case sndcWave2:
		return "Wave2 PDU"
	}
	return fmt.Sprintf("RDPSND PDU %#x", t)
}
