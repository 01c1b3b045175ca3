package gateway

import (
	"crypto/subtle"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/racgate/racgate/config"
)

// metrics are the server's counters, written out in the Prometheus text format by hand
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
type metrics struct {
	sessionsActive atomic.Int64
	bytesSent      atomic.Uint64 // websocket payload bytes to browsers
	audioBytes     atomic.Uint64 // of which sound (AUDIO, AUDIO_FORMAT)

	mu            sync.Mutex
	sessionsTotal map[string]uint64 // by protocol
	errorsTotal   map[string]uint64 // by kind
	// from viewers that have ended; live ones are added at scrape time
	framesDone  uint64
	encodeDone  time.Duration
	droppedDone uint64 // sound packets dropped for browsers that were behind
}

func newMetrics() *metrics {
	m := &metrics{sessionsTotal: map[string]uint64{}, errorsTotal: map[string]uint64{}}
	for _, p := range config.Protocols() {
		m.sessionsTotal[p] = 0
	}
	return m
}

func (m *metrics) inc(which map[string]uint64, label string) {
	m.mu.Lock()
	which[label]++
	m.mu.Unlock()
}

func (m *metrics) sessionStarted(protocol string) {
	m.sessionsActive.Add(1)
	m.inc(m.sessionsTotal, protocol)
}

// error counts a session ended by an error; kind "" (a normal end) is not counted.
func (m *metrics) error(kind string) {
	if kind != "" {
		m.inc(m.errorsTotal, kind)
	}
}

func (m *metrics) viewerDone(frames uint64, encode time.Duration, dropped uint64) {
	m.mu.Lock()
	m.framesDone += frames
	m.encodeDone += encode
	m.droppedDone += dropped
	m.mu.Unlock()
}

// handleMetrics is /metrics on the main listener: for a Bearer token (metrics.token-file
// or the admin token) or a logged-in member of admin-group. Endpoint names, instance IDs
// and counts are nobody else's business; metrics.listen serves scrapers without asking.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	cfg := s.state.Load().cfg
	if tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		if !tokenIs(tok, cfg.Metrics.Token) && !tokenIs(tok, cfg.AdminToken) {
			s.log.Info("metrics: bad token", "remote", r.RemoteAddr)
			http.Error(w, "bad metrics token", http.StatusUnauthorized)
			return
		}
	} else if lg, err := s.signin.Current(r); err != nil || cfg.AdminGroup == "" || !lg.User.InGroup(cfg.AdminGroup) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="racgate metrics"`)
		http.Error(w, "metrics need a Bearer token (metrics.token-file) or an administrator's login; or use metrics.listen", http.StatusUnauthorized)
		return
	}
	s.writeMetrics(w, r)
}

// tokenIs compares a presented token with a configured one in constant time; no token
// configured matches nothing.
func tokenIs(got string, want []byte) bool {
	return len(want) > 0 && subtle.ConstantTimeCompare([]byte(got), want) == 1
}

func (s *Server) writeMetrics(w http.ResponseWriter, _ *http.Request) {
	m := s.metrics
	// Live viewers plus ended ones, under s.mu: a session moves from one to the other
	// under it too (unregister), so it is counted exactly once.
	var frames, dropped uint64
	var encode time.Duration
	listening, watchers := 0, 0
	s.mu.Lock()
	for sess := range s.sessions {
		if sess.host != nil {
			watchers++
		}
		f, e := sess.viewerStats()
		frames += f
		encode += e
		if l := sess.listener.Load(); l != nil {
			listening++
			dropped += l.Dropped()
		}
	}
	m.mu.Lock()
	frames += m.framesDone
	encode += m.encodeDone
	dropped += m.droppedDone
	sessions := maps.Clone(m.sessionsTotal)
	errs := maps.Clone(m.errorsTotal)
	m.mu.Unlock()
	s.mu.Unlock()
	logins, throttled := s.signin.Counts()

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	gauge(w, "racgate_sessions_active", "Websocket sessions open now.", float64(m.sessionsActive.Load()))
	conns, members := s.shares.count()
	gauge(w, "racgate_shared_connections", "VNC connections that sessions share (share-connection).", float64(conns))
	gauge(w, "racgate_shared_sessions", "Sessions on shared VNC connections.", float64(members))
	gauge(w, "racgate_watchers", "People watching someone else's session (share links, administrators); not in racgate_sessions_active.", float64(watchers))
	labelled(w, "racgate_sessions_total", "Sessions started, by protocol.", "protocol", sessions)
	counter(w, "racgate_bytes_sent_total", "Websocket payload bytes sent to browsers.", float64(m.bytesSent.Load()))
	counter(w, "racgate_frames_sent_total", "Frames sent to browsers.", float64(frames))
	counter(w, "racgate_encode_seconds_total", "Time spent encoding frames.", encode.Seconds())
	gauge(w, "racgate_audio_sessions", "Sessions whose browser is sent the remote's sound.", float64(listening))
	counter(w, "racgate_audio_bytes_sent_total", "Websocket payload bytes of sound sent to browsers (part of racgate_bytes_sent_total).", float64(m.audioBytes.Load()))
	counter(w, "racgate_audio_packets_dropped_total", "Sound packets dropped for browsers too far behind to play them in time.", float64(dropped))
	labelled(w, "racgate_errors_total", "Sessions ended by an error, by kind.", "kind", errs)
	labelled(w, "racgate_logins_total", "Login attempts, by result.", "result", logins)
	labelled(w, "racgate_login_throttled_total", "Login attempts refused by the login throttle, by the key that held them.", "by", throttled)
	s.writeControlMetrics(w)
	// The process's own figures, for the benchmark harness and for leaks in production.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge(w, "go_goroutines", "Goroutines that currently exist.", float64(runtime.NumGoroutine()))
	gauge(w, "go_memstats_heap_inuse_bytes", "Bytes in in-use heap spans.", float64(ms.HeapInuse))
}

func gauge(w io.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %v\n", name, help, name, name, v)
}

func counter(w io.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %v\n", name, help, name, name, v)
}

func labelled(w io.Writer, name, help, label string, vals map[string]uint64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		// label values are our own fixed words, no escaping needed
		fmt.Fprintf(w, "%s{%s=%q} %d\n", name, label, k, vals[k])
	}
}
