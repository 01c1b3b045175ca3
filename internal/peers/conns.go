package peers

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Accepted counts the established TCP connections whose local port is port: the
// connections a server listening there has accepted and not yet closed. It reads
// /proc/net/tcp and tcp6, so it sees every process's sockets.
func Accepted(t testing.TB, port int) int {
	t.Helper()
	n, found := 0, false
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		found = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 4 || fs[3] != "01" { // st 01: ESTABLISHED
				continue
			}
			i := strings.LastIndexByte(fs[1], ':') // local_address: hex IP, then :hex port
			if p, err := strconv.ParseUint(fs[1][i+1:], 16, 16); err == nil && int(p) == port {
				n++
			}
		}
		f.Close()
	}
	if !found {
		t.Fatal("peers: no /proc/net/tcp to count connections in")
	}
	return n
}
