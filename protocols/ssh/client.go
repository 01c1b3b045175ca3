// Package ssh is racgate's SSH terminal client: it dials a server, checks its
// host key, authenticates, opens a PTY session running a shell or a command,
// and exposes the terminal as a byte stream (Read/Write) plus Resize, for the
// gateway to relay to xterm.js.
//
// The SSH protocol itself is golang.org/x/crypto/ssh; this package adds the
// policy racgate needs: host key pinning and known_hosts, credential order,
// keepalives, bounded buffering and user-facing errors.
//
// Flow control: Read is pull-based. Output waits in x/crypto's channel
// buffer, which holds at most the channel window we granted the server (2 MiB
// for stdout and stderr together, x/crypto's channelWindowSize), plus one
// 32 KiB copy buffer per stream here. When the reader is slow the window stays
// shut and SSH itself stops the remote process; nothing grows without bound.
// (x/crypto v0.58.0 channel.go: data beyond the granted window is a protocol
// error, and the window is only reopened as Read consumes data.)
// TestFloodBoundedMemory reads `yes` slowly and checks the heap stays within
// a few MiB.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	xssh "golang.org/x/crypto/ssh"
)

// Defaults for zero Config fields.
const (
	DefaultTerm        = "xterm-256color"
	DefaultCols        = 80
	DefaultRows        = 24
	DefaultKeepAlive   = 15 * time.Second
	DefaultDialTimeout = 15 * time.Second
	// keepAliveMisses unanswered keepalives close the connection.
	keepAliveMisses = 3
	// maxTermSize bounds PTY columns and rows; xterm.js never gets near it.
	maxTermSize = 4096
)

