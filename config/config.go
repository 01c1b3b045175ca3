// Package config is racgate's configuration: the YAML schema (providers, endpoints,
// property mappings, users, store, the HTTP surface), decoding with a file:line and the
// key at fault for every error, validation, and the five-level settings merge. It knows
// nothing of HTTP or of the protocols; what each protocol accepts is checked through the
// SettingsCheck its caller passes. Of racgate it imports only policy, to compile the
// CEL expressions of policies and property mappings as the file loads.
package config

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/policy"
)

// Defaults for keys a config file leaves out.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultSessionLifetime = 12 * time.Hour
	maxConfigSize          = 4 << 20
	minSecretLen           = 32
)

// protocols an endpoint may name.
var protocols = []string{"vnc", "rdp", "ssh"}

// Protocols are the protocols an endpoint may name.
func Protocols() []string { return slices.Clone(protocols) }

var defaultPorts = map[string]string{"vnc": "5900", "rdp": "3389", "ssh": "22"}

// Config is one parsed, validated racgate.yaml. It is read-only once loaded; a reload
// makes a new one.
type Config struct {
	File      string   // path it was read from, for messages
	Listen    string   // host:port
	PublicURL *url.URL // nil when not set
	Session   SessionConfig
	Store     StoreConfig
	// Instance names this racgate in the registry and admin view ("" = host name).
	Instance string
	// AdminGroup is the group whose members may see and end every connection.
	AdminGroup string
	// AuditorGroup is the group whose members may play recordings (admins may too).
	AuditorGroup string
	// AdminToken (from admin-token-file) lets the CLI use the admin API; nil = no token.
	AdminToken []byte
	// RouteToLeastLoaded sends a connect page request to the instance (with a public-url)
	// that has the fewest connections.
	RouteToLeastLoaded bool
	// AllowedOrigins are origins (scheme://host[:port]) besides public-url's whose pages
	// may log in and open websockets (config_http.go).
	AllowedOrigins []string
	Metrics        MetricsConfig
	LoginThrottle  ThrottleConfig
	Auth           AuthConfig
	// AuditLog is the file audit events are appended to as JSON lines ("" = none),
	// resolved against the config file's folder.
	AuditLog string
	TLS      *TLSConfig // nil: plain HTTP (behind a proxy that terminates TLS)
	Log      LogConfig
	Shutdown ShutdownConfig

	Users            []User
	Providers        []*Provider
	Endpoints        []*Endpoint
	PropertyMappings []*PropertyMapping
	Policies         []*Policy // policies: (policies.go); PoliciesFor(ep) gives an endpoint's
}

// SessionConfig is the login cookie.
type SessionConfig struct {
	SecretFile string // resolved against the config file's folder
	Secret     []byte // file content; nil means a random key per start
	Lifetime   time.Duration
}

// Provider groups endpoints and holds the settings and limits they share.
type Provider struct {
	Name              string
	ConnectionTimeout time.Duration // absolute limit per connection; 0 = none
	IdleTimeout       time.Duration // no input for this long ends a connection; 0 = none
	Settings          Settings
	PropertyMappings  []string
	Policies          []string   // every endpoint of the provider is bound to them
	Recording         *Recording // nil: sessions are not recorded
	Sharing           *Sharing   // nil: DefaultSharing
	Files             *Files     // nil: DefaultFiles

	// MaximumConnectionsPerUser counts a user's live connections to one endpoint; -1
	// unlimited. Endpoints may override it.
	MaximumConnectionsPerUser int
}

// Endpoint is one remote machine users can open.
type Endpoint struct {
	Name               string
	Provider           string
	Protocol           string // vnc, rdp or ssh
	Host               string // as written: host or host:port
	Settings           Settings
	MaximumConnections int // -1 unlimited
	PropertyMappings   []string
	ConnectionSettings []string   // keys a connect request may set
	Groups             []string   // empty = every logged-in user
	Policies           []string   // policies a user must pass, besides the provider's
	Recording          *Recording // overrides the provider's (Config.RecordingFor)
	noRecording        bool       // recording: none

	// MaximumConnectionsPerUser overrides the provider's when set (see Config.UserLimit).
	MaximumConnectionsPerUser int
	perUserSet                bool

	hostname, port string // from Host, with the protocol's default port
}

