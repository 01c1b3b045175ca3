package rdp

// Test vectors copied from the annotated examples of the Microsoft Open
// Specifications (bytes and stated results only). Each test names the
// section the bytes come from.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readHexVector reads testdata/spec/name: whitespace-separated hex bytes,
// lines starting with '#' are comments.
func readHexVector(tb testing.TB, name string) []byte {
	tb.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "spec", name))
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	for line := range strings.Lines(string(text)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, f := range strings.Fields(line) {
			b, err := hex.DecodeString(f)
			if err != nil || len(b) != 1 {
				tb.Fatalf("%s: bad byte %q", name, f)
			}
			out = append(out, b[0])
		}
	}
	return out
}

// specPlanarPlane is the colour plane of MS-RDPEGDI 3.1.9.2.3 (a 6x3 plane,
// RDP 6.0 RLE).
var specPlanarPlane = []byte{
	0x13, 0xFF, 0x20, 0xFE, 0xFD, 0x60, 0x01, 0x7D,
	0xF5, 0xC2, 0x9A, 0x38, 0x60, 0x01, 0x67, 0x8B,
	0xA3, 0x78, 0xAF,
}

// specPlanarValues are the absolute values 3.1.9.2.3 derives, scanline by
// scanline in stream order.
var specPlanarValues = []byte{
	255, 255, 255, 255, 254, 253,
	254, 192, 132, 96, 75, 25,
	253, 140, 62, 14, 135, 193,
}

