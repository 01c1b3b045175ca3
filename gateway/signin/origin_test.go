package signin

import (
	"crypto/tls"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/racgate/racgate/config"
)

func TestSameOrigin(t *testing.T) {
	withPublic := "public-url: https://gw.example\nallowed-origins: [https://portal.example:8443, http://other.example]\n"
	noPublic := "allowed-origins: [https://portal.example]\n"
	tests := []struct {
		name, yaml, host, origin string
		tls                      bool
		ok                       bool
	}{
		{"no Origin: not a browser", withPublic, "gw.example", "", false, true},
		{"public-url", withPublic, "gw.example", "https://gw.example", false, true},
		{"public-url, default port written", withPublic, "gw.example", "https://gw.example:443", false, true},
		{"public-url, case", withPublic, "gw.example", "HTTPS://GW.Example", false, true},
		{"public-url's host, other scheme", withPublic, "gw.example", "http://gw.example", false, false},
		{"public-url's host, other port", withPublic, "gw.example", "https://gw.example:8443", false, false},
		{"suffix of public-url", withPublic, "gw.example", "https://evil-gw.example", false, false},
		{"public-url as a suffix", withPublic, "gw.example", "https://gw.example.evil.example", false, false},
		{"own Host with public-url set (DNS rebinding)", withPublic, "rebound.example", "http://rebound.example", false, false},
		{"allowed origin", withPublic, "gw.example", "https://portal.example:8443", false, true},
		{"allowed origin, other port", withPublic, "gw.example", "https://portal.example", false, false},
		{"allowed http origin", withPublic, "gw.example", "http://other.example", false, true},
		{"null", withPublic, "gw.example", "null", false, false},
		{"garbage", withPublic, "gw.example", "gw.example", false, false},
		{"with a path", withPublic, "gw.example", "https://gw.example/x", false, false},
		{"with a user", withPublic, "gw.example", "https://u@gw.example", false, false},
		{"no public-url: own Host", noPublic, "racgate.lan:8080", "http://racgate.lan:8080", false, true},
		{"no public-url: own Host behind a TLS proxy", noPublic, "racgate.lan", "https://racgate.lan", false, true},
		{"no public-url: own Host over TLS", noPublic, "racgate.lan", "https://racgate.lan", true, true},
		{"no public-url: http Origin while serving TLS", noPublic, "racgate.lan", "http://racgate.lan", true, false},
		{"no public-url: other host", noPublic, "racgate.lan", "http://evil.example", false, false},
		{"no public-url: other port", noPublic, "racgate.lan:8080", "http://racgate.lan:8081", false, false},
		{"no public-url: Host as suffix", noPublic, "racgate.lan", "http://evilracgate.lan", false, false},
		{"no public-url: allowed origin", noPublic, "racgate.lan", "https://portal.example", false, true},
		{"no public-url: null", noPublic, "racgate.lan", "null", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("t.yaml", []byte(tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/login", nil)
			r.Host = tc.host
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := SameOrigin(cfg, r); got != tc.ok {
				t.Fatalf("SameOrigin(Host %s, Origin %q, tls %v) = %v, want %v", tc.host, tc.origin, tc.tls, got, tc.ok)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/connect/desk", "/connect/desk"},
		{"/connect/Windows%20box?width=3", "/connect/Windows%20box?width=3"},
		{"/", "/"},
		{"", "/"},
		{"//evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"\t//evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"https://evil.example", "/"},
		{"evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{" /x", "/"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// What the browser would do with the Location: stay on this origin.
		base, _ := url.Parse("https://gw.example/login")
		if u, err := base.Parse(strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(safeNext(tc.in))); err != nil || u.Host != "gw.example" {
			t.Errorf("safeNext(%q) = %q leads to %v (%v)", tc.in, safeNext(tc.in), u, err)
		}
	}
}
