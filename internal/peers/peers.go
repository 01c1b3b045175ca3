// Package peers starts real servers (Xvnc, Xvfb, x11vnc and X clients) for tests,
// each on loopback, on free ports and displays, in its own temporary directory,
// and stops them by PID when the test ends.
package peers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv names the environment variable that turns a missing binary from a
// skip into a failure (CI installs every peer, so nothing may skip there).
const RequireEnv = "RACGATE_REQUIRE_PEERS"

// extraDirs are searched after PATH: sbin directories are often missing from
// PATH for non-root users, and Debian puts sshd and friends there.
var extraDirs = [...]string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"}

// Lookup finds a binary in PATH and the usual system directories.
func Lookup(bin string) (string, bool) {
	if p, err := exec.LookPath(bin); err == nil {
		return p, true
	}
	if filepath.IsAbs(bin) {
		return "", false
	}
	for _, d := range extraDirs {
		p := filepath.Join(d, bin)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// Require skips the test when one of bins is not installed, or fails it when
// RACGATE_REQUIRE_PEERS=1.
func Require(t testing.TB, bins ...string) {
	t.Helper()
	var missing []string
	for _, b := range bins {
		if _, ok := Lookup(b); !ok {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return
	}
	Skip(t, "binaries not installed: %v (.ci/run lists the Debian packages that have them)", missing)
}

// Skip skips the test because a peer, tool or privilege it needs is missing, or
// fails it when RACGATE_REQUIRE_PEERS=1: CI provides everything, so a skip
// there would hide a test that never ran. Every such skip goes through here.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("peers: %s (%s=1)", msg, RequireEnv)
	}
	t.Skipf("peers: skipping, %s", msg)
}

// geteuid is os.Geteuid; tests replace it to take the branch for non-root.
var geteuid = os.Geteuid

// RequireRoot skips the test when not run as root (through Skip).
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if geteuid() != 0 {
		Skip(t, "%s needs root", what)
	}
}

// mustLookup is Require plus the path, for starting a binary.
func mustLookup(t testing.TB, bin string) string {
	t.Helper()
	Require(t, bin)
	p, _ := Lookup(bin)
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; starters retry on failure.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peers: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
