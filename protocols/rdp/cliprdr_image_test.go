package rdp

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"slices"
	"testing"
	"time"
)

const (
	clipRequestDIB   = "04 00 00 00 04 00 00 00 08 00 00 00"
	clipRequestDIBV5 = "04 00 00 00 04 00 00 00 11 00 00 00"
	// Format List (long names) with CF_UNICODETEXT and CF_DIB; with
	// CF_DIBV5 only; with CF_DIBV5 then CF_DIB; with CF_UNICODETEXT,
	// "HTML Format" (0xC0F4) and CF_DIB.
	clipServerListTextDIB   = "02 00 00 00 0c 00 00 00 0d 00 00 00 00 00 08 00 00 00 00 00"
	clipServerListDIBV5     = "02 00 00 00 06 00 00 00 11 00 00 00 00 00"
	clipServerListDIBV5DIB  = "02 00 00 00 0c 00 00 00 11 00 00 00 00 00 08 00 00 00 00 00"
	clipServerListAllFormat = "02 00 00 00 28 00 00 00" +
		" 0d 00 00 00 00 00" +
		" f4 c0 00 00 48 00 54 00 4d 00 4c 00 20 00 46 00 6f 00 72 00 6d 00 61 00 74 00 00 00" +
		" 08 00 00 00 00 00"
)

// dibResponse is a Format Data Response carrying data.
func dibResponse(data []byte) []byte {
	return append(appendClipHeader(nil, cbFormatDataResponse, cbResponseOK, len(data)), data...)
}

// remoteDIB is a 2x1 24-bit DIB written by hand: red, then blue.
func remoteDIB() []byte {
	return append(dibHead(2, 1, 24, biRGB, 0, 0), 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00)
}

// isRemoteDIB reports whether img is remoteDIB's image.
func isRemoteDIB(img image.Image) bool {
	m, ok := img.(*image.NRGBA)
	return ok && m.Bounds() == image.Rect(0, 0, 2, 1) &&
		m.NRGBAAt(0, 0) == color.NRGBA{0xFF, 0, 0, 0xFF} && m.NRGBAAt(1, 0) == color.NRGBA{0, 0, 0xFF, 0xFF}
}

// imageClient is contentClient with both limits set.
func imageClient(t *testing.T, maxBytes, maxImage int) (*Client, *capConn, *contentResults) {
	t.Helper()
	r := &contentResults{}
	c, cc := fetchClient(t, func(cfg *Config) {
		cfg.ClipboardContent, cfg.ClipboardTimeout = r.take, 50*time.Millisecond
		cfg.ClipboardMaxBytes, cfg.ClipboardMaxImageBytes = maxBytes, maxImage
	})
	return c, cc, r
}

// TestContentClipboardImage: with Config.ClipboardContent, the image is
// fetched after the text and the HTML and handed over with them in one
// call; an image alone is handed over too; CF_DIB is asked for where both
// DIB formats are offered, CF_DIBV5 where it is the only one. With
// ClipboardText, no image is asked for.
func TestContentClipboardImage(t *testing.T) {
	c, cc, r := imageClient(t, 0, 0)
	send := func(m []byte) { mustSendClip(t, c, m) }

	send(hx(clipServerListAllFormat))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode)
	send(utf16Response("caption"))
	expectClip(t, cc, clipRequestHTML)
	send(remoteHTML())
	expectClip(t, cc, clipRequestDIB)
	r.expect(t) // not before the image is in
	send(dibResponse(remoteDIB()))
	expectClip(t, cc)

	send(hx(clipServerListDIB)) // an image alone
	expectClip(t, cc, clipFormatListResponseOK, clipRequestDIB)
	send(dibResponse(remoteDIB()))
	send(hx(clipServerListDIBV5DIB)) // both: CF_DIB
	expectClip(t, cc, clipFormatListResponseOK, clipRequestDIB)
	send(dibResponse(remoteDIB()))
	send(hx(clipServerListDIBV5)) // CF_DIBV5 alone
	expectClip(t, cc, clipFormatListResponseOK, clipRequestDIBV5)
	send(dibResponse(remoteDIB()))
	expectClip(t, cc)

	got, errs := r.list()
	if len(got) != 4 || got[0].Text != "caption" || got[0].HTML != remoteFragment {
		t.Fatalf("ClipboardContent got %q, %v", got, errs)
	}
	for i, g := range got {
		if errs[i] != nil || !isRemoteDIB(g.Image) || (i > 0 && (g.Text != "" || g.HTML != "")) {
			t.Errorf("call %d: %q, image %v, %v", i, g, g.Image, errs[i])
		}
	}

	// ClipboardText: text only; an image alone asks for nothing.
	tc, tcc, tr := textClient(t, time.Minute, 0)
	mustSendClip(t, tc, hx(clipServerListTextDIB))
	mustSendClip(t, tc, utf16Response("text"))
	mustSendClip(t, tc, hx(clipServerListDIB))
	expectClip(t, tcc, clipFormatListResponseOK, clipRequestUnicode, clipFormatListResponseOK)
	if got := tr.list(); !slices.Equal(got, []string{"text"}) {
		t.Errorf("ClipboardText got %q", got)
	}
}

