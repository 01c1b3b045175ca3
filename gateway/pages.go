package gateway

import (
	_ "embed"
	"html/template"
	"net/http"

	"github.com/racgate/racgate/config"
)

// Server-rendered pages (pages.html): login, the endpoint list and error pages. Styles
// are inline so the pages work even when the web client is not built.
//
//go:embed pages.html
var pagesHTML string

var pages = template.Must(template.New("").Parse(pagesHTML))

type loginPage struct{ Error, Next, Username, OIDC string }

type indexPage struct {
	User      string
	Endpoints []*config.Endpoint
}

type messagePage struct{ Title, Text string }

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	// The pages have no scripts; only their inline style and same-site forms.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Warn("render page", "page", name, "err", err)
	}
}
