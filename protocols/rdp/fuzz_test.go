package rdp

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/racgate/racgate/render"
)

// nopConn is a net.Conn that discards writes and has nothing to read, for
// feeding server PDUs to a Client's handlers.
type nopConn struct{}

func (nopConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (nopConn) Write(b []byte) (int, error)      { return len(b), nil }
func (nopConn) Close() error                     { return nil }
func (nopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (nopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (nopConn) SetDeadline(time.Time) error      { return nil }
func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }

// testClient is a Client in the active state over nopConn, drawing into a
// small framebuffer.
func testClient() (*Client, *render.Framebuffer) {
	fb := render.NewFramebuffer(64, 64)
	cfg := Config{}
	_ = cfg.normalize()
	c := &Client{cfg: cfg, tcp: nopConn{}, conn: nopConn{}, sink: fb, log: slog.New(slog.DiscardHandler),
		userID: 1007, server: &serverData{ioChannel: ioChannelID}, active: true}
	c.width, c.height = 64, 64
	return c, fb
}

// bitmapUpdate builds TS_UPDATE_BITMAP_DATA with one rectangle.
func bitmapUpdate(x, y, w, h, bpp int, flags uint16, data []byte) []byte {
	var b []byte
	b = putU16(b, updateTypeBitmap)
	b = putU16(b, 1)
	for _, v := range []int{x, y, x + w - 1, y + h - 1, w, h, bpp} {
		b = putU16(b, uint16(v))
	}
	b = putU16(b, flags)
	b = putU16(b, uint16(len(data)))
	return append(b, data...)
}

// fastPathFrame wraps one update in a fast-path output PDU.
func fastPathFrame(code uint8, data []byte) []byte {
	b := []byte{0, 0x80, 0, code}
	b = putU16(b, uint16(len(data)))
	b = append(b, data...)
	b[1] = 0x80 | byte(len(b)>>8)
	b[2] = byte(len(b))
	return b
}

// slowPathFrame wraps a share data PDU in MCS Send Data Indication, X.224
// and TPKT (without TPKT's version byte and length: as frameReader returns).
func slowPathFrame(pduType2 uint8, body []byte) []byte {
	sd := appendShareDataPDU(nil, serverChannelID, 0x10000, pduType2, body)
	b := []byte{2, 0xF0, 0x80, mcsSendDataIndication << 2, 0, 2, 0x03, 0xEB, 0x70}
	b = appendPERLength(b, len(sd))
	return append(b, sd...)
}

func planarSeed() []byte {
	// 2x2, RLE, no alpha: each plane one raw pair per line, line 2 deltas 0.
	p := []byte{planarRLE | planarNA}
	for range 3 {
		p = append(p, 0x20, 10, 20, 0x20, 0, 0)
	}
	return p
}

func FuzzFastPath(f *testing.F) {
	raw := make([]byte, 4*4*4)
	f.Add(fastPathFrame(fpUpdateBitmap, bitmapUpdate(1, 2, 4, 4, 32, 0, raw)))
	f.Add(fastPathFrame(fpUpdateBitmap, bitmapUpdate(0, 0, 2, 2, 32, bitmapCompression|noBitmapCompressionHdrFlag, planarSeed())))
	f.Add(fastPathFrame(fpUpdateBitmap, bitmapUpdate(0, 0, 2, 2, 16, 0, make([]byte, 8))))
	f.Add(fastPathFrame(fpUpdatePtrNull, nil))
	f.Add(fastPathFrame(fpUpdatePtrDefault, nil))
	f.Add(fastPathFrame(fpUpdateCached, []byte{3, 0}))
	ptr := []byte{24, 0, 0, 0, 1, 0, 1, 0, 2, 0, 2, 0, 4, 0, 8, 0}
	ptr = append(ptr, make([]byte, 12)...)
	f.Add(fastPathFrame(fpUpdatePointer, ptr))
	large := []byte{32, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4, 0, 0}
	f.Add(fastPathFrame(fpUpdateLargePointer, large))
	pal := putU32([]byte{2, 0, 0, 0}, 2)
	f.Add(fastPathFrame(fpUpdatePalette, append(pal, 1, 2, 3, 4, 5, 6)))
	// Fragmented: first + last.
	upd := bitmapUpdate(0, 0, 1, 1, 24, 0, make([]byte, 4))
	fr := []byte{0, 0x80, 0, fpUpdateBitmap | fragmentFirst<<4}
	fr = putU16(fr, 4)
	fr = append(fr, upd[:4]...)
	fr = append(fr, fpUpdateBitmap|fragmentLast<<4)
	fr = putU16(fr, uint16(len(upd)-4))
	fr = append(fr, upd[4:]...)
	fr[1], fr[2] = 0x80|byte(len(fr)>>8), byte(len(fr))
	f.Add(fr)
	// MS-RDPEGDI 4.2.2 (interleaved, 16 bpp) and 4.2.7 (raw, 32 bpp) bitmaps.
	f.Add(fastPathFrame(fpUpdateBitmap, bitmapUpdate(0, 0, 32, 32, 16, bitmapCompression|noBitmapCompressionHdrFlag, readHexVector(f, "ms-rdpegdi-4.2.2-compressed.hex"))))
	f.Add(fastPathFrame(fpUpdateBitmap, bitmapUpdate(0, 0, 5, 2, 32, 0, specRaw32)))
	f.Fuzz(func(t *testing.T, p []byte) {
		// frameReader guarantees a fast-path frame has its length bytes.
		if len(p) < 3 || p[0]&3 != 0 {
			return
		}
		c, _ := testClient()
		_ = c.handleFastPath(p)
	})
}

// sendDataIndication wraps data in an X.224 Data TPDU and MCS Send Data
// Indication from user 1002 (as frameReader returns it, without TPKT).
func sendDataIndication(channel uint16, data []byte) []byte {
	b := []byte{2, 0xF0, 0x80, mcsSendDataIndication << 2, 0, 1, byte(channel >> 8), byte(channel), 0x70}
	b = appendPERLength(b, len(data))
	return append(b, data...)
}

func FuzzSlowPath(f *testing.F) {
	f.Add(slowPathFrame(pduType2Update, bitmapUpdate(0, 0, 2, 2, 24, 0, make([]byte, 16))))
	f.Add(slowPathFrame(pduType2Pointer, []byte{1, 0, 0, 0, 0, 0, 0, 0}))
	f.Add(slowPathFrame(pduType2SetErrorInfo, []byte{0x0C, 0, 0, 0}))
	f.Add(slowPathFrame(pduType2SaveSessionInfo, logonErrorsInfo(0xC000006D, 0)))
	f.Add(slowPathFrame(pduType2FontMap, []byte{0, 0, 0, 0, 3, 0, 4, 0}))
	f.Add(demandActiveFrame(1024, 768))
	f.Add([]byte{2, 0xF0, 0x80, mcsDisconnectProviderUltimatum<<2 | 1, 0x80})
	f.Add(append([]byte{2, 0xF0, 0x80, mcsSendDataIndication << 2, 0, 2, 0x03, 0xEC, 0x70, 11}, channelPDU(3, channelFlagFirst|channelFlagLast, []byte("abc"))...))
	// The decrypted share control PDUs of MS-RDPBCGR 4.1.12, 4.1.22 and
	// 4.3.3 in a Send Data Indication on the I/O channel (as with TLS, no
	// security header).
	for _, name := range []string{"ms-rdpbcgr-4.1.12-demand-active.hex", "ms-rdpbcgr-4.3.3-save-session-info.hex"} {
		f.Add(sendDataIndication(ioChannelID, readHexVector(f, name)))
	}
	f.Add(sendDataIndication(ioChannelID, []byte{0x1a, 0, 0x17, 0, 0xea, 3, 0xea, 3, 1, 0, 0x45, 2, 0x1a, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4, 0}))
	f.Fuzz(func(t *testing.T, p []byte) {
		c, _ := testClient()
		c.addChannel("cliprdr", 0, func([]byte) error { return nil })
		c.channels[0].ID = 1004
		_ = c.handleSlowPath(p)
	})
}

func FuzzFrameReader(f *testing.F) {
	f.Add([]byte{3, 0, 0, 7, 2, 0xF0, 0x80})
	f.Add([]byte{0, 5, 1, 2, 3})
	f.Add([]byte{0, 0x80, 6, 1, 2, 3})
	// MS-RDPBCGR 4.1.2 and 4.1.4, back to back.
	f.Add(append(readHexVector(f, "ms-rdpbcgr-4.1.2-x224-connection-confirm.hex"), readHexVector(f, "ms-rdpbcgr-4.1.4-mcs-connect-response.hex")...))
	f.Fuzz(func(t *testing.T, p []byte) {
		fr := newFrameReader(bytes.NewReader(p))
		for range 10 {
			fast, frame, err := fr.next()
			if err != nil {
				return
			}
			if fast && len(frame) < 2 {
				t.Fatalf("fast-path frame of %d bytes", len(frame))
			}
		}
	})
}

func FuzzConnectionSequencePDUs(f *testing.F) {
	f.Add([]byte{0x0E, 0xD0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0})
	f.Add([]byte{0x0E, 0xD0, 0, 0, 0x12, 0x34, 0, 3, 0, 8, 0, 5, 0, 0, 0})
	f.Add(mcsConnectResponseSeed())
	f.Add([]byte{mcsAttachUserConfirm<<2 | 2, 0, 0, 6})
	f.Add([]byte{mcsChannelJoinConfirm<<2 | 2, 0, 0, 6, 3, 0xEB, 3, 0xEB})
	f.Add([]byte{licenseErrorAlert, 3, 16, 0, 7, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0})
	// MS-RDPBCGR 4.1.2 and 4.1.4 without TPKT (and X.224 Data) headers, and
	// the 4.1.12 TS_DEMAND_ACTIVE_PDU after its share control header.
	f.Add(readHexVector(f, "ms-rdpbcgr-4.1.2-x224-connection-confirm.hex")[4:])
	f.Add(readHexVector(f, "ms-rdpbcgr-4.1.4-mcs-connect-response.hex")[7:])
	f.Add(readHexVector(f, "ms-rdpbcgr-4.1.12-demand-active.hex")[6:])
	// The 4.1.4 proprietary server certificate (its last 184 bytes).
	cr := readHexVector(f, "ms-rdpbcgr-4.1.4-mcs-connect-response.hex")
	f.Add(cr[len(cr)-184:])
	f.Fuzz(func(t *testing.T, p []byte) {
		parseX224ConnectionConfirm(p)
		if ud, err := parseMCSConnectResponse(p); err == nil {
			parseGCCConferenceCreateResponse(ud)
		}
		parseGCCConferenceCreateResponse(p)
		parseMCSAttachUserConfirm(p)
		parseMCSChannelJoinConfirm(p, 1003)
		parseMCSDomainPDU(p)
		parseServerLicensePDU(p)
		parseDemandActive(p)
		serverLicenseKey(p)
		c, _ := testClient()
		c.clientNewLicenseRequest(p)
		c.license = &licenseState{encKey: make([]byte, 16), macSaltKey: make([]byte, 16)}
		c.clientPlatformChallengeResponse(p)
		for len(p) > 0 {
			var err error
			if _, p, err = parseShareControl(p); err != nil {
				break
			}
		}
	})
}

func FuzzPlanar(f *testing.F) {
	f.Add(uint8(2), uint8(2), planarSeed())
	raw := []byte{planarNA}
	raw = append(raw, make([]byte, 3*4+1)...)
	f.Add(uint8(2), uint8(2), raw)
	// The MS-RDPEGDI 3.1.9.2.3 example plane as R, G and B.
	spec := []byte{planarRLE | planarNA}
	for range 3 {
		spec = append(spec, specPlanarPlane...)
	}
	f.Add(uint8(6), uint8(3), spec)
	// MS-RDPEGDI 3.1.9.2.2: extra long runs, in each plane of a 100x1 bitmap.
	long := []byte{planarRLE | planarNA}
	for range 3 {
		long = append(long, 0x1F, 0x41, 0xF2, 0x52)
	}
	f.Add(uint8(100), uint8(1), long)
	f.Fuzz(func(t *testing.T, w, h uint8, p []byte) {
		dst := make([]byte, int(w)*int(h)*4)
		decodePlanar(dst, p, int(w), int(h), nil)
	})
}

// mcsConnectResponseSeed is an MCS Connect-Response with a GCC Conference
// Create Response holding server core, security and network data.
func mcsConnectResponseSeed() []byte {
	var blocks []byte
	blocks = putU16(blocks, scCore)
	blocks = putU16(blocks, 12)
	blocks = putU32(blocks, 0x00080004)
	blocks = putU32(blocks, 1)
	blocks = putU16(blocks, scSecurity)
	blocks = putU16(blocks, 12)
	blocks = putU32(blocks, 0)
	blocks = putU32(blocks, 0)
	blocks = putU16(blocks, scNet)
	blocks = putU16(blocks, 8)
	blocks = putU16(blocks, 1003)
	blocks = putU16(blocks, 0)
	gcc := []byte{0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01}
	inner := []byte{0x14, 0x76, 0x0A, 0x01, 0x01, 0x00, 0x01, 0xC0, 0x00, 'M', 'c', 'D', 'n'}
	inner = appendPERLength(inner, len(blocks))
	inner = append(inner, blocks...)
	gcc = appendPERLength(gcc, len(inner))
	gcc = append(gcc, inner...)
	var c []byte
	c = appendBERTLV(c, []byte{0x0A}, []byte{0})
	c = appendBERTLV(c, []byte{0x02}, []byte{0})
	c = append(c, domainParameters(34, 3, 0, 1, 0, 1, 0xFFF8, 2)...)
	c = appendBERTLV(c, []byte{0x04}, gcc)
	return appendBERTLV(nil, []byte{0x7F, 0x66}, c)
}

func FuzzNLA(f *testing.F) {
	f.Add(ntlmSpecChallenge())
	req, _ := asn1.Marshal(tsRequest{Version: 6, NegoTokens: []negoToken{{ntlmSpecChallenge()}}})
	f.Add(req)
	req, _ = asn1.Marshal(tsRequest{Version: 6, ErrorCode: -1073741715})
	f.Add(req)
	f.Fuzz(func(t *testing.T, p []byte) {
		if r, err := readTSRequest(bytes.NewReader(p)); err == nil && len(r.NegoTokens) > 0 {
			p = r.NegoTokens[0].Token
		}
		n := &ntlmClient{user: "u", password: "p"}
		n.negotiateMessage()
		if _, err := n.authenticateMessage(p); err == nil {
			n.unseal(p)
		}
	})
}

// demandActiveFrame is a Demand Active PDU (MS-RDPBCGR 2.2.1.13.1) with
// general, bitmap (desktop w x h) and input capability sets, framed as
// frameReader returns a TPKT payload.
func demandActiveFrame(w, h int) []byte {
	var caps []byte
	caps = capSet(caps, capsTypeGeneral, make([]byte, 20))
	bm := make([]byte, 24)
	bm[0] = 32
	setU16(bm[8:], uint16(w))
	setU16(bm[10:], uint16(h))
	caps = capSet(caps, capsTypeBitmap, bm)
	caps = capSet(caps, capsTypeInput, make([]byte, 84))
	var da []byte
	da = putU32(da, 0x103EA)
	da = putU16(da, 4)
	da = putU16(da, uint16(4+len(caps)))
	da = append(da, "RDP\x00"...)
	da = putU16(da, 3)
	da = putU16(da, 0)
	da = append(da, caps...)
	da = putU32(da, 0)
	return shareControlFrame(pduTypeDemandActive, da)
}

func shareControlFrame(typ uint16, body []byte) []byte {
	var sc []byte
	sc = putU16(sc, uint16(6+len(body)))
	sc = putU16(sc, typ|pduVersion)
	sc = putU16(sc, serverChannelID)
	sc = append(sc, body...)
	b := []byte{2, 0xF0, 0x80, mcsSendDataIndication << 2, 0, 2, 0x03, 0xEB, 0x70}
	b = appendPERLength(b, len(sc))
	return append(b, sc...)
}

// logonErrorsInfo is a Save Session Info PDU body with extended logon info
// holding logon errors (MS-RDPBCGR 2.2.10.1.1.4).
func logonErrorsInfo(typ, data uint32) []byte {
	b := putU32(nil, infoTypeLogonExtendedInfo)
	b = putU16(b, 22)
	b = putU32(b, logonExAutoReconnectCookie|logonExLogonErrors)
	b = putU32(b, 4)
	b = putU32(b, 0xAAAAAAAA) // a stand-in cookie
	b = putU32(b, 8)
	b = putU32(b, typ)
	return putU32(b, data)
}

// rdpsndFuzzInput joins rdpsnd messages for FuzzRdpsnd: each is a
// little-endian u16 length and that many bytes.
func rdpsndFuzzInput(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = putU16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// FuzzRdpsnd feeds sequences of channel messages to the rdpsnd state
// machine of a client offering PCM, xrdp's Opus and IMA ADPCM: it must
// return errors, never panic, and hand the AudioHandler only waves in an
// agreed format, at non-decreasing times.
func FuzzRdpsnd(f *testing.F) {
	info := hx("02 00 14 00 10 27 01 00 07 00 00 00 01 02 03 04")
	wave := hx("00 00 00 00 05 06 07 08 09 0a 0b 0c")
	f.Add(rdpsndFuzzInput(hx(xrdpServerFormats), hx("06 00 00 04 34 12 00 04"+repeatHex("00", 1020)), info, wave,
		hx("03 00 04 00 34 12 cd ab"), hx("04 00 04 00 00 00 01 00"), hx("01 00 00 00"),
		hx("27 00 0c 00 00 00 00 00 00 00 00 00 00 00 05 00")))
	f.Add(rdpsndFuzzInput(readHexVector(f, "ms-rdpea-4.1.1-server-audio-formats.hex"), readHexVector(f, "ms-rdpea-4.1.4-training-confirm.hex")))
	adpcm := AudioFormat{Tag: 0x0011, Channels: 2, SamplesPerSec: 22050, AvgBytesPerSec: 22201, BlockAlign: 1024, BitsPerSample: 4, Extra: hx("f9 03")}
	f.Add(rdpsndFuzzInput(serverFormatsPDU(8, pcm44k, pcm22k, opusX, adpcm), readHexVector(f, "ms-rdpea-4.2.4-wave2.hex"),
		sndPDU(sndcWave2, hx("ff ff 00 00 09 00 00 00 00 00 00 00 01 02 03 04"))))
	f.Add(rdpsndFuzzInput(hx(xrdpServerFormats), hx("02 00 08 08 ff ff 00 00 fe 00 00 00 01 02 03 04"), make([]byte, 2048)))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, _, a, clock := audioClient(AudioFormat{Tag: 0x0011, Channels: 2, SamplesPerSec: 22050}, opusX, pcm44k, pcm22k)
		for len(in) >= 2 {
			n := min(int(in[0])|int(in[1])<<8, len(in)-2)
			msg := in[2 : 2+n]
			in = in[2+n:]
			clock.advance(time.Duration(n) * time.Millisecond)
			before := len(a.waves)
			err := sendSnd(c, msg)
			for i, w := range a.waves[before:] {
				if !slices.ContainsFunc(c.snd.formats, func(f AudioFormat) bool { return audioFormatEqual(f, w.f) }) {
					t.Fatalf("wave in format %+v, agreed %+v", w.f, c.snd.formats)
				}
				if len(w.data) > maxRdpsndMessage || (before+i > 0 && w.at < a.waves[before+i-1].at) {
					t.Fatalf("wave %d: %d bytes at %v", before+i, len(w.data), w.at)
				}
			}
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("not a protocol error: %v", err)
				}
				return
			}
		}
	})
}