// PropertyMapping is a named set of settings applied on top of the others: fixed
// Settings, or what Expression gives for the user and request (policies.go).
type PropertyMapping struct {
	Name       string
	Settings   Settings
	Expression *policy.Program
}

// Endpoint returns the endpoint with that name, or nil.
func (c *Config) Endpoint(name string) *Endpoint {
	for _, e := range c.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

func (c *Config) provider(name string) *Provider {
	for _, p := range c.Providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (c *Config) mapping(name string) *PropertyMapping {
	for _, m := range c.PropertyMappings {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// ConnectionTimeout is the absolute connection limit for ep (from its provider).
func (c *Config) ConnectionTimeout(ep *Endpoint) time.Duration {
	if p := c.provider(ep.Provider); p != nil {
		return p.ConnectionTimeout
	}
	return 0
}

// SettingsCheck says whether merged settings make sense for a protocol ("vnc", "rdp",
// "ssh"); Parse reports its error at the endpoint. The protocols' own option parsers
// live with their adapters, so the caller passes them in.
type SettingsCheck func(protocol string, set Settings) error

// User is a built-in user as the file gives it.
type User struct {
	Username     string
	PasswordHash string // bcrypt
	Groups       []string
}

// Load reads and validates a config file. Problems come back as Errors, each with
// file:line and the key at fault. check may be nil.
func Load(path string, check SettingsCheck) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxConfigSize+1)); err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if buf.Len() > maxConfigSize {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, maxConfigSize)
	}
	return Parse(path, buf.Bytes(), check)
}

