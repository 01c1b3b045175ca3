package config

import (
	"strings"
	"testing"
	"time"
)

func TestSharing(t *testing.T) {
	c, err := Parse("t.yaml", []byte(goodConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SharingFor(c.Endpoint("desk")); got != DefaultSharing {
		t.Fatalf("default: %+v", got)
	}
	y := strings.Replace(goodConfig, "    connection-timeout: 1h\n",
		"    connection-timeout: 1h\n    sharing: {allow-control: false, default-expiry: 15m, max-expiry: 2h, announce: false}\n", 1)
	if c, err = Parse("t.yaml", []byte(y), nil); err != nil {
		t.Fatal(err)
	}
	want := Sharing{Enabled: true, AllowControl: false, DefaultExpiry: 15 * time.Minute, MaxExpiry: 2 * time.Hour, Announce: false}
	if got := c.SharingFor(c.Endpoint("desk")); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for bad, msg := range map[string]string{
		"    sharing: {enabled: perhaps}\n":                   "providers[0].sharing.enabled",
		"    sharing: {default-expiry: 30s}\n":                "default-expiry: must be at least 1m0s",
		"    sharing: {max-expiry: 800h}\n":                   "max-expiry: must be at most 168h0m0s",
		"    sharing: {default-expiry: 3h, max-expiry: 2h}\n": "default-expiry 3h0m0s is over max-expiry 2h0m0s",
		"    sharing: {default-expiry: 9h}\n":                 "is over max-expiry 8h0m0s",
		"    sharing: {annouce: true}\n":                      "annouce",
		"    sharing: true\n":                                 "providers[0].sharing",
	} {
		y := strings.Replace(goodConfig, "    connection-timeout: 1h\n", "    connection-timeout: 1h\n"+bad, 1)
		if _, err := Parse("t.yaml", []byte(y), nil); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", bad, err, msg)
		}
	}
}
