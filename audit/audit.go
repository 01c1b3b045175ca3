// Package audit writes racgate's audit trail: one JSON object per line, one line per
// event, for a SIEM or a log shipper to read. docs/audit.md lists the events and their
// fields. A Log is safe for concurrent use; lines are written whole.
//
// It imports no racgate package.
package audit

import (
	"context"
	"io"
	"log/slog"
	"os"
)

// Events.
const (
	Login             = "login"              // a built-in user signed in
	LoginFailed       = "login_failed"       // a wrong username or password
	Logout            = "logout"             // Log out, any identity source
	SignedOut         = "signed_out"         // the forward-auth proxy no longer signs the user in
	PolicyDenied      = "policy_denied"      // a policy refused an endpoint
	ConnectionStart   = "connection_start"   // a connection to an endpoint began
	ConnectionEnd     = "connection_end"     // ... and ended
	ConnectionRefused = "connection_refused" // a limit or the store refused a connection
	ConnectionKilled  = "connection_killed"  // an administrator ended a connection
	AccessWithdrawn   = "access_withdrawn"   // a config reload ended a connection
	RecordingViewed   = "recording_viewed"   // an auditor opened a recording
	ShareCreated      = "share_created"      // a session's owner created a share link
	ShareRevoked      = "share_revoked"      // ... and revoked it
	WatchStart        = "watch_start"        // someone began watching a session (share link, admin)
	WatchEnd          = "watch_end"          // ... and stopped
	FileTransfer      = "file_transfer"      // a file uploaded, downloaded, renamed, deleted, or a folder made (or refused)
)

// Log is an audit trail. The zero Log and a nil *Log discard events.
type Log struct {
	l        *slog.Logger
	instance string
	closer   io.Closer
}

// New writes events to w; instance is this racgate's name, in every line.
func New(w io.Writer, instance string) *Log {
	// slog's handler writes each record with one Write, under its own lock: lines from
	// concurrent events never interleave.
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		switch {
		case len(groups) > 0:
		case a.Key == slog.LevelKey:
			return slog.Attr{} // every event is one level
		case a.Key == slog.MessageKey:
			a.Key = "event"
		}
		return a
	}})
	return &Log{l: slog.New(h), instance: instance}
}

// Open appends events to the file at path (created 0600 if need be).
func Open(path, instance string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	a := New(f, instance)
	a.closer = f
	return a, nil
}

// Record writes one event with its fields.
func (a *Log) Record(event string, attrs ...slog.Attr) {
	if a == nil || a.l == nil {
		return
	}
	a.l.LogAttrs(context.Background(), slog.LevelInfo, event, append([]slog.Attr{slog.String("instance", a.instance)}, attrs...)...)
}

// Close closes the file Open opened.
func (a *Log) Close() error {
	if a == nil || a.closer == nil {
		return nil
	}
	return a.closer.Close()
}
