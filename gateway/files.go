package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/files"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render/wire"
)

// A session's file transfer (docs/files.md). FILES gives the owner's browser a token;
// requests under /files/{token}/ reach the files package's handler once the signed-in
// user is found to be the session's. The file system opens on the first request (an
// SFTP channel on the session's own SSH connection) and closes when the session ends.

// sftpSettings are an endpoint's SFTP settings (Guacamole's names).
type sftpSettings struct {
	enabled          bool
	dir              string // sftp-root-directory; "/" when unset, as in Guacamole
	noUpload, noDown bool
}

func sftpOptions(set config.Settings) sftpSettings {
	o := sftpSettings{enabled: set.Bool("enable-sftp"), dir: set["sftp-root-directory"],
		noUpload: set.Bool("sftp-disable-upload"), noDown: set.Bool("sftp-disable-download")}
	if o.dir == "" {
		o.dir = "/"
	}
	return o
}

// sftpHostConfig is where a desktop's files are (enable-sftp on a VNC or RDP endpoint):
// an SSH host, by default the desktop's own machine on port 22, logged into with the
// sftp-* settings, or else the connection's username, and its password only when the
// SFTP host is the desktop's own machine (a password is not sent to another host unasked).
func sftpHostConfig(set config.Settings) (addr string, cfg ssh.Config, err error) {
	host := cmp.Or(set["sftp-hostname"], set["hostname"])
	pass := set["sftp-password"]
	if pass == "" && set["sftp-private-key"] == "" && host == set["hostname"] {
		pass = set["password"]
	}
	cfg = ssh.Config{
		User:     cmp.Or(set["sftp-username"], set["username"]),
		Password: pass,
		HostKey:  set["sftp-host-key"],
		// known-hosts-file is also the SSH endpoints' setting: one file for both.
		KnownHostsFile: set["known-hosts-file"],
	}
	if k := set["sftp-private-key"]; k != "" {
		cfg.PrivateKey = []byte(k)
	}
	if p := set["sftp-passphrase"]; p != "" {
		cfg.Passphrase = []byte(p)
	}
	switch {
	case host == "":
		return "", cfg, errors.New("setting sftp-hostname: enable-sftp needs an SFTP host")
	case cfg.User == "":
		return "", cfg, errors.New("setting sftp-username: enable-sftp needs a username for the SFTP host")
	case cfg.HostKey == "" && cfg.KnownHostsFile == "":
		return "", cfg, errors.New("setting sftp-host-key: enable-sftp needs the SFTP host's key (or known-hosts-file)")
	}
	return net.JoinHostPort(host, cmp.Or(set["sftp-port"], "22")), cfg, nil
}

// sessionFiles is one session's file transfer.
type sessionFiles struct {
	token string
	dir   string
	opts  files.Options
	open  func() (files.FS, error)

	mu     sync.Mutex
	h      *files.Handler
	fsys   files.FS
	closed bool
}

// errFilesEnded: a request came after its session ended.
var errFilesEnded = errors.New("the session has ended")

// handler opens the file system on first use.
func (sf *sessionFiles) handler() (*files.Handler, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	switch {
	case sf.closed:
		return nil, errFilesEnded
	case sf.h != nil:
		return sf.h, nil
	}
	fsys, err := sf.open()
	if err != nil {
		return nil, err
	}
	root, err := files.NewRoot(fsys, sf.dir)
	if err != nil {
		fsys.Close()
		return nil, err
	}
	sf.fsys, sf.h = fsys, files.NewHandler(root, sf.opts)
	return sf.h, nil
}

func (sf *sessionFiles) close() {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	sf.closed = true
	if sf.fsys != nil {
		sf.fsys.Close()
	}
}

// message is the FILES that tells the browser.
func (sf *sessionFiles) message() wire.Files {
	var flags uint8
	if !sf.opts.NoUpload {
		flags |= wire.FilesUpload
	}
	if !sf.opts.NoDownload {
		flags |= wire.FilesDownload
	}
	return wire.Files{Flags: flags, MaxUpload: uint64(max(sf.opts.MaxUpload, 0)), Token: sf.token}
}

// dailyQuota is a user's allowance of bytes a day (files: {daily-user-limit}), counted
// in the store under the user and the UTC date, so that every instance sharing the store
// counts against one figure. Reserve and Release change it by compare-and-swap.
type dailyQuota struct {
	st    store.Store
	user  string // identity source and username
	limit int64
	now   func() time.Time
}

// quotaTries bounds compare-and-swap rounds against other transfers of the same user.
const quotaTries = 16

func (q *dailyQuota) key(day time.Time) string {
	return "files-quota:" + day.Format("2006-01-02") + ":" + q.user
}

// change adds f(used) - used to the day's figure; f sees the current figure.
func (q *dailyQuota) change(ctx context.Context, f func(used int64) int64) (int64, error) {
	now := q.now().UTC()
	key := q.key(now)
	// Kept a day past the date's end, then gone.
	until := time.Date(now.Year(), now.Month(), now.Day()+2, 0, 0, 0, 0, time.UTC)
	for range quotaTries {
		old, err := q.st.Data(ctx, key)
		if err != nil {
			return 0, err
		}
		used, _ := strconv.ParseInt(string(old), 10, 64)
		next := max(f(used), 0)
		if next == used {
			return used, nil
		}
		ok, err := q.st.SwapData(ctx, key, old, []byte(strconv.FormatInt(next, 10)), until)
		if err != nil {
			return 0, err
		}
		if ok {
			return used, nil
		}
	}
	return 0, errors.New("the transfer limit is too busy to count")
}

