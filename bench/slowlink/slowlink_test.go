package slowlink

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes every connection back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func dialLink(t *testing.T, p Profile, target string) net.Conn {
	t.Helper()
	l, err := Listen(p, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c, err := net.Dial("tcp", l.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A byte's round trip takes twice the delay each way, give or take the scheduler; the
// first, the connection's own round trip as well.
func TestDelay(t *testing.T) {
	c := dialLink(t, Profile{Delay: 20 * time.Millisecond}, echoServer(t))
	b := make([]byte, 1)
	for i := range 5 {
		start := time.Now()
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, b); err != nil || b[0] != byte(i) {
			t.Fatalf("echo %v %v", b, err)
		}
		rtt := time.Since(start)
		lo := 40 * time.Millisecond
		if i == 0 {
			lo = 80 * time.Millisecond
		}
		if rtt < lo || rtt > lo+60*time.Millisecond {
			t.Errorf("round trip %d took %v, want about %v", i, rtt, lo)
		}
	}
}

// 256 KiB each way through 8 Mbit/s takes about a quarter of a second each way, and
// arrives whole and in order.
func TestRate(t *testing.T) {
	c := dialLink(t, Profile{Rate: 8e6}, echoServer(t))
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	start := time.Now()
	go c.Write(data)
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !bytes.Equal(got, data) {
		t.Fatal("data changed on the way")
	}
	// Each way serializes 262 ms at 8 Mbit/s; the two directions overlap.
	if took < 250*time.Millisecond || took > 900*time.Millisecond {
		t.Errorf("256 KiB there and back took %v, want about 0.26-0.55 s", took)
	}
}

// With loss, some round trips take a retransmission's round trip more, in order: the
// losses follow the seed.
func TestLoss(t *testing.T) {
	c := dialLink(t, Profile{Delay: 10 * time.Millisecond, Loss: 0.2, Seed: 1}, echoServer(t))
	b := make([]byte, 1)
	slow := 0
	for i := range 40 {
		start := time.Now()
		c.Write([]byte{byte(i)})
		if _, err := io.ReadFull(c, b); err != nil || b[0] != byte(i) {
			t.Fatalf("echo %d: %v %v", i, b, err)
		}
		if time.Since(start) >= 35*time.Millisecond && i > 0 {
			slow++
		}
	}
	// Each way loses 1 in 5: about 14 of 39 round trips hold a loss.
	if slow < 4 || slow > 30 {
		t.Errorf("%d of 39 round trips were held back by a loss, want about 14", slow)
	}
}
