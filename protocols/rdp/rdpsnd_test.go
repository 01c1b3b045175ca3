package rdp

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// testAudio is an AudioHandler that records what it is given.
type testAudio struct {
	waves   []testWave
	closes  int
	volumes [][2]uint16
}

type testWave struct {
	f    AudioFormat
	at   time.Duration
	data []byte
}

func (a *testAudio) AudioWave(f AudioFormat, at time.Duration, data []byte) {
	a.waves = append(a.waves, testWave{f, at, bytes.Clone(data)})
}
func (a *testAudio) AudioClose() { a.closes++ }
func (a *testAudio) AudioVolume(left, right uint16) {
	a.volumes = append(a.volumes, [2]uint16{left, right})
}

type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time          { return f.t }
func (f *fakeClock) advance(d time.Duration) { f.t = f.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (a *testAudio) last() testWave          { return a.waves[len(a.waves)-1] }
func hx(s string) []byte                     { b, _ := hex.DecodeString(strings.Join(strings.Fields(s), "")); return b }
func sndPDU(msgType uint8, body []byte) []byte {
	return append(appendSndProlog(nil, msgType, len(body)), body...)
}
func repeatHex(s string, n int) string { return strings.Repeat(s+" ", n) }

// The MCS channels the tests' server assigns rdpsnd, rdpdr and drdynvc.
const (
	rdpsndTestChannel  = 1005
	rdpdrTestChannel   = 1006
	drdynvcTestChannel = 1007
)

// sndIndex is the index of the static channel rdpsnd in c.channels.
func sndIndex(c *Client) int { return c.snd.tr.(staticSndTransport).ch }

// audioClient is an active Client with the channels rdpsnd (ID 1005),
// rdpdr (1006) and drdynvc (1007) over a capConn, offering offer, on a fake
// clock.
func audioClient(offer ...AudioFormat) (*Client, *capConn, *testAudio, *fakeClock) {
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	a := &testAudio{}
	c.cfg.Audio, c.cfg.AudioFormats = a, offer
	c.initChannels()
	c.channels[sndIndex(c)].ID = rdpsndTestChannel
	c.channels[c.rdpdr.ch].ID = rdpdrTestChannel
	c.channels[c.dvc.ch].ID = drdynvcTestChannel
	clock := newFakeClock()
	c.audio.now = clock.now
	return c, cc, a, clock
}

// sendSnd hands msg to c as the server sends it: one channel message on
// rdpsnd, cut into chunks of CHANNEL_CHUNK_LENGTH.
func sendSnd(c *Client, msg []byte) error { return sendOn(c, rdpsndTestChannel, msg) }

// sendOn hands msg to c as one message on the static channel with MCS ID
// ch, cut into chunks of CHANNEL_CHUNK_LENGTH.
func sendOn(c *Client, ch uint16, msg []byte) error {
	return sendChunks(c, ch, msg, channelChunkLength)
}

// sendChunks is sendOn with chunks of size bytes (a server may send them
// shorter than CHANNEL_CHUNK_LENGTH).
func sendChunks(c *Client, ch uint16, msg []byte, size int) error {
	for off := 0; ; {
		n := min(len(msg)-off, size)
		var flags uint32
		if off == 0 {
			flags |= channelFlagFirst
		}
		if off+n == len(msg) {
			flags |= channelFlagLast
		}
		if err := c.handleChannelData(ch, channelPDU(len(msg), flags, msg[off:off+n])); err != nil {
			return err
		}
		if off += n; off >= len(msg) {
			return nil
		}
	}
}

// sentSnd returns the rdpsnd messages the client sent since the last call,
// reassembled from their chunks.
func sentSnd(t *testing.T, cc *capConn) [][]byte {
	t.Helper()
	return sentOn(t, cc, rdpsndTestChannel)
}

// sentOn returns the messages the client sent since the last call, all on
// the static channel with MCS ID want, reassembled from their chunks.
func sentOn(t *testing.T, cc *capConn, want uint16) [][]byte {
	t.Helper()
	out := cc.take()
	var msgs [][]byte
	var cur []byte
	for len(out) > 0 {
		n := int(out[2])<<8 | int(out[3])
		if ch := uint16(out[mcsSendDataHeaderSize-5])<<8 | uint16(out[mcsSendDataHeaderSize-4]); ch != want {
			t.Fatalf("sent on channel %d, want %d", ch, want)
		}
		d := decoder{b: out[mcsSendDataHeaderSize:n]}
		total, flags := int(d.u32()), d.u32()
		cur = append(cur, d.rest()...)
		if flags&channelFlagLast != 0 {
			if len(cur) != total {
				t.Fatalf("sent %d bytes of a %d-byte message", len(cur), total)
			}
			msgs = append(msgs, cur)
			cur = nil
		}
		out = out[n:]
	}
	return msgs
}

func expectSent(t *testing.T, cc *capConn, want ...string) {
	t.Helper()
	got := sentSnd(t, cc)
	if len(got) != len(want) {
		t.Fatalf("client sent %d messages, want %d: % x", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], hx(want[i])) {
			t.Errorf("message %d:\n got % x\nwant % x", i, got[i], hx(want[i]))
		}
	}
}