// FuzzDrdynvc feeds sequences of drdynvc messages (u16-length-prefixed, as
// rdpsndFuzzInput joins them) to the DVC manager of a client with an audio
// handler attached: it must return protocol errors only, never panic or
// buffer more than a channel allows, send only well-formed DVC PDUs of at
// most 1,600 bytes, and hand the AudioHandler only waves in a format the
// client offered.
func FuzzDrdynvc(f *testing.F) {
	caps := appendDynvcCapsVersion(nil, 3, [4]uint16{0x3333, 0x1111, 0x0a3d, 0x04a7})
	create := appendDynvcCreateReq(nil, 0x1234, 2, audioPlaybackDVC)
	seed := [][]byte{caps, create}
	seed = append(seed, dvcFragments(0x1234, hx(xrdpServerFormats), 30, 1000)...)
	seed = append(seed, dvcFragments(0x1234, hx("06 00 00 04 34 12 00 04"+repeatHex("00", 1020)), -1, 0)...)
	seed = append(seed, dvcFragments(0x1234, hx("02 00 14 00 10 27 01 00 07 00 00 00 01 02 03 04"), -1, 0)...)
	seed = append(seed, dvcFragments(0x1234, hx("00 00 00 00 05 06 07 08 09 0a 0b 0c"), 4, 3)...)
	seed = append(seed, appendDynvcCreateReq(nil, 5, 0, "Microsoft::Windows::RDS::DisplayControl"), appendDynvcClose(nil, 0x1234))
	f.Add(rdpsndFuzzInput(seed...))
	f.Add(rdpsndFuzzInput(readHexVector(f, "ms-rdpedyc-4.1.1-caps-request-version2.hex"), readHexVector(f, "ms-rdpedyc-4.2.1-create-request.hex"),
		readHexVector(f, "ms-rdpedyc-4.3.2-data-line1.hex"), readHexVector(f, "ms-rdpedyc-4.4.1-close.hex")))
	f.Add(rdpsndFuzzInput(readHexVector(f, "ms-rdpedyc-4.1.1-caps-request-version2.hex"), appendDynvcCreateReq(nil, 3, 0, audioPlaybackDVC),
		readHexVector(f, "ms-rdpedyc-4.3.3-data-first-compressed.hex")))
	wave := append(hx("00 00 00 00"), make([]byte, 8188)...)
	big := [][]byte{caps, appendDynvcCreateReq(nil, 0x12345678, 0, audioPlaybackDVC)}
	big = append(big, dvcFragments(0x12345678, serverFormatsPDU(8, pcm44k, opusX), -1, 0)...)
	big = append(big, dvcFragments(0x12345678, hx("02 00 08 20 ff ff 00 00 fe 00 00 00 01 02 03 04"), -1, 0)...)
	big = append(big, dvcFragments(0x12345678, wave, 1590, 1595)...)
	big = append(big, dvcFragments(0x12345678, sndPDU(sndcWave2, hx("ff ff 01 00 09 00 00 00 00 00 00 00 01 02")), -1, 0)...)
	f.Add(rdpsndFuzzInput(big...))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, cc, a, clock := audioClient(opusX, pcm44k, pcm22k)
		for len(in) >= 2 {
			n := min(int(in[0])|int(in[1])<<8, len(in)-2)
			msg := in[2 : 2+n]
			in = in[2+n:]
			clock.advance(time.Duration(n) * time.Millisecond)
			before := len(a.waves)
			err := sendOn(c, drdynvcTestChannel, msg)
			// The agreed formats are the server's descriptions of
			// formats the client offered (agreeAudioFormats).
			for _, w := range a.waves[before:] {
				if !slices.ContainsFunc(c.audio.offer, func(f AudioFormat) bool { return audioFormatMatches(f, w.f) }) {
					t.Fatalf("wave in format %+v, offered %+v", w.f, c.audio.offer)
				}
			}
			for _, ch := range c.dvc.open {
				if ch.limit > maxRdpsndMessage || ch.assembling && (ch.total > ch.limit || len(ch.buf) > ch.total) {
					t.Fatalf("channel %q buffers %d of %d bytes (limit %d)", ch.name, len(ch.buf), ch.total, ch.limit)
				}
			}
			for _, p := range sentOn(t, cc, drdynvcTestChannel) {
				if len(p) == 0 || len(p) > dynvcMaxPDU {
					t.Fatalf("client sent a %d-byte DVC PDU", len(p))
				}
				h := parseDynvcHeader(p[0])
				switch h.cmd {
				case dynvcCapabilities:
					if !bytes.Equal(p, appendDynvcCapsRsp(nil, c.dvc.version)) {
						t.Fatalf("client sent % x", p)
					}
				case dynvcCreate:
					if len(p) != 1+dynvcUintSize(h.cbID)+4 {
						t.Fatalf("client sent % x", p)
					}
				case dynvcData:
					if _, err := parseDynvcData(h, p[1:]); err != nil {
						t.Fatal(err)
					}
				case dynvcDataFirst:
					if _, err := parseDynvcDataFirst(h, p[1:]); err != nil {
						t.Fatal(err)
					}
				case dynvcClose:
					if _, err := parseDynvcClose(h, p[1:]); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatalf("client sent % x", p)
				}
			}
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("not a protocol error: %v", err)
				}
				return
			}
		}
	})
}

