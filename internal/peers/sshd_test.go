package peers

import (
	"bufio"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestStartSSHD(t *testing.T) {
	Require(t, "sshd", "ssh-keygen")
	var s *SSHD
	t.Run("inner", func(t *testing.T) {
		s = StartSSHD(t)
		c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("banner: %v\n%s", err, s.Log())
		}
		if !strings.HasPrefix(line, "SSH-2.0-OpenSSH") {
			t.Fatalf("banner %q", line)
		}
		if f := strings.Fields(s.HostKey); len(f) != 2 || f[0] != "ssh-ed25519" || !strings.HasPrefix(f[1], "AAAA") {
			t.Fatalf("host key line %q", s.HostKey)
		}
		if !strings.HasPrefix(string(s.ClientKey), "-----BEGIN OPENSSH PRIVATE KEY-----") {
			t.Fatalf("client key is not an OpenSSH private key")
		}
		if s.User != SSHTestUser || s.Password == "" {
			t.Fatalf("user %q password set %v", s.User, s.Password != "")
		}
	})
	// After the subtest's cleanup sshd must be gone and its directory removed.
	if err := syscallKill0(s.PID); err == nil {
		t.Fatalf("sshd %d still running after cleanup", s.PID)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Fatalf("directory %s not removed: %v", s.Dir, err)
	}
}
