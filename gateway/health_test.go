package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/racgate/racgate/internal/peers"
)

// readyz is /readyz's status and body.
func readyz(t *testing.T, ts *testServer) (int, string) {
	t.Helper()
	resp, body := get(t, ts.client(), ts.hs.URL+"/readyz")
	return resp.StatusCode, body
}

// readyMetric is racgate_ready from /metrics.
func readyMetric(t *testing.T, ts *testServer) float64 {
	t.Helper()
	mf := parseMetrics(t, ts)["racgate_ready"]
	if mf == nil || len(mf.Metric) != 1 {
		t.Fatalf("no racgate_ready")
	}
	return mf.Metric[0].GetGauge().GetValue()
}

// parseMetrics parses /metrics as Prometheus does.
func parseMetrics(t *testing.T, ts *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	_, body := ts.scrape(t)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return mfs
}

// TestReadyzDrain: an instance is ready until Drain, then /readyz answers 503 saying
// why, while /healthz stays ok and its sessions go on.
func TestReadyzDrain(t *testing.T) {
	ts := newTestServer(t, testConfig)
	if code, body := readyz(t, ts); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("readyz: %d %q", code, body)
	}
	if v := readyMetric(t, ts); v != 1 {
		t.Fatalf("racgate_ready %v", v)
	}
	ts.Drain()
	if code, body := readyz(t, ts); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Fatalf("readyz while draining: %d %q", code, body)
	}
	if resp, body := get(t, ts.client(), ts.hs.URL+"/healthz"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("healthz while draining: %s %q", resp.Status, body)
	}
	if v := readyMetric(t, ts); v != 0 {
		t.Fatalf("racgate_ready %v while draining", v)
	}
}

// TestReadyzStore: with a real redis-server, /readyz fails once a heartbeat finds Redis
// gone (fail-open false), and passes again once one finds it back, over several lease
// periods; with fail-open it never fails for Redis.
func TestReadyzStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	peers.Require(t, "redis-server")
	for _, failOpen := range []bool{false, true} {
		r := peers.StartRedis(t)
		y := strings.Replace(testConfig, "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nstore:\n  redis:\n    addrs: ["+r.Addr+"]\n    lease-ttl: 1s\n", 1)
		if failOpen {
			y = strings.Replace(y, "    lease-ttl: 1s\n", "    lease-ttl: 1s\n    fail-open: true\n", 1)
		}
		ts := newTestServer(t, y)
		ready := func(want bool, what string) {
			t.Helper()
			// A heartbeat every third of the lease: within a second either way.
			deadline := time.Now().Add(5 * time.Second)
			for {
				code, body := readyz(t, ts)
				if (code == http.StatusOK) == want {
					if !want && !strings.Contains(body, "connection store") {
						t.Fatalf("fail-open %v, %s: readyz %q", failOpen, what, body)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("fail-open %v, %s: readyz %d %q", failOpen, what, code, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		for round := range 3 {
			ready(true, "Redis up")
			r.Stop()
			ready(failOpen, "Redis stopped")
			if failOpen {
				// Stays ready through several heartbeats.
				time.Sleep(1500 * time.Millisecond)
				ready(true, "Redis still stopped")
			}
			r.Start()
			_ = round
		}
		ready(true, "Redis back")
	}
}
