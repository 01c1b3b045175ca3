package peers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math/bits"
)

// XWD file format (X11 XWDFile.h, version 7): a header of 25 CARD32 fields, the
// window name, ncolors XWDColor entries, then the image. xwd writes the header
// and colour entries most significant byte first; we also accept the other order.
const (
	xwdHeaderFields = 25
	xwdHeaderSize   = xwdHeaderFields * 4
	xwdVersion      = 7
	xwdZPixmap      = 2
	xwdColorSize    = 12
	xwdMaxDimension = 1 << 15
	xwdMaxColors    = 1 << 16
)

// Header field indexes, named as in XWDFile.h.
const (
	xwdFieldHeaderSize = iota
	xwdFieldFileVersion
	xwdFieldPixmapFormat
	xwdFieldPixmapDepth
	xwdFieldPixmapWidth
	xwdFieldPixmapHeight
	xwdFieldXOffset
	xwdFieldByteOrder
	xwdFieldBitmapUnit
	xwdFieldBitmapBitOrder
	xwdFieldBitmapPad
	xwdFieldBitsPerPixel
	xwdFieldBytesPerLine
	xwdFieldVisualClass
	xwdFieldRedMask
	xwdFieldGreenMask
	xwdFieldBlueMask
	xwdFieldBitsPerRGB
	xwdFieldColormapEntries
	xwdFieldNColors
)

// ErrXWD is wrapped by every DecodeXWD error.
var ErrXWD = errors.New("peers: bad XWD")

// DecodeXWD decodes a ZPixmap XWD dump of a TrueColor or DirectColor screen with
// 16, 24 or 32 bits per pixel into RGBA (alpha 255).
func DecodeXWD(data []byte) (*image.RGBA, error) {
	if len(data) < xwdHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrXWD, len(data))
	}
	var order binary.ByteOrder = binary.BigEndian
	if order.Uint32(data[4:]) != xwdVersion {
		order = binary.LittleEndian
		if order.Uint32(data[4:]) != xwdVersion {
			return nil, fmt.Errorf("%w: file version is not %d", ErrXWD, xwdVersion)
		}
	}
	var h [xwdHeaderFields]uint32
	for i := range h {
		h[i] = order.Uint32(data[i*4:])
	}
	if h[xwdFieldHeaderSize] < xwdHeaderSize || uint64(h[xwdFieldHeaderSize]) > uint64(len(data)) {
		return nil, fmt.Errorf("%w: header size %d", ErrXWD, h[xwdFieldHeaderSize])
	}
	if h[xwdFieldPixmapFormat] != xwdZPixmap {
		return nil, fmt.Errorf("%w: pixmap format %d, want ZPixmap", ErrXWD, h[xwdFieldPixmapFormat])
	}
	w, ht := h[xwdFieldPixmapWidth], h[xwdFieldPixmapHeight]
	if w == 0 || ht == 0 || w > xwdMaxDimension || ht > xwdMaxDimension {
		return nil, fmt.Errorf("%w: size %dx%d", ErrXWD, w, ht)
	}
	bpp := h[xwdFieldBitsPerPixel]
	if bpp != 16 && bpp != 24 && bpp != 32 {
		return nil, fmt.Errorf("%w: %d bits per pixel unsupported", ErrXWD, bpp)
	}
	// StaticGray..PseudoColor (0..3) need the colour map; TrueColor=4, DirectColor=5.
	if vc := h[xwdFieldVisualClass]; vc != 4 && vc != 5 {
		return nil, fmt.Errorf("%w: visual class %d unsupported", ErrXWD, vc)
	}
	bpl := uint64(h[xwdFieldBytesPerLine])
	if bpl < uint64(w)*uint64(bpp/8) {
		return nil, fmt.Errorf("%w: %d bytes per line for %d pixels", ErrXWD, bpl, w)
	}
	if h[xwdFieldNColors] > xwdMaxColors {
		return nil, fmt.Errorf("%w: %d colours", ErrXWD, h[xwdFieldNColors])
	}
	off := uint64(h[xwdFieldHeaderSize]) + uint64(h[xwdFieldNColors])*xwdColorSize
	if need := off + bpl*uint64(ht); need > uint64(len(data)) {
		return nil, fmt.Errorf("%w: image needs %d bytes, file has %d", ErrXWD, need, len(data))
	}
	masks := [3]uint32{h[xwdFieldRedMask], h[xwdFieldGreenMask], h[xwdFieldBlueMask]}
	var shift, width [3]uint
	for i, m := range masks {
		if m == 0 {
			return nil, fmt.Errorf("%w: zero colour mask", ErrXWD)
		}
		shift[i] = uint(bits.TrailingZeros32(m))
		width[i] = uint(bits.OnesCount32(m))
	}
	var pixOrder binary.ByteOrder = binary.LittleEndian // LSBFirst = 0
	if h[xwdFieldByteOrder] == 1 {
		pixOrder = binary.BigEndian
	}
	img := image.NewRGBA(image.Rect(0, 0, int(w), int(ht)))
	step := int(bpp / 8)
	for y := 0; y < int(ht); y++ {
		row := data[off+uint64(y)*bpl:]
		dst := img.Pix[y*img.Stride:]
		for x := 0; x < int(w); x++ {
			var p uint32
			s := row[x*step:]
			switch step {
			case 4:
				p = pixOrder.Uint32(s)
			case 3:
				if h[xwdFieldByteOrder] == 1 {
					p = uint32(s[0])<<16 | uint32(s[1])<<8 | uint32(s[2])
				} else {
					p = uint32(s[2])<<16 | uint32(s[1])<<8 | uint32(s[0])
				}
			case 2:
				p = uint32(pixOrder.Uint16(s))
			}
			d := dst[x*4 : x*4+4]
			for i := range 3 {
				d[i] = scale8((p&masks[i])>>shift[i], width[i])
			}
			d[3] = 255
		}
	}
	return img, nil
}

// scale8 widens or narrows a colour component of n bits to 8 bits.
func scale8(v uint32, n uint) uint8 {
	switch {
	case n == 8:
		return uint8(v)
	case n > 8:
		return uint8(v >> (n - 8))
	default:
		// Scale so that full intensity stays 255.
		return uint8(v * 255 / (1<<n - 1))
	}
}
