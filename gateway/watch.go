package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/gateway/pages"
	"github.com/racgate/racgate/gateway/sharing"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/render/wire"
)

// Watching a live desktop session (docs/sharing.md). Its owner creates share links over
// its websocket (SHARE); whoever opens one logs in, must pass the endpoint's policies, and
// gets a viewer of the owner's display: pacing of its own, so a slow watcher never slows
// the owner, and input to the owner's remote only with a control link. Administrators
// watch any session from /admin, view-only. The owner's SHARES lists its links and
// watchers; revoking a link, its expiry and the owner's end end its watchers at once.
//
//	GET /share/{token}      the client page for a share link
//	GET /ws/share/{token}   its websocket
//	GET /watch/{conn}       the client page for an administrator watching connection conn
//	GET /ws/watch/{conn}    its websocket
//
// A link's token and a connection belong to one instance: another instance sends the
// browser there (its public-url).

func (s *Server) watchRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /share/{token}", s.handleSharePage)
	m.HandleFunc("GET /ws/share/{token}", s.handleShareWS)
	m.HandleFunc("GET /watch/{conn}", s.handleWatchPage)
	m.HandleFunc("GET /ws/watch/{conn}", s.handleWatchWS)
}

// ownerShares is an owner's side of sharing: its watchers and the expiry of its links.
type ownerShares struct {
	mu       sync.Mutex
	watchers map[*session]struct{}
	timers   map[uint32]*time.Timer // by link ID
	ended    bool                   // the owner is finishing: nobody joins
	term     termShare              // a terminal's output for watchers (watch_terminal.go)
}

// watcherInfo is how a watcher watches.
type watcherInfo struct {
	link  sharing.Link // the link it came by; zero for an administrator
	mode  sharing.Mode
	admin bool
}

// Why watchers end.
var (
	errHostEnded   = &sessionEnd{Code: closeRemoteEnded, Reason: "The session you were watching has ended."}
	errLinkRevoked = &sessionEnd{Code: closeForbidden, Reason: "The share link was revoked by the session's owner."}
	errLinkExpired = &sessionEnd{Code: closeForbidden, Reason: "The share link expired: ask the session's owner for a new one."}
	errLinkGone    = &sessionEnd{Code: closeForbidden, Reason: "This share link is not valid any more: its owner revoked it, or the session ended."}
)

// watcherLease stands in for a watcher's lease: a watcher holds no slot of its own (it
// adds no connection to the remote), and is known by the owner's connection ID.
type watcherLease struct{ c store.Conn }

func (l watcherLease) Conn() store.Conn            { return l.c }
func (watcherLease) Done() <-chan struct{}         { return nil }
func (watcherLease) Reason() string                { return "" }
func (watcherLease) Release(context.Context) error { return nil }

// sessionByConn is the live owner session of connection id on this instance.
func (s *Server) sessionByConn(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if ss.host == nil && ss.lease.Conn().ID == id {
			return ss
		}
	}
	return nil
}

// elsewhere is where to send a browser for something instance holds: nil when that is
// this instance (or no instance known), else the instance's public-url with r's path;
// why is set when the instance is known but cannot be reached that way.
func (s *Server) elsewhere(r *http.Request, instance string) (u *url.URL, why string) {
	if instance == "" || instance == s.store.InstanceID() {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	ins, err := s.store.Instances(ctx)
	if err != nil {
		return nil, "The connection store is unavailable: try again in a moment."
	}
	i := slices.IndexFunc(ins, func(in store.Instance) bool { return in.ID == instance })
	if i < 0 {
		return nil, ""
	}
	base, err := url.Parse(ins[i].PublicURL)
	if ins[i].PublicURL == "" || err != nil {
		return nil, fmt.Sprintf("The session runs on racgate instance %s, which has no public-url to send you to.", instance)
	}
	return base.ResolveReference(&url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}), ""
}

// findShare is the link of token and its owner's session, when lg may watch by it.
func (s *Server) findShare(r *http.Request, lg *signin.Login, token string) (sharing.Link, *session, *sessionEnd) {
	l, err := s.links.Find(token)
	switch {
	case errors.Is(err, sharing.ErrExpired):
		return l, nil, errLinkExpired
	case err != nil:
		return l, nil, errLinkGone
	}
	host := s.sessionByConn(l.Conn)
	if host == nil {
		return l, nil, errLinkGone
	}
	var d *authz.Denied
	if err := s.mayOpen(r, s.state.Load().cfg, lg, host.ep); errors.As(err, &d) && d.Policy != "" {
		return l, nil, &sessionEnd{Code: closeForbidden, Reason: d.Error(), Err: err}
	} else if err != nil {
		return l, nil, &sessionEnd{Code: closeForbidden, Reason: "This share link is for an endpoint that is not open to you."}
	}
	return l, host, nil
}