func (q *dailyQuota) Reserve(ctx context.Context, want int64) (int64, error) {
	var got int64
	_, err := q.change(ctx, func(used int64) int64 {
		got = max(min(want, q.limit-used), 0)
		return used + got
	})
	if err != nil {
		return 0, err
	}
	return got, nil
}

func (q *dailyQuota) Release(ctx context.Context, unused int64) {
	q.change(ctx, func(used int64) int64 { return used - unused })
}

// sftpCapable is a terminal whose connection can open SFTP (protocols/ssh.Session).
type sftpCapable interface{ SFTP() (*sftp.Client, error) }

// startFiles sets up the file transfer of an SSH session on t, if its endpoint has it;
// nil when it has not.
func (ss *session) startFiles(t terminal) *sessionFiles {
	sc, ok := t.(sftpCapable)
	if !ok {
		return nil
	}
	return ss.newFiles(sftpOptions(ss.settings), func() (files.FS, error) {
		c, err := sc.SFTP()
		if err != nil {
			return nil, err
		}
		return files.NewSFTP(c), nil
	})
}

// startDesktopFiles sets up the file transfer of a VNC or RDP session, on an SSH host
// of its own (sftpHostConfig), if its endpoint has it; nil when it has not.
func (ss *session) startDesktopFiles() *sessionFiles {
	if ss.drive != nil {
		return ss.startDriveFiles() // an RDP drive's folder, rather than an SFTP host
	}
	return ss.newFiles(sftpOptions(ss.settings), func() (files.FS, error) {
		addr, cfg, err := sftpHostConfig(ss.settings)
		if err != nil {
			return nil, err
		}
		cfg.Logger = ss.log
		c, err := ssh.DialSFTP(ss.ctx, addr, cfg)
		if err != nil {
			return nil, err
		}
		return sftpConnFS{files.NewSFTP(c.Client), c}, nil
	})
}

// sftpConnFS closes its connection with the file system.
type sftpConnFS struct {
	*files.SFTP
	conn *ssh.SFTPConn
}

func (f sftpConnFS) Close() error { return f.conn.Close() }

// newFiles is a session's file transfer through open, if o enables it; owners only.
func (ss *session) newFiles(o sftpSettings, open func() (files.FS, error)) *sessionFiles {
	if !o.enabled || ss.host != nil {
		return nil
	}
	limits := ss.srv.state.Load().cfg.FilesFor(ss.ep)
	sf := &sessionFiles{token: rand.Text(), dir: o.dir, open: open,
		opts: files.Options{NoUpload: o.noUpload, NoDownload: o.noDown, MaxUpload: limits.MaxUpload,
			Event: ss.fileEvent, Busy: ss.touch}}
	if limits.DailyUserLimit > 0 {
		sf.opts.Quota = &dailyQuota{st: ss.srv.store, user: ss.who.Source + ":" + ss.user, limit: limits.DailyUserLimit, now: time.Now}
	}
	ss.files.Store(sf)
	return sf
}

// fileEvent writes a file operation to the audit trail and the session's log.
func (ss *session) fileEvent(e files.Event) {
	attrs := []slog.Attr{slog.String("op", e.Op), slog.String("path", e.Path)}
	if e.To != "" {
		attrs = append(attrs, slog.String("to", e.To))
	}
	if e.Op == "upload" || e.Op == "download" {
		attrs = append(attrs, slog.Int64("bytes", e.Bytes))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	ss.srv.audit.Record(audit.FileTransfer, ss.auditAttrs(attrs...)...)
	args := make([]any, len(attrs))
	for i, a := range attrs {
		args[i] = a
	}
	ss.log.Info("file", args...)
}

// sessionByFiles is the live session whose file transfer token is token.
func (s *Server) sessionByFiles(token string) (*session, *sessionFiles) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if sf := ss.files.Load(); sf != nil && sf.token == token {
			return ss, sf
		}
	}
	return nil, nil
}

func (s *Server) filesRoutes(m *http.ServeMux) {
	m.HandleFunc("/files/{token}/{op}", s.handleFiles)
}

// handleFiles passes a file request to its session's handler: only the session's own
// user, signed in, and for what changes files, from the page's own origin.
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, text string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		fmt.Fprintf(w, "{\"error\":%s}\n", strconv.Quote(text))
	}
	lg, err := s.signin.Current(r)
	if err != nil {
		fail(http.StatusUnauthorized, "Sign in again.")
		return
	}
	if r.Method != http.MethodGet && !signin.SameOrigin(s.state.Load().cfg, r) {
		fail(http.StatusForbidden, "cross-origin request refused")
		return
	}
	ss, sf := s.sessionByFiles(r.PathValue("token"))
	if ss == nil || ss.user != lg.User.Username || ss.who.Source != lg.User.Source {
		fail(http.StatusNotFound, "That session has ended, or is not yours.")
		return
	}
	h, err := sf.handler()
	if err != nil {
		ss.log.Warn("file transfer: cannot open", "err", err)
		fail(http.StatusBadGateway, "The remote machine's file transfer could not start: "+err.Error())
		return
	}
	h.ServeHTTP(w, r)
}
