package rdp

import "time"

// Audio output redirection: the client side of the Audio Output Virtual
// Channel Extension (MS-RDPEA 3.2). The server offers its formats; the
// client answers with those it shares, in its own order of preference, and
// the server then sends waves in one of them, which the client confirms.
// The PDUs are in rdpsnd_pdu.go.
//
// Transports (MS-RDPEA 2.1): the static virtual channel "rdpsnd", or the
// dynamic virtual channel "AUDIO_PLAYBACK_DVC" (drdynvc.go). The PDUs and
// their sequence are the same on both; each rdpsnd runs the state machine
// for one transport and sends its answers (Training Confirm, Wave
// Confirm...) back on the transport the server used, through sndTransport.
// A WaveInfo PDU and its Wave PDU are two messages on either transport
// (2.2.3.4). "AUDIO_PLAYBACK_LOSSY_DVC" (UDP, MS-RDPEUDP) is not
// supported, nor are the UDP PDUs of the static channel (no wDGramPort).
// A new DVC after a closed one starts over with the formats.
//
// Servers seen: xrdp 0.9 (chansrv) announces version 5, sends its formats
// (PCM 44.1 kHz and 22.05 kHz stereo, and Opus as tag 0x0069 when built
// with libopus) as soon as the channel is up, waits for the client's, then
// trains and sends WaveInfo+Wave pairs. It picks the client's PCM 44.1 kHz
// stereo format for PCM and switches to Opus when the client lists 0x0069
// (the format's place in the client's list does not matter to it). xrdp
// uses the static channel even when drdynvc is up. Windows servers send
// nothing on rdpsnd unless the client also requests the device
// redirection channel "rdpdr" (MS-RDPEA 2.1, product behavior note 1):
// with Config.Audio the client requests it (rdpdr.go) and drdynvc too.

// Wave format tags (wFormatTag of AUDIO_FORMAT, MS-RDPEA 2.2.2.1.1).
const (
	WaveFormatPCM = 0x0001
	WaveFormatMP3 = 0x0055
	// WaveFormatOpusXRDP is the tag xrdp gives Opus. xrdp announces it with
	// nSamplesPerSec 44100, but its encoder runs at 48 kHz and is fed the
	// 44.1 kHz PCM as is: each packet is 2880 samples (60 ms at 48 kHz)
	// of 44.1 kHz sound, 65.3 ms of it. A player must decode at 48 kHz
	// and play the result at 44.1 kHz (or resample by 48/44.1).
	WaveFormatOpusXRDP = 0x0069
	WaveFormatOpus     = 0x704F
	WaveFormatAAC      = 0xA106
)

// AudioFormat is an AUDIO_FORMAT (MS-RDPEA 2.2.2.1.1).
type AudioFormat struct {
	Tag            uint16 // wFormatTag: 0x0001 PCM, 0x0055 MP3, 0x0069 Opus as xrdp numbers it, 0x704F Opus, 0xA106 AAC
	Channels       uint16
	SamplesPerSec  uint32
	AvgBytesPerSec uint32
	BlockAlign     uint16
	BitsPerSample  uint16
	Extra          []byte // cbSize bytes that follow
}

// AudioHandler receives sound from the server. Its methods are called on Run's
// goroutine and must not block; data is valid only during the call.
type AudioHandler interface {
	// AudioWave is one wave (WaveInfo+Wave or Wave2) in format f. at is the server's
	// timestamp for it (wTimeStamp, ms, 16 bits on the wire) unwrapped into a duration
	// that grows monotonically from 0 at the first wave of the connection.
	//
	// The 16-bit timestamp wraps every 65.536 s; the client counts the
	// wraps from its own clock (the time between two waves), so pauses
	// of any length are measured right, and a timestamp that steps back
	// counts as no time. xrdp stamps each wave with its wall clock when
	// it sends it.
	AudioWave(f AudioFormat, at time.Duration, data []byte)
	// AudioClose: the server closed the stream (SNDC_CLOSE); sound may resume later.
	AudioClose()
	// AudioVolume: SNDC_VOLUME, left and right 0-0xFFFF.
	AudioVolume(left, right uint16)
}

