package pulse

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// tenMs is 10 ms of 44.1 kHz stereo: what a sink's monitor posts at a time.
const tenMs = 441 * 4

// runUntil runs r until want bytes are delivered or the deadline passes, and
// returns what came and the number of deliveries.
func runUntil(t *testing.T, r *Recorder, want int, within time.Duration) ([]byte, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var mu sync.Mutex
	var got []byte
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(pcm []byte, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, pcm...)
			calls++
			if len(got) >= want {
				cancel()
			}
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return got, calls
}

// TestWakesPerFragment: sound posted 10 ms at a time in real time reaches handle
// about a Fragment (40 ms) at a time, not piece by piece: the receive low-water mark
// holds the wake-ups back. All of it arrives, in order.
func TestWakesPerFragment(t *testing.T) {
	pcm := ramp(40 * tenMs)
	var after [][]byte
	for i := range 40 {
		after = append(after, memblock(fakeStream, pcm[i*tenMs:(i+1)*tenMs]))
	}
	addr := startFake(t, script{after: after, pace: 10 * time.Millisecond, hold: true})
	r, err := Dial(context.Background(), Config{Addr: addr, Fragment: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, calls := runUntil(t, r, len(pcm), 10*time.Second)
	if !bytes.Equal(got, pcm) {
		t.Fatalf("delivered %d bytes, want the %d sent, in order", len(got), len(pcm))
	}
	// 10 or 11 deliveries of about 40 ms; piece by piece would be 40. The 10 ms pacing
	// of a loaded machine bunches up, which only lowers the count.
	if calls > 16 {
		t.Errorf("%d deliveries of 400 ms of sound sent 10 ms at a time, want about 10 (40 ms each)", calls)
	}
}

// TestTailDelivered: sound short of a Fragment after which the source stops (the
// server keeps the connection) is still delivered, within a couple of Fragments.
func TestTailDelivered(t *testing.T) {
	pcm := ramp(3 * tenMs)
	var chunk []byte
	for i := range 3 {
		chunk = append(chunk, memblock(fakeStream, pcm[i*tenMs:(i+1)*tenMs])...)
	}
	// Sent once Run waits, so that it comes below the low-water mark to a reader that
	// is waiting for it.
	addr := startFake(t, script{after: [][]byte{chunk}, pace: 150 * time.Millisecond, hold: true})
	r, err := Dial(context.Background(), Config{Addr: addr, Fragment: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	got, _ := runUntil(t, r, len(pcm), 3*time.Second)
	if !bytes.Equal(got, pcm) {
		t.Fatalf("delivered %d of the %d bytes sent before the source stopped", len(got), len(pcm))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the tail took %v", d)
	}
}
