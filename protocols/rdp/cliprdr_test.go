package rdp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClipboard is a ClipboardHandler that records what it is given.
type testClipboard struct {
	mu      sync.Mutex
	formats [][]ClipboardFormat
	data    []testClipData
}

type testClipData struct {
	format uint32
	data   []byte
	ok     bool
}

func (h *testClipboard) ClipboardFormats(formats []ClipboardFormat) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.formats = append(h.formats, formats)
}

func (h *testClipboard) ClipboardData(format uint32, data []byte, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.data = append(h.data, testClipData{format, bytes.Clone(data), ok})
}

// cliprdrTestChannel is the MCS channel the tests' server assigns cliprdr.
const cliprdrTestChannel = 1008

// clipClient is an active Client with the channel cliprdr (ID 1008) over a
// capConn.
func clipClient(maxBytes int) (*Client, *capConn, *testClipboard) {
	return clipClientLimits(maxBytes, 0)
}

// clipClientLimits is clipClient with Config.ClipboardMaxImageBytes too.
func clipClientLimits(maxBytes, maxImageBytes int) (*Client, *capConn, *testClipboard) {
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	h := &testClipboard{}
	c.cfg.Clipboard, c.cfg.ClipboardMaxBytes, c.cfg.ClipboardMaxImageBytes = h, maxBytes, maxImageBytes
	c.initClipboard()
	c.channels[c.clip.ch].ID = cliprdrTestChannel
	return c, cc, h
}

func sendClip(c *Client, msg []byte) error { return sendOn(c, cliprdrTestChannel, msg) }

// expectClip checks the cliprdr messages the client sent since the last
// call.
func expectClip(t *testing.T, cc *capConn, want ...string) {
	t.Helper()
	got := sentOn(t, cc, cliprdrTestChannel)
	if len(got) != len(want) {
		t.Fatalf("client sent %d messages, want %d: % x", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i], hx(want[i])) {
			t.Errorf("message %d:\n got % x\nwant % x", i, got[i], hx(want[i]))
		}
	}
}

// Server PDUs, written out from their layouts in MS-RDPECLIP 2.2.
const (
	// Clipboard Capabilities: one General Capability Set, version 2,
	// CB_USE_LONG_FORMAT_NAMES (as xrdp and Windows send it).
	clipServerCapsLong = "07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 02 00 00 00"
	clipMonitorReady   = "01 00 00 00 00 00 00 00"
	// Format List with Long Format Names: CF_UNICODETEXT, "HTML Format"
	// as 0xC0F4, CF_TEXT.
	clipServerFormatListLong = "02 00 00 00 28 00 00 00" +
		" 0d 00 00 00 00 00" +
		" f4 c0 00 00 48 00 54 00 4d 00 4c 00 20 00 46 00 6f 00 72 00 6d 00 61 00 74 00 00 00" +
		" 01 00 00 00 00 00"
	clipFormatListResponseOK = "03 00 01 00 00 00 00 00"
)

var clipServerFormats = []ClipboardFormat{{ID: CFUnicodeText}, {ID: 0xC0F4, Name: CFNameHTML}, {ID: CFText}}

// TestSpecClipCaps: the Clipboard Capabilities PDU of MS-RDPECLIP 4.1.3
// parses to version 2 with flags 0x0e, and appendClipCaps writes it back.
func TestSpecClipCaps(t *testing.T) {
	spec := readHexVector(t, "ms-rdpeclip-4.1.3-client-caps.hex")
	h, body, err := parseClipHeader(spec)
	if err != nil || h.msgType != cbClipCaps || h.msgFlags != 0 || h.dataLen != 16 {
		t.Fatalf("header %+v: %v", h, err)
	}
	caps, err := parseClipCaps(body)
	if err != nil {
		t.Fatal(err)
	}
	if !caps.general || caps.version != cbCapsVersion2 || caps.generalFlags != cbUseLongFormatNames|cbStreamFileclipEnabled|cbFileclipNoFilePaths {
		t.Errorf("caps %+v", caps)
	}
	if got := appendClipCaps(nil, cbCapsVersion2, 0x0e); !bytes.Equal(got, spec) {
		t.Errorf("appendClipCaps:\n got % x\nwant % x", got, spec)
	}
}