// Parse parses config text; file names it in messages and anchors relative paths
// (session.secret-file). check may be nil.
func Parse(file string, data []byte, check SettingsCheck) (*Config, error) {
	d := &decoder{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErr(err)
		return nil, Errors{{File: file, Line: mistakeLine(data, line, msg), Msg: msg}}
	}
	c := &Config{File: file, Listen: DefaultListen, Store: StoreConfig{Kind: "memory"},
		Session: SessionConfig{Lifetime: DefaultSessionLifetime}, LoginThrottle: DefaultThrottle, Shutdown: DefaultShutdown, Log: LogConfig{Level: slog.LevelInfo, Format: "text"},
		Auth: AuthConfig{Builtin: true}}
	if len(doc.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Msg: "empty config file"}}
	}
	root := doc.Content[0]
	lines := &nodeLines{endpoint: map[*Endpoint]*epLines{}, providerNames: map[string]int{},
		endpointNames: map[string]int{}, mappingNames: map[string]int{}, policyNames: map[string]int{}}
	d.mapping(root, "", map[string]fieldFunc{
		"listen":     func(k string, v *yaml.Node) { d.listen(k, v, &c.Listen) },
		"public-url": func(k string, v *yaml.Node) { c.PublicURL = d.publicURL(k, v) },
		"session":    func(k string, v *yaml.Node) { d.session(k, v, file, &c.Session) },
		"store":      func(k string, v *yaml.Node) { d.store(k, v, file, &c.Store) },
		"users":      func(k string, v *yaml.Node) { d.users(k, v, c) },
		"providers":  func(k string, v *yaml.Node) { d.providers(k, v, c, lines) },
		"endpoints":  func(k string, v *yaml.Node) { d.endpoints(k, v, c, lines) },
		"property-mappings": func(k string, v *yaml.Node) {
			d.sequence(v, k, func(k string, v *yaml.Node) {
				m := &PropertyMapping{}
				d.mapping(v, k, map[string]fieldFunc{
					"name":       func(k string, v *yaml.Node) { d.name(k, v, &m.Name, lines.mappingNames, "property mapping") },
					"settings":   func(k string, v *yaml.Node) { m.Settings = d.settings(k, v) },
					"expression": func(k string, v *yaml.Node) { m.Expression = d.mappingExpression(k, v) },
				})
				d.required(v, k, "name", m.Name)
				if m.Settings != nil && m.Expression != nil {
					d.errorf(v, k, "settings and expression: give one or the other")
				}
				c.PropertyMappings = append(c.PropertyMappings, m)
			})
		},
		"policies":      func(k string, v *yaml.Node) { d.policies(k, v, c, lines.policyNames) },
		"instance":      func(k string, v *yaml.Node) { d.str(v, k, &c.Instance) },
		"admin-group":   func(k string, v *yaml.Node) { d.str(v, k, &c.AdminGroup) },
		"auditor-group": func(k string, v *yaml.Node) { d.str(v, k, &c.AuditorGroup) },
		"admin-token-file": func(k string, v *yaml.Node) {
			c.AdminToken = d.secretFile(k, v, file)
		},
		"route-to-least-loaded": func(k string, v *yaml.Node) { d.boolean(v, k, &c.RouteToLeastLoaded) },
		"allowed-origins":       func(k string, v *yaml.Node) { d.origins(k, v, &c.AllowedOrigins) },
		"metrics":               func(k string, v *yaml.Node) { d.metrics(k, v, file, &c.Metrics) },
		"login-throttle":        func(k string, v *yaml.Node) { d.throttle(k, v, &c.LoginThrottle) },
		"auth":                  func(k string, v *yaml.Node) { d.auth(k, v, file, &c.Auth) },
		"tls":                   func(k string, v *yaml.Node) { d.tlsFiles(k, v, file, &c.TLS) },
		"log":                   func(k string, v *yaml.Node) { d.logConfig(k, v, &c.Log) },
		"shutdown":              func(k string, v *yaml.Node) { d.shutdown(k, v, &c.Shutdown) },
		"audit-log": func(k string, v *yaml.Node) {
			if p, ok := d.scalar(v, k); ok {
				if !filepath.IsAbs(p) {
					p = filepath.Join(filepath.Dir(file), p)
				}
				c.AuditLog = p
			}
		},
	})
	if o := c.Auth.OIDC; o != nil && o.RedirectURL == "" {
		if c.PublicURL == nil {
			d.errs = append(d.errs, &Error{File: file, Line: 1, Key: "auth.oidc.redirect-url", Msg: "set it, or public-url, so that the provider can send browsers back"})
		} else {
			o.RedirectURL = c.PublicURL.JoinPath("/auth/oidc/callback").String()
		}
	}
	d.references(c, lines, check)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return c, nil
}

// nodeLines remembers where names and references were written, for cross-checks.
type nodeLines struct {
	providerNames, endpointNames, mappingNames, policyNames map[string]int
	providerRefs                                            []ref // provider property-mappings
	policyRefs                                              []ref // provider and endpoint policies
	endpoint                                                map[*Endpoint]*epLines
}

type ref struct {
	key  string
	line int
	name string
}

type epLines struct {
	key      string
	line     int
	provider ref
	mappings []ref
}

func (d *decoder) listen(k string, v *yaml.Node, dst *string) {
	s, ok := d.scalar(v, k)
	if !ok {
		return
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		d.errorf(v, k, "want host:port, got %q", s)
		return
	}
	*dst = s
}

func (d *decoder) publicURL(k string, v *yaml.Node) *url.URL {
	s, ok := d.scalar(v, k)
	if !ok {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(v, k, "want an absolute http:// or https:// URL, got %q", s)
		return nil
	}
	return u
}

func (d *decoder) session(k string, v *yaml.Node, file string, s *SessionConfig) {
	d.mapping(v, k, map[string]fieldFunc{
		"secret-file": func(k string, v *yaml.Node) {
			if p, ok := d.scalar(v, k); ok {
				s.SecretFile = relTo(file, p)
				s.Secret = d.secretFile(k, v, file)
			}
		},
		"lifetime": func(k string, v *yaml.Node) {
			d.duration(v, k, &s.Lifetime)
			if s.Lifetime == 0 {
				d.errorf(v, k, "must be longer than 0")
			}
		},
	})
}

