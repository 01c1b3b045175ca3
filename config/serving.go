package config

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// TLSConfig is tls: the certificate racgate serves HTTPS with, both files PEM (the
// certificate file may hold the chain after it). Parsing reads them, so a SIGHUP, which
// parses the config again, reads them again.
type TLSConfig struct {
	CertFile, KeyFile string // resolved against the config file's folder
	Certificate       *tls.Certificate
}

// LogConfig is log: what racgate logs, and how. -log-level and -log-format on the
// command line win over it; a reload applies a changed level (not the format).
type LogConfig struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// ShutdownConfig is shutdown: what SIGTERM does (docs/deploy.md § Rolling upgrades).
type ShutdownConfig struct {
	// Delay keeps serving after SIGTERM with /readyz failing, so that load balancers
	// stop sending new sessions before the listener closes (0: close at once).
	Delay time.Duration
	// DrainTimeout is how long sessions, told that the instance is going away, get to
	// end before racgate exits anyway.
	DrainTimeout time.Duration
}

// DefaultShutdown is shutdown when the file leaves it out.
var DefaultShutdown = ShutdownConfig{DrainTimeout: 30 * time.Second}

func (d *decoder) tlsFiles(k string, v *yaml.Node, file string, dst **TLSConfig) {
	t := &TLSConfig{}
	d.mapping(v, k, map[string]fieldFunc{
		"cert-file": func(k string, v *yaml.Node) {
			if p, ok := d.scalar(v, k); ok {
				t.CertFile = relTo(file, p)
			}
		},
		"key-file": func(k string, v *yaml.Node) {
			if p, ok := d.scalar(v, k); ok {
				t.KeyFile = relTo(file, p)
			}
		},
	})
	d.required(v, k, "cert-file", t.CertFile)
	d.required(v, k, "key-file", t.KeyFile)
	if t.CertFile == "" || t.KeyFile == "" {
		return
	}
	// Read now, so that check-config and a reload say what is wrong at file:line.
	cert, err := readSmall(t.CertFile)
	if err != nil {
		d.errorf(v, k, "%v", err)
		return
	}
	key, err := readSmall(t.KeyFile)
	if err != nil {
		d.errorf(v, k, "%v", err)
		return
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		d.errorf(v, k, "%s and %s: %v", t.CertFile, t.KeyFile, err)
		return
	}
	t.Certificate = &pair
	*dst = t
}

// maxSmallFile bounds what the config's secret, certificate and key files may hold: a
// mistaken path (a log, a device) is refused, not read whole.
const maxSmallFile = 1 << 20

// readSmall reads a file the config names, at most maxSmallFile bytes.
func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmallFile {
		return nil, fmt.Errorf("%s holds more than %d bytes", p, maxSmallFile)
	}
	return b, nil
}

func (d *decoder) logConfig(k string, v *yaml.Node, l *LogConfig) {
	d.mapping(v, k, map[string]fieldFunc{
		"level": func(k string, v *yaml.Node) {
			if s, ok := d.scalar(v, k); ok {
				if err := l.Level.UnmarshalText([]byte(s)); err != nil {
					d.errorf(v, k, "want debug, info, warn or error")
				}
			}
		},
		"format": func(k string, v *yaml.Node) {
			if s, ok := d.scalar(v, k); ok {
				if s != "text" && s != "json" {
					d.errorf(v, k, "want text or json")
					return
				}
				l.Format = s
			}
		},
	})
}

func (d *decoder) shutdown(k string, v *yaml.Node, s *ShutdownConfig) {
	d.mapping(v, k, map[string]fieldFunc{
		"delay":         func(k string, v *yaml.Node) { d.duration(v, k, &s.Delay) },
		"drain-timeout": func(k string, v *yaml.Node) { d.duration(v, k, &s.DrainTimeout) },
	})
	if s.Delay < 0 || s.Delay > 10*time.Minute {
		d.errorf(v, k, "delay: want 0 to 10m")
	}
	if s.DrainTimeout < time.Second || s.DrainTimeout > time.Hour {
		d.errorf(v, k, "drain-timeout: want 1s to 1h")
	}
}
