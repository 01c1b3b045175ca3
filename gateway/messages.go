package gateway

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/racgate/racgate/render/wire"
)

// Every CLOSE about the remote machine, or the way to it, is worded one way whatever the
// protocol (docs/protocol.md § CLOSE): what happened, naming the endpoint, then what the
// user can do. Protocol adapters say what happened as a *failure; the session, which
// knows the endpoint, words it (dialError, remoteEnded).

type failureKind int

const (
	failUnreachable failureKind = iota // could not connect
	failSlow                           // did not finish connecting in time
	failAuth                           // refused the credentials
	failProtocol                       // sent what racgate cannot read or does not support
	failEnded                          // the remote ended the session (logout, exit)
	failLost                           // the connection to the remote broke
	failLicence                        // RDP: no licence for the session
	failSecurity                       // RDP: the security mode the endpoint names was refused
	failTrust                          // racgate does not trust the server (certificate, host key)
	failSettings                       // the endpoint's settings are wrong
)

// failure is how a remote machine, or the way to it, failed a session.
type failure struct {
	kind failureKind
	// detail is put in after what happened, for the user: " over RDP", " (exit status
	// 3)", ": the user is locked out".
	detail string
	err    error
}

func (f *failure) Error() string {
	if f.err == nil {
		return "remote: " + f.end("endpoint").Reason
	}
	return f.err.Error()
}

func (f *failure) Unwrap() error { return f.err }

// end is f's CLOSE on the endpoint named ep.
func (f *failure) end(ep string) *sessionEnd {
	q := strconv.Quote(ep)
	var code wire.CloseCode
	var text string
	switch f.kind {
	case failUnreachable:
		code, text = closeUnreachable, "%s could not be reached%s. Check that it is running, then reconnect; if it goes on, tell your administrator."
	case failSlow:
		code, text = closeUnreachable, "%s did not finish connecting in time%s. Reconnect; if it goes on, tell your administrator."
	case failAuth:
		code, text = closeAuthFailed, "%s refused the credentials%s. Check the username and password, then reconnect."
	case failProtocol:
		code, text = closeProtocolError, "%s sent something racgate could not understand%s. Tell your administrator."
	case failEnded:
		code, text = closeRemoteEnded, "The session on %s ended%s. Reconnect to start a new one."
	case failLost:
		code, text = closeRemoteEnded, "The connection to %s was lost%s. Reconnect to go on."
	case failLicence:
		code, text = closeForbidden, "%s refused to license the session%s. Tell your administrator."
	case failSecurity:
		code, text = closeProtocolError, "%s refused the RDP security mode%s. Tell your administrator: the endpoint's security setting has to change."
	case failTrust:
		code, text = closeForbidden, "racgate does not trust %s%s. Tell your administrator."
	default: // failSettings
		code, text = closeInternal, "The settings of %s are invalid%s. Tell your administrator."
	}
	return &sessionEnd{Code: code, Reason: fmt.Sprintf(text, q, f.detail), Err: f.err}
}

// failed is a failure of kind with detail, caused by err.
func failed(kind failureKind, detail string, err error) *failure {
	return &failure{kind: kind, detail: detail, err: err}
}

// asEnd words err for the user when it is a failure or already a CLOSE; ok false when
// it is neither.
func asEnd(err error, ep string) (*sessionEnd, bool) {
	var se *sessionEnd
	var f *failure
	switch {
	case errors.As(err, &se):
		return se, true
	case errors.As(err, &f):
		return f.end(ep), true
	}
	return nil, false
}
