package gateway

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
)

// OIDC sign-in (authz/oidc.go): /auth/oidc/login sends the browser to the provider with
// a new flow kept in a signed cookie; /auth/oidc/callback finishes it and sets racgate's
// login cookie, which carries the user's claims.

const (
	oidcFlowCookie = "racgate_oidc"
	oidcFlowLife   = 10 * time.Minute // to sign in at the provider
)

func (s *Server) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	if st.oidc == nil {
		http.NotFound(w, r)
		return
	}
	u, f, err := st.oidc.Start(r.Context(), safeNext(r.URL.Query().Get("next")))
	if err != nil {
		s.log.Warn("oidc: cannot start a sign-in", "err", err)
		s.render(w, http.StatusBadGateway, "message", messagePage{"Sign-in unavailable", "The sign-in service cannot be reached; try again later."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: authz.SignFlow(st.key, f, s.now().Add(oidcFlowLife)),
		Path: "/auth/oidc/", MaxAge: int(oidcFlowLife.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: st.cfg.PublicURL != nil && st.cfg.PublicURL.Scheme == "https"})
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	if st.oidc == nil {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Path: "/auth/oidc/", MaxAge: -1, HttpOnly: true})
	fail := func(err error) {
		s.log.Info("oidc: sign-in failed", "remote", r.RemoteAddr, "err", err)
		s.audit.Record(audit.LoginFailed, slog.String("source", authz.SourceOIDC), slog.String("remote", r.RemoteAddr), slog.String("error", err.Error()))
		s.render(w, http.StatusUnauthorized, "message", messagePage{"Sign-in failed", "The sign-in did not complete. Start again from the login page."})
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
	f, err := authz.ParseFlow(st.key, ck.Value, s.now())
	if err != nil {
		fail(err)
		return
	}
	u, err := st.oidc.Finish(r.Context(), r.URL.Query().Get("state"), r.URL.Query().Get("code"), f)
	if err != nil {
		fail(err)
		return
	}
	now := s.now()
	exp := now.Add(st.cfg.Session.Lifetime)
	v, err := authz.SignExternalLogin(st.key, authz.Claims{ID: authz.NewLoginID(), Username: u.Username, Issued: now, Expires: exp}, u)
	if err != nil {
		fail(err)
		return
	}
	s.setLoginCookie(w, v, exp)
	s.log.Info("login", "user", u.Username, "source", u.Source, "remote", r.RemoteAddr)
	s.audit.Record(audit.Login, slog.String("user", u.Username), slog.String("source", u.Source), slog.String("remote", r.RemoteAddr))
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
}
