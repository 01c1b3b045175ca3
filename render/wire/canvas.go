package wire

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/racgate/racgate/render/predict"
)

// MaxCanvasPixels bounds the canvas a Canvas accepts (RESIZE) by default: 8192×8192.
const MaxCanvasPixels = 8192 * 8192

// ErrCanvas is wrapped by errors of Canvas.Apply about drawing: rectangles outside the
// canvas, image data that does not match its rectangle, a broken deflate stream.
var ErrCanvas = errors.New("wire: canvas")

// Canvas is a client's view of one connection: what a browser would show. It keeps the
// picture, the connection's deflate stream and the cursor. It is not safe for concurrent use.
type Canvas struct {
	img       *image.RGBA
	src       pieceReader
	zr        io.ReadCloser    // the connection's stream (ZRGB, ZPALETTE)
	one       io.ReadCloser    // reused for each one-shot stream (ZRGB1, ZPALETTE1)
	predict   *predict.Decoder // a recording's PREDICT images, made on first use
	oneSrc    bytes.Reader
	buf       []byte
	CursorImg *image.RGBA // nil when hidden
	CursorHot image.Point
	// MaxPixels bounds RESIZE; 0 means MaxCanvasPixels.
	MaxPixels int
}

// NewCanvas returns an empty (0×0) canvas.
func NewCanvas() *Canvas { return &Canvas{img: image.NewRGBA(image.Rectangle{})} }

// Image returns the current picture (alpha 255). It is the canvas's own; it changes on Apply.
func (c *Canvas) Image() *image.RGBA { return c.img }

func canvasErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCanvas, fmt.Sprintf(format, args...))
}

func (c *Canvas) rect(x, y, w, h int) (image.Rectangle, error) {
	r := image.Rect(x, y, x+w, y+h)
	// Even an empty rectangle must lie within: its rows are still walked.
	if x < 0 || y < 0 || w < 0 || h < 0 || x+w > c.img.Rect.Dx() || y+h > c.img.Rect.Dy() {
		return r, canvasErr("rectangle %v outside the %v canvas", r, c.img.Rect.Size())
	}
	return r, nil
}

// Apply draws m: RESIZE, FILL, COPY, IMAGE (every encoding) and CURSOR; other types are
// ignored. An error leaves the canvas unusable for the rest of the stream.
func (c *Canvas) Apply(m Message) error {
	switch m := m.(type) {
	case Resize:
		max := c.MaxPixels
		if max == 0 {
			max = MaxCanvasPixels
		}
		if m.Width*m.Height > max {
			return canvasErr("resize to %dx%d over the limit", m.Width, m.Height)
		}
		// A key frame of a recording begins with RESIZE to the same size: the screen is
		// cleared in place, not made anew (3 MB at 1024x768, every few seconds).
		if r := image.Rect(0, 0, m.Width, m.Height); c.img.Rect != r {
			c.img = image.NewRGBA(r)
		} else {
			clear(c.img.Pix)
		}
		for i := 3; i < len(c.img.Pix); i += 4 {
			c.img.Pix[i] = 255
		}
	case Fill:
		r, err := c.rect(m.X, m.Y, m.W, m.H)
		if err != nil {
			return err
		}
		c.fill(r, m.R, m.G, m.B)
	case Copy:
		r, err := c.rect(m.X, m.Y, m.W, m.H)
		if err != nil {
			return err
		}
		if _, err := c.rect(m.SrcX, m.SrcY, m.W, m.H); err != nil {
			return err
		}
		// draw.Draw handles overlap as if the source were read first.
		draw.Draw(c.img, r, c.img, image.Pt(m.SrcX, m.SrcY), draw.Src)
	case Image:
		r, err := c.rect(m.X, m.Y, m.W, m.H)
		if err != nil {
			return err
		}
		return c.image(r, m)
	case Cursor:
		if m.W == 0 || m.H == 0 {
			c.CursorImg = nil
		} else {
			img := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
			copy(img.Pix, m.RGBA)
			c.CursorImg = img
		}
		c.CursorHot = image.Pt(m.HotX, m.HotY)
	}
	return nil
}

func (c *Canvas) fill(r image.Rectangle, R, G, B uint8) {
	if r.Empty() {
		return
	}
	row := c.img.Pix[c.img.PixOffset(r.Min.X, r.Min.Y):][:r.Dx()*4]
	for i := 0; i < len(row); i += 4 {
		row[i], row[i+1], row[i+2], row[i+3] = R, G, B, 255
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(c.img.Pix[c.img.PixOffset(r.Min.X, y):], row)
	}
}

