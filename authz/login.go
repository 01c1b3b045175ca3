package authz

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A login is what racgate's session cookie carries: who logged in, when, until when, and
// a random ID by which a logout revokes it. The cookie is signed, not encrypted: it holds
// nothing secret.

// MaxLoginLen bounds what ParseLogin reads: a built-in user's value is about 150 bytes;
// an OIDC user's carries their claims, and must fit a browser's 4 KiB cookie.
const MaxLoginLen = 3800

// Errors ParseLogin returns; test with errors.Is.
var (
	ErrBadSignature = errors.New("authz: login cookie signature invalid")
	ErrExpired      = errors.New("authz: login expired")
	// ErrUnknownUser: the cookie is ours, but its user no longer exists.
	ErrUnknownUser = errors.New("authz: login of a user that no longer exists")
)

// b64 encodes a login's parts.
var b64 = base64.RawURLEncoding.Strict()

// Claims are what a login cookie says.
type Claims struct {
	ID       string // random per login (NewLoginID), for logout and ending its connections
	Username string
	Issued   time.Time
	Expires  time.Time
	// User is the user as the cookie carries them (v3, an OIDC sign-in); nil for a
	// built-in user, who is looked up by name.
	User *User
}

// NewLoginID returns a random login ID.
func NewLoginID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Stamp is what a login cookie is bound to besides the key: the password hash, which
// changes with the password (bcrypt salts every hash).
func (u *User) Stamp() string { return u.PasswordHash }

// SignLogin makes the cookie value:
//
//	"v2.<id>.<issued unix>.<expiry unix>.<base64url username>.<mac>"
//
// mac = base64url(HMAC-SHA256(key, everything before it, NUL, stamp)). stamp is the user's
// Stamp: it is not in the cookie, so a cookie made before a password change no longer
// verifies.
func SignLogin(key []byte, c Claims, stamp string) string {
	payload := "v2." + c.ID + "." + strconv.FormatInt(c.Issued.Unix(), 10) + "." +
		strconv.FormatInt(c.Expires.Unix(), 10) + "." + b64.EncodeToString([]byte(c.Username))
	return payload + "." + b64.EncodeToString(loginMAC(key, payload, stamp))
}

func loginMAC(key []byte, payload, stamp string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(payload))
	h.Write([]byte{0})
	h.Write([]byte(stamp))
	return h.Sum(nil)
}

// externalUser is a v3 cookie's user.
type externalUser struct {
	Username string            `json:"u"`
	Email    string            `json:"e,omitempty"`
	Name     string            `json:"n,omitempty"`
	UID      string            `json:"i,omitempty"`
	Groups   []string          `json:"g,omitempty"`
	Attrs    map[string]string `json:"a,omitempty"`
}

// SignExternalLogin makes the cookie value of a user who is not a built-in one (OIDC):
// "v3.<id>.<issued unix>.<expiry unix>.<base64url JSON of the user>.<mac>". It is an error
// when the user's claims do not fit a cookie (MaxLoginLen).
func SignExternalLogin(key []byte, c Claims, u *User) (string, error) {
	j, err := json.Marshal(externalUser{Username: u.Username, Email: u.Email, Name: u.Name, UID: u.UID, Groups: u.Groups, Attrs: u.Attributes})
	if err != nil {
		return "", err
	}
	payload := "v3." + c.ID + "." + strconv.FormatInt(c.Issued.Unix(), 10) + "." +
		strconv.FormatInt(c.Expires.Unix(), 10) + "." + b64.EncodeToString(j)
	v := payload + "." + b64.EncodeToString(loginMAC(key, payload, SourceOIDC))
	if len(v) > MaxLoginLen {
		return "", fmt.Errorf("authz: the sign-in's claims (%d groups, %d attributes) do not fit a cookie", len(u.Groups), len(u.Attributes))
	}
	return v, nil
}

// ParseLogin checks a cookie value's signature and expiry and returns what it says. stamp
// returns the Stamp of a user, or false for a user that does not exist.
func ParseLogin(key []byte, value string, now time.Time, stamp func(username string) (string, bool)) (Claims, error) {
	var c Claims
	if len(value) > MaxLoginLen {
		return c, ErrBadSignature
	}
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return c, ErrBadSignature
	}
	payload, sig := value[:i], value[i+1:]
	parts := strings.Split(payload, ".")
	if len(parts) != 5 || (parts[0] != "v2" && parts[0] != "v3") {
		return c, ErrBadSignature
	}
	if parts[0] == "v3" {
		return parseExternal(key, payload, sig, parts, now)
	}
	name, err := b64.DecodeString(parts[4])
	// Only the canonical spelling: base64 decoders skip newlines and (unless strict)
	// padding bits, and a cookie must have exactly one valid value.
	if err != nil || b64.EncodeToString(name) != parts[4] {
		return c, ErrBadSignature
	}
	st, known := stamp(string(name))
	if !known {
		st = ""
	}
	// An unknown user's cookie is checked against an empty stamp, so both cases take the
	// same path; it cannot verify unless someone holds the key.
	if !hmac.Equal([]byte(sig), []byte(b64.EncodeToString(loginMAC(key, payload, st)))) {
		return c, ErrBadSignature
	}
	if !known {
		return c, fmt.Errorf("%w: %q", ErrUnknownUser, name)
	}
	iat, err1 := strconv.ParseInt(parts[2], 10, 64)
	exp, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return c, ErrBadSignature
	}
	c = Claims{ID: parts[1], Username: string(name), Issued: time.Unix(iat, 0), Expires: time.Unix(exp, 0)}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// parseExternal checks a v3 value (SignExternalLogin).
func parseExternal(key []byte, payload, sig string, parts []string, now time.Time) (Claims, error) {
	var c Claims
	if !hmac.Equal([]byte(sig), []byte(b64.EncodeToString(loginMAC(key, payload, SourceOIDC)))) {
		return c, ErrBadSignature
	}
	j, err := b64.DecodeString(parts[4])
	var eu externalUser
	if err != nil || json.Unmarshal(j, &eu) != nil || eu.Username == "" {
		return c, ErrBadSignature
	}
	iat, err1 := strconv.ParseInt(parts[2], 10, 64)
	exp, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return c, ErrBadSignature
	}
	u := &User{Username: eu.Username, Email: eu.Email, Name: eu.Name, UID: eu.UID, Groups: eu.Groups, Attributes: eu.Attrs, Source: SourceOIDC}
	c = Claims{ID: parts[1], Username: eu.Username, Issued: time.Unix(iat, 0), Expires: time.Unix(exp, 0), User: u}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}
