// Package slowlink is a TCP proxy that behaves like a slow network link between a client
// and a server on loopback: a bottleneck rate, a one-way delay each way, and the stalls
// TCP shows when the link drops packets. The kernel's netem would do this below TCP; where
// it is missing (this machine's kernel has no sch_netem), the proxy gives both gateways
// under test the same link.
//
// The model, per direction: data is cut into segments of MSS bytes; each leaves the
// bottleneck after the ones before it, at Rate; it arrives Delay later. With Loss, a
// segment is lost with that probability and arrives one round trip (2×Delay) plus the
// retransmission's own time later, holding back everything behind it, as TCP's in-order
// delivery does after a fast retransmit. The bottleneck's queue holds Buffer bytes (like a
// router's); when it is full the proxy stops reading, so TCP's flow control pushes back on
// the sender. What the proxy cannot model is TCP's own reaction to the link (congestion
// window, retransmission timeouts): both ends see a loopback connection to the proxy.
package slowlink

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// MSS is the segment size of the model: an Ethernet TCP segment's payload.
const MSS = 1448

// Profile describes the link.
type Profile struct {
	Name   string        // e.g. "5mbit-40ms", for reports
	Rate   int64         // bits per second each way; 0: unlimited
	Delay  time.Duration // one way (the round trip is twice this)
	Loss   float64       // probability a segment is lost, 0 to 0.5
	Buffer int           // bytes queued at the bottleneck per direction; default 64 KiB
	Seed   uint64        // loss's pseudo-random sequence; the same seed, the same losses
}

// Link listens on loopback and forwards every connection to a target through the
// profile.
type Link struct {
	Addr   string // host:port to dial instead of the target
	p      Profile
	target string
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	seq    uint64 // connections so far, for their loss seeds
	ctx    context.Context
	cancel context.CancelFunc // at Close: ends the waits of every connection
}

// Listen starts a link to target.
func Listen(p Profile, target string) (*Link, error) {
	if p.Loss < 0 || p.Loss > 0.5 || p.Rate < 0 || p.Delay < 0 {
		return nil, fmt.Errorf("slowlink: profile %+v out of range", p)
	}
	if p.Buffer <= 0 {
		p.Buffer = 64 << 10
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Link{Addr: ln.Addr().String(), p: p, target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Go(l.accept)
	return l, nil
}

// Close stops listening and ends every connection.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cancel()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

func (l *Link) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		l.seq++
		seed := l.p.Seed + l.seq
		l.mu.Unlock()
		l.wg.Go(func() { l.serve(c, seed) })
	}
}

func (l *Link) serve(c net.Conn, seed uint64) {
	defer c.Close()
	if !l.track(c) {
		return
	}
	// The connection itself crosses the link: SYN there, SYN-ACK back.
	select {
	case <-time.After(2 * l.p.Delay):
	case <-l.ctx.Done():
		return
	}
	s, err := net.Dial("tcp", l.target)
	if err != nil {
		return
	}
	defer s.Close()
	if !l.track(s) {
		return
	}
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { l.pipe(ctx, s, c, seed*2); cancel(); s.Close(); c.Close() })
	wg.Go(func() { l.pipe(ctx, c, s, seed*2+1); cancel(); s.Close(); c.Close() })
	wg.Wait()
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, s)
	l.mu.Unlock()
}

// chunk is data in flight and when it is due at the far end.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe carries src's bytes to dst through one direction of the link.
func (l *Link) pipe(ctx context.Context, dst io.Writer, src io.Reader, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	q := make(chan chunk, 1024) // bounded in time below, not by its length
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case c, ok := <-q:
				if !ok {
					return
				}
				if !sleep(ctx, time.Until(c.due)) {
					return
				}
				if _, err := dst.Write(c.b); err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() { close(q); <-done }()
	full := l.serialize(l.p.Buffer) // the bottleneck's queue, full, in time
	var free time.Time              // when the bottleneck is next free
	var held time.Time              // nothing arrives before this (a retransmission ahead of it)
	for {
		if ahead := time.Until(free); ahead > full { // (free is zero at first: Until saturates)
			// The queue is full: read nothing until it has drained to the limit.
			if !sleep(ctx, ahead-full) {
				return
			}
		}
		buf := make([]byte, 16<<10)
		n, err := src.Read(buf)
		if n > 0 {
			now := time.Now()
			if free.Before(now) {
				free = now
			}
			var due time.Time
			for off := 0; off < n; off += MSS {
				seg := min(MSS, n-off)
				free = free.Add(l.serialize(seg))
				arrive := free.Add(l.p.Delay)
				if l.p.Loss > 0 && rng.Float64() < l.p.Loss {
					// Lost: resent when the sender hears of it, a round trip on.
					arrive = arrive.Add(2*l.p.Delay + l.serialize(seg))
				}
				if arrive.Before(held) {
					arrive = held // in order, behind what a loss holds back
				}
				held, due = arrive, arrive
			}
			select {
			case q <- chunk{b: buf[:n], due: due}:
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
		if err != nil {
			return // EOF or broken: what is queued is still delivered (the deferred drain)
		}
	}
}

// sleep waits d (nothing when d <= 0); false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serialize is the time n bytes take through the bottleneck.
func (l *Link) serialize(n int) time.Duration {
	if l.p.Rate <= 0 {
		return 0
	}
	return time.Duration(int64(n) * 8 * int64(time.Second) / l.p.Rate)
}
