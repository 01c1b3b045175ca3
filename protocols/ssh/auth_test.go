package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
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
