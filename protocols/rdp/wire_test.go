package rdp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MS-RDPBCGR 4.1.1: the Client X.224 Connection Request of the annotated
// connection trace, cookie "eltons", PROTOCOL_RDP requested.
func TestX224ConnectionRequestSpecExample(t *testing.T) {
	want := unhex(t, `03 00 00 2c 27 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d
		73 74 73 68 61 73 68 3d 65 6c 74 6f 6e 73 0d 0a 01 00 08 00 00 00 00 00`)
	if got := x224ConnectionRequest("eltons", protocolRDP); !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

func TestX224ConnectionConfirm(t *testing.T) {
	// Negotiation response selecting PROTOCOL_SSL (2.2.1.2.1), as
	// freerdp-shadow answers.
	sel, _, err := parseX224ConnectionConfirm(unhex(t, "0e d0 00 00 12 34 00 02 1f 08 00 01 00 00 00"))
	if err != nil || sel != protocolSSL {
		t.Fatalf("selected %#x, %v", sel, err)
	}
	// Negotiation failure HYBRID_REQUIRED_BY_SERVER (2.2.1.2.2).
	_, _, err = parseX224ConnectionConfirm(unhex(t, "0e d0 00 00 12 34 00 03 00 08 00 05 00 00 00"))
	var nf *NegotiationFailure
	if !errors.As(err, &nf) || nf.Code != 5 || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "HYBRID_REQUIRED_BY_SERVER") {
		t.Fatalf("failure: %v", err)
	}
	// No negotiation data: standard RDP security.
	if sel, _, err := parseX224ConnectionConfirm(unhex(t, "06 d0 00 00 12 34 00")); err != nil || sel != protocolRDP {
		t.Fatalf("legacy confirm: %#x %v", sel, err)
	}
	// Length indicator beyond the data.
	var pe *ProtocolError
	if _, _, err := parseX224ConnectionConfirm(unhex(t, "20 d0 00 00 12 34 00")); !errors.As(err, &pe) || pe.Section != "MS-RDPBCGR 2.2.1.2" {
		t.Fatalf("bad LI: %v", err)
	}
}

func TestMCSConnectResponse(t *testing.T) {
	ud, err := parseMCSConnectResponse(mcsConnectResponseSeed())
	if err != nil {
		t.Fatal(err)
	}
	sd, err := parseGCCConferenceCreateResponse(ud)
	if err != nil {
		t.Fatal(err)
	}
	if sd.version != 0x00080004 || sd.requestedProtocols != 1 || sd.ioChannel != 1003 || sd.encryptionMethod != 0 {
		t.Fatalf("server data %+v", sd)
	}
}

// MS-RDPBCGR 4.1.5-4.1.9 show these PER encodings: Erect Domain 04 01 00 01
// 00, Attach User Request 28, Attach User Confirm 2e 00 00 06 (user 1007),
// Channel Join Request 38 00 06 03 ef for channel 1007.
func TestMCSDomainPDUs(t *testing.T) {
	if got := mcsErectDomainRequestPDU(); !bytes.Equal(got, unhex(t, "03 00 00 0c 02 f0 80 04 01 00 01 00")) {
		t.Fatalf("erect domain % x", got)
	}
	if got := mcsAttachUserRequestPDU(); !bytes.Equal(got, unhex(t, "03 00 00 08 02 f0 80 28")) {
		t.Fatalf("attach user % x", got)
	}
	uid, err := parseMCSAttachUserConfirm(unhex(t, "2e 00 00 06"))
	if err != nil || uid != 1007 {
		t.Fatalf("attach user confirm: %d %v", uid, err)
	}
	if got := mcsChannelJoinRequestPDU(1007, 1007); !bytes.Equal(got, unhex(t, "03 00 00 0c 02 f0 80 38 00 06 03 ef")) {
		t.Fatalf("channel join % x", got)
	}
	if err := parseMCSChannelJoinConfirm(unhex(t, "3e 00 00 06 03 ef 03 ef"), 1007); err != nil {
		t.Fatal(err)
	}
	if err := parseMCSChannelJoinConfirm(unhex(t, "3e 00 00 06 03 eb 03 eb"), 1007); err == nil {
		t.Fatal("confirm of another channel accepted")
	}
	_, _, err = parseMCSDomainPDU(unhex(t, "21 80"))
	var de *disconnectError
	if !errors.As(err, &de) || de.reason != 3 {
		t.Fatalf("disconnect provider ultimatum rn-user-requested: %v", err)
	}
}

