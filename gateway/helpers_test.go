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

func TestTruncUTF8(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"a世b", 2, "a"}, {"a世b", 4, "a世"}, {"世", 0, ""},
	} {
		if got := truncUTF8(tc.s, tc.n); got != tc.want {
			t.Errorf("truncUTF8(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// scrape reads /metrics as a scraper on metrics.listen does (MetricsHandler, no login).
func (ts *testServer) scrape(t *testing.T) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Result(), rec.Body.String()
}

// a valid bcrypt hash ("demo", cost 4) for test configs
const testHash = "$2a$04$3srTMFq4qglqvLSi//7lrudBZEF2.jmJn94Td9TEmpei9oZa5Mzqe"
