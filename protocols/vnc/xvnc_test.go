package vnc_test

import (
	"image"
	"testing"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/vnc"
)

// Each encoding alone: the decoded framebuffer must equal the X screen, first
// after the initial update, then after the desktop changes (new root colour,
// a window moved, which TigerVNC sends as CopyRect when allowed).
func TestXvncEncodings(t *testing.T) {
	t.Parallel()
	peers.Require(t, "xdotool")
	x := desktop(t, peers.XvncOptions{})
	cases := []struct {
		name     string
		enc      []int32
		quality  int
		maxMAE   float64 // mean absolute error per channel allowed (JPEG)
		jpeg     bool
		copy     bool
		compress int
	}{
		{"Raw", []int32{vnc.EncodingRaw}, -1, 0, false, false, -1},
		{"CopyRect+Raw", []int32{vnc.EncodingCopyRect, vnc.EncodingRaw}, -1, 0, false, true, -1},
		{"RRE", []int32{vnc.EncodingRRE}, -1, 0, false, false, -1},
		{"Hextile", []int32{vnc.EncodingHextile}, -1, 0, false, false, -1},
		{"Zlib", []int32{vnc.EncodingZlib}, -1, 0, false, false, -1},
		{"ZRLE", []int32{vnc.EncodingZRLE}, -1, 0, false, false, -1},
		{"Tight lossless", []int32{vnc.EncodingTight}, -1, 0, false, false, -1},
		{"Tight JPEG q8", []int32{vnc.EncodingTight}, 8, 8, true, false, -1},
		{"ZRLE compress 0", []int32{vnc.EncodingZRLE}, -1, 0, false, false, 0},
		{"Tight compress 9", []int32{vnc.EncodingTight}, -1, 0, false, false, 9},
		// The zero Config: default encodings, JPEG quality 0, compression 0.
		{"zero Config", nil, 0, 16, true, false, 0},
	}
	colours := []string{"#803050", "#2a6f97"}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := connect(t, x.Addr, vnc.Config{Encodings: tc.enc, QualityLevel: tc.quality, CompressLevel: tc.compress, Shared: true})
			waitMatch(t, x, s, tc.maxMAE)
			if tc.jpeg && s.sink.jpegCount() == 0 {
				t.Error("no JPEG rectangle arrived with quality 8")
			}
			if !opaque(s.sink.cursorImage()) {
				t.Error("no cursor image arrived for the xterm's I-beam")
			}
			x.Run(t, "xsetroot", "-solid", colours[i%2])
			x.Run(t, "xdotool", "search", "--class", "xlogo", "windowmove", "%@", itoaT(700+(i%2)*100), "40")
			waitMatch(t, x, s, tc.maxMAE)
			if tc.copy && s.sink.copyCount() == 0 {
				t.Error("moving a window sent no CopyRect")
			}
			s.stop(t)
			// TigerVNC has no Zlib encoder and sends Raw instead (x11vnc
			// covers Zlib); every other encoding must really have been used.
			enc := vnc.EncodingTight // the default's first choice
			if tc.enc != nil {
				enc = tc.enc[0]
			}
			if enc != vnc.EncodingZlib && vnc.RectCount(s.c, enc) == 0 {
				t.Errorf("no rectangle arrived in %d", enc)
			}
		})
	}
}

// opaque reports whether img has opaque pixels.
func opaque(img *image.RGBA) bool {
	if img == nil {
		return false
	}
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] == 255 {
			return true
		}
	}
	return false
}
