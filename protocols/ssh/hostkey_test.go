package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	xssh "golang.org/x/crypto/ssh"
)

func newKey(t testing.TB) xssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := xssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyLine(k xssh.PublicKey) string {
	return strings.TrimSpace(string(xssh.MarshalAuthorizedKey(k)))
}

func TestParseHostKeySetting(t *testing.T) {
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	fp3 := xssh.FingerprintSHA256(k3)
	p, err := parseHostKeySetting("# pinned keys\n" +
		keyLine(k1) + " admin@host\n" +
		"\n  [example.org]:2222,192.0.2.7 " + keyLine(k2) + "  \r\n" +
		fp3 + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.keys) != 2 || len(p.fingerprints) != 1 || p.fingerprints[0] != fp3 {
		t.Fatalf("parsed %d keys, fingerprints %v", len(p.keys), p.fingerprints)
	}
	for _, k := range []xssh.PublicKey{k1, k2, k3} {
		if !p.match(k) {
			t.Errorf("key %s not matched", xssh.FingerprintSHA256(k))
		}
	}
	if p.match(newKey(t)) {
		t.Error("an unrelated key matched")
	}
	// A padded fingerprint is the same fingerprint.
	if p, err := parseHostKeySetting(fp3 + "="); err != nil || !p.match(k3) {
		t.Errorf("padded fingerprint: %v", err)
	}

	k1b64 := strings.Fields(keyLine(k1))[1]
	bad := map[string]string{
		"empty":               "",
		"only comments":       "# nothing\n\n",
		"short fingerprint":   "SHA256:abc",
		"fingerprint garbage": "SHA256:" + strings.Repeat("!", 43),
		"type lies":           "ssh-rsa " + k1b64,
		"no key":              "example.org",
		"bad base64":          "ssh-ed25519 AAAA%%%",
		"marker":              "@cert-authority * " + keyLine(k1),
		"md5":                 "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
		"too long":            strings.Repeat("#", maxHostKeySetting+1),
	}
	for name, s := range bad {
		if _, err := parseHostKeySetting(s); err == nil {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
}

func TestAlgorithmsFor(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := xssh.NewPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got := algorithmsFor([]xssh.PublicKey{newKey(t), rsaPub, newKey(t)})
	want := []string{xssh.KeyAlgoED25519, xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA}
	if !slices.Equal(got, want) {
		t.Fatalf("algorithms %v, want %v", got, want)
	}
}

func TestHostKeyErrorMessage(t *testing.T) {
	k := newKey(t)
	fp := xssh.FingerprintSHA256(k)
	e := &HostKeyError{Addr: "127.0.0.1:2222", Type: k.Type(), Fingerprint: fp, Err: ErrHostKeyUnknown}
	if want := "host key " + fp + " (ssh-ed25519) for 127.0.0.1:2222 is not trusted"; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("message %q, want prefix %q", e.Error(), want)
	}
	if !errors.Is(e, ErrHostKeyUnknown) || errors.Is(e, ErrHostKeyMismatch) {
		t.Error("unknown-key error does not unwrap to ErrHostKeyUnknown only")
	}
	e.Err = ErrHostKeyMismatch
	if !strings.Contains(e.Error(), "does not match") || !errors.Is(e, ErrHostKeyMismatch) {
		t.Errorf("mismatch message %q", e.Error())
	}
}

// FuzzParseHostKeySetting: any input parses or fails without panicking, and
// whatever parses is usable: every key matches itself, every fingerprint is
// canonical.
func FuzzParseHostKeySetting(f *testing.F) {
	k := newKey(f)
	f.Add(keyLine(k))
	f.Add("host,10.0.0.1 " + keyLine(k) + " comment")
	f.Add(xssh.FingerprintSHA256(k))
	f.Add("# c\n\n" + xssh.FingerprintSHA256(k) + "\n" + keyLine(k))
	f.Add("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ")
	f.Add("@revoked * " + keyLine(k))
	f.Add("SHA256:")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseHostKeySetting(s)
		if err != nil {
			return
		}
		if len(p.keys)+len(p.fingerprints) == 0 {
			t.Fatal("parsed nothing without an error")
		}
		for _, k := range p.keys {
			if !p.match(k) {
				t.Fatalf("parsed key %s does not match itself", k.Type())
			}
		}
		for _, fp := range p.fingerprints {
			raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(fp, "SHA256:"))
			if !strings.HasPrefix(fp, "SHA256:") || err != nil || len(raw) != 32 {
				t.Fatalf("fingerprint %q not canonical", fp)
			}
		}
	})
}
