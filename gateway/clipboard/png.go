package clipboard

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
)

// ErrImageTooLarge reports a browser's image with more pixels than the remote may take.
var ErrImageTooLarge = errors.New("clipboard: image too large")

// EncodePNG is img as a PNG file for the browsers. Speed over size: a screenshot on
// the clipboard is encoded while the user waits to paste it.
func EncodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("clipboard: encoding PNG: %w", err)
	}
	return b.Bytes(), nil
}

// DecodePNG decodes a browser's PNG of at most maxPixels pixels. The size in its
// header is checked before the pixels are allocated.
func DecodePNG(data []byte, maxPixels int) (image.Image, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("clipboard: reading PNG: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %dx%d pixels, at most %d", ErrImageTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("clipboard: decoding PNG: %w", err)
	}
	return img, nil
}