// TestContentClipboardImageFails: an image the server cannot render, that
// is not a DIB the client decodes, or that times out leaves the text
// (err nil, as HTML does); on a clipboard with an image alone each is the
// call's error. A copy while the image is on its way starts over.
func TestContentClipboardImageFails(t *testing.T) {
	c, cc, r := imageClient(t, 0, 0)
	send := func(m []byte) { mustSendClip(t, c, m) }
	rle := append(dibHead(1, 1, 8, biRLE8, 2, 0), make([]byte, 1024+2)...)
	for _, answer := range [][]byte{hx(clipResponseFail), dibResponse(rle)} {
		send(hx(clipServerListTextDIB))
		send(utf16Response("text"))
		send(answer)
		expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipRequestDIB)
		send(hx(clipServerListDIB))
		send(answer)
		expectClip(t, cc, clipFormatListResponseOK, clipRequestDIB)
	}
	// Unanswered: the text after the timeout, then an error alone.
	send(hx(clipServerListTextDIB))
	send(utf16Response("slow"))
	r.waitFor(t, 5)
	send(hx(clipServerListDIB))
	r.waitFor(t, 6)
	got, errs := r.list()
	want := []ClipboardContent{{Text: "text"}, {}, {Text: "text"}, {}, {Text: "slow"}, {}}
	if !slices.Equal(got, want) || errs[0] != nil || errs[2] != nil || errs[4] != nil ||
		!errors.Is(errs[1], ErrClipboardFailed) || !errors.Is(errs[3], ErrClipboardFailed) || !errors.Is(errs[5], ErrClipboardTimeout) {
		t.Fatalf("ClipboardContent got %q, %v; want %q", got, errs, want)
	}
	t.Logf("errors: %v", errs)

	// The clipboard changes while its image is on its way: the stale
	// image is dropped and the new clipboard fetched.
	c, cc, r = imageClient(t, 0, 0)
	send(hx(clipServerListTextDIB))
	send(utf16Response("old"))
	send(hx(clipServerListDIB))
	send(dibResponse(remoteDIB())) // stale
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipRequestDIB, clipFormatListResponseOK, clipRequestDIB)
	send(dibResponse(remoteDIB()))
	got, errs = r.list()
	if len(got) != 1 || got[0].Text != "" || !isRemoteDIB(got[0].Image) || errs[0] != nil {
		t.Fatalf("ClipboardContent got %q, %v", got, errs)
	}
}