// TestSpecFormatListResponse: the Format List Response of MS-RDPECLIP
// 4.1.6 is what the client sends to acknowledge a Format List.
func TestSpecFormatListResponse(t *testing.T) {
	spec := readHexVector(t, "ms-rdpeclip-4.1.6-format-list-response.hex")
	if got := appendFormatListResponse(nil, true); !bytes.Equal(got, spec) {
		t.Errorf("appendFormatListResponse:\n got % x\nwant % x", got, spec)
	}
	h, body, err := parseClipHeader(spec)
	if err != nil || h.msgType != cbFormatListResponse || len(body) != 0 {
		t.Fatalf("header %+v: %v", h, err)
	}
	if ok, err := checkResponseFlags("", "", h.msgFlags); !ok || err != nil {
		t.Errorf("flags %#x: %v %v", h.msgFlags, ok, err)
	}
	if got := appendFormatListResponse(nil, false); !bytes.Equal(got, hx("03 00 02 00 00 00 00 00")) {
		t.Errorf("failure response % x", got)
	}
}

// TestSpecFormatDataRequest: the Format Data Request of MS-RDPECLIP 4.5.3
// (format 0xc079) parses, and appendFormatDataRequest writes it back.
func TestSpecFormatDataRequest(t *testing.T) {
	spec := readHexVector(t, "ms-rdpeclip-4.5.3-format-data-request.hex")
	h, body, err := parseClipHeader(spec)
	if err != nil || h.msgType != cbFormatDataRequest {
		t.Fatalf("header %+v: %v", h, err)
	}
	id, err := parseFormatDataRequest(body)
	if err != nil || id != 0xc079 {
		t.Fatalf("requestedFormatId %#x: %v", id, err)
	}
	if got := appendFormatDataRequest(nil, 0xc079); !bytes.Equal(got, spec) {
		t.Errorf("appendFormatDataRequest:\n got % x\nwant % x", got, spec)
	}
}

// TestFormatListLayouts: Format List PDUs in the three layouts of
// MS-RDPECLIP 2.2.3.1 (Long Format Names; Short Format Names in UTF-16LE
// and in ASCII with CB_ASCII_NAMES), written out from the spec, parse to
// the formats, and the client's own lists write the same bytes.
func TestFormatListLayouts(t *testing.T) {
	// Long Format Names (2.2.3.1.2.1).
	msg := hx(clipServerFormatListLong)
	h, body, err := parseClipHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseFormatList(body, true, h.msgFlags)
	if err != nil || !slices.Equal(got, clipServerFormats) {
		t.Fatalf("long names: %+v, %v", got, err)
	}
	if b := appendFormatList(nil, clipServerFormats, true); !bytes.Equal(b, msg) {
		t.Errorf("appendFormatList long:\n got % x\nwant % x", b, msg)
	}
	// Short Format Names (2.2.3.1.1.1) in UTF-16LE: 32-byte name fields.
	short := "02 00 00 00 48 00 00 00" +
		" 0d 00 00 00" + repeatHex("00", 32) +
		" f4 c0 00 00 48 00 54 00 4d 00 4c 00 20 00 46 00 6f 00 72 00 6d 00 61 00 74 00 00 00" + repeatHex("00", 8)
	h, body, _ = parseClipHeader(hx(short))
	got, err = parseFormatList(body, false, h.msgFlags)
	if err != nil || !slices.Equal(got, clipServerFormats[:2]) {
		t.Fatalf("short names: %+v, %v", got, err)
	}
	if b := appendFormatList(nil, clipServerFormats[:2], false); !bytes.Equal(b, hx(short)) {
		t.Errorf("appendFormatList short:\n got % x\nwant % x", b, hx(short))
	}
	// Short Format Names in ASCII (CB_ASCII_NAMES).
	ascii := "02 00 04 00 24 00 00 00 f4 c0 00 00 48 54 4d 4c 20 46 6f 72 6d 61 74 00" + repeatHex("00", 20)
	h, body, _ = parseClipHeader(hx(ascii))
	got, err = parseFormatList(body, false, h.msgFlags)
	if err != nil || !slices.Equal(got, clipServerFormats[1:2]) {
		t.Fatalf("ASCII names: %+v, %v", got, err)
	}
	// An empty list, in either layout.
	for _, long := range []bool{false, true} {
		if b := appendFormatList(nil, nil, long); !bytes.Equal(b, hx("02 00 00 00 00 00 00 00")) {
			t.Errorf("empty list % x", b)
		}
	}
}

