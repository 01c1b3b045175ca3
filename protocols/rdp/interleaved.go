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
	fg    uint32 // the foreground colour; white until an order sets it
	first bool   // the current order started in the first line
	// insertFg: the previous order was a background run, so the next
	// background run starts with a foreground pel (3.1.9).
	insertFg bool
	err      error
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
	r.fg = r.white
	for r.si < len(src) && r.err == nil {
		// As in 3.1.9, "first line" is decided once per order: an order
		// that starts in the first line treats all its pixels so.
		if r.first && r.di >= width {
			r.first = false
			r.insertFg = false
		}
		hdr := int(src[r.si])
		r.si++
		code, n := r.orderLength(hdr)
		if r.err != nil {
			break
		}
		r.order(hdr, code, n)
	}
	if r.err == nil && r.di != len(dst) {
		r.fail("%d of %d pixels decoded", r.di, len(dst))
	}
	return r.err
}

// order decodes one order (2.2.9.1.1.3.1.2.4) of n pixels (n pairs for a
// dithered run) whose header byte hdr decoded to code.
func (r *rleDecoder) order(hdr, code, n int) {
	if code == rleRegularBgRun || code == rleMegaMegaBgRun {
		r.bgRun(n)
		r.insertFg = true
		return
	}
	r.insertFg = false
	switch code {
	case rleRegularFgRun, rleMegaMegaFgRun:
		r.fgRun(n)
	case rleLiteSetFgFgRun, rleMegaMegaSetFgRun:
		r.fg = r.pixel()
		r.fgRun(n)
	case rleLiteDitheredRun, rleMegaMegaDitheredRun:
		r.ditheredRun(n)
	case rleRegularColorRun, rleMegaMegaColorRun:
		r.colorRun(n)
	case rleRegularFgBgImage, rleMegaMegaFgBgImage:
		r.fgbgImage(n)
	case rleLiteSetFgFgBgImage, rleMegaMegaSetFgBgImage:
		r.fg = r.pixel()
		r.fgbgImage(n)
	case rleRegularColorImage, rleMegaMegaColorImage:
		r.colorImage(n)
	case rleSpecialFgBg1:
		r.fgbg(0x03, 8)
	case rleSpecialFgBg2:
		r.fgbg(0x05, 8)
	case rleWhite:
		r.onePixel(r.white)
	case rleBlack:
		r.onePixel(0)
	default:
		r.fail("order code %#x", hdr)
	}
}

// bgRun writes a background run (REGULAR_BG_RUN, MEGA_MEGA_BG_RUN): black in the first line, else the line
// above. After another background run it starts with one foreground pel.
func (r *rleDecoder) bgRun(n int) {
	if !r.room(n) {
		return
	}
	dst, di, w := r.dst, r.di, r.width
	if r.insertFg && n > 0 {
		if r.first {
			dst[di] = r.fg
		} else {
			dst[di] = dst[di-w] ^ r.fg
		}
		di++
		n--
	}
	if r.first {
		clear(dst[di : di+n])
		di += n
	} else {
		for end := di + n; di < end; di++ {
			dst[di] = dst[di-w]
		}
	}
	r.di = di
}

// fgRun writes a foreground run (REGULAR_FG_RUN, MEGA_MEGA_FG_RUN, and
// after setting the colour LITE_SET_FG_FG_RUN, MEGA_MEGA_SET_FG_RUN): the foreground colour in the first line,
// else the line above XORed with it.
func (r *rleDecoder) fgRun(n int) {
	if !r.room(n) {
		return
	}
	dst, di, w, fg := r.dst, r.di, r.width, r.fg
	if r.first {
		for end := di + n; di < end; di++ {
			dst[di] = fg
		}
	} else {
		for end := di + n; di < end; di++ {
			dst[di] = dst[di-w] ^ fg
		}
	}
	r.di = di
}

// ditheredRun writes n pairs of two colours (LITE_DITHERED_RUN,
// MEGA_MEGA_DITHERED_RUN).
func (r *rleDecoder) ditheredRun(n int) {
	a, b := r.pixel(), r.pixel()
	if !r.room(2 * n) {
		return
	}
	dst, di := r.dst, r.di
	for ; n > 0; n-- {
		dst[di], dst[di+1] = a, b
		di += 2
	}
	r.di = di
}

// colorRun writes n pixels of one colour, read from the order
// (REGULAR_COLOR_RUN, MEGA_MEGA_COLOR_RUN).
func (r *rleDecoder) colorRun(n int) {
	a := r.pixel()
	if !r.room(n) {
		return
	}
	dst, di := r.dst, r.di
	for end := di + n; di < end; di++ {
		dst[di] = a
	}
	r.di = di
}

// onePixel writes one pixel of colour v (the WHITE and BLACK orders).
func (r *rleDecoder) onePixel(v uint32) {
	if !r.room(1) {
		return
	}
	r.dst[r.di] = v
	r.di++
}

// fgbgImage writes n pixels from foreground/background bitmasks, 8 pixels
// a byte (REGULAR_FGBG_IMAGE, MEGA_MEGA_FGBG_IMAGE, and after setting the
// colour LITE_SET_FG_FGBG_IMAGE, MEGA_MEGA_SET_FGBG_IMAGE).
func (r *rleDecoder) fgbgImage(n int) {
	for n > 0 && r.err == nil {
		bits := min(n, 8)
		r.fgbg(byte(r.byte()), bits)
		n -= bits
	}
}

// colorImage copies n pixels from the order (REGULAR_COLOR_IMAGE,
// MEGA_MEGA_COLOR_IMAGE).
func (r *rleDecoder) colorImage(n int) {
	if !r.room(n) {
		return
	}
	for ; n > 0 && r.err == nil; n-- {
		r.dst[r.di] = r.pixel()
		r.di++
	}
}

// fgbg writes bits pixels from a foreground/background bitmask, low bit
// first: set bits are the foreground (XORed with the line above after the
// first line), clear bits the background (black, or the line above).
func (r *rleDecoder) fgbg(mask byte, bits int) {
	if !r.room(bits) {
		return
	}
	fg := r.fg
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