func TestLicenseValidClient(t *testing.T) {
	// STATUS_VALID_CLIENT error alert (MS-RDPBCGR 2.2.1.12.1.3): the
	// decrypted licensing packet of the 4.1.11 annotated dump.
	done, err := parseServerLicensePDU(unhex(t, "ff 03 10 00 07 00 00 00 02 00 00 00 04 00 00 00"))
	if !done || err != nil {
		t.Fatalf("valid client: %v %v", done, err)
	}
	_, err = parseServerLicensePDU(unhex(t, "ff 03 10 00 08 00 00 00 01 00 00 00 04 00 00 00"))
	if !errors.Is(err, ErrLicense) {
		t.Fatalf("licence error: %v", err)
	}
	if _, err := parseServerLicensePDU(unhex(t, "01 03 10 00 00 00 00 00 00 00 00 00 00 00 00 00")); !errors.Is(err, errLicenseExchange) {
		t.Fatalf("licence request: %v", err)
	}
}

func TestPlanarDecode(t *testing.T) {
	// 3x2 bitmap, RLE, no alpha. Stored lines are bottom-up: line 0 of each
	// plane is the bottom row; line 1 holds deltas coded with the sign in
	// the low bit (2 = +1, 1 = -1, 3 = -2). Green's line 1 is a run of three
	// zero deltas (control 0x03 repeats the initial value 0).
	src := []byte{planarRLE | planarNA,
		0x30, 1, 2, 3, 0x30, 2, 1, 1, // red: line 1 = 1+1, 2-1, 3-1
		0x30, 9, 9, 9, 0x03, // green
		0x30, 7, 7, 7, 0x30, 2, 2, 3, // blue: +1, +1, -2
	}
	dst := make([]byte, 3*2*4)
	if _, err := decodePlanar(dst, src, 3, 2, nil); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		// top row = stored line 1
		2, 9, 8, 0, 1, 9, 8, 0, 2, 9, 5, 0,
		// bottom row = stored line 0
		1, 9, 7, 0, 2, 9, 7, 0, 3, 9, 7, 0,
	}
	if !bytes.Equal(dst, want) {
		t.Fatalf("got  %v\nwant %v", dst, want)
	}
	// Control bytes with run length 1 and 2 mean runs of 16+ and 32+
	// (MS-RDPEGDI 2.2.2.5.1.1.3): one raw 5, then 0x11 = a run of 17.
	plane := make([]byte, 18)
	if n, err := decodePlanarRLEPlane(plane, []byte{0x10, 5, 0x11}, 18, 1); err != nil || n != 3 || !bytes.Equal(plane, bytes.Repeat([]byte{5}, 18)) {
		t.Fatalf("long run: %v %d %v", plane, n, err)
	}
	// A segment longer than the line is refused, not written past it.
	var pe *ProtocolError
	if _, err := decodePlanar(dst, []byte{planarRLE | planarNA, 0x01}, 3, 2, nil); !errors.As(err, &pe) {
		t.Fatalf("overlong run: %v", err)
	}
}

func TestFastPathInputEncoding(t *testing.T) {
	// MS-RDPBCGR 2.2.8.1.2: header (1 event), 2-byte length, then a key
	// release of extended scancode 0x48 (Up): eventHeader 0x03, keyCode 0x48.
	got := appendFastPathInput(nil, 1, func(b []byte) []byte {
		return appendFastPathEvent(b, inputEvent{msgType: inputEventScancode, flags: 0x8000 | 0x0100, a: 0x48})
	})
	if want := unhex(t, "04 80 05 03 48"); !bytes.Equal(got, want) {
		t.Fatalf("got % x want % x", got, want)
	}
	// Mouse move to (0x123, 0x45): eventHeader 0x20, flags 0x0800.
	got = appendFastPathEvent(nil, inputEvent{msgType: inputEventMouse, flags: ptrFlagsMove, b: 0x123, c: 0x45})
	if want := unhex(t, "20 00 08 23 01 45 00"); !bytes.Equal(got, want) {
		t.Fatalf("mouse got % x want % x", got, want)
	}
	// Sync with caps and num lock: eventHeader 0x66.
	if got := appendFastPathEvent(nil, inputEvent{msgType: inputEventSync, flags: 6}); !bytes.Equal(got, []byte{0x66}) {
		t.Fatalf("sync % x", got)
	}
}

