package render

import (
	"hash/maphash"
	"image"
	"sync"
)

// regionCache holds encoded regions of one Display while it has several viewers, so
// that viewers sent the same pixels send the same bytes (IMAGE ZRGB1 / ZPALETTE1, FILL,
// JPEG) encoded once. A key is the rectangle, whether JPEG was allowed and a 128-bit hash
// of the pixels: two maphash hashes with random seeds of the Display, so content cannot
// be crafted to collide, and no pixel copies are kept. Its size is bounded by bytes
// (limit), oldest entries out first.
type regionCache struct {
	seed1, seed2 maphash.Seed // set by NewDisplay, read-only after

	mu    sync.Mutex
	m     map[cacheKey]*cacheEntry // filled entries and those being encoded
	fifo  []*cacheEntry            // filled entries in the map, oldest first from head
	head  int
	bytes int // what the filled entries in fifo cost (entryCost)
	limit int
}

type cacheKey struct {
	r      image.Rectangle
	noJPEG bool // JPEG was not allowed (a lossless refresh)
	h1, h2 uint64
}

// cacheEntry is one encoded region. ready is closed once the owner (the viewer that
// missed first) has filled it or given up; the other fields are written before that and
// never after.
type cacheEntry struct {
	key    cacheKey
	ready  chan struct{}
	filled bool
	data   []byte       // everything encoder.encode appended for the region; read-only
	lossy  bool         // it holds a JPEG
	counts EncodeCounts // the encodings it holds
}

// entryOverhead is what an entry costs beside its data (map slot, struct, FIFO slot), so
// that a flood of tiny FILLs is bounded too.
const entryOverhead = 192

func entryCost(e *cacheEntry) int { return len(e.data) + entryOverhead }

// init chooses the seeds; NewDisplay calls it before anything else can.
func (c *regionCache) init(limit int) {
	c.seed1, c.seed2, c.limit = maphash.MakeSeed(), maphash.MakeSeed(), limit
}

// cacheLimit is the cache's bound for a framebuffer of fbBytes: a couple of screens of
// encoded data, which is usually far smaller than the pixels.
func cacheLimit(fbBytes int) int { return max(4<<20, 2*fbBytes) }

// key hashes the region's pixels (rows of r.Dx() pixels, stride bytes apart).
func (c *regionCache) key(r image.Rectangle, noJPEG bool, pix []byte, stride int) cacheKey {
	k := cacheKey{r: r, noJPEG: noJPEG}
	row, h := r.Dx()*BytesPerPixel, r.Dy()
	if stride == row { // a viewer's copy of its damage: one run of bytes
		b := pix[:row*h]
		k.h1, k.h2 = maphash.Bytes(c.seed1, b), maphash.Bytes(c.seed2, b)
		return k
	}
	var h1, h2 maphash.Hash
	h1.SetSeed(c.seed1)
	h2.SetSeed(c.seed2)
	for y := 0; y < h; y++ {
		b := pix[y*stride:][:row]
		h1.Write(b)
		h2.Write(b)
	}
	k.h1, k.h2 = h1.Sum64(), h2.Sum64()
	return k
}

// lookup returns the entry for k. If there was none it adds an empty one and the caller
// owns it: it must call fill or abandon, without waiting for any other entry meanwhile.
// Otherwise the caller waits for ready.
func (c *regionCache) lookup(k cacheKey) (e *cacheEntry, owner bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[k]; e != nil {
		return e, false
	}
	if c.m == nil {
		c.m = make(map[cacheKey]*cacheEntry)
	}
	e = &cacheEntry{key: k, ready: make(chan struct{})}
	c.m[k] = e
	return e, true
}

// fill completes an owned entry, evicts the oldest entries beyond the limit and wakes
// the waiters.
func (c *regionCache) fill(e *cacheEntry, data []byte, lossy bool, counts EncodeCounts) {
	e.data, e.lossy, e.counts, e.filled = data, lossy, counts, true
	c.mu.Lock()
	if c.m[e.key] == e { // not dropped by reset meanwhile
		c.fifo = append(c.fifo, e)
		c.bytes += entryCost(e)
		for c.bytes > c.limit && c.head < len(c.fifo) {
			old := c.fifo[c.head]
			c.fifo[c.head] = nil
			c.head++
			c.bytes -= entryCost(old)
			if c.m[old.key] == old {
				delete(c.m, old.key)
			}
		}
		if c.head > 64 && c.head*2 > len(c.fifo) {
			n := copy(c.fifo, c.fifo[c.head:])
			clear(c.fifo[n:])
			c.fifo, c.head = c.fifo[:n], 0
		}
	}
	c.mu.Unlock()
	close(e.ready)
}

// abandon gives up an owned entry: its waiters encode for themselves.
func (c *regionCache) abandon(e *cacheEntry) {
	c.mu.Lock()
	if c.m[e.key] == e {
		delete(c.m, e.key)
	}
	c.mu.Unlock()
	close(e.ready)
}

// reset empties the cache and sets its limit. Entries being encoded are dropped too:
// their owners still fill them for their waiters, outside the cache.
func (c *regionCache) reset(limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.fifo, c.head, c.bytes, c.limit = nil, nil, 0, 0, limit
}

// usage returns the bytes held, the limit and the number of entries, for tests.
func (c *regionCache) usage() (bytes, limit, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.limit, len(c.m)
}
