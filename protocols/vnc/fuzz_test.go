package vnc

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"testing"
)

// checkingSink stores nothing (so fuzzed resizes cost nothing) but checks
// that every operation the client emits lies inside the framebuffer and that
// pixel buffers are long enough.
type checkingSink struct {
	w, h int
	err  error
}

func (s *checkingSink) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

func (s *checkingSink) in(r image.Rectangle, what string) {
	if !r.In(image.Rect(0, 0, s.w, s.h)) && !r.Empty() {
		s.fail("%s %v outside %dx%d", what, r, s.w, s.h)
	}
}

func (s *checkingSink) Resize(w, h int) { s.w, s.h = w, h }
func (s *checkingSink) SetPixels(r image.Rectangle, pix []byte, stride int) {
	s.in(r, "SetPixels")
	if !r.Empty() && len(pix) < (r.Dy()-1)*stride+r.Dx()*4 {
		s.fail("SetPixels %v: %d bytes at stride %d", r, len(pix), stride)
	}
}
func (s *checkingSink) Fill(r image.Rectangle, c color.RGBA) { s.in(r, "Fill") }
func (s *checkingSink) Copy(dst image.Rectangle, src image.Point) {
	s.in(dst, "Copy")
	s.in(dst.Sub(dst.Min).Add(src), "Copy source")
}
func (s *checkingSink) DrawJPEG(r image.Rectangle, data []byte) error {
	s.in(r, "DrawJPEG")
	return nil
}
func (s *checkingSink) SetCursor(img *image.RGBA, hot image.Point) {}
func (s *checkingSink) EndFrame()                                  {}

// fuzzRun plays stream and checks the sink's invariants; any panic fails.
func fuzzRun(t *testing.T, stream []byte, cfg Config) {
	sink := &checkingSink{}
	c, err := NewClient(context.Background(), newFakeConn(stream), cfg, sink)
	if err == nil {
		c.Run(context.Background())
	}
	if sink.err != nil {
		t.Fatal(sink.err)
	}
}

func zlibBytes(b []byte) []byte { return zlibStream(b)[0] }

func FuzzHandshake(f *testing.F) {
	hello := serverHello(8, 8)
	f.Add(hello)
	f.Add(append([]byte("RFB 003.003\n\x00\x00\x00\x01"), serverInit(4, 4, "x")...))
	f.Add(append([]byte("RFB 003.007\n\x01\x01"), serverInit(4, 4, "")...))
	f.Add(append(append([]byte("RFB 003.008\n\x01\x02"), make([]byte, 20)...), serverInit(4, 4, "")...))
	f.Add([]byte("RFB 003.008\n\x00\x00\x00\x00\x05nope!"))
	f.Add(append([]byte("RFB 003.008\n\x01\x13\x00\x02\x00\x02\x00\x00\x01\x00\x00\x00\x01\x02\x00\x00\x00\x00"), serverInit(4, 4, "")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRun(t, data, Config{Username: "u", Password: "p", SecurityTypes: []uint8{SecurityVeNCrypt, SecurityVNCAuth, SecurityNone}})
	})
}

func FuzzServerMessages(f *testing.F) {
	f.Add(fbUpdate(rect(0, 0, 2, 1, EncodingRaw, append(rgbx(1, 2, 3), rgbx(4, 5, 6)...))))
	f.Add(fbUpdate(rect(1, 1, 3, 2, PseudoEncodingCursor, append(make([]byte, 24), 0xa0, 0x40))))
	f.Add(fbUpdate(rect(0, 0, 30, 20, PseudoEncodingExtendedDesktopSize, appendScreen([]byte{1, 0, 0, 0}, screen{Width: 30, Height: 20}))))
	f.Add(fbUpdate(rect(0, 0, 0, 0, PseudoEncodingDesktopName, append(be32(nil, 2), "hi"...)), rect(0, 0, 0, 0, PseudoEncodingLastRect, nil)))
	f.Add(fbUpdate(rect(0, 0, 20, 10, PseudoEncodingDesktopSize, nil)))
	f.Add(append(append([]byte{msgServerFence, 0, 0, 0}, be32(nil, fenceRequest|fenceBlockBefore)...), 2, 'h', 'i'))
	f.Add(cutText([]byte("caf\xe9")))
	f.Add(extClip(clipCaps|clipText, be32(nil, 100)))
	f.Add([]byte{msgBell, msgEndOfContinuousUpdates, msgSetColourMapEntries, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6})
	f.Add(fbUpdate(rect(4, 4, 8, 8, EncodingCopyRect, append(u16be(0), u16be(0)...))))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRun(t, append(serverHello(64, 48), data...), Config{})
	})
}

// fuzzRect fuzzes one rectangle of enc in a 64x48 framebuffer.
func fuzzRect(t *testing.T, enc int32, x, y, w, h uint8, body []byte) {
	fuzzRun(t, append(serverHello(64, 48), fbUpdate(rect(int(x%64), int(y%48), int(w%65), int(h%49), enc, body))...), Config{})
}

func FuzzRRE(f *testing.F) {
	body := append(be32(nil, 1), rgbx(1, 2, 3)...)
	body = append(body, rgbx(9, 9, 9)...)
	body = append(body, 0, 1, 0, 1, 0, 2, 0, 2)
	f.Add(uint8(0), uint8(0), uint8(4), uint8(4), body)
	f.Fuzz(func(t *testing.T, x, y, w, h uint8, body []byte) { fuzzRect(t, EncodingRRE, x, y, w, h, body) })
}