// Config is one SSH connection's settings. The gateway maps Guacamole-style
// settings (hostname, port, username, password, private-key, passphrase,
// host-key, command, terminal-type, locale, timezone, ignore-host-key) here.
type Config struct {
	User     string
	Password string
	// PrivateKey is an OpenSSH or PEM private key; Passphrase decrypts it
	// if it is encrypted.
	PrivateKey []byte
	Passphrase []byte
	// KeyboardInteractive answers keyboard-interactive prompts. nil answers
	// hidden prompts that mention "password" with Password and fails
	// on any other prompt. When it is set and Password is empty (a person
	// answers), a wrong answer is asked again, up to three rounds.
	KeyboardInteractive func(ctx context.Context, name, instruction string, prompts []Prompt) ([]string, error)

	// HostKey pins the server key: "ssh-ed25519 AAAA..." (authorized_keys
	// or known_hosts line) or a "SHA256:..." fingerprint; one per line.
	HostKey string
	// KnownHostsFile is an OpenSSH known_hosts file, consulted when HostKey
	// is empty.
	KnownHostsFile string
	// IgnoreHostKey accepts any host key: an explicit, logged opt-out.
	IgnoreHostKey bool

	Command string // run instead of the login shell
	Term    string // TERM for the PTY; DefaultTerm when empty
	Cols    int    // initial PTY size; DefaultCols x DefaultRows when zero
	Rows    int
	// Env is sent with "env" requests (LANG from locale, TZ from timezone).
	// Servers refuse variables not in their AcceptEnv; that is not an error.
	Env map[string]string

	// KeepAlive is the keepalive@openssh.com interval; the connection is
	// closed after 3 unanswered ones. DefaultKeepAlive when zero; negative
	// disables keepalives.
	KeepAlive time.Duration
	// DialTimeout bounds TCP connect plus SSH handshake and authentication.
	// DefaultDialTimeout when zero.
	DialTimeout time.Duration
	Logger      *slog.Logger
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.User == "" {
		return cfg, errors.New("ssh: no username")
	}
	if cfg.Term == "" {
		cfg.Term = DefaultTerm
	}
	if cfg.Cols == 0 {
		cfg.Cols = DefaultCols
	}
	if cfg.Rows == 0 {
		cfg.Rows = DefaultRows
	}
	if err := checkSize(cfg.Cols, cfg.Rows); err != nil {
		return cfg, fmt.Errorf("ssh: %w", err)
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func checkSize(cols, rows int) error {
	if cols < 1 || rows < 1 || cols > maxTermSize || rows > maxTermSize {
		return fmt.Errorf("terminal size %dx%d out of range 1..%d", cols, rows, maxTermSize)
	}
	return nil
}

// Dial connects to addr ("host:port"), checks the host key, authenticates,
// and starts a PTY session running cfg.Command or the login shell. ctx
// bounds the whole setup; cancelling it later does not end the session
// (Close does).
func Dial(ctx context.Context, addr string, cfg Config) (*Session, error) {
	s, err := dialThen(ctx, addr, cfg, "session", startSession)
	if err != nil {
		return nil, err
	}
	s.startBackground()
	return s, nil
}

// dialThen connects as Dial does and runs start on the connection, all within
// cfg.DialTimeout (ctx bounds the keyboard-interactive handler too); what of
// start's work fails or is late closes the connection. what names start in errors.
func dialThen[T any](ctx context.Context, addr string, cfg Config, what string, start func(*xssh.Client, *Config, *slog.Logger) (T, error)) (T, error) {
	var zero T
	c, err := cfg.withDefaults()
	if err != nil {
		return zero, err
	}
	log := c.Logger.With("addr", addr, "user", c.User)
	ctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
	defer cancel()
	client, settled, err := connect(ctx, addr, &c, log)
	if err != nil {
		return zero, err
	}
	v, err := start(client, &c, log)
	if !settled() || err != nil {
		client.Close()
		if ctx.Err() != nil {
			return zero, fmt.Errorf("ssh: %s setup with %s: %w", what, addr, context.Cause(ctx))
		}
		return zero, err
	}
	return v, nil
}

// connect dials addr, checks the host key and authenticates. settled lifts the setup's
// deadline and reports whether ctx was still live (false: the connection is being
// closed for it).
func connect(ctx context.Context, addr string, c *Config, log *slog.Logger) (client *xssh.Client, settled func() bool, err error) {
	var refused error
	hostKeyCB, hostKeyAlgs, err := hostKeyCheck(c, addr, log, &refused)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh: %w", err)
	}
	tr := &authTracker{}
	methods, err := authMethods(ctx, c, tr)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh: %w", err)
	}
	clientCfg := &xssh.ClientConfig{
		User:              c.User,
		Auth:              methods,
		AuthCallback:      recordOffered(tr),
		HostKeyCallback:   hostKeyCB,
		HostKeyAlgorithms: hostKeyAlgs,
		Timeout:           c.DialTimeout,
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh: connect to %s: %w", addr, err)
	}
	// x/crypto's handshake and session requests take no context: a
	// deadline bounds them and cancellation closes the socket.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := xssh.NewClientConn(&bulkConn{Conn: conn}, addr, clientCfg)
	if err != nil {
		stop()
		conn.Close()
		switch {
		case refused != nil:
			return nil, nil, refused
		case ctx.Err() != nil:
			return nil, nil, fmt.Errorf("ssh: handshake with %s: %w", addr, context.Cause(ctx))
		case isAuthFailure(err) || tr.causedBy(err):
			ae := tr.error(c.User)
			log.Info("ssh authentication failed", "tried", ae.Tried, "offered", ae.Offered)
			return nil, nil, ae
		}
		return nil, nil, fmt.Errorf("ssh: handshake with %s: %w", addr, err)
	}
	log.Debug("ssh connected", "server", string(sc.ServerVersion()))
	return xssh.NewClient(sc, chans, reqs), func() bool {
		if !stop() {
			return false
		}
		_ = conn.SetDeadline(time.Time{})
		return true
	}, nil
}

// isAuthFailure tells x/crypto's "no method left" error (RFC 4252 §5.1
// SSH_MSG_USERAUTH_FAILURE for everything we had) and a server that hangs up
// after too many attempts from other handshake failures.
func isAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") ||
		strings.Contains(msg, "no supported methods remain") ||
		strings.Contains(msg, "Too many authentication failures")
}
