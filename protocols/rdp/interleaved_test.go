package rdp

import (
	"errors"
	"slices"
	"testing"
)

// TestInterleavedRLE decodes a hand-built 4x4, 24 bpp stream that uses each
// kind of order and checks every pixel against the semantics of
// MS-RDPBCGR 3.1.9 (values are native 0xRRGGBB; line 0 is the first,
// stored bottom, line).
func TestInterleavedRLE(t *testing.T) {
	const A, B = 0xAAAAAA, 0xBBBBBB
	src := []byte{
		// Line 0: colour run of 2, background run of 1 (black in the first
		// line), another background run of 1: a foreground pel (white) is
		// inserted first.
		0x62, 0x33, 0x22, 0x11,
		0x01,
		0x01,
		// Line 1: lite set-foreground run of 2 (fg 0x0000FF, XORed with the
		// line above), then a regular FG/BG image of 2 (length byte + 1) with
		// mask 0b01: fg XOR above, then above.
		0xC2, 0xFF, 0x00, 0x00,
		0x40, 0x01, 0x01,
		// Line 2: dithered run of one pair, a white pel, a mega-mega
		// background run of 1 (copies the line above).
		0xE1, 0xAA, 0xAA, 0xAA, 0xBB, 0xBB, 0xBB,
		0xFD,
		0xF0, 0x01, 0x00,
		// Line 3: two background runs of 2. Each follows a background run
		// (the first the mega-mega one), so each starts with fg XOR above.
		0x02,
		0x02,
	}
	want := []uint32{
		0x112233, 0x112233, 0, 0xFFFFFF,
		0x1122CC, 0x1122CC, 0x0000FF, 0xFFFFFF,
		A, B, 0xFFFFFF, 0xFFFFFF,
		A ^ 0xFF, B, 0xFFFF00, 0xFFFFFF,
	}
	got := make([]uint32, 16)
	if err := decodeInterleavedRLE(got, src, 4, 24); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %06x\nwant %06x", got, want)
	}

	// 16 bpp special orders: SPECIAL_FGBG_1 (mask 0x03) on the first line
	// with the default white foreground, then BLACK.
	got = make([]uint32, 9)
	if err := decodeInterleavedRLE(got, []byte{0xF9, 0xFE}, 9, 16); err != nil {
		t.Fatal(err)
	}
	if want := []uint32{0xFFFF, 0xFFFF, 0, 0, 0, 0, 0, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("special orders: %04x", got)
	}

	var pe *ProtocolError
	for name, bad := range map[string][]byte{
		"run past the end": {0x7F, 0x00, 0x00, 0x00}, // colour run of 31 into 16 pixels
		"truncated pixel":  {0x62, 0x33},
		"unknown order":    {0xA0},
		"too short":        {0x62, 0x33, 0x22, 0x11},
	} {
		got := make([]uint32, 16)
		if err := decodeInterleavedRLE(got, bad, 4, 24); !errors.As(err, &pe) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzInterleaved(f *testing.F) {
	f.Add(uint8(4), uint8(4), uint8(24), []byte{0x62, 0x33, 0x22, 0x11, 0x01, 0x01, 0xC2, 0xFF, 0, 0, 0x40, 1, 1, 0xE1, 1, 2, 3, 4, 5, 6, 0xFD, 0xF0, 1, 0, 2, 2})
	f.Add(uint8(9), uint8(1), uint8(16), []byte{0xF9, 0xFE})
	f.Add(uint8(8), uint8(2), uint8(8), []byte{0xF2, 16, 0, 0xAA, 0x55})
	// MS-RDPEGDI 4.2.1 and 4.2.2 compressed bitmaps.
	f.Add(uint8(16), uint8(1), uint8(8), []byte{0x10})
	f.Add(uint8(32), uint8(32), uint8(16), readHexVector(f, "ms-rdpegdi-4.2.2-compressed.hex"))
	f.Fuzz(func(t *testing.T, w, h, bpp uint8, src []byte) {
		dst := make([]uint32, int(w)*int(h))
		decodeInterleavedRLE(dst, src, int(w), int(bpp))
	})
}
