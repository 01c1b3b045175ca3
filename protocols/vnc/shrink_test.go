package vnc

import (
	"testing"
)

// After the server shrinks the desktop, the decoders' buffers (pixels, and the inflate
// output of Zlib, ZRLE and Tight, each of which grew to a whole big rectangle) are let
// go: none stays bigger than the new screen.
func TestShrinkDropsDecoderBuffers(t *testing.T) {
	const bw, bh = 1024, 512 // 2 MiB of pixels
	const sw, sh = 64, 48
	var raw, cpix []byte
	for y := range bh {
		for x := range bw {
			raw = append(raw, pattern(x, y)...)
			cpix = append(cpix, cpixel(pattern(x, y))...)
		}
	}
	// ZRLE: raw tiles (subencoding 0), 64x64, row by row.
	var zrle []byte
	for ty := 0; ty < bh; ty += zrleTile {
		for tx := 0; tx < bw; tx += zrleTile {
			zrle = append(zrle, 0)
			for y := ty; y < ty+zrleTile; y++ {
				zrle = append(zrle, cpix[(y*bw+tx)*3:(y*bw+tx+zrleTile)*3]...)
			}
		}
	}
	zl, zr, ti := zlibStream(raw)[0], zlibStream(zrle)[0], zlibStream(cpix)[0]
	stream := serverHello(bw, bh)
	stream = append(stream, fbUpdate(
		rect(0, 0, bw, bh, EncodingZlib, withLen32(zl)),
		rect(0, 0, bw, bh, EncodingZRLE, withLen32(zr)),
		// Tight basic copy filter on stream 1, no filter byte.
		rect(0, 0, bw, bh, EncodingTight, append(append([]byte{1 << 4}, compactLen(len(ti))...), ti...)),
	)...)
	stream = append(stream, fbUpdate(rect(0, 0, sw, sh, PseudoEncodingDesktopSize, nil))...)
	stream = append(stream, fbUpdate(rect(sw-1, sh-1, 1, 1, EncodingRaw, rgbx(1, 2, 3)))...)
	c, fb, _ := mustRun(t, stream, Config{})
	if w, h := c.Size(); w != sw || h != sh {
		t.Fatalf("size %dx%d, want %dx%d", w, h, sw, sh)
	}
	if c.stats.rects[EncodingZlib] != 1 || c.stats.rects[EncodingZRLE] != 1 || c.stats.rects[EncodingTight] != 1 {
		t.Fatalf("decoded %v", c.stats.rects)
	}
	screen := sw * sh * 4
	for name, n := range map[string]int{
		"pixels": cap(c.pix), "zlib": cap(c.zlib.out), "zrle": cap(c.zrle.out),
		"tight 0": cap(c.tight[0].out), "tight 1": cap(c.tight[1].out),
		"tight 2": cap(c.tight[2].out), "tight 3": cap(c.tight[3].out),
		"framebuffer": cap(fb.Pix),
	} {
		if n > screen*3/2 {
			t.Errorf("%s buffer of %d bytes kept for a %dx%d screen", name, n, sw, sh)
		}
	}
}
