package render

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolBoundsConcurrency(t *testing.T) {
	p := NewPool(2)
	var running, peak, done atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.do(context.Background(), func() {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
				done.Add(1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 2 || done.Load() != 10 {
		t.Fatalf("peak %d concurrent jobs with 2 workers, %d done", peak.Load(), done.Load())
	}
	p.Close()
	// After Close, do runs the job itself.
	ran := false
	if err := p.do(context.Background(), func() { ran = true }); err != nil || !ran {
		t.Fatalf("after Close: %v, ran %v", err, ran)
	}
}

func TestPoolQueueHonoursContext(t *testing.T) {
	p := NewPool(1)
	defer p.Close()
	block, started := make(chan struct{}), make(chan struct{})
	go p.do(context.Background(), func() { close(started); <-block })
	<-started // the only worker is busy
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := p.do(ctx, func() { t.Error("ran while the worker was busy") })
	close(block)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("do: %v", err)
	}
}
