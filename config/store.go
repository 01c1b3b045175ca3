package config

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// StoreConfig is where live connections are counted: `store: memory` (the default, one
// instance) or `store: {redis: {...}}` (shared by every instance using that Redis).
type StoreConfig struct {
	Kind  string       // "memory" or "redis"
	Redis *RedisConfig // when Kind is "redis"
	// StateFile (store: {memory: {state-file: F}}) keeps logouts across restarts of a
	// memory-store instance. Without it such an instance refuses logins from before its
	// start (auth.go): a logout must not be undone by a restart.
	StateFile string
}

// RedisConfig is store.redis: go-redis's UniversalClient options. One address is a
// standalone server, several a Cluster, and master-name makes them Sentinels.
type RedisConfig struct {
	Addrs        []string
	Username     string
	Password     string // from password or password-file; never logged
	PasswordFile string
	DB           int
	MasterName   string // Sentinel
	TLS          *tls.Config
	LeaseTTL     time.Duration // 0: the store's default (30s)
	Prefix       string        // key prefix, default "racgate"
	FailOpen     bool          // admit connections while Redis is down (default: refuse)
}

// Equal reports whether two store configs name the same store; a reload cannot move
// live connections to another one.
func (a StoreConfig) Equal(b StoreConfig) bool {
	if a.Kind != b.Kind || a.StateFile != b.StateFile || (a.Redis == nil) != (b.Redis == nil) {
		return false
	}
	if a.Redis == nil {
		return true
	}
	x, y := *a.Redis, *b.Redis
	return fmt.Sprint(x.Addrs, x.Username, x.Password, x.DB, x.MasterName, x.TLS != nil, x.LeaseTTL, x.Prefix, x.FailOpen) ==
		fmt.Sprint(y.Addrs, y.Username, y.Password, y.DB, y.MasterName, y.TLS != nil, y.LeaseTTL, y.Prefix, y.FailOpen)
}

func (d *decoder) store(k string, v *yaml.Node, file string, dst *StoreConfig) {
	if v.Kind == yaml.ScalarNode {
		s, _ := d.scalar(v, k)
		switch s {
		case "memory":
			dst.Kind = s
		case "redis":
			d.errorf(v, k, "redis needs its addresses: store: {redis: {addrs: [host:6379]}}")
		default:
			d.errorf(v, k, "unknown store %q (want memory, or a redis: mapping)", s)
		}
		return
	}
	d.mapping(v, k, map[string]fieldFunc{
		"redis": func(k string, v *yaml.Node) {
			rc := &RedisConfig{}
			d.redis(k, v, file, rc)
			dst.Kind, dst.Redis = "redis", rc
		},
		"memory": func(k string, v *yaml.Node) {
			dst.Kind = "memory"
			d.mapping(v, k, map[string]fieldFunc{
				"state-file": func(k string, v *yaml.Node) {
					if p, ok := d.scalar(v, k); ok {
						dst.StateFile = relTo(file, p)
					}
				},
			})
		},
	})
	if dst.Kind == "redis" && dst.StateFile != "" {
		d.errorf(v, k, "give redis or memory, not both")
	}
}

func (d *decoder) redis(k string, v *yaml.Node, file string, rc *RedisConfig) {
	var pwNode *yaml.Node
	ok := d.mapping(v, k, map[string]fieldFunc{
		"addrs": func(k string, v *yaml.Node) {
			d.sequence(v, k, func(k string, v *yaml.Node) {
				var addr string
				if d.listen(k, v, &addr); addr != "" {
					rc.Addrs = append(rc.Addrs, addr)
				}
			})
		},
		"username": func(k string, v *yaml.Node) { d.str(v, k, &rc.Username) },
		"password": func(k string, v *yaml.Node) { d.str(v, k, &rc.Password); pwNode = v },
		"password-file": func(k string, v *yaml.Node) {
			p, ok := d.scalar(v, k)
			if !ok {
				return
			}
			p = relTo(file, p)
			b, err := readSmall(p)
			if err != nil {
				d.errorf(v, k, "%v", err)
				return
			}
			if pwNode != nil || rc.Password != "" {
				d.errorf(v, k, "give password or password-file, not both")
				return
			}
			rc.PasswordFile, rc.Password = p, string(bytes.TrimRight(b, "\r\n"))
		},
		"db": func(k string, v *yaml.Node) {
			d.integer(v, k, &rc.DB)
			if rc.DB < 0 {
				d.errorf(v, k, "want 0 or more, got %d", rc.DB)
			}
		},
		"master-name": func(k string, v *yaml.Node) { d.str(v, k, &rc.MasterName) },
		"tls":         func(k string, v *yaml.Node) { rc.TLS = d.tls(k, v, file) },
		"lease-ttl": func(k string, v *yaml.Node) {
			d.duration(v, k, &rc.LeaseTTL)
			if rc.LeaseTTL < time.Second {
				d.errorf(v, k, "want at least 1s, got %v", rc.LeaseTTL)
			}
		},
		"prefix":    func(k string, v *yaml.Node) { d.str(v, k, &rc.Prefix) },
		"fail-open": func(k string, v *yaml.Node) { d.boolean(v, k, &rc.FailOpen) },
	})
	if ok && len(rc.Addrs) == 0 {
		d.errorf(v, join(k, "addrs"), "missing: list at least one host:port")
	}
}

