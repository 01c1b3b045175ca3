package vnc

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/racgate/racgate/render"
)

// steadyStream is n FramebufferUpdates of a 256x128 desktop in enc; ZRLE and
// Zlib continue one zlib stream across them, as a server's would.
func steadyStream(enc int32, n int) []byte {
	const w, h = 256, 128
	stream := serverHello(w, h)
	var pix []byte
	for y := range h {
		for x := range w {
			pix = append(pix, rgbx(byte(x/32*40), byte(y/16*30), byte((x^y)&0x80))...)
		}
	}
	switch enc {
	case EncodingRaw:
		for range n {
			stream = append(stream, fbUpdate(rect(0, 0, w, h, EncodingRaw, pix))...)
		}
	case EncodingHextile:
		var body []byte
		for ty := 0; ty < h; ty += 16 {
			for tx := 0; tx < w; tx += 16 {
				body = append(body, hextileBackgroundSpecified|hextileAnySubrects|hextileSubrectsColoured, 0, 0, 0, 0, 2)
				body = append(body, pix[(ty*w+tx)*4:][:4]...)
				body = append(body, 0x00, 0x77)
				body = append(body, 9, 9, 9, 0, 0x88, 0x33)
			}
		}
		for range n {
			stream = append(stream, fbUpdate(rect(0, 0, w, h, EncodingHextile, body))...)
		}
	case EncodingTight:
		var data []byte
		for i := 0; i < len(pix); i += 4 {
			data = append(data, pix[i:i+3]...)
		}
		chunks := make([][]byte, n)
		for i := range chunks {
			chunks[i] = data
		}
		for _, z := range zlibStream(chunks...) {
			body := append([]byte{0x00}, compactLen(len(z))...)
			body = append(body, z...)
			fill := append([]byte{tightFill << 4}, 1, 2, 3)
			stream = append(stream, fbUpdate(rect(0, 0, w, h, EncodingTight, body), rect(0, 0, 16, 16, EncodingTight, fill))...)
		}
	case EncodingZRLE, EncodingZlib:
		var data []byte
		if enc == EncodingZlib {
			data = pix
		} else {
			for ty := 0; ty < h; ty += 64 {
				for tx := 0; tx < w; tx += 64 {
					data = append(data, 128) // plain RLE: 64 runs of 64
					for y := range 64 {
						data = append(data, pix[((ty+y)*w+tx)*4:][:3]...)
						data = append(data, 63)
					}
				}
			}
		}
		chunks := make([][]byte, n)
		for i := range chunks {
			chunks[i] = data
		}
		for _, z := range zlibStream(chunks...) {
			stream = append(stream, fbUpdate(rect(0, 0, w, h, enc, withLen32(z)))...)
		}
	}
	return stream
}

// Once warmed up, decoding allocates nothing per update, whatever its size.
func TestSteadyStateAllocations(t *testing.T) {
	for _, enc := range []int32{EncodingRaw, EncodingHextile, EncodingZlib, EncodingZRLE, EncodingTight} {
		t.Run(encodingName(enc), func(t *testing.T) {
			const n = 40
			stream := steadyStream(enc, n)
			fb := render.NewFramebuffer(0, 0)
			c, err := NewClient(context.Background(), newFakeConn(stream), Config{}, fb)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 { // warm up buffers
				if err := c.readMessage(); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range n - 5 {
				if err := c.readMessage(); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			if per := float64(after.Mallocs-before.Mallocs) / (n - 5); per > 0.5 {
				t.Errorf("%.1f allocations per update", per)
			}
			if fb.Frames != n {
				t.Fatalf("%d frames", fb.Frames)
			}
		})
	}
}

func benchmarkDecode(b *testing.B, enc int32) {
	const n = 50
	stream := steadyStream(enc, n)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		c, err := NewClient(context.Background(), newFakeConn(bytes.Clone(stream)), Config{}, render.NewFramebuffer(0, 0))
		if err != nil {
			b.Fatal(err)
		}
		for range n {
			if err := c.readMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkDecodeRaw(b *testing.B)     { benchmarkDecode(b, EncodingRaw) }
func BenchmarkDecodeHextile(b *testing.B) { benchmarkDecode(b, EncodingHextile) }
func BenchmarkDecodeZlib(b *testing.B)    { benchmarkDecode(b, EncodingZlib) }
func BenchmarkDecodeZRLE(b *testing.B)    { benchmarkDecode(b, EncodingZRLE) }
func BenchmarkDecodeTight(b *testing.B)   { benchmarkDecode(b, EncodingTight) }