// TestClipboardImageLimits: an image over ClipboardMaxImageBytes is
// skipped, the text handed over with ErrClipboardImageTooLarge (not
// ErrClipboardTooLarge), and the next copy comes; an image over the text
// limit but within its own comes whole; text over ClipboardMaxBytes but
// within the image limit is ErrClipboardTooLarge as before, refused at
// its first chunk. The channel takes messages up to the larger limit.
// ClipboardMaxImageBytes < 0 turns images off.
func TestClipboardImageLimits(t *testing.T) {
	const maxText, maxImage = 256, 4096
	c, cc, r := imageClient(t, maxText, maxImage)
	send := func(m []byte) { mustSendClip(t, c, m) }
	if got := c.channels[c.clip.ch].limit; got != clipHeaderSize+maxImage+clipMaxTrailingBytes {
		t.Errorf("channel limit %d", got)
	}
	big := append(dibHead(40, 40, 24, biRGB, 0, 0), make([]byte, 40*120)...) // 4840 bytes
	mid := append(dibHead(10, 10, 24, biRGB, 0, 0), make([]byte, 10*32)...)  // 360 bytes
	send(hx(clipServerListTextDIB))
	send(utf16Response("with a big image"))
	send(dibResponse(big))
	send(hx(clipServerListTextDIB))
	send(utf16Response("with a small one"))
	send(dibResponse(mid))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipRequestDIB, clipFormatListResponseOK, clipRequestUnicode, clipRequestDIB)
	// A big image alone: only the error.
	send(hx(clipServerListDIB))
	send(dibResponse(big))
	// Text over its limit, in chunks: the first is enough to refuse it.
	send(hx(clipServerListTextDIB))
	long := utf16Response(string(bytes.Repeat([]byte("x"), 1000)))
	if err := c.handleChannelData(cliprdrTestChannel, channelPDU(len(long), channelFlagFirst, long[:channelChunkLength/2])); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 4)
	if err := c.handleChannelData(cliprdrTestChannel, channelPDU(len(long), channelFlagLast, long[channelChunkLength/2:])); err != nil {
		t.Fatal(err)
	}
	got, errs := r.list()
	if len(got) != 4 || got[0] != (ClipboardContent{Text: "with a big image"}) || got[1].Text != "with a small one" || got[1].Image == nil ||
		got[1].Image.Bounds().Dx() != 10 || got[2] != (ClipboardContent{}) || got[3] != (ClipboardContent{}) {
		t.Fatalf("ClipboardContent got %q, %v", got, errs)
	}
	for i, want := range []error{ErrClipboardImageTooLarge, nil, ErrClipboardImageTooLarge, ErrClipboardTooLarge} {
		if !errors.Is(errs[i], want) || (want == ErrClipboardImageTooLarge && errors.Is(errs[i], ErrClipboardTooLarge)) {
			t.Errorf("call %d: error %v, want %v", i, errs[i], want)
		}
	}
	t.Logf("errors: %v", errs)

	// Local images: CF_DIB over the limit is refused, the clipboard kept.
	fits := image.NewNRGBA(image.Rect(0, 0, 30, 30)) // 2920 bytes as CF_DIB
	for i := range fits.Pix {
		fits.Pix[i] = 0xFF
	}
	if err := c.SetClipboardContent(ClipboardContent{Image: fits}); err != nil {
		t.Fatal(err)
	}
	cc.take()
	for _, img := range []image.Image{image.NewNRGBA(image.Rect(0, 0, 37, 37)), image.NewNRGBA(image.Rect(0, 0, 1, 16385))} {
		if err := c.SetClipboardContent(ClipboardContent{Text: "x", Image: img}); !errors.Is(err, ErrClipboardTooLarge) {
			t.Errorf("an image of %v: %v", img.Bounds(), err)
		}
	}
	if err := c.SetClipboardContent(ClipboardContent{Image: image.NewNRGBA(image.Rectangle{})}); err == nil {
		t.Error("an empty image accepted")
	}
	expectClip(t, cc) // no new Format List
	send(hx("04 00 00 00 04 00 00 00 08 00 00 00"))
	if msgs := sentOn(t, cc, cliprdrTestChannel); len(msgs) != 1 || !bytes.Equal(msgs[0][clipHeaderSize:], encodeDIB(fits)) {
		t.Errorf("the CF_DIB served is not the image kept")
	}

	// Images off: none fetched, none set.
	c, cc, r = imageClient(t, maxText, -1)
	if got := c.channels[c.clip.ch].limit; got != clipHeaderSize+maxText+clipMaxTrailingBytes {
		t.Errorf("channel limit %d with images off", got)
	}
	mustSendClip(t, c, hx(clipServerListTextDIB))
	mustSendClip(t, c, utf16Response("text"))
	mustSendClip(t, c, hx(clipServerListDIB))
	expectClip(t, cc, clipFormatListResponseOK, clipRequestUnicode, clipFormatListResponseOK)
	r.expect(t, ClipboardContent{Text: "text"})
	if err := c.SetClipboardContent(ClipboardContent{Image: fits}); !errors.Is(err, ErrClipboardTooLarge) {
		t.Errorf("an image with images off: %v", err)
	}

	for _, n := range []int{maxClipboardImageBytes + 1, 1 << 40} {
		cfg := Config{ClipboardMaxImageBytes: n}
		if err := cfg.normalize(); err == nil {
			t.Errorf("ClipboardMaxImageBytes %d accepted", n)
		}
	}
	cfg := Config{ClipboardMaxImageBytes: maxClipboardImageBytes}
	if err := cfg.normalize(); err != nil {
		t.Error(err)
	}
	// The largest image the limit allows fits a channel message.
	if n := clipHeaderSize + maxClipboardImageBytes + clipMaxTrailingBytes; n > maxChannelMessage {
		t.Errorf("a %d-byte Format Data Response over the %d-byte channel limit", n, maxChannelMessage)
	}
}

