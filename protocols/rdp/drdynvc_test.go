package rdp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// The server's side of MS-RDPEDYC, for the tests' fake server.

// appendDynvcCapsVersion appends DYNVC_CAPS_VERSION1-3 (2.2.1.1): the
// PriorityCharges from version 2 on, and Sp 2 for them as in the sample of
// 4.1.1 (Sp is unused).
func appendDynvcCapsVersion(b []byte, version uint16, charges [4]uint16) []byte {
	h := dynvcHeader{cmd: dynvcCapabilities}
	if version >= 2 {
		h.sp = 2
	}
	b = append(b, h.byte(), 0)
	b = putU16(b, version)
	if version >= 2 {
		for _, c := range charges {
			b = putU16(b, c)
		}
	}
	return b
}

// appendDynvcCreateReq appends DYNVC_CREATE_REQ (2.2.2.1) with the smallest
// cbId that holds id.
func appendDynvcCreateReq(b []byte, id uint32, pri uint8, name string) []byte {
	code := dynvcUintCode(id)
	b = append(b, dynvcHeader{cbID: code, sp: pri, cmd: dynvcCreate}.byte())
	b = appendDynvcUint(b, id, code)
	b = append(b, name...)
	return append(b, 0)
}

// dvcFragments cuts msg for channel id as a server would: a DYNVC_DATA_FIRST
// with the first `first` bytes, then DYNVC_DATA PDUs of at most `size`
// bytes of data. first < 0 sends one DYNVC_DATA.
func dvcFragments(id uint32, msg []byte, first, size int) [][]byte {
	if first < 0 {
		return [][]byte{appendDynvcData(nil, id, msg)}
	}
	pdus := [][]byte{appendDynvcDataFirst(nil, id, uint32(len(msg)), msg[:first])}
	for off := first; off < len(msg); off += size {
		pdus = append(pdus, appendDynvcData(nil, id, msg[off:min(off+size, len(msg))]))
	}
	return pdus
}

// sendDVC hands each PDU to c as one message on drdynvc.
func sendDVC(t *testing.T, c *Client, pdus ...[]byte) {
	t.Helper()
	for _, p := range pdus {
		if err := sendOn(c, drdynvcTestChannel, p); err != nil {
			t.Fatalf("% x: %v", p[:min(len(p), 16)], err)
		}
	}
}

// sentDVC returns the DVC PDUs the client sent since the last call (all on
// drdynvc), checking that none is longer than 1,600 bytes.
func sentDVC(t *testing.T, cc *capConn) [][]byte {
	t.Helper()
	pdus := sentOn(t, cc, drdynvcTestChannel)
	for _, p := range pdus {
		if len(p) > dynvcMaxPDU {
			t.Fatalf("client sent a %d-byte DVC PDU", len(p))
		}
	}
	return pdus
}

// expectDVC checks the PDUs the client sent on drdynvc.
func expectDVC(t *testing.T, cc *capConn, want ...string) {
	t.Helper()
	got := sentDVC(t, cc)
	if len(got) != len(want) {
		t.Fatalf("client sent %d DVC PDUs, want %d: % x", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], hx(want[i])) {
			t.Errorf("DVC PDU %d:\n got % x\nwant % x", i, got[i], hx(want[i]))
		}
	}
}

// dvcMessages reassembles the client's data PDUs into messages per channel,
// in order; a PDU that is not data fails the test.
func dvcMessages(t *testing.T, pdus [][]byte) (ids []uint32, msgs [][]byte) {
	t.Helper()
	var cur []byte
	var total int
	for _, p := range pdus {
		h := parseDynvcHeader(p[0])
		switch h.cmd {
		case dynvcDataFirst:
			d, err := parseDynvcDataFirst(h, p[1:])
			if err != nil || cur != nil {
				t.Fatalf("client's DYNVC_DATA_FIRST % x: %v", p[:8], err)
			}
			if int(d.length) <= dynvcMaxSingleData {
				t.Fatalf("client fragmented a %d-byte message", d.length)
			}
			if len(d.data) == int(d.length) { // the whole message (2.2.3.1)
				ids, msgs = append(ids, d.channelID), append(msgs, bytes.Clone(d.data))
				continue
			}
			cur, total = append([]byte{}, d.data...), int(d.length)
		case dynvcData:
			d, err := parseDynvcData(h, p[1:])
			if err != nil {
				t.Fatal(err)
			}
			if h.sp != 0 {
				t.Errorf("client's DYNVC_DATA with Sp %d", h.sp)
			}
			if cur == nil {
				ids, msgs = append(ids, d.channelID), append(msgs, bytes.Clone(d.data))
				continue
			}
			cur = append(cur, d.data...)
			if len(cur) == total {
				ids, msgs = append(ids, d.channelID), append(msgs, cur)
				cur = nil
			}
		default:
			t.Fatalf("client sent % x, want data", p)
		}
	}
	if cur != nil {
		t.Fatalf("client sent %d of %d bytes", len(cur), total)
	}
	return ids, msgs
}

