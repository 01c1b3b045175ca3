package vnc

import (
	"errors"
	"fmt"
)

// ErrAuthFailed reports that the server refused our credentials. It is wrapped
// with the server's reason, if any: check it with errors.Is.
var ErrAuthFailed = errors.New("vnc: authentication failed")

// ErrPasswordNeeded: the server chose VNC authentication, and Config has neither a
// Password nor an AskPassword to get one. Nothing was sent: the caller may dial again
// with one.
var ErrPasswordNeeded = errors.New("vnc: the server asks for a password")

// ErrUnsupported reports a server that offers nothing this client can use
// (security types, VeNCrypt subtypes, a feature the server did not advertise).
var ErrUnsupported = errors.New("vnc: unsupported")

// ProtocolError reports malformed or hostile server input: which message or
// encoding was being read and why it was refused. The session cannot continue.
type ProtocolError struct {
	Message string // e.g. "ServerInit", "FramebufferUpdate/ZRLE"
	Reason  string
	Err     error // underlying cause, if any (e.g. a zlib error)
}

func (e *ProtocolError) Error() string {
	s := "vnc: bad " + e.Message + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProtocolError) Unwrap() error { return e.Err }

func protoErr(msg, format string, args ...any) *ProtocolError {
	return &ProtocolError{Message: msg, Reason: fmt.Sprintf(format, args...)}
}