// TestClipboardText: the text encodings of CF_UNICODETEXT and CF_TEXT.
func TestClipboardText(t *testing.T) {
	if got := encodeUnicodeText("hé€😀"); !bytes.Equal(got, hx("68 00 e9 00 ac 20 3d d8 00 de 00 00")) {
		t.Errorf("UTF-16LE % x", got)
	}
	if got := encodeANSIText("hé€😀\x00ž"); !bytes.Equal(got, hx("68 e9 80 3f 3f 9e 00")) {
		t.Errorf("Windows-1252 % x", got)
	}
	for _, tc := range []struct {
		format uint32
		data   string
		want   string
	}{
		{CFUnicodeText, "68 00 e9 00 ac 20 3d d8 00 de 00 00 41 00", "hé€😀"},
		{CFUnicodeText, "68 00 69", "h"},          // no NUL, odd length
		{CFUnicodeText, "00 d8 41 00", "\uFFFDA"}, // unpaired surrogate
		{CFUnicodeText, "", ""},
		{CFText, "68 e9 80 9f 8d 00 41", "hé€Ÿ\u008d"},
		{CFOEMText, "41 42", "AB"},
	} {
		got, ok := ClipboardText(tc.format, hx(tc.data))
		if !ok || got != tc.want {
			t.Errorf("ClipboardText(%d, %s) = %q, %v; want %q", tc.format, tc.data, got, ok, tc.want)
		}
	}
	if _, ok := ClipboardText(CFDIB, nil); ok {
		t.Error("CF_DIB decoded as text")
	}
	// Every Windows-1252 byte but NUL survives a round trip.
	for c := 1; c < 256; c++ {
		s := decodeWindows1252([]byte{byte(c)})
		if b := encodeANSIText(s); !bytes.Equal(b, []byte{byte(c), 0}) {
			t.Errorf("byte %#x: %q encodes as % x", c, s, b)
		}
	}
}

// TestCliprdrExchange scripts a server through the whole exchange:
// capabilities and Monitor Ready, the server's Format List, the client's
// text served on request, and the client's request of the server's text.
func TestCliprdrExchange(t *testing.T) {
	c, cc, h := clipClient(0)
	for _, m := range []string{clipServerCapsLong, clipMonitorReady} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	// 3.2.5.1.2: Client Capabilities (version 2, long names only), then
	// an empty Format List.
	expectClip(t, cc, "07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 02 00 00 00",
		"02 00 00 00 00 00 00 00")

	// The server's Format List is acknowledged and handed over.
	if err := sendClip(c, hx(clipServerFormatListLong)); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, clipFormatListResponseOK)
	if len(h.formats) != 1 || !slices.Equal(h.formats[0], clipServerFormats) {
		t.Fatalf("ClipboardFormats %+v", h.formats)
	}

	// SetClipboardText announces CF_UNICODETEXT and CF_TEXT (long names).
	if err := c.SetClipboardText("héllo"); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, "02 00 00 00 0c 00 00 00 0d 00 00 00 00 00 01 00 00 00 00 00")
	if err := sendClip(c, hx(clipFormatListResponseOK)); err != nil {
		t.Fatal(err)
	}
	// The server asks for each: UTF-16LE and Windows-1252, each ending in
	// NUL; a format not offered fails.
	for _, m := range []string{"04 00 00 00 04 00 00 00 0d 00 00 00", "04 00 00 00 04 00 00 00 01 00 00 00", "04 00 00 00 04 00 00 00 08 00 00 00"} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	expectClip(t, cc,
		"05 00 01 00 0c 00 00 00 68 00 e9 00 6c 00 6c 00 6f 00 00 00",
		"05 00 01 00 06 00 00 00 68 e9 6c 6c 6f 00",
		"05 00 02 00 00 00 00 00")

	// RequestClipboard sends a Format Data Request; the answers go to
	// ClipboardData in order, a failure with ok false.
	if err := c.RequestClipboard(CFUnicodeText); err != nil {
		t.Fatal(err)
	}
	if err := c.RequestClipboard(0xC0F4); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, "04 00 00 00 04 00 00 00 0d 00 00 00", "04 00 00 00 04 00 00 00 f4 c0 00 00")
	if err := sendClip(c, hx("05 00 01 00 0a 00 00 00 52 00 e9 00 6d 00 00 00 00 00")); err != nil {
		t.Fatal(err)
	}
	if err := sendClip(c, hx("05 00 02 00 00 00 00 00")); err != nil {
		t.Fatal(err)
	}
	if len(h.data) != 2 || h.data[0].format != CFUnicodeText || !h.data[0].ok || h.data[1].format != 0xC0F4 || h.data[1].ok || h.data[1].data != nil {
		t.Fatalf("ClipboardData %+v", h.data)
	}
	if s, _ := ClipboardText(h.data[0].format, h.data[0].data); s != "Rém" {
		t.Errorf("text %q", s)
	}
	// Formats the server did not offer cannot be requested.
	if err := c.RequestClipboard(CFDIB); err == nil {
		t.Error("requested CF_DIB, which the server did not offer")
	}
	// Lock and Unlock Clipboard Data are ignored.
	for _, m := range []string{"0a 00 00 00 04 00 00 00 01 00 00 00", "0b 00 00 00 04 00 00 00 01 00 00 00"} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	expectClip(t, cc)
}

