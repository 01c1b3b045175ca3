// Package authz decides who a user is and what they may open: the built-in user list with
// bcrypt password hashes, group membership checks, the signed login that racgate's
// session cookie carries (login.go), users named by a proxy in front (forwardauth.go),
// and the login throttle (throttle.go). Of HTTP it knows the headers a proxy sets and the
// one request that asks the proxy whether a user is still signed in; of racgate it
// imports config, and gateway/store for the failed-login counts (store.Attempts).
package authz

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/config"
)

// ErrBadCredentials is returned for an unknown user or a wrong password alike, so a caller
// cannot tell which (and neither can an attacker).
var ErrBadCredentials = errors.New("authz: wrong username or password")

// MaxPasswordLen bounds what we hash: bcrypt only reads the first 72 bytes and longer
// input is refused by the library.
const MaxPasswordLen = 72

// User is who a request comes from: a built-in user, or one a proxy named
// (ForwardAuth).
type User struct {
	Username     string
	PasswordHash string // bcrypt, "$2a$..." / "$2b$..." / "$2y$..."; "" for a user from elsewhere
	Groups       []string
	// From the identity provider, where it gives them.
	Email, Name, UID string
	Attributes       map[string]string
	Source           string // SourceBuiltin or SourceForwardAuth
}

// Where a User comes from.
const (
	SourceBuiltin     = "builtin"
	SourceForwardAuth = "forward-auth"
)

// InGroup reports whether the user belongs to group.
func (u *User) InGroup(group string) bool { return slices.Contains(u.Groups, group) }

// Allowed reports whether a user may use something restricted to groups: an empty list
// means every logged-in user.
func (u *User) Allowed(groups []string) bool {
	if len(groups) == 0 {
		return true
	}
	for _, g := range groups {
		if u.InGroup(g) {
			return true
		}
	}
	return false
}

// Users is an immutable set of built-in users, safe for concurrent use.
type Users struct {
	byName map[string]*User
	// dummy is compared against when the user is unknown so that a failed login takes
	// about as long whether or not the name exists.
	dummy []byte
}

// NewUsers checks every hash and returns the set of the config's users. Usernames must
// be unique.
func NewUsers(users []config.User) (*Users, error) {
	s := &Users{byName: make(map[string]*User, len(users))}
	cost := 0
	for i := range users {
		u := User{Username: users[i].Username, PasswordHash: users[i].PasswordHash, Groups: users[i].Groups, Source: SourceBuiltin}
		if u.Username == "" {
			return nil, fmt.Errorf("authz: user %d: empty username", i)
		}
		if _, dup := s.byName[u.Username]; dup {
			return nil, fmt.Errorf("authz: user %q: duplicate username", u.Username)
		}
		c, err := bcrypt.Cost([]byte(u.PasswordHash))
		if err != nil {
			return nil, fmt.Errorf("authz: user %q: password hash: %w", u.Username, err)
		}
		cost = max(cost, c)
		u.Groups = slices.Clone(u.Groups)
		s.byName[u.Username] = &u
	}
	// The costliest of the real hashes, so that an unknown name never answers sooner
	// than a known one.
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	d, err := bcrypt.GenerateFromPassword([]byte("racgate-dummy-password"), cost)
	if err != nil {
		return nil, fmt.Errorf("authz: dummy hash: %w", err)
	}
	s.dummy = d
	return s, nil
}

// Lookup returns the user with that name.
func (s *Users) Lookup(username string) (*User, bool) {
	u, ok := s.byName[username]
	return u, ok
}

// Len is the number of users.
func (s *Users) Len() int { return len(s.byName) }

// Authenticate checks a username and password. It returns ErrBadCredentials for an
// unknown user or a wrong password; the password is never logged or kept.
func (s *Users) Authenticate(username, password string) (*User, error) {
	if len(password) > MaxPasswordLen || len(username) > 256 {
		return nil, ErrBadCredentials
	}
	u, ok := s.byName[username]
	hash := s.dummy
	if ok {
		hash = []byte(u.PasswordHash)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	// Both conditions evaluated regardless, so the unknown-user path does the same work.
	okPass := subtle.ConstantTimeEq(boolInt(err == nil), 1) == 1
	if !ok || !okPass {
		return nil, ErrBadCredentials
	}
	return u, nil
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// HashPassword returns a bcrypt hash of password at the given cost (bcrypt.DefaultCost
// when cost is 0).
func HashPassword(password string, cost int) (string, error) {
	if password == "" {
		return "", errors.New("authz: empty password")
	}
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("authz: password longer than %d bytes", MaxPasswordLen)
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("authz: hash password: %w", err)
	}
	return string(h), nil
}