func (d *decoder) users(k string, v *yaml.Node, c *Config) {
	seen := map[string]int{}
	d.sequence(v, k, func(k string, v *yaml.Node) {
		var u User
		d.mapping(v, k, map[string]fieldFunc{
			"username": func(k string, v *yaml.Node) { d.name(k, v, &u.Username, seen, "user") },
			"password-hash": func(k string, v *yaml.Node) {
				s, ok := d.scalar(v, k)
				if !ok {
					return
				}
				if _, err := bcrypt.Cost([]byte(s)); err != nil {
					d.errorf(v, k, "not a bcrypt hash (make one with `racgate hash-password`)")
					return
				}
				u.PasswordHash = s
			},
			"groups": func(k string, v *yaml.Node) { d.strList(v, k, &u.Groups) },
		})
		d.required(v, k, "username", u.Username)
		d.required(v, k, "password-hash", u.PasswordHash)
		c.Users = append(c.Users, u)
	})
}

func (d *decoder) providers(k string, v *yaml.Node, c *Config, lines *nodeLines) {
	d.sequence(v, k, func(k string, v *yaml.Node) {
		p := &Provider{MaximumConnectionsPerUser: -1}
		d.mapping(v, k, map[string]fieldFunc{
			"name":               func(k string, v *yaml.Node) { d.name(k, v, &p.Name, lines.providerNames, "provider") },
			"connection-timeout": func(k string, v *yaml.Node) { d.duration(v, k, &p.ConnectionTimeout) },
			"idle-timeout":       func(k string, v *yaml.Node) { d.duration(v, k, &p.IdleTimeout) },
			"settings":           func(k string, v *yaml.Node) { p.Settings = d.settings(k, v) },
			"property-mappings": func(k string, v *yaml.Node) {
				lines.providerRefs = append(lines.providerRefs, d.refs(k, v, &p.PropertyMappings)...)
			},
			"policies": func(k string, v *yaml.Node) {
				lines.policyRefs = append(lines.policyRefs, d.refs(k, v, &p.Policies)...)
			},
			"maximum-connections-per-user": func(k string, v *yaml.Node) {
				d.perUserLimit(k, v, &p.MaximumConnectionsPerUser)
			},
			"recording": func(k string, v *yaml.Node) { p.Recording, _ = d.recording(k, v, c.File, false) },
			"sharing":   func(k string, v *yaml.Node) { p.Sharing = d.sharing(k, v) },
			"files":     func(k string, v *yaml.Node) { p.Files = d.files(k, v) },
		})
		d.required(v, k, "name", p.Name)
		c.Providers = append(c.Providers, p)
	})
}

