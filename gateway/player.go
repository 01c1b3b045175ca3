package gateway

import (
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/gateway/pages"
	"github.com/racgate/racgate/gateway/recordings"
)

// playerCSP is the player page's policy: its script and styles from racgate, the
// recordings from its API, nothing else.
const playerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'"

// recordingRoutes serves recordings to members of auditor-group and admin-group
// (gateway/recordings).
func (s *Server) recordingRoutes(m *http.ServeMux) {
	recordings.New(recordings.Config{
		Folders: func() []string { return s.state.Load().cfg.RecordingPaths() },
		Who: func(r *http.Request) (recordings.Viewer, error) {
			lg, err := s.signin.Current(r)
			if err != nil {
				return recordings.Viewer{}, err
			}
			cfg := s.state.Load().cfg
			in := func(g string) bool { return g != "" && lg.User.InGroup(g) }
			return recordings.Viewer{Name: lg.User.Username, Auditor: in(cfg.AuditorGroup) || in(cfg.AdminGroup)}, nil
		},
		Viewed: func(r *http.Request, who, id string) {
			s.audit.Record(audit.RecordingViewed, slog.String("user", who), slog.String("recording", id), slog.String("remote", r.RemoteAddr))
		},
		Page: func(w http.ResponseWriter, r *http.Request, _ string) {
			page, err := fs.ReadFile(s.web, "player.html")
			if _, jsErr := fs.Stat(s.web, "player.js"); err != nil || jsErr != nil {
				s.render(w, http.StatusServiceUnavailable, "message", pages.Message{Title: "Web client not built",
					Text: "The recording player is missing from this racgate build: run make web, then rebuild racgate."})
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Content-Security-Policy", playerCSP)
			w.Write(page)
		},
		Log: s.log,
	}).Routes(m)
}
