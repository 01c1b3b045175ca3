package render

import (
	"context"
	"image"
	"image/color"
	"sync/atomic"
	"testing"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// TestWhenWanted: the callback runs at once while a viewer has room, waits while every
// viewer has MaxInFlight frames unacknowledged, and runs on the ACK that frees one.
func TestWhenWanted(t *testing.T) {
	d := NewDisplay(Options{MaxInFlight: 1, MinFrameInterval: 0})
	defer d.Close()
	d.Resize(64, 64)
	d.EndFrame()

	var calls atomic.Int32
	want := func() { calls.Add(1) }
	d.WhenWanted(want)
	if calls.Load() != 1 {
		t.Fatal("no viewers: the callback did not run at once")
	}

	sent := make(chan []byte, 16)
	v := d.NewViewer(func(msg []byte) error { sent <- append([]byte(nil), msg...); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	<-sent // the first frame: one unacknowledged, MaxInFlight reached
	waitUntil(t, func() bool { return v.sent.Load() == 1 })

	d.WhenWanted(want)
	d.WhenWanted(want)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls while the only viewer waits for its ACK, want 1", n)
	}
	// Barrier: a cursor change goes out while frames are unacknowledged. Once the
	// second one has arrived, the viewer's loop has finished the iteration that sent
	// the first: anything it would wrongly release on waking has run by now.
	for i := range 2 {
		d.SetCursor(image.NewRGBA(image.Rect(0, 0, 1+i, 1)), image.Point{})
		if msg := <-sent; wire.Type(msg[0]) != wire.TypeCursor {
			t.Fatalf("sent %v while waiting for its ACK, want CURSOR", wire.Type(msg[0]))
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls while the only viewer waits for its ACK, want 1", n)
	}
	// The ACK that frees the viewer runs the waiters on its own goroutine, before it
	// returns.
	v.Ack(1)
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d calls once Ack returned, want 3", n)
	}

	// Room now: at once.
	d.WhenWanted(want)
	if calls.Load() != 4 {
		t.Fatal("viewer with room: the callback did not run at once")
	}

	// Blocked again; the viewer leaving releases the waiter.
	d.Fill(image.Rect(0, 0, 8, 8), color.RGBA{R: 1, A: 255})
	d.EndFrame()
	waitUntil(t, func() bool { return v.sent.Load() == 2 })
	d.WhenWanted(want)
	if calls.Load() != 4 {
		t.Fatal("ran while the viewer waits for its ACK")
	}
	v.Close()
	waitUntil(t, func() bool { return calls.Load() == 5 })
}

// TestWhenWantedClose: Close releases waiters.
func TestWhenWantedClose(t *testing.T) {
	d := NewDisplay(Options{MaxInFlight: 1})
	d.Resize(8, 8)
	d.EndFrame()
	v := d.NewViewer(func([]byte) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	waitUntil(t, func() bool { return v.sent.Load() == 1 })
	var ran atomic.Bool
	d.WhenWanted(func() { ran.Store(true) })
	if ran.Load() {
		t.Fatal("ran while blocked")
	}
	d.Close()
	if !ran.Load() {
		t.Fatal("Close did not release the waiter")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
