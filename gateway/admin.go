package gateway

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/gateway/pages"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
)

// The admin API and page: every live connection on every instance, and ending one.
//
//	GET    /api/connections        JSON: this instance, the instances, the connections
//	DELETE /api/connections/{id}   ends a connection wherever it runs (204, or 404)
//	GET    /admin                  the same as a page, with an End button per connection
//	                               and a Watch link (view-only, watch.go)
//
// Allowed with `Authorization: Bearer <token>` (admin-token-file; what `racgate
// connections` uses) or a login cookie of a member of admin-group.

func (s *Server) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/connections", s.handleListConnections)
	m.HandleFunc("DELETE /api/connections/{id}", s.handleKillConnection)
	m.HandleFunc("GET /admin", s.handleAdminPage)
	m.HandleFunc("POST /admin/kill", s.handleAdminKill)
}

// adminUser returns who is asking, or writes the refusal and returns ok false.
func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) (who string, ok bool) {
	cfg := s.state.Load().cfg
	if tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		if tokenIs(tok, cfg.AdminToken) {
			return "token", true
		}
		s.log.InfoContext(r.Context(), "admin API: bad token", "remote", r.RemoteAddr)
		http.Error(w, "bad admin token", http.StatusUnauthorized)
		return "", false
	}
	lg, err := s.signin.Current(r)
	if err != nil {
		http.Error(w, "log in as an administrator, or send an admin token", http.StatusUnauthorized)
		return "", false
	}
	if cfg.AdminGroup == "" || !lg.User.InGroup(cfg.AdminGroup) {
		http.Error(w, "administrators only", http.StatusForbidden)
		return "", false
	}
	return lg.User.Username, true
}

// apiConn is a connection as the API shows it (no login ID).
type apiConn struct {
	ID        string    `json:"id"`
	Endpoint  string    `json:"endpoint"`
	User      string    `json:"user"`
	Remote    string    `json:"remote,omitempty"`
	Instance  string    `json:"instance"`
	Started   time.Time `json:"started"`
	Seconds   int64     `json:"seconds"` // age when listed
	Unchecked bool      `json:"unchecked,omitempty"`
}

// ConnectionList is the body of GET /api/connections.
type ConnectionList struct {
	Instance    string           `json:"instance"` // the one that answered
	Instances   []store.Instance `json:"instances"`
	Connections []apiConn        `json:"connections"`
}

func (s *Server) connectionList(r *http.Request) (*ConnectionList, error) {
	ins, err := s.store.Instances(r.Context())
	if err != nil {
		return nil, err
	}
	conns, err := s.store.Connections(r.Context())
	if err != nil {
		return nil, err
	}
	out := &ConnectionList{Instance: s.store.InstanceID(), Instances: ins, Connections: make([]apiConn, len(conns))}
	now := time.Now()
	for i, c := range conns {
		out.Connections[i] = apiConn{ID: c.ID, Endpoint: c.Endpoint, User: c.User, Remote: c.Remote,
			Instance: c.Instance, Started: c.Started, Seconds: int64(now.Sub(c.Started).Seconds()), Unchecked: c.Unchecked}
	}
	return out, nil
}

func (s *Server) handleListConnections(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.adminUser(w, r); !ok {
		return
	}
	list, err := s.connectionList(r)
	if err != nil {
		s.log.Warn("admin API: list connections", "err", err)
		http.Error(w, "connection store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(list)
}

func (s *Server) handleKillConnection(w http.ResponseWriter, r *http.Request) {
	who, ok := s.adminUser(w, r)
	if !ok {
		return
	}
	if who != "token" && !signin.SameOrigin(s.state.Load().cfg, r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	status, msg := s.kill(r, who, r.PathValue("id"))
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	http.Error(w, msg, status)
}

// kill asks the store to end connection id; an audit line names the admin.
func (s *Server) kill(r *http.Request, who, id string) (int, string) {
	err := s.store.Terminate(r.Context(), id, "An administrator ended the connection.")
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "connection termination requested", "audit", true, "conn", id, "by", who, "remote", r.RemoteAddr)
		s.audit.Record(audit.ConnectionKilled, slog.String("conn", id), slog.String("by", who), slog.String("remote", r.RemoteAddr))
		return http.StatusNoContent, ""
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "no live connection " + id
	default:
		s.log.Warn("admin: terminate", "conn", id, "err", err)
		return http.StatusServiceUnavailable, "connection store unavailable"
	}
}

var adminPage = pages.Extend(`
{{define "admin"}}{{template "head" "Connections"}}
<style>main{max-width:60rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #dde}td form{margin:0}td button{margin:0;padding:.2rem .7rem;background:#b33}</style>
<header><h1>Live connections</h1><a href="/">Endpoints</a></header>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<h2>Instances</h2>
<table><tr><th>instance</th><th>connections</th><th>public URL</th><th>last seen</th></tr>
{{range .List.Instances}}<tr><td>{{.ID}}</td><td>{{.Conns}}</td><td>{{.PublicURL}}</td><td>{{.Seen.Format "15:04:05"}}</td></tr>{{end}}
</table>
<h2>Connections</h2>
{{if .List.Connections}}<table><tr><th>user</th><th>endpoint</th><th>instance</th><th>since</th><th>from</th><th></th><th></th></tr>
{{range .List.Connections}}<tr data-conn="{{.ID}}"><td>{{.User}}</td><td>{{.Endpoint}}</td><td>{{.Instance}}</td><td>{{.Started.Format "2006-01-02 15:04:05"}}</td><td>{{.Remote}}</td>
<td><a href="/watch/{{.ID}}" target="_blank" rel="noopener">Watch</a></td>
<td><form method="post" action="/admin/kill"><input type="hidden" name="id" value="{{.ID}}"><button type="submit">End</button></form></td></tr>{{end}}
</table>{{else}}<p>No live connections.</p>{{end}}
</main></body></html>{{end}}
`)

type adminData struct {
	List  *ConnectionList
	Error string
}

func (s *Server) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.adminUser(w, r); !ok {
		return
	}
	data := adminData{List: &ConnectionList{}}
	if l, err := s.connectionList(r); err != nil {
		data.Error = "The connection store is unavailable: " + err.Error()
	} else {
		data.List = l
	}
	if err := adminPage.Render(w, http.StatusOK, "admin", data); err != nil {
		s.log.Warn("render admin page", "err", err)
	}
}

func (s *Server) handleAdminKill(w http.ResponseWriter, r *http.Request) {
	if !signin.SameOrigin(s.state.Load().cfg, r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	who, ok := s.adminUser(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, signin.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if status, msg := s.kill(r, who, r.PostFormValue("id")); status != http.StatusNoContent {
		http.Error(w, msg, status)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}
