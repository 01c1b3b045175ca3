package anontls

import (
	"errors"
	"fmt"
)

// Alert levels and descriptions (RFC 5246 §7.2).
const (
	alertLevelWarning = 1
	alertLevelFatal   = 2

	alertCloseNotify          = 0
	alertUnexpectedMessage    = 10
	alertBadRecordMAC         = 20
	alertRecordOverflow       = 22
	alertHandshakeFailure     = 40
	alertIllegalParameter     = 47
	alertDecodeError          = 50
	alertDecryptError         = 51
	alertProtocolVersion      = 70
	alertInsufficientSecurity = 71
	alertInternalError        = 80
	alertNoRenegotiation      = 100
	alertUnsupportedExtension = 110
)

// ErrProtocol reports malformed or unacceptable input from the server: a bad
// record, handshake message or parameter. The connection cannot continue.
var ErrProtocol = errors.New("anontls: protocol error")

// AlertError is a fatal alert received from the server (RFC 5246 §7.2).
type AlertError struct {
	Level, Description uint8
}

func (e *AlertError) Error() string {
	return fmt.Sprintf("anontls: server sent alert %d (level %d)", e.Description, e.Level)
}

// localError is an error we detected; alert is what we tell the server.
type localError struct {
	alert uint8
	err   error
}

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// protoErr makes an ErrProtocol that sends alert to the server.
func protoErr(alert uint8, format string, args ...any) error {
	return &localError{alert: alert, err: fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))}
}
