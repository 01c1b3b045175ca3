package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render/wire"
)

// TestCloseWording: a remote's failure reads the same for every protocol: what happened,
// naming the endpoint (quoted: names have spaces), then what to do.
func TestCloseWording(t *testing.T) {
	ep := &config.Endpoint{Name: "Windows box"}
	refused := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	for _, c := range []struct {
		protocol string
		err      error
		code     wire.CloseCode
		says     string
		next     string
	}{
		{"vnc", dialError(refused, ep), wire.CloseUnreachable, `"Windows box" could not be reached.`, "Check that it is running, then reconnect"},
		{"rdp", rdpDialError(refused, ep), wire.CloseUnreachable, `"Windows box" could not be reached over RDP.`, "Check that it is running, then reconnect"},
		{"ssh", sshDialError(refused, ep), wire.CloseUnreachable, `"Windows box" could not be reached over SSH.`, "Check that it is running, then reconnect"},
		{"vnc", dialError(errRemoteAuth, ep), wire.CloseAuthFailed, `"Windows box" refused the credentials.`, "Check the username and password, then reconnect."},
		{"rdp", rdpDialError(rdp.ErrAuthFailed, ep), wire.CloseAuthFailed, `"Windows box" refused the credentials.`, "Check the username and password, then reconnect."},
		{"ssh", sshDialError(&ssh.AuthError{}, ep), wire.CloseAuthFailed, `"Windows box" refused the credentials: `, "Check the username and password, then reconnect."},
		{"vnc", remoteEnded(errRemoteProtocol, ep), wire.CloseProtocolError, `"Windows box" sent something racgate could not understand.`, "Tell your administrator."},
		{"rdp", remoteEnded(rdpRunError(&rdp.ProtocolError{PDU: "Demand Active", Reason: "short"}), ep), wire.CloseProtocolError, `"Windows box" sent something racgate could not understand.`, "Tell your administrator."},
		{"vnc", remoteEnded(errors.New("EOF"), ep), wire.CloseRemoteEnded, `The session on "Windows box" ended.`, "Reconnect to start a new one."},
		{"rdp", remoteEnded(rdpRunError(errors.New("EOF")), ep), wire.CloseRemoteEnded, `The session on "Windows box" ended.`, "Reconnect to start a new one."},
		{"ssh", remoteEnded(failed(failEnded, " (exit status 3)", nil), ep), wire.CloseRemoteEnded, `The session on "Windows box" ended (exit status 3).`, "Reconnect to start a new one."},
		{"ssh", remoteEnded(failed(failLost, "", errors.New("reset")), ep), wire.CloseRemoteEnded, `The connection to "Windows box" was lost.`, "Reconnect to go on."},
		{"rdp", remoteEnded(rdpRunError(rdp.ErrLicense), ep), wire.CloseForbidden, `"Windows box" refused to license the session.`, "Tell your administrator."},
		{"vnc", dialError(failed(failSettings, `: quality: want 0-9`, errors.New("bad")), ep), wire.CloseInternal, `The settings of "Windows box" are invalid: quality: want 0-9.`, "Tell your administrator."},
	} {
		var se *sessionEnd
		if !errors.As(c.err, &se) {
			t.Fatalf("%s %s: %T is not a CLOSE", c.protocol, c.says, c.err)
		}
		if se.Code != c.code || !strings.Contains(se.Reason, c.says) || !strings.Contains(se.Reason, c.next) {
			t.Errorf("%s: CLOSE %d %q; want %d saying %q, then %q", c.protocol, se.Code, se.Reason, c.code, c.says, c.next)
		}
		if !strings.Contains(se.Reason, `"Windows box"`) {
			t.Errorf("%s: %q does not name the endpoint", c.protocol, se.Reason)
		}
	}
}
