package render

import "sync"

// smallBuffer is the largest buffer a viewer among several keeps between frames. Larger
// ones (a full frame's pixels, its encoded messages) come from the display's pools and go
// back once the frame is sent, so an idle viewer costs little more than its damage and
// lossy-tile maps, which grow with the framebuffer only. A lone viewer keeps its own
// (Viewer.loneScratch).
const smallBuffer = 256 << 10

// encodeEnv is what a Display's viewers share to encode: the cache of encoded regions
// and pools of scratch.
type encodeEnv struct {
	cache regionCache
	works sync.Pool  // *work
	pix   bigBuffers // copies of a frame's damaged pixels
	out   bigBuffers // a frame's messages, up to a websocket message
}

func (env *encodeEnv) getWork(level int) *work {
	if w, ok := env.works.Get().(*work); ok {
		return w
	}
	return newWork(level)
}

// bigBuffers pools byte slices of more than smallBuffer bytes.
type bigBuffers struct{ p sync.Pool }

// get returns an empty slice with room for n bytes, at least size if it allocates. A
// pooled buffer far bigger than that (from before the screen shrank) is let go.
func (b *bigBuffers) get(n, size int) []byte {
	if p, ok := b.p.Get().(*[]byte); ok && cap(*p) >= n && cap(*p) <= 2*max(n, size) {
		return (*p)[:0]
	}
	return make([]byte, 0, max(n, size))
}

// put keeps buf for a later get, if it is big enough to be worth it.
func (b *bigBuffers) put(buf []byte) {
	if cap(buf) > smallBuffer {
		buf = buf[:0]
		b.p.Put(&buf)
	}
}
