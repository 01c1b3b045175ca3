package render

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
)

// Framebuffer is a plain picture in the framebuffer pixel layout (see BytesPerPixel).
// It implements Sink without viewers; Display embeds one, and tests use it alone to
// check what a protocol client decoded.
type Framebuffer struct {
	Width, Height int
	Stride        int
	Pix           []byte
	Cursor        *image.RGBA
	CursorHot     image.Point
	Frames        int // EndFrame calls seen
}

var _ Sink = (*Framebuffer)(nil)

// NewFramebuffer returns a black framebuffer of the given size.
func NewFramebuffer(width, height int) *Framebuffer {
	fb := &Framebuffer{}
	fb.Resize(width, height)
	return fb
}

// Bounds is the framebuffer's rectangle, at the origin.
func (fb *Framebuffer) Bounds() image.Rectangle { return image.Rect(0, 0, fb.Width, fb.Height) }

// Resize implements Sink.
func (fb *Framebuffer) Resize(width, height int) {
	if width < 0 {
		width = 0
	}
	if height < 0 {
		height = 0
	}
	fb.Width, fb.Height = width, height
	fb.Stride = width * BytesPerPixel
	fb.Pix = resized(fb.Pix, fb.Stride*height) // not the old screen's memory if it shrank
}

// At returns the colour at (x, y), or black outside the framebuffer.
func (fb *Framebuffer) At(x, y int) color.RGBA {
	if !(image.Point{x, y}).In(fb.Bounds()) {
		return color.RGBA{A: 255}
	}
	o := y*fb.Stride + x*BytesPerPixel
	return color.RGBA{fb.Pix[o], fb.Pix[o+1], fb.Pix[o+2], 255}
}

// SetPixels implements Sink.
func (fb *Framebuffer) SetPixels(r image.Rectangle, pix []byte, stride int) {
	c := r.Intersect(fb.Bounds())
	if c.Empty() {
		return
	}
	n := c.Dx() * BytesPerPixel
	for y := c.Min.Y; y < c.Max.Y; y++ {
		src := (y-r.Min.Y)*stride + (c.Min.X-r.Min.X)*BytesPerPixel
		if src < 0 || src+n > len(pix) {
			return
		}
		dst := y*fb.Stride + c.Min.X*BytesPerPixel
		copy(fb.Pix[dst:dst+n], pix[src:src+n])
	}
}

// WritePixels implements PixelWriter.
func (fb *Framebuffer) WritePixels(r image.Rectangle, write func(dst []byte, stride int)) bool {
	if r.Empty() || !r.In(fb.Bounds()) {
		return false
	}
	start := r.Min.Y*fb.Stride + r.Min.X*BytesPerPixel
	end := (r.Max.Y-1)*fb.Stride + r.Max.X*BytesPerPixel
	write(fb.Pix[start:end:end], fb.Stride)
	return true
}

// Fill implements Sink.
func (fb *Framebuffer) Fill(r image.Rectangle, c color.RGBA) {
	r = r.Intersect(fb.Bounds())
	if r.Empty() {
		return
	}
	row := fb.Pix[r.Min.Y*fb.Stride+r.Min.X*BytesPerPixel : r.Min.Y*fb.Stride+r.Max.X*BytesPerPixel]
	for i := 0; i < len(row); i += BytesPerPixel {
		row[i], row[i+1], row[i+2], row[i+3] = c.R, c.G, c.B, 0
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		o := y*fb.Stride + r.Min.X*BytesPerPixel
		copy(fb.Pix[o:o+len(row)], row)
	}
}

// Copy implements Sink.
func (fb *Framebuffer) Copy(dst image.Rectangle, src image.Point) {
	// Clip the destination and move the source with it, then clip by the source.
	d := dst.Intersect(fb.Bounds())
	s := src.Add(d.Min.Sub(dst.Min))
	sr := image.Rectangle{s, s.Add(d.Size())}.Intersect(fb.Bounds())
	d = image.Rectangle{d.Min.Add(sr.Min.Sub(s)), d.Min.Add(sr.Min.Sub(s)).Add(sr.Size())}
	if d.Empty() {
		return
	}
	n := d.Dx() * BytesPerPixel
	if d.Min.Y <= sr.Min.Y {
		for y := 0; y < d.Dy(); y++ {
			copy(fb.Pix[(d.Min.Y+y)*fb.Stride+d.Min.X*BytesPerPixel:][:n], fb.Pix[(sr.Min.Y+y)*fb.Stride+sr.Min.X*BytesPerPixel:][:n])
		}
		return
	}
	for y := d.Dy() - 1; y >= 0; y-- {
		copy(fb.Pix[(d.Min.Y+y)*fb.Stride+d.Min.X*BytesPerPixel:][:n], fb.Pix[(sr.Min.Y+y)*fb.Stride+sr.Min.X*BytesPerPixel:][:n])
	}
}

// DrawJPEG implements Sink by decoding the image into the framebuffer.
func (fb *Framebuffer) DrawJPEG(r image.Rectangle, data []byte) error {
	img, err := DecodeJPEG(data, r.Size())
	if err != nil {
		return err
	}
	fb.SetPixels(r, img.Pix, img.Stride)
	return nil
}

// SetCursor implements Sink.
func (fb *Framebuffer) SetCursor(img *image.RGBA, hot image.Point) {
	fb.Cursor, fb.CursorHot = img, hot
}

// EndFrame implements Sink.
func (fb *Framebuffer) EndFrame() { fb.Frames++ }

// DecodeJPEG decodes a JPEG that must be exactly size, into an RGBA image in the
// framebuffer layout (the fourth byte of each pixel is not meaningful).
func DecodeJPEG(data []byte, size image.Point) (*image.RGBA, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width != size.X || cfg.Height != size.Y {
		return nil, &JPEGSizeError{Got: image.Pt(cfg.Width, cfg.Height), Want: size}
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if rgba, ok := img.(*image.RGBA); ok {
		return rgba, nil
	}
	// draw.Draw has fast paths for what image/jpeg returns (YCbCr, Gray, CMYK): no
	// per-pixel interface calls, and the same YCbCr→RGB arithmetic as a client drawing
	// the JPEG with draw.Draw.
	out := image.NewRGBA(image.Rectangle{Max: img.Bounds().Size()})
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out, nil
}

// JPEGSizeError reports a JPEG whose size differs from the rectangle it was sent for.
type JPEGSizeError struct{ Got, Want image.Point }

func (e *JPEGSizeError) Error() string {
	return "render: JPEG is " + e.Got.String() + ", rectangle is " + e.Want.String()
}
