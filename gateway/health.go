package gateway

import (
	"errors"
	"net/http"
)

// Health for load balancers and orchestrators (docs/deploy.md § Health):
//
//   - /healthz: the process serves HTTP. A failing liveness probe restarts it.
//   - /readyz: the instance should get new sessions: its config is loaded (it is, once
//     the server exists), its connection store is reachable unless fail-open admits
//     without it, and it is not draining. A failing readiness probe takes it out of the
//     load balancer; its sessions go on.

var (
	errDraining         = errors.New("draining: this instance is going away")
	errStoreUnreachable = errors.New("the connection store is unreachable (store.redis.fail-open is false)")
)

// ready is nil when the instance should get new sessions, else why not.
func (s *Server) ready() error {
	s.mu.Lock()
	draining := s.draining || s.closing
	s.mu.Unlock()
	if draining {
		return errDraining
	}
	cfg := s.state.Load().cfg
	failOpen := cfg.Store.Redis != nil && cfg.Store.Redis.FailOpen
	if !failOpen && !s.store.Reachable() {
		return errStoreUnreachable
	}
	return nil
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok"))
}

func (s *Server) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// Drain marks the instance as going away: /readyz fails from now on, so a load balancer
// stops sending it new sessions, while its sessions go on and new ones still start (a
// balancer that has not noticed yet is not turned away). Shutdown ends them after.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	s.log.Info("draining: /readyz fails from now on")
}
