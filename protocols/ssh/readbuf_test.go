package ssh

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// TestBulkConn: reads of any sizes, small and large mixed, get the stream in order and
// whole; small reads alone never allocate the buffer.
func TestBulkConn(t *testing.T) {
	data := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for _, sizes := range [][]int{{100}, {4096, 32 << 10, 7, 70 << 10, 1}, {16 << 10, 3}} {
		a, b := net.Pipe()
		go func() {
			for off := 0; off < len(data); {
				n := min(1+rng.IntN(50<<10), len(data)-off)
				a.Write(data[off : off+n])
				off += n
			}
			a.Close()
		}()
		c := &bulkConn{Conn: b}
		var got bytes.Buffer
		for i := 0; ; i++ {
			p := make([]byte, sizes[i%len(sizes)])
			n, err := c.Read(p)
			got.Write(p[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("reads of %v: %d bytes, not the stream", sizes, got.Len())
		}
		if small := sizes[0] == 100; small != (c.buf == nil) {
			t.Fatalf("reads of %v: buffer allocated %v", sizes, c.buf != nil)
		}
	}
}
