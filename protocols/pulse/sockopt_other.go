//go:build !linux

package pulse

import "net"

// setRcvLowat: the low-water mark is set on Linux only, where it is known to hold for
// epoll wake-ups.
func setRcvLowat(net.Conn, int) bool { return false }