var (
	pcm44k = AudioFormat{Tag: WaveFormatPCM, Channels: 2, SamplesPerSec: 44100, AvgBytesPerSec: 176400, BlockAlign: 4, BitsPerSample: 16}
	pcm22k = AudioFormat{Tag: WaveFormatPCM, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 88200, BlockAlign: 4, BitsPerSample: 16}
	opusX  = AudioFormat{Tag: WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 44100, AvgBytesPerSec: 176400, BlockAlign: 4, BitsPerSample: 16}
)

// xrdpServerFormats is the Server Audio Formats and Version PDU as xrdp
// 0.9 sends it: version 5, cLastBlockConfirmed 0, PCM 44.1 and 22.05 kHz
// stereo and its Opus (0x0069).
const xrdpServerFormats = "07 00 4a 00" + // SNDC_FORMATS, BodySize 74
	" 00 00 00 00 00 00 00 00 00 00 00 00 00 00" + // dwFlags, dwVolume, dwPitch, wDGramPort
	" 03 00 00 05 00 00" + // wNumberOfFormats 3, cLastBlockConfirmed 0, wVersion 5, bPad
	" 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00" + // PCM 44100 Hz stereo 16 bits
	" 01 00 02 00 22 56 00 00 88 58 01 00 04 00 10 00 00 00" + // PCM 22050 Hz stereo 16 bits
	" 69 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00" // 0x0069 (xrdp's Opus) 44100 Hz stereo

// TestRdpsndXRDPSequence runs the exchange xrdp has with a client that
// offers Opus then PCM, with each PDU written out in hex from its layout
// in MS-RDPEA 2.2: formats, training, a WaveInfo+Wave pair, volume, an
// ignored Pitch PDU and xrdp's microphone negotiation, close.
func TestRdpsndXRDPSequence(t *testing.T) {
	c, cc, a, _ := audioClient(AudioFormat{Tag: WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 44100}, pcm44k)
	if err := sendSnd(c, hx(xrdpServerFormats)); err != nil {
		t.Fatal(err)
	}
	// 2.2.2.2: ALIVE|VOLUME, full volume, no UDP, version 5 (the
	// server's), the shared formats in the client's order as the server
	// described them. No Quality Mode PDU below version 6.
	expectSent(t, cc, "07 00 38 00"+ // SNDC_FORMATS, BodySize 56
		" 03 00 00 00 ff ff ff ff 00 00 00 00 00 00"+ // dwFlags, dwVolume, dwPitch, wDGramPort
		" 02 00 00 05 00 00"+ // wNumberOfFormats 2, cLastBlockConfirmed, wVersion 5, bPad
		" 69 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00"+
		" 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00")

	// 2.2.3.1 Training as xrdp sends it (wPackSize 1024, 1020 bytes of
	// data) and 2.2.3.2 Training Confirm with the same two fields.
	if err := sendSnd(c, hx("06 00 00 04 34 12 00 04"+repeatHex("00", 1020))); err != nil {
		t.Fatal(err)
	}
	expectSent(t, cc, "06 00 04 00 34 12 00 04")

	// 2.2.3.3 WaveInfo (wTimeStamp 0x2710, wFormatNo 1, cBlockNo 7, the
	// first 4 bytes of the wave; BodySize 20 = 12 + 8 more bytes of data)
	// and 2.2.3.4 Wave (bPad, then the wave's other 8 bytes).
	if err := sendSnd(c, hx("02 00 14 00 10 27 01 00 07 00 00 00 01 02 03 04")); err != nil {
		t.Fatal(err)
	}
	if len(a.waves) != 0 {
		t.Fatal("wave played before its Wave PDU")
	}
	expectSent(t, cc)
	if err := sendSnd(c, hx("00 00 00 00 05 06 07 08 09 0a 0b 0c")); err != nil {
		t.Fatal(err)
	}
	if len(a.waves) != 1 || !bytes.Equal(a.last().data, hx("01 02 03 04 05 06 07 08 09 0a 0b 0c")) ||
		!audioFormatEqual(a.last().f, pcm44k) || a.last().at != 0 {
		t.Fatalf("waves %+v", a.waves)
	}
	// 2.2.3.8 Wave Confirm: the wave's wTimeStamp and cBlockNo.
	expectSent(t, cc, "05 00 04 00 10 27 07 00")

	// 2.2.4.1 Volume: left in the low word.
	if err := sendSnd(c, hx("03 00 04 00 34 12 cd ab")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.volumes, [][2]uint16{{0x1234, 0xABCD}}) {
		t.Fatalf("volumes %v", a.volumes)
	}
	// 2.2.4.2 Pitch, which a client ignores; xrdp's SNDC_REC_NEGOTIATE (39).
	for _, m := range []string{"04 00 04 00 00 00 01 00", "27 00 0c 00 00 00 00 00 00 00 00 00 00 00 05 00"} {
		if err := sendSnd(c, hx(m)); err != nil {
			t.Fatalf("% x: %v", hx(m), err)
		}
	}
	// 2.2.3.9 Close.
	if err := sendSnd(c, hx("01 00 00 00")); err != nil {
		t.Fatal(err)
	}
	if a.closes != 1 || len(a.waves) != 1 {
		t.Fatalf("%d closes, %d waves", a.closes, len(a.waves))
	}
	expectSent(t, cc)
	if c.audio.confirms != 1 {
		t.Fatalf("%d confirms", c.audio.confirms)
	}
}

