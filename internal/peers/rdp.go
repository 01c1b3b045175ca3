package peers

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// RDPTestUser is the local account the RDP servers log into: a PAM user for
// freerdp-shadow-cli +auth and xrdp, and the SAM-file user for NLA. It is
// created on first use (tests run as root here and in CI).
const RDPTestUser = "racgate-rdp"

// RDPTestPassword is RDPTestUser's password. It is fixed rather than random
// because test binaries of several packages may run at the same time.
const RDPTestPassword = "racgate-Rdp-pw-0815"

// RDPServer is a running RDP server for one test.
type RDPServer struct {
	Addr     string // "127.0.0.1:P"
	User     string
	Password string
	Dir      string // config, SAM file, certificate and logs
	PID      int
	X        *X // the X display the server shows
}

// ShadowOptions configures StartFreeRDPShadow.
type ShadowOptions struct {
	// Security is "" (the server's defaults: TLS and standard RDP security,
	// with +auth checking the password with PAM) or "nla" (/sec:nla with a
	// SAM file: NLA only, checked against the SAM file), "tls" or "rdp"
	// (/sec:<that> with +auth).
	Security string
	// NoAuth drops +auth for the TLS/RDP modes: any client may view.
	NoAuth bool
}

// StartFreeRDPShadow serves x's display with freerdp-shadow-cli on a free
// loopback port and stops it (by PID) when the test ends.
func StartFreeRDPShadow(t testing.TB, x *X, o ShadowOptions) *RDPServer {
	t.Helper()
	bin := mustLookup(t, "freerdp-shadow-cli")
	requireRoot(t, "StartFreeRDPShadow")
	if err := ensureRDPTestUser(); err != nil {
		t.Fatalf("peers: test user %s: %v", RDPTestUser, err)
	}
	dir := t.TempDir()
	sam := filepath.Join(dir, "SAM")
	if err := os.WriteFile(sam, []byte(SAMLine(RDPTestUser, RDPTestPassword)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var args []string
	switch o.Security {
	case "nla":
		args = []string{"/sec:nla", "/sam-file:" + sam}
	case "", "tls", "rdp":
		if o.Security != "" {
			args = append(args, "/sec:"+o.Security)
		}
		if !o.NoAuth {
			args = append(args, "+auth", "/sam-file:"+sam)
		}
	default:
		t.Fatalf("peers: unknown shadow security %q", o.Security)
	}
	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		logPath := filepath.Join(dir, fmt.Sprintf("shadow.%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		a := append([]string{"/bind-address:127.0.0.1", "/port:" + strconv.Itoa(port)}, args...)
		cmd := exec.Command(bin, a...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Dir = dir
		// HOME: the server writes its generated TLS certificate below it.
		cmd.Env = append(os.Environ(), "DISPLAY="+x.Display, "HOME="+dir)
		p, err := startProcess(t, cmd)
		logf.Close()
		if err != nil {
			t.Fatalf("peers: freerdp-shadow-cli: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: freerdp-shadow-cli on %s: %w: %s", addr, err, logTail(logPath))
			continue
		}
		return &RDPServer{Addr: addr, User: RDPTestUser, Password: RDPTestPassword, Dir: dir, PID: p.cmd.Process.Pid, X: x}
	}
	t.Fatal(lastErr)
	return nil
}

// Log returns the server's logs so far (for failure messages).
func (s *RDPServer) Log() string {
	matches, _ := filepath.Glob(filepath.Join(s.Dir, "*.log"))
	var b strings.Builder
	for _, m := range matches {
		b.WriteString("== " + filepath.Base(m) + "\n")
		b.WriteString(logTail(m))
	}
	return b.String()
}

// SAMLine returns a FreeRDP/WinPR SAM file line for user and password, as
// `winpr-hash -u USER -p PASS -f sam` prints it: "USER:::<NT hash hex>:::".
// The NT hash is MD4 of the UTF-16LE password (MS-NLMP 3.3.1).
func SAMLine(userName, password string) string {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	h := md4.New()
	h.Write(b)
	return userName + ":::" + hex.EncodeToString(h.Sum(nil)) + ":::"
}

func requireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("peers: %s needs root (%s=1)", what, RequireEnv)
	}
	t.Skipf("peers: skipping, %s needs root", what)
}

// ensureRDPTestUser creates RDPTestUser if missing and sets its password.
// Several test binaries may race here: a failed useradd is fine when the user
// exists afterwards, and chpasswd always writes the same password.
func ensureRDPTestUser() error {
	useradd, ok := Lookup("useradd")
	chpasswd, ok2 := Lookup("chpasswd")
	if !ok || !ok2 {
		return errors.New("useradd/chpasswd not installed")
	}
	if _, err := user.Lookup(RDPTestUser); err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("look up: %w", err)
		}
		out, err := exec.Command(useradd, "-m", "-s", "/bin/bash", RDPTestUser).CombinedOutput()
		if _, lerr := user.Lookup(RDPTestUser); lerr != nil {
			return fmt.Errorf("useradd: %v: %s", err, out)
		}
	}
	var err error
	// chpasswd fails while another process holds the shadow file lock.
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		cmd := exec.CommandContext(ctx, chpasswd)
		cmd.Stdin = strings.NewReader(RDPTestUser + ":" + RDPTestPassword + "\n")
		var out []byte
		out, err = cmd.CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("chpasswd: %w: %s", err, out)
		time.Sleep(200 * time.Millisecond)
	}
	return err
}
