package ssh

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"

	xssh "golang.org/x/crypto/ssh"
)

// Prompt is one keyboard-interactive prompt (RFC 4256 §3.2).
type Prompt struct {
	Text string
	Echo bool // whether the answer may be shown as typed
}

// RFC 4252 §5 / RFC 4256 method names, as the server lists them.
const (
	methodPublicKey = "publickey"
	methodPassword  = "password"
	methodKbdInt    = "keyboard-interactive"
)

// kbdIntTries is how many keyboard-interactive rounds a KeyboardInteractive handler (a
// person) gets when there is no Password: a mistyped answer is asked again rather than ending the login, as
// OpenSSH's NumberOfPasswordPrompts does. The server's MaxAuthTries still bounds it.
const kbdIntTries = 3

// errUnanswerable ends keyboard-interactive when the default answerer sees a
// prompt that is not a password prompt (an OTP code, say).
var errUnanswerable = errors.New("keyboard-interactive prompt that is not a password prompt; no KeyboardInteractive handler configured")

// authTracker records which methods we actually tried and which the server
// offers, for a clear error message when all fail.
type authTracker struct {
	mu      sync.Mutex
	tried   []string
	offered []string
	cause   error // first error from one of our own callbacks
}

func (t *authTracker) try(method string) {
	t.mu.Lock()
	if !contains(t.tried, method) {
		t.tried = append(t.tried, method)
	}
	t.mu.Unlock()
}

func (t *authTracker) fail(err error) {
	t.mu.Lock()
	if t.cause == nil {
		t.cause = err
	}
	t.mu.Unlock()
}

// causedBy reports whether err came from one of our auth callbacks.
func (t *authTracker) causedBy(err error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cause != nil && errors.Is(err, t.cause)
}

func (t *authTracker) error(user string) *AuthError {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &AuthError{User: user, Tried: append([]string(nil), t.tried...), Offered: append([]string(nil), t.offered...), Err: t.cause}
}

// parseSigner reads an OpenSSH or PEM private key, decrypting it with
// passphrase if it is encrypted.
func parseSigner(key, passphrase []byte) (xssh.Signer, error) {
	s, err := xssh.ParsePrivateKey(key)
	var missing *xssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &missing):
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("private key is encrypted and no passphrase is set: %w", ErrPassphrase)
		}
		s, err = xssh.ParsePrivateKeyWithPassphrase(key, passphrase)
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, fmt.Errorf("%w is wrong", ErrPassphrase)
			}
			return nil, fmt.Errorf("private key: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("private key: %w", err)
	}
}

// authMethods builds the methods from cfg in the order we prefer them:
// a key first (no secret crosses the wire), then password, then
// keyboard-interactive, which PAM servers use for passwords too.
func authMethods(ctx context.Context, cfg *Config, tr *authTracker) ([]xssh.AuthMethod, error) {
	var methods []xssh.AuthMethod
	if len(cfg.PrivateKey) > 0 {
		signer, err := parseSigner(cfg.PrivateKey, cfg.Passphrase)
		if err != nil {
			return nil, err
		}
		methods = append(methods, xssh.PublicKeysCallback(func() ([]xssh.Signer, error) {
			tr.try(methodPublicKey)
			return []xssh.Signer{signer}, nil
		}))
	}
	if cfg.Password != "" {
		methods = append(methods, xssh.PasswordCallback(func() (string, error) {
			tr.try(methodPassword)
			return cfg.Password, nil
		}))
	}
	answer := cfg.KeyboardInteractive
	if answer == nil && cfg.Password != "" {
		answer = passwordAnswerer(cfg.Password)
	}
	if answer != nil {
		kbdInt := xssh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
			tr.try(methodKbdInt)
			if len(questions) != len(echos) {
				return nil, errors.New("keyboard-interactive: prompts and echo flags differ in number")
			}
			prompts := make([]Prompt, len(questions))
			for i := range questions {
				prompts[i] = Prompt{Text: questions[i], Echo: echos[i]}
			}
			answers, err := answer(ctx, name, instruction, prompts)
			if err == nil && len(answers) != len(prompts) {
				err = fmt.Errorf("keyboard-interactive: %d answers for %d prompts", len(answers), len(prompts))
			}
			if err != nil {
				tr.fail(err)
				return nil, err
			}
			return answers, nil
		})
		// A server that refuses the answers sends USERAUTH_FAILURE (RFC 4256 §3.4); a
		// person may have mistyped, so ask again. With a Password the refused answer is
		// most likely that password (the handler answers with it, the password method
		// has usually failed already) and nobody typed it: no retry, as with the default
		// answerer. An error from the handler (a cancel) ends the method at once.
		if cfg.KeyboardInteractive != nil && cfg.Password == "" {
			methods = append(methods, xssh.RetryableAuthMethod(kbdInt, kbdIntTries))
		} else {
			methods = append(methods, kbdInt)
		}
	}
	if len(methods) == 0 {
		return nil, errors.New("no credentials configured: set a password, a private key or a keyboard-interactive handler")
	}
	return methods, nil
}

// passwordAnswerer answers password prompts (hidden, mentioning "password")
// with pw and refuses anything else. An info-only round has no prompts and
// gets no answers.
func passwordAnswerer(pw string) func(context.Context, string, string, []Prompt) ([]string, error) {
	return func(_ context.Context, _, _ string, prompts []Prompt) ([]string, error) {
		answers := make([]string, len(prompts))
		for i, p := range prompts {
			if p.Echo || !strings.Contains(strings.ToLower(p.Text), "password") {
				return nil, fmt.Errorf("%w: %q", errUnanswerable, p.Text)
			}
			answers[i] = pw
		}
		return answers, nil
	}
}

// recordOffered is an AuthCallback that only notes the methods the server
// allows and lets x/crypto pick the next method from Config.Auth.
func recordOffered(tr *authTracker) xssh.ClientAuthCallback {
	return func(c *xssh.ClientAuthContext) (xssh.AuthMethod, error) {
		tr.mu.Lock()
		tr.offered = append(tr.offered[:0], c.AllowedMethods...)
		tr.mu.Unlock()
		return nil, nil
	}
}