// TestSpecDynvcPDUs parses and builds the annotated samples of MS-RDPEDYC 4.
func TestSpecDynvcPDUs(t *testing.T) {
	// 4.1.1 and 4.1.2: the Capabilities Request of a version-2 server and
	// the client's response.
	req := readHexVector(t, "ms-rdpedyc-4.1.1-caps-request-version2.hex")
	h := parseDynvcHeader(req[0])
	if h.cmd != dynvcCapabilities || h.sp != 2 || h.cbID != 0 {
		t.Fatalf("header %+v", h)
	}
	caps, err := parseDynvcCaps(h, req[1:])
	if err != nil || caps.version != 2 || caps.charges != [4]uint16{0x3333, 0x1111, 0x0a3d, 0x04a7} {
		t.Fatalf("%+v %v", caps, err)
	}
	if got, want := appendDynvcCapsRsp(nil, 2), readHexVector(t, "ms-rdpedyc-4.1.2-caps-response.hex"); !bytes.Equal(got, want) {
		t.Fatalf("DYNVC_CAPS_RSP % x, spec % x", got, want)
	}
	if got := appendDynvcCapsVersion(nil, 2, caps.charges); !bytes.Equal(got, req) {
		t.Fatalf("built % x, spec % x", got, req)
	}
	for n := 1; n < len(req); n++ {
		if _, err := parseDynvcCaps(h, req[1:n]); err == nil {
			t.Errorf("caps truncated to %d bytes: no error", n)
		}
	}

	// 4.2.1: Create Request for "testdvc" on channel 3.
	cr := readHexVector(t, "ms-rdpedyc-4.2.1-create-request.hex")
	h = parseDynvcHeader(cr[0])
	r, err := parseDynvcCreateReq(h, cr[1:])
	if err != nil || h.cmd != dynvcCreate || r != (dynvcCreateReq{channelID: 3, name: "testdvc"}) {
		t.Fatalf("%+v %+v %v", h, r, err)
	}
	if got := appendDynvcCreateReq(nil, 3, 0, "testdvc"); !bytes.Equal(got, cr) {
		t.Fatalf("built % x, spec % x", got, cr)
	}
	for n := 1; n < len(cr); n++ {
		if _, err := parseDynvcCreateReq(h, cr[1:n]); err == nil {
			t.Errorf("create truncated to %d bytes: no error", n)
		}
	}

	// 4.3.2 (its first line): a Data PDU whose Sp is 1, which the
	// receiver ignores.
	dp := readHexVector(t, "ms-rdpedyc-4.3.2-data-line1.hex")
	h = parseDynvcHeader(dp[0])
	d, err := parseDynvcData(h, dp[1:])
	if err != nil || h.cmd != dynvcData || h.sp != 1 || d.channelID != 3 || string(d.data) != strings.Repeat("q", 14) {
		t.Fatalf("%+v %+v %v", h, d, err)
	}

	// 4.3.3: a Data First Compressed PDU (channel 3, Length 3195), which
	// this client, not doing version 3, refuses.
	cp := readHexVector(t, "ms-rdpedyc-4.3.3-data-first-compressed.hex")
	if h := parseDynvcHeader(cp[0]); h.cmd != dynvcDataFirstCompressed || h.sp != 1 {
		t.Fatalf("header %+v", h)
	}
	c, cc, _, _ := audioClient()
	sendDVC(t, c, appendDynvcCapsVersion(nil, 3, [4]uint16{}), appendDynvcCreateReq(nil, 3, 0, audioPlaybackDVC))
	expectDVC(t, cc, "50 00 02 00", "10 03 00 00 00 00")
	var pe *ProtocolError
	if err := sendOn(c, drdynvcTestChannel, cp); !errors.As(err, &pe) || !strings.Contains(pe.Reason, "compress") {
		t.Fatalf("compressed data: %v", err)
	}

	// 4.4.1: Close of channel 3, both ways.
	cl := readHexVector(t, "ms-rdpedyc-4.4.1-close.hex")
	h = parseDynvcHeader(cl[0])
	if id, err := parseDynvcClose(h, cl[1:]); err != nil || h.cmd != dynvcClose || id != 3 {
		t.Fatalf("close %d: %v", id, err)
	}
	if got := appendDynvcClose(nil, 3); !bytes.Equal(got, cl) {
		t.Fatalf("built % x, spec % x", got, cl)
	}
}

