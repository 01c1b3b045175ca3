package signin

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/gateway/pages"
)

// racgate's own login form, for built-in users (auth.builtin).

func (s *Service) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	src, next := s.o.Sources(), safeNext(r.URL.Query().Get("next"))
	switch {
	case !src.Config.Auth.Builtin && src.OIDC != nil:
		http.Redirect(w, r, "/auth/oidc/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	case !src.Config.Auth.Builtin:
		s.builtinOff(w)
		return
	}
	page := pages.Login{Next: next}
	if src.OIDC != nil {
		page.OIDC = src.OIDC.Config().DisplayName
		if page.OIDC == "" {
			page.OIDC = "single sign-on"
		}
	}
	s.render(w, http.StatusOK, "login", page)
}

// MaxFormBytes bounds a form body.
const MaxFormBytes = 8 << 10

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	src := s.o.Sources()
	if !SameOrigin(src.Config, r) {
		http.Error(w, "cross-origin login refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	if !src.Config.Auth.Builtin {
		s.builtinOff(w)
		return
	}
	tc := src.Config.LoginThrottle
	throttled := func(wait time.Duration, by string) {
		ra := authz.RetryAfter(wait)
		s.count(s.logins, "throttled")
		s.count(s.throttled, by)
		s.o.Log.WarnContext(r.Context(), "login throttled", "user", username, "remote", r.RemoteAddr, "by", by, "retry_after", ra)
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		s.render(w, http.StatusTooManyRequests, "login", pages.Login{Next: next, Username: username,
			Error: fmt.Sprintf("Too many failed logins: try again in %d s.", ra)})
	}
	// Refused before waiting for a bcrypt slot, so a flood of guesses does not hold up
	// other people's logins; and looked at again once the slot is ours, so that guesses
	// sent all at once cannot all pass the first look.
	if wait, by := s.throttle.Wait(r.Context(), tc, username, r.RemoteAddr); wait > 0 {
		throttled(wait, by)
		return
	}
	select {
	case s.loginSem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	if wait, by := s.throttle.Wait(r.Context(), tc, username, r.RemoteAddr); wait > 0 {
		<-s.loginSem
		throttled(wait, by)
		return
	}
	u, err := src.Users.Authenticate(username, password)
	var wait time.Duration
	if err != nil {
		wait, _ = s.throttle.Failed(r.Context(), tc, username, r.RemoteAddr) // before the slot is free: see above
	}
	<-s.loginSem
	if err != nil {
		s.count(s.logins, "failed")
		s.o.Log.InfoContext(r.Context(), "login failed", "user", username, "remote", r.RemoteAddr)
		s.o.Audit.Record(audit.LoginFailed, slog.String("user", username), slog.String("remote", r.RemoteAddr))
		msg := "Wrong username or password."
		if wait > 0 {
			msg += fmt.Sprintf(" Too many failed logins: try again in %d s.", authz.RetryAfter(wait))
		}
		// Every failure answers at the same time after the request came, whether the
		// name exists or not.
		if d := s.LoginFloor - time.Since(start); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		s.render(w, http.StatusUnauthorized, "login", pages.Login{Error: msg, Next: next, Username: username})
		return
	}
	s.throttle.Succeeded(r.Context(), tc, username, r.RemoteAddr)
	s.count(s.logins, "ok")
	now := s.o.Now()
	exp := now.Add(src.Config.Session.Lifetime)
	s.signedIn(w, r, authz.SignLogin(src.Key, authz.Claims{ID: authz.NewLoginID(), Username: u.Username, Issued: now, Expires: exp}, u.Stamp()), u, exp)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// builtinOff answers the login form and its POST when auth.builtin is false.
func (s *Service) builtinOff(w http.ResponseWriter) {
	s.render(w, http.StatusForbidden, "message", pages.Message{Title: "Sign in elsewhere",
		Text: "Signing in with a racgate password is turned off here: sign in through your organisation's sign-in page, then open racgate again."})
}
