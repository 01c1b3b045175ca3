// Package deploy holds racgate's deployment material (a systemd unit, a Containerfile,
// Kubernetes manifests, Prometheus alert rules); these tests check what can be checked
// without a service manager, a container engine or a cluster.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/racgate/racgate/gateway"
	"github.com/racgate/racgate/internal/peers"
)

// TestSystemdUnit: systemd-analyze verifies the unit (with ExecStart pointing at a real
// binary, as verify insists) and rates its exposure low.
func TestSystemdUnit(t *testing.T) {
	peers.Require(t, "systemd-analyze")
	unit, err := os.ReadFile("systemd/racgate.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "racgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/racgate").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "racgate.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/racgate"), []byte(bin)), 0o644)
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for racgate.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level:\n%s", out)
	}
	// 0 is best, 10 worst; systemd calls up to 2 "OK". A unit that drops DynamicUser,
	// CapabilityBoundingSet= or the Protect* lines rates far worse.
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2 {
		t.Fatalf("exposure %v, want at most 2:\n%s", level, out)
	}
	for _, want := range []string{"DynamicUser=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "ProtectSystem=strict"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %q", want)
		}
	}
}

// manifests are the Kubernetes documents by kind and name.
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	f, err := os.Open("kubernetes/racgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs := map[string]map[string]any{}
	dec := yaml.NewDecoder(f)
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubernetes/racgate.yaml: %v", err)
		}
		name := get[string](t, d, "metadata", "name")
		docs[get[string](t, d, "kind")+"/"+name] = d
	}
	return docs
}

// get walks a decoded YAML document by keys and list indices.
func get[T any](t *testing.T, v any, path ...any) T {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	x, ok := v.(T)
	if !ok {
		t.Fatalf("%v: %T, not %T", path, v, x)
	}
	return x
}

// TestKubernetesManifests: what no linter here checks for us. The ConfigMap's config is
// one racgate accepts; three replicas whose probes are /healthz and /readyz on the
// served port; a grace period longer than the config's delay and drain; the Services
// select the pods; the config's Redis is the manifests' Redis; nothing runs as root.
func TestKubernetesManifests(t *testing.T) {
	docs := manifests(t)
	cm, dep, svc := docs["ConfigMap/racgate"], docs["Deployment/racgate"], docs["Service/racgate"]
	if cm == nil || dep == nil || svc == nil || docs["Secret/racgate"] == nil || docs["Service/racgate-redis"] == nil {
		t.Fatalf("documents %v", keys(docs))
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
	for _, k := range []string{"session.key", "admin.token"} {
		os.WriteFile(filepath.Join(dir, "secrets", k), []byte(get[string](t, docs["Secret/racgate"], "stringData", k)), 0o600)
	}
	text := strings.ReplaceAll(get[string](t, cm, "data", "racgate.yaml"), "/etc/racgate/", dir+"/")
	cfg, err := gateway.ParseConfig(filepath.Join(dir, "racgate.yaml"), []byte(text))
	if err != nil {
		t.Fatalf("the ConfigMap's racgate.yaml: %v", err)
	}

	spec := get[map[string]any](t, dep, "spec", "template", "spec")
	if n := get[int](t, dep, "spec", "replicas"); n != 3 {
		t.Errorf("replicas %d", n)
	}
	grace := time.Duration(get[int](t, spec, "terminationGracePeriodSeconds")) * time.Second
	if grace <= cfg.Shutdown.Delay+cfg.Shutdown.DrainTimeout {
		t.Errorf("terminationGracePeriodSeconds %v, not above shutdown delay %v + drain %v", grace, cfg.Shutdown.Delay, cfg.Shutdown.DrainTimeout)
	}
	c := get[map[string]any](t, spec, "containers", 0)
	port := get[int](t, c, "ports", 0, "containerPort")
	if _, p, _ := strings.Cut(cfg.Listen, ":"); p != strconv.Itoa(port) || get[string](t, c, "ports", 0, "name") != "http" {
		t.Errorf("container port %d, racgate listens on %s", port, cfg.Listen)
	}
	if _, p, _ := strings.Cut(cfg.Metrics.Listen, ":"); p != strconv.Itoa(get[int](t, c, "ports", 1, "containerPort")) {
		t.Errorf("metrics port, racgate's is %s", cfg.Metrics.Listen)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := get[string](t, c, probe, "httpGet", "path"); got != path || get[string](t, c, probe, "httpGet", "port") != "http" {
			t.Errorf("%s: %s", probe, got)
		}
	}
	if !get[bool](t, spec, "securityContext", "runAsNonRoot") || get[bool](t, c, "securityContext", "allowPrivilegeEscalation") ||
		!get[bool](t, c, "securityContext", "readOnlyRootFilesystem") {
		t.Errorf("security context %v / %v", spec["securityContext"], c["securityContext"])
	}
	labels := get[map[string]any](t, dep, "spec", "template", "metadata", "labels")
	for k, v := range get[map[string]any](t, svc, "spec", "selector") {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v; the pods have %v", k, v, labels)
		}
	}
	if cfg.Store.Redis == nil || len(cfg.Store.Redis.Addrs) != 1 {
		t.Fatalf("store %+v", cfg.Store)
	}
	host, p, _ := strings.Cut(cfg.Store.Redis.Addrs[0], ":")
	redis := docs["Service/"+host]
	if redis == nil || strconv.Itoa(get[int](t, redis, "spec", "ports", 0, "port")) != p {
		t.Errorf("the config's Redis %s is not a Service here", cfg.Store.Redis.Addrs[0])
	}
}

func keys(m map[string]map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestAlertRules: every rule is complete, and every racgate_, go_ and process_ series an
// expression names is one racgate's /metrics has.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("prometheus/racgate-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &rules); err != nil || len(rules.Groups) == 0 {
		t.Fatalf("rules: %v", err)
	}
	// What a racgate exports, families by name.
	// A Redis store that is not there: its heartbeat's failures make the store's series.
	cfg, err := gateway.ParseConfig("t.yaml", []byte("listen: 127.0.0.1:0\nstore: {redis: {addrs: [127.0.0.1:1], lease-ttl: 1s}}\n"+
		"providers: [{name: p}]\nendpoints: [{name: e, provider: p, protocol: vnc, host: 127.0.0.1:1}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`\b(?:racgate|go|process)_[a-z_]+`)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.For == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v is incomplete", r)
			}
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q", r.Alert, r.For)
			}
			for _, m := range name.FindAllString(r.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if families[m] == nil && families[base] == nil {
					t.Errorf("%s: racgate has no %s", r.Alert, m)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("%d rules", n)
	}
}