// TestCliprdrBeforeReady: text set before Monitor Ready is announced with
// it; without the server's capabilities (defaults: version 1, no long
// names, 2.2.2.1) the client uses Short Format Names. Requests before
// Monitor Ready, and on a client without Config.Clipboard, fail.
func TestCliprdrBeforeReady(t *testing.T) {
	c, cc, _ := clipClient(0)
	if err := c.RequestClipboard(CFUnicodeText); !errors.Is(err, ErrClipboardNotReady) {
		t.Errorf("RequestClipboard before Monitor Ready: %v", err)
	}
	if err := c.SetClipboardText("a"); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc)
	if err := sendClip(c, hx(clipMonitorReady)); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, "07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 00 00 00 00",
		"02 00 00 00 48 00 00 00 0d 00 00 00"+repeatHex("00", 32)+"01 00 00 00"+repeatHex("00", 32))
	// The server's list is read as Short Format Names too.
	short := "02 00 00 00 24 00 00 00 0d 00 00 00" + repeatHex("00", 32)
	if err := sendClip(c, hx(short)); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, clipFormatListResponseOK)

	plain, _ := testClient()
	if err := plain.SetClipboardText("a"); !errors.Is(err, ErrClipboardNotReady) {
		t.Errorf("SetClipboardText without Config.Clipboard: %v", err)
	}
	if err := plain.RequestClipboard(CFText); !errors.Is(err, ErrClipboardNotReady) {
		t.Errorf("RequestClipboard without Config.Clipboard: %v", err)
	}
	// Text over ClipboardMaxBytes is refused.
	small, _, _ := clipClient(10)
	if err := small.SetClipboardText("abcde"); err == nil {
		t.Error("12 bytes of UTF-16 set under a 10-byte limit")
	}
}

