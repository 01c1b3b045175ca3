package rdp

// Interleaved RLE bitmap compression (MS-RDPBCGR 2.2.9.1.1.3.1.2.4, decoder
// pseudo-code in 3.1.9): orders that repeat the line above, a foreground
// colour, colour runs and dithered pairs, for 8, 15, 16 and 24 bpp. Like
// every bitmap it is stored bottom-up; the "first line" is the bottom one.

// Compression order codes (2.2.9.1.1.3.1.2.4).
const (
	rleRegularBgRun         = 0x0
	rleRegularFgRun         = 0x1
	rleRegularFgBgImage     = 0x2
	rleRegularColorRun      = 0x3
	rleRegularColorImage    = 0x4
	rleLiteSetFgFgRun       = 0xC
	rleLiteSetFgFgBgImage   = 0xD
	rleLiteDitheredRun      = 0xE
	rleMegaMegaBgRun        = 0xF0
	rleMegaMegaFgRun        = 0xF1
	rleMegaMegaFgBgImage    = 0xF2
	rleMegaMegaColorRun     = 0xF3
	rleMegaMegaColorImage   = 0xF4
	rleMegaMegaSetFgRun     = 0xF6
	rleMegaMegaSetFgBgImage = 0xF7
	rleMegaMegaDitheredRun  = 0xF8
	rleSpecialFgBg1         = 0xF9
	rleSpecialFgBg2         = 0xFA
	rleWhite                = 0xFD
	rleBlack                = 0xFE
)

const interleavedPDU, interleavedSec = "Interleaved RLE Bitmap", "MS-RDPBCGR 2.2.9.1.1.3.1.2.4"

// rleDecoder holds the state of one interleaved RLE decode (3.1.9).
type rleDecoder struct {
	src   []byte
	si    int
	dst   []uint32 // native pixel values, width*height, first line first
	di    int
	width int
	bpp   int // bytes per pixel
	white uint32
	first bool // the current order started in the first line
	err   error
}

func (r *rleDecoder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = protoErr(interleavedPDU, interleavedSec, format, args...)
	}
}

func (r *rleDecoder) byte() int {
	if r.si >= len(r.src) {
		r.fail("data ends inside an order")
		return 0
	}
	v := r.src[r.si]
	r.si++
	return int(v)
}

func (r *rleDecoder) pixel() uint32 {
	if len(r.src)-r.si < r.bpp {
		r.fail("data ends inside a pixel")
		return 0
	}
	var v uint32
	for i := range r.bpp {
		v |= uint32(r.src[r.si+i]) << (8 * i)
	}
	r.si += r.bpp
	return v
}

// room checks that n more pixels fit.
func (r *rleDecoder) room(n int) bool {
	if n > len(r.dst)-r.di {
		r.fail("order of %d pixels overruns the bitmap at pixel %d of %d", n, r.di, len(r.dst))
		return false
	}
	return r.err == nil
}