// FuzzRdpdr feeds sequences of rdpdr messages to the client's rdpdr side:
// protocol errors only, never a panic, and only the client PDUs of a
// device-less client, at most two for each server message.
func FuzzRdpdr(f *testing.F) {
	f.Add(rdpsndFuzzInput(serverAnnounce(12, 0x42), hx(xrdpServerCaps), serverClientIDConfirm(12, 0x42), hx(userLoggedOn),
		readHexVector(f, "ms-rdpefs-4.12-server-create-drive-request.hex"), hx("72 44 72 64 01 00 00 00 00 00 00 00")))
	f.Add(rdpsndFuzzInput(serverAnnounce(10, 1), hx(userLoggedOn), hx(xrdpServerCaps), serverClientIDConfirm(10, 1), hx("52 50 43 50 00 00 00 00")))
	f.Add(rdpsndFuzzInput(serverAnnounce(13, 5), serverClientIDConfirm(13, 5), serverAnnounce(12, 6), serverClientIDConfirm(12, 6)))
	known := map[uint16]bool{pakidCoreClientIDConfirm: true, pakidCoreClientName: true, pakidCoreClientCapability: true,
		pakidCoreDeviceListAnnounce: true, pakidCoreDeviceIOCompletion: true}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, cc, _, _ := audioClient()
		for len(in) >= 2 {
			n := min(int(in[0])|int(in[1])<<8, len(in)-2)
			msg := in[2 : 2+n]
			in = in[2+n:]
			err := sendOn(c, rdpdrTestChannel, msg)
			sent := sentOn(t, cc, rdpdrTestChannel)
			if len(sent) > 2 {
				t.Fatalf("%d messages for one", len(sent))
			}
			for _, m := range sent {
				h, _, perr := parseRdpdrHeader(m)
				if perr != nil || h.component != rdpdrCtypCore || !known[h.packetID] {
					t.Fatalf("client sent % x", m)
				}
				if h.packetID == pakidCoreDeviceListAnnounce && !bytes.Equal(m, hx(deviceListNone)) {
					t.Fatalf("client announced devices: % x", m)
				}
			}
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("not a protocol error: %v", err)
				}
				return
			}
		}
	})
}

