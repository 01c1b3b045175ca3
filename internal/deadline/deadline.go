// Package deadline ties a connection's I/O to a context: the protocol
// clients use it so that cancelling a context interrupts blocked reads and
// writes, during the handshake and while a session runs.
package deadline

import (
	"context"
	"fmt"
	"time"
)

// Conn is the part of a net.Conn that deadline needs. For a TLS connection
// pass the underlying TCP connection, whose deadline the TLS layer shares.
type Conn interface {
	SetDeadline(t time.Time) error
}

// past is a deadline already gone, which makes blocked I/O return at once.
var past = time.Unix(1, 0)

// OnDone makes conn's blocked and future reads and writes fail once ctx is
// done, by setting its deadline in the past. stop undoes this and reports
// whether it did so before ctx was done (as context.AfterFunc's stop does).
func OnDone(ctx context.Context, conn Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { conn.SetDeadline(past) })
}

// Bound runs fn, which does I/O on conn, with ctx bounding it (see OnDone).
// When ctx ends before or during fn, Bound returns "<what>: <ctx.Err()>",
// wrapping ctx.Err() and naming fn's error, if any, in parentheses; conn's
// deadline is then left in the past. Otherwise it clears conn's deadline and
// returns fn's error unchanged.
func Bound(ctx context.Context, conn Conn, what string, fn func() error) error {
	stop := OnDone(ctx, conn)
	err := fn()
	if !stop() || ctx.Err() != nil {
		if err == nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		// fn's error is named, not wrapped: it is what the deadline Bound forced did
		// (an i/o timeout), and must not make a cancellation look like a timeout or a
		// protocol error to errors.Is.
		return fmt.Errorf("%s: %w (%v)", what, ctx.Err(), err)
	}
	conn.SetDeadline(time.Time{})
	return err
}