// TestDynvcFieldEncodings: cbId and Len select 1, 2 or 4 bytes (3 is
// invalid), and the client picks the smallest that holds the value.
func TestDynvcFieldEncodings(t *testing.T) {
	for _, tc := range []struct {
		id   uint32
		want string // DYNVC_CREATE_RSP with S_OK
	}{
		{0, "10 00 00 00 00 00"},
		{0xFF, "10 ff 00 00 00 00"},
		{0x100, "11 00 01 00 00 00 00"},
		{0xFFFF, "11 ff ff 00 00 00 00"},
		{0x10000, "12 00 00 01 00 00 00 00 00"},
		{0x12345678, "12 78 56 34 12 00 00 00 00"},
	} {
		if got := appendDynvcCreateRsp(nil, tc.id, hresultOK); !bytes.Equal(got, hx(tc.want)) {
			t.Errorf("ChannelId %#x: % x, want %s", tc.id, got, tc.want)
		}
		req := appendDynvcCreateReq(nil, tc.id, 3, "x")
		r, err := parseDynvcCreateReq(parseDynvcHeader(req[0]), req[1:])
		if err != nil || r.channelID != tc.id || r.pri != 3 || r.name != "x" {
			t.Errorf("ChannelId %#x: parsed %+v %v", tc.id, r, err)
		}
	}
	for _, length := range []uint32{0, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFFFFFF} {
		p := appendDynvcDataFirst(nil, 0x1234, length, nil)
		h := parseDynvcHeader(p[0])
		if h.cbID != 1 || h.sp != dynvcUintCode(length) || len(p) != 3+dynvcUintSize(h.sp) {
			t.Errorf("Length %#x: % x", length, p)
		}
		d, err := parseDynvcDataFirst(h, p[1:])
		if err != nil || d.length != length || d.channelID != 0x1234 {
			t.Errorf("Length %#x: parsed %+v %v", length, d, err)
		}
	}
	// The exact bytes of a Data First with a 4-byte ChannelId and a
	// 2-byte Length: cbId 2, Len 1, Cmd 2.
	if got := appendDynvcDataFirst(nil, 0x01020304, 0x0506, []byte{7}); !bytes.Equal(got, hx("26 04 03 02 01 06 05 07")) {
		t.Errorf("DYNVC_DATA_FIRST % x", got)
	}
	var pe *ProtocolError
	for name, p := range map[string][]byte{
		"create cbId 3":     hx("13 01 02 03 04 61 00"),
		"data cbId 3":       hx("33 01 02 03 04 61"),
		"data first cbId 3": hx("23 01 02 03 04 05"),
		"data first Len 3":  hx("2c 01 02 03 04 05 06"),
		"close cbId 3":      hx("43 01 02 03 04"),
	} {
		h := parseDynvcHeader(p[0])
		var err error
		switch h.cmd {
		case dynvcCreate:
			_, err = parseDynvcCreateReq(h, p[1:])
		case dynvcData:
			_, err = parseDynvcData(h, p[1:])
		case dynvcDataFirst:
			_, err = parseDynvcDataFirst(h, p[1:])
		case dynvcClose:
			_, err = parseDynvcClose(h, p[1:])
		}
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, "MS-RDPEDYC") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDrdynvcAudio is a scripted server that plays sound over
// AUDIO_PLAYBACK_DVC: DVC capabilities, the channel's creation, formats,
// training and waves in Data First + Data fragments, the client's answers
// coming back on the DVC (and nothing on the static rdpsnd); a refused
// channel; a close by the server, a second channel, a close by the client.
func TestDrdynvcAudio(t *testing.T) {
	c, cc, a, clock := audioClient(AudioFormat{Tag: WaveFormatOpusXRDP, Channels: 2, SamplesPerSec: 44100}, pcm44k)

	// A version-3 server (with the PriorityCharges of 4.1.1): the client
	// answers version 2, as it does not decompress.
	sendDVC(t, c, appendDynvcCapsVersion(nil, 3, [4]uint16{0x3333, 0x1111, 0x0a3d, 0x04a7}))
	expectDVC(t, cc, "50 00 02 00")
	if c.dvc.version != 2 || c.dvc.charges[3] != 0x04a7 {
		t.Fatalf("version %d, charges %v", c.dvc.version, c.dvc.charges)
	}

	// AUDIO_PLAYBACK_DVC on ChannelId 0x1234 (cbId 1), priority class 2:
	// accepted with S_OK.
	const id = 0x1234
	sendDVC(t, c, appendDynvcCreateReq(nil, id, 2, audioPlaybackDVC))
	expectDVC(t, cc, "11 34 12 00 00 00 00")
	if ch := c.dvc.open[id]; ch == nil || ch.pri != 2 || ch.name != audioPlaybackDVC {
		t.Fatalf("channel %+v", c.dvc.open[id])
	}

	// The formats in a Data First of 30 bytes and a Data of the rest; the
	// client's formats come back in one DYNVC_DATA on the channel, the
	// same bytes as on the static channel (TestRdpsndXRDPSequence).
	sendDVC(t, c, dvcFragments(id, hx(xrdpServerFormats), 30, 1000)...)
	clientFormats := "07 00 38 00 03 00 00 00 ff ff ff ff 00 00 00 00 00 00 02 00 00 05 00 00" +
		" 69 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00" +
		" 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00"
	expectDVC(t, cc, "31 34 12 "+clientFormats)

	// Training in one Data PDU; its confirm on the DVC.
	sendDVC(t, c, dvcFragments(id, hx("06 00 00 04 34 12 00 04"+repeatHex("00", 1020)), -1, 0)...)
	expectDVC(t, cc, "31 34 12 06 00 04 00 34 12 00 04")

	// WaveInfo, then its 8,192-byte Wave PDU in a Data First (2-byte
	// Length) and Data PDUs of at most 1,600 bytes.
	pcm := make([]byte, 8192)
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	sendDVC(t, c, dvcFragments(id, append(hx("02 00 08 20 10 27 01 00 07 00 00 00"), pcm[:4]...), -1, 0)...)
	if len(a.waves) != 0 {
		t.Fatal("wave played before its Wave PDU")
	}
	expectDVC(t, cc)
	wave := dvcFragments(id, append(make([]byte, 4), pcm[4:]...), dynvcMaxPDU-5, dynvcMaxPDU-3)
	if len(wave) != 6 || len(wave[0]) != dynvcMaxPDU || parseDynvcHeader(wave[0][0]).sp != 1 {
		t.Fatalf("%d fragments", len(wave))
	}
	sendDVC(t, c, wave...)
	if len(a.waves) != 1 || !bytes.Equal(a.waves[0].data, pcm) || !audioFormatEqual(a.waves[0].f, pcm44k) {
		t.Fatalf("%d waves", len(a.waves))
	}
	expectDVC(t, cc, "31 34 12 05 00 04 00 10 27 07 00")

	// A Wave2 PDU (2.2.3.10) in one Data PDU, 500 ms later.
	clock.advance(500 * time.Millisecond)
	sendDVC(t, c, dvcFragments(id, sndPDU(sndcWave2, hx("04 29 00 00 08 00 00 00 00 00 00 00 aa bb")), -1, 0)...)
	expectDVC(t, cc, "31 34 12 05 00 04 00 04 29 08 00")
	if len(a.waves) != 2 || !audioFormatEqual(a.last().f, opusX) || a.last().at != 500*time.Millisecond {
		t.Fatalf("waves %+v", a.waves)
	}
	if got := sentOn(t, cc, rdpsndTestChannel); len(got) != 0 {
		t.Fatalf("sent %d messages on the static rdpsnd", len(got))
	}

	// xrdp's DisplayControl and the spec's "testdvc" have no listener:
	// refused with E_FAIL, not kept; their data is dropped.
	sendDVC(t, c, appendDynvcCreateReq(nil, 5, 0, "Microsoft::Windows::RDS::DisplayControl"), readHexVector(t, "ms-rdpedyc-4.2.1-create-request.hex"))
	expectDVC(t, cc, "10 05 05 40 00 80", "10 03 05 40 00 80")
	sendDVC(t, c, appendDynvcData(nil, 5, hx("05 00 00 00")), appendDynvcDataFirst(nil, 3, 3000, make([]byte, 100)))
	expectDVC(t, cc)
	if len(c.dvc.open) != 1 || !slices.Equal(c.dvc.refused, []string{"Microsoft::Windows::RDS::DisplayControl", "testdvc"}) {
		t.Fatalf("open %v, refused %q", c.dvc.open, c.dvc.refused)
	}

	// The server closes the channel: the client answers with a close and
	// the stream ends; later data and a second close are ignored.
	sendDVC(t, c, appendDynvcClose(nil, id))
	expectDVC(t, cc, "41 34 12")
	if a.closes != 1 || len(c.dvc.open) != 0 {
		t.Fatalf("%d closes, open %v", a.closes, c.dvc.open)
	}
	sendDVC(t, c, dvcFragments(id, sndPDU(sndcWave2, hx("00 00 00 00 08 00 00 00 00 00 00 00")), -1, 0)[0], appendDynvcClose(nil, id))
	expectDVC(t, cc)

	// A new AUDIO_PLAYBACK_DVC (4-byte ChannelId) starts over with the
	// formats; its wave's time continues from the first channel's.
	const id2 = 0x12345678
	sendDVC(t, c, appendDynvcCreateReq(nil, id2, 0, audioPlaybackDVC))
	expectDVC(t, cc, "12 78 56 34 12 00 00 00 00")
	sendDVC(t, c, dvcFragments(id2, serverFormatsPDU(6, pcm44k), -1, 0)...)
	ids, msgs := dvcMessages(t, sentDVC(t, cc))
	if len(msgs) != 2 || ids[0] != id2 || ids[1] != id2 || msgs[0][0] != sndcFormats || !bytes.Equal(msgs[1], hx("0c 00 04 00 02 00 00 00")) {
		t.Fatalf("client sent % x on %v", msgs, ids)
	}
	clock.advance(time.Second)
	sendDVC(t, c, dvcFragments(id2, sndPDU(sndcWave2, hx("ec 2c 00 00 09 00 00 00 00 00 00 00 01")), -1, 0)...)
	if len(a.waves) != 3 || a.last().at != 1500*time.Millisecond || c.audio.confirms != 3 {
		t.Fatalf("wave at %v, %d confirms", a.last().at, c.audio.confirms)
	}
	sentDVC(t, cc)

	// The server ends the stream (SNDC_CLOSE), then the client closes
	// the channel: an unsolicited close, and no second AudioClose.
	sendDVC(t, c, appendDynvcData(nil, id2, hx("01 00 00 00")))
	if a.closes != 2 {
		t.Fatalf("%d closes", a.closes)
	}
	if err := c.dvc.closeChannel(id2); err != nil {
		t.Fatal(err)
	}
	expectDVC(t, cc, "42 78 56 34 12")
	if a.closes != 2 || len(c.dvc.open) != 0 {
		t.Fatalf("%d closes, open %v", a.closes, c.dvc.open)
	}
}

// TestDrdynvcSendFragments: a message up to 1,590 bytes goes in one
// DYNVC_DATA; a longer one in a DYNVC_DATA_FIRST with its Length and
// DYNVC_DATA PDUs, none longer than 1,600 bytes.
func TestDrdynvcSendFragments(t *testing.T) {
	c, cc, _, _ := audioClient()
	for _, id := range []uint32{7, 0x1234, 0x12345678} {
		for _, n := range []int{0, 1, 1590, 1591, 1600, 3195, 65539} {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(i * 13)
			}
			if err := c.dvc.sendData(id, msg); err != nil {
				t.Fatal(err)
			}
			pdus := sentDVC(t, cc)
			ids, msgs := dvcMessages(t, pdus)
			if len(msgs) != 1 || ids[0] != id || !bytes.Equal(msgs[0], msg) {
				t.Fatalf("id %#x, %d bytes: got %d messages", id, n, len(msgs))
			}
			// Up to 1,590 bytes: one DYNVC_DATA; above, a Data First
			// (alone when it holds the whole message).
			if cmd := parseDynvcHeader(pdus[0][0]).cmd; (n <= dynvcMaxSingleData) != (cmd == dynvcData && len(pdus) == 1) {
				t.Errorf("id %#x, %d bytes: %d PDUs, the first with Cmd %d", id, n, len(pdus), cmd)
			}
			for i, p := range pdus[:len(pdus)-1] {
				if len(p) != dynvcMaxPDU {
					t.Errorf("id %#x, %d bytes: PDU %d of %d bytes", id, n, i, len(p))
				}
			}
		}
	}
	if err := c.dvc.sendData(1, make([]byte, maxDynvcMessage+1)); err == nil {
		t.Error("an over-long message was sent")
	}
}