// The clipboard fuzzers' inputs are server cliprdr messages, each after
// its length as a little-endian u16 (as rdpsndFuzzInput joins them); a
// length with its top bit, clipFuzzChunked, has the message sent in
// chunks of clipFuzzChunk bytes instead of whole.
//
// They run inputs of up to clipFuzzMaxInput bytes and return at once on
// longer ones, which thus never count as new coverage. Go's minimizer
// tries up to n²/2 cuts of each new n-byte input that widens coverage,
// counting no execs meanwhile: mutants of 2 KB and 5 KB seeds (messages
// over limits of 1 KB and 4 KB) each took all of -fuzzminimizetime (60
// s), shown as 0 execs/sec under -parallel 1. The limits are small
// instead, so that every path fits: a message over each limit, a DIB
// between the two, 17 Format Lists for the 16 pending requests.
const (
	clipFuzzMaxInput = 320
	clipFuzzChunked  = 0x8000
	clipFuzzChunk    = 32
	clipFuzzMaxBytes = 96  // Config.ClipboardMaxBytes
	clipFuzzMaxImage = 160 // Config.ClipboardMaxImageBytes, and pixels for FuzzTextClipboard
)

// clipFuzzInput joins msgs as the clipboard fuzzers read them, each sent
// in chunks if chunked. f fails on an input they would not run.
func clipFuzzInput(f *testing.F, chunked bool, msgs ...[]byte) []byte {
	f.Helper()
	var b []byte
	for _, m := range msgs {
		n := len(m)
		if chunked {
			n |= clipFuzzChunked
		}
		b = append(putU16(b, uint16(n)), m...)
	}
	if len(b) > clipFuzzMaxInput {
		f.Fatalf("a seed of %d bytes, over clipFuzzMaxInput (%d)", len(b), clipFuzzMaxInput)
	}
	return b
}

