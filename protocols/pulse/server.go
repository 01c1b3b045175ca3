package pulse

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseServer reads a PulseAudio server string as host:port for Config.Addr: "host",
// "host:port", "[v6]:port" or a bare IPv6 address, with or without the "tcp:",
// "tcp4:" or "tcp6:" prefix PulseAudio writes; the port defaults to DefaultPort. Unix
// sockets and lists of servers are refused: the recorder speaks TCP only.
func ParseServer(server string) (string, error) {
	s := server
	for _, p := range []string{"tcp:", "tcp6:", "tcp4:"} {
		s = strings.TrimPrefix(s, p)
	}
	if s == "" || strings.HasPrefix(s, "unix:") || strings.HasPrefix(s, "/") || strings.ContainsAny(s, " ,{}") {
		return "", fmt.Errorf("pulse: %q is not a PulseAudio TCP server (want host, host:port or tcp:host:port)", server)
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			return "", fmt.Errorf("pulse: bad port in %q", server)
		}
		return s, nil
	}
	if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
		return net.JoinHostPort(s, DefaultPort), nil // a bare IPv6 address
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), DefaultPort), nil
}
