package predict

import (
	"fmt"
	"image"
)

// Encoder codes images of one stream. Its model carries over from image to image until
// Reset.
type Encoder struct {
	m *Model
	c coder
}

// NewEncoder returns an encoder at the start of a stream.
func NewEncoder() *Encoder { return &Encoder{m: NewModel()} }

// Reset starts a new stream (a recording's key frame).
func (e *Encoder) Reset() { e.m.Reset() }

// Encode appends to dst the data of an IMAGE that draws pix (r's new pixels, RGBA, rows
// packed) over img, the screen as the player has it, and draws them into img. img's
// bounds start at 0,0 and hold r.
func (e *Encoder) Encode(dst []byte, img *image.RGBA, r image.Rectangle, pix []byte) ([]byte, error) {
	if err := check(img, r); err != nil {
		return dst, err
	}
	if len(pix) < r.Dx()*r.Dy()*4 {
		return dst, fmt.Errorf("predict: %d bytes of pixels for a %dx%d image", len(pix), r.Dx(), r.Dy())
	}
	e.c.startEncode(dst)
	e.m.walk(&e.c, img, r, pix)
	out := e.c.finishEncode()
	e.c = coder{}
	return out, nil
}

// Decoder decodes images of one stream.
type Decoder struct {
	m *Model
	c coder
}

// NewDecoder returns a decoder at the start of a stream.
func NewDecoder() *Decoder { return &Decoder{m: NewModel()} }

// Reset starts a new stream.
func (d *Decoder) Reset() { d.m.Reset() }

// Decode draws the IMAGE data into r of img, the screen. Data that is not exactly what
// r needs is ErrData; r's pixels are then undefined, and so is the model: the stream
// cannot go on.
func (d *Decoder) Decode(data []byte, img *image.RGBA, r image.Rectangle) error {
	if err := check(img, r); err != nil {
		return err
	}
	d.c.startDecode(data)
	d.m.walk(&d.c, img, r, nil)
	err := d.c.finishDecode()
	d.c = coder{}
	return err
}

func check(img *image.RGBA, r image.Rectangle) error {
	if img.Rect.Min != (image.Point{}) || !r.In(img.Rect) && !r.Empty() || r.Min.X < 0 || r.Min.Y < 0 {
		return fmt.Errorf("predict: rectangle %v outside the screen %v", r, img.Rect)
	}
	return nil
}