// TestCliprdrMalformed: malformed or out-of-order cliprdr PDUs are protocol
// errors that name the PDU and MS-RDPECLIP, never a panic.
func TestCliprdrMalformed(t *testing.T) {
	ready := []string{clipServerCapsLong, clipMonitorReady}
	for _, tc := range []struct {
		name string
		msgs []string
	}{
		{"short header", []string{"01 00 00 00 00 00 00"}},
		{"dataLen beyond the message", []string{"02 00 00 00 07 00 00 00 0d 00 00 00 00 00"}},
		{"dataLen far beyond", []string{"05 00 01 00 ff ff ff ff 00"}},
		{"too many bytes after dataLen", []string{"01 00 00 00 00 00 00 00 00 00 00 00 00"}},
		{"monitor ready with data", []string{"01 00 00 00 02 00 00 00 00 00"}},
		{"caps truncated", []string{"07 00 00 00 02 00 00 00 01 00"}},
		{"caps set overruns", []string{"07 00 00 00 08 00 00 00 01 00 00 00 01 00 0c 00"}},
		{"caps set length below 4", []string{"07 00 00 00 08 00 00 00 01 00 00 00 05 00 02 00"}},
		{"caps general set of 8 bytes", []string{"07 00 00 00 0c 00 00 00 01 00 00 00 01 00 08 00 02 00 00 00"}},
		{"caps trailing bytes", []string{"07 00 00 00 06 00 00 00 00 00 00 00 00 00"}},
		{"caps count too high", []string{"07 00 00 00 04 00 00 00 ff ff 00 00"}},
		{"long name without NUL", append(slices.Clone(ready), "02 00 00 00 08 00 00 00 0d 00 00 00 41 00 42 00")},
		{"long name odd bytes", append(slices.Clone(ready), "02 00 00 00 07 00 00 00 0d 00 00 00 00 00 00")},
		{"long name id truncated", append(slices.Clone(ready), "02 00 00 00 03 00 00 00 0d 00 00")},
		{"short names not 36 bytes", []string{"02 00 00 00 23 00 00 00 0d 00 00 00" + repeatHex("00", 31)}},
		{"data request of 3 bytes", []string{"04 00 00 00 03 00 00 00 0d 00 00"}},
		{"data request of 5 bytes", []string{"04 00 00 00 05 00 00 00 0d 00 00 00 00"}},
		{"data response without request", append(slices.Clone(ready), "05 00 01 00 02 00 00 00 00 00")},
		{"data response flags 0", append(slices.Clone(ready), "05 00 00 00 00 00 00 00")},
		{"data response flags OK|FAIL", append(slices.Clone(ready), "05 00 03 00 00 00 00 00")},
		{"format list response flags 0", []string{"03 00 00 00 00 00 00 00"}},
	} {
		c, _, h := clipClient(0)
		var err error
		for _, m := range tc.msgs {
			if err = sendClip(c, hx(m)); err != nil {
				break
			}
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, "MS-RDPECLIP") {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(h.formats) != 0 || len(h.data) != 0 {
			t.Errorf("%s: handler called", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}

	// One at the limit is taken (TestCliprdrOversize: one over it).
	c, cc, h := clipClient(4096)
	for _, m := range []string{clipServerCapsLong, clipMonitorReady, clipServerFormatListLong} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RequestClipboard(CFText); err != nil {
		t.Fatal(err)
	}
	cc.take()
	big := append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, 4096), make([]byte, 4096+clipMaxTrailingBytes)...)
	if err := sendClip(c, big); err != nil || len(h.data) != 1 || len(h.data[0].data) != 4096 {
		t.Errorf("a %d-byte message: %v", len(big), err)
	}
}

// TestCliprdrChannel: Config.Clipboard requests the static channel
// "cliprdr" with the options of MS-RDPECLIP 2.1; without it none is
// requested. ClipboardMaxBytes out of range is refused.
func TestCliprdrChannel(t *testing.T) {
	c, _ := testClient()
	c.initClipboard()
	if c.clip != nil || len(c.channels) != 0 {
		t.Fatal("a channel without Config.Clipboard")
	}
	c, _, _ = clipClient(0)
	want := uint32(channelOptionInitialized | channelOptionEncryptRDP | channelOptionCompressRDP | channelOptionShowProtocol)
	if len(c.channels) != 1 || c.channels[0].Name != "cliprdr" || c.channels[0].Options != want {
		t.Fatalf("channels %+v", c.channels)
	}
	// The larger of the two limits: the image's.
	if c.channels[0].limit != clipHeaderSize+defaultClipboardMaxImageBytes+clipMaxTrailingBytes {
		t.Errorf("limit %d", c.channels[0].limit)
	}
	blocks := clientDataBlocks(&c.cfg, protocolSSL, c.channels)
	if !bytes.Contains(blocks, putU32([]byte("cliprdr\x00"), want)) {
		t.Error("no cliprdr CHANNEL_DEF in the client data blocks")
	}
	for _, n := range []int{-1, maxChannelMessage} {
		cfg := Config{ClipboardMaxBytes: n}
		if err := cfg.normalize(); err == nil {
			t.Errorf("ClipboardMaxBytes %d accepted", n)
		}
	}
}

// TestCliprdrConcurrent: SetClipboardText and RequestClipboard on other
// goroutines while Run's goroutine handles the server's PDUs (run with
// -race); every request gets its answer in order.
func TestCliprdrConcurrent(t *testing.T) {
	c, cc, h := clipClient(0)
	for _, m := range []string{clipServerCapsLong, clipMonitorReady, clipServerFormatListLong} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 50 {
			if err := c.SetClipboardText(strings.Repeat("x", i)); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() {
		for range 50 {
			if err := sendClip(c, hx("04 00 00 00 04 00 00 00 0d 00 00 00")); err != nil {
				t.Error(err)
			}
		}
	})
	requests := 0
	wg.Go(func() {
		for range 50 {
			if err := c.RequestClipboard(CFUnicodeText); err == nil {
				requests++
			}
		}
	})
	wg.Wait()
	for range requests {
		if err := sendClip(c, hx("05 00 01 00 02 00 00 00 00 00")); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.data) != requests || requests != maxClipboardPending {
		t.Errorf("%d answers for %d requests", len(h.data), requests)
	}
	// Every message sent is a whole cliprdr PDU.
	for _, m := range sentOn(t, cc, cliprdrTestChannel) {
		if _, _, err := parseClipHeader(m); err != nil {
			t.Fatalf("sent % x: %v", m, err)
		}
	}
}

// TestCliprdrRunEnds: a malformed cliprdr PDU ends Run with the protocol
// error.
func TestCliprdrRunEnds(t *testing.T) {
	c, _, _ := clipClient(0)
	client, server := net.Pipe()
	defer server.Close()
	c.conn, c.tcp, c.fr = client, client, newFrameReader(client)
	go io.Copy(io.Discard, server)
	go func() {
		for _, m := range []string{clipServerCapsLong, clipMonitorReady, "02 00 00 00 04 00 00 00 0d 00 00 00"} {
			msg := hx(m)
			frame := sendDataIndication(cliprdrTestChannel, channelPDU(len(msg), channelFlagFirst|channelFlagLast, msg))
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
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Section, "MS-RDPECLIP") {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("Run: %v", err)
}

// TestCliprdrOversize: a message longer than ClipboardMaxBytes allows is
// skipped chunk by chunk, nothing of it buffered, and the connection goes
// on: a Format Data Response fails its request (ok false), a Format List
// is refused with a failed Format List Response. Chunks that do not add up
// are still a protocol error.
func TestCliprdrOversize(t *testing.T) {
	c, cc, h := clipClient(4096)
	for _, m := range []string{clipServerCapsLong, clipMonitorReady, clipServerFormatListLong} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RequestClipboard(CFUnicodeText); err != nil {
		t.Fatal(err)
	}
	cc.take()
	const n = 5 * channelChunkLength // five chunks, over the limit
	big := append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, n), make([]byte, n)...)
	if err := sendClip(c, big); err != nil {
		t.Fatalf("an oversize response: %v", err)
	}
	if cap(c.channels[c.clip.ch].buf) > channelChunkLength {
		t.Errorf("%d bytes buffered for a skipped message", cap(c.channels[c.clip.ch].buf))
	}
	if len(h.data) != 1 || h.data[0].format != CFUnicodeText || h.data[0].ok || h.data[0].data != nil {
		t.Fatalf("ClipboardData %+v", h.data)
	}
	// The next request and its answer work as before.
	if err := c.RequestClipboard(CFText); err != nil {
		t.Fatal(err)
	}
	cc.take()
	if err := sendClip(c, hx("05 00 01 00 03 00 00 00 68 69 00")); err != nil {
		t.Fatal(err)
	}
	if len(h.data) != 2 || !h.data[1].ok || string(h.data[1].data) != "hi\x00" {
		t.Fatalf("ClipboardData %+v", h.data)
	}
	// A Format List of thousands of formats is refused, not taken.
	list := appendFormatList(nil, slices.Repeat([]ClipboardFormat{{ID: 0xC001, Name: strings.Repeat("x", 100)}}, 30), true)
	if err := sendClip(c, list); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, "03 00 02 00 00 00 00 00")
	if len(h.formats) != 1 {
		t.Errorf("ClipboardFormats called for a skipped list")
	}
	// Skipped chunks that overrun what the message announced are still an error.
	c, _, _ = clipClient(4096)
	first := channelPDU(8192, channelFlagFirst, make([]byte, channelChunkLength))
	if err := c.handleChannelData(cliprdrTestChannel, first); err != nil {
		t.Fatal(err)
	}
	var pe *ProtocolError
	last := channelPDU(8192, channelFlagLast, make([]byte, 8192))
	if err := c.handleChannelData(cliprdrTestChannel, last); !errors.As(err, &pe) {
		t.Errorf("overrun of a skipped message: %v", err)
	}
}