// ResetStream makes the next ZRGB or ZPALETTE start a new deflate stream, and the next
// PREDICT a new model: what a recording's key record means (docs/recording.md).
func (c *Canvas) ResetStream() {
	if c.zr != nil {
		c.zr.Close()
		c.zr = nil
	}
	c.src.b, c.src.off = c.src.b[:0], 0
	if c.predict != nil {
		c.predict.Reset()
	}
}

// inflate reads exactly n bytes of the deflate stream after feeding it piece.
func (c *Canvas) inflate(piece []byte, n int) ([]byte, error) {
	c.src.feed(piece)
	if c.zr == nil {
		zr, err := zlib.NewReader(&c.src)
		if err != nil {
			return nil, canvasErr("deflate stream header: %v", err)
		}
		c.zr = zr
	}
	out := c.scratch(n)
	if _, err := io.ReadFull(c.zr, out); err != nil {
		return nil, canvasErr("deflate stream: %v", err)
	}
	return out, nil
}

// inflater returns how to read m's inflated bytes in order: from the connection's
// stream (ZRGB, ZPALETTE) or from m.Data alone (ZRGB1, ZPALETTE1); done then checks
// that the one-shot stream ends, checksum and all, exactly where the layout does.
func (c *Canvas) inflater(m Image) (read func(n int) ([]byte, error), done func() error, err error) {
	if m.Encoding == ZRGB || m.Encoding == ZPalette {
		piece := m.Data
		read = func(n int) ([]byte, error) {
			b, err := c.inflate(piece, n)
			piece = nil
			return b, err
		}
		return read, func() error { return nil }, nil
	}
	c.oneSrc.Reset(m.Data)
	if c.one == nil {
		c.one, err = zlib.NewReader(&c.oneSrc)
	} else {
		err = c.one.(zlib.Resetter).Reset(&c.oneSrc, nil)
	}
	if err != nil {
		return nil, nil, canvasErr("encoding %d: zlib header: %v", m.Encoding, err)
	}
	read = func(n int) ([]byte, error) {
		out := c.scratch(n)
		if _, err := io.ReadFull(c.one, out); err != nil {
			return nil, canvasErr("encoding %d: inflates to fewer bytes than its rectangle needs: %v", m.Encoding, err)
		}
		return out, nil
	}
	done = func() error {
		var one [1]byte
		switch n, err := c.one.Read(one[:]); {
		case n > 0:
			return canvasErr("encoding %d: inflates to more bytes than its rectangle needs", m.Encoding)
		case err != io.EOF: // a bad checksum, or the stream stops short
			return canvasErr("encoding %d: zlib stream: %v", m.Encoding, err)
		case c.oneSrc.Len() > 0:
			return canvasErr("encoding %d: %d bytes after the zlib stream", m.Encoding, c.oneSrc.Len())
		}
		return nil
	}
	return read, done, nil
}

func (c *Canvas) scratch(n int) []byte {
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	return c.buf[:n]
}

func (c *Canvas) image(r image.Rectangle, m Image) error {
	if cap(c.buf) > 1<<20 && r.Dx()*r.Dy()*3 < 1<<18 {
		c.buf = nil // a big image's buffer is not kept for small ones
	}
	switch m.Encoding {
	case ZRGB, ZPalette, ZRGB1, ZPalette1:
		read, done, err := c.inflater(m)
		if err != nil {
			return err
		}
		if m.Encoding == ZRGB || m.Encoding == ZRGB1 {
			err = c.rgb(r, read)
		} else {
			err = c.palette(r, read)
		}
		if err != nil {
			return err
		}
		return done()
	case Predict:
		if c.predict == nil {
			c.predict = predict.NewDecoder()
		}
		if err := c.predict.Decode(m.Data, c.img, r); err != nil {
			return canvasErr("image encoding 6 (PREDICT): %v", err)
		}
		return nil
	}
	return c.bitmap(r, m)
}

