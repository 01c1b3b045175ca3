package rdp

// Planar bitmap codec (MS-RDPEGDI 2.2.2.5.1): a format header, then one
// plane each of alpha (unless NA), red, green and blue, raw or RLE-encoded
// scanline by scanline with every line after the first delta-encoded
// against the line above (3.1.9.2). In bitmap updates, like every bitmap,
// the first stored line is the bottom one.

// Planar format header bits (2.2.2.5.1 FormatHeader).
const (
	planarCLLMask = 0x07 // color loss level; nonzero means YCoCg planes
	planarCS      = 0x08 // chroma subsampling
	planarRLE     = 0x10
	planarNA      = 0x20 // no alpha plane
)

const planarPDU, planarSec = "Planar Bitmap", "MS-RDPEGDI 2.2.2.5.1"

func (c *Client) decodePlanar(dst, src []byte, width, height int) error {
	var err error
	c.planes, err = decodePlanar(dst, src, width, height, c.planes)
	return err
}

// decodePlanar decodes src into dst (width*height pixels, top-down, R G B X)
// and returns scratch, grown as needed for reuse.
func decodePlanar(dst, src []byte, width, height int, scratch []byte) ([]byte, error) {
	if len(src) < 1 {
		return scratch, protoErr(planarPDU, planarSec, "empty")
	}
	hdr := src[0]
	if hdr&planarCLLMask != 0 || hdr&planarCS != 0 {
		return scratch, protoErr(planarPDU, planarSec, "YCoCg planes (format header %#x) are not implemented", hdr)
	}
	n := width * height
	planes := 3
	if hdr&planarNA == 0 {
		planes = 4
	}
	if cap(scratch) < 4*n {
		scratch = make([]byte, 4*n)
	}
	scratch = scratch[:4*n]
	p := src[1:]
	for i := range planes {
		plane := scratch[i*n : (i+1)*n]
		if hdr&planarRLE == 0 {
			if len(p) < n {
				return scratch, protoErr(planarPDU, planarSec, "raw plane %d: %d bytes for %dx%d", i, len(p), width, height)
			}
			copy(plane, p[:n])
			p = p[n:]
			continue
		}
		used, err := decodePlanarRLEPlane(plane, p, width, height)
		if err != nil {
			return scratch, err
		}
		p = p[used:]
	}
	// Planes in order A, R, G, B (or R, G, B with NA). We draw opaque pixels:
	// the framebuffer has no alpha.
	off := 0
	if planes == 4 {
		off = n
	}
	r, g, b := scratch[off:off+n], scratch[off+n:off+2*n], scratch[off+2*n:off+3*n]
	for y := range height {
		s := (height - 1 - y) * width // bottom-up
		row := dst[y*width*4 : (y+1)*width*4]
		rr, gg, bb := r[s:s+width], g[s:s+width], b[s:s+width]
		for x := range width {
			d := row[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2], d[3] = rr[x], gg[x], bb[x], 0
		}
	}
	return scratch, nil
}

// decodePlanarRLEPlane decodes one RLE plane (2.2.2.5.1.1.2 RLE_PLANE) into
// plane and returns the number of source bytes used.
func decodePlanarRLEPlane(plane, src []byte, width, height int) (int, error) {
	i := 0
	for y := range height {
		row := plane[y*width : (y+1)*width]
		x := 0
		var last byte
		for x < width {
			if i >= len(src) {
				return 0, protoErr(planarPDU, "MS-RDPEGDI 2.2.2.5.1.1.2", "plane data ends in line %d", y)
			}
			ctl := src[i]
			i++
			run, raw := int(ctl&0x0F), int(ctl>>4)
			switch run {
			case 1:
				run, raw = raw+16, 0
			case 2:
				run, raw = raw+32, 0
			}
			if raw+run > width-x || raw > len(src)-i {
				return 0, protoErr(planarPDU, "MS-RDPEGDI 2.2.2.5.1.1.3", "segment of %d raw and %d run bytes overruns line %d", raw, run, y)
			}
			if raw > 0 {
				copy(row[x:], src[i:i+raw])
				i += raw
				x += raw
				last = row[x-1]
			}
			for range run {
				row[x] = last
				x++
			}
		}
		if y > 0 {
			// 3.1.9.2.3: lines after the first hold deltas to the line above,
			// sign-magnitude coded with the sign in the low bit.
			above := plane[(y-1)*width : y*width]
			for x, e := range row {
				if e&1 != 0 {
					row[x] = above[x] - (e>>1 + 1)
				} else {
					row[x] = above[x] + e>>1
				}
			}
		}
	}
	return i, nil
}
