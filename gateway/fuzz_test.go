package gateway

import (
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
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

// FuzzParseLogin: only what signLogin made with the key, for a known user with that
// user's stamp, verifies.
func FuzzParseLogin(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	stamps := map[string]string{"demo": "$2a$10$stamp-of-demo", "bob": ""}
	stamp := func(u string) (string, bool) { s, ok := stamps[u]; return s, ok }
	f.Add(signLogin(key, loginClaims{ID: "id", Username: "demo", Issued: now, Expires: now.Add(time.Hour)}, stamps["demo"]))
	f.Add(signLogin(key, loginClaims{ID: "id", Username: "bob", Issued: now, Expires: now.Add(time.Hour)}, ""))
	f.Add("v2.id.1700000000.1700003600.ZGVtbw.")
	f.Add("v1.id.1700003600.ZGVtbw.")
	f.Add("....")
	f.Add(strings.Repeat("a", 2000))
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseLogin(key, v, now, stamp)
		if err != nil {
			return
		}
		if !c.Expires.After(now) {
			t.Fatalf("expired login accepted: %v", c.Expires)
		}
		if _, known := stamps[c.Username]; !known {
			t.Fatalf("login of unknown user %q accepted", c.Username)
		}
		if signLogin(key, c, stamps[c.Username]) != v {
			t.Fatalf("accepted %q, which signLogin does not make", v)
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