// defaultAudioFormats is what the client offers when Config.AudioFormats
// is empty: PCM, 44.1 kHz, stereo, 16 bits.
var defaultAudioFormats = []AudioFormat{{
	Tag: WaveFormatPCM, Channels: 2, SamplesPerSec: 44100, AvgBytesPerSec: 176400, BlockAlign: 4, BitsPerSample: 16,
}}

// rdpsndVersion is the protocol version the client announces (lowered to
// the server's): 6 has the Quality Mode PDU; 8 would allow Wave2.
const rdpsndVersion = 6

// audioOut is the audio output state a Client's rdpsnd instances share:
// the handler, the formats offered and the timestamp unwrapping, so that
// AudioWave's times grow monotonically across transports and channels.
type audioOut struct {
	h     AudioHandler
	offer []AudioFormat // the client's formats, in order of preference
	now   func() time.Time

	// Timestamp unwrapping (see AudioHandler.AudioWave).
	started   bool
	lastStamp uint16
	lastLocal time.Time
	at        time.Duration

	confirms int // Wave Confirm PDUs sent, for tests
}

// sndTransport carries the client's rdpsnd PDUs back to the server: the
// static channel "rdpsnd" or a DVC "AUDIO_PLAYBACK_DVC" (*dvcChannel).
type sndTransport interface {
	send(msg []byte) error
}

// staticSndTransport is the static channel c.channels[ch].
type staticSndTransport struct {
	c  *Client
	ch int
}

func (t staticSndTransport) send(msg []byte) error {
	return t.c.sendChannel(t.c.channels[t.ch].ID, msg)
}

// rdpsnd is the client's state for one rdpsnd transport. It is used on
// Run's goroutine only (and during Dial's finalization, before Run).
type rdpsnd struct {
	c  *Client
	a  *audioOut
	tr sndTransport

	version uint16        // the server's wVersion
	formats []AudioFormat // the agreed list, which wFormatNo indexes

	// A WaveInfo PDU arrived; the next message is its Wave PDU.
	waitWave bool
	info     sndWavInfo
	wave     []byte // scratch: WaveInfo's 4 bytes plus the Wave PDU's rest
	out      []byte // scratch for the PDUs the client sends
	// playing: a wave was played since the last SNDC_CLOSE.
	playing bool
}

// audioPlaybackDVC is the DVC listener name for audio output over a
// reliable transport (MS-RDPEA 2.1).
const audioPlaybackDVC = "AUDIO_PLAYBACK_DVC"

// initAudio requests, when the configuration has an AudioHandler, the
// channels sound can come on: the static channel rdpsnd, the device
// redirection channel rdpdr (without which Windows sends no sound) and
// drdynvc with a listener for AUDIO_PLAYBACK_DVC. It runs before the
// connection sequence; it returns the DVC listener for initDrdynvc, or
// none.
func (c *Client) initAudio() []dvcListener {
	if c.cfg.Audio == nil {
		return nil
	}
	a := &audioOut{h: c.cfg.Audio, offer: c.cfg.AudioFormats, now: time.Now}
	if len(a.offer) == 0 {
		a.offer = defaultAudioFormats
	}
	c.audio = a
	s := &rdpsnd{c: c, a: a, tr: staticSndTransport{c: c, ch: len(c.channels)}}
	c.addChannelLimit("rdpsnd", channelOptionEncryptRDP, maxRdpsndMessage, s.handle)
	c.snd = s
	c.initRdpdr()
	return []dvcListener{{name: audioPlaybackDVC, limit: maxRdpsndMessage, open: func(ch *dvcChannel) dvcHandler {
		return &rdpsndDVC{rdpsnd{c: c, a: a, tr: ch}}
	}}}
}

