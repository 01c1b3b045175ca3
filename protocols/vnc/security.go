package vnc

import (
	"context"
	"crypto/des"
	"fmt"
	"math/bits"
	"slices"
)

// securityPreference is the order used when Config.SecurityTypes is nil.
func (cfg *Config) securityPreference() []uint8 {
	if cfg.SecurityTypes != nil {
		return cfg.SecurityTypes
	}
	if cfg.TLSConfig != nil {
		return []uint8{SecurityVeNCrypt, SecurityVNCAuth, SecurityNone}
	}
	return []uint8{SecurityVNCAuth, SecurityNone, SecurityVeNCrypt}
}

func supportedSecurity(t uint8) bool {
	return t == SecurityNone || t == SecurityVNCAuth || t == SecurityVeNCrypt
}

// negotiateSecurity runs the security handshake (RFC 6143 §7.1.2-7.1.3).
func (c *Client) negotiateSecurity(ctx context.Context, ver protocolVersion) error {
	const msg = "security handshake"
	var chosen uint8
	if ver == rfb33 {
		// 3.3: the server decides and sends a u32.
		t, err := c.r.u32()
		if err != nil {
			return fmt.Errorf("vnc: read security type: %w", err)
		}
		if t == uint32(SecurityInvalid) {
			reason, err := c.r.str(msg, maxReasonLen)
			if err != nil {
				return err
			}
			return fmt.Errorf("vnc: server refused the connection: %s", reason)
		}
		if t != uint32(SecurityNone) && t != uint32(SecurityVNCAuth) {
			return fmt.Errorf("%w: RFB 3.3 security type %d", ErrUnsupported, t)
		}
		chosen = uint8(t)
		if !slices.Contains(c.cfg.securityPreference(), chosen) {
			return fmt.Errorf("%w: server requires security type %d, not allowed by config", ErrUnsupported, chosen)
		}
	} else {
		n, err := c.r.u8()
		if err != nil {
			return fmt.Errorf("vnc: read security types: %w", err)
		}
		if n == 0 {
			reason, err := c.r.str(msg, maxReasonLen)
			if err != nil {
				return err
			}
			return fmt.Errorf("vnc: server refused the connection: %s", reason)
		}
		offered, err := c.r.full(int(n))
		if err != nil {
			return err
		}
		offered = slices.Clone(offered)
		for _, t := range c.cfg.securityPreference() {
			if supportedSecurity(t) && slices.Contains(offered, t) {
				chosen = t
				break
			}
		}
		if chosen == SecurityInvalid {
			return fmt.Errorf("%w: no common security type (server offers %v)", ErrUnsupported, offered)
		}
		if err := c.send(func(b []byte) []byte { return append(b, chosen) }); err != nil {
			return err
		}
	}
	c.log.Debug("vnc security", "type", chosen, "version", int(ver))
	switch chosen {
	case SecurityNone:
		// 3.7 sends no SecurityResult for None; 3.3 neither.
		if ver != rfb38 {
			return nil
		}
	case SecurityVNCAuth:
		if err := c.vncAuth(ctx); err != nil {
			return err
		}
	case SecurityVeNCrypt:
		if err := c.vencrypt(ctx); err != nil {
			return err
		}
	}
	return c.readSecurityResult(ver)
}

// readSecurityResult reads SecurityResult (RFC 6143 §7.1.3); 3.8 adds a reason.
func (c *Client) readSecurityResult(ver protocolVersion) error {
	res, err := c.r.u32()
	if err != nil {
		return fmt.Errorf("vnc: read SecurityResult: %w", err)
	}
	if res == 0 {
		return nil
	}
	if ver == rfb38 {
		reason, err := c.r.str("SecurityResult", maxReasonLen)
		if err == nil && reason != "" {
			return fmt.Errorf("%w: %s", ErrAuthFailed, reason)
		}
	}
	return ErrAuthFailed
}

// vncAuth answers the VNC Authentication challenge (RFC 6143 §7.2.2): DES of
// the 16-byte challenge, keyed by the password's first 8 bytes with each
// byte's bits reversed (a quirk of the original implementation).
func (c *Client) vncAuth(ctx context.Context) error {
	challenge, err := c.r.peek(16)
	if err != nil {
		return fmt.Errorf("vnc: read VNC auth challenge: %w", err)
	}
	challenge = slices.Clone(challenge) // the reader's buffer, and asking may take a while
	pw := c.cfg.Password
	switch {
	case pw != "":
	case c.cfg.AskPassword == nil:
		return ErrPasswordNeeded
	default:
		if pw, err = c.cfg.AskPassword(ctx); err != nil {
			return err
		}
	}
	resp, err := vncAuthResponse(pw, challenge)
	if err != nil {
		return err
	}
	return c.send(func(b []byte) []byte { return append(b, resp[:]...) })
}

func vncAuthResponse(password string, challenge []byte) ([16]byte, error) {
	var key [8]byte
	copy(key[:], password)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	var out [16]byte
	block, err := des.NewCipher(key[:])
	if err != nil {
		return out, fmt.Errorf("vnc: VNC auth: %w", err)
	}
	block.Encrypt(out[:8], challenge[:8])
	block.Encrypt(out[8:], challenge[8:16])
	return out, nil
}
