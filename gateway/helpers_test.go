package gateway

import (
	"encoding/base64"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
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

// scrape reads /metrics as a scraper on metrics.listen does (MetricsHandler, no login).
func (ts *testServer) scrape(t *testing.T) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Result(), rec.Body.String()
}

// a valid bcrypt hash ("demo", cost 4) for test configs
const testHash = "$2a$04$3srTMFq4qglqvLSi//7lrudBZEF2.jmJn94Td9TEmpei9oZa5Mzqe"
