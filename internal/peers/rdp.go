package peers

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 the SAM file holds NT hashes, which are MD4 (MS-NLMP 3.3.1)
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
	RequireRoot(t, "StartFreeRDPShadow")
	if err := EnsureUser(RDPTestUser, RDPTestPassword, true); err != nil {
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

// XRDPOptions configures StartXRDP.
type XRDPOptions struct {
	// Session is shell script text run as the user's X session on the
	// Xorg display xrdp starts (after `xhost +si:localuser:root`, so that
	// tests running as root can use xwd and xdotool on it). It should end by
	// exec'ing a long-running client; when it exits the session ends.
	// Empty means a solid root window and one xterm.
	Session string
	// Drive turns on chansrv's FUSE folder (~/thinclient_drives), where the
	// drives a client redirects appear in the session.
	Drive bool
}

// XRDPSesmanPort is fixed: xrdp reads the sesman port from
// /etc/xrdp/sesman.ini, not from the xrdp.ini it is given, so only one
// StartXRDP instance can run on a machine at a time.
// XRDPLock is the lock file (LockFile) that one xrdp on the machine at a time holds:
// StartXRDP's for a test, and the bench's.
const XRDPLock = "racgate-xrdp.lock"

// lockXRDP holds a machine-wide lock (a file lock, so it spans test processes) until the
// test ends, so that one StartXRDP at a time has the sesman port.
func lockXRDP(t testing.TB) {
	t.Helper()
	f, err := LockFile(XRDPLock, 5*time.Minute)
	if err != nil {
		t.Fatalf("peers: xrdp: %v", err)
	}
	// Registered first, so it runs after every other cleanup of the test has stopped xrdp.
	t.Cleanup(func() { f.Close() })
}

// waitPortFree waits until nothing listens on port on either loopback address.
func waitPortFree(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		taken := false
		for _, a := range []string{"127.0.0.1", "::1"} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(a, strconv.Itoa(port)), time.Second); err == nil {
				c.Close()
				taken = true
			}
		}
		if !taken {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d is still taken after %v", port, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StartXRDP runs xrdp-sesman and xrdp with their own configuration in a
// temporary directory, xrdp on a free loopback port with TLS security, and
// stops them (by PID) when the test ends. A client that logs in as
// RDPTestUser gets an Xorg (xorgxrdp) session running o.Session; find its
// display with (*RDPServer).WaitSession.
func StartXRDP(t testing.TB, o XRDPOptions) *RDPServer {
	t.Helper()
	Require(t, "xrdp", "xrdp-sesman", "Xorg", "xhost")
	RequireRoot(t, "StartXRDP")
	if _, err := os.Stat("/usr/lib/xorg/modules/libxorgxrdp.so"); err != nil {
		Skip(t, "xorgxrdp is not installed")
	}
	if err := EnsureUser(RDPTestUser, RDPTestPassword, true); err != nil {
		t.Fatalf("peers: test user %s: %v", RDPTestUser, err)
	}
	// Test binaries of several packages run at once: take turns for the fixed port.
	lockXRDP(t)
	if err := waitPortFree(XRDPSesmanPort, 15*time.Second); err != nil {
		t.Fatalf("peers: %v (another xrdp-sesman?); StartXRDP needs it", err)
	}
	// The session script runs as the test user: the directory must be
	// readable by it.
	dir, err := os.MkdirTemp("", "racgate-xrdp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	session := o.Session
	if session == "" {
		session = "xsetroot -solid '#2a6f97'\nexec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0'\n"
	}
	script := filepath.Join(dir, "session.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nxhost +si:localuser:root >/dev/null\n"+session), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("/run/xrdp/sockdir", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod("/run/xrdp/sockdir", 0o777|os.ModeSticky|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	sesmanIni := filepath.Join(dir, "sesman.ini")
	sesmanCfg := XRDPSesmanConfig(dir, script)
	if o.Drive {
		sesmanCfg = strings.Replace(sesmanCfg, "EnableFuseMount=false", "EnableFuseMount=true", 1)
	}
	if err := os.WriteFile(sesmanIni, []byte(sesmanCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	sesman, _ := Lookup("xrdp-sesman")
	logf, err := os.Create(filepath.Join(dir, "sesman.out.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sesman, "-n", "-c", sesmanIni)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	sp, err := startProcess(t, cmd)
	logf.Close()
	if err != nil {
		t.Fatalf("peers: xrdp-sesman: %v", err)
	}
	// sesman resolves its ListenAddress its own way and may bind [::1].
	if err := waitPorts(sp, "127.0.0.1", "::1", XRDPSesmanPort); err != nil {
		t.Fatalf("peers: xrdp-sesman: %v: %s", err, logTail(filepath.Join(dir, "sesman.log")))
	}
	srv := &RDPServer{User: RDPTestUser, Password: RDPTestPassword, Dir: dir}
	// Registered after sesman's stop, so it runs first: end the sessions
	// while sesman is there to clean up their Xorg and chansrv.
	t.Cleanup(srv.endSessions)

	xrdp, _ := Lookup("xrdp")
	var lastErr error
	for attempt := range 3 {
		port := FreePort(t)
		ini := filepath.Join(dir, fmt.Sprintf("xrdp.%d.ini", attempt))
		if err := os.WriteFile(ini, []byte(XRDPConfig(filepath.Join(dir, fmt.Sprintf("xrdp.%d.log", attempt)), port, true)), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("xrdp.out.%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(xrdp, "-n", "-c", ini)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Dir = dir
		p, err := startProcess(t, cmd)
		logf.Close()
		if err != nil {
			t.Fatalf("peers: xrdp: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitPort(p, addr); err != nil {
			p.stop()
			lastErr = fmt.Errorf("peers: xrdp on %s: %w: %s", addr, err, logTail(filepath.Join(dir, fmt.Sprintf("xrdp.%d.log", attempt))))
			continue
		}
		srv.Addr, srv.PID = addr, p.cmd.Process.Pid
		return srv
	}
	t.Fatal(lastErr)
	return nil
}

// waitPorts waits until port accepts TCP connections on one of two
// addresses or p exits.
func waitPorts(p *process, a1, a2 string, port int) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return errors.New("server exited")
		}
		for _, a := range []string{a1, a2} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(a, strconv.Itoa(port)), time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("port not accepting connections")
}

var (
	sessionStartedRe = regexp.MustCompile(`Session started successfully for user \S+ on display (\d+)`)
	windowManagerRe  = regexp.MustCompile(`window manager \(pid (\d+)\)`)
)

// WaitSession waits until xrdp-sesman has started a session (a client has
// logged in) and returns its X display. Screenshot, Run and Start work on
// it as root (the session script allowed root with xhost).
func (s *RDPServer) WaitSession(t testing.TB, timeout time.Duration) *X {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(filepath.Join(s.Dir, "sesman.log"))
		if m := sessionStartedRe.FindAllSubmatch(b, -1); len(m) > 0 {
			x := &X{Display: ":" + string(m[len(m)-1][1]), Dir: s.Dir}
			// xhost runs first in the session script: wait until it did.
			for time.Now().Before(deadline) {
				if _, err := x.screenshot(); err == nil {
					return x
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: no xrdp session after %v\n%s", timeout, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// endSessions ends the sessions sesman started by stopping their window
// manager (the session script's process, which sesman waits for), then
// waits for their X displays to go.
func (s *RDPServer) endSessions() {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "sesman.log"))
	var displays []string
	for _, m := range sessionStartedRe.FindAllSubmatch(b, -1) {
		displays = append(displays, string(m[1]))
	}
	for _, m := range windowManagerRe.FindAllSubmatch(b, -1) {
		if pid, err := strconv.Atoi(string(m[1])); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, d := range displays {
		for time.Now().Before(deadline) {
			if _, err := os.Stat("/tmp/.X11-unix/X" + d); os.IsNotExist(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// XRDPSesmanPort is sesman's port: xrdp reads it from /etc/xrdp/sesman.ini, so it is
// fixed.
const XRDPSesmanPort = 3350

// XRDPSesmanConfig is sesman.ini for one xrdp of the tests' or the bench's: sessions
// from display 10 running script as their window manager, killed when their client
// disconnects, chansrv without its FUSE folder.
func XRDPSesmanConfig(dir, script string) string {
	return fmt.Sprintf(`; Written by racgate's internal/peers.
[Globals]
ListenAddress=127.0.0.1
ListenPort=%d
EnableUserWindowManager=false
UserWindowManager=session.sh
DefaultWindowManager=%s
ReconnectScript=/etc/xrdp/reconnectwm.sh
[Security]
AllowRootLogin=false
MaxLoginRetry=4
AlwaysGroupCheck=false
[Sessions]
X11DisplayOffset=10
MaxSessions=50
KillDisconnected=true
DisconnectedTimeLimit=0
IdleTimeLimit=0
Policy=Default
[Logging]
LogFile=%s
LogLevel=INFO
EnableSyslog=false
[Xorg]
param=/usr/lib/xorg/Xorg
param=-config
param=xrdp/xorg.conf
param=-noreset
param=-nolisten
param=tcp
param=-logfile
param=.xorgxrdp.%%s.log
[Chansrv]
FuseMountName=thinclient_drives
FileUmask=077
EnableFuseMount=false
[ChansrvLogging]
LogLevel=INFO
EnableSyslog=false
[SessionVariables]
`, XRDPSesmanPort, script, filepath.Join(dir, "sesman.log"))
}

// XRDPConfig is xrdp.ini for one xrdp of the tests' or the bench's: TLS on port, one
// Xorg session type with the client's credentials, the sound and clipboard channels, and
// with dynamic true also rdpdr and drdynvc (racgate's client asks for both with sound,
// as Windows sends no sound without rdpdr; chansrv's rdpdr mounts nothing here, and over
// drdynvc xrdp opens Display Control).
func XRDPConfig(logPath string, port int, dynamic bool) string {
	return fmt.Sprintf(`; Written by racgate's internal/peers.
[Globals]
ini_version=1
fork=false
port=tcp://127.0.0.1:%d
security_layer=tls
crypt_level=none
certificate=/etc/xrdp/cert.pem
key_file=/etc/xrdp/key.pem
ssl_protocols=TLSv1.2, TLSv1.3
autorun=Xorg
allow_channels=true
bitmap_cache=true
bitmap_compression=true
bulk_compression=false
max_bpp=32
new_cursors=true
use_fastpath=both
[Logging]
LogFile=%s
LogLevel=INFO
EnableSyslog=false
[Channels]
rdpdr=%[3]t
rdpsnd=true
drdynvc=%[3]t
cliprdr=true
rail=false
xrdpvr=false
tcutils=false
[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
`, port, logPath, dynamic)
}

// AsUser runs a shell script as the session's user (runuser): what the user's own
// programs would do, in the FUSE folder of redirected drives for one, which root
// cannot enter (chansrv mounts it without allow_other).
func (s *RDPServer) AsUser(script string) (string, error) {
	out, err := exec.Command("runuser", "-u", s.User, "--", "sh", "-c", script).CombinedOutput()
	return string(out), err
}

// Drive is where chansrv shows a redirected drive in the user's session:
// ~/thinclient_drives/DOSNAME (the drive's PreferredDosName). It waits until the
// user can list it.
func (s *RDPServer) Drive(t testing.TB, dosName string) string {
	t.Helper()
	Require(t, "xrdp-chansrv", "fusermount", "runuser")
	u, err := user.Lookup(s.User)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(u.HomeDir, "thinclient_drives", dosName)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := s.AsUser("ls " + dir)
		if err == nil {
			return dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers: the drive %s in the session: %v %s\n%s", dosName, err, out, s.Log())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
