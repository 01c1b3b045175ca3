package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/racgate/racgate/internal/peers"
	xssh "golang.org/x/crypto/ssh"
)

func TestPasswordAnswerer(t *testing.T) {
	ans := passwordAnswerer("pw")
	got, err := ans(context.Background(), "", "", []Prompt{{Text: "Password: "}, {Text: "Re-enter PASSWORD:"}})
	if err != nil || len(got) != 2 || got[0] != "pw" || got[1] != "pw" {
		t.Fatalf("answers %q, %v", got, err)
	}
	if got, err := ans(context.Background(), "", "", nil); err != nil || len(got) != 0 {
		t.Fatalf("info-only round: %q, %v", got, err)
	}
	for _, p := range []Prompt{{Text: "Verification code: "}, {Text: "Password: ", Echo: true}} {
		if _, err := ans(context.Background(), "", "", []Prompt{p}); !errors.Is(err, errUnanswerable) {
			t.Errorf("prompt %+v: err = %v, want errUnanswerable", p, err)
		}
	}
}

func TestAuthErrorMessage(t *testing.T) {
	e := &AuthError{User: "bob", Tried: []string{"password", "publickey"}}
	if got, want := e.Error(), `authentication failed for user "bob" (tried password, publickey)`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	e = &AuthError{User: "bob", Offered: []string{"publickey"}}
	if !strings.Contains(e.Error(), "allows: publickey") || !errors.Is(e, ErrAuthFailed) {
		t.Errorf("message %q", e.Error())
	}
}

func TestParseSigner(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := xssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseSigner(pem.EncodeToMemory(plain), nil); err != nil {
		t.Fatalf("plain key: %v", err)
	}
	if _, err := parseSigner([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n"), nil); err == nil {
		t.Fatal("garbage key accepted")
	}
	if _, err := parseSigner([]byte("not a key"), []byte("x")); err == nil {
		t.Fatal("non-key accepted")
	}
}

// TestDefaultKeyboardInteractive: with password auth off, sshd asks for the
// password through PAM's keyboard-interactive prompt, which the default
// answerer fills in from Config.Password.
func TestDefaultKeyboardInteractive(t *testing.T) {
	d := peers.StartSSHD(t, "PasswordAuthentication no")
	shellCheck(t, dial(t, d, baseConfig(t, d)))

	// The same password fails when keyboard-interactive is not answered:
	// the password method really is off, so the default answerer did it.
	cfg := baseConfig(t, d)
	cfg.KeyboardInteractive = func(context.Context, string, string, []Prompt) ([]string, error) {
		return nil, errors.New("declined")
	}
	_, err := Dial(context.Background(), d.Addr, cfg)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed with keyboard-interactive declined", err)
	}
}

// TestNoUsableMethod: the server wants a key and we only have a password.
func TestNoUsableMethod(t *testing.T) {
	d := peers.StartSSHD(t, "AuthenticationMethods publickey")
	_, err := Dial(context.Background(), d.Addr, baseConfig(t, d))
	var ae *AuthError
	if !errors.As(err, &ae) || !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want *AuthError", err)
	}
	if len(ae.Tried) != 0 || !strings.Contains(err.Error(), "publickey") {
		t.Fatalf("err = %v (tried %v), want a message naming publickey as the only allowed method", err, ae.Tried)
	}
}

// kbdIntSSHD is an sshd that takes the password only through PAM's keyboard-interactive
// conversation.
func kbdIntSSHD(t *testing.T) *peers.SSHD {
	return peers.StartSSHD(t, "PasswordAuthentication no", "KbdInteractiveAuthentication yes")
}

// answerRounds answers password prompts with answers[i] in the i-th round that asks
// something, counting those rounds; past the list it repeats the last answer.
func answerRounds(rounds *atomic.Int32, answers ...string) func(context.Context, string, string, []Prompt) ([]string, error) {
	return func(_ context.Context, _, _ string, prompts []Prompt) ([]string, error) {
		if len(prompts) == 0 {
			return nil, nil // an info-only round
		}
		n := int(rounds.Add(1)) - 1
		out := make([]string, len(prompts))
		for i := range out {
			out[i] = answers[min(n, len(answers)-1)]
		}
		return out, nil
	}
}