// TestCliprdrSetClipboardImage: an opaque image is announced as CF_DIB
// after the text, and served as encodeDIB makes it; a translucent one as
// CF_DIBV5 and CF_DIB; an image without text announces no text; a
// translucent image whose CF_DIBV5 would be over the limit gets CF_DIB
// only.
func TestCliprdrSetClipboardImage(t *testing.T) {
	c, cc, _ := clipClient(0)
	for _, m := range []string{clipServerCapsLong, clipMonitorReady} {
		if err := sendClip(c, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	cc.take()
	opaqueImg := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range opaqueImg.Pix {
		opaqueImg.Pix[i] = uint8(i*37) | 0x80
		if i%4 == 3 {
			opaqueImg.Pix[i] = 0xFF
		}
	}
	translucent := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	translucent.Pix[3] = 0x40
	ids := func(m []byte) []uint32 {
		t.Helper()
		h, body, err := parseClipHeader(m)
		if err != nil || h.msgType != cbFormatList {
			t.Fatalf("not a Format List: % x", m)
		}
		formats, err := parseFormatList(body, true, h.msgFlags)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for _, f := range formats {
			ids = append(ids, f.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		content ClipboardContent
		want    []uint32
	}{
		{ClipboardContent{Text: "a picture", Image: opaqueImg}, []uint32{CFUnicodeText, CFText, CFDIB}},
		{ClipboardContent{Image: opaqueImg}, []uint32{CFDIB}},
		{ClipboardContent{Image: translucent, HTML: "<b>x</b>"}, []uint32{clipHTMLFormatID, CFDIBV5, CFDIB}},
		{ClipboardContent{Text: "only text"}, []uint32{CFUnicodeText, CFText}},
		{ClipboardContent{}, []uint32{CFUnicodeText, CFText}},
	} {
		if err := c.SetClipboardContent(tc.content); err != nil {
			t.Fatal(err)
		}
		msgs := sentOn(t, cc, cliprdrTestChannel)
		if len(msgs) != 1 || !slices.Equal(ids(msgs[0]), tc.want) {
			t.Fatalf("%q: announced %v, want %v", tc.content, ids(msgs[0]), tc.want)
		}
		for _, id := range tc.want {
			if err := sendClip(c, appendFormatDataRequest(nil, id)); err != nil {
				t.Fatal(err)
			}
			msgs := sentOn(t, cc, cliprdrTestChannel)
			h, body, err := parseClipHeader(msgs[0])
			if err != nil || h.msgFlags != cbResponseOK {
				t.Fatalf("format %d: % x", id, msgs[0])
			}
			if !isImageFormat(id) {
				continue
			}
			back, err := ClipboardImage(id, body)
			if err != nil {
				t.Fatal(err)
			}
			for y := range 2 {
				for x := range 3 {
					want := color.NRGBAModel.Convert(tc.content.Image.At(x, y)).(color.NRGBA)
					if id == CFDIB {
						want = color.NRGBA{onWhite(want.R, want.A), onWhite(want.G, want.A), onWhite(want.B, want.A), 0xFF}
					}
					if got := back.(*image.NRGBA).NRGBAAt(x, y); got != want {
						t.Fatalf("format %d: (%d,%d) is %v, want %v", id, x, y, got, want)
					}
				}
			}
		}
	}

	// CF_DIBV5 over the limit, CF_DIB within it: CF_DIB alone.
	small, scc, _ := clipClient(0)
	small.clip.imageMax = int(dibSize(dibInfoHeaderSize, 3, 2, 24))
	for _, m := range []string{clipServerCapsLong, clipMonitorReady} {
		if err := sendClip(small, hx(m)); err != nil {
			t.Fatal(err)
		}
	}
	scc.take()
	if err := small.SetClipboardContent(ClipboardContent{Image: translucent}); err != nil {
		t.Fatal(err)
	}
	if msgs := sentOn(t, scc, cliprdrTestChannel); len(msgs) != 1 || !slices.Equal(ids(msgs[0]), []uint32{CFDIB}) {
		t.Fatalf("announced %v", ids(msgs[0]))
	}
}