// nextClipFuzzMsg takes the first message of a clipboard fuzz input (of 2
// bytes or more): the message, the size of the chunks it goes in, and
// the rest of the input.
func nextClipFuzzMsg(in []byte) (msg []byte, chunk int, rest []byte) {
	v := int(in[0]) | int(in[1])<<8
	chunk = channelChunkLength
	if v&clipFuzzChunked != 0 {
		chunk = clipFuzzChunk
	}
	n := min(v&^clipFuzzChunked, len(in)-2)
	return in[2 : 2+n], chunk, in[2+n:]
}

// FuzzCliprdr feeds sequences of cliprdr messages to the clipboard of a
// client holding text: protocol errors only, never a panic; the client
// sends only whole clipboard PDUs of the kinds it sends, at most two for
// each server message, and the handler is given no more data than the
// limit allows (the image limit for CF_DIB and CF_DIBV5). After each
// server Format List the client requests its first format.
func FuzzCliprdr(f *testing.F) {
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerFormatListLong),
		hx("04 00 00 00 04 00 00 00 0d 00 00 00"), hx("05 00 01 00 0a 00 00 00 52 00 e9 00 6d 00 00 00 00 00"),
		hx(clipFormatListResponseOK), hx("0a 00 00 00 04 00 00 00 01 00 00 00")))
	f.Add(clipFuzzInput(f, false, readHexVector(f, "ms-rdpeclip-4.1.3-client-caps.hex"), hx(clipMonitorReady),
		readHexVector(f, "ms-rdpeclip-4.1.6-format-list-response.hex"), readHexVector(f, "ms-rdpeclip-4.5.3-format-data-request.hex")))
	f.Add(clipFuzzInput(f, false, hx(clipMonitorReady), hx("02 00 04 00 24 00 00 00 f4 c0 00 00 48 54 4d 4c 20 46 6f 72 6d 61 74 00"+repeatHex("00", 20)),
		hx("05 00 02 00 00 00 00 00"), hx("04 00 00 00 04 00 00 00 01 00 00 00")))
	// A DIB over the text limit, within the image limit.
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerListDIB), dibResponse(make([]byte, clipFuzzMaxBytes+20)),
		hx(clipServerListDIB), dibResponse(remoteDIB()), hx("04 00 00 00 04 00 00 00 08 00 00 00")))
	// In chunks: a DIB over the image limit, skipped, then text.
	f.Add(clipFuzzInput(f, true, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerListDIB), dibResponse(make([]byte, clipFuzzMaxImage+1)),
		hx(clipServerListText), hx("05 00 01 00 03 00 00 00 80 21 00")))
	// Short Format Names: text over the limit, then a Format List over it.
	f.Add(clipFuzzInput(f, false, hx(clipMonitorReady), appendFormatList(nil, []ClipboardFormat{{ID: CFUnicodeText}}, false),
		utf16Response(strings.Repeat("x", clipFuzzMaxBytes/2)),
		appendFormatList(nil, []ClipboardFormat{{ID: CFUnicodeText}, {ID: CFText}, {ID: CFDIB}}, false)))
	sends := map[uint16]bool{cbClipCaps: true, cbFormatList: true, cbFormatListResponse: true, cbFormatDataRequest: true, cbFormatDataResponse: true}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > clipFuzzMaxInput {
			return
		}
		c, cc, h := clipClientLimits(clipFuzzMaxBytes, clipFuzzMaxImage)
		if err := c.SetClipboardText("héllo"); err != nil {
			t.Fatal(err)
		}
		for len(in) >= 2 {
			msg, chunk, rest := nextClipFuzzMsg(in)
			in = rest
			before := len(h.formats)
			err := sendChunks(c, cliprdrTestChannel, msg, chunk)
			if err == nil && len(h.formats) > before && len(h.formats[before]) > 0 {
				_ = c.RequestClipboard(h.formats[before][0].ID)
			}
			sent := sentOn(t, cc, cliprdrTestChannel)
			if len(sent) > 2 {
				t.Fatalf("%d messages for one", len(sent))
			}
			for _, m := range sent {
				hd, _, perr := parseClipHeader(m)
				if perr != nil || !sends[hd.msgType] {
					t.Fatalf("client sent % x", m)
				}
			}
			for _, d := range h.data {
				limit := clipFuzzMaxBytes
				if isImageFormat(d.format) {
					limit = clipFuzzMaxImage
				}
				if len(d.data) > limit || (!d.ok && d.data != nil) {
					t.Fatalf("ClipboardData %+v", d)
				}
			}
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("not a protocol error: %v", err)
				}
				return
			}
		}
	})
}