// rdpsndDVC is rdpsnd on an AUDIO_PLAYBACK_DVC channel.
type rdpsndDVC struct{ rdpsnd }

// closed: the DVC closed; a stream that was playing ends as with
// SNDC_CLOSE.
func (s *rdpsndDVC) closed() {
	if s.playing {
		s.playing = false
		s.a.h.AudioClose()
	}
}

// handle receives one complete rdpsnd message (MS-RDPEA 3.2.5).
func (s *rdpsnd) handle(msg []byte) error {
	if s.waitWave {
		s.waitWave = false
		return s.handleWave(msg)
	}
	h, body, err := parseSndProlog(msg)
	if err != nil {
		return err
	}
	switch h.msgType {
	case sndcFormats:
		if err := checkBodySize(h, body); err != nil {
			return err
		}
		return s.handleFormats(body)
	case sndcTraining:
		if err := checkBodySize(h, body); err != nil {
			return err
		}
		t, err := parseSndTraining(body)
		if err != nil {
			return err
		}
		// 3.2.5.1.1.5: the same wTimeStamp and wPackSize.
		return s.send(appendSndTrainingConfirm(s.out[:0], t))
	case sndcWave:
		info, err := parseSndWavInfo(h, body)
		if err != nil {
			return err
		}
		if err := s.checkFormatNo("WaveInfo PDU", "MS-RDPEA 2.2.3.3", info.formatNo); err != nil {
			return err
		}
		s.info, s.waitWave = info, true
		return nil
	case sndcWave2:
		// 2.2.3.10: for versions 8 and later, which this client does not
		// announce; taken all the same, since it is complete in itself.
		if err := checkBodySize(h, body); err != nil {
			return err
		}
		w, err := parseSndWave2(body)
		if err != nil {
			return err
		}
		if err := s.checkFormatNo("Wave2 PDU", "MS-RDPEA 2.2.3.10", w.formatNo); err != nil {
			return err
		}
		return s.play(w.timeStamp, w.formatNo, w.blockNo, w.data)
	case sndcClose:
		if err := checkBodySize(h, body); err != nil {
			return err
		}
		s.playing = false
		s.a.h.AudioClose()
		return nil
	case sndcSetVolume:
		if err := checkBodySize(h, body); err != nil {
			return err
		}
		left, right, err := parseSndVol(body)
		if err != nil {
			return err
		}
		s.a.h.AudioVolume(left, right)
		return nil
	}
	if h.msgType == 0 {
		// A Wave PDU (2.2.3.4) has no header and starts with a zero
		// bPad; no PDU has msgType 0.
		return protoErr("Wave PDU", "MS-RDPEA 2.2.3.4", "without a WaveInfo PDU before it (msgType 0)")
	}
	// Pitch (which a client MUST ignore, 2.2.4.2), Crypt Key and the UDP
	// PDUs (no UDP port is offered), and anything else, such as xrdp's
	// microphone negotiation (msgType 39, sent on this channel when xrdp
	// is built for it).
	s.c.log.Debug("rdp: rdpsnd PDU ignored", "msgType", h.msgType, "bytes", len(msg))
	return nil
}

// handleFormats answers the Server Audio Formats and Version PDU with the
// Client Audio Formats and Version PDU and, from version 6, the Quality
// Mode PDU (3.2.5.1.1.1-3).
func (s *rdpsnd) handleFormats(body []byte) error {
	sv, err := parseServerAudioVersionAndFormats(body)
	if err != nil {
		return err
	}
	s.version = sv.version
	s.formats = agreeAudioFormats(s.a.offer, sv.formats)
	version := min(uint16(rdpsndVersion), sv.version)
	s.c.log.Debug("rdp: rdpsnd formats", "serverVersion", sv.version, "serverFormats", sv.formats, "agreed", s.formats)
	msg := appendClientAudioVersionAndFormats(s.out[:0], tssndcapsAlive|tssndcapsVolume, version, s.formats)
	if err := s.send(msg); err != nil {
		return err
	}
	if version >= 6 {
		return s.send(appendQualityMode(s.out[:0], highQuality))
	}
	return nil
}

