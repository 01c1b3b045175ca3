package vnc

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"

	"github.com/racgate/racgate/protocols/vnc/anontls"
)

// ErrAnonymousTLS reports that the server offers only VeNCrypt's anonymous TLS
// subtypes (TLSNone, TLSVnc, TLSPlain) and Config.NoAnonymousTLS forbids
// them. Anonymous TLS does not authenticate the server; configure the server
// for X509None, X509Vnc or X509Plain, or allow anonymous TLS.
var ErrAnonymousTLS = fmt.Errorf("%w: VeNCrypt anonymous TLS (TLSNone/TLSVnc/TLSPlain) is disabled by Config.NoAnonymousTLS, use an X509 subtype", ErrUnsupported)

// VeNCrypt subtypes (rfbproto "VeNCrypt"), for Config.VeNCryptSubtypes.
const (
	VeNCryptPlain     = vencryptPlain     // user name and password in clear
	VeNCryptTLSNone   = vencryptTLSNone   // anonymous TLS
	VeNCryptTLSVnc    = vencryptTLSVnc    // anonymous TLS, then VNC authentication
	VeNCryptTLSPlain  = vencryptTLSPlain  // anonymous TLS, then user name and password
	VeNCryptX509None  = vencryptX509None  // TLS with the server's certificate checked
	VeNCryptX509Vnc   = vencryptX509Vnc   // X509 TLS, then VNC authentication
	VeNCryptX509Plain = vencryptX509Plain // X509 TLS, then user name and password
)

// vencryptPreference lists the subtypes we can use with cfg, best first:
// TLS with server certificates, then anonymous TLS (encrypted, but the server
// is not authenticated), then Plain (password in clear). Config.VeNCryptSubtypes,
// when set, replaces this order; subtypes cfg cannot use are left out either way.
func (cfg *Config) vencryptPreference() []uint32 {
	usable := func(t uint32) bool {
		switch t {
		case vencryptX509None, vencryptX509Vnc:
			return cfg.TLSConfig != nil
		case vencryptX509Plain:
			return cfg.TLSConfig != nil && cfg.Username != ""
		case vencryptTLSNone, vencryptTLSVnc:
			return !cfg.NoAnonymousTLS
		case vencryptTLSPlain:
			return !cfg.NoAnonymousTLS && cfg.Username != ""
		case vencryptPlain:
			return cfg.Username != ""
		}
		return false
	}
	order := cfg.VeNCryptSubtypes
	if order == nil {
		order = []uint32{vencryptX509Plain, vencryptX509Vnc, vencryptX509None,
			vencryptTLSPlain, vencryptTLSVnc, vencryptTLSNone, vencryptPlain}
	}
	var p []uint32
	for _, t := range order {
		if usable(t) {
			p = append(p, t)
		}
	}
	return p
}

// vencrypt runs the VeNCrypt security type (rfbproto "VeNCrypt"): version 0.2,
// subtype choice, an optional TLS handshake, then the inner authentication.
func (c *Client) vencrypt(ctx context.Context) error {
	const msg = "VeNCrypt"
	b, err := c.r.peek(2)
	if err != nil {
		return fmt.Errorf("vnc: read VeNCrypt version: %w", err)
	}
	if b[0] != 0 || b[1] < 2 {
		return fmt.Errorf("%w: VeNCrypt version %d.%d", ErrUnsupported, b[0], b[1])
	}
	if err := c.send(func(b []byte) []byte { return append(b, 0, 2) }); err != nil {
		return err
	}
	ack, err := c.r.u8()
	if err != nil {
		return err
	}
	if ack != 0 {
		return fmt.Errorf("%w: server refused VeNCrypt 0.2", ErrUnsupported)
	}
	n, err := c.r.u8()
	if err != nil {
		return err
	}
	if n == 0 {
		return protoErr(msg, "no subtypes")
	}
	offered := make([]uint32, n) // n <= 255
	for i := range offered {
		if offered[i], err = c.r.u32(); err != nil {
			return err
		}
	}
	var chosen uint32
	for _, t := range c.cfg.vencryptPreference() {
		if slices.Contains(offered, t) {
			chosen = t
			break
		}
	}
	if chosen == 0 {
		anon := slices.ContainsFunc(offered, func(t uint32) bool { return t >= vencryptTLSNone && t <= vencryptTLSPlain })
		if anon && c.cfg.NoAnonymousTLS {
			return fmt.Errorf("%w (server offers %v)", ErrAnonymousTLS, offered)
		}
		if slices.ContainsFunc(offered, func(t uint32) bool { return t >= vencryptX509None && t <= vencryptX509Plain }) && c.cfg.TLSConfig == nil {
			return fmt.Errorf("%w: VeNCrypt X509 subtypes need Config.TLSConfig (server offers %v)", ErrUnsupported, offered)
		}
		return fmt.Errorf("%w: no usable VeNCrypt subtype (server offers %v)", ErrUnsupported, offered)
	}
	if err := c.send(func(b []byte) []byte { return be32(b, chosen) }); err != nil {
		return err
	}
	if chosen != vencryptPlain {
		// The server accepts the TLS subtype with a byte of 1, then TLS starts.
		ok, err := c.r.u8()
		if err != nil {
			return err
		}
		if ok != 1 {
			return fmt.Errorf("vnc: server refused VeNCrypt subtype %d", chosen)
		}
		if c.r.br.Buffered() != 0 {
			return protoErr(msg, "data before the TLS handshake")
		}
		if chosen >= vencryptX509None {
			tc := tls.Client(c.conn, c.cfg.TLSConfig)
			if err := tc.HandshakeContext(ctx); err != nil {
				return fmt.Errorf("vnc: VeNCrypt TLS handshake: %w", err)
			}
			c.conn = tc
		} else {
			ac, err := anontls.Client(c.conn, nil)
			if err != nil {
				return fmt.Errorf("vnc: VeNCrypt anonymous TLS: %w", err)
			}
			if err := ac.HandshakeContext(ctx); err != nil {
				return fmt.Errorf("vnc: VeNCrypt anonymous TLS handshake: %w", err)
			}
			st := ac.ConnectionState()
			c.log.Debug("vnc anonymous TLS (server not authenticated)", "subtype", chosen,
				"suite", st.CipherSuite, "dh_bits", st.DHBits, "extended_master_secret", st.ExtendedMasterSecret)
			c.conn = ac
		}
		c.r = newReader(c.conn)
	}
	switch chosen {
	case vencryptX509Vnc, vencryptTLSVnc:
		return c.vncAuth(ctx)
	case vencryptPlain, vencryptX509Plain, vencryptTLSPlain:
		user, pass := c.cfg.Username, c.cfg.Password
		return c.send(func(b []byte) []byte {
			b = be32(b, uint32(len(user)))
			b = be32(b, uint32(len(pass)))
			b = append(b, user...)
			return append(b, pass...)
		})
	}
	return nil // X509None, TLSNone
}
