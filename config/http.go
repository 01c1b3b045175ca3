package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MetricsConfig is where /metrics is served and who may read it (metrics.go).
type MetricsConfig struct {
	// Listen serves /metrics without authentication on a separate host:port (keep it on
	// loopback or a scrape network). "" = no separate listener.
	Listen string
	// Token (from token-file) lets a scraper read /metrics on the main listener as a
	// Bearer token. Members of admin-group and the admin token may read it too.
	Token     []byte
	TokenFile string
}

// ThrottleConfig is login-throttle: back-off after failed logins (throttle.go).
type ThrottleConfig struct {
	// Failed logins for one user name, and from one source address, before each further
	// attempt has to wait: 1s, then doubling up to MaxBackoff.
	UserAttempts    int
	AddressAttempts int
	MaxBackoff      time.Duration
	Disabled        bool
}

// DefaultThrottle is login-throttle when the file leaves it out.
var DefaultThrottle = ThrottleConfig{UserAttempts: 5, AddressAttempts: 20, MaxBackoff: 15 * time.Minute}

// origins reads allowed-origins: scheme://host[:port], nothing else.
func (d *decoder) origins(k string, v *yaml.Node, dst *[]string) {
	d.sequence(v, k, func(k string, v *yaml.Node) {
		s, ok := d.scalar(v, k)
		if !ok {
			return
		}
		o, err := parseOrigin(s)
		if err != nil {
			d.errorf(v, k, "%v", err)
			return
		}
		*dst = append(*dst, o)
	})
}

// parseOrigin normalises an origin as browsers send it: lower-case scheme and host, the
// scheme's default port dropped. Anything with a path, user or query is not an origin.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("want an origin such as https://host or https://host:8443, got %q", s)
	}
	return OriginOf(u), nil
}

// OriginOf is u's origin in the normal form parseOrigin gives.
func OriginOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

func (d *decoder) metrics(k string, v *yaml.Node, file string, m *MetricsConfig) {
	d.mapping(v, k, map[string]fieldFunc{
		"listen": func(k string, v *yaml.Node) { d.listen(k, v, &m.Listen) },
		"token-file": func(k string, v *yaml.Node) {
			m.Token = d.secretFile(k, v, file)
			if p, ok := d.scalar(v, k); ok {
				m.TokenFile = relTo(file, p)
			}
		},
	})
}

func (d *decoder) throttle(k string, v *yaml.Node, t *ThrottleConfig) {
	if v.Kind == yaml.ScalarNode {
		on := true
		d.boolean(v, k, &on)
		if on {
			d.errorf(v, k, "want false (no throttling) or a mapping of user-attempts, address-attempts, max-backoff")
		}
		t.Disabled = !on
		return
	}
	attempts := func(dst *int) fieldFunc {
		return func(k string, v *yaml.Node) {
			d.integer(v, k, dst)
			if *dst < 1 || *dst > 1000 {
				d.errorf(v, k, "want 1-1000 failed logins, got %d", *dst)
			}
		}
	}
	d.mapping(v, k, map[string]fieldFunc{
		"user-attempts":    attempts(&t.UserAttempts),
		"address-attempts": attempts(&t.AddressAttempts),
		"max-backoff": func(k string, v *yaml.Node) {
			d.duration(v, k, &t.MaxBackoff)
			if t.MaxBackoff < time.Second || t.MaxBackoff > 24*time.Hour {
				d.errorf(v, k, "want 1s to 24h, got %v", t.MaxBackoff)
			}
		},
	})
}