// decodeInterleavedRLE decodes src into dst (native pixel values).
func decodeInterleavedRLE(dst []uint32, src []byte, width, bpp int) error {
	r := &rleDecoder{src: src, dst: dst, width: width, bpp: (bpp + 7) / 8, first: true}
	switch bpp {
	case 8:
		r.white = 0xFF
	case 15:
		r.white = 0x7FFF
	case 16:
		r.white = 0xFFFF
	case 24:
		r.white = 0xFFFFFF
	default:
		return protoErr(interleavedPDU, interleavedSec, "bitsPerPixel %d", bpp)
	}
	fg := r.white
	insertFg := false
	for r.si < len(src) && r.err == nil {
		// As in 3.1.9, "first line" is decided once per order: an order
		// that starts in the first line treats all its pixels so.
		if r.first && r.di >= width {
			r.first = false
			insertFg = false
		}
		hdr := int(src[r.si])
		r.si++
		code, n := r.orderLength(hdr)
		if r.err != nil {
			break
		}
		if code == rleRegularBgRun || code == rleMegaMegaBgRun {
			if !r.room(n) {
				break
			}
			if insertFg && n > 0 {
				if r.first {
					dst[r.di] = fg
				} else {
					dst[r.di] = dst[r.di-width] ^ fg
				}
				r.di++
				n--
			}
			for ; n > 0; n-- {
				if r.first {
					dst[r.di] = 0
				} else {
					dst[r.di] = dst[r.di-width]
				}
				r.di++
			}
			insertFg = true
			continue
		}
		insertFg = false
		switch code {
		case rleRegularFgRun, rleMegaMegaFgRun, rleLiteSetFgFgRun, rleMegaMegaSetFgRun:
			if code == rleLiteSetFgFgRun || code == rleMegaMegaSetFgRun {
				fg = r.pixel()
			}
			if !r.room(n) {
				break
			}
			for ; n > 0; n-- {
				if r.first {
					dst[r.di] = fg
				} else {
					dst[r.di] = dst[r.di-width] ^ fg
				}
				r.di++
			}
		case rleLiteDitheredRun, rleMegaMegaDitheredRun:
			a, b := r.pixel(), r.pixel()
			if !r.room(2 * n) {
				break
			}
			for ; n > 0; n-- {
				dst[r.di], dst[r.di+1] = a, b
				r.di += 2
			}
		case rleRegularColorRun, rleMegaMegaColorRun:
			a := r.pixel()
			if !r.room(n) {
				break
			}
			for ; n > 0; n-- {
				dst[r.di] = a
				r.di++
			}
		case rleRegularFgBgImage, rleMegaMegaFgBgImage, rleLiteSetFgFgBgImage, rleMegaMegaSetFgBgImage:
			if code == rleLiteSetFgFgBgImage || code == rleMegaMegaSetFgBgImage {
				fg = r.pixel()
			}
			for n > 0 && r.err == nil {
				bits := min(n, 8)
				r.fgbg(byte(r.byte()), fg, bits)
				n -= bits
			}
		case rleRegularColorImage, rleMegaMegaColorImage:
			if !r.room(n) {
				break
			}
			for ; n > 0 && r.err == nil; n-- {
				dst[r.di] = r.pixel()
				r.di++
			}
		case rleSpecialFgBg1:
			r.fgbg(0x03, fg, 8)
		case rleSpecialFgBg2:
			r.fgbg(0x05, fg, 8)
		case rleWhite, rleBlack:
			if !r.room(1) {
				break
			}
			if code == rleWhite {
				dst[r.di] = r.white
			} else {
				dst[r.di] = 0
			}
			r.di++
		default:
			r.fail("order code %#x", hdr)
		}
	}
	if r.err == nil && r.di != len(dst) {
		r.fail("%d of %d pixels decoded", r.di, len(dst))
	}
	return r.err
}

// fgbg writes bits pixels from a foreground/background bitmask, low bit
// first: set bits are the foreground (XORed with the line above after the
// first line), clear bits the background (black, or the line above).
func (r *rleDecoder) fgbg(mask byte, fg uint32, bits int) {
	if !r.room(bits) {
		return
	}
	for i := range bits {
		set := mask&(1<<i) != 0
		var v uint32
		if r.first {
			if set {
				v = fg
			}
		} else {
			v = r.dst[r.di-r.width]
			if set {
				v ^= fg
			}
		}
		r.dst[r.di] = v
		r.di++
	}
}

// orderLength decodes an order header (2.2.9.1.1.3.1.2.4) into its code and
// run length, reading extended length bytes.
func (r *rleDecoder) orderLength(hdr int) (code, n int) {
	switch {
	case hdr>>5 <= rleRegularColorImage && hdr>>4 < 0xC:
		code = hdr >> 5
		n = hdr & 0x1F
		if code == rleRegularFgBgImage {
			if n == 0 {
				n = r.byte() + 1
			} else {
				n *= 8
			}
		} else if n == 0 {
			n = r.byte() + 32
		}
	case hdr>>4 == rleLiteSetFgFgRun || hdr>>4 == rleLiteSetFgFgBgImage || hdr>>4 == rleLiteDitheredRun:
		code = hdr >> 4
		n = hdr & 0x0F
		if code == rleLiteSetFgFgBgImage {
			if n == 0 {
				n = r.byte() + 1
			} else {
				n *= 8
			}
		} else if n == 0 {
			n = r.byte() + 16
		}
	default:
		code = hdr
		switch hdr {
		case rleMegaMegaBgRun, rleMegaMegaFgRun, rleMegaMegaFgBgImage, rleMegaMegaColorRun,
			rleMegaMegaColorImage, rleMegaMegaSetFgRun, rleMegaMegaSetFgBgImage, rleMegaMegaDitheredRun:
			n = r.byte() | r.byte()<<8
		case rleSpecialFgBg1, rleSpecialFgBg2:
			n = 8
		case rleWhite, rleBlack:
			n = 1
		}
	}
	return code, n
}
