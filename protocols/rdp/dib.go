package rdp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math/bits"
)

// Device-independent bitmaps, the data of CF_DIB and CF_DIBV5. The
// clipboard carries them as generic data (MS-RDPECLIP 2.2.5.2): a packed
// DIB, as the Windows clipboard holds it (MS-WMF 2.2.2.9
// DeviceIndependentBitmap without a file header):
//
//   - a header: BITMAPINFOHEADER (MS-WMF 2.2.2.3, 40 bytes) for CF_DIB,
//     BITMAPV5HEADER (2.2.2.5, 124 bytes) for CF_DIBV5; the undocumented
//     52- and 56-byte V2/V3 headers and BITMAPV4HEADER (2.2.2.4, 108) are
//     read too. BITMAPCOREHEADER (2.2.2.2) is not: no clipboard uses it;
//   - with BI_BITFIELDS after a 40-byte header, the red, green and blue
//     masks (three DWORDs); the larger headers hold them;
//   - the colour table: biClrUsed RGBQuads (2.2.2.20), or 2^biBitCount
//     when that is 0 and biBitCount is at most 8;
//   - the rows, each padded to a multiple of 4 bytes, bottom-up, or
//     top-down when biHeight is negative.
//
// biSizeImage is not trusted for uncompressed bitmaps (writers leave it 0
// or round it): the size follows from the width, height and depth, and
// must fit in the data. Colour profiles (bV5CSType, bV5ProfileData) are
// ignored: the colours are taken as sRGB.

// Compression values (MS-WMF 2.1.1.7).
const (
	biRGB       = 0x0000
	biRLE8      = 0x0001
	biRLE4      = 0x0002
	biBitfields = 0x0003
	biJPEG      = 0x0004
	biPNG       = 0x0005
)

const (
	dibInfoHeaderSize = 40  // BITMAPINFOHEADER
	dibV2HeaderSize   = 52  // with the RGB masks
	dibV3HeaderSize   = 56  // with the alpha mask too
	dibV4HeaderSize   = 108 // BITMAPV4HEADER
	dibV5HeaderSize   = 124 // BITMAPV5HEADER
	// dibMaxSide bounds the width and the height read off the wire.
	dibMaxSide = 16384
	// lcsSRGB is bV5CSType LCS_sRGB ('sRGB', MS-WMF 2.1.1.14).
	lcsSRGB = 0x73524742
)

// dibError is a DIB the decoder refuses; it wraps ErrClipboardFailed.
func dibError(format string, args ...any) error {
	return fmt.Errorf("%w: DIB: %s", ErrClipboardFailed, fmt.Sprintf(format, args...))
}

// dibHeader is what the decoder reads of a DIB's header.
type dibHeader struct {
	size        uint32 // biSize
	width       int32
	height      int32
	bitCount    uint16
	compression uint32
	sizeImage   uint32
	clrUsed     uint32
	masks       [4]uint32 // red, green, blue, alpha (BI_BITFIELDS)
}

