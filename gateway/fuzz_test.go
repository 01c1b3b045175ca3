package gateway

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// FuzzParseConfig: any input is refused with ConfigErrors or accepted; never a panic.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("../examples/racgate.yaml"); err == nil {
		f.Add(string(b))
	}
	f.Add(goodConfig)
	f.Add(testConfig)
	f.Add("endpoints: [{name: a, provider: p, protocol: vnc, host: '[::1]:5'}]\nproviders: [{name: p}]\n")
	f.Add("a: &x [1]\nb: *x\n")
	f.Add("endpoints:\n  - settings: {quality: 3, encodings: tight}\n")
	f.Add("{")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseConfig("f.yaml", []byte(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, ep := range c.Endpoints {
			if _, err := c.Merge(ep, nil); err != nil {
				t.Fatalf("accepted config cannot merge %q: %v", ep.Name, err)
			}
		}
	})
}

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
		if w < 0 || w > maxDesktopSide || h < 0 || h > maxDesktopSide {
			t.Fatalf("size %dx%d out of bounds", w, h)
		}
		if _, ok := set["width"]; ok {
			t.Fatal("width leaked into settings")
		}
	})
}
