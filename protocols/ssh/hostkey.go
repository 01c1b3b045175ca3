package ssh

import (
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// maxHostKeySetting bounds the host-key setting we parse; a few keys fit in
// well under this.
const maxHostKeySetting = 64 << 10

// hostKeyPins is the parsed host-key setting: whole keys and/or SHA256
// fingerprints, any of which is accepted.
type hostKeyPins struct {
	keys         []xssh.PublicKey
	fingerprints []string // "SHA256:" + unpadded base64 of 32 bytes
}

// parseHostKeySetting parses the host-key setting. Each non-empty line is one
// of:
//
//	SHA256:<43 base64 chars>                  a fingerprint as ssh-keygen -l prints it
//	ssh-ed25519 AAAA... [comment]             an authorized_keys line
//	host[,host] ssh-ed25519 AAAA... [comment] a known_hosts line (host patterns ignored:
//	                                          the setting belongs to one connection)
//
// Lines starting with '#' are comments. known_hosts markers (@cert-authority,
// @revoked) are refused rather than misread as plain keys.
func parseHostKeySetting(s string) (*hostKeyPins, error) {
	if len(s) > maxHostKeySetting {
		return nil, fmt.Errorf("host key setting is %d bytes, more than %d", len(s), maxHostKeySetting)
	}
	p := &hostKeyPins{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "SHA256:") {
			fp := strings.TrimRight(line, "=") // ssh-keygen omits padding; tolerate it
			raw, err := base64.RawStdEncoding.DecodeString(fp[len("SHA256:"):])
			if err != nil || len(raw) != 32 {
				return nil, fmt.Errorf("host key line %d: bad SHA256 fingerprint", i+1)
			}
			// Re-encode so comparison is against the canonical form.
			p.fingerprints = append(p.fingerprints, "SHA256:"+base64.RawStdEncoding.EncodeToString(raw))
			continue
		}
		if line[0] == '@' {
			return nil, fmt.Errorf("host key line %d: known_hosts markers are not supported", i+1)
		}
		k, err := parseKeyFields(strings.Fields(line))
		if err != nil {
			return nil, fmt.Errorf("host key line %d: %w", i+1, err)
		}
		p.keys = append(p.keys, k)
	}
	if len(p.keys) == 0 && len(p.fingerprints) == 0 {
		return nil, errors.New("host key setting holds no key")
	}
	return p, nil
}

// parseKeyFields finds "<type> <base64 key>" among the fields of an
// authorized_keys or known_hosts line: the first pair whose decoded key has
// the named type.
func parseKeyFields(f []string) (xssh.PublicKey, error) {
	for i := 0; i+1 < len(f) && i < 3; i++ {
		raw, err := base64.StdEncoding.DecodeString(f[i+1])
		if err != nil {
			continue
		}
		k, err := xssh.ParsePublicKey(raw)
		if err != nil {
			continue
		}
		if k.Type() != f[i] {
			return nil, fmt.Errorf("key says %q but is %q", f[i], k.Type())
		}
		return k, nil
	}
	return nil, errors.New(`no "<type> <base64>" public key found`)
}

func (p *hostKeyPins) match(k xssh.PublicKey) bool {
	fp := xssh.FingerprintSHA256(k)
	for _, want := range p.fingerprints {
		if subtle.ConstantTimeCompare([]byte(fp), []byte(want)) == 1 {
			return true
		}
	}
	m := k.Marshal()
	for _, want := range p.keys {
		if bytes.Equal(m, want.Marshal()) {
			return true
		}
	}
	return false
}

// algorithmsFor lists the host key algorithms that make a server present
// one of keys, so a server with several keys shows the one we know (an RSA
// key is signed with rsa-sha2-*; ssh-rsa, SHA-1, last).
func algorithmsFor(keys []xssh.PublicKey) []string {
	var algs []string
	add := func(a ...string) {
		for _, s := range a {
			if !contains(algs, s) {
				algs = append(algs, s)
			}
		}
	}
	for _, k := range keys {
		switch t := k.Type(); t {
		case xssh.KeyAlgoRSA:
			add(xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, xssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hostKeyCheck builds the host key callback and the algorithms to ask for.
// Precedence: IgnoreHostKey, then the HostKey setting, then KnownHostsFile;
// with none of them every key is unknown. The callback stores the refusal in
// *refused so Dial can return it unwrapped from x/crypto's handshake error.
func hostKeyCheck(cfg *Config, addr string, log *slog.Logger, refused *error) (xssh.HostKeyCallback, []string, error) {
	fail := func(k xssh.PublicKey, sentinel error, detail string) error {
		err := &HostKeyError{Addr: addr, Type: k.Type(), Fingerprint: xssh.FingerprintSHA256(k), Err: sentinel, Detail: detail}
		*refused = err
		return err
	}
	switch {
	case cfg.IgnoreHostKey:
		return func(_ string, _ net.Addr, k xssh.PublicKey) error {
			log.Warn("ssh host key not checked (ignore-host-key)", "addr", addr, "type", k.Type(), "fingerprint", xssh.FingerprintSHA256(k))
			return nil
		}, nil, nil
	case strings.TrimSpace(cfg.HostKey) != "":
		pins, err := parseHostKeySetting(cfg.HostKey)
		if err != nil {
			return nil, nil, err
		}
		var algs []string
		if len(pins.fingerprints) == 0 {
			algs = algorithmsFor(pins.keys)
		}
		return func(_ string, _ net.Addr, k xssh.PublicKey) error {
			if pins.match(k) {
				return nil
			}
			return fail(k, ErrHostKeyMismatch, "host-key setting")
		}, algs, nil
	case cfg.KnownHostsFile != "":
		cb, err := knownhosts.New(cfg.KnownHostsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
		algs := knownAlgorithms(cb, addr)
		return func(host string, remote net.Addr, k xssh.PublicKey) error {
			err := cb(host, remote, k)
			if err == nil {
				return nil
			}
			var ke *knownhosts.KeyError
			var re *knownhosts.RevokedError
			switch {
			case errors.As(err, &ke) && len(ke.Want) > 0:
				return fail(k, ErrHostKeyMismatch, fmt.Sprintf("%s:%d", ke.Want[0].Filename, ke.Want[0].Line))
			case errors.As(err, &ke):
				return fail(k, ErrHostKeyUnknown, "not in "+cfg.KnownHostsFile)
			case errors.As(err, &re):
				return fail(k, ErrHostKeyMismatch, "revoked in "+cfg.KnownHostsFile)
			}
			return fail(k, ErrHostKeyUnknown, err.Error())
		}, algs, nil
	default:
		return func(_ string, _ net.Addr, k xssh.PublicKey) error {
			return fail(k, ErrHostKeyUnknown, "no host key or known_hosts configured")
		}, nil, nil
	}
}

// knownAlgorithms asks the known_hosts callback about a key that cannot be
// listed: its KeyError then names the keys known for addr, whose algorithms
// we prefer in the handshake.
func knownAlgorithms(cb xssh.HostKeyCallback, addr string) []string {
	probe, err := xssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	// Only a literal IP is used: no DNS lookup outside the dial's context.
	remote := &net.TCPAddr{}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		remote.IP = net.ParseIP(h)
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, remote, probe); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	keys := make([]xssh.PublicKey, 0, len(ke.Want))
	for _, w := range ke.Want {
		keys = append(keys, w.Key)
	}
	return algorithmsFor(keys)
}
