package ssh

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrHostKeyUnknown: nothing configured vouches for the server's key (no
	// HostKey setting, and the known_hosts file, if any, has no entry for
	// the host).
	ErrHostKeyUnknown = errors.New("host key is not trusted")
	// ErrHostKeyMismatch: the HostKey setting or known_hosts names a
	// different key for the server (its key changed, or someone is in the
	// middle).
	ErrHostKeyMismatch = errors.New("host key does not match the expected key")
	// ErrAuthFailed: the server rejected every credential we offered.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrKeepAliveTimeout: the server stopped answering keepalive requests
	// and the connection was closed.
	ErrKeepAliveTimeout = errors.New("server stopped answering keepalives")
	// ErrClosed is returned by Read, Write and Resize after Close.
	ErrClosed = errors.New("ssh session closed")
	// ErrPassphrase: the private key is encrypted and the passphrase is missing or wrong.
	ErrPassphrase = errors.New("private key passphrase")
	// ErrNoExitStatus: the session's channel closed without an exit status or signal.
	ErrNoExitStatus = errors.New("ssh: session ended without an exit status")
)

// HostKeyError reports a refused server key. It wraps ErrHostKeyUnknown or
// ErrHostKeyMismatch.
type HostKeyError struct {
	Addr        string // the address dialled
	Type        string // key algorithm, "ssh-ed25519"
	Fingerprint string // "SHA256:..." as ssh-keygen -l prints it
	Err         error  // ErrHostKeyUnknown or ErrHostKeyMismatch
	Detail      string // optional: where the expected key came from
}

func (e *HostKeyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host key %s (%s) for %s ", e.Fingerprint, e.Type, e.Addr)
	if errors.Is(e.Err, ErrHostKeyMismatch) {
		b.WriteString("does not match the expected key: the server's key changed or the connection is intercepted")
	} else {
		b.WriteString("is not trusted: set the host key or add it to known_hosts")
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	return b.String()
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// AuthError reports that authentication failed. It wraps ErrAuthFailed.
type AuthError struct {
	User    string
	Tried   []string // methods we attempted, in order ("publickey", "password", "keyboard-interactive")
	Offered []string // methods the server allows, as it last said
	Err     error    // underlying cause, may be nil
}

func (e *AuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "authentication failed for user %q", e.User)
	if len(e.Tried) > 0 {
		fmt.Fprintf(&b, " (tried %s)", strings.Join(e.Tried, ", "))
	} else {
		b.WriteString(" (no configured credential fits the methods the server allows")
		if len(e.Offered) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(e.Offered, ", "))
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *AuthError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrAuthFailed}
	}
	return []error{ErrAuthFailed, e.Err}
}

// ExitError is returned by Wait when the remote command did not exit with
// status 0.
type ExitError struct {
	Status  int    // exit status; -1 when killed by a signal
	Signal  string // signal name without "SIG" ("TERM"), if killed by one
	Message string // error message the server sent with a signal, if any
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		s := "remote process killed by signal " + e.Signal
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s
	}
	return fmt.Sprintf("remote process exited with status %d", e.Status)
}