func (d *decoder) endpoints(k string, v *yaml.Node, c *Config, lines *nodeLines) {
	d.sequence(v, k, func(k string, v *yaml.Node) {
		e := &Endpoint{MaximumConnections: -1}
		el := &epLines{key: k, line: v.Line}
		var hostNode *yaml.Node
		d.mapping(v, k, map[string]fieldFunc{
			"name": func(k string, v *yaml.Node) {
				d.name(k, v, &e.Name, lines.endpointNames, "endpoint")
				if strings.ContainsAny(e.Name, "/?#") {
					d.errorf(v, k, "must not contain / ? or #")
				}
			},
			"provider": func(k string, v *yaml.Node) {
				d.str(v, k, &e.Provider)
				el.provider = ref{k, v.Line, e.Provider}
			},
			"protocol": func(k string, v *yaml.Node) {
				s, ok := d.scalar(v, k)
				if !ok {
					return
				}
				if !slices.Contains(protocols, s) {
					d.errorf(v, k, "unknown protocol %q (want vnc, rdp or ssh)", s)
					return
				}
				e.Protocol = s
			},
			"host": func(k string, v *yaml.Node) { d.str(v, k, &e.Host); hostNode = v },
			"settings": func(k string, v *yaml.Node) {
				e.Settings = d.settings(k, v)
				for i := 0; i+1 < len(v.Content); i += 2 {
					if n := v.Content[i].Value; n == "hostname" || n == "port" {
						d.errorf(v.Content[i], join(k, n), "set the endpoint's host (host:port) instead")
					}
				}
			},
			"maximum-connections": func(k string, v *yaml.Node) {
				d.integer(v, k, &e.MaximumConnections)
				if e.MaximumConnections < -1 {
					d.errorf(v, k, "want -1 (unlimited) or a number of connections, got %d", e.MaximumConnections)
				}
			},
			"maximum-connections-per-user": func(k string, v *yaml.Node) {
				d.perUserLimit(k, v, &e.MaximumConnectionsPerUser)
				e.perUserSet = true
			},
			"property-mappings": func(k string, v *yaml.Node) { el.mappings = d.refs(k, v, &e.PropertyMappings) },
			"connection-settings": func(k string, v *yaml.Node) {
				d.sequence(v, k, func(k string, v *yaml.Node) {
					s, ok := d.scalar(v, k)
					if !ok {
						return
					}
					if _, known := knownSettings[s]; !known {
						d.errorf(v, k, "unknown setting %q", s)
						return
					}
					if s == "hostname" || s == "port" || s == "password" || s == "username" {
						d.errorf(v, k, "%s cannot be set by the connect request", s)
						return
					}
					e.ConnectionSettings = append(e.ConnectionSettings, s)
				})
			},
			"groups": func(k string, v *yaml.Node) { d.strList(v, k, &e.Groups) },
			"policies": func(k string, v *yaml.Node) {
				lines.policyRefs = append(lines.policyRefs, d.refs(k, v, &e.Policies)...)
			},
			"recording": func(k string, v *yaml.Node) { e.Recording, e.noRecording = d.recording(k, v, c.File, true) },
		})
		d.required(v, k, "name", e.Name)
		d.required(v, k, "provider", e.Provider)
		d.required(v, k, "protocol", e.Protocol)
		d.required(v, k, "host", e.Host)
		if hostNode != nil && e.Host != "" {
			h, p, err := splitHost(e.Host, defaultPorts[e.Protocol])
			if err != nil {
				d.errorf(hostNode, k+".host", "%v", err)
			}
			e.hostname, e.port = h, p
		}
		lines.endpoint[e] = el
		c.Endpoints = append(c.Endpoints, e)
	})
}

// splitHost reads "host" or "host:port" (IPv6 in brackets).
func splitHost(s, defPort string) (host, port string, err error) {
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil && !strings.HasPrefix(s, "[") && strings.Count(s, ":") > 1 {
		return s, defPort, nil // bare IPv6 address
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, port, err = strings.Trim(s, "[]"), defPort, nil
		} else {
			return "", "", fmt.Errorf("want host or host:port, got %q", s)
		}
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return "", "", fmt.Errorf("want host or host:port, got %q", s)
	}
	if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("port in %q: want 1-65535", s)
	}
	return host, port, nil
}

func (d *decoder) name(k string, v *yaml.Node, dst *string, seen map[string]int, what string) {
	s, ok := d.scalar(v, k)
	if !ok {
		return
	}
	if s == "" {
		d.errorf(v, k, "empty %s name", what)
		return
	}
	if first, dup := seen[s]; dup {
		d.errorf(v, k, "duplicate %s name %q (first at line %d)", what, s, first)
		return
	}
	seen[s] = v.Line
	*dst = s
}

func (d *decoder) required(v *yaml.Node, k, field, val string) {
	if v.Kind == yaml.MappingNode && val == "" {
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i].Value == field {
				return // present but invalid: already reported
			}
		}
		d.errorf(v, join(k, field), "missing")
	}
}

