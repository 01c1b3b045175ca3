package store

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	a, err := m.Acquire(ctx, "e", 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Acquire(ctx, "e", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire(ctx, "e", 2); !errors.Is(err, ErrLimit) {
		t.Fatalf("third Acquire: %v, want ErrLimit", err)
	}
	if _, err := m.Acquire(ctx, "other", 0); !errors.Is(err, ErrLimit) {
		t.Fatalf("limit 0: %v, want ErrLimit", err)
	}
	a.Release(ctx)
	a.Release(ctx) // twice frees one slot only
	if n, _ := m.Count(ctx, "e"); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	c, err := m.Acquire(ctx, "e", 2)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	b.Release(ctx)
	c.Release(ctx)
	if n, _ := m.Count(ctx, "e"); n != 0 {
		t.Fatalf("Count = %d, want 0", n)
	}
}

func TestMemoryUnlimitedConcurrent(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			l, err := m.Acquire(ctx, "e", -1)
			if err != nil {
				t.Error(err)
				return
			}
			l.Release(ctx)
		})
	}
	wg.Wait()
	if n, _ := m.Count(ctx, "e"); n != 0 {
		t.Fatalf("Count = %d, want 0", n)
	}
}

func TestMemoryConcurrentLimit(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 20 {
		wg.Go(func() {
			if _, err := m.Acquire(ctx, "e", 5); err == nil {
				mu.Lock()
				got++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got != 5 {
		t.Fatalf("%d acquired, want 5", got)
	}
}
