package vnc

import (
	"bytes"
	"context"
	"crypto/des"
	"errors"
	"math/bits"
	"strings"
	"testing"

	"github.com/racgate/racgate/render"
)

func serverInit(w, h int, name string) []byte {
	b := be16(nil, uint16(w))
	b = be16(b, uint16(h))
	b = framebufferFormat.marshal(b)
	b = be32(b, uint32(len(name)))
	return append(b, name...)
}

func handshake(stream []byte, cfg Config) (*Client, *fakeConn, error) {
	conn := newFakeConn(stream)
	c, err := NewClient(context.Background(), conn, cfg, render.NewFramebuffer(0, 0))
	return c, conn, err
}

func TestParseProtocolVersion(t *testing.T) {
	cases := map[string]protocolVersion{
		"RFB 003.003\n": rfb33, "RFB 003.005\n": rfb33, "RFB 003.007\n": rfb37,
		"RFB 003.008\n": rfb38, "RFB 003.889\n": rfb38, "RFB 004.001\n": rfb38, "RFB 005.000\n": rfb38,
	}
	for in, want := range cases {
		if got, err := parseProtocolVersion([]byte(in)); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"RFB 002.000\n", "HTTP/1.1 200", "RFB 003.00x\n", "RFB 0030008\n"} {
		var pe *ProtocolError
		if _, err := parseProtocolVersion([]byte(bad)); !errors.As(err, &pe) {
			t.Errorf("%q: err %v, want *ProtocolError", bad, err)
		}
	}
}

