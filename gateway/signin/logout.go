package signin

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
)

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	src := s.o.Sources()
	if !SameOrigin(src.Config, r) {
		http.Error(w, "cross-origin logout refused", http.StatusForbidden)
		return
	}
	next := "/login"
	if lg, err := s.Current(r); err == nil {
		s.Revoke(r.Context(), lg.ID, lg.Expires)
		s.o.EndLogin(r.Context(), lg.ID, ReasonLogout)
		s.o.Log.InfoContext(r.Context(), "logout", "audit", true, "user", lg.User.Username, "source", lg.User.Source, "remote", r.RemoteAddr)
		s.o.Audit.Record(audit.Logout, slog.String("user", lg.User.Username), slog.String("source", lg.User.Source), slog.String("remote", r.RemoteAddr))
		if f := src.Forward; f != nil && lg.User.Source == authz.SourceForwardAuth && f.Config().SignOutURL != "" {
			next = f.Config().SignOutURL // the proxy's own sign-out, or it signs the user straight back in
		}
		if lg.User.Source == authz.SourceOIDC && src.OIDC != nil {
			if u := s.providerLogout(r.Context(), src, lg.ID); u != "" {
				next = u
			}
		}
	}
	clearCookie(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// providerLogout drops an OIDC login's record and returns where to end the sign-in at
// the provider too (RP-initiated logout), or "" for nowhere.
func (s *Service) providerLogout(ctx context.Context, src *Sources, id string) string {
	rec, _, err := s.loadRecord(ctx, src.Key, id)
	if err != nil {
		s.o.Log.Warn("logout: cannot read the OIDC login's record", "err", err)
	}
	s.dropRecord(ctx, id)
	cfg := src.OIDC.Config()
	if !cfg.ProviderLogout {
		return ""
	}
	u, err := src.OIDC.LogoutURL(ctx, rec.Tokens.IDToken, cfg.PostLogoutRedirectURL)
	if err != nil {
		s.o.Log.Warn("logout: no sign-out at the OIDC provider", "err", err)
	}
	return u
}

// LogoutTargets are the origins, besides racgate's, that logging lg out may send the
// browser to (pages.CSP): the forward-auth proxy's sign-out, the OIDC provider's.
func (s *Service) LogoutTargets(ctx context.Context, lg *Login) []string {
	src := s.o.Sources()
	var u string
	switch {
	case lg.User.Source == authz.SourceForwardAuth && src.Forward != nil:
		u = src.Forward.Config().SignOutURL
	case lg.User.Source == authz.SourceOIDC && src.OIDC != nil && src.OIDC.Config().ProviderLogout:
		u, _ = src.OIDC.LogoutURL(ctx, "", "")
	}
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return []string{config.OriginOf(p)}
	}
	return nil
}
