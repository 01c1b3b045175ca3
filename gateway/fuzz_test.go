package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/racgate/racgate/config"
)

// FuzzConnectRequest: query strings from the browser never panic and stay in bounds.
func FuzzConnectRequest(f *testing.F) {
	f.Add("width=800&height=600")
	f.Add("width=0")
	f.Add("width=1&width=2")
	f.Add("color-depth=16&quality=lossless")
	f.Add("%zz=1")
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/ws/x", nil)
		r.URL.RawQuery = q
		w, h, set, err := connectRequest(r)
		if err != nil {
			return
		}
		if w < 0 || w > config.MaxDesktopSide || h < 0 || h > config.MaxDesktopSide {
			t.Fatalf("size %dx%d out of bounds", w, h)
		}
		if _, ok := set["width"]; ok {
			t.Fatal("width leaked into settings")
		}
	})
}
