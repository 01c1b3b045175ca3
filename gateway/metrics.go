package gateway

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/render/wire"
)

// metrics are the server's Prometheus metrics, in a registry of its own (two servers in
// one process, as in the tests, keep apart). Events are counted as they happen;
// what is a state (sessions open, per-endpoint connections, viewers' totals) is read at
// scrape time by stateCollector. Label values are bounded: protocols, error kinds,
// reasons and store operations are fixed words, endpoints only the configured ones.
type metrics struct {
	reg *prometheus.Registry

	sessionsActive atomic.Int64
	bytesSent      atomic.Uint64 // websocket payload bytes to browsers
	audioBytes     atomic.Uint64 // of which sound (AUDIO, AUDIO_FORMAT)

	sessionsTotal *prometheus.CounterVec   // by protocol
	errorsTotal   *prometheus.CounterVec   // by kind
	refusals      *prometheus.CounterVec   // by reason
	storeSeconds  *prometheus.HistogramVec // by operation
	storeErrors   *prometheus.CounterVec   // by operation
	connect       *prometheus.HistogramVec // by protocol
	duration      *prometheus.HistogramVec // by protocol
	frameEncode   prometheus.Histogram
	inputToFrame  prometheus.Histogram

	mu sync.Mutex
	// from viewers that have ended; live ones are added at scrape time
	framesDone  uint64
	encodeDone  time.Duration
	droppedDone uint64 // sound packets dropped for browsers that were behind
}

// Histogram buckets, in seconds.
var (
	// storeBuckets: a Redis round trip on a LAN is under a millisecond; seconds mean trouble.
	storeBuckets = []float64{0.001, 0.005, 0.025, 0.1, 0.5, 2.5}
	// connectBuckets: from the websocket's upgrade to the remote's first picture or
	// terminal (RDP with NLA takes a second or more).
	connectBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// durationBuckets: sessions last from seconds to a working day.
	durationBuckets = []float64{10, 60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600}
	// frameBuckets: encoding a frame, and a key to the next frame; a 60 Hz frame is 16.7 ms.
	frameBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1}
)

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.sessionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "racgate_sessions_total", Help: "Sessions started, by protocol."}, []string{"protocol"})
	m.errorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "racgate_errors_total", Help: "Sessions ended by an error, by kind."}, []string{"kind"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "racgate_connections_refused_total", Help: "Connections refused, by reason."}, []string{"reason"})
	m.storeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "racgate_store_seconds", Help: "Connection store operation latency.", Buckets: storeBuckets}, []string{"op"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "racgate_store_errors_total", Help: "Failed connection store operations."}, []string{"op"})
	m.connect = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "racgate_connect_seconds", Help: "Time from a session's websocket to the remote's first screen or terminal, by protocol.",
		Buckets: connectBuckets}, []string{"protocol"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "racgate_session_duration_seconds", Help: "How long sessions lasted, by protocol.",
		Buckets: durationBuckets}, []string{"protocol"})
	m.frameEncode = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "racgate_frame_encode_seconds", Help: "Time spent encoding each frame sent to a browser.", Buckets: frameBuckets})
	m.inputToFrame = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "racgate_input_to_frame_seconds", Help: "From a key press the gateway received to the next frame it sent that browser, whatever drew it (a desktop's frame, a terminal's output; at most 5 s).",
		Buckets: frameBuckets})
	// Every series a rule may ask for exists from the start, at 0: rate() over a series
	// that appears with its first event misses that event.
	for _, p := range config.Protocols() {
		m.sessionsTotal.WithLabelValues(p)
		m.connect.WithLabelValues(p)
		m.duration.WithLabelValues(p)
	}
	for _, c := range []wire.CloseCode{closeUnreachable, closeAuthFailed, closeProtocolError, closeLimit,
		closeTimeout, closeForbidden, closeInternal, closeClientError} {
		m.errorsTotal.WithLabelValues(errKind(c))
	}
	for _, k := range []string{"endpoint_limit", "user_limit", "store_unavailable"} {
		m.refusals.WithLabelValues(k)
	}
	m.reg.MustRegister(m.sessionsTotal, m.errorsTotal, m.refusals, m.storeSeconds, m.storeErrors,
		m.connect, m.duration, m.frameEncode, m.inputToFrame,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) sessionStarted(protocol string) {
	m.sessionsActive.Add(1)
	m.sessionsTotal.WithLabelValues(protocol).Inc()
}

// error counts a session ended by an error; kind "" (a normal end) is not counted.
func (m *metrics) error(kind string) {
	if kind != "" {
		m.errorsTotal.WithLabelValues(kind).Inc()
	}
}

func (m *metrics) refused(reason string) { m.refusals.WithLabelValues(reason).Inc() }