// TestCliprdrOverLimitInPadding: data up to clipMaxTrailingBytes over the
// limit fits in the channel's limit, which leaves room for padding after
// dataLen, but is over the limit all the same: a text or image response
// fails its request as a longer one would, a Format List is refused.
// FuzzCliprdr found the text and the image cases.
func TestCliprdrOverLimitInPadding(t *testing.T) {
	const maxText, maxImage = 16, 64
	over := func(n int) []byte {
		return append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, n+clipMaxTrailingBytes), make([]byte, n+clipMaxTrailingBytes)...)
	}
	for _, tc := range []struct {
		name   string
		list   string
		format uint32
		msg    []byte
	}{
		{"text", clipServerListText, CFText, over(maxText)},
		{"image", clipServerListDIB, CFDIB, over(maxImage)},
	} {
		c, cc, h := clipClientLimits(maxText, maxImage)
		for _, m := range []string{clipServerCapsLong, clipMonitorReady, tc.list} {
			mustSendClip(t, c, hx(m))
		}
		if err := c.RequestClipboard(tc.format); err != nil {
			t.Fatal(err)
		}
		cc.take()
		if err := sendClip(c, tc.msg); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(h.data) != 1 || h.data[0].format != tc.format || h.data[0].ok || h.data[0].data != nil {
			t.Errorf("%s: ClipboardData %+v", tc.name, h.data)
		}
		// A Format List of maxText+4 bytes of Long Format Names.
		list := appendFormatList(nil, []ClipboardFormat{{ID: 0xC001, Name: "abcd"}, {ID: 0xC002}}, true)
		if n := len(list) - clipHeaderSize; n != maxText+clipMaxTrailingBytes {
			t.Fatalf("a list of %d bytes", n)
		}
		mustSendClip(t, c, list)
		expectClip(t, cc, "03 00 02 00 00 00 00 00")
		if len(h.formats) != 1 {
			t.Errorf("%s: ClipboardFormats called for a list over the limit", tc.name)
		}
	}
	// The client's text handler is told why.
	c, cc, r := textClient(t, time.Hour, maxText)
	mustSendClip(t, c, hx(clipServerListText))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestText)
	mustSendClip(t, c, over(maxText))
	if len(r.errs) != 1 || !errors.Is(r.errs[0], ErrClipboardTooLarge) {
		t.Errorf("ClipboardText got %q, %v", r.list(), r.errs)
	}
}

