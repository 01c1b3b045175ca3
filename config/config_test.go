package config

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// a valid bcrypt hash ("demo", cost 4) for test configs
const testHash = "$2a$04$3srTMFq4qglqvLSi//7lrudBZEF2.jmJn94Td9TEmpei9oZa5Mzqe"

const goodConfig = `listen: 127.0.0.1:0
users:
  - username: demo
    password-hash: "` + testHash + `"
providers:
  - name: lab
    connection-timeout: 1h
    settings: {ignore-cert: true}
endpoints:
  - name: desk
    provider: lab
    protocol: vnc
    host: 127.0.0.1:5901
`

func TestExampleConfig(t *testing.T) {
	c, err := Load("../examples/racgate.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := c.Endpoint("Demo desktop")
	if ep == nil || ep.Protocol != "vnc" || ep.hostname != "127.0.0.1" || ep.port != "5901" {
		t.Fatalf("Demo desktop endpoint: %+v", ep)
	}
	if len(c.Users) != 1 || c.Users[0].Username != "demo" {
		t.Fatalf("users: %+v", c.Users)
	}
	if c.ConnectionTimeout(ep) != 8*time.Hour || c.Session.Lifetime != 12*time.Hour {
		t.Fatalf("timeouts: %v %v", c.ConnectionTimeout(ep), c.Session.Lifetime)
	}
}

func TestGoodConfigDefaults(t *testing.T) {
	c, err := Parse("t.yaml", []byte(goodConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Kind != "memory" || c.Session.Lifetime != DefaultSessionLifetime || c.PublicURL != nil {
		t.Fatalf("defaults: %+v", c)
	}
	if ep := c.Endpoint("desk"); ep.MaximumConnections != -1 {
		t.Fatalf("maximum-connections default %d", ep.MaximumConnections)
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // one of the errors, exactly
	}{
		{"unknown protocol", goodConfig + `  - name: d2
    provider: lab
    protocol: rpd
    host: h
`, `t.yaml:16: endpoints[1].protocol: unknown protocol "rpd" (want vnc, rdp or ssh)`},
		{"unknown top key", "listen: 127.0.0.1:1\nlisen: x\n", `t.yaml:2: lisen: unknown key (did you mean "listen"?)`},
		{"unknown endpoint key", strings.Replace(goodConfig, "    host: 127.0.0.1:5901", "    hots: 127.0.0.1:5901", 1),
			`t.yaml:13: endpoints[0].hots: unknown key (did you mean "host"?)`},
		{"missing host", strings.Replace(goodConfig, "    host: 127.0.0.1:5901\n", "", 1),
			`t.yaml:10: endpoints[0].host: missing`},
		{"duplicate endpoint", goodConfig + `  - name: desk
    provider: lab
    protocol: vnc
    host: h
`, `t.yaml:14: endpoints[1].name: duplicate endpoint name "desk" (first at line 10)`},
		{"duplicate key", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", `t.yaml:2: listen: duplicate key (first at line 1)`},
		{"unknown provider", strings.Replace(goodConfig, "    provider: lab", "    provider: lba", 1),
			`t.yaml:11: endpoints[0].provider: unknown provider "lba"`},
		{"unknown mapping on endpoint", goodConfig + "    property-mappings: [a, nope]\nproperty-mappings:\n  - name: a\n",
			`t.yaml:14: endpoints[0].property-mappings[1]: unknown property mapping "nope"`},
		{"unknown mapping on provider", strings.Replace(goodConfig, "    connection-timeout: 1h\n", "    connection-timeout: 1h\n    property-mappings:\n      - gone\n", 1),
			`t.yaml:9: providers[0].property-mappings[0]: unknown property mapping "gone"`},
		{"duplicate mapping", goodConfig + "property-mappings:\n  - name: a\n  - name: a\n",
			`t.yaml:16: property-mappings[1].name: duplicate property mapping name "a" (first at line 15)`},
		{"bad duration", strings.Replace(goodConfig, "connection-timeout: 1h", "connection-timeout: 8 hours", 1),
			`t.yaml:7: providers[0].connection-timeout: want a duration like 30m, 8h or 1h30m, got "8 hours"`},
		{"bad bool setting", strings.Replace(goodConfig, "{ignore-cert: true}", "{ignore-cert: maybe}", 1),
			`t.yaml:8: providers[0].settings.ignore-cert: setting ignore-cert: want true or false, got "maybe"`},
		{"unknown setting", strings.Replace(goodConfig, "{ignore-cert: true}", "{ignore-certs: true}", 1),
			`t.yaml:8: providers[0].settings.ignore-certs: unknown setting "ignore-certs"`},
		{"nested setting", strings.Replace(goodConfig, "{ignore-cert: true}", "{password: {a: b}}", 1),
			`t.yaml:8: providers[0].settings.password: want a value, got a mapping`},
		{"hostname in settings", goodConfig + "    settings: {hostname: x}\n",
			`t.yaml:14: endpoints[0].settings.hostname: set the endpoint's host (host:port) instead`},
		{"bad max", goodConfig + "    maximum-connections: -2\n",
			`t.yaml:14: endpoints[0].maximum-connections: want -1 (unlimited) or a number of connections, got -2`},
		{"max not number", goodConfig + "    maximum-connections: lots\n",
			`t.yaml:14: endpoints[0].maximum-connections: want a whole number, got "lots"`},
		{"bad quality", goodConfig + "    settings: {quality: 11}\n",
			`t.yaml:14: endpoints[0].settings.quality: setting quality: want 0-9 or lossless, got "11"`},
		{"connection setting password", goodConfig + "    connection-settings: [password]\n",
			`t.yaml:14: endpoints[0].connection-settings[0]: password cannot be set by the connect request`},
		{"bad host port", strings.Replace(goodConfig, "127.0.0.1:5901", "127.0.0.1:99999", 1),
			`t.yaml:13: endpoints[0].host: port in "127.0.0.1:99999": want 1-65535`},
		{"slash in name", strings.Replace(goodConfig, "name: desk", "name: a/b", 1),
			`t.yaml:10: endpoints[0].name: must not contain / ? or #`},
		{"bad hash", strings.Replace(goodConfig, testHash, "plaintext", 1),
			"t.yaml:4: users[0].password-hash: not a bcrypt hash (make one with `racgate hash-password`)"},
		{"duplicate user", goodConfig + "users2: x\n", `t.yaml:14: users2: unknown key (did you mean "users"?)`},
		{"redis store without addrs", goodConfig + "store: redis\n", `t.yaml:14: store: redis needs its addresses: store: {redis: {addrs: [host:6379]}}`},
		{"bad listen", "listen: localhost\n", `t.yaml:1: listen: want host:port, got "localhost"`},
		{"bad public url", "public-url: example.com\n", `t.yaml:1: public-url: want an absolute http:// or https:// URL, got "example.com"`},
		{"endpoints not list", "endpoints: {a: b}\n", `t.yaml:1: endpoints: want a list, got a mapping`},
		{"syntax error", "listen: [\n", `t.yaml:1: did not find expected node content`},
		{"short secret", "session:\n  secret-file: short.key\n", "short.key holds 5 bytes; want at least 32"},
		{"missing secret", "session:\n  secret-file: /nonexistent/key\n", "t.yaml:2: session.secret-file: open /nonexistent/key: no such file or directory"},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "short.key"), []byte("12345\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := "t.yaml"
			if strings.Contains(tc.yaml, "short.key") {
				file = filepath.Join(dir, "t.yaml")
			}
			_, err := Parse(file, []byte(tc.yaml), nil)
			if err == nil {
				t.Fatalf("accepted; want %s", tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got:\n%v\nwant a line:\n%s", err, tc.want)
			}
		})
	}
}

func TestBadConfigReportsAll(t *testing.T) {
	bad := strings.Replace(goodConfig, "protocol: vnc", "protocol: x", 1) + "bogus: 1\n"
	_, err := Parse("t.yaml", []byte(bad), nil)
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	if es[0].Line != 12 || es[1].Line != 14 {
		t.Fatalf("lines %d, %d; want 12, 14 (sorted)", es[0].Line, es[1].Line)
	}
}

func TestSecretFileRelative(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("k", 40)
	if err := os.WriteFile(filepath.Join(dir, "s.key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(p, []byte("session: {secret-file: s.key, lifetime: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Session.Secret) != key || c.Session.Lifetime != time.Hour {
		t.Fatalf("session: %q %v", c.Session.Secret, c.Session.Lifetime)
	}
}

func TestHostDefaults(t *testing.T) {
	for _, tc := range []struct{ proto, host, wantHost, wantPort string }{
		{"vnc", "10.0.0.1", "10.0.0.1", "5900"},
		{"rdp", "win.lab", "win.lab", "3389"},
		{"ssh", `"[::1]:2222"`, "::1", "2222"},
		{"ssh", "::1", "::1", "22"},
	} {
		y := strings.Replace(strings.Replace(goodConfig, "protocol: vnc", "protocol: "+tc.proto, 1), "127.0.0.1:5901", tc.host, 1)
		c, err := Parse("t.yaml", []byte(y), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.host, err)
		}
		ep := c.Endpoint("desk")
		if ep.hostname != tc.wantHost || ep.port != tc.wantPort {
			t.Errorf("%s %s: got %s %s", tc.proto, tc.host, ep.hostname, ep.port)
		}
	}
}

func TestMerge(t *testing.T) {
	const y = `providers:
  - name: p
    settings: {username: prov, color-depth: 16, enable-wallpaper: true, read-only: true}
    property-mappings: [pm1, pm2]
endpoints:
  - name: e
    provider: p
    protocol: rdp
    host: h:3390
    settings: {username: ep, password: secret, domain: D}
    connection-settings: [color-depth, enable-wallpaper, disable-copy, quality]
    property-mappings: [em]
property-mappings:
  - name: pm1
    settings: {domain: PM1, enable-wallpaper: false}
  - name: pm2
    settings: {domain: PM2}
  - name: em
    settings: {read-only: false}
`
	c, err := Parse("t.yaml", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := c.Endpoint("e")
	tests := []struct {
		name    string
		conn    Settings
		want    map[string]string // subset
		wantErr error
	}{
		{"provider, endpoint, host", nil, map[string]string{
			"username": "ep", "password": "secret", "hostname": "h", "port": "3390", "color-depth": "16"}, nil},
		{"mappings override endpoint, later mapping wins", nil, map[string]string{
			"domain": "PM2", "enable-wallpaper": "false", "read-only": "false"}, nil},
		{"connection overrides endpoint and provider", Settings{"color-depth": "24"}, map[string]string{"color-depth": "24"}, nil},
		{"mapping overrides connection", Settings{"enable-wallpaper": "true"}, map[string]string{"enable-wallpaper": "false"}, nil},
		{"new key from connection", Settings{"disable-copy": "true"}, map[string]string{"disable-copy": "true"}, nil},
		{"key not allowed", Settings{"username": "x"}, nil, ErrSettingNotAllowed},
		{"bad value", Settings{"quality": "99"}, nil, ErrSettingNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Merge(ep, tc.conn)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, maps.Collect(maps.All(got)))
				}
			}
		})
	}
	// Merge must not modify the config's maps.
	if ep.Settings["username"] != "ep" || c.provider("p").Settings["color-depth"] != "16" {
		t.Fatal("Merge changed the config")
	}
}

// TestSettingsCheck: the caller's SettingsCheck sees every endpoint's merged settings
// and its error is reported at the endpoint, after the merge.
func TestSettingsCheck(t *testing.T) {
	var seen []string
	check := func(protocol string, set Settings) error {
		seen = append(seen, protocol+" "+set["hostname"]+" "+set["ignore-cert"])
		if set["quality"] == "3" {
			return errors.New("setting quality: 3 is not for this endpoint")
		}
		return nil
	}
	if _, err := Parse("t.yaml", []byte(goodConfig), check); err != nil || len(seen) != 1 || seen[0] != "vnc 127.0.0.1 true" {
		t.Fatalf("good config: %v, check saw %q", err, seen)
	}
	_, err := Parse("t.yaml", []byte(goodConfig+"    settings: {quality: 3}\n"), check)
	if err == nil || !strings.Contains(err.Error(), "t.yaml:10: endpoints[0].settings: setting quality: 3 is not for this endpoint (after merging") {
		t.Fatalf("refused by the check: %v", err)
	}
}

// FuzzParseConfig: any input is refused with Errors or accepted; never a panic.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("../examples/racgate.yaml"); err == nil {
		f.Add(string(b))
	}
	f.Add(goodConfig)
	f.Add("endpoints: [{name: a, provider: p, protocol: vnc, host: '[::1]:5'}]\nproviders: [{name: p}]\n")
	f.Add("a: &x [1]\nb: *x\n")
	f.Add("endpoints:\n  - settings: {quality: 3, encodings: tight}\n")
	f.Add("allowed-origins: [https://a.example]\nmetrics: {listen: 127.0.0.1:9}\nlogin-throttle: {user-attempts: 3}\n")
	f.Add("{")
	f.Add("providers:\n  - name: p\n    sharing: {allow-control: false, default-expiry: 15m, max-expiry: 2h, announce: false}\n" +
		"    recording: {path: r, frame-interval: 50ms, key-frame-interval: 5s}\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse("f.yaml", []byte(text), nil)
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

// TestCheckSettingBounds: values a connect request could bring are bounded on their own,
// whatever the protocol.
func TestCheckSettingBounds(t *testing.T) {
	for _, bad := range [][2]string{{"terminal-frame-interval", "1001"}, {"render-min-frame-interval", "-1"},
		{"max-width", "63"}, {"max-height", "8193"}, {"quality", "10"}, {"compress-level", "10"}, {"port", "0"}} {
		if err := checkSetting(bad[0], bad[1]); err == nil {
			t.Errorf("%s: %s accepted", bad[0], bad[1])
		}
	}
	for _, good := range [][2]string{{"terminal-frame-interval", "1000"}, {"max-width", "64"}, {"max-height", "8192"}, {"quality", "lossless"}} {
		if err := checkSetting(good[0], good[1]); err != nil {
			t.Errorf("%s: %s refused: %v", good[0], good[1], err)
		}
	}
}

// TestSyntaxErrorLine: a YAML syntax error names the line with the mistake, not the line
// where the construct around it began.
func TestSyntaxErrorLine(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"listen: 127.0.0.1:8080\nusers:\n  - username: a\n   groups: [x]\nproviders: []\n", "t.yaml:4: did not find expected '-' indicator"},
		{"listen: 127.0.0.1:8080\nusers:\n  - username: a\n    password-hash: \"x\nproviders: []\n", "t.yaml:4: found unexpected end of stream"},
		{"providers:\n  - name: lab\n    settings: {a: 1,\n      b: 2}\n  - name: x\n  oops\n", "t.yaml:6: could not find expected ':'"},
		{"a: 1\n\tb: 2\n", "t.yaml:2: found a tab character that violates indentation"},
		{"listen: [127.0.0.1\nusers: []\n", "t.yaml:1: did not find expected ',' or ']'"},
	} {
		_, err := Parse("t.yaml", []byte(c.yaml), nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}

// TestSmallFiles: a secret or certificate path that names something big (a device, a
// log) is refused with a message, not read whole.
func TestSmallFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	os.WriteFile(big, bytes.Repeat([]byte("k"), maxSmallFile+1), 0o600)
	for _, text := range []string{
		"session: {secret-file: " + big + "}\n",
		"session: {secret-file: /dev/zero}\n",
		"tls: {cert-file: /dev/zero, key-file: " + big + "}\n",
		"store: {redis: {addrs: [a:1], password-file: /dev/zero}}\n",
		"store: {redis: {addrs: [a:1], tls: {ca-file: " + big + "}}}\n",
	} {
		_, err := Parse(filepath.Join(dir, "f.yaml"), []byte(text), nil)
		if err == nil || !strings.Contains(err.Error(), "more than 1048576 bytes") {
			t.Errorf("%q: %v", text, err)
		}
	}
}
