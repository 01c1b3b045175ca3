package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// sshUser is the local account the SSH scenarios log into. It is the bench's own (the
// tests' internal/peers account is another), created on first use with no home and a
// fresh random password each run; only the bench's sshd allows it.
const sshUser = "racgate-bench"

// Terminal size of the SSH scenarios, in cells: about what a 1024×768 browser window
// holds with xterm.js's default font (8×16 pixels a cell).
const (
	sshCols = 128
	sshRows = 48
)

// sshd is a running OpenSSH server whose sessions all run one command (ForceCommand),
// whatever the client asks: the scenario's workload, the same through every gateway.
type sshd struct {
	p        *proc
	Addr     string
	Password string
	HostKey  string // "ssh-ed25519 AAAA...", as racgate's host-key setting takes it
	// Counter is the file the flood writes its byte count to (empty for other commands).
	Counter string
}

// startSSHD runs sshd -D on a free loopback port with its own config and host key in dir,
// every session running command. A password login as sshUser needs root (useradd,
// chpasswd, and sshd switching users).
func startSSHD(ctx context.Context, ps *procs, dir, command, counter string) (*sshd, error) {
	return startSSHDWith(ctx, ps, dir, command, counter, "")
}

// startSSHDWith is startSSHD with extra sshd_config lines, which go first (sshd keeps the
// first value it reads for a keyword).
func startSSHDWith(ctx context.Context, ps *procs, dir, command, counter, extra string) (*sshd, error) {
	bin, err := lookup("sshd")
	if err != nil {
		return nil, err
	}
	keygen, err := lookup("ssh-keygen")
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("sshd scenarios need root (a local user, sshd): %w", exec.ErrNotFound)
	}
	pass := randomPassword()
	if err := ensureSSHUser(ctx, pass); err != nil {
		return nil, err
	}
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	if out, err := exec.CommandContext(ctx, keygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %w: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(pub))
	if len(f) < 2 {
		return nil, fmt.Errorf("ssh-keygen wrote %q", pub)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, fmt.Sprintf("sshd_config.%d", attempt))
		logPath := filepath.Join(dir, fmt.Sprintf("sshd.%d.log", attempt))
		if err := os.WriteFile(conf, []byte(extra+sshdConfig(dir, key, port, command)), 0o600); err != nil {
			return nil, err
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		// -D: the PID we hold is the listener; -e: log to our file, not syslog.
		cmd := exec.Command(bin, "-f", conf, "-D", "-e")
		cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, dir
		p, err := ps.start(cmd)
		logf.Close()
		if err != nil {
			return nil, fmt.Errorf("sshd: %w", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(ctx, p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("sshd on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return &sshd{p: p, Addr: addr, Password: pass, HostKey: f[0] + " " + f[1], Counter: counter}, nil
	}
	return nil, lastErr
}

func sshdConfig(dir, hostKey string, port int, command string) string {
	return fmt.Sprintf(`# Written by racgate's bench for one scenario.
Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication no
UsePAM yes
AllowUsers %s
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 64
ForceCommand %s
`, port, hostKey, filepath.Join(dir, "sshd.pid"), sshUser, command)
}

// ensureSSHUser creates sshUser if it is missing and sets its password.
func ensureSSHUser(ctx context.Context, pass string) error {
	if _, err := user.Lookup(sshUser); err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("look up %s: %w", sshUser, err)
		}
		useradd, err := lookup("useradd")
		if err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, useradd, "-M", "-d", "/tmp", "-s", "/bin/sh", sshUser).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd %s: %w: %s", sshUser, err, out)
		}
	}
	chpasswd, err := lookup("chpasswd")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, chpasswd)
	cmd.Stdin = strings.NewReader(sshUser + ":" + pass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd %s: %w: %s", sshUser, err, out)
	}
	return nil
}

// floodScript writes the numbers 1, 2, 3... one a line, 500 lines (about 4 KB) at a
// time then 10 ms asleep: at most ~400 KB/s, so that every gateway is offered the same
// output at the same rate whatever else the machine does (unpaced, the rate would be
// whatever the slower gateway's flow control lets through, and the byte counts would
// not compare). After each batch it writes the bytes written so far to the counter file
// ARGV[0], so the harness knows how much output left the remote whichever gateway
// carries it. A blocked write (a gateway holding back) slows it down.
const floodScript = `perl -e '$| = 1; open(my $c, "+<", $ARGV[0]) or die "counter: $!"; my $n = 0; for (my $i = 1; ; ) { my $s = ""; $s .= ($i++) . "\n" for 1 .. 500; print $s; $n += length $s; seek($c, 0, 0); printf $c "%020d\n", $n; select(undef, undef, undef, 0.01) }' `

// idleCommand is top refreshing once a second: the cheapest live terminal.
const idleCommand = "top -d 1"

// readCounter reads the flood's byte count; 0 before the first batch.
func readCounter(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// newCounter makes the flood's counter file in dir, writable by sshUser.
func newCounter(dir string) (string, error) {
	p := filepath.Join(dir, "flood-bytes")
	if err := os.WriteFile(p, nil, 0o666); err != nil {
		return "", err
	}
	// WriteFile's mode is filtered by the umask.
	if err := os.Chmod(p, 0o666); err != nil {
		return "", err
	}
	// The user must reach the file: dir and its parents were made 0700.
	for d := dir; d != "/" && d != "." && strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			return "", err
		}
	}
	return p, nil
}