// TestRdpsndLargeWave: a wave of 8192 bytes (xrdp's PCM waves) arrives in
// 1600-byte channel chunks and is played whole.
func TestRdpsndLargeWave(t *testing.T) {
	c, cc, a, _ := audioClient()
	if err := sendSnd(c, hx(xrdpServerFormats)); err != nil {
		t.Fatal(err)
	}
	sentSnd(t, cc)
	pcm := make([]byte, 8192)
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	info := hx("02 00 08 20 ff ff 00 00 fe 00 00 00") // BodySize 0x2008 = 8192+8, wTimeStamp 0xffff, cBlockNo 254
	info = append(info, pcm[:4]...)
	if err := sendSnd(c, info); err != nil {
		t.Fatal(err)
	}
	if err := sendSnd(c, append(make([]byte, 4), pcm[4:]...)); err != nil {
		t.Fatal(err)
	}
	if len(a.waves) != 1 || !bytes.Equal(a.waves[0].data, pcm) {
		t.Fatalf("%d waves", len(a.waves))
	}
	expectSent(t, cc, "05 00 04 00 ff ff fe 00")
}

// TestRdpsndQualityMode: from version 6 the client follows its formats
// with the Quality Mode PDU (2.2.2.3, HIGH_QUALITY) and announces version
// 6 (the server's if lower).
func TestRdpsndQualityMode(t *testing.T) {
	for _, tc := range []struct {
		server, client string
		quality        bool
	}{{"02 00", "02 00", false}, {"05 00", "05 00", false}, {"06 00", "06 00", true}, {"08 00", "06 00", true}} {
		c, cc, _, _ := audioClient()
		formats := "07 00 26 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 ff " + tc.server + " 00" +
			" 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00"
		if err := sendSnd(c, hx(formats)); err != nil {
			t.Fatal(err)
		}
		want := []string{"07 00 26 00 03 00 00 00 ff ff ff ff 00 00 00 00 00 00 01 00 00 " + tc.client + " 00" +
			" 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00"}
		if tc.quality {
			want = append(want, "0c 00 04 00 02 00 00 00")
		}
		expectSent(t, cc, want...)
	}
}

