package anontls

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"testing"
)

// The TLS 1.2 PRF test vectors circulated on the IETF TLS list (RFC 5246 has
// none of its own); OpenSSL's TLS1-PRF KDF gives the same bytes:
//
//	openssl kdf -keylen N -kdfopt digest:SHA256 -kdfopt hexsecret:... \
//	    -kdfopt hexseed:<"test label" + seed> TLS1-PRF
func TestPRF12Vectors(t *testing.T) {
	cases := []struct {
		name         string
		h            func() hash.Hash
		secret, seed string
		out          string
	}{
		{"SHA256", sha256.New, "9bbe436ba940f017b17652849a71db35", "a0ba9f936cda311827a6f796ffd5198c",
			"e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"},
		{"SHA384", sha512.New384, "b80b733d6ceefcdc71566ea48e5567df", "cd665cf6a8447dd6ff8b27555edb7465",
			"7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f"},
	}
	for _, tc := range cases {
		secret, _ := hex.DecodeString(tc.secret)
		seed, _ := hex.DecodeString(tc.seed)
		want, _ := hex.DecodeString(tc.out)
		got := prf12(tc.h, secret, "test label", seed, len(want))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: PRF\n got %x\nwant %x", tc.name, got, want)
		}
		// A shorter output is a prefix of the longer one (P_hash is a stream).
		if short := prf12(tc.h, secret, "test label", seed, 12); !bytes.Equal(short, want[:12]) {
			t.Errorf("%s: 12-byte PRF %x, want %x", tc.name, short, want[:12])
		}
	}
}
