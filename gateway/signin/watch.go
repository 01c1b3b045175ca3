package signin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
)

// Watch follows a login while its user has a live connection, until ctx is done (it
// then returns true) or the login's source ends it (false): the forward-auth proxy no
// longer signs the user in (authz.ForwardAuth.Watch), or the OIDC provider refuses to
// refresh its tokens. An ended login is revoked, and its connections end on every
// instance (Options.EndLogin). Errors that say nothing about the user (the provider
// unreachable, the store away) go to onErr and end nothing.
func (s *Service) Watch(ctx context.Context, lg *Login, onErr func(error)) bool {
	var ended bool
	switch src, by := s.watcher(lg); by {
	case authz.SourceForwardAuth:
		ended = !src.Forward.Watch(ctx, lg.Forward, onErr)
	case authz.SourceOIDC:
		ended = !s.watchOIDC(ctx, lg, onErr)
	default:
		<-ctx.Done()
	}
	if !ended {
		return true
	}
	s.o.Log.Info("sign-in ended at its source", "audit", true, "user", lg.User.Username, "source", lg.User.Source)
	s.o.Audit.Record(audit.SignedOut, slog.String("user", lg.User.Username), slog.String("source", lg.User.Source), slog.String("login", lg.ID))
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.endSignIn(ectx, lg.ID, lg.Expires)
	return false
}

// Watches reports whether Watch has anything to follow for lg (else it only waits for
// its ctx).
func (s *Service) Watches(lg *Login) bool {
	_, by := s.watcher(lg)
	return by != ""
}

// watcher is the source that follows lg: the forward-auth proxy (when it has a
// recheck-url), the OIDC provider, or "" for none.
func (s *Service) watcher(lg *Login) (*Sources, string) {
	src := s.o.Sources()
	switch {
	case lg.Forward != nil && src.Forward != nil && src.Forward.Config().RecheckURL != nil:
		return src, authz.SourceForwardAuth
	case lg.User.Source == authz.SourceOIDC && src.OIDC != nil:
		return src, authz.SourceOIDC
	}
	return src, ""
}

// retryWait is how long a refresh that failed for a reason of no meaning about the user
// waits before it is tried again.
const retryWait = 10 * time.Second

// watchOIDC refreshes an OIDC login's tokens when due (record.go) until ctx is done
// (true) or the provider refuses (false).
func (s *Service) watchOIDC(ctx context.Context, lg *Login, onErr func(error)) bool {
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		src := s.o.Sources()
		if src.OIDC == nil { // turned off by a reload, which ends such sessions itself
			<-ctx.Done()
			return true
		}
		every := src.OIDC.Config().RefreshInterval
		retry := retryWait
		if every > 0 {
			retry = min(retry, every)
		}
		rec, sealed, err := s.loadRecord(ctx, src.Key, lg.ID)
		now := s.o.Now()
		switch {
		case ctx.Err() != nil:
			return true
		case err != nil:
			onErr(err)
			if !wait(retry) {
				return true
			}
			continue
		case sealed == nil || rec.Tokens.Refresh == "":
			// Nothing to refresh: the provider gave no refresh token, or the login ended
			// (and EndLogin ends this connection).
			<-ctx.Done()
			return true
		case now.Before(rec.Claimed):
			if !wait(rec.Claimed.Sub(now)) {
				return true
			}
			continue
		case now.Before(rec.Due):
			if !wait(rec.Due.Sub(now)) {
				return true
			}
			continue
		}
		claimed := rec
		claimed.Claimed = now.Add(claimFor)
		cs, err := seal(src.Key, lg.ID, claimed)
		if err == nil {
			var ok bool
			if ok, err = s.o.Store.SwapData(ctx, recordKey(lg.ID), sealed, cs, lg.Expires); err == nil && !ok {
				continue // another instance refreshed or claimed it first
			}
		}
		if err != nil {
			onErr(err)
			if !wait(retry) {
				return true
			}
			continue
		}
		tokens, err := src.OIDC.Refresh(ctx, rec.Tokens, rec.Subject)
		if errors.Is(err, authz.ErrSignInEnded) {
			s.o.Log.Info("oidc: the provider refused to refresh the tokens", "user", lg.User.Username, "err", err)
			return false
		}
		next := rec
		next.Claimed = time.Time{}
		if err != nil {
			onErr(err)
			next.Due = s.o.Now().Add(retry)
		} else {
			next.Tokens, next.Due = tokens, nextDue(s.o.Now(), tokens.Expiry, every)
		}
		// Put back even when ctx has ended (the connection closed meanwhile): the new
		// refresh token is the only good one now.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if ns, err := seal(src.Key, lg.ID, next); err == nil {
			if _, err := s.o.Store.SwapData(wctx, recordKey(lg.ID), cs, ns, lg.Expires); err != nil {
				onErr(err)
			}
		}
		cancel()
	}
}