// TestSpecServerAudioFormats parses MS-RDPEA 4.1.1 and answers it for a
// client offering PCM 22.05 kHz stereo and IMA ADPCM.
func TestSpecServerAudioFormats(t *testing.T) {
	msg := readHexVector(t, "ms-rdpea-4.1.1-server-audio-formats.hex")
	h, body, err := parseSndProlog(msg)
	if err != nil || h.msgType != sndcFormats || h.bodySize != 144 || len(body) != 144 {
		t.Fatalf("header %+v, %d bytes: %v", h, len(body), err)
	}
	sv, err := parseServerAudioVersionAndFormats(body)
	if err != nil {
		t.Fatal(err)
	}
	adpcmExtra := hx("f4 03 07 00 00 01 00 00 00 02 00 ff 00 00 00 00 c0 00 40 00 f0 00 00 00 cc 01 30 ff 88 01 18 ff")
	want := []AudioFormat{
		pcm22k,
		{Tag: 0x0006, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 44100, BlockAlign: 2, BitsPerSample: 8},
		{Tag: 0x0007, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 44100, BlockAlign: 2, BitsPerSample: 8},
		{Tag: 0x0002, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 22311, BlockAlign: 1024, BitsPerSample: 4, Extra: adpcmExtra},
		{Tag: 0x0011, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 22201, BlockAlign: 1024, BitsPerSample: 4, Extra: hx("f9 03")},
	}
	if sv.version != 5 || sv.lastBlockConfirmed != 255 || !slices.EqualFunc(sv.formats, want, audioFormatEqual) {
		t.Fatalf("parsed %+v", sv)
	}
	// Every truncation is refused.
	for n := range len(body) {
		if _, err := parseServerAudioVersionAndFormats(body[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}

	// Answered: IMA ADPCM first (the client's preference), PCM second,
	// each as the server described it (the extra bytes included).
	c, cc, _, _ := audioClient(AudioFormat{Tag: 0x0011, Channels: 2, SamplesPerSec: 22050}, AudioFormat{Tag: WaveFormatPCM, Channels: 2, SamplesPerSec: 22050, BitsPerSample: 16})
	if err := sendSnd(c, msg); err != nil {
		t.Fatal(err)
	}
	expectSent(t, cc, "07 00 3a 00 03 00 00 00 ff ff ff ff 00 00 00 00 00 00 02 00 00 05 00 00"+
		" 11 00 02 00 22 56 00 00 b9 56 00 00 00 04 04 00 02 00 f9 03"+
		" 01 00 02 00 22 56 00 00 88 58 01 00 04 00 10 00 00 00")
}

// TestSpecTrainingConfirm: the Training Confirm of MS-RDPEA 4.1.4 is what
// the client sends for a Training PDU with its wTimeStamp and wPackSize
// (bPad is arbitrary: 0x55 in the spec, 0 here), and parses as such.
func TestSpecTrainingConfirm(t *testing.T) {
	spec := readHexVector(t, "ms-rdpea-4.1.4-training-confirm.hex")
	h, body, err := parseSndProlog(spec)
	if err != nil || h.msgType != sndcTraining || checkBodySize(h, body) != nil {
		t.Fatalf("header %+v: %v", h, err)
	}
	tr, err := parseSndTraining(body)
	if err != nil || tr != (sndTraining{timeStamp: 0x89da, packSize: 1024}) {
		t.Fatalf("%+v %v", tr, err)
	}
	got := appendSndTrainingConfirm(nil, tr)
	spec[1] = 0 // bPad
	if !bytes.Equal(got, spec) {
		t.Fatalf("built % x, spec % x", got, spec)
	}
	for n := range 4 {
		if _, err := parseSndTraining(body[:n]); err == nil {
			t.Errorf("Training PDU of %d bytes: no error", n)
		}
	}
}

// TestSpecWave2 plays the Wave2 PDU of MS-RDPEA 4.2.4 (format #3, block 2)
// and confirms it.
func TestSpecWave2(t *testing.T) {
	msg := readHexVector(t, "ms-rdpea-4.2.4-wave2.hex")
	h, body, err := parseSndProlog(msg)
	if err != nil || h.msgType != sndcWave2 || h.bodySize != 260 || checkBodySize(h, body) != nil {
		t.Fatalf("header %+v: %v", h, err)
	}
	w, err := parseSndWave2(body)
	if err != nil || w.timeStamp != 0xa116 || w.formatNo != 3 || w.blockNo != 2 || w.audioTimeStamp != 0x0dacb8c2 ||
		len(w.data) != 248 || !bytes.HasPrefix(w.data, hx("27 0c 45 83")) || !bytes.HasSuffix(w.data, hx("53 00 55 c0")) {
		t.Fatalf("parsed %+v (%d bytes of data): %v", w, len(w.data), err)
	}
	// A session that agreed four formats (the fourth is #3).
	adpcm := AudioFormat{Tag: 0x0011, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 22201, BlockAlign: 1024, BitsPerSample: 4, Extra: hx("f9 03")}
	c, cc, a, _ := audioClient(pcm44k, pcm22k, opusX, adpcm)
	server := serverFormatsPDU(6, pcm44k, pcm22k, opusX, adpcm)
	if err := sendSnd(c, server); err != nil {
		t.Fatal(err)
	}
	sentSnd(t, cc)
	if err := sendSnd(c, msg); err != nil {
		t.Fatal(err)
	}
	if len(a.waves) != 1 || !audioFormatEqual(a.waves[0].f, adpcm) || !bytes.Equal(a.waves[0].data, w.data) {
		t.Fatalf("waves %+v", a.waves)
	}
	expectSent(t, cc, "05 00 04 00 16 a1 02 00")
}

// serverFormatsPDU builds a Server Audio Formats and Version PDU.
func serverFormatsPDU(version uint16, formats ...AudioFormat) []byte {
	var body []byte
	body = append(body, make([]byte, 14)...)
	body = putU16(body, uint16(len(formats)))
	body = append(body, 0)
	body = putU16(body, version)
	body = append(body, 0)
	for _, f := range formats {
		body = appendAudioFormat(body, f)
	}
	return sndPDU(sndcFormats, body)
}

func audioFormatEqual(a, b AudioFormat) bool {
	return a.Tag == b.Tag && a.Channels == b.Channels && a.SamplesPerSec == b.SamplesPerSec &&
		a.AvgBytesPerSec == b.AvgBytesPerSec && a.BlockAlign == b.BlockAlign && a.BitsPerSample == b.BitsPerSample &&
		bytes.Equal(a.Extra, b.Extra)
}

// TestAgreeAudioFormats: PCM matches on tag, channels, rate and bits;
// compressed formats on tag, channels and rate; the client's order wins;
// each server format is agreed once.
func TestAgreeAudioFormats(t *testing.T) {
	mono := AudioFormat{Tag: WaveFormatPCM, Channels: 1, SamplesPerSec: 44100, BitsPerSample: 16}
	pcm8 := AudioFormat{Tag: WaveFormatPCM, Channels: 2, SamplesPerSec: 44100, BitsPerSample: 8}
	server := []AudioFormat{pcm44k, pcm22k, opusX}
	for _, tc := range []struct {
		name  string
		offer []AudioFormat
		want  []AudioFormat
	}{
		{"default", defaultAudioFormats, []AudioFormat{pcm44k}},
		{"preference order", []AudioFormat{{Tag: WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 44100, BitsPerSample: 0}, pcm22k, pcm44k}, []AudioFormat{opusX, pcm22k, pcm44k}},
		{"PCM needs the bits", []AudioFormat{pcm8}, nil},
		{"channels", []AudioFormat{mono}, nil},
		{"rate", []AudioFormat{{Tag: WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 48000}}, nil},
		{"once", []AudioFormat{pcm44k, pcm44k}, []AudioFormat{pcm44k}},
		{"none offered", nil, nil},
	} {
		if got := agreeAudioFormats(tc.offer, server); !slices.EqualFunc(got, tc.want, audioFormatEqual) {
			t.Errorf("%s: agreed %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestRdpsndTimestamps: wTimeStamp unwrapped into a duration from the
// first wave, across the 16-bit wrap, pauses longer than the wrap, and a
// step back.
func TestRdpsndTimestamps(t *testing.T) {
	c, _, a, clock := audioClient(pcm44k)
	if err := sendSnd(c, serverFormatsPDU(5, pcm44k)); err != nil {
		t.Fatal(err)
	}
	stamp := uint16(65000)
	for i, step := range []struct {
		stamp int           // added to the last wTimeStamp
		local time.Duration // local time since the last wave
		want  time.Duration // the wave's at
	}{
		{0, time.Hour, 0}, // the first wave is 0 whenever it comes
		{500, 500 * time.Millisecond, 500 * time.Millisecond},
		{136, 136 * time.Millisecond, 636 * time.Millisecond}, // wraps to 100
		{-10, 5 * time.Millisecond, 636 * time.Millisecond},   // a step back counts as 0
		{100000, 100 * time.Second, 100636 * time.Millisecond},
		{40000, 40 * time.Second, 140636 * time.Millisecond},
		{20, 0, 140656 * time.Millisecond}, // waves in a burst keep the server's spacing
		{200000, 200*time.Second + 3*time.Second, 340656 * time.Millisecond},
	} {
		stamp += uint16(step.stamp)
		clock.advance(step.local)
		w := putU16(nil, stamp)
		w = append(w, 0, 0, byte(i), 0, 0, 0, 1, 2, 3, 4)
		if err := sendSnd(c, sndPDU(sndcWave2, w)); err != nil {
			t.Fatal(err)
		}
		if got := a.last().at; got != step.want {
			t.Errorf("wave %d (stamp %d after %v): at %v, want %v", i, stamp, step.local, got, step.want)
		}
	}
}

// TestRdpsndMalformed: malformed or out-of-order rdpsnd PDUs are protocol
// errors that name the PDU and MS-RDPEA, never a panic.
func TestRdpsndMalformed(t *testing.T) {
	formats := hx(xrdpServerFormats)
	info := hx("02 00 14 00 10 27 00 00 07 00 00 00 01 02 03 04") // announces a 12-byte Wave PDU
	for _, tc := range []struct {
		name string
		msgs [][]byte
	}{
		{"short header", [][]byte{hx("07 00 00")}},
		{"formats: BodySize longer", [][]byte{append(hx("07 00 4b"), formats[3:]...)}},
		{"formats: BodySize shorter", [][]byte{append(hx("07 00 49"), formats[3:]...)}},
		{"formats: too many", [][]byte{sndPDU(sndcFormats, append(putU16(make([]byte, 14), 2), 0, 5, 0, 0))}},
		{"formats: extra overruns", [][]byte{sndPDU(sndcFormats, hx("00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 05 00 00 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 05 00 01 02"))}},
		{"formats: trailing bytes", [][]byte{sndPDU(sndcFormats, append(formats[4:], 0))}},
		{"formats: truncated", [][]byte{sndPDU(sndcFormats, make([]byte, 19))}},
		{"wave before formats", [][]byte{info}},
		{"wave2 before formats", [][]byte{sndPDU(sndcWave2, hx("00 00 00 00 01 00 00 00 00 00 00 00"))}},
		{"wFormatNo out of range", [][]byte{formats, hx("02 00 14 00 10 27 02 00 07 00 00 00 01 02 03 04")}},
		{"wave2 wFormatNo out of range", [][]byte{formats, sndPDU(sndcWave2, hx("00 00 05 00 01 00 00 00 00 00 00 00 aa"))}},
		{"wave2 truncated", [][]byte{formats, sndPDU(sndcWave2, hx("00 00 00 00 01 00 00 00 00 00 00"))}},
		{"waveinfo too short", [][]byte{formats, info[:15]}},
		{"waveinfo too long", [][]byte{formats, append(bytes.Clone(info), 0)}},
		{"waveinfo BodySize below 12", [][]byte{formats, append(hx("02 00 0b 00"), info[4:]...)}},
		{"wave shorter than announced", [][]byte{formats, info, make([]byte, 11)}},
		{"wave longer than announced", [][]byte{formats, info, make([]byte, 13)}},
		{"wave without waveinfo", [][]byte{formats, hx("00 00 00 00 05 06 07 08")}},
		{"volume short", [][]byte{formats, hx("03 00 02 00 34 12")}},
		{"volume BodySize disagrees", [][]byte{formats, hx("03 00 08 00 34 12 cd ab")}},
		{"training truncated", [][]byte{hx("06 00 02 00 34 12")}},
		{"close with a body", [][]byte{hx("01 00 00 00 00")}},
	} {
		c, _, a, _ := audioClient(opusX, pcm44k)
		var err error
		for _, m := range tc.msgs {
			if err = sendSnd(c, m); err != nil {
				break
			}
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, "MS-RDPEA") {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(a.waves) != 0 {
			t.Errorf("%s: %d waves played", tc.name, len(a.waves))
		}
		t.Logf("%s: %v", tc.name, err)
	}

	// A message longer than any rdpsnd PDU is refused at its first chunk.
	c, _, _, _ := audioClient()
	err := c.handleChannelData(rdpsndTestChannel, channelPDU(maxRdpsndMessage+1, channelFlagFirst, make([]byte, 1600)))
	var pe *ProtocolError
	if !errors.As(err, &pe) || len(c.channels[sndIndex(c)].buf) != 0 {
		t.Errorf("a %d-byte message: %v", maxRdpsndMessage+1, err)
	}
}

// TestRdpsndChannel: Config.Audio requests the static channels "rdpsnd",
// "rdpdr" (without which Windows sends no sound) and "drdynvc" (for
// AUDIO_PLAYBACK_DVC) in the Client Network Data; without it no channel is
// requested.
func TestRdpsndChannel(t *testing.T) {
	c, _ := testClient()
	c.initChannels()
	if c.snd != nil || c.dvc != nil || c.rdpdr != nil || len(c.channels) != 0 {
		t.Fatal("a channel without Config.Audio")
	}
	blocks := clientDataBlocks(&c.cfg, protocolSSL, c.channels)
	for _, name := range []string{"rdpsnd", "rdpdr", "drdynvc"} {
		if bytes.Contains(blocks, []byte(name)) {
			t.Fatalf("%s in the client data blocks without Config.Audio", name)
		}
	}
	c, _, _, _ = audioClient()
	want := []struct {
		name    string
		options uint32
	}{
		{"rdpsnd", channelOptionInitialized | channelOptionEncryptRDP},
		{"rdpdr", channelOptionInitialized | channelOptionCompressRDP},
		{"drdynvc", channelOptionInitialized | channelOptionEncryptRDP | channelOptionCompressRDP},
	}
	if len(c.channels) != len(want) {
		t.Fatalf("channels %+v", c.channels)
	}
	blocks = clientDataBlocks(&c.cfg, protocolSSL, c.channels)
	for i, w := range want {
		if c.channels[i].Name != w.name || c.channels[i].Options != w.options {
			t.Errorf("channel %d: %q %#x, want %q %#x", i, c.channels[i].Name, c.channels[i].Options, w.name, w.options)
		}
		def := append([]byte(w.name), make([]byte, 8-len(w.name))...)
		if !bytes.Contains(blocks, putU32(def, w.options)) {
			t.Errorf("no %s CHANNEL_DEF in the client data blocks", w.name)
		}
	}
	if !slices.EqualFunc(c.audio.offer, defaultAudioFormats, audioFormatEqual) {
		t.Fatalf("offer %+v", c.audio.offer)
	}
}

// TestRdpsndRunEnds: a malformed rdpsnd PDU from the server ends Run with
// the protocol error (the session's existing error path).
func TestRdpsndRunEnds(t *testing.T) {
	info := hx("02 00 14 00 10 27 00 00 07 00 00 00 01 02 03 04")
	for name, msgs := range map[string][][]byte{
		"wave length":      {hx(xrdpServerFormats), info, hx("00 00 00 00 05")},
		"wFormatNo":        {hx(xrdpServerFormats), hx("02 00 14 00 10 27 09 00 07 00 00 00 01 02 03 04")},
		"formats overflow": {sndPDU(sndcFormats, append(putU16(make([]byte, 14), 0xFFFF), 0, 5, 0, 0))},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := testClient()
			a := &testAudio{}
			c.cfg.Audio = a
			c.initChannels()
			c.channels[0].ID = rdpsndTestChannel
			client, server := net.Pipe()
			defer server.Close()
			c.conn, c.tcp, c.fr = client, client, newFrameReader(client)
			go io.Copy(io.Discard, server) // the client's PDUs
			go func() {
				for _, m := range msgs {
					frame := sendDataIndication(rdpsndTestChannel, channelPDU(len(m), channelFlagFirst|channelFlagLast, m))
					frame = append([]byte{3, 0, byte((len(frame) + 4) >> 8), byte(len(frame) + 4)}, frame...)
					if _, err := server.Write(frame); err != nil {
						return
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := c.Run(ctx)
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, "MS-RDPEA") || len(a.waves) != 0 {
				t.Fatalf("Run: %v (%d waves)", err, len(a.waves))
			}
			t.Logf("Run: %v", err)
		})
	}
}