// decodeDIB decodes a packed DIB to an *image.NRGBA (or, for BI_JPEG and
// BI_PNG, to what image/jpeg or image/png make of the embedded file).
// maxPixels bounds width × height, so that a DIB of 1 bit a pixel cannot
// make an image 32 times its size. Every size is checked, in 64 bits,
// before anything is allocated. Errors wrap ErrClipboardFailed.
//
// Alpha: 32-bit BI_RGB has a fourth byte that Windows calls reserved and
// most programs leave 0, so it is read as straight (not premultiplied)
// alpha only if some pixel's is non-zero; otherwise the image is opaque.
// The same goes for BI_BITFIELDS with an alpha mask (bV5AlphaMask):
// Windows' own CF_DIBV5, made from a CF_BITMAP, has the mask and zeros.
func decodeDIB(data []byte, maxPixels int) (image.Image, error) {
	h, err := parseDIBHeader(data)
	if err != nil {
		return nil, err
	}
	w, ht := int64(h.width), int64(h.height)
	topDown := ht < 0
	if topDown {
		ht = -ht // int64: no overflow for math.MinInt32
	}
	switch {
	case w <= 0 || ht == 0:
		return nil, dibError("%dx%d pixels", h.width, h.height)
	case w > dibMaxSide || ht > dibMaxSide:
		return nil, dibError("%dx%d pixels, over %d on a side", w, ht, dibMaxSide)
	case w*ht > int64(maxPixels):
		return nil, dibError("%dx%d pixels, over %d", w, ht, maxPixels)
	}
	// Where the masks after a 40-byte header, the colour table and the bits
	// start, as 64-bit offsets into data.
	table := uint64(h.size)
	if h.compression == biBitfields && h.size == dibInfoHeaderSize {
		table += 12
	}
	if table > uint64(len(data)) {
		return nil, dibError("BI_BITFIELDS masks cut short: %d bytes", len(data))
	}
	if h.size == dibInfoHeaderSize && h.compression == biBitfields {
		d := decoder{b: data[dibInfoHeaderSize:]}
		h.masks[0], h.masks[1], h.masks[2] = d.u32(), d.u32(), d.u32()
	}
	entries := uint64(h.clrUsed)
	if entries == 0 && h.bitCount <= 8 && h.compression == biRGB {
		entries = 1 << h.bitCount
	}
	pixels := table + 4*entries
	if pixels > uint64(len(data)) {
		return nil, dibError("a colour table of %d entries, but %d bytes after the header", entries, uint64(len(data))-table)
	}
	switch h.compression {
	case biJPEG, biPNG:
		return decodeDIBEmbedded(h, data[pixels:], maxPixels)
	case biRLE8, biRLE4:
		return nil, dibError("RLE compression (%d) is not supported", h.compression)
	case biRGB:
		switch h.bitCount {
		case 1, 4, 8, 16, 24, 32:
		default:
			return nil, dibError("biBitCount %d", h.bitCount)
		}
	case biBitfields:
		if h.bitCount != 16 && h.bitCount != 32 {
			return nil, dibError("BI_BITFIELDS with biBitCount %d", h.bitCount)
		}
		for i, m := range h.masks {
			if (m == 0 && i < 3) || !contiguous(m) || (h.bitCount == 16 && m > 0xFFFF) {
				return nil, dibError("BI_BITFIELDS mask %d is %#x", i, m)
			}
		}
	default:
		return nil, dibError("biCompression %d is not supported", h.compression)
	}
	stride := (uint64(w)*uint64(h.bitCount) + 31) / 32 * 4
	size := stride * uint64(ht)
	if size > uint64(len(data))-pixels {
		return nil, dibError("%dx%d at %d bits needs %d bytes of pixels, %d given", w, ht, h.bitCount, size, uint64(len(data))-pixels)
	}
	var palette [256][4]uint8 // RGBA; indices past the table are black
	if h.bitCount <= 8 {
		// Entries past 2^biBitCount (biClrUsed too large) are skipped.
		n := min(entries, uint64(1)<<h.bitCount)
		for i := range n {
			q := data[table+4*i : table+4*i+4] // RGBQuad: blue, green, red, reserved
			palette[i] = [4]uint8{q[2], q[1], q[0], 0xFF}
		}
		for i := n; i < 256; i++ {
			palette[i] = [4]uint8{0, 0, 0, 0xFF}
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, int(w), int(ht)))
	src := data[pixels : pixels+size]
	conv := dibRowConverter(h, &palette)
	alpha := false // a non-zero alpha was read
	for y := range int(ht) {
		row := y
		if !topDown {
			row = int(ht) - 1 - y
		}
		s := src[row*int(stride) : (row+1)*int(stride)]
		if conv(img.Pix[y*img.Stride:y*img.Stride+4*int(w)], s) {
			alpha = true
		}
	}
	if !alpha {
		for i := 3; i < len(img.Pix); i += 4 {
			img.Pix[i] = 0xFF
		}
	}
	return img, nil
}

// parseDIBHeader reads the fields of the header that the decoder uses.
func parseDIBHeader(data []byte) (dibHeader, error) {
	d := decoder{b: data}
	var h dibHeader
	h.size = d.u32()
	if d.err != nil {
		return h, dibError("%d bytes", len(data))
	}
	switch h.size {
	case dibInfoHeaderSize, dibV2HeaderSize, dibV3HeaderSize, dibV4HeaderSize, dibV5HeaderSize:
	default:
		return h, dibError("a header of %d bytes (want 40, 52, 56, 108 or 124)", h.size)
	}
	if uint64(h.size) > uint64(len(data)) {
		return h, dibError("a header of %d bytes in %d", h.size, len(data))
	}
	h.width, h.height = int32(d.u32()), int32(d.u32())
	d.skip(2) // biPlanes, 1 by definition; not checked, as Windows does not
	h.bitCount, h.compression, h.sizeImage = d.u16(), d.u32(), d.u32()
	d.skip(8) // biXPelsPerMeter, biYPelsPerMeter
	h.clrUsed = d.u32()
	d.skip(4) // biClrImportant
	if h.size >= dibV2HeaderSize && h.compression == biBitfields {
		h.masks[0], h.masks[1], h.masks[2] = d.u32(), d.u32(), d.u32()
		if h.size >= dibV3HeaderSize {
			h.masks[3] = d.u32()
		}
	}
	return h, nil
}

