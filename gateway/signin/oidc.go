package signin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/gateway/pages"
)

// OIDC sign-in (authz/oidc.go): /auth/oidc/login sends the browser to the provider with
// a new flow kept in a signed cookie; /auth/oidc/callback finishes it, records the login
// for refreshes and back-channel logout (record.go), and sets racgate's login cookie,
// which carries the user's claims. /auth/oidc/backchannel-logout is where the provider
// posts logout tokens.

const (
	oidcFlowCookie = "racgate_oidc"
	oidcFlowLife   = 10 * time.Minute // to sign in at the provider
)

func (s *Service) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	src := s.o.Sources()
	if src.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	u, f, err := src.OIDC.Start(r.Context(), safeNext(r.URL.Query().Get("next")))
	if err != nil {
		s.o.Log.Warn("oidc: cannot start a sign-in", "err", err)
		s.render(w, http.StatusBadGateway, "message", pages.Message{Title: "Sign-in unavailable", Text: "The sign-in service cannot be reached; try again later."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: authz.SignFlow(src.Key, f, s.o.Now().Add(oidcFlowLife)),
		Path: "/auth/oidc/", MaxAge: int(oidcFlowLife.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: src.Config.PublicURL != nil && src.Config.PublicURL.Scheme == "https"})
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (s *Service) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	src := s.o.Sources()
	if src.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Path: "/auth/oidc/", MaxAge: -1, HttpOnly: true})
	fail := func(err error) {
		s.o.Log.InfoContext(r.Context(), "oidc: sign-in failed", "remote", r.RemoteAddr, "err", err)
		s.o.Audit.Record(audit.LoginFailed, slog.String("source", authz.SourceOIDC), slog.String("remote", r.RemoteAddr), slog.String("error", err.Error()))
		s.render(w, http.StatusUnauthorized, "message", pages.Message{Title: "Sign-in failed", Text: "The sign-in did not complete. Start again from the login page."})
	}
	if e := r.URL.Query().Get("error"); e != "" {
		fail(authz.ErrOIDC) // the provider refused: the user cancelled, or is not allowed
		return
	}
	ck, err := r.Cookie(oidcFlowCookie)
	if err != nil {
		fail(err)
		return
	}
	f, err := authz.ParseFlow(src.Key, ck.Value, s.o.Now())
	if err != nil {
		fail(err)
		return
	}
	u, g, err := src.OIDC.Finish(r.Context(), r.URL.Query().Get("state"), r.URL.Query().Get("code"), f)
	if err != nil {
		fail(err)
		return
	}
	now := s.o.Now()
	exp := now.Add(src.Config.Session.Lifetime)
	id := authz.NewLoginID()
	v, err := authz.SignExternalLogin(src.Key, authz.Claims{ID: id, Username: u.Username, Issued: now, Expires: exp}, u)
	if err != nil {
		fail(err)
		return
	}
	// A login the provider could not end (back-channel logout) is not given out.
	if err := s.recordLogin(r.Context(), src, id, g, now, exp); err != nil {
		s.o.Log.Warn("oidc: cannot record the login in the store", "user", u.Username, "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", pages.Message{Title: "Sign-in unavailable", Text: "racgate cannot record your sign-in right now; try again in a moment."})
		return
	}
	s.signedIn(w, r, v, u, exp)
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
}

// recordLogin keeps a new OIDC login's tokens and links it to the provider's session
// and user, until it expires.
func (s *Service) recordLogin(ctx context.Context, src *Sources, id string, g *authz.Grant, now, exp time.Time) error {
	rec := record{Tokens: g.Tokens, Subject: g.Subject, Due: nextDue(now, g.Expiry, src.OIDC.Config().RefreshInterval)}
	sealed, err := seal(src.Key, id, rec)
	if err != nil {
		return err
	}
	if _, err := s.o.Store.SwapData(ctx, recordKey(id), nil, sealed, exp); err != nil {
		return err
	}
	if g.SID != "" {
		if err := s.o.Store.Link(ctx, linkKey("sid", g.Issuer, g.SID), id, exp); err != nil {
			return err
		}
	}
	return s.o.Store.Link(ctx, linkKey("sub", g.Issuer, g.Subject), id, exp)
}

// maxLogoutTokenBytes bounds a back-channel logout request's body.
const maxLogoutTokenBytes = 16 << 10

// handleBackchannelLogout takes a logout token from the provider (Back-Channel Logout 1.0
// §2.5) and ends the logins it names: those of its sid, or, without one, every login of
// its sub. Each is revoked and its connections end on every instance.
func (s *Service) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	src := s.o.Sources()
	if src.OIDC == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	refuse := func(status int, code string, err error) {
		s.o.Log.WarnContext(r.Context(), "oidc: back-channel logout refused", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": err.Error()})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutTokenBytes)
	if err := r.ParseForm(); err != nil {
		refuse(http.StatusBadRequest, "invalid_request", err)
		return
	}
	now := s.o.Now()
	lo, err := src.OIDC.VerifyLogout(r.Context(), r.PostFormValue("logout_token"), now)
	if err != nil {
		refuse(http.StatusBadRequest, "invalid_request", err)
		return
	}
	// A token is good once: a replay could otherwise end later logins of the same user.
	first, err := s.o.Store.SwapData(r.Context(), linkKey("jti", lo.Issuer, lo.JTI), nil, []byte{1}, lo.Issued.Add(authz.MaxLogoutAge+time.Minute))
	if err != nil {
		refuse(http.StatusServiceUnavailable, "temporarily_unavailable", err)
		return
	} else if !first {
		refuse(http.StatusBadRequest, "invalid_request", errors.New("logout token already used"))
		return
	}
	key := linkKey("sub", lo.Issuer, lo.Subject)
	if lo.SID != "" {
		key = linkKey("sid", lo.Issuer, lo.SID)
	}
	logins, err := s.o.Store.Linked(r.Context(), key)
	if err != nil {
		refuse(http.StatusServiceUnavailable, "temporarily_unavailable", err)
		return
	}
	ended := 0
	for id, until := range logins {
		if !s.Revoked(r.Context(), id) {
			s.endSignIn(r.Context(), id, until)
			ended++
		}
	}
	s.o.Log.Info("oidc: back-channel logout", "audit", true, "subject", lo.Subject, "sid", lo.SID, "logins", ended)
	s.o.Audit.Record(audit.SignedOut, slog.String("source", authz.SourceOIDC), slog.String("subject", lo.Subject),
		slog.String("sid", lo.SID), slog.String("by", "back-channel logout"), slog.Int("logins", ended))
	w.WriteHeader(http.StatusOK)
}

// endSignIn ends a login that its identity provider ended: it is revoked, its record
// dropped, and its connections end on every instance.
func (s *Service) endSignIn(ctx context.Context, id string, until time.Time) {
	s.Revoke(ctx, id, until)
	s.dropRecord(ctx, id)
	s.o.EndLogin(ctx, id, ReasonSignedOut)
}

// dropRecord deletes a login's record, whatever it holds.
func (s *Service) dropRecord(ctx context.Context, id string) {
	for range 3 { // a refresh may swap it meanwhile
		cur, err := s.o.Store.Data(ctx, recordKey(id))
		if err != nil || cur == nil {
			return
		}
		if ok, err := s.o.Store.SwapData(ctx, recordKey(id), cur, nil, time.Time{}); ok || err != nil {
			return
		}
	}
}