// agreeAudioFormats returns the server's formats that the client offers,
// in the client's order of preference (each server format once). PCM
// matches on tag, channels, rate and bits per sample; other formats on
// tag, channels and rate. The entries are the server's, as the client's
// list must be a subset of the server's (3.2.5.1.1.2).
func agreeAudioFormats(offer, server []AudioFormat) []AudioFormat {
	var agreed []AudioFormat
	used := make([]bool, len(server))
	for _, want := range offer {
		for i, have := range server {
			if !used[i] && audioFormatMatches(want, have) {
				used[i] = true
				agreed = append(agreed, have)
				break
			}
		}
	}
	return agreed
}

func audioFormatMatches(want, have AudioFormat) bool {
	if want.Tag != have.Tag || want.Channels != have.Channels || want.SamplesPerSec != have.SamplesPerSec {
		return false
	}
	return want.Tag != WaveFormatPCM || want.BitsPerSample == have.BitsPerSample
}

func (s *rdpsnd) checkFormatNo(pdu, sec string, n uint16) error {
	if int(n) >= len(s.formats) {
		return protoErr(pdu, sec, "wFormatNo %d, but %d formats were agreed", n, len(s.formats))
	}
	return nil
}

// handleWave takes the Wave PDU (2.2.3.4) that follows a WaveInfo PDU: its
// first 4 bytes (bPad) stand for the 4 bytes the WaveInfo PDU carried.
func (s *rdpsnd) handleWave(msg []byte) error {
	if len(msg) != s.info.waveSize {
		return protoErr("Wave PDU", "MS-RDPEA 2.2.3.4", "%d bytes, but the WaveInfo PDU's BodySize %d announced %d", len(msg), s.info.waveSize+8, s.info.waveSize)
	}
	s.wave = append(append(s.wave[:0], s.info.data[:]...), msg[4:]...)
	return s.play(s.info.timeStamp, s.info.formatNo, s.info.blockNo, s.wave)
}

// play hands a wave to the AudioHandler and confirms it (3.2.5.2.1.6).
// The confirm's wTimeStamp is the wave's own plus the time between
// receiving the wave and confirming it, which is nothing here: racgate
// forwards sound at once and leaves buffering to the browser.
func (s *rdpsnd) play(stamp, formatNo uint16, blockNo uint8, data []byte) error {
	s.playing = true
	s.a.h.AudioWave(s.formats[formatNo], s.a.unwrap(stamp), data)
	s.a.confirms++
	return s.send(appendSndWavConfirm(s.out[:0], stamp, blockNo))
}

// unwrap turns a wave's 16-bit millisecond timestamp into a duration since
// the connection's first wave. Of the deltas stamp-lastStamp+k*65536 it
// takes the one closest to the local time since the last wave, so that a
// pause longer than the 65.536 s wrap is not lost; a negative delta (a
// timestamp stepping back) counts as 0.
func (s *audioOut) unwrap(stamp uint16) time.Duration {
	now := s.now()
	if !s.started {
		s.started, s.lastStamp, s.lastLocal = true, stamp, now
		return 0
	}
	elapsed := now.Sub(s.lastLocal).Milliseconds()
	d := int64(stamp - s.lastStamp) // 0..65535
	d += floorDiv(elapsed-d+1<<15, 1<<16) << 16
	if d > 0 {
		s.at += time.Duration(d) * time.Millisecond
	}
	s.lastStamp, s.lastLocal = stamp, now
	return s.at
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// send sends one message on the transport the server used and keeps msg's
// buffer as scratch for the next.
func (s *rdpsnd) send(msg []byte) error {
	s.out = msg
	return s.tr.send(msg)
}
