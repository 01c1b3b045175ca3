package peers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SSHTestUser is the local account StartSSHD logs into. It is created on
// first use (tests run as root here and in CI) and only sshd instances
// started by StartSSHD allow it (AllowUsers).
const SSHTestUser = "racgate-test"

// SSHTestPassword is SSHTestUser's password. It is fixed rather than random:
// test binaries of several packages run at the same time and a password set
// by one must not break the others' sessions.
const SSHTestPassword = "racgate-Test-pw-4711"

// SSHD is a running OpenSSH server for one test.
type SSHD struct {
	Addr      string // "127.0.0.1:P"
	User      string
	Password  string
	HostKey   string // the server's public key as an authorized_keys line ("ssh-ed25519 AAAA...")
	ClientKey []byte // an unencrypted OpenSSH private key authorized for User
	Dir       string // config, keys and the log
	PID       int
}

// StartSSHD runs /usr/sbin/sshd with its own sshd_config in a temporary
// directory on a free loopback port, and stops it (by PID) when the test ends.
// extraConfig lines ("PasswordAuthentication no") go first in sshd_config,
// where they win: sshd keeps the first value it reads for a keyword.
func StartSSHD(t testing.TB, extraConfig ...string) *SSHD {
	t.Helper()
	Require(t, "sshd", "ssh-keygen", "useradd", "chpasswd")
	// sshd needs root to switch to the test user, and so do useradd and
	// chpasswd; tests run as root here and in CI.
	RequireRoot(t, "StartSSHD")
	bin, _ := Lookup("sshd")
	keygen, _ := Lookup("ssh-keygen")
	if err := EnsureUser(SSHTestUser, SSHTestPassword, true); err != nil {
		t.Fatalf("peers: test user %s: %v", SSHTestUser, err)
	}
	// sshd reads AuthorizedKeysFile with the user's privileges, so the
	// directory must be traversable by that user; t.TempDir's parents are
	// 0700. Our own 0755 directory holds only public material readable by
	// others; the private host key file itself is 0600.
	dir, err := os.MkdirTemp("", "racgate-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hostKeyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	clientKeyPath := filepath.Join(dir, "client_ed25519")
	for _, k := range []string{hostKeyPath, clientKeyPath} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "racgate-test", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("peers: ssh-keygen %s: %v: %s", k, err, out)
		}
	}
	hostPub, err := os.ReadFile(hostKeyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := os.ReadFile(clientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, err := os.ReadFile(clientKeyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SSHTestUser+"_keys"), clientPub, 0o644); err != nil {
		t.Fatal(err)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("peers: /run/sshd: %v", err)
	}

	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		conf := filepath.Join(dir, fmt.Sprintf("sshd_config.%d", attempt))
		logPath := filepath.Join(dir, fmt.Sprintf("sshd.%d.log", attempt))
		if err := os.WriteFile(conf, []byte(sshdConfig(dir, hostKeyPath, port, extraConfig)), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		// -D: stay in the foreground so the PID we hold is the listener;
		// -e: log to stderr (our log file) instead of syslog.
		cmd := exec.Command(bin, "-f", conf, "-D", "-e")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Dir = dir
		p, err := startProcess(t, cmd)
		logf.Close()
		if err != nil {
			t.Fatalf("peers: sshd: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: sshd on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return &SSHD{
			Addr:      addr,
			User:      SSHTestUser,
			Password:  SSHTestPassword,
			HostKey:   authorizedKeyLine(string(hostPub)),
			ClientKey: clientKey,
			Dir:       dir,
			PID:       p.cmd.Process.Pid,
		}
	}
	t.Fatal(lastErr)
	return nil
}

// Log returns the server's log so far (for failure messages).
func (s *SSHD) Log() string {
	matches, _ := filepath.Glob(filepath.Join(s.Dir, "sshd.*.log"))
	var b strings.Builder
	for _, m := range matches {
		b.WriteString(logTail(m))
	}
	return b.String()
}

func sshdConfig(dir, hostKey string, port int, extra []string) string {
	var pre strings.Builder
	for _, l := range extra {
		pre.WriteString(strings.TrimSpace(l))
		pre.WriteByte('\n')
	}
	return fmt.Sprintf(`# Written by racgate's internal/peers for one test.
%sPort %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
UsePAM yes
AllowUsers %s
PermitRootLogin no
# The keys file lives in our temporary directory, owned by root.
AuthorizedKeysFile %s
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 64
MaxAuthTries 10
LoginGraceTime 30
AcceptEnv LANG LC_* TZ
Subsystem sftp internal-sftp
`, pre.String(), port, hostKey, filepath.Join(dir, "sshd.pid"), SSHTestUser,
		filepath.Join(dir, "%u_keys"))
}

// authorizedKeyLine keeps "type base64" of a .pub file, dropping the comment.
func authorizedKeyLine(pub string) string {
	f := strings.Fields(pub)
	if len(f) < 2 {
		return strings.TrimSpace(pub)
	}
	return f[0] + " " + f[1]
}

// AuthorizeKey adds an authorized_keys line ("ssh-ed25519 AAAA...") for User.
func (s *SSHD) AuthorizeKey(t testing.TB, line string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.Dir, s.User+"_keys"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.TrimSpace(line) + "\n"); err != nil {
		t.Fatal(err)
	}
}

// UserDir makes a new directory owned by SSHTestUser (under /tmp: the test's own
// temporary directories are root's, 0700), removed when the test ends: somewhere the
// remote user may write, e.g. an SFTP root.
func (s *SSHD) UserDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "racgate-sshd-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u, err := user.Lookup(SSHTestUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