func (d *decoder) refs(k string, v *yaml.Node, dst *[]string) []ref {
	var out []ref
	d.sequence(v, k, func(k string, v *yaml.Node) {
		if s, ok := d.scalar(v, k); ok {
			*dst = append(*dst, s)
			out = append(out, ref{k, v.Line, s})
		}
	})
	return out
}

// settings reads a flat mapping of scalar values, normalised to strings.
func (d *decoder) settings(k string, v *yaml.Node) Settings {
	s := Settings{}
	fields := map[string]fieldFunc{}
	for i := 0; i+1 < len(v.Content) && v.Kind == yaml.MappingNode; i += 2 {
		name := v.Content[i].Value
		fields[name] = func(k string, v *yaml.Node) {
			val, ok := d.scalar(v, k)
			if !ok {
				return
			}
			if err := checkSetting(name, val); err != nil {
				d.errorf(v, k, "%v", err)
				return
			}
			s[name] = val
		}
	}
	d.mapping(v, k, fields)
	return s
}

func (d *decoder) references(c *Config, lines *nodeLines, check SettingsCheck) {
	for _, r := range lines.policyRefs {
		if c.policy(r.name) == nil {
			d.errs = append(d.errs, &Error{File: d.file, Line: r.line, Key: r.key,
				Msg: fmt.Sprintf("unknown policy %q", r.name)})
		}
	}
	for _, r := range lines.providerRefs {
		if c.mapping(r.name) == nil {
			d.errs = append(d.errs, &Error{File: d.file, Line: r.line, Key: r.key,
				Msg: fmt.Sprintf("unknown property mapping %q", r.name)})
		}
	}
	for _, e := range c.Endpoints {
		el := lines.endpoint[e]
		if e.Provider != "" && c.provider(e.Provider) == nil {
			d.errs = append(d.errs, &Error{File: d.file, Line: el.provider.line, Key: el.provider.key,
				Msg: fmt.Sprintf("unknown provider %q", e.Provider)})
		}
		bad := false
		for _, r := range el.mappings {
			if c.mapping(r.name) == nil {
				bad = true
				d.errs = append(d.errs, &Error{File: d.file, Line: r.line, Key: r.key,
					Msg: fmt.Sprintf("unknown property mapping %q", r.name)})
			}
		}
		// The settings as every connection gets them must make sense for the protocol.
		if !bad && c.provider(e.Provider) != nil && e.hostname != "" {
			set, err := c.Merge(e, nil)
			if err == nil && check != nil {
				err = check(e.Protocol, set)
			}
			if err != nil {
				d.errs = append(d.errs, &Error{File: d.file, Line: el.line, Key: el.key + ".settings",
					Msg: err.Error() + " (after merging provider, endpoint and property mapping settings)"})
			}
		}
	}
	sortErrs(d.errs)
}

func sortErrs(es Errors) {
	// stable insertion sort by line: lists are short
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Line < es[j-1].Line; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// mistakeLine is the line of a syntax error's mistake. The yaml parser names the line
// where the construct it was parsing began ("did not find expected '-' indicator" at a
// list's parent key, for a list item indented wrongly further down); the mistake is on
// the first line from there whose text, cut after it, fails to parse with the same
// message. reported is the parser's line, kept when no such line is found.
func mistakeLine(data []byte, reported int, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if reported < 1 || reported > len(lines) || len(lines) > 10_000 {
		return reported
	}
	var doc yaml.Node
	for k := reported; k <= len(lines); k++ {
		prefix := bytes.Join(lines[:k], nil)
		if err := yaml.Unmarshal(prefix, &doc); err != nil {
			if _, m := yamlErr(err); m == msg {
				return k
			}
		}
	}
	return reported
}

// yamlErr splits a yaml syntax error ("yaml: line 3: ...") into line and message.
func yamlErr(err error) (int, string) {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	n, aerr := strconv.Atoi(num)
	if !ok || aerr != nil {
		return 0, s
	}
	return n, msg
}
