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

// Index is the launcher: the endpoints open to User, by provider.
type Index struct {
	User       string
	UserGroups string // for the empty list's hint
	Admin      bool   // links to /admin
	Recordings bool   // links to /recordings (an auditor, and recordings are configured)
	Groups     []IndexGroup
}

// IndexGroup is one provider's endpoints, in the config's order.
type IndexGroup struct {
	Provider  string
	Endpoints []*config.Endpoint
}

// GroupEndpoints groups eps by provider, providers in the order they first come.
func GroupEndpoints(eps []*config.Endpoint) []IndexGroup {
	var gs []IndexGroup
	at := map[string]int{}
	for _, e := range eps {
		p := e.Provider
		if p == "" {
			p = "Endpoints"
		}
		i, ok := at[p]
		if !ok {
			i = len(gs)
			at[p] = i
			gs = append(gs, IndexGroup{Provider: p})
		}
		gs[i].Endpoints = append(gs[i].Endpoints, e)
	}
	return gs
}

// Message is a page that says one thing, such as why something was refused.
type Message struct{ Title, Text string }

// CSP is the pages' Content-Security-Policy: scripts only from racgate's own files (the
// launcher's), their inline style, and forms that post here. formAction adds origins a form's answer may redirect to (the
// log-out form's, to an identity provider's sign-out): browsers hold redirects after a
// form to form-action too.
func CSP(formAction ...string) string {
	return "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'" + strings.Join(append([]string{""}, formAction...), " ") + "; frame-ancestors 'none'"
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