// FuzzTextClipboard: server cliprdr messages (as FuzzCliprdr reads them)
// against a client with Config.ClipboardText, and against one with
// Config.ClipboardContent: it never panics, sends at most a Format List
// Response and one Format Data Request for a message, hands over only
// text and HTML within the limit and in UTF-8, and fails only with a
// ProtocolError.
func FuzzTextClipboard(f *testing.F) {
	// CF_HTML small enough for the fuzzer's limit, and encodeCFHTML's,
	// over it.
	html := htmlResponse(cfhtmlDoc("Version:0.9\r\nStartHTML:$SH\nEndHTML:$EH\nStartFragment:$SF\nEndFragment:$EF\n", "\x01<i>\x02é\x03</i>\x04\n", "%d"))
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerFormatListLong),
		utf16Response("Rém"), hx(clipServerListText), hx("05 00 01 00 03 00 00 00 80 21 00")))
	f.Add(clipFuzzInput(f, false, hx(clipMonitorReady), hx(clipServerFormatListLong), hx(clipServerListText),
		hx(clipServerListDIB), hx("05 00 02 00 00 00 00 00"), hx(clipMonitorReady), hx(clipServerFormatListLong)))
	f.Add(clipFuzzInput(f, true, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerFormatListLong),
		append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, clipFuzzMaxBytes+1), make([]byte, clipFuzzMaxBytes+1)...)))
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerFormatListLong),
		utf16Response("Rém"), html, hx(clipServerFormatListLong), hx(clipServerFormatListLong), utf16Response("x"), hx(clipResponseFail)))
	f.Add(clipFuzzInput(f, true, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerListHTML), htmlResponse(encodeCFHTML("<b>é</b>"))))
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerListAllFormat),
		utf16Response("Rém"), html, dibResponse(remoteDIB())))
	// A DIB over the image limit; one within it, over its pixels.
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerListDIBV5),
		dibResponse(append(dibHead(8, 6, 24, biRGB, 0, 0), make([]byte, 6*24)...))))
	f.Add(clipFuzzInput(f, false, hx(clipServerCapsLong), hx(clipMonitorReady), hx(clipServerListDIB),
		dibResponse(append(dwords(dibHead(16, 11, 1, biRGB, 0, 2), 0, 0xFFFFFF), make([]byte, 11*4)...))))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > clipFuzzMaxInput {
			return
		}
		fuzzFetchClipboard(t, in, false)
		fuzzFetchClipboard(t, in, true)
	})
}