// TestCliprdrSetClipboardContent: SetClipboardContent with HTML announces
// "HTML Format" after the text formats, under the client's registered ID
// 0xC0F0 with its Long Format Name, and serves CF_HTML that gives the
// fragment back; SetClipboardText and HTML "" announce text only. HTML
// over ClipboardMaxBytes as CF_HTML is ErrClipboardTooLarge and leaves
// the clipboard as it was.
func TestCliprdrSetClipboardContent(t *testing.T) {
	const frag = "<p>Grüße, <b>東京</b> ✓</p>"
	limit := cfhtmlSize(len(frag))
	c, cc, _ := clipClient(limit)
	for _, m := range []string{clipServerCapsLong, clipMonitorReady} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	cc.take()
	if err := c.SetClipboardContent(ClipboardContent{Text: "Grüße", HTML: frag}); err != nil {
		t.Fatal(err)
	}
	// 2.2.3.1.2.1: CF_UNICODETEXT and CF_TEXT without names, then 0xC0F0
	// named "HTML Format" in UTF-16LE, NUL-terminated.
	expectClip(t, cc, "02 00 00 00 28 00 00 00 0d 00 00 00 00 00 01 00 00 00 00 00"+
		" f0 c0 00 00 48 00 54 00 4d 00 4c 00 20 00 46 00 6f 00 72 00 6d 00 61 00 74 00 00 00")
	for _, m := range []string{clipFormatListResponseOK, "04 00 00 00 04 00 00 00 f0 c0 00 00", "04 00 00 00 04 00 00 00 0d 00 00 00"} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	sent := sentOn(t, cc, cliprdrTestChannel)
	if len(sent) != 2 {
		t.Fatalf("%d responses, want 2", len(sent))
	}
	h, body, err := parseClipHeader(sent[0])
	if err != nil || h.msgType != cbFormatDataResponse || h.msgFlags != cbResponseOK || len(body) != limit {
		t.Fatalf("HTML Format response %+v, %d bytes: %v", h, len(body), err)
	}
	if got, err := decodeCFHTML(body); err != nil || got != frag {
		t.Errorf("served CF_HTML decodes to %q, %v", got, err)
	}
	if s, _ := ClipboardText(CFUnicodeText, sent[1][clipHeaderSize:]); s != "Grüße" {
		t.Errorf("text %q", s)
	}

	// One byte over the limit: refused, and the clipboard is unchanged.
	if err := c.SetClipboardContent(ClipboardContent{Text: "x", HTML: frag + "!"}); !errors.Is(err, ErrClipboardTooLarge) {
		t.Errorf("HTML over the limit: %v", err)
	}
	expectClip(t, cc)
	if err := sendClip(c, hx("04 00 00 00 04 00 00 00 f0 c0 00 00")); err != nil {
		t.Fatal(err)
	}
	if sent := sentOn(t, cc, cliprdrTestChannel); len(sent) != 1 || !bytes.Contains(sent[0], []byte(frag)) {
		t.Errorf("after a refused SetClipboardContent the client serves % x", sent)
	}
	// Text only: no HTML Format, and its requests fail.
	for _, set := range []func() error{
		func() error { return c.SetClipboardText("t") },
		func() error { return c.SetClipboardContent(ClipboardContent{Text: "t"}) },
	} {
		if err := set(); err != nil {
			t.Fatal(err)
		}
		expectClip(t, cc, "02 00 00 00 0c 00 00 00 0d 00 00 00 00 00 01 00 00 00 00 00")
	}
	if err := sendClip(c, hx("04 00 00 00 04 00 00 00 f0 c0 00 00")); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, "05 00 02 00 00 00 00 00")
}

