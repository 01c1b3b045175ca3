package authz

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/racgate/racgate/config"
)

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := HashPassword(pw, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAuthenticate(t *testing.T) {
	users, err := NewUsers([]config.User{
		{Username: "alice", PasswordHash: mustHash(t, "s3cret"), Groups: []string{"admins"}},
		{Username: "bob", PasswordHash: mustHash(t, "hunter2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "s3cret", true},
		{"bob", "hunter2", true},
		{"alice", "hunter2", false},
		{"alice", "", false},
		{"carol", "s3cret", false},
		{"", "", false},
		{"alice", strings.Repeat("x", 100), false},
	}
	for _, tc := range tests {
		u, err := users.Authenticate(tc.user, tc.pass)
		if tc.ok {
			if err != nil || u.Username != tc.user {
				t.Errorf("Authenticate(%q): %v, %v; want success", tc.user, u, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadCredentials) || u != nil {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want ErrBadCredentials", tc.user, tc.pass, u, err)
		}
	}
}

func TestNewUsersRejects(t *testing.T) {
	h := mustHash(t, "x")
	for _, tc := range []struct {
		name  string
		users []config.User
	}{
		{"bad hash", []config.User{{Username: "a", PasswordHash: "plain"}}},
		{"duplicate", []config.User{{Username: "a", PasswordHash: h}, {Username: "a", PasswordHash: h}}},
		{"empty name", []config.User{{PasswordHash: h}}},
	} {
		if _, err := NewUsers(tc.users); err == nil {
			t.Errorf("%s: NewUsers succeeded", tc.name)
		}
	}
}

func TestAllowed(t *testing.T) {
	u := &User{Username: "a", Groups: []string{"ops", "dev"}}
	for _, tc := range []struct {
		groups []string
		want   bool
	}{
		{nil, true},
		{[]string{"dev"}, true},
		{[]string{"admins", "ops"}, true},
		{[]string{"admins"}, false},
	} {
		if got := u.Allowed(tc.groups); got != tc.want {
			t.Errorf("Allowed(%v) = %v, want %v", tc.groups, got, tc.want)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h := mustHash(t, "demo")
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("demo")) != nil {
		t.Fatal("hash does not verify")
	}
	if _, err := HashPassword("", 0); err == nil {
		t.Error("empty password accepted")
	}
	if _, err := HashPassword(strings.Repeat("x", 73), 0); err == nil {
		t.Error("73-byte password accepted")
	}
}

// TestDummyHashCost: an unknown name is checked against a hash as costly as the costliest
// real one, whatever order the users come in.
func TestDummyHashCost(t *testing.T) {
	h4, _ := HashPassword("a", 4)
	h6, _ := HashPassword("b", 6)
	for _, order := range [][]config.User{
		{{Username: "slow", PasswordHash: h6}, {Username: "fast", PasswordHash: h4}},
		{{Username: "fast", PasswordHash: h4}, {Username: "slow", PasswordHash: h6}},
	} {
		us, err := NewUsers(order)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := bcrypt.Cost(us.dummy); c != 6 {
			t.Fatalf("users %s, %s: dummy cost %d, want 6", order[0].Username, order[1].Username, c)
		}
	}
}