// TestKeyboardInteractiveRetry: a person who mistypes is asked again, and the right
// answer in the second round logs in.
func TestKeyboardInteractiveRetry(t *testing.T) {
	d := kbdIntSSHD(t)
	var rounds atomic.Int32
	cfg := baseConfig(t, d)
	cfg.Password = "" // only the handler can log in
	cfg.KeyboardInteractive = answerRounds(&rounds, "wrong-"+d.Password, d.Password)
	shellCheck(t, dial(t, d, cfg))
	if n := rounds.Load(); n != 2 {
		t.Fatalf("%d rounds asked, want 2 (one wrong, one right)", n)
	}
}

// TestKeyboardInteractiveTries: three wrong answers end the login with ErrAuthFailed,
// after exactly kbdIntTries rounds.
func TestKeyboardInteractiveTries(t *testing.T) {
	d := kbdIntSSHD(t)
	var rounds atomic.Int32
	cfg := baseConfig(t, d)
	cfg.Password = ""
	cfg.KeyboardInteractive = answerRounds(&rounds, "wrong")
	_, err := Dial(context.Background(), d.Addr, cfg)
	var ae *AuthError
	if !errors.Is(err, ErrAuthFailed) || !errors.As(err, &ae) {
		t.Fatalf("err = %v, want ErrAuthFailed\nsshd log:\n%s", err, d.Log())
	}
	if n := rounds.Load(); n != kbdIntTries {
		t.Fatalf("%d rounds asked, want %d", n, kbdIntTries)
	}
	if !slices.Contains(ae.Tried, methodKbdInt) {
		t.Fatalf("tried %v, want keyboard-interactive", ae.Tried)
	}
}

// TestKeyboardInteractiveCancel: an error from the handler (the user cancelled) ends the
// login at once instead of asking again.
func TestKeyboardInteractiveCancel(t *testing.T) {
	d := kbdIntSSHD(t)
	var rounds atomic.Int32
	cancelled := errors.New("cancelled by the user")
	cfg := baseConfig(t, d)
	cfg.Password = ""
	wrong := answerRounds(&rounds, "wrong")
	cfg.KeyboardInteractive = func(ctx context.Context, name, instr string, prompts []Prompt) ([]string, error) {
		if len(prompts) > 0 && rounds.Load() == 1 {
			rounds.Add(1)
			return nil, cancelled
		}
		return wrong(ctx, name, instr, prompts)
	}
	_, err := Dial(context.Background(), d.Addr, cfg)
	if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, cancelled) {
		t.Fatalf("err = %v, want ErrAuthFailed wrapping the cancel", err)
	}
	if n := rounds.Load(); n != 2 {
		t.Fatalf("%d rounds asked, want 2 (one wrong, then the cancel)", n)
	}
}

// TestKeyboardInteractiveServerLimit: sshd's MaxAuthTries below our tries ends the
// login from the server's side; that is still ErrAuthFailed, not a protocol error.
func TestKeyboardInteractiveServerLimit(t *testing.T) {
	d := peers.StartSSHD(t, "PasswordAuthentication no", "KbdInteractiveAuthentication yes", "MaxAuthTries 2")
	var rounds atomic.Int32
	cfg := baseConfig(t, d)
	cfg.Password = ""
	cfg.KeyboardInteractive = answerRounds(&rounds, "wrong")
	_, err := Dial(context.Background(), d.Addr, cfg)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed\nsshd log:\n%s", err, d.Log())
	}
	if n := rounds.Load(); n < 1 || n > 2 {
		t.Fatalf("%d rounds asked, want at most MaxAuthTries (2)", n)
	}
	t.Logf("sshd with MaxAuthTries 2 asked %d rounds: %v", rounds.Load(), err)
}

// TestKeyboardInteractiveNoRetryWithPassword: with a Password the handler answers with it
// (as the gateway does); a refused round is that password refused, not a typo, so nobody
// is asked again.
func TestKeyboardInteractiveNoRetryWithPassword(t *testing.T) {
	d := kbdIntSSHD(t)
	var rounds atomic.Int32
	cfg := baseConfig(t, d)
	cfg.Password = "wrong-" + d.Password
	cfg.KeyboardInteractive = answerRounds(&rounds, cfg.Password, d.Password)
	_, err := Dial(context.Background(), d.Addr, cfg)
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	if n := rounds.Load(); n != 1 {
		t.Fatalf("%d rounds asked, want 1", n)
	}
}
