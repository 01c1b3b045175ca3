package rdp

import (
	"image"
	"image/color"
)

// The DIBs the client serves for an image on its clipboard (dib.go has
// the layout). Both are bottom-up, the orientation every reader handles
// (some mishandle a negative biHeight), with no colour table.
//
//   - CF_DIB: BITMAPINFOHEADER, 24 bits BI_RGB. It has no alpha to be
//     misread: 32-bit BI_RGB's fourth byte is "reserved", and programs
//     disagree on whether it is alpha and whether it is premultiplied.
//     Translucent pixels are blended onto white, what a document pastes
//     them onto. xrdp's chansrv serves it to X as image/bmp with a fixed
//     14-byte file header whose bfOffBits is 54, so the bits must follow
//     a 40-byte header directly: no masks, no table.
//   - CF_DIBV5, only for an image with translucent pixels: BITMAPV5HEADER,
//     32 bits BI_BITFIELDS with bV5AlphaMask 0xFF000000 and straight
//     alpha, LCS_sRGB, for the programs that keep transparency. For an
//     opaque image it would repeat CF_DIB at a third more bytes (and
//     Windows makes CF_DIBV5 from CF_DIB for a program that asks).

// dibSize is the size of an uncompressed DIB of w x h pixels at bpp bits
// with a header of header bytes, in 64 bits: it is computed before the
// DIB is, to refuse one over the limit.
func dibSize(header, w, h, bpp int) uint64 {
	return uint64(header) + (uint64(w)*uint64(bpp)+31)/32*4*uint64(h)
}

// appendDIBHeader appends a BITMAPINFOHEADER (MS-WMF 2.2.2.3), or the
// first 40 bytes of a larger one, for a bottom-up BI_RGB or BI_BITFIELDS
// bitmap.
func appendDIBHeader(b []byte, size uint32, w, h int, bpp uint16, compression uint32) []byte {
	b = putU32(b, size)                               // biSize
	b = putU32(b, uint32(int32(w)))                   // biWidth
	b = putU32(b, uint32(int32(h)))                   // biHeight: positive, bottom-up
	b = putU16(b, 1)                                  // biPlanes
	b = putU16(b, bpp)                                // biBitCount
	b = putU32(b, compression)                        // biCompression
	b = putU32(b, uint32(dibSize(0, w, h, int(bpp)))) // biSizeImage
	b = putU32(b, 2835)                               // biXPelsPerMeter: 72 dpi
	b = putU32(b, 2835)                               // biYPelsPerMeter
	b = putU32(b, 0)                                  // biClrUsed
	return putU32(b, 0)                               // biClrImportant
}

// encodeDIB encodes img as CF_DIB: 24 bits, translucent pixels on white.
// The caller has checked its size with dibSize.
func encodeDIB(img image.Image) []byte {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	out := make([]byte, 0, dibSize(dibInfoHeaderSize, w, h, 24))
	out = appendDIBHeader(out, dibInfoHeaderSize, w, h, 24, biRGB)
	var zeros [3]byte
	pad := zeros[:int(dibSize(0, w, 1, 24))-3*w]
	row := make([]byte, 4*w)
	for y := h - 1; y >= 0; y-- {
		nrgbaRow(row, img, r.Min.Y+y)
		for x := range w {
			p := row[4*x : 4*x+4 : 4*x+4]
			out = append(out, onWhite(p[2], p[3]), onWhite(p[1], p[3]), onWhite(p[0], p[3]))
		}
		out = append(out, pad...)
	}
	return out
}

// onWhite is the channel value c of straight alpha a blended onto white.
func onWhite(c, a uint8) byte {
	return byte((uint32(c)*uint32(a) + 255*(255-uint32(a)) + 127) / 255)
}

// encodeDIBV5 encodes img as CF_DIBV5: 32 bits BI_BITFIELDS, straight
// alpha. The caller has checked its size with dibSize.
func encodeDIBV5(img image.Image) []byte {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	out := make([]byte, 0, dibSize(dibV5HeaderSize, w, h, 32))
	out = appendDIBHeader(out, dibV5HeaderSize, w, h, 32, biBitfields)
	out = putU32(out, 0x00FF0000) // bV5RedMask
	out = putU32(out, 0x0000FF00) // bV5GreenMask
	out = putU32(out, 0x000000FF) // bV5BlueMask
	out = putU32(out, 0xFF000000) // bV5AlphaMask
	out = putU32(out, lcsSRGB)    // bV5CSType
	// bV5Endpoints (36 bytes) and the three gammas, unused with LCS_sRGB;
	// bV5Intent LCS_GM_IMAGES (4); no profile; bV5Reserved.
	out = append(out, make([]byte, 36+12)...)
	out = putU32(out, 4)
	out = append(out, make([]byte, 12)...)
	row := make([]byte, 4*w)
	for y := h - 1; y >= 0; y-- {
		nrgbaRow(row, img, r.Min.Y+y)
		for x := range w {
			p := row[4*x : 4*x+4 : 4*x+4]
			out = append(out, p[2], p[1], p[0], p[3])
		}
	}
	return out
}

// nrgbaRow fills row with line y of img as straight RGBA.
func nrgbaRow(row []byte, img image.Image, y int) {
	r := img.Bounds()
	switch m := img.(type) {
	case *image.NRGBA:
		copy(row, m.Pix[m.PixOffset(r.Min.X, y):])
		return
	case *image.RGBA:
		p := m.Pix[m.PixOffset(r.Min.X, y):]
		for x := range r.Dx() {
			q := p[4*x : 4*x+4 : 4*x+4]
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = unpremultiply(q[0], q[3]), unpremultiply(q[1], q[3]), unpremultiply(q[2], q[3]), q[3]
		}
		return
	}
	for x := range r.Dx() {
		c := color.NRGBAModel.Convert(img.At(r.Min.X+x, y)).(color.NRGBA)
		row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
	}
}

func unpremultiply(c, a uint8) uint8 {
	if a == 0 || a == 0xFF {
		return c
	}
	return uint8(min(255, (uint32(c)*255+uint32(a)/2)/uint32(a)))
}

// opaque reports whether every pixel of img is opaque.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xFFFF {
				return false
			}
		}
	}
	return true
}