// rgb draws § IMAGE 0 ZRGB / 4 ZRGB1's layout.
func (c *Canvas) rgb(r image.Rectangle, read func(int) ([]byte, error)) error {
	w, h := r.Dx(), r.Dy()
	px, err := read(w * h * 3)
	if err != nil {
		return err
	}
	for y := 0; y < h; y++ {
		d := c.img.Pix[c.img.PixOffset(r.Min.X, r.Min.Y+y):][:w*4]
		s := px[y*w*3:][:w*3]
		for i, j := 0, 0; i < len(d); i, j = i+4, j+3 {
			d[i], d[i+1], d[i+2], d[i+3] = s[j], s[j+1], s[j+2], 255
		}
	}
	return nil
}

// palette draws § IMAGE 1 ZPALETTE / 5 ZPALETTE1's layout.
func (c *Canvas) palette(r image.Rectangle, read func(int) ([]byte, error)) error {
	w, h := r.Dx(), r.Dy()
	hd, err := read(1)
	if err != nil {
		return err
	}
	n := int(hd[0]) + 1
	bits := PaletteBits(n)
	stride := (w*bits + 7) / 8
	body, err := read(3*n + stride*h)
	if err != nil {
		return err
	}
	pal, idx := body[:3*n], body[3*n:]
	mask := 1<<bits - 1
	for y := 0; y < h; y++ {
		d := c.img.Pix[c.img.PixOffset(r.Min.X, r.Min.Y+y):][:w*4]
		row := idx[y*stride:][:stride]
		for x := 0; x < w; x++ {
			bit := x * bits
			k := int(row[bit>>3]>>(8-bits-bit&7)) & mask
			if k >= n {
				return canvasErr("palette index %d of %d colours", k, n)
			}
			d[x*4], d[x*4+1], d[x*4+2], d[x*4+3] = pal[3*k], pal[3*k+1], pal[3*k+2], 255
		}
	}
	return nil
}

// bitmap draws the encodings that are image files.
func (c *Canvas) bitmap(r image.Rectangle, m Image) error {
	w, h := r.Dx(), r.Dy()
	switch m.Encoding {
	case JPEG, PNG: // § IMAGE, 2 JPEG and 3 PNG
		decodeConfig, decode := jpeg.DecodeConfig, jpeg.Decode
		if m.Encoding == PNG {
			decodeConfig, decode = png.DecodeConfig, png.Decode
		}
		// Check the size before decoding: the header alone could ask for a huge picture.
		cfg, err := decodeConfig(bytes.NewReader(m.Data))
		if err == nil && (cfg.Width != w || cfg.Height != h) {
			return canvasErr("image is %dx%d, rectangle %v", cfg.Width, cfg.Height, r)
		}
		var img image.Image
		if err == nil {
			img, err = decode(bytes.NewReader(m.Data))
		}
		if err != nil {
			return canvasErr("image encoding %d: %v", m.Encoding, err)
		}
		if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			return canvasErr("image is %v, rectangle %v", img.Bounds().Size(), r)
		}
		draw.Draw(c.img, r, img, img.Bounds().Min, draw.Src)
		c.fixAlpha(r)
	default:
		return canvasErr("unknown image encoding %d", m.Encoding)
	}
	return nil
}

func (c *Canvas) fixAlpha(r image.Rectangle) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		d := c.img.Pix[c.img.PixOffset(r.Min.X, y):][:r.Dx()*4]
		for i := 3; i < len(d); i += 4 {
			d[i] = 255
		}
	}
}

// PaletteBits is the bits per index for a palette of n colours (§ IMAGE, ZPALETTE).
func PaletteBits(n int) int {
	switch {
	case n <= 2:
		return 1
	case n <= 4:
		return 2
	case n <= 16:
		return 4
	}
	return 8
}

// pieceReader hands the inflater the pieces of the stream. It is an io.ByteReader so that
// flate reads no further than it needs; running dry means a piece was short.
type pieceReader struct {
	b   []byte
	off int
}

func (p *pieceReader) feed(b []byte) {
	if len(b) == 0 {
		return
	}
	// Keep the unread tail (the end of the last sync flush) and own the new piece.
	n := copy(p.b, p.b[p.off:])
	p.b = append(p.b[:n], b...)
	p.off = 0
}

func (p *pieceReader) Read(b []byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(b, p.b[p.off:])
	p.off += n
	return n, nil
}

func (p *pieceReader) ReadByte() (byte, error) {
	if p.off >= len(p.b) {
		return 0, io.ErrUnexpectedEOF
	}
	p.off++
	return p.b[p.off-1], nil
}
