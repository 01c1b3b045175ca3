// Package anontls is a minimal TLS 1.2 client (RFC 5246) for anonymous
// Diffie-Hellman key exchange, the cipher suites behind VeNCrypt's TLSNone,
// TLSVnc and TLSPlain subtypes, which Go's crypto/tls does not implement.
//
// Security: anonymous TLS has no server authentication. It protects against
// passive eavesdroppers only; an active attacker between client and server
// can impersonate the server and read and change everything. That is why the
// VNC client prefers the X509 subtypes (crypto/tls with certificate
// verification) whenever the server offers them and a TLS config is set.
//
// Scope, deliberately small:
//   - TLS 1.2 only; cipher suites TLS_DH_anon_WITH_AES_128_GCM_SHA256 and
//     TLS_DH_anon_WITH_AES_256_GCM_SHA384 (RFC 5288), which TigerVNC's Xvnc
//     (GnuTLS, priority with +ANON-DH) accepts. No CBC suites, no ECDH_anon
//     (Xvnc offers ECDH_anon with CBC-SHA1 only).
//   - Extensions: extended_master_secret (RFC 7627), used when the server
//     echoes it; renegotiation_info (RFC 5746); supported_groups with the
//     RFC 7919 FFDHE groups. Renegotiation, session resumption and
//     compression are not supported.
//   - Server DH parameters are bounded (p of 1024 to 8192 bits, odd; g and Ys
//     in [2, p-2]) and every length read off the wire is checked before use.
//     Records are at most 2^14 bytes of plaintext plus 2048 of expansion.
//
// The DH arithmetic uses math/big, which is not constant-time; the private
// exponent is fresh for every connection and never reused.
package anontls