func (s *Server) handleSharePage(w http.ResponseWriter, r *http.Request) {
	lg, err := s.signin.Current(r)
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.EscapedPath()), http.StatusSeeOther)
		return
	}
	token := r.PathValue("token")
	if u, why := s.elsewhere(r, sharing.Instance(token)); u != nil {
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	} else if why != "" {
		s.render(w, http.StatusServiceUnavailable, "message", pages.Message{Title: "Not here", Text: why})
		return
	}
	if _, _, end := s.findShare(r, lg, token); end != nil {
		s.render(w, http.StatusForbidden, "message", pages.Message{Title: "Share link", Text: end.Reason})
		return
	}
	s.serveClient(w)
}

// acceptWatcher upgrades a watcher's websocket and finds its login; nil when it refused
// the request (with an HTTP error or a CLOSE).
func (s *Server) acceptWatcher(w http.ResponseWriter, r *http.Request) (*websocket.Conn, *signin.Login) {
	conn := s.acceptWS(w, r)
	if conn == nil {
		return nil, nil
	}
	lg, err := s.signin.Current(r)
	if err != nil {
		s.refuse(conn, &sessionEnd{Code: closeSessionEnded, Reason: "You are not logged in (or your login has expired): log in again.", Err: err})
		return nil, nil
	}
	return conn, lg
}

func (s *Server) handleShareWS(w http.ResponseWriter, r *http.Request) {
	conn, lg := s.acceptWatcher(w, r)
	if conn == nil {
		return
	}
	l, host, end := s.findShare(r, lg, r.PathValue("token"))
	if end != nil {
		s.refuse(conn, end)
		return
	}
	s.runWatcher(conn, r, lg, host, watcherInfo{link: l, mode: l.Mode})
}

// mayWatch reports whether lg is an administrator, who may watch any session.
func (s *Server) mayWatch(lg *signin.Login) bool {
	cfg := s.state.Load().cfg
	return cfg.AdminGroup != "" && lg.User.InGroup(cfg.AdminGroup)
}

func (s *Server) handleWatchPage(w http.ResponseWriter, r *http.Request) {
	lg, err := s.signin.Current(r)
	if err != nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.EscapedPath()), http.StatusSeeOther)
		return
	}
	if !s.mayWatch(lg) {
		s.render(w, http.StatusForbidden, "message", pages.Message{Title: "Administrators only", Text: "Only administrators watch other people's sessions."})
		return
	}
	id := r.PathValue("conn")
	if s.sessionByConn(id) == nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		conns, err := s.store.Connections(ctx)
		cancel()
		i := slices.IndexFunc(conns, func(c store.Conn) bool { return c.ID == id })
		if err == nil && i >= 0 {
			if u, why := s.elsewhere(r, conns[i].Instance); u != nil {
				http.Redirect(w, r, u.String(), http.StatusSeeOther)
				return
			} else if why != "" {
				s.render(w, http.StatusServiceUnavailable, "message", pages.Message{Title: "Not here", Text: why})
				return
			}
		}
		s.render(w, http.StatusNotFound, "message", pages.Message{Title: "No such connection", Text: "That connection has ended, or never was."})
		return
	}
	s.serveClient(w)
}

func (s *Server) handleWatchWS(w http.ResponseWriter, r *http.Request) {
	conn, lg := s.acceptWatcher(w, r)
	if conn == nil {
		return
	}
	if !s.mayWatch(lg) {
		s.refuse(conn, endWith(closeForbidden, "Only administrators watch other people's sessions."))
		return
	}
	host := s.sessionByConn(r.PathValue("conn"))
	if host == nil {
		s.refuse(conn, endWith(closeForbidden, "That connection has ended, or is not on this racgate instance."))
		return
	}
	s.runWatcher(conn, r, lg, host, watcherInfo{mode: sharing.View, admin: true})
}

// runWatcher is a watcher's life, from its admission to its CLOSE.
func (s *Server) runWatcher(conn *websocket.Conn, r *http.Request, lg *signin.Login, host *session, info watcherInfo) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	view := info.mode == sharing.View
	ws := &session{
		srv: s, conn: conn, ep: host.ep, user: lg.User.Username, who: lg.User, preq: s.policyRequest(r), loginID: lg.ID,
		stamp: lg.User.Stamp(), settings: host.settings, ctx: ctx, cancel: cancel, ctrl: make(chan []byte, ctrlQueue),
		lease:    watcherLease{host.lease.Conn()},
		readOnly: view || host.readOnly, noCopy: view || host.noCopy, noPaste: host.noPaste,
		host: host, watch: info,
	}
	ws.audio = wire.ParseCodecs(r.URL.Query().Get("audio"))
	ws.log = s.log.With("user", ws.user, "endpoint", host.ep.Name, "remote", r.RemoteAddr, "conn", host.lease.Conn().ID, "watching", host.user)
	if err := s.admit(ws); err != nil {
		s.refuse(conn, err)
		return
	}
	defer s.unregister(ws)
	// The login's expiry and its identity provider's verdict hold for a watcher too.
	t := time.AfterFunc(lg.Expires.Sub(s.now()), func() {
		ws.end(endWith(closeSessionEnded, "Your racgate login has expired: log in again."))
	})
	defer t.Stop()
	defer s.recheck(ws, &wsRequest{lg: lg})()
	ws.runWatch()
}