// TestSpecPlanarRLEPlane decodes the MS-RDPEGDI 3.1.9.2.3 example plane.
func TestSpecPlanarRLEPlane(t *testing.T) {
	plane := make([]byte, 6*3)
	used, err := decodePlanarRLEPlane(plane, specPlanarPlane, 6, 3)
	if err != nil {
		t.Fatal(err)
	}
	if used != len(specPlanarPlane) {
		t.Errorf("used %d of %d bytes", used, len(specPlanarPlane))
	}
	if !slices.Equal(plane, specPlanarValues) {
		t.Errorf("got  %v\nwant %v", plane, specPlanarValues)
	}
	// Every truncation of the example must be refused, not misread.
	for n := range len(specPlanarPlane) {
		if _, err := decodePlanarRLEPlane(plane, specPlanarPlane[:n], 6, 3); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// TestSpecPlanarStream wraps the 3.1.9.2.3 plane in an RDP6_BITMAP_STREAM
// (2.2.2.5.1: RLE, no alpha) as its red, green and blue planes, with the
// green and blue planes' first value changed so that a channel mix-up shows.
// Planar lines are stored bottom-up, so stream line 0 is the bottom row.
func TestSpecPlanarStream(t *testing.T) {
	green := slices.Clone(specPlanarPlane)
	green[1] = 0x11 // first raw value, repeated 3 times by the run
	blue := slices.Clone(specPlanarPlane)
	blue[1] = 0x22
	src := []byte{planarRLE | planarNA}
	src = append(src, specPlanarPlane...)
	src = append(src, green...)
	src = append(src, blue...)
	dst := make([]byte, 6*3*4)
	if _, err := decodePlanar(dst, src, 6, 3, nil); err != nil {
		t.Fatal(err)
	}
	// Replacing the first raw value changes the first four values of line
	// 0 and, through the deltas, the first four of the lines above.
	shift := func(v byte, x int, first byte) byte {
		if x < 4 {
			return v - 0xFF + first
		}
		return v
	}
	for y := range 3 {
		line := 2 - y
		for x := range 6 {
			v := specPlanarValues[line*6+x]
			want := []byte{v, shift(v, x, 0x11), shift(v, x, 0x22), 0}
			got := dst[(y*6+x)*4 : (y*6+x)*4+4]
			if !slices.Equal(got, want) {
				t.Errorf("pixel (%d,%d): got %v, want %v", x, y, got, want)
			}
		}
	}
}

// TestSpecInterleaved8bpp decodes the compressed bitmap of MS-RDPEGDI 4.2.1
// (Cache Bitmap Revision 1): one byte, 0x10, for a 16x1 8 bpp bitmap whose
// decompressed data the spec gives as 16 zero bytes.
func TestSpecInterleaved8bpp(t *testing.T) {
	got := slices.Repeat([]uint32{0xEE}, 16)
	if err := decodeInterleavedRLE(got, []byte{0x10}, 16, 8); err != nil {
		t.Fatal(err)
	}
	if want := make([]uint32, 16); !slices.Equal(got, want) {
		t.Errorf("got %02x, want 16 zeros", got)
	}
}

// TestSpecInterleaved16bpp decodes the compressed bitmap of MS-RDPEGDI
// 4.2.2 (Cache Bitmap Revision 2): 220 bytes of interleaved RLE for a 32x32
// 16 bpp bitmap, against the 2048 decompressed bytes the spec lists.
func TestSpecInterleaved16bpp(t *testing.T) {
	src := readHexVector(t, "ms-rdpegdi-4.2.2-compressed.hex")
	raw := readHexVector(t, "ms-rdpegdi-4.2.2-decompressed.hex")
	if len(src) != 220 || len(raw) != 32*32*2 {
		t.Fatalf("vector sizes %d, %d", len(src), len(raw))
	}
	want := make([]uint32, 32*32)
	for i := range want {
		want[i] = uint32(raw[2*i]) | uint32(raw[2*i+1])<<8
	}
	got := make([]uint32, 32*32)
	if err := decodeInterleavedRLE(got, src, 32, 16); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("pixel %d (line %d, x %d): got %04x, want %04x", i, i/32, i%32, got[i], want[i])
		}
	}
	// A truncated stream must end with an error, never a short picture.
	for _, n := range []int{1, 2, 100, 219} {
		if err := decodeInterleavedRLE(make([]uint32, 32*32), src[:n], 32, 16); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// TestSpecInterleavedBitmapUpdate sends the MS-RDPEGDI 4.2.2 bitmap in a
// fast-path bitmap update (MS-RDPBCGR 2.2.9.1.2.1.2) at (8,4) and checks
// every framebuffer pixel: rows flipped (bitmaps are stored bottom-up) and
// the RGB565 fields in the top bits of R, G and B.
func TestSpecInterleavedBitmapUpdate(t *testing.T) {
	src := readHexVector(t, "ms-rdpegdi-4.2.2-compressed.hex")
	raw := readHexVector(t, "ms-rdpegdi-4.2.2-decompressed.hex")
	c, fb := testClient()
	const x0, y0 = 8, 4
	frame := fastPathFrame(fpUpdateBitmap, bitmapUpdate(x0, y0, 32, 32, 16, bitmapCompression|noBitmapCompressionHdrFlag, src))
	if err := c.handleFastPath(frame); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for y := range 32 {
		for x := range 32 {
			i := (31-y)*32 + x
			v := uint16(raw[2*i]) | uint16(raw[2*i+1])<<8
			p := fb.At(x0+x, y0+y)
			r, g, b := byte(v>>11), byte(v>>5)&0x3F, byte(v)&0x1F
			if p.R>>3 != r || p.G>>2 != g || p.B>>3 != b {
				if bad == 0 {
					t.Errorf("pixel (%d,%d): got %v for %04x", x, y, p, v)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d wrong pixels", bad)
	}
	// Outside the rectangle nothing was drawn.
	if p := fb.At(x0-1, y0); p.R|p.G|p.B != 0 {
		t.Errorf("pixel left of the rectangle: %v", p)
	}
}

// TestSpecX224ConnectionConfirm reads the MS-RDPBCGR 4.1.2 Server X.224
// Connection Confirm through the frame reader: TPKT length 19, RDP_NEG_RSP
// selecting PROTOCOL_RDP with flags 0.
func TestSpecX224ConnectionConfirm(t *testing.T) {
	pdu := readHexVector(t, "ms-rdpbcgr-4.1.2-x224-connection-confirm.hex")
	fast, frame, err := newFrameReader(bytes.NewReader(pdu)).next()
	if err != nil || fast {
		t.Fatalf("frame: fast-path %v, %v", fast, err)
	}
	if len(frame) != 19-4 {
		t.Fatalf("frame of %d bytes, want 15", len(frame))
	}
	sel, flags, err := parseX224ConnectionConfirm(frame)
	if err != nil || sel != protocolRDP || flags != 0 {
		t.Fatalf("selectedProtocol %#x, flags %#x, %v", sel, flags, err)
	}
}

// TestSpecMCSConnectResponse parses the MS-RDPBCGR 4.1.4 Server MCS Connect
// Response with its GCC Conference Create Response and checks every field
// of the server data blocks we keep, as annotated there.
func TestSpecMCSConnectResponse(t *testing.T) {
	pdu := readHexVector(t, "ms-rdpbcgr-4.1.4-mcs-connect-response.hex")
	_, frame, err := newFrameReader(bytes.NewReader(pdu)).next()
	if err != nil {
		t.Fatal(err)
	}
	data, err := x224Data(frame)
	if err != nil {
		t.Fatal(err)
	}
	ud, err := parseMCSConnectResponse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ud) != 287 { // Connect-Response::userData (287 bytes)
		t.Errorf("userData of %d bytes, want 287", len(ud))
	}
	sd, err := parseGCCConferenceCreateResponse(ud)
	if err != nil {
		t.Fatal(err)
	}
	if sd.version != 0x00080004 || sd.requestedProtocols != protocolRDP {
		t.Errorf("SC_CORE version %#x, clientRequestedProtocols %#x", sd.version, sd.requestedProtocols)
	}
	if sd.ioChannel != 1003 || !slices.Equal(sd.channelIDs, []uint16{1004, 1005, 1006}) || sd.msgChannel != 0 {
		t.Errorf("SC_NET MCSChannelId %d, channelIdArray %v, SC_MCS_MSGCHANNEL %d", sd.ioChannel, sd.channelIDs, sd.msgChannel)
	}
	// ENCRYPTION_METHOD_128BIT, ENCRYPTION_LEVEL_CLIENT_COMPATIBLE.
	if sd.encryptionMethod != 2 || sd.encryptionLevel != 2 {
		t.Errorf("SC_SECURITY encryptionMethod %d, encryptionLevel %d", sd.encryptionMethod, sd.encryptionLevel)
	}
	// Each truncation of the PDU is an error, not a half-filled result.
	for _, n := range []int{10, 40, 80, 200, len(data) - 1} {
		ud, err := parseMCSConnectResponse(data[:n])
		if err == nil {
			_, err = parseGCCConferenceCreateResponse(ud)
		}
		if err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// TestSpecDemandActive parses the decrypted TS_DEMAND_ACTIVE_PDU of
// MS-RDPBCGR 4.1.12: shareID 0x000103ea, 13 capability sets, General
// extraFlags 0x041d (FASTPATH_OUTPUT_SUPPORTED set), Bitmap 24 bpp 1280x1024,
// Input inputFlags 0x0035, no Multifragment Update or Large Pointer set.
func TestSpecDemandActive(t *testing.T) {
	pdu := readHexVector(t, "ms-rdpbcgr-4.1.12-demand-active.hex")
	sc, rest, err := parseShareControl(pdu)
	if err != nil {
		t.Fatal(err)
	}
	if sc.pduType != 1 || sc.source != 1002 || len(rest) != 0 { // PDUTYPE_DEMANDACTIVEPDU
		t.Fatalf("pduType %d, pduSource %d, %d bytes after totalLength", sc.pduType, sc.source, len(rest))
	}
	da, err := parseDemandActive(sc.body)
	if err != nil {
		t.Fatal(err)
	}
	want := demandActive{shareID: 0x000103EA, width: 1280, height: 1024, bpp: 24, fastPathOutput: true, inputFlags: 0x0035}
	if *da != want {
		t.Errorf("got  %+v\nwant %+v", *da, want)
	}
	for _, n := range []int{4, 8, 20, 100, 300} {
		if _, err := parseDemandActive(sc.body[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// specRaw32 is the uncompressed 5x2, 32 bpp bitmap data of MS-RDPEGDI 4.2.7
// (Cache Bitmap Revision 3, codecID 0): little-endian XRGB pixels, the
// first five the first stored (bottom) line.
var specRaw32 = []byte{
	0x5b, 0x4f, 0x45, 0xff, 0x5b, 0x4f, 0x45, 0xff, 0x5b, 0x4f, 0x45, 0xff, 0x5b, 0x4f, 0x45, 0xff,
	0x5b, 0x4f, 0x45, 0xff, 0x5b, 0x50, 0x45, 0xff, 0x5b, 0x50, 0x45, 0xff, 0x5b, 0x50, 0x45, 0xff,
	0x5b, 0x50, 0x45, 0xff, 0x5b, 0x50, 0x45, 0xff,
}

// TestSpecRaw32BitmapUpdate draws the MS-RDPEGDI 4.2.7 bitmap data as an
// uncompressed fast-path bitmap update: the bottom row is R 0x45, G 0x4f,
// B 0x5b and the top row has G 0x50.
func TestSpecRaw32BitmapUpdate(t *testing.T) {
	c, fb := testClient()
	const x0, y0 = 3, 7
	if err := c.handleFastPath(fastPathFrame(fpUpdateBitmap, bitmapUpdate(x0, y0, 5, 2, 32, 0, specRaw32))); err != nil {
		t.Fatal(err)
	}
	for y := range 2 {
		for x := range 5 {
			i := ((1-y)*5 + x) * 4
			want := [3]byte{specRaw32[i+2], specRaw32[i+1], specRaw32[i]}
			p := fb.At(x0+x, y0+y)
			if got := [3]byte{p.R, p.G, p.B}; got != want {
				t.Errorf("pixel (%d,%d): got %x, want %x", x, y, got, want)
			}
		}
	}
	if p := fb.At(x0+5, y0); p.R|p.G|p.B != 0 {
		t.Errorf("pixel right of the rectangle: %v", p)
	}
}

// specMCSFrame reads one TPKT frame from pdu and strips the X.224 Data
// header.
func specMCSFrame(t *testing.T, pdu []byte) []byte {
	t.Helper()
	fast, frame, err := newFrameReader(bytes.NewReader(pdu)).next()
	if err != nil || fast {
		t.Fatalf("frame: fast-path %v, %v", fast, err)
	}
	if len(frame) != len(pdu)-4 {
		t.Fatalf("frame of %d bytes from a %d-byte PDU", len(frame), len(pdu))
	}
	data, err := x224Data(frame)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSpecMCSDomainPDUs reads the server's MCS PDUs of the MS-RDPBCGR 4.1
// and 4.2 annotated traces, whole (TPKT and X.224 included), and checks the
// fields the annotations state.
func TestSpecMCSDomainPDUs(t *testing.T) {
	// 4.1.7 Server MCS Attach-User Confirm: initiator 6 + 1001 = 1007.
	uid, err := parseMCSAttachUserConfirm(specMCSFrame(t, unhex(t, "03 00 00 0b 02 f0 80 2e 00 00 06")))
	if err != nil || uid != 1007 {
		t.Errorf("4.1.7: user %d, %v", uid, err)
	}
	// 4.1.8.x.2 Server Join Confirm PDUs for channels 1007, 1003 to 1006.
	for _, tc := range []struct {
		pdu     string
		channel uint16
	}{
		{"03 00 00 0f 02 f0 80 3e 00 00 06 03 ef 03 ef", 1007},
		{"03 00 00 0f 02 f0 80 3e 00 00 06 03 eb 03 eb", 1003},
		{"03 00 00 0f 02 f0 80 3e 00 00 06 03 ec 03 ec", 1004},
		{"03 00 00 0f 02 f0 80 3e 00 00 06 03 ed 03 ed", 1005},
		{"03 00 00 0f 02 f0 80 3e 00 00 06 03 ee 03 ee", 1006},
	} {
		p := specMCSFrame(t, unhex(t, tc.pdu))
		if err := parseMCSChannelJoinConfirm(p, tc.channel); err != nil {
			t.Errorf("4.1.8 join confirm for %d: %v", tc.channel, err)
		}
		if err := parseMCSChannelJoinConfirm(p, tc.channel+1); err == nil {
			t.Errorf("4.1.8 join confirm for %d accepted for %d", tc.channel, tc.channel+1)
		}
	}
	// 4.1.11 (License Error, channel 1003) and 4.4 (Virtual Channel PDU,
	// channel 1005): Send Data Indications of 0x1c user data bytes.
	for _, tc := range []struct {
		sec, pdu string
		channel  uint16
		tpktLen  byte // the dump's TPKT length byte
	}{
		{"4.1.11", `03 00 00 2a 02 f0 80 68 00 01 03 eb 70 1c 88 02 02 03 8d 43 9a ab d5 2a 31 39 62 4d c1 ec
			0d 99 88 e6 da ab 2c 02 72 4d 49 90`, 1003, 0x2a},
		{"4.4", `03 00 00 2e 02 f0 80 68 00 01 03 ed f0 1c 08 08 01 00 47 bd eb cb 29 51 ae 0a f6 07 33 ce
			fc a5 f7 09 de 67 4e a3 2a 2c 38 29`, 1005, 0x2e},
	} {
		// The 4.4 dump's TPKT header says 0x2e (46) bytes, but its annotation
		// says 0x2a (42) and the dump holds 42: an erratum in the spec. Use
		// the real length so the frame reader sees one whole frame.
		pdu := unhex(t, tc.pdu)
		if pdu[3] != tc.tpktLen {
			t.Fatalf("%s: vector copied wrong", tc.sec)
		}
		pdu[3] = byte(len(pdu))
		ch, data, err := parseMCSDomainPDU(specMCSFrame(t, pdu))
		if err != nil || ch != tc.channel || len(data) != 0x1c {
			t.Errorf("%s: channel %d, %d bytes, %v", tc.sec, ch, len(data), err)
		}
	}
	// 4.2.3 MCS Disconnect Provider Ultimatum: rn-user-requested (3).
	_, _, err = parseMCSDomainPDU(specMCSFrame(t, unhex(t, "03 00 00 09 02 f0 80 21 80")))
	var de *disconnectError
	if !errors.As(err, &de) || de.reason != 3 {
		t.Errorf("4.2.3: %v", err)
	}
}

// TestSpecVirtualChannelPDU hands the decrypted static virtual channel data
// of MS-RDPBCGR 4.4 (CHANNEL_PDU_HEADER length 8, CHANNEL_FLAG_FIRST |
// CHANNEL_FLAG_LAST) to the "cliprdr" channel, 1005 in that trace.
func TestSpecVirtualChannelPDU(t *testing.T) {
	c, _ := testClient()
	var got [][]byte
	c.addChannel("cliprdr", 0, func(p []byte) error {
		got = append(got, slices.Clone(p))
		return nil
	})
	c.channels[0].ID = 1005
	data := unhex(t, "08 00 00 00 03 00 00 00 03 00 01 00 00 00 00 00")
	if err := c.handleChannelData(1005, data); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "03 00 01 00 00 00 00 00")
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("cliprdr received %x, want one message %x", got, want)
	}
	// A header announcing fewer bytes than the chunk holds is refused.
	bad := slices.Clone(data)
	bad[0] = 4
	if err := c.handleChannelData(1005, bad); err == nil {
		t.Error("chunk longer than CHANNEL_PDU_HEADER::length accepted")
	}
}

// TestSpecFinalizationPDUs parses the decrypted server finalization PDUs of
// MS-RDPBCGR 4.1.19 to 4.1.22 (Synchronize, Control Cooperate, Control
// Granted Control, Font Map) and the 4.3.3 Save Session Info PDU (Logon
// Info Extended with an auto-reconnect cookie), checks the headers'
// fields, and hands each to the client: only the Font Map activates it.
func TestSpecFinalizationPDUs(t *testing.T) {
	for _, tc := range []struct {
		sec, pdu string
		pduType2 uint8
		body     string // after the share data header
		activate bool
	}{
		{"4.1.19", "16 00 17 00 ea 03 ea 03 01 00 14 00 16 00 1f 00 00 00 01 00 63 44", pduType2Synchronize, "01 00 63 44", false},
		{"4.1.20", "1a 00 17 00 ea 03 ea 03 01 00 b5 02 1a 00 14 00 00 00 04 00 00 00 00 00 00 00", pduType2Control, "04 00 00 00 00 00 00 00", false},
		{"4.1.21", "1a 00 17 00 ea 03 ea 03 01 00 12 02 1a 00 14 00 00 00 02 00 ef 03 ea 03 00 00", pduType2Control, "02 00 ef 03 ea 03 00 00", false},
		{"4.1.22", "1a 00 17 00 ea 03 ea 03 01 00 45 02 1a 00 28 00 00 00 00 00 00 00 03 00 04 00", pduType2FontMap, "00 00 00 00 03 00 04 00", true},
		{"4.3.3", "", pduType2SaveSessionInfo, "", false},
	} {
		var pdu []byte
		if tc.pdu != "" {
			pdu = unhex(t, tc.pdu)
		} else {
			pdu = readHexVector(t, "ms-rdpbcgr-4.3.3-save-session-info.hex")
		}
		sc, rest, err := parseShareControl(pdu)
		if err != nil || sc.pduType != pduTypeData || sc.source != 1002 || len(rest) != 0 {
			t.Errorf("%s: pduType %d, pduSource %d, %d bytes left, %v", tc.sec, sc.pduType, sc.source, len(rest), err)
			continue
		}
		sd, err := parseShareData(sc.body)
		if err != nil || sd.pduType2 != tc.pduType2 {
			t.Errorf("%s: pduType2 %d, %v", tc.sec, sd.pduType2, err)
			continue
		}
		if tc.body != "" && !bytes.Equal(sd.body, unhex(t, tc.body)) {
			t.Errorf("%s: body % x", tc.sec, sd.body)
		}
		if tc.sec == "4.3.3" && len(sd.body) != 630-18 {
			t.Errorf("%s: body of %d bytes", tc.sec, len(sd.body))
		}
		c, _ := testClient()
		c.active = false
		if err := c.handleData(sc.body); err != nil {
			t.Errorf("%s: %v", tc.sec, err)
		}
		if c.active != tc.activate {
			t.Errorf("%s: active %v after the PDU", tc.sec, c.active)
		}
	}
}

// TestSpecPlanarRLEExamples decodes the other RDP 6.0 RLE examples of
// MS-RDPEGDI 3.1.9.2. The spec gives the first two as segments (RAW and RUN
// lists), so their bytes are encoded here by the rules of 2.2.2.5.1.2
// (controlByte = cRawBytes<<4 | nRunLength); 3.1.9.2.2 gives its bytes.
func TestSpecPlanarRLEExamples(t *testing.T) {
	for _, tc := range []struct {
		sec           string
		width, height int
		src, want     []byte
	}{
		// 3.1.9.2: "AAAABBCCCCCD" is RAW [A] RUN [3], RAW [BBC] RUN [4],
		// RAW [D] RUN [0].
		{"3.1.9.2 segments", 12, 1,
			[]byte{0x13, 'A', 0x34, 'B', 'B', 'C', 0x10, 'D'},
			[]byte("AAAABBCCCCCD")},
		// 3.1.9.2: lines 10..60, 5..55, 5..55 are RAW [10,...,60] RUN [0];
		// RAW [-5] RUN [5]; RAW [<none>] RUN [6]. -5 is coded 2*5-1 = 9
		// (3.1.9.2.1), and a RUN without RAW repeats 0.
		{"3.1.9.2 deltas", 6, 3,
			[]byte{0x60, 10, 20, 30, 40, 50, 60, 0x15, 9, 0x06},
			[]byte{10, 20, 30, 40, 50, 60, 5, 15, 25, 35, 45, 55, 5, 15, 25, 35, 45, 55}},
		// 3.1.9.2.2: 'A' 100 times is RAW [A] RUN [15], then RUN [47] and
		// RUN [37] (nRunLength 2: 32 + cRawBytes) of that same value.
		{"3.1.9.2.2 extra long runs", 100, 1,
			[]byte{0x1F, 0x41, 0xF2, 0x52},
			bytes.Repeat([]byte{'A'}, 100)},
	} {
		plane := make([]byte, tc.width*tc.height)
		used, err := decodePlanarRLEPlane(plane, tc.src, tc.width, tc.height)
		if err != nil {
			t.Errorf("%s: %v", tc.sec, err)
			continue
		}
		if used != len(tc.src) || !bytes.Equal(plane, tc.want) {
			t.Errorf("%s: used %d of %d bytes, got %v, want %v", tc.sec, used, len(tc.src), plane, tc.want)
		}
	}
}

// colorPointer builds a TS_COLORPOINTERATTRIBUTE (MS-RDPBCGR 2.2.9.1.1.4.4).
func colorPointer(idx, w, h int, xor, and []byte) []byte {
	var b []byte
	for _, v := range []int{idx, 1, 2, w, h, len(and), len(xor)} {
		b = putU16(b, uint16(v))
	}
	return append(append(b, xor...), and...)
}

// TestSpecPointerMaskPadding checks the mask layout MS-RDPBCGR 2.2.9.1.1.4.4
// states by example: a 3x3 24 bpp cursor has 10-byte XOR scanlines (9
// bytes rounded up to even), a 7x7 cursor 2-byte AND scanlines; both masks
// are bottom-up. Padding bytes are set to garbage so that a wrong stride
// shows. The 3x3 shape goes by slow path, the 7x7 by fast path.
func TestSpecPointerMaskPadding(t *testing.T) {
	c, _ := testClient()
	// 3x3: pixel x of stored line l is B=0x10*l+x, G=0x80, R=0x40+x.
	var xor []byte
	for l := range 3 {
		for x := range 3 {
			xor = append(xor, byte(0x10*l+x), 0x80, byte(0x40+x))
		}
		xor = append(xor, 0xEE) // pad to 10 bytes
	}
	and := []byte{0x00, 0xEE, 0x00, 0xEE, 0x00, 0xEE} // 2-byte lines, all opaque
	pdu := putU16(nil, ptrMsgTypeColor)
	pdu = putU16(pdu, 0)
	if err := c.handleSlowPathPointer(append(pdu, colorPointer(3, 3, 3, xor, and)...)); err != nil {
		t.Fatal(err)
	}
	img := c.pointers[3].img
	if img == nil || img.Bounds().Dx() != 3 || img.Bounds().Dy() != 3 || c.pointers[3].hot != image.Pt(1, 2) {
		t.Fatalf("cached pointer %+v", c.pointers[3])
	}
	for y := range 3 {
		for x := range 3 {
			l := 2 - y
			want := [4]byte{byte(0x40 + x), 0x80, byte(0x10*l + x), 0xFF}
			o := img.PixOffset(x, y)
			if got := [4]byte(img.Pix[o : o+4]); got != want {
				t.Errorf("3x3 pixel (%d,%d): got %x, want %x", x, y, got, want)
			}
		}
	}

	// 7x7, black XOR (22-byte lines: 21 bytes and a pad), AND mask with
	// the bit of pixel x = l set in stored line l: transparent there.
	xor = nil
	for range 7 {
		xor = append(xor, make([]byte, 21)...)
		xor = append(xor, 0xEE)
	}
	and = nil
	for l := range 7 {
		and = append(and, 0x80>>l, 0xFF) // second byte is padding
	}
	if err := c.handleFastPath(fastPathFrame(fpUpdateColor, colorPointer(4, 7, 7, xor, and))); err != nil {
		t.Fatal(err)
	}
	img = c.pointers[4].img
	if img == nil || img.Bounds().Dx() != 7 || img.Bounds().Dy() != 7 {
		t.Fatalf("cached pointer %+v", c.pointers[4])
	}
	for y := range 7 {
		for x := range 7 {
			want := [4]byte{0, 0, 0, 0xFF}
			if x == 6-y {
				want[3] = 0
			}
			o := img.PixOffset(x, y)
			if got := [4]byte(img.Pix[o : o+4]); got != want {
				t.Errorf("7x7 pixel (%d,%d): got %x, want %x", x, y, got, want)
			}
		}
	}
}

// TestSpecSlowPathFrames hands the decrypted MS-RDPBCGR 4.1.12 Demand Active
// and 4.1.22 Font Map PDUs to the client's slow-path entry point, wrapped in
// a Send Data Indication on the I/O channel as they arrive under TLS: the
// Demand Active sets the desktop size it announces; the Font
// Map then activates the client.
func TestSpecSlowPathFrames(t *testing.T) {
	c, _ := testClient()
	c.active = false
	if err := c.handleSlowPath(sendDataIndication(ioChannelID, readHexVector(t, "ms-rdpbcgr-4.1.12-demand-active.hex"))); err != nil {
		t.Fatal(err)
	}
	if c.width != 1280 || c.height != 1024 || c.active {
		t.Fatalf("after Demand Active: %dx%d, active %v", c.width, c.height, c.active)
	}
	fontMap := unhex(t, "1a 00 17 00 ea 03 ea 03 01 00 45 02 1a 00 28 00 00 00 00 00 00 00 03 00 04 00")
	if err := c.handleSlowPath(sendDataIndication(ioChannelID, fontMap)); err != nil {
		t.Fatal(err)
	}
	if !c.active {
		t.Fatal("Font Map did not activate the client")
	}
}

// TestSpecProprietaryCertificate reads the server certificate that ends the
// MS-RDPBCGR 4.1.4 Server Security Data (serverCertLen 184): a
// PROPRIETARYSERVERCERTIFICATE whose RSA_PUBLIC_KEY has keylen 72, bitlen
// 512, pubExp 0x00010001 and a little-endian modulus (2.2.1.4.3.1.1.1).
func TestSpecProprietaryCertificate(t *testing.T) {
	pdu := readHexVector(t, "ms-rdpbcgr-4.1.4-mcs-connect-response.hex")
	cert := pdu[len(pdu)-184:]
	if !bytes.Equal(cert[:4], []byte{1, 0, 0, 0}) || string(cert[16:20]) != "RSA1" {
		t.Fatalf("not the certificate: % x", cert[:20])
	}
	key, err := serverLicenseKey(cert)
	if err != nil {
		t.Fatal(err)
	}
	if key.E != 0x00010001 || key.N.BitLen() != 512 {
		t.Fatalf("pubExp %#x, modulus of %d bits", key.E, key.N.BitLen())
	}
	mod := key.N.FillBytes(make([]byte, 64))
	slices.Reverse(mod)
	if !bytes.Equal(mod, cert[36:100]) {
		t.Fatalf("modulus (little-endian) % x\nwant % x", mod, cert[36:100])
	}
	for _, n := range []int{8, 30, 99} {
		if _, err := serverLicenseKey(cert[:n]); err == nil {
			t.Errorf("certificate truncated to %d bytes accepted", n)
		}
	}
}