// TestDrdynvcMalformed: malformed or out-of-order DVC PDUs are protocol
// errors naming MS-RDPEDYC (or MS-RDPEA for the audio inside), and an
// over-long announced message is refused before anything is buffered.
func TestDrdynvcMalformed(t *testing.T) {
	caps := appendDynvcCapsVersion(nil, 2, [4]uint16{})
	create := appendDynvcCreateReq(nil, 9, 0, audioPlaybackDVC)
	for _, tc := range []struct {
		name string
		pdus [][]byte
		sec  string
	}{
		{"empty", [][]byte{{}}, "MS-RDPEDYC"},
		{"caps truncated", [][]byte{hx("50 00 02")}, "MS-RDPEDYC"},
		{"caps version 0", [][]byte{hx("50 00 00 00")}, "MS-RDPEDYC"},
		{"caps v1 trailing bytes", [][]byte{hx("50 00 01 00 00")}, "MS-RDPEDYC"},
		{"caps v2 without charges", [][]byte{hx("50 00 02 00 00 00")}, "MS-RDPEDYC"},
		{"create before caps", [][]byte{create}, "MS-RDPEDYC"},
		{"data before caps", [][]byte{appendDynvcData(nil, 9, nil)}, "MS-RDPEDYC"},
		{"create without terminator", [][]byte{caps, hx("10 09 41 55 44")}, "MS-RDPEDYC"},
		{"create name after terminator", [][]byte{caps, hx("10 09 41 00 42 00")}, "MS-RDPEDYC"},
		{"create byte after terminator", [][]byte{caps, hx("10 09 41 00 42")}, "MS-RDPEDYC"},
		{"create long name", [][]byte{caps, appendDynvcCreateReq(nil, 9, 0, strings.Repeat("a", maxDynvcChannelName+1))}, "MS-RDPEDYC"},
		{"create twice", [][]byte{caps, create, create}, "MS-RDPEDYC"},
		{"data first over the limit", [][]byte{caps, create, appendDynvcDataFirst(nil, 9, maxRdpsndMessage+1, make([]byte, 1000))}, "MS-RDPEDYC"},
		{"data first 4 GiB", [][]byte{caps, create, appendDynvcDataFirst(nil, 9, 0xFFFFFFFF, nil)}, "MS-RDPEDYC"},
		{"data first longer than Length", [][]byte{caps, create, appendDynvcDataFirst(nil, 9, 3, []byte("abcd"))}, "MS-RDPEDYC"},
		{"data first Length truncated", [][]byte{caps, create, hx("28 09 01 02 03")}, "MS-RDPEDYC"},
		{"data beyond Length", [][]byte{caps, create, appendDynvcDataFirst(nil, 9, 3000, make([]byte, 1500)), appendDynvcData(nil, 9, make([]byte, 1501))}, "MS-RDPEDYC"},
		{"data first while reassembling", [][]byte{caps, create, appendDynvcDataFirst(nil, 9, 3000, make([]byte, 1500)), appendDynvcDataFirst(nil, 9, 3000, make([]byte, 1500))}, "MS-RDPEDYC"},
		// drdynvc's own bound (64 KiB) is below rdpsnd's.
		{"single data over the limit", [][]byte{caps, create, appendDynvcData(nil, 9, make([]byte, maxRdpsndMessage+1))}, "MS-RDPBCGR"},
		{"data compressed", [][]byte{caps, create, hx("70 09 e0 04 71")}, "MS-RDPEDYC"},
		{"soft-sync request", [][]byte{caps, hx("80 00 08 00 00 00 01 00 00 00")}, "MS-RDPEDYC"},
		{"unknown Cmd", [][]byte{caps, hx("f0 00")}, "MS-RDPEDYC"},
		{"close trailing byte", [][]byte{caps, create, hx("40 09 00")}, "MS-RDPEDYC"},
		{"close truncated", [][]byte{caps, create, hx("41 09")}, "MS-RDPEDYC"},
		{"rdpsnd inside", [][]byte{caps, create, appendDynvcData(nil, 9, hx("07 00 00"))}, "MS-RDPEA"},
	} {
		c, _, a, _ := audioClient()
		var err error
		for _, p := range tc.pdus {
			if err = sendOn(c, drdynvcTestChannel, p); err != nil {
				break
			}
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, tc.sec) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(a.waves) != 0 {
			t.Errorf("%s: %d waves", tc.name, len(a.waves))
		}
		if ch := c.dvc.open[9]; ch != nil && cap(ch.buf) > dynvcMaxPDU {
			t.Errorf("%s: %d bytes buffered", tc.name, cap(ch.buf))
		}
		t.Logf("%s: %v", tc.name, err)
	}

	// The static channel itself bounds a drdynvc message.
	c, _, _, _ := audioClient()
	err := c.handleChannelData(drdynvcTestChannel, channelPDU(maxDrdynvcPDU+1, channelFlagFirst, make([]byte, 1600)))
	var pe *ProtocolError
	if !errors.As(err, &pe) || len(c.channels[c.dvc.ch].buf) != 0 {
		t.Errorf("a %d-byte drdynvc message: %v", maxDrdynvcPDU+1, err)
	}
}

