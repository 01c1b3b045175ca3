package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/render/wire"
)

// Connection control: leases from the store against the limits, the idle timeout,
// termination requests (admin, logout on another instance), and their metrics.

// acquire takes a lease for a connection to ep, or says why not: a *sessionEnd with the
// CLOSE code and a reason naming the limit, for the user, wrapping the store's error.
// Every refusal is an audit log line.
func (s *Server) acquire(ctx context.Context, cfg *config.Config, ep *config.Endpoint, lg *signin.Login, remote string) (store.Lease, error) {
	userLimit := cfg.UserLimit(ep)
	lease, err := s.store.Acquire(ctx, store.Request{Endpoint: ep.Name, User: lg.User.Username, Login: lg.ID,
		Remote: remote, EndpointLimit: ep.MaximumConnections, UserLimit: userLimit})
	if err == nil {
		return lease, nil
	}
	var (
		le     *store.LimitError
		code   = closeLimit
		reason string
		kind   string // refusals metric label
	)
	switch {
	case errors.As(err, &le) && le.Which == store.LimitUser:
		kind = "user_limit"
		reason = fmt.Sprintf("You already have %d connection(s) to %s, the most allowed per user (maximum-connections-per-user); close one and try again.", le.Limit, ep.Name)
	case errors.As(err, &le):
		kind = "endpoint_limit"
		reason = fmt.Sprintf("%s already has its maximum of %d connections (maximum-connections); try again later.", ep.Name, le.Limit)
	case errors.Is(err, store.ErrUnavailable):
		kind, code = "store_unavailable", closeInternal
		reason = "racgate cannot count connections right now (its connection store is unavailable); try again shortly."
	default:
		kind, code = "store_error", closeInternal
		reason = "racgate could not count connections."
	}
	s.metrics.refused(kind)
	s.audit.Record(audit.ConnectionRefused, slog.String("user", lg.User.Username), slog.String("endpoint", ep.Name),
		slog.String("why", kind), slog.String("remote", remote))
	s.log.Info("connection refused", "audit", true, "user", lg.User.Username, "endpoint", ep.Name,
		"remote", remote, "why", kind, "err", err)
	return nil, &sessionEnd{Code: code, Reason: reason, Err: err}
}

// idleWarning is how long before an idle-timeout ends a session its user is warned (a
// quarter of the timeout for shorter ones).
const idleWarning = time.Minute

// watch ends ss when its lease is terminated (admin, logout elsewhere) or when it has had
// no input for the provider's idle-timeout, warning the user first (NOTICE). The returned
// func stops watching.
func (s *Server) watch(ss *session, cfg *config.Config) (stop func()) {
	ss.touch()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ss.lease.Done():
			switch why := ss.lease.Reason(); why {
			case signin.ReasonLogout, signin.ReasonSignedOut:
				ss.end(endWith(closeSessionEnded, why))
			case store.ReasonExpired:
				// Its slot went to someone else while this instance could not renew it.
				ss.end(endWith(closeLimit, "The connection ended: its slot expired while racgate could not reach its connection store, and the endpoint is now full."))
			default:
				ss.end(endWith(closeKilled, terminationReason(why)))
			}
		case <-done:
		}
	})
	var idle *time.Timer
	if d := cfg.IdleTimeout(ss.ep); d > 0 {
		// A warning comes this long before the end, once per quiet spell: any input
		// dismisses it by starting the spell again.
		warn := min(idleWarning, d/4)
		var warnedFor int64          // the lastInput the warning was given for; timer callbacks run one at a time
		armed := make(chan struct{}) // idle is set before check reads it
		check := func() {
			<-armed
			if ss.ctx.Err() != nil {
				return // ended meanwhile: do not re-arm
			}
			last := ss.lastInput.Load()
			left := d - time.Since(time.Unix(0, last))
			switch {
			case left <= 0:
				ss.end(endWith(closeTimeout, fmt.Sprintf("The connection was idle for %v (idle-timeout).", d)))
			case left > warn:
				idle.Reset(left - warn) // input came meanwhile: look again when the warning is due
			default:
				if warnedFor != last {
					warnedFor = last
					ss.queue(wire.Notice{Level: wire.NoticeWarning, Text: fmt.Sprintf(
						"No input for a while: this connection ends in %d s unless you move the mouse or press a key.", int(math.Ceil(left.Seconds())))}.Append(nil))
				}
				idle.Reset(left)
			}
		}
		idle = time.AfterFunc(d-warn, check)
		close(armed)
	}
	return func() {
		close(done)
		if idle != nil {
			idle.Stop()
		}
		wg.Wait()
	}
}

// closeKilled is CLOSE code 7: an administrator (or the user's logout) ended it.
const closeKilled = wire.CloseKilled

func terminationReason(r string) string {
	if r == "" {
		return "An administrator ended the connection."
	}
	return r
}

// touch records input from the user, for the idle timeout.
func (ss *session) touch() { ss.lastInput.Store(time.Now().UnixNano()) }

// terminateLogin ends the connections of a login on every instance (logout).
func (s *Server) terminateLogin(ctx context.Context, loginID, reason string) {
	conns, err := s.store.Connections(ctx)
	if err != nil {
		s.log.Warn("logout: cannot list connections on other instances", "err", err)
		return
	}
	for _, c := range conns {
		if c.Login == loginID {
			if err := s.store.Terminate(ctx, c.ID, reason); err != nil && !errors.Is(err, store.ErrNotFound) {
				s.log.Warn("logout: terminate", "conn", c.ID, "err", err)
			}
		}
	}
}

// lessLoaded is where to send a connect page request instead of serving it here: the
// instance with a public-url and the fewest connections, when it has at least two fewer
// than this one (so that two instances never send users back and forth). nil = here.
func (s *Server) lessLoaded(r *http.Request) *url.URL {
	cfg := s.state.Load().cfg
	if !cfg.RouteToLeastLoaded || cfg.PublicURL == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	ins, err := s.store.Instances(ctx)
	if err != nil {
		return nil // serve here rather than fail
	}
	self := s.store.InstanceID()
	mine, best := -1, -1
	for i, in := range ins {
		switch {
		case in.ID == self:
			mine = in.Conns
		case in.PublicURL != "" && (best < 0 || in.Conns < ins[best].Conns):
			best = i
		}
	}
	if mine < 0 || best < 0 || ins[best].Conns+2 > mine {
		return nil
	}
	u, err := url.Parse(ins[best].PublicURL)
	if err != nil {
		return nil
	}
	return u.ResolveReference(&url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery})
}