// tls reads `tls: true` (system roots) or `tls: {ca-file, server-name, insecure-skip-verify}`.
func (d *decoder) tls(k string, v *yaml.Node, file string) *tls.Config {
	if v.Kind == yaml.ScalarNode {
		var on bool
		d.boolean(v, k, &on)
		if !on {
			return nil
		}
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	d.mapping(v, k, map[string]fieldFunc{
		"ca-file": func(k string, v *yaml.Node) {
			p, ok := d.scalar(v, k)
			if !ok {
				return
			}
			b, err := readSmall(relTo(file, p))
			if err != nil {
				d.errorf(v, k, "%v", err)
				return
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(b) {
				d.errorf(v, k, "no PEM certificate in %s", p)
				return
			}
			c.RootCAs = pool
		},
		"server-name":          func(k string, v *yaml.Node) { d.str(v, k, &c.ServerName) },
		"insecure-skip-verify": func(k string, v *yaml.Node) { d.boolean(v, k, &c.InsecureSkipVerify) },
	})
	return c
}

func (d *decoder) boolean(v *yaml.Node, k string, dst *bool) {
	s, ok := d.scalar(v, k)
	if !ok {
		return
	}
	switch s {
	case "true", "yes", "on":
		*dst = true
	case "false", "no", "off":
		*dst = false
	default:
		d.errorf(v, k, "want true or false, got %q", s)
	}
}

// perUserLimit reads maximum-connections-per-user.
func (d *decoder) perUserLimit(k string, v *yaml.Node, dst *int) {
	d.integer(v, k, dst)
	if *dst < -1 {
		d.errorf(v, k, "want -1 (unlimited) or a number of connections, got %d", *dst)
	}
}

// secretFile reads a key file of at least minSecretLen bytes (surrounding space trimmed).
func (d *decoder) secretFile(k string, v *yaml.Node, file string) []byte {
	return d.fileSecret(k, v, file, minSecretLen)
}

// fileSecret reads the file v names (relative to file), trimmed, holding at least min
// bytes.
func (d *decoder) fileSecret(k string, v *yaml.Node, file string, min int) []byte {
	p, ok := d.scalar(v, k)
	if !ok {
		return nil
	}
	p = relTo(file, p)
	b, err := readSmall(p)
	if err != nil {
		d.errorf(v, k, "%v", err)
		return nil
	}
	b = bytes.TrimSpace(b)
	if len(b) < min {
		d.errorf(v, k, "%s holds %d bytes; want at least %d (e.g. openssl rand -hex 32)", p, len(b), min)
		return nil
	}
	return b
}

func relTo(file, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

// UserLimit is the per-user connection limit for ep: the endpoint's, else its provider's.
func (c *Config) UserLimit(ep *Endpoint) int {
	if ep.perUserSet {
		return ep.MaximumConnectionsPerUser
	}
	if p := c.provider(ep.Provider); p != nil {
		return p.MaximumConnectionsPerUser
	}
	return -1
}

// IdleTimeout is how long a connection to ep may go without input (from its provider).
func (c *Config) IdleTimeout(ep *Endpoint) time.Duration {
	if p := c.provider(ep.Provider); p != nil {
		return p.IdleTimeout
	}
	return 0
}
