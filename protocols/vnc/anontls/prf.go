package anontls

import (
	"crypto/hmac"
	"hash"
)

// pHash is P_hash (RFC 5246 §5): it fills out with
// HMAC(secret, A(i) + seed), A(0) = seed, A(i) = HMAC(secret, A(i-1)).
func pHash(out, secret, seed []byte, h func() hash.Hash) {
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	var block []byte
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		block = mac.Sum(block[:0])
		n := copy(out, block)
		out = out[n:]
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// prf12 is the TLS 1.2 PRF (RFC 5246 §5): PRF(secret, label, seed) =
// P_<hash>(secret, label + seed), n bytes long.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(ls, label...)
	ls = append(ls, seed...)
	out := make([]byte, n)
	pHash(out, secret, ls, h)
	return out
}
