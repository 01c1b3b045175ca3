package gateway

import (
	"encoding/base64"
	"image"
	"image/color"
	"strconv"
)

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func itoa(n int64) string       { return strconv.FormatInt(n, 10) }

// nopSink is a render.Sink that draws nothing.
type nopSink struct{}

func (nopSink) Resize(int, int)                        {}
func (nopSink) SetPixels(image.Rectangle, []byte, int) {}
func (nopSink) Fill(image.Rectangle, color.RGBA)       {}
func (nopSink) Copy(image.Rectangle, image.Point)      {}
func (nopSink) DrawJPEG(image.Rectangle, []byte) error { return nil }
func (nopSink) SetCursor(*image.RGBA, image.Point)     {}
func (nopSink) EndFrame()                              {}
