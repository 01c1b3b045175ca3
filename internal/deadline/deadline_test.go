package deadline

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBoundCancel: cancelling ctx interrupts fn's blocked read, and the
// error wraps ctx.Err() and names fn's.
func TestBoundCancel(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := Bound(ctx, a, "test: handshake", func() error {
		_, err := a.Read(make([]byte, 1))
		return err
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded) ||
		!strings.HasPrefix(err.Error(), "test: handshake: context canceled (") {
		t.Fatalf("got %v", err)
	}
}

// TestBoundDone: fn's own error comes back unchanged, and the deadline is
// cleared so that later I/O does not fail.
func TestBoundDone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	want := errors.New("fn failed")
	a.SetDeadline(time.Unix(1, 0))
	if err := Bound(context.Background(), a, "x", func() error { return want }); err != want {
		t.Fatalf("got %v", err)
	}
	go b.Write([]byte{1})
	if _, err := a.Read(make([]byte, 1)); err != nil {
		t.Fatalf("read after Bound: %v", err)
	}
}

// TestOnDone: a cancelled context interrupts a blocked read; stop after
// that reports false.
func TestOnDone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stop := OnDone(ctx, a)
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	if stop() {
		t.Fatal("stop reported true after the context was done")
	}
}
