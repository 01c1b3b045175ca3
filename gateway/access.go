package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/policy"
)

// policyRequest is what policies see of r.
func (s *Server) policyRequest(r *http.Request) policy.Request {
	return policy.Request{IP: authz.ClientIP(s.state.Load().src.Forward, r), UserAgent: r.UserAgent(), Time: s.now()}
}

// mayOpen is authz.MayOpen for r; a nil ep is not open to anyone.
func (s *Server) mayOpen(r *http.Request, cfg *config.Config, lg *signin.Login, ep *config.Endpoint) error {
	if ep == nil {
		return &authz.Denied{}
	}
	err := authz.MayOpen(r.Context(), cfg, lg.User, ep, s.policyRequest(r))
	var d *authz.Denied
	if errors.As(err, &d) && d.Policy != "" {
		s.log.Info("policy refused", "audit", true, "user", lg.User.Username, "endpoint", ep.Name, "policy", d.Policy, "err", d.Err)
		attrs := []slog.Attr{slog.String("user", lg.User.Username), slog.String("source", lg.User.Source),
			slog.String("endpoint", ep.Name), slog.String("policy", d.Policy), slog.String("remote", r.RemoteAddr)}
		if d.Err != nil {
			attrs = append(attrs, slog.String("error", d.Err.Error()))
		}
		s.audit.Record(audit.PolicyDenied, attrs...)
	}
	return err
}

// sessionAccess says why ss may not go on under this state; nil when it may. An
// administrator watching (watch.go) needs to be one still; everyone else needs access
// to the endpoint.
func (st *state) sessionAccess(ss *session) *sessionEnd {
	if !ss.watch.admin {
		return st.access(ss.who, ss.stamp, ss.ep.Name, ss.preq)
	}
	u, why := st.account(ss.who, ss.stamp)
	if why != nil {
		return why
	}
	if st.cfg.AdminGroup == "" || !u.InGroup(st.cfg.AdminGroup) {
		return &sessionEnd{Code: closeForbidden, Reason: "You are no longer an administrator."}
	}
	return nil
}

// account is who as this state knows them, or why their login is no longer good.
func (st *state) account(who *authz.User, stamp string) (*authz.User, *sessionEnd) {
	u := who // a user from elsewhere is as the identity provider named them
	if who.Source == authz.SourceBuiltin {
		var ok bool
		u, ok = st.src.Users.Lookup(who.Username)
		switch {
		case !ok:
			return nil, &sessionEnd{Code: closeSessionEnded, Reason: "Your racgate account was removed."}
		case u.Stamp() != stamp:
			return nil, &sessionEnd{Code: closeSessionEnded, Reason: "Your password was changed: log in again."}
		}
	} else if (who.Source == authz.SourceForwardAuth && st.src.Forward == nil) || (who.Source == authz.SourceOIDC && st.src.OIDC == nil) {
		return nil, &sessionEnd{Code: closeSessionEnded, Reason: "Your way of signing in was turned off."}
	}
	return u, nil
}

// access says why a session of who to endpoint, made with a login bound to stamp, may
// not go on under this state; nil when it may.
func (st *state) access(who *authz.User, stamp, endpoint string, req policy.Request) *sessionEnd {
	u, why := st.account(who, stamp)
	if why != nil {
		return why
	}
	ep := st.cfg.Endpoint(endpoint)
	if ep == nil {
		return &sessionEnd{Code: closeForbidden, Reason: fmt.Sprintf("The endpoint %q was removed.", endpoint)}
	}
	req.Time = time.Now()
	var d *authz.Denied
	if err := authz.MayOpen(context.Background(), st.cfg, u, ep, req); errors.As(err, &d) && d.Policy == "" {
		return &sessionEnd{Code: closeForbidden, Reason: fmt.Sprintf("You no longer have access to %q.", endpoint)}
	} else if err != nil {
		return &sessionEnd{Code: closeForbidden, Reason: err.Error(), Err: err}
	}
	return nil
}
