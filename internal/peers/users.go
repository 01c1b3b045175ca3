package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LockFile takes an exclusive lock on a file in the temporary directory, waiting up to
// within. The lock spans processes (test binaries of several packages, and the bench,
// run at once) and is released when the returned file is closed.
func LockFile(name string, within time.Duration) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(within)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withUserLock runs fn holding the machine-wide lock for account changes: useradd,
// userdel and chpasswd each take /etc/passwd's or /etc/shadow's own lock and fail,
// rather than wait, when another process holds it.
func withUserLock(fn func() error) error {
	f, err := LockFile("racgate-users.lock", time.Minute)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn()
}

// EnsureUser creates the local account name if it is missing (with a home directory
// and a shell when home is true, else neither) and sets its password, for servers that
// check passwords with PAM (sshd, xrdp, Xvnc's Plain). It needs root.
func EnsureUser(name, password string, home bool) error {
	return withUserLock(func() error {
		if _, err := user.Lookup(name); err != nil {
			var unknown user.UnknownUserError
			if !errors.As(err, &unknown) {
				return fmt.Errorf("look up %s: %w", name, err)
			}
			useradd, ok := Lookup("useradd")
			if !ok {
				return errors.New("useradd not installed")
			}
			args := []string{"-M", "-s", "/usr/sbin/nologin", name}
			if home {
				args = []string{"-m", "-s", "/bin/bash", name}
			}
			if out, err := exec.Command(useradd, args...).CombinedOutput(); err != nil {
				return fmt.Errorf("useradd %s: %w: %s", name, err, out)
			}
		}
		chpasswd, ok := Lookup("chpasswd")
		if !ok {
			return errors.New("chpasswd not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, chpasswd)
		cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chpasswd %s: %w: %s", name, err, out)
		}
		return nil
	})
}

// TempUser creates a throwaway local account with a random name and password, without a
// home or a shell, removed when the test ends. It skips the test when not run as root (a failure under RACGATE_REQUIRE_PEERS=1).
func TempUser(t testing.TB) (name, password string) {
	t.Helper()
	Require(t, "useradd", "userdel", "chpasswd")
	RequireRoot(t, "creating a local user")
	var rnd [4]byte
	rand.Read(rnd[:])
	name, password = "rgtmp"+hex.EncodeToString(rnd[:]), "Tmp-pw-"+hex.EncodeToString(rnd[:])
	if err := EnsureUser(name, password, false); err != nil {
		t.Fatalf("peers: %v", err)
	}
	t.Cleanup(func() {
		userdel, _ := Lookup("userdel")
		withUserLock(func() error { return exec.Command(userdel, name).Run() })
	})
	return name, password
}