func TestPointerDecode(t *testing.T) {
	c, _ := testClient()
	// 2x2 at 24 bpp, rows padded to 2 bytes: 6 bytes a row. Bottom row
	// first: white, black; top row: red, black. AND mask (rows of 2 bytes):
	// bottom 0x40 (second pixel transparent), top 0x00.
	xor := []byte{0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0xFF, 0, 0, 0}
	and := []byte{0x40, 0, 0x00, 0}
	img, err := c.decodePointer(2, 2, 24, xor, and)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xFF, 0, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}
	if !bytes.Equal(img.Pix, want) {
		t.Fatalf("got  %v\nwant %v", img.Pix, want)
	}
	if _, err := c.decodePointer(2, 2, 24, xor[:5], and); err == nil {
		t.Fatal("short XOR mask accepted")
	}
}

// TestConfigResized: a reconnect at a new size and scale (Session.Resize) carries the
// scale as the DPI its Client Core Data sends as the desktop scale factor.
func TestConfigResized(t *testing.T) {
	for _, tc := range []struct{ dpi, scale, want int }{
		{0, 0, 0}, {0, 100, 0}, {0, 200, 192}, {144, 150, 144}, {144, 100, 96}, {144, 0, 144}, {120, 175, 168},
	} {
		cfg := Config{Width: 800, Height: 600, DPI: tc.dpi}.resized(1024, 700, tc.scale)
		if cfg.Width != 1024 || cfg.Height != 700 || cfg.DPI != tc.want {
			t.Errorf("DPI %d resized at %d%%: %dx%d DPI %d, want DPI %d", tc.dpi, tc.scale, cfg.Width, cfg.Height, cfg.DPI, tc.want)
		}
	}
	cfg := Config{Width: 800, Height: 600}.resized(1280, 800, 150)
	if cfg.coreScale(t) != 150 {
		t.Errorf("desktop scale factor %d, want 150", cfg.coreScale(t))
	}
}

// coreScale is the desktopScaleFactor of cfg's Client Core Data.
func (cfg Config) coreScale(t *testing.T) uint32 {
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	b := clientDataBlocks(&cfg, protocolSSL, nil)
	n := int(binary.LittleEndian.Uint16(b[2:]))
	return binary.LittleEndian.Uint32(b[n-8:])
}

func TestClientCoreData(t *testing.T) {
	cfg := Config{Width: 1280, Height: 800, DPI: 144, ClientName: "a-very-long-client-name"}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	b := clientDataBlocks(&cfg, protocolSSL, nil)
	d := decoder{b: b}
	if d.u16() != csCore {
		t.Fatal("first block is not TS_UD_CS_CORE")
	}
	n := int(d.u16())
	core := decoder{b: b[4:n]}
	core.u32()
	if w, h := core.u16(), core.u16(); w != 1280 || h != 800 {
		t.Fatalf("desktop %dx%d", w, h)
	}
	core.skip(12)
	name := core.bytes(32)
	if string(name[:30]) != string(utf16le("a-very-long-cli")) || name[30] != 0 || name[31] != 0 {
		t.Fatalf("clientName % x is not truncated with a terminator", name)
	}
	// After serverSelectedProtocol: physical size, orientation, scale.
	tail := decoder{b: b[n-18 : n]}
	pw, ph := tail.u32(), tail.u32()
	tail.u16()
	if scale, dev := tail.u32(), tail.u32(); pw != 225 || ph != 141 || scale != 150 || dev != 140 {
		t.Fatalf("physical %dx%d mm, scale %d, device %d", pw, ph, scale, dev)
	}
	if typ := binary.LittleEndian.Uint16(b[n:]); typ != csSecurity {
		t.Fatalf("block after core %#x", typ)
	}
}