// storeOp is the store's Observe hook.
func (m *metrics) storeOp(op string, d time.Duration, err error) {
	m.storeSeconds.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	} else {
		m.storeErrors.WithLabelValues(op) // the series exists at 0
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
			s.log.InfoContext(r.Context(), "metrics: bad token", "remote", r.RemoteAddr)
			http.Error(w, "bad metrics token", http.StatusUnauthorized)
			return
		}
	} else if lg, err := s.signin.Current(r); err != nil || cfg.AdminGroup == "" || !lg.User.InGroup(cfg.AdminGroup) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="racgate metrics"`)
		http.Error(w, "metrics need a Bearer token (metrics.token-file) or an administrator's login; or use metrics.listen", http.StatusUnauthorized)
		return
	}
	s.metricsHandler.ServeHTTP(w, r)
}

// tokenIs compares a presented token with a configured one in constant time; no token
// configured matches nothing.
func tokenIs(got string, want []byte) bool {
	return len(want) > 0 && subtle.ConstantTimeCompare([]byte(got), want) == 1
}

// newMetricsHandler is the exposition of s's registry, with the state read at scrape time.
func (s *Server) newMetricsHandler() http.Handler {
	s.metrics.reg.MustRegister(stateCollector{s})
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// stateCollector reads what is a state rather than an event at scrape time. It is
// unchecked (Describe sends nothing): its per-endpoint series follow the config.
type stateCollector struct{ s *Server }

var (
	descSessionsActive = prometheus.NewDesc("racgate_sessions_active", "Websocket sessions open now.", nil, nil)
	descSharedConns    = prometheus.NewDesc("racgate_shared_connections", "VNC connections that sessions share (share-connection).", nil, nil)
	descSharedSessions = prometheus.NewDesc("racgate_shared_sessions", "Sessions on shared VNC connections.", nil, nil)
	descWatchers       = prometheus.NewDesc("racgate_watchers", "People watching someone else's session (share links, administrators); not in racgate_sessions_active.", nil, nil)
	descBytesSent      = prometheus.NewDesc("racgate_bytes_sent_total", "Websocket payload bytes sent to browsers.", nil, nil)
	descFramesSent     = prometheus.NewDesc("racgate_frames_sent_total", "Frames sent to browsers.", nil, nil)
	descEncodeSeconds  = prometheus.NewDesc("racgate_encode_seconds_total", "Time spent encoding frames.", nil, nil)
	descAudioSessions  = prometheus.NewDesc("racgate_audio_sessions", "Sessions whose browser is sent the remote's sound.", nil, nil)
	descAudioBytes     = prometheus.NewDesc("racgate_audio_bytes_sent_total", "Websocket payload bytes of sound sent to browsers (part of racgate_bytes_sent_total).", nil, nil)
	descAudioDropped   = prometheus.NewDesc("racgate_audio_packets_dropped_total", "Sound packets dropped for browsers too far behind to play them in time.", nil, nil)
	descLogins         = prometheus.NewDesc("racgate_logins_total", "Login attempts, by result.", []string{"result"}, nil)
	descThrottled      = prometheus.NewDesc("racgate_login_throttled_total", "Login attempts refused by the login throttle, by the key that held them.", []string{"by"}, nil)
	descLive           = prometheus.NewDesc("racgate_connections_live", "Live connections on this instance, by endpoint.", []string{"endpoint", "instance"}, nil)
	descReady          = prometheus.NewDesc("racgate_ready", "1 while /readyz answers ready: not draining, and the store reachable or fail-open.", nil, nil)
)

func (stateCollector) Describe(chan<- *prometheus.Desc) {}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s, m := c.s, c.s.metrics
	// Live viewers plus ended ones, under s.mu: a session moves from one to the other
	// under it too (unregister), so it is counted exactly once.
	var frames, dropped uint64
	var encode time.Duration
	listening, watchers := 0, 0
	live := map[string]float64{}
	for _, e := range s.state.Load().cfg.Endpoints {
		live[e.Name] = 0
	}
	s.mu.Lock()
	for sess := range s.sessions {
		if sess.host != nil {
			watchers++
		}
		if _, ok := live[sess.ep.Name]; ok {
			live[sess.ep.Name]++
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
	m.mu.Unlock()
	s.mu.Unlock()
	conns, members := s.shares.count()

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descSessionsActive, float64(m.sessionsActive.Load()))
	gauge(descSharedConns, float64(conns))
	gauge(descSharedSessions, float64(members))
	gauge(descWatchers, float64(watchers))
	counter(descBytesSent, float64(m.bytesSent.Load()))
	counter(descFramesSent, float64(frames))
	counter(descEncodeSeconds, encode.Seconds())
	gauge(descAudioSessions, float64(listening))
	counter(descAudioBytes, float64(m.audioBytes.Load()))
	counter(descAudioDropped, float64(dropped))
	logins, throttled := s.signin.Counts()
	for k, v := range logins {
		counter(descLogins, float64(v), k)
	}
	for k, v := range throttled {
		counter(descThrottled, float64(v), k)
	}
	inst := s.store.InstanceID()
	for k, v := range live {
		gauge(descLive, v, k, inst)
	}
	ready := 0.0
	if s.ready() == nil {
		ready = 1
	}
	gauge(descReady, ready)
}