func FuzzHextile(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(20), uint8(18), []byte{hextileBackgroundSpecified | hextileForegroundSpecified | hextileAnySubrects, 1, 2, 3, 0, 4, 5, 6, 0, 1, 0x12, 0x31, hextileRaw})
	f.Add(uint8(3), uint8(3), uint8(4), uint8(4), []byte{hextileAnySubrects | hextileSubrectsColoured, 1, 9, 9, 9, 0, 0x11, 0x11})
	f.Fuzz(func(t *testing.T, x, y, w, h uint8, body []byte) { fuzzRect(t, EncodingHextile, x, y, w, h, body) })
}

func FuzzZlib(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(2), uint8(1), append(rgbx(1, 2, 3), rgbx(4, 5, 6)...), true)
	f.Add(uint8(0), uint8(0), uint8(2), uint8(1), []byte{0x78, 0x9c, 0, 0, 0, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, x, y, w, h uint8, data []byte, compress bool) {
		if compress {
			data = zlibBytes(data)
		}
		fuzzRect(t, EncodingZlib, x, y, w, h, withLen32(data))
	})
}

// FuzzZRLE fuzzes the tile data (compressed here, so the fuzzer explores the
// tile parser) or, with compress false, the raw zlib stream.
func FuzzZRLE(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(4), uint8(4), []byte{1, 9, 8, 7}, true)
	f.Add(uint8(0), uint8(0), uint8(70), uint8(2), append([]byte{128, 1, 2, 3, 127, 1, 2, 3, 255}, 1, 4, 5, 6), true)
	f.Add(uint8(0), uint8(0), uint8(6), uint8(2), []byte{3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0x1b, 0x60, 0x24, 0x90}, true)
	f.Add(uint8(0), uint8(0), uint8(6), uint8(2), []byte{130, 1, 1, 1, 2, 2, 2, 0x80, 10, 1}, true)
	f.Add(uint8(0), uint8(0), uint8(2), uint8(2), []byte{2, 1, 1, 1, 2, 2, 2, 0x80, 0x40}, true)
	f.Add(uint8(0), uint8(0), uint8(4), uint8(4), zlibBytes([]byte{1, 9, 8, 7}), false)
	f.Fuzz(func(t *testing.T, x, y, w, h uint8, data []byte, compress bool) {
		if compress {
			data = zlibBytes(data)
		}
		fuzzRect(t, EncodingZRLE, x, y, w, h, withLen32(data))
	})
}

// FuzzTight fuzzes a Tight rectangle: head is the compression control and
// filter bytes; payload follows compressed (as a compact length and zlib
// data) or as it is.
func FuzzTight(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(8), uint8(8), []byte{tightFill << 4, 1, 2, 3}, []byte{}, false)
	f.Add(uint8(0), uint8(0), uint8(8), uint8(8), []byte{1 << 4}, bytes.Repeat([]byte{1, 2, 3}, 64), true)
	f.Add(uint8(0), uint8(0), uint8(2), uint8(1), []byte{0}, []byte{1, 2, 3, 4, 5, 6}, false)
	f.Add(uint8(0), uint8(0), uint8(10), uint8(8), []byte{(2 | tightFilterOn) << 4, tightFilterPalette, 1, 1, 0, 0, 0, 1, 0}, bytes.Repeat([]byte{0x55, 0x80}, 8), true)
	f.Add(uint8(0), uint8(0), uint8(6), uint8(4), []byte{(3 | tightFilterOn) << 4, tightFilterPalette, 2, 1, 0, 0, 0, 1, 0, 0, 0, 1}, bytes.Repeat([]byte{0, 1, 2}, 8), true)
	f.Add(uint8(0), uint8(0), uint8(6), uint8(5), []byte{0x0f | tightFilterOn<<4, tightFilterGradient}, bytes.Repeat([]byte{7, 8, 9}, 30), true)
	f.Add(uint8(0), uint8(0), uint8(4), uint8(4), []byte{tightJPEG << 4, 4}, []byte{0xff, 0xd8, 0xff, 0xd9}, false)
	f.Fuzz(func(t *testing.T, x, y, w, h uint8, head, payload []byte, compress bool) {
		body := head
		if compress {
			z := zlibBytes(payload)
			body = append(append(bytes.Clone(head), compactLen(len(z))...), z...)
		} else {
			body = append(bytes.Clone(head), payload...)
		}
		fuzzRect(t, EncodingTight, x, y, w, h, body)
	})
}

func FuzzExtendedClipboard(f *testing.F) {
	f.Add(clipCaps|clipText|clipHTML, append(be32(nil, 1000), be32(nil, 1000)...), false)
	f.Add(clipProvide|clipText, append(be32(nil, 6), "hello\x00"...), true)
	f.Add(clipProvide|clipText|clipRTF, append(append(be32(nil, 2), "a\x00"...), be32(nil, 1)...), true)
	f.Add(clipNotify|clipText, []byte{}, false)
	f.Add(clipRequest|clipText, []byte{}, false)
	f.Add(clipPeek, []byte{}, false)
	f.Fuzz(func(t *testing.T, flags uint32, payload []byte, compress bool) {
		if compress {
			payload = zlibBytes(payload)
		}
		fuzzRun(t, append(serverHello(8, 8), extClip(flags, payload)...), Config{OnClipboard: func(string) {}})
	})
}

func FuzzCompactLength(f *testing.F) {
	f.Add([]byte{0x80, 0x80, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &Client{r: newReader(bytes.NewReader(b))}
		n, err := c.readCompactLength()
		if err == nil && (n < 0 || n > tightMaxLength) {
			t.Fatalf("length %d", n)
		}
	})
}
