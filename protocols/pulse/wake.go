package pulse

import (
	"errors"
	"net"
	"os"
	"time"
)

// A source posts sound at its own period (a sink's monitor follows its sink, often
// 10 ms), whatever fragsize asked, and PulseAudio sends each piece as it comes. Read
// as it arrives, that wakes the process a hundred times a second for sound delivered
// a Fragment at a time. So once the record stream runs, the socket's receive
// low-water mark (SO_RCVLOWAT) is set to a Fragment: the kernel wakes the reader when
// a Fragment's worth has arrived, and a read still returns whatever is there. A source
// that stops short of a Fragment would leave its last sound in the kernel; tailReader
// takes it after a while.

// tailReader reads the connection; with tail set, a read that finds nothing waits at
// most tail for the low-water mark, then takes what has arrived below it.
type tailReader struct {
	nc   net.Conn
	tail time.Duration // 0: plain reads (handshake, or no low-water mark)
	stop func() bool   // Run is ending: a deadline is then its own, and final
}

func (t *tailReader) Read(p []byte) (int, error) {
	if t.tail == 0 || t.stop() {
		return t.nc.Read(p)
	}
	for {
		t.nc.SetReadDeadline(time.Now().Add(t.tail))
		n, err := t.nc.Read(p)
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) || t.stop() {
			return n, err
		}
		// Below the mark for tail: the next read takes what is there, or waits for
		// the mark again if nothing is.
	}
}

// watchFragment sets the low-water mark to n bytes and the tail reads wait for it
// to 2×fragment. Without a low-water mark (not a TCP socket, or not Linux) reads stay
// plain.
func (t *tailReader) watchFragment(n int, fragment time.Duration) {
	if setRcvLowat(t.nc, n) {
		t.tail = 2 * fragment
	}
}