// TestDrdynvcVersions: the client answers the lower of the server's
// version and 2.
func TestDrdynvcVersions(t *testing.T) {
	for server, want := range map[uint16]string{1: "50 00 01 00", 2: "50 00 02 00", 3: "50 00 02 00", 7: "50 00 02 00"} {
		c, cc, _, _ := audioClient()
		sendDVC(t, c, appendDynvcCapsVersion(nil, server, [4]uint16{1, 2, 3, 4}))
		expectDVC(t, cc, want)
	}
}

// TestDrdynvcRun drives the DVC audio over a connection, through Run: the
// server's frames on drdynvc reach the DVC manager, the client's answers
// (capabilities, create response, formats, Wave Confirm) go out on drdynvc,
// and a malformed DVC PDU then ends Run with a protocol error.
func TestDrdynvcRun(t *testing.T) {
	c, _, a, _ := audioClient(pcm44k)
	client, server := net.Pipe()
	defer server.Close()
	c.conn, c.tcp, c.fr = client, client, newFrameReader(client)
	out := &capConn{}
	go io.Copy(out, server) // the client's frames
	const id = 3
	pdus := [][]byte{appendDynvcCapsVersion(nil, 2, [4]uint16{}), appendDynvcCreateReq(nil, id, 0, audioPlaybackDVC)}
	pdus = append(pdus, dvcFragments(id, serverFormatsPDU(5, pcm44k), 20, 20)...)
	pdus = append(pdus, dvcFragments(id, sndPDU(sndcWave2, hx("10 00 00 00 04 00 00 00 00 00 00 00 01 02 03 04")), -1, 0)...)
	pdus = append(pdus, hx("f0")) // an unknown Cmd
	go func() {
		for _, p := range pdus {
			frame := sendDataIndication(drdynvcTestChannel, channelPDU(len(p), channelFlagFirst|channelFlagLast, p))
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
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "unknown Cmd") {
		t.Fatalf("Run: %v", err)
	}
	if len(a.waves) != 1 || !bytes.Equal(a.waves[0].data, hx("01 02 03 04")) {
		t.Fatalf("waves %+v", a.waves)
	}
	client.Close()
	var sent [][]byte
	for deadline := time.Now().Add(5 * time.Second); len(sent) < 4 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sent = append(sent, sentDVC(t, out)...)
	}
	want := []string{"50 00 02 00", "10 03 00 00 00 00",
		"30 03 07 00 26 00 03 00 00 00 ff ff ff ff 00 00 00 00 00 00 01 00 00 05 00 00 01 00 02 00 44 ac 00 00 10 b1 02 00 04 00 10 00 00 00",
		"30 03 05 00 04 00 10 00 04 00"}
	if len(sent) != len(want) {
		t.Fatalf("client sent % x", sent)
	}
	for i := range want {
		if !bytes.Equal(sent[i], hx(want[i])) {
			t.Errorf("PDU %d: % x, want %s", i, sent[i], want[i])
		}
	}
}
