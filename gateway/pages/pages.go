// Package pages renders racgate's server-side pages (pages.html): the login form, the
// endpoint list and messages. Styles are inline and there are no scripts, so the pages
// work even when the web client is not built.
package pages

import (
	_ "embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/racgate/racgate/config"
)

//go:embed pages.html
var pagesHTML string

// Set is a set of pages that share pages.html's head and style.
type Set struct{ t *template.Template }

var std = &Set{template.Must(template.New("").Parse(pagesHTML))}

// Extend returns pages.html's set with defs' templates added; it panics on a bad
// template, as it is called with constants at start-up.
func Extend(defs string) *Set {
	return &Set{template.Must(template.Must(std.t.Clone()).Parse(defs))}
}

// Login is the login form. OIDC names the single sign-on button ("" for none).
type Login struct{ Error, Next, Username, OIDC string }

// Index is the list of endpoints open to User.
type Index struct {
	User      string
	Endpoints []*config.Endpoint
}

// Message is a page that says one thing, such as why something was refused.
type Message struct{ Title, Text string }

// CSP is the pages' Content-Security-Policy: no scripts, only their inline style, and
// forms that post here. formAction adds origins a form's answer may redirect to (the
// log-out form's, to an identity provider's sign-out): browsers hold redirects after a
// form to form-action too.
func CSP(formAction ...string) string {
	return "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" + strings.Join(append([]string{""}, formAction...), " ") + "; frame-ancestors 'none'"
}

// Render writes the page name ("login", "index" or "message") with data and status.
// A Content-Security-Policy already in w's header stays; else it is CSP().
func Render(w http.ResponseWriter, status int, name string, data any) error {
	return std.Render(w, status, name, data)
}

// Render writes the page name with data and status.
func (s *Set) Render(w http.ResponseWriter, status int, name string, data any) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	if w.Header().Get("Content-Security-Policy") == "" {
		w.Header().Set("Content-Security-Policy", CSP())
	}
	w.WriteHeader(status)
	return s.t.ExecuteTemplate(w, name, data)
}