func TestHandshakeVersions(t *testing.T) {
	si := serverInit(16, 8, "desk")
	t.Run("3.3 None", func(t *testing.T) {
		s := append([]byte("RFB 003.003\n"), be32(nil, 1)...)
		c, conn, err := handshake(append(s, si...), Config{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(conn.written.Bytes(), []byte("RFB 003.003\n\x00")) { // version, then ClientInit (not shared)
			t.Fatalf("wrote %q", conn.written.Bytes()[:13])
		}
		if w, h := c.Size(); w != 16 || h != 8 || c.Name() != "desk" {
			t.Fatalf("size %dx%d name %q", w, h, c.Name())
		}
	})
	t.Run("3.7 None has no SecurityResult", func(t *testing.T) {
		s := append([]byte("RFB 003.007\n"), 2, SecurityVNCAuth, SecurityNone)
		_, conn, err := handshake(append(s, si...), Config{Shared: true, SecurityTypes: []uint8{SecurityNone}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(conn.written.Bytes(), []byte("RFB 003.007\n\x01\x01")) { // chose None, shared
			t.Fatalf("wrote %q", conn.written.Bytes()[:14])
		}
	})
	t.Run("3.8 VNC auth", func(t *testing.T) {
		challenge := []byte("0123456789abcdef")
		s := append([]byte("RFB 003.889\n"), 1, SecurityVNCAuth)
		s = append(s, challenge...)
		s = append(s, be32(nil, 0)...)
		_, conn, err := handshake(append(s, si...), Config{Password: "secretpassword"})
		if err != nil {
			t.Fatal(err)
		}
		// The key is "secretpa" with each byte's bits reversed.
		key := []byte("secretpa")
		for i := range key {
			key[i] = bits.Reverse8(key[i])
		}
		blk, _ := des.NewCipher(key)
		want := make([]byte, 16)
		blk.Encrypt(want, challenge)
		blk.Encrypt(want[8:], challenge[8:])
		if got := conn.written.Bytes()[13:29]; !bytes.Equal(got, want) {
			t.Fatalf("response %x, want %x", got, want)
		}
	})
	t.Run("3.8 auth failure with reason", func(t *testing.T) {
		s := append([]byte("RFB 003.008\n"), 1, SecurityVNCAuth)
		s = append(s, make([]byte, 16)...)
		s = append(s, be32(nil, 1)...)
		s = append(s, be32(nil, 14)...)
		s = append(s, "Wrong password"...)
		_, _, err := handshake(s, Config{Password: "x"})
		if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "Wrong password") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("3.8 refused with reason", func(t *testing.T) {
		s := append([]byte("RFB 003.008\n"), 0)
		s = append(s, be32(nil, 9)...)
		s = append(s, "Too many!"...)
		if _, _, err := handshake(s, Config{}); err == nil || !strings.Contains(err.Error(), "Too many!") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no common type", func(t *testing.T) {
		s := append([]byte("RFB 003.008\n"), 2, 5, 16)
		if _, _, err := handshake(s, Config{}); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("huge name", func(t *testing.T) {
		s := append([]byte("RFB 003.003\n"), be32(nil, 1)...)
		bad := serverInit(16, 8, "")
		copy(bad[len(bad)-4:], be32(nil, 0xffffffff))
		var pe *ProtocolError
		if _, _, err := handshake(append(s, bad...), Config{}); !errors.As(err, &pe) {
			t.Fatalf("err = %v, want *ProtocolError", err)
		}
	})
	t.Run("huge framebuffer", func(t *testing.T) {
		s := append([]byte("RFB 003.003\n"), be32(nil, 1)...)
		var pe *ProtocolError
		if _, _, err := handshake(append(s, serverInit(65535, 65535, "")...), Config{}); !errors.As(err, &pe) {
			t.Fatalf("err = %v, want *ProtocolError", err)
		}
	})
}

func TestVeNCryptPlainWithoutTLS(t *testing.T) {
	s := append([]byte("RFB 003.008\n"), 1, SecurityVeNCrypt)
	s = append(s, 0, 2, 0, 2)
	s = append(s, be32(nil, vencryptTLSVnc)...)
	s = append(s, be32(nil, vencryptPlain)...)
	s = append(s, be32(nil, 0)...) // SecurityResult
	c, conn, err := handshake(append(s, serverInit(4, 4, "")...), Config{Username: "bob", Password: "pw", NoAnonymousTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := []byte("RFB 003.008\n\x13\x00\x02\x00\x00\x01\x00\x00\x00\x00\x03\x00\x00\x00\x02bobpw")
	if !bytes.HasPrefix(conn.written.Bytes(), want) {
		t.Fatalf("wrote %q, want prefix %q", conn.written.Bytes()[:len(want)], want)
	}
	// By default anonymous TLS (TLSVnc) ranks above Plain: the client picks
	// subtype 258, then the stream ends before the server's accept byte.
	_, conn, err = handshake(s[:len(s)-4], Config{Username: "bob", Password: "pw"})
	if err == nil {
		t.Fatal("handshake on a truncated stream succeeded")
	}
	want = []byte("RFB 003.008\n\x13\x00\x02\x00\x00\x01\x02")
	if !bytes.Equal(conn.written.Bytes(), want) {
		t.Fatalf("wrote %q, want %q", conn.written.Bytes(), want)
	}
	// VeNCryptSubtypes restricts the choice: Plain only, even without
	// NoAnonymousTLS.
	_, conn, _ = handshake(s[:len(s)-4], Config{Username: "bob", Password: "pw", VeNCryptSubtypes: []uint32{VeNCryptPlain}})
	want = []byte("RFB 003.008\n\x13\x00\x02\x00\x00\x01\x00")
	if !bytes.HasPrefix(conn.written.Bytes(), want) {
		t.Fatalf("VeNCryptSubtypes Plain: wrote %q, want prefix %q", conn.written.Bytes(), want)
	}
	if _, _, err := handshake(s, Config{Username: "bob", Password: "pw", VeNCryptSubtypes: []uint32{VeNCryptTLSNone}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("VeNCryptSubtypes TLSNone against TLSVnc+Plain: err = %v, want ErrUnsupported", err)
	}
	// Only anonymous TLS offered but forbidden: a clear error.
	s = append([]byte("RFB 003.008\n"), 1, SecurityVeNCrypt, 0, 2, 0, 1)
	s = append(s, be32(nil, vencryptTLSNone)...)
	if _, _, err := handshake(s, Config{NoAnonymousTLS: true}); !errors.Is(err, ErrAnonymousTLS) {
		t.Fatalf("err = %v, want ErrAnonymousTLS", err)
	}
	// TLSPlain offered without a user name: nothing usable, not ErrAnonymousTLS.
	s = append([]byte("RFB 003.008\n"), 1, SecurityVeNCrypt, 0, 2, 0, 1)
	s = append(s, be32(nil, vencryptTLSPlain)...)
	if _, _, err := handshake(s, Config{}); !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrAnonymousTLS) {
		t.Fatalf("TLSPlain without user: err = %v, want ErrUnsupported", err)
	}
}

func TestEncodingsList(t *testing.T) {
	cfg := Config{Encodings: []int32{EncodingZRLE, PseudoEncodingFence}, QualityLevel: 6, CompressLevel: 2}
	got := cfg.encodings()
	if got[0] != EncodingZRLE || got[1] != PseudoEncodingFence || got[2] != PseudoEncodingQualityLevel0+6 || got[3] != PseudoEncodingCompressLevel0+2 {
		t.Fatalf("encodings %v", got)
	}
	seen := map[int32]int{}
	for _, e := range got {
		seen[e]++
	}
	for _, e := range pseudoEncodings {
		if seen[e] != 1 {
			t.Errorf("pseudo-encoding %d announced %d times", e, seen[e])
		}
	}
	def := (&Config{QualityLevel: -1, CompressLevel: -1}).encodings()
	if def[0] != EncodingTight || len(def) != len(defaultEncodings)+len(pseudoEncodings) {
		t.Fatalf("default encodings %v", def)
	}
}
