package render

import (
	"context"
	"sync"
)

// Pool is a fixed number of goroutines that encode frames, so that the CPU spent on
// encoding stays bounded however many viewers there are. Viewers queue for it.
type Pool struct {
	jobs chan func()
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// NewPool starts workers goroutines (at least one).
func NewPool(workers int) *Pool {
	p := &Pool{jobs: make(chan func()), quit: make(chan struct{})}
	for range max(workers, 1) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case fn := <-p.jobs:
					fn()
				case <-p.quit:
					return
				}
			}
		}()
	}
	return p
}

// Close stops the workers once they finish their jobs. Viewers still running encode
// on their own goroutines afterwards.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}

// do runs fn on a worker and waits for it; after Close it runs fn itself.
func (p *Pool) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	job := func() { fn(); close(done) }
	select {
	case p.jobs <- job:
	case <-p.quit:
		fn()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}
