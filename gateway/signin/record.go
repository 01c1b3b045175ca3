package signin

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/racgate/racgate/authz"
)

// An OIDC login's record, kept in the store so that every instance can refresh its
// tokens and end it: the tokens, sealed (AES-GCM under a key derived from the cookie
// key, bound to the login ID), and when the next refresh is due. Refreshes are claimed
// by swapping the record (store.SwapData) before asking the provider, so that two
// instances never spend the same refresh token: providers that rotate refresh tokens
// would take the second use for a stolen token.

type record struct {
	Tokens  authz.Tokens `json:"t"`
	Subject string       `json:"s"`
	Due     time.Time    `json:"d"`          // the next refresh
	Claimed time.Time    `json:"c,omitzero"` // an instance is refreshing until then
}

// claimFor bounds how long a refresh may hold the record: a provider's token endpoint
// answers in far less, and an instance that dies meanwhile delays the next refresh by
// no more than this.
const claimFor = 30 * time.Second

func recordKey(loginID string) string { return "oidc-login:" + loginID }

// linkKey names a provider's session (sid) or user (sub) in the store; hashed, as
// both are up to the provider and may be long.
func linkKey(kind, issuer, id string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + id))
	return "oidc-" + kind + ":" + hex.EncodeToString(h[:])
}

func sealKey(cookieKey []byte) []byte {
	m := hmac.New(sha256.New, cookieKey)
	m.Write([]byte("racgate oidc tokens v1"))
	return m.Sum(nil)
}

func seal(cookieKey []byte, loginID string, rec record) ([]byte, error) {
	plain, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(cookieKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, []byte(loginID)), nil
}

var errRecord = errors.New("signin: OIDC login record does not open")

func unseal(cookieKey []byte, loginID string, sealed []byte) (record, error) {
	var rec record
	aead, err := newAEAD(cookieKey)
	if err != nil {
		return rec, err
	}
	if len(sealed) < aead.NonceSize() {
		return rec, errRecord
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(loginID))
	if err != nil {
		return rec, errRecord // another key (session.secret-file changed), or tampered with
	}
	if err := json.Unmarshal(plain, &rec); err != nil {
		return rec, fmt.Errorf("%w: %w", errRecord, err)
	}
	return rec, nil
}

func newAEAD(cookieKey []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(sealKey(cookieKey))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// loadRecord returns a login's record and its sealed form; a nil sealed form when there
// is none.
func (s *Service) loadRecord(ctx context.Context, key []byte, loginID string) (record, []byte, error) {
	sealed, err := s.o.Store.Data(ctx, recordKey(loginID))
	if err != nil || sealed == nil {
		return record{}, nil, err
	}
	rec, err := unseal(key, loginID, sealed)
	return rec, sealed, err
}

// nextDue is when tokens expiring at expiry are refreshed next.
func nextDue(now, expiry time.Time, every time.Duration) time.Time {
	switch {
	case every > 0:
		return now.Add(every)
	case expiry.IsZero():
		return now.Add(5 * time.Minute)
	}
	return now.Add(max(5*time.Second, expiry.Sub(now)*4/5))
}
