// Package render turns what a remote desktop protocol decodes into frames for viewers:
// it owns the framebuffer, tracks damage, paces each viewer and encodes regions for the
// wire (see docs/protocol.md and docs/architecture.md).
package render

import (
	"image"
	"image/color"
)

// BytesPerPixel is the framebuffer's pixel size. A pixel is four bytes in memory:
// R, G, B and one unused byte. Protocol clients ask servers for this layout where
// they can (VNC: 32 bpp, depth 24, little-endian, red shift 0, green 8, blue 16) so
// that pixels reach the framebuffer without conversion.
const BytesPerPixel = 4

// Sink receives display operations from a protocol client. The client calls it
// from one goroutine. Rectangles are clipped by the sink to the framebuffer; a
// protocol client still checks server-supplied rectangles before it allocates.
type Sink interface {
	// Resize sets a new framebuffer size. The content becomes black.
	Resize(width, height int)
	// SetPixels draws r from pix: rows of r.Dx() pixels of BytesPerPixel bytes, stride
	// bytes apart. The sink copies; pix may be reused when SetPixels returns.
	SetPixels(r image.Rectangle, pix []byte, stride int)
	// Fill paints r with one colour (alpha is ignored).
	Fill(r image.Rectangle, c color.RGBA)
	// Copy copies the rectangle of dst's size at src to dst, as if read before written.
	Copy(dst image.Rectangle, src image.Point)
	// DrawJPEG draws a JPEG image of r's size at r. The sink may forward the bytes
	// to viewers undecoded; it must not keep data after DrawJPEG returns.
	DrawJPEG(r image.Rectangle, data []byte) error
	// SetCursor sets the pointer image: RGBA (not premultiplied), hot spot at hot.
	// A nil or empty image hides the cursor.
	SetCursor(img *image.RGBA, hot image.Point)
	// EndFrame marks a consistent picture: viewers may be sent what changed so far.
	EndFrame()
}

// PixelWriter is a Sink that lets a protocol client decode straight into its
// framebuffer, saving a copy of every pixel it draws.
type PixelWriter interface {
	// WritePixels calls write once with r's pixels in the framebuffer (rows of r.Dx()
	// pixels, stride bytes apart), for it to fill in whole, and takes r as drawn, as
	// SetPixels would. write runs under the sink's lock: it must not call the sink. It
	// reports false, calling nothing, when r is empty or not wholly inside the
	// framebuffer; the client then draws through SetPixels, which clips.
	WritePixels(r image.Rectangle, write func(dst []byte, stride int)) bool
}