// fuzzFetchClipboard is FuzzTextClipboard's run on one client.
func fuzzFetchClipboard(t *testing.T, in []byte, content bool) {
	const limit, imageLimit = clipFuzzMaxBytes, clipFuzzMaxImage
	c, _ := testClient()
	cc := &capConn{}
	c.conn, c.tcp = cc, cc
	var got []ClipboardContent
	if content {
		c.cfg.ClipboardContent = func(cont ClipboardContent, err error) {
			if err == nil || errors.Is(err, ErrClipboardImageTooLarge) {
				got = append(got, cont)
			}
			if err != nil && cont != (ClipboardContent{}) && !errors.Is(err, ErrClipboardImageTooLarge) {
				t.Fatalf("content %q with error %v", cont, err)
			}
		}
	} else {
		c.cfg.ClipboardText = func(text string, err error) {
			if err == nil {
				got = append(got, ClipboardContent{Text: text})
			}
		}
	}
	c.cfg.ClipboardTimeout, c.cfg.ClipboardMaxBytes, c.cfg.ClipboardMaxImageBytes = time.Hour, limit, imageLimit
	c.initClipboard()
	defer c.Close()
	c.channels[c.clip.ch].ID = cliprdrTestChannel
	for len(in) >= 2 {
		msg, chunk, rest := nextClipFuzzMsg(in)
		in = rest
		err := sendChunks(c, cliprdrTestChannel, msg, chunk)
		if sent := sentOn(t, cc, cliprdrTestChannel); len(sent) > 2 {
			t.Fatalf("%d messages for one", len(sent))
		}
		for _, g := range got {
			if len(g.Text) > 3*limit || !utf8.ValidString(g.Text) || len(g.HTML) > limit || !utf8.ValidString(g.HTML) {
				t.Fatalf("text of %d bytes, valid %v; HTML of %d bytes, valid %v", len(g.Text), utf8.ValidString(g.Text), len(g.HTML), utf8.ValidString(g.HTML))
			}
			if !content && (g.HTML != "" || g.Image != nil) {
				t.Fatal("HTML or an image with ClipboardText")
			}
			if g.Image != nil && g.Image.Bounds().Dx()*g.Image.Bounds().Dy() > imageLimit {
				t.Fatalf("an image of %v, over %d pixels", g.Image.Bounds(), imageLimit)
			}
		}
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("not a protocol error: %v", err)
			}
			return
		}
	}
}

// FuzzCFHTML: decodeCFHTML never panics on any data, and what it returns
// is valid UTF-8 taken from the data, or an ErrClipboardFailed; a fragment of
// valid UTF-8 survives encodeCFHTML then decodeCFHTML unchanged, and the
// data is exactly cfhtmlSize long.
func FuzzCFHTML(f *testing.F) {
	for _, frag := range cfhtmlFragments {
		f.Add(encodeCFHTML(frag))
	}
	f.Add(windowsCFHTML("<b>Grüße</b> 😀", "SourceURL:https://example.com:8443/\n"))
	f.Add(cfhtmlDoc("Version:0.9\r\nStartHTML:-1\r\nEndHTML:-1\r\nStartFragment:$SF\r\nEndFragment:$EF\r\n", "\x02<i>x</i>\x03", "%010d"))
	f.Add(cfhtmlDoc("Version:0.9\nStartHTML:$SH\nEndHTML:$EH\nStartFragment:$EH\nEndFragment:$SH\n", "\x01<p>ü</p>\x04\x00\x00", "%d"))
	f.Add([]byte("Version:0.9\rStartHTML:99999999999\rEndHTML:-1\rStartFragment:-5\rEndFragment:0000000000000000000042\r<html>"))
	f.Add([]byte("Version:0.9\nStartFragment:30\nEndFragment:40\n\xff\xfe\xfd\xfc\xfb\xfa\xf9"))
	f.Add([]byte("<html><body>no header</body></html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeCFHTML(data)
		if err == nil {
			if !utf8.ValidString(got) || len(got) > len(data) || !bytes.Contains(data, []byte(got)) {
				t.Fatalf("decodeCFHTML(%q) = %q", data, got)
			}
		} else if !errors.Is(err, ErrClipboardFailed) {
			t.Fatalf("error %v", err)
		}
		if !utf8.Valid(data) {
			return
		}
		enc := encodeCFHTML(string(data))
		if len(enc) != cfhtmlSize(len(data)) {
			t.Fatalf("%d bytes for a %d-byte fragment, cfhtmlSize says %d", len(enc), len(data), cfhtmlSize(len(data)))
		}
		if back, err := decodeCFHTML(enc); err != nil || back != string(data) {
			t.Fatalf("round trip of %q: %q, %v", data, back, err)
		}
	})
}

