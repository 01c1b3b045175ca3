package vnc_test

import (
	"testing"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/vnc"
)

func TestXvncEncodings(t *testing.T) {
	x := desktop(t, peers.XvncOptions{})
	cases := []struct {
		name    string
		enc     []int32
		quality int
		maxMAE  float64
		jpeg    bool
	}{
		{"Raw", []int32{vnc.EncodingRaw}, -1, 0, false},
		{"CopyRect+Raw", []int32{vnc.EncodingCopyRect, vnc.EncodingRaw}, -1, 0, false},
		{"RRE", []int32{vnc.EncodingRRE}, -1, 0, false},
		{"Hextile", []int32{vnc.EncodingHextile}, -1, 0, false},
		{"Zlib", []int32{vnc.EncodingZlib}, -1, 0, false},
		{"ZRLE", []int32{vnc.EncodingZRLE}, -1, 0, false},
		{"Tight lossless", []int32{vnc.EncodingTight}, -1, 0, false},
		{"Tight JPEG q8", []int32{vnc.EncodingTight}, 8, 8, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := connect(t, x.Addr, vnc.Config{Encodings: tc.enc, QualityLevel: tc.quality, CompressLevel: -1, Shared: true})
			waitMatch(t, x, s, tc.maxMAE)
			if tc.jpeg && s.sink.jpegCount() == 0 {
				t.Error("no JPEG rectangle arrived with quality 8")
			}
		})
	}
}
