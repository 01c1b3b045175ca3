package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigStoreAndLimits(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "redis.pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(goodConfig, "    connection-timeout: 1h\n",
		"    connection-timeout: 1h\n    idle-timeout: 15m\n    maximum-connections-per-user: 2\n", 1) +
		`  - name: desk2
    provider: lab
    protocol: vnc
    host: 127.0.0.1:5902
    maximum-connections-per-user: -1
instance: gw-1
admin-group: admins
store:
  redis:
    addrs: [127.0.0.1:6379, 127.0.0.1:6380]
    password-file: redis.pw
    db: 2
    master-name: mymaster
    tls: {server-name: redis.lab, insecure-skip-verify: false}
    lease-ttl: 10s
    prefix: rg
    fail-open: true
`
	c, err := Parse(filepath.Join(dir, "t.yaml"), []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := c.Store.Redis
	if c.Store.Kind != "redis" || rc == nil || len(rc.Addrs) != 2 || rc.Password != "s3cret" || rc.DB != 2 ||
		rc.MasterName != "mymaster" || rc.TLS == nil || rc.TLS.ServerName != "redis.lab" || rc.LeaseTTL != 10*time.Second ||
		rc.Prefix != "rg" || !rc.FailOpen {
		t.Fatalf("store: %+v %+v", c.Store, rc)
	}
	if c.Instance != "gw-1" || c.AdminGroup != "admins" {
		t.Fatalf("instance %q admin-group %q", c.Instance, c.AdminGroup)
	}
	desk, desk2 := c.Endpoint("desk"), c.Endpoint("desk2")
	if c.UserLimit(desk) != 2 || c.UserLimit(desk2) != -1 || c.IdleTimeout(desk) != 15*time.Minute {
		t.Fatalf("limits: %d %d %v", c.UserLimit(desk), c.UserLimit(desk2), c.IdleTimeout(desk))
	}
	if !c.Store.Equal(c.Store) || c.Store.Equal(StoreConfig{Kind: "memory"}) {
		t.Fatal("StoreConfig.Equal")
	}
}

func TestConfigStoreErrors(t *testing.T) {
	for _, tc := range []struct{ name, add, want string }{
		{"unknown store", "store: etcd\n", `t.yaml:14: store: unknown store "etcd" (want memory, or a redis: mapping)`},
		{"no addrs", "store:\n  redis: {db: 1}\n", `t.yaml:15: store.redis.addrs: missing: list at least one host:port`},
		{"bad addr", "store:\n  redis:\n    addrs: [localhost]\n", `t.yaml:16: store.redis.addrs[0]: want host:port, got "localhost"`},
		{"typo", "store:\n  redis:\n    addrs: [a:1]\n    fail_open: true\n", `t.yaml:17: store.redis.fail_open: unknown key (did you mean "fail-open"?)`},
		{"bad bool", "store:\n  redis:\n    addrs: [a:1]\n    fail-open: maybe\n", `t.yaml:17: store.redis.fail-open: want true or false, got "maybe"`},
		{"short ttl", "store:\n  redis:\n    addrs: [a:1]\n    lease-ttl: 100ms\n", `t.yaml:17: store.redis.lease-ttl: want at least 1s, got 100ms`},
		{"bad per-user", "    maximum-connections-per-user: -3\n", `t.yaml:14: endpoints[0].maximum-connections-per-user: want -1 (unlimited) or a number of connections, got -3`},
		{"bad idle", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := goodConfig + tc.add
			if tc.name == "bad idle" {
				text = strings.Replace(goodConfig, "connection-timeout: 1h", "idle-timeout: soon", 1)
				tc.want = `t.yaml:7: providers[0].idle-timeout: want a duration like 30m, 8h or 1h30m, got "soon"`
			}
			_, err := Parse("t.yaml", []byte(text), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
