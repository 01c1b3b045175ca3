package gateway

import (
	"html/template"
	"net/http"

	"github.com/racgate/racgate/config"
)

// Server-rendered pages: login, the endpoint list and error pages. Styles are inline so the
// pages work even when the web client is not built.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} · racgate</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:28rem;margin:4rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}
label{display:block;margin:.6rem 0 .2rem}
input{width:100%;box-sizing:border-box;padding:.45rem;border:1px solid #bbc;border-radius:4px;font:inherit}
button{margin-top:1rem;padding:.45rem 1.1rem;border:0;border-radius:4px;background:#2557d6;color:#fff;font:inherit;cursor:pointer}
.error{background:#fde8e8;color:#8a1c1c;padding:.5rem .7rem;border-radius:4px}
ul{list-style:none;padding:0}li{margin:.4rem 0}
li a{display:block;padding:.6rem .8rem;border:1px solid #dde;border-radius:6px;text-decoration:none;color:inherit}
li a:hover{border-color:#2557d6}
.proto{float:right;color:#778;font-size:.85em;text-transform:uppercase}
header{display:flex;justify-content:space-between;align-items:center}
header form button{margin:0;background:#667}
</style></head><body><main>{{end}}

{{define "login"}}{{template "head" "Log in"}}
<h1>Log in to racgate</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></main></body></html>{{end}}

{{define "index"}}{{template "head" "Endpoints"}}
<header><h1>Hello, {{.User}}</h1>
<form method="post" action="/logout"><button type="submit">Log out</button></form></header>
{{if .Endpoints}}<ul>{{range .Endpoints}}
<li><a data-endpoint="{{.Name}}" href="/connect/{{.Name}}">{{.Name}}<span class="proto">{{.Protocol}}</span></a></li>{{end}}
</ul>{{else}}<p>No endpoints are open to you.</p>{{end}}
</main></body></html>{{end}}

{{define "message"}}{{template "head" .Title}}
<h1>{{.Title}}</h1><p>{{.Text}}</p><p><a href="/">Back to the endpoint list</a></p>
</main></body></html>{{end}}
`))

type loginPage struct{ Error, Next, Username string }

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