// runWatch joins the owner's display and streams it until either ends.
func (ss *session) runWatch() {
	start := time.Now()
	h := ss.host
	mode := ss.watch.mode.String()
	ss.log.Info("watch start", "mode", mode, "admin", ss.watch.admin, "link", ss.watch.link.ID)
	ss.srv.audit.Record(audit.WatchStart, ss.auditAttrs(slog.String("owner", h.user), slog.String("mode", mode),
		slog.Bool("admin", ss.watch.admin), slog.Uint64("link", uint64(ss.watch.link.ID)))...)
	var wg sync.WaitGroup
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	wg.Go(func() { ss.end(ss.readLoop(context.WithoutCancel(wctx))) })
	wg.Go(func() { ss.keepalive(wctx) })
	wg.Go(func() {
		select {
		case <-h.ctx.Done():
			ss.end(errHostEnded)
		case <-ss.ctx.Done():
		}
	})
	db, rb, tb := h.disp.Load(), h.remote.Load(), h.term.Load()
	if (db == nil || rb == nil) && tb == nil {
		ss.end(endWith(closeRemoteEnded, "The session is not connected yet: try again in a moment."))
	} else if err := h.addWatcher(ss); err != nil {
		ss.end(err)
	} else if tb != nil {
		ss.watchTerminal(wctx, &wg)
	} else {
		flags, sound := ss.desktopFlags(rb.r)
		if ss.stream(wire.Hello{Version: wire.Version, Kind: wire.KindDesktop, Flags: flags, Name: h.ep.Name}, db.d, sound, wctx, &wg) {
			ss.pumpControl(wctx, &wg)
		}
	}
	ss.finish(start, wcancel, &wg)
}

// addWatcher adds w to h's watchers, unless h is ending or w's link is no longer valid.
func (h *session) addWatcher(w *session) error {
	sh := &h.shared
	sh.mu.Lock()
	switch {
	case sh.ended:
		sh.mu.Unlock()
		return errHostEnded
	case len(sh.watchers) >= wire.MaxWatchers:
		sh.mu.Unlock()
		return endWith(closeLimit, "This session has as many watchers as it can take.")
	}
	if !w.watch.admin {
		// Under mu: a revoke or an expiry after this check finds w among the watchers.
		if _, err := h.srv.links.Find(w.watch.link.Token); err != nil {
			sh.mu.Unlock()
			if errors.Is(err, sharing.ErrExpired) {
				return errLinkExpired
			}
			return errLinkRevoked
		}
	}
	if sh.watchers == nil {
		sh.watchers = map[*session]struct{}{}
	}
	sh.watchers[w] = struct{}{}
	sh.mu.Unlock()
	if h.announces(w) { // else not even an unchanged SHARES: nothing tells the owner
		how := "view only"
		if !w.readOnly {
			how = "with control"
		}
		h.noticeOwner(fmt.Sprintf("%s is watching this session (%s).", w.user, how))
		h.sendShares()
	}
	return nil
}

// removeWatcher takes w off h's watchers.
func (h *session) removeWatcher(w *session) {
	sh := &h.shared
	sh.mu.Lock()
	_, was := sh.watchers[w]
	delete(sh.watchers, w)
	sh.dropPipe(w, io.EOF)
	ended := sh.ended
	sh.mu.Unlock()
	if !was || ended || !h.announces(w) {
		return
	}
	h.noticeOwner(fmt.Sprintf("%s stopped watching.", w.user))
	h.sendShares()
}

// announces reports whether h's owner is told about w: always for watchers who came by
// the owner's links, for administrators where the provider says so.
func (h *session) announces(w *session) bool { return !w.watch.admin || h.sharing.Announce }

func (h *session) noticeOwner(text string) {
	if m, ok := notice(wire.NoticeInfo, text); ok {
		h.queue(m.Append(nil))
	}
}

// leaveShares is finish's part of sharing: a watcher leaves its owner; an owner's links
// go (its watchers end as its context has).
func (ss *session) leaveShares() {
	if h := ss.host; h != nil {
		h.removeWatcher(ss)
		return
	}
	sh := &ss.shared
	sh.mu.Lock()
	sh.ended = true
	for _, t := range sh.timers {
		t.Stop()
	}
	sh.timers = nil
	for w := range sh.term.pipes {
		sh.dropPipe(w, io.EOF) // the output ended: watchers get what is left, then end
	}
	sh.mu.Unlock()
	ss.srv.links.Drop(ss.lease.Conn().ID)
}

