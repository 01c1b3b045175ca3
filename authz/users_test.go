package authz

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
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
	users, err := NewUsers([]User{
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
		users []User
	}{
		{"bad hash", []User{{Username: "a", PasswordHash: "plain"}}},
		{"duplicate", []User{{Username: "a", PasswordHash: h}, {Username: "a", PasswordHash: h}}},
		{"empty name", []User{{PasswordHash: h}}},
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