// contiguous reports whether the set bits of m are one run (or none).
func contiguous(m uint32) bool {
	if m == 0 {
		return true
	}
	m >>= bits.TrailingZeros32(m)
	return m&(m+1) == 0
}

// dibRowConverter returns the function that converts one row of h's
// pixels to NRGBA and reports whether it read a non-zero alpha.
func dibRowConverter(h dibHeader, palette *[256][4]uint8) func(dst, src []byte) bool {
	switch {
	case h.compression == biBitfields:
		var f [4]bitfield
		for i, m := range h.masks {
			f[i] = newBitfield(m)
		}
		size := int(h.bitCount / 8)
		return func(dst, src []byte) bool {
			alpha := false
			for x := 0; x < len(dst)/4; x++ {
				var v uint32
				if size == 2 {
					v = uint32(binary.LittleEndian.Uint16(src[2*x:]))
				} else {
					v = binary.LittleEndian.Uint32(src[4*x:])
				}
				p := dst[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2], p[3] = f[0].get(v), f[1].get(v), f[2].get(v), f[3].get(v)
				alpha = alpha || p[3] != 0
			}
			return alpha
		}
	case h.bitCount == 32:
		return func(dst, src []byte) bool {
			alpha := false
			for x := 0; x < len(dst)/4; x++ {
				s, p := src[4*x:4*x+4:4*x+4], dst[4*x:4*x+4:4*x+4]
				p[0], p[1], p[2], p[3] = s[2], s[1], s[0], s[3]
				alpha = alpha || s[3] != 0
			}
			return alpha
		}
	case h.bitCount == 24:
		return func(dst, src []byte) bool {
			for x := 0; x < len(dst)/4; x++ {
				s, p := src[3*x:3*x+3:3*x+3], dst[4*x:4*x+4:4*x+4]
				p[0], p[1], p[2] = s[2], s[1], s[0]
			}
			return false
		}
	case h.bitCount == 16:
		// BI_RGB at 16 bits is 5-5-5, the top bit unused.
		f := [3]bitfield{newBitfield(0x7C00), newBitfield(0x03E0), newBitfield(0x001F)}
		return func(dst, src []byte) bool {
			for x := 0; x < len(dst)/4; x++ {
				v := uint32(binary.LittleEndian.Uint16(src[2*x:]))
				p := dst[4*x : 4*x+4 : 4*x+4]
				p[0], p[1], p[2] = f[0].get(v), f[1].get(v), f[2].get(v)
			}
			return false
		}
	}
	// 1, 4 or 8 bits: indices into the colour table, the leftmost pixel
	// in the high bits of each byte.
	bpp := uint(h.bitCount)
	perByte := 8 / bpp
	mask := byte(1)<<bpp - 1
	return func(dst, src []byte) bool {
		for x := 0; x < len(dst)/4; x++ {
			shift := 8 - bpp*(uint(x)%perByte+1)
			i := src[uint(x)/perByte] >> shift & mask
			copy(dst[4*x:4*x+4], palette[i][:])
		}
		return false
	}
}

// bitfield reads one channel of a BI_BITFIELDS pixel and scales it to 8
// bits.
type bitfield struct {
	mask  uint32
	shift int
	max   uint64 // the channel's largest value, mask >> shift; 0 for no mask
}

func newBitfield(mask uint32) bitfield {
	if mask == 0 {
		return bitfield{}
	}
	shift := bits.TrailingZeros32(mask)
	return bitfield{mask: mask, shift: shift, max: uint64(mask >> shift)}
}

func (f bitfield) get(v uint32) uint8 {
	if f.max == 0 {
		return 0
	}
	return uint8((uint64((v&f.mask)>>f.shift)*255 + f.max/2) / f.max)
}

// decodeDIBEmbedded decodes the JPEG or PNG file of a BI_JPEG or BI_PNG
// DIB: biSizeImage bytes (all that follow when it is 0 or too large). Its
// size is checked from its own header before it is decoded.
func decodeDIBEmbedded(h dibHeader, data []byte, maxPixels int) (image.Image, error) {
	if h.sizeImage != 0 && uint64(h.sizeImage) <= uint64(len(data)) {
		data = data[:h.sizeImage]
	}
	decodeConfig, decode, name := png.DecodeConfig, png.Decode, "PNG"
	if h.compression == biJPEG {
		decodeConfig, decode, name = jpeg.DecodeConfig, jpeg.Decode, "JPEG"
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, dibError("BI_%s: %v", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > dibMaxSide || cfg.Height > dibMaxSide ||
		int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, dibError("BI_%s of %dx%d pixels", name, cfg.Width, cfg.Height)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, dibError("BI_%s: %v", name, err)
	}
	return img, nil
}