// shareRequest applies the owner's SHARE (§ SHARE).
func (ss *session) shareRequest(m wire.Share) {
	if ss.host != nil || !ss.helloSent.Load() || (ss.disp.Load() == nil && ss.term.Load() == nil) {
		return // a watcher's, or before HELLO: ignored
	}
	if !ss.sharing.Enabled {
		ss.noticeOwner("Sharing is turned off for this endpoint.")
		return
	}
	conn := ss.lease.Conn().ID
	switch m.Op {
	case wire.ShareCreate:
		mode := sharing.Mode(m.Mode)
		if mode == sharing.Control && (!ss.sharing.AllowControl || ss.readOnly) {
			ss.noticeOwner("Links that give control are not allowed here: share a view instead.")
			return
		}
		ttl := ss.sharing.DefaultExpiry
		if m.Value > 0 {
			ttl = min(time.Duration(m.Value)*time.Second, ss.sharing.MaxExpiry)
		}
		// Under mu, as leaveShares's ended: a link is never made after the session's
		// links were dropped.
		sh := &ss.shared
		sh.mu.Lock()
		if sh.ended {
			sh.mu.Unlock()
			return
		}
		l, err := ss.srv.links.Create(conn, mode, ttl)
		if err != nil {
			sh.mu.Unlock()
			ss.noticeOwner("This session has as many share links as it can have: revoke one first.")
			return
		}
		if sh.timers == nil {
			sh.timers = map[uint32]*time.Timer{}
		}
		sh.timers[l.ID] = time.AfterFunc(ttl, func() { ss.linkEnded(l.ID, errLinkExpired) })
		sh.mu.Unlock()
		ss.log.Info("share link created", "link", l.ID, "mode", mode, "expires", l.Expires)
		ss.srv.audit.Record(audit.ShareCreated, ss.auditAttrs(slog.Uint64("link", uint64(l.ID)), slog.String("mode", mode.String()),
			slog.Time("expires", l.Expires))...)
	case wire.ShareRevoke:
		l, ok := ss.srv.links.Revoke(conn, m.Value)
		if !ok {
			return // § SHARE: an unknown id is ignored
		}
		ss.log.Info("share link revoked", "link", l.ID)
		ss.srv.audit.Record(audit.ShareRevoked, ss.auditAttrs(slog.Uint64("link", uint64(l.ID)))...)
		ss.linkEnded(l.ID, errLinkRevoked)
		return // linkEnded sent SHARES
	}
	ss.sendShares()
}

// linkEnded ends the watchers who came by link id (revoked, expired) and tells the owner.
func (ss *session) linkEnded(id uint32, why *sessionEnd) {
	sh := &ss.shared
	sh.mu.Lock()
	if t := sh.timers[id]; t != nil {
		t.Stop()
		delete(sh.timers, id)
	}
	for w := range sh.watchers {
		if !w.watch.admin && w.watch.link.ID == id {
			w.end(why)
		}
	}
	ended := sh.ended
	sh.mu.Unlock()
	if !ended {
		ss.sendShares()
	}
}

// sendShares queues SHARES for the owner: its live links and the watchers it is told of.
func (ss *session) sendShares() {
	var m wire.Shares
	base := ""
	if pu := ss.srv.state.Load().cfg.PublicURL; pu != nil {
		base = strings.TrimSuffix(pu.String(), "/")
	}
	now := ss.srv.now()
	for _, l := range ss.srv.links.Links(ss.lease.Conn().ID) {
		u := base + "/share/" + l.Token
		if len(u) > wire.MaxShareText {
			u = "/share/" + l.Token
		}
		left := math.Ceil(l.Expires.Sub(now).Seconds())
		m.Links = append(m.Links, wire.ShareLink{ID: l.ID, Mode: uint8(l.Mode), ExpiresIn: uint32(max(0, min(left, math.MaxUint32))), URL: u})
	}
	sh := &ss.shared
	sh.mu.Lock()
	for w := range sh.watchers {
		if ss.announces(w) {
			mode := uint8(sharing.Control)
			if w.readOnly {
				mode = uint8(sharing.View)
			}
			m.Watchers = append(m.Watchers, wire.Watcher{Link: w.watch.link.ID, Mode: mode, Name: wire.ValidText(w.user, wire.MaxShareText)})
		}
	}
	sh.mu.Unlock()
	slices.SortFunc(m.Watchers, func(a, b wire.Watcher) int { return strings.Compare(a.Name, b.Name) })
	ss.queue(m.Append(nil))
}