// FuzzDIB: decodeDIB never panics on any data and allocates only within
// its bounds: it returns an error wrapping ErrClipboardFailed, or an image
// of at most the pixels allowed and 16384 on a side, an uncompressed one
// of the header's size. An *image.NRGBA it returns survives encodeDIBV5
// then decodeDIB unchanged, and, when opaque, encodeDIB too.
func FuzzDIB(f *testing.F) {
	f.Add(append(dibHead(3, 2, 24, biRGB, 0, 0), make([]byte, 24)...))
	f.Add(append(dibHead(3, -2, 32, biRGB, 0, 0), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24))
	f.Add(append(dwords(dibHead(2, 1, 32, biBitfields, 8, 0), 0xFF, 0xFF00, 0xFF0000), 1, 2, 3, 4, 5, 6, 7, 8))
	f.Add(append(dwords(dibHead(3, 1, 16, biBitfields, 0, 0), 0xF800, 0x07E0, 0x001F), 0x00, 0xF8, 0xE0, 0x07, 0x1F, 0x00, 0, 0))
	f.Add(append(dibHead(3, 1, 16, biRGB, 0, 0), 0x00, 0x7C, 0xE0, 0x03, 0x0F, 0x3C, 0x99, 0x99))
	f.Add(append(dwords(dibHead(4, 1, 8, biRGB, 0, 3), 0xFF0000, 0xFF00, 0x7F007F), 2, 0, 1, 3))
	f.Add(append(dwords(dibHead(5, 1, 4, biRGB, 0, 2), 0xFF0000, 0xFF00), 0x01, 0x10, 0x10, 0))
	f.Add(append(dwords(dibHead(9, 2, 1, biRGB, 0, 2), 0xFF, 0xFFFFFF), 0xAA, 0x80, 0, 0, 0x55, 0, 0, 0))
	f.Add(append(v5Head(1, 2, 32, biBitfields, [4]uint32{0xFF0000, 0xFF00, 0xFF, 0xFF000000}), 0xFF, 0, 0, 0x40, 0, 0, 0xFF, 0xFF))
	f.Add(append(dibHead(1, 1, 8, biRLE8, 2, 0), 1, 0))
	translucent := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	translucent.Pix[3], translucent.Pix[7] = 0x80, 0xFF
	f.Add(encodeDIBV5(translucent))
	f.Add(encodeDIB(translucent))
	var file bytes.Buffer
	if err := png.Encode(&file, translucent); err != nil {
		f.Fatal(err)
	}
	f.Add(append(dibHead(3, 3, 0, biPNG, uint32(file.Len()), 0), file.Bytes()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxPixels = 1 << 16
		img, err := decodeDIB(data, maxPixels)
		if err != nil {
			if img != nil || !errors.Is(err, ErrClipboardFailed) {
				t.Fatalf("%v, %v", img, err)
			}
			return
		}
		r := img.Bounds()
		if r.Empty() || r.Dx() > dibMaxSide || r.Dy() > dibMaxSide || r.Dx()*r.Dy() > maxPixels {
			t.Fatalf("an image of %v", r)
		}
		h, _ := parseDIBHeader(data)
		m, ok := img.(*image.NRGBA)
		if !ok || h.compression == biPNG || h.compression == biJPEG {
			return // the embedded file's size and type
		}
		if int64(r.Dx()) != int64(h.width) || (int64(r.Dy()) != int64(h.height) && int64(r.Dy()) != -int64(h.height)) {
			t.Fatalf("an image of %v from a header of %dx%d", r, h.width, h.height)
		}
		back, err := decodeDIB(encodeDIBV5(m), maxPixels)
		if err != nil || !bytes.Equal(back.(*image.NRGBA).Pix, m.Pix) {
			t.Fatalf("CF_DIBV5 round trip: %v", err)
		}
		if m.Opaque() {
			back, err := decodeDIB(encodeDIB(m), maxPixels)
			if err != nil || !bytes.Equal(back.(*image.NRGBA).Pix, m.Pix) {
				t.Fatalf("CF_DIB round trip: %v", err)
			}
		}
	})
}

// FuzzDispctl: DVC PDUs from the server (joined as rdpsndFuzzInput joins
// them) to a client with Display Control: it never panics, fails only with
// a ProtocolError, and every resize it sends in between is one monitor
// layout within the sizes 2.2.2.2.1 allows and the server's area limit.
func FuzzDispctl(f *testing.F) {
	caps := appendDynvcCapsVersion(nil, 2, [4]uint16{})
	open := appendDynvcCreateReq(nil, 7, 0, displayControlDVC)
	f.Add(rdpsndFuzzInput(caps, open, appendDynvcData(nil, 7, hx(dispServerCaps)), appendDynvcClose(nil, 7), open,
		appendDynvcData(nil, 7, hx("05 00 00 00 14 00 00 00 01 00 00 00 00 04 00 00 00 03 00 00"))))
	f.Add(rdpsndFuzzInput(caps, open, appendDynvcDataFirst(nil, 7, 20, hx(dispServerCaps)[:10]), appendDynvcData(nil, 7, hx(dispServerCaps)[10:])))
	f.Add(rdpsndFuzzInput(caps, open, appendDynvcData(nil, 7, hx("02 00 00 00 14 00 00 00 10 00 00 00 00 20 00 00 00 20 00 00"))))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, cc := newDispClient()
		for len(in) >= 2 {
			n := min(int(in[0])|int(in[1])<<8, len(in)-2)
			msg := in[2 : 2+n]
			in = in[2+n:]
			err := sendOn(c, drdynvcTestChannel, msg)
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("not a protocol error: %v", err)
				}
				return
			}
			cc.take()
			if !c.CanResize() {
				continue
			}
			if err := c.Resize(n*37, n*29, 100+n%401); err != nil {
				t.Fatalf("Resize: %v", err)
			}
			for _, p := range sentOn(t, cc, drdynvcTestChannel) {
				h := parseDynvcHeader(p[0])
				if h.cmd != dynvcData {
					t.Fatalf("sent % x", p)
				}
				d := decoder{b: p[1+dynvcUintSize(h.cbID):]}
				typ, length, size, count := d.u32(), d.u32(), d.u32(), d.u32()
				_, _, _ = d.u32(), d.u32(), d.u32()
				w, ht := int(d.u32()), int(d.u32())
				caps := c.disp.caps
				area := uint64(caps.maxMonitors) * uint64(caps.areaFactorA) * uint64(caps.areaFactorB)
				if d.err != nil || typ != dispTypeMonitorLayout || length != 56 || size != 40 || count != 1 ||
					w%2 != 0 || w < DisplayMinSide || w > DisplayMaxSide || ht < DisplayMinSide || ht > DisplayMaxSide ||
					(area >= DisplayMinSide*DisplayMinSide && uint64(w*ht) > area) {
					t.Fatalf("layout %dx%d (area limit %d): % x", w, ht, area, p)
				}
			}
		}
	})
}