// TestCliprdrSetClipboardContentShortNames: without Long Format Names
// (the server did not announce them), "HTML Format" goes in the 32-byte
// formatName of a Short Format Name, in UTF-16LE, NUL-padded
// (2.2.3.1.1.1), and content set before Monitor Ready is announced then.
func TestCliprdrSetClipboardContentShortNames(t *testing.T) {
	c, cc, _ := clipClient(0)
	if err := c.SetClipboardContent(ClipboardContent{Text: "a", HTML: "<i>a</i>"}); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc)
	if err := sendClip(c, hx(clipMonitorReady)); err != nil {
		t.Fatal(err)
	}
	expectClip(t, cc, "07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 00 00 00 00",
		"02 00 00 00 6c 00 00 00 0d 00 00 00"+repeatHex("00", 32)+"01 00 00 00"+repeatHex("00", 32)+
			"f0 c0 00 00 48 00 54 00 4d 00 4c 00 20 00 46 00 6f 00 72 00 6d 00 61 00 74 00"+repeatHex("00", 10))
	if err := sendClip(c, hx("04 00 00 00 04 00 00 00 f0 c0 00 00")); err != nil {
		t.Fatal(err)
	}
	sent := sentOn(t, cc, cliprdrTestChannel)
	if len(sent) != 1 {
		t.Fatalf("%d messages", len(sent))
	}
	if got, err := decodeCFHTML(sent[0][clipHeaderSize:]); err != nil || got != "<i>a</i>" {
		t.Errorf("served CF_HTML decodes to %q, %v", got, err)
	}
}
