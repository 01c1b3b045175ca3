package render

import (
	"image"
	"sync"
)

// regionCache holds encoded regions of one Display while it has several viewers, so
// that viewers sent the same pixels send the same bytes (IMAGE ZRGB1 / ZPALETTE1, FILL,
// JPEG) encoded once. A key is the rectangle, whether JPEG was allowed and the region's
// version: the Display stamps every tile a Sink call changes with a new number, and a
// region's version is the newest stamp among its tiles, so equal keys mean equal pixels
// without hashing or comparing them, and a region nobody changed stays a hit frame after
// frame. Its size is bounded by bytes (limit), oldest entries out first.
type regionCache struct {
	mu    sync.Mutex
	m     map[cacheKey]*cacheEntry // filled entries and those being encoded
	fifo  []*cacheEntry            // filled entries in the map, oldest first from head
	head  int
	bytes int // what the filled entries in fifo cost (entryCost)
	limit int
}

type cacheKey struct {
	r      image.Rectangle
	noJPEG bool   // JPEG was not allowed (a lossless refresh)
	ver    uint64 // Display.version of r when its pixels were taken
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

// init sets the limit; NewDisplay calls it before anything else can.
func (c *regionCache) init(limit int) { c.limit = limit }

// cacheLimit is the cache's bound for a framebuffer of fbBytes: a couple of screens of
// encoded data, which is usually far smaller than the pixels.
func cacheLimit(fbBytes int) int { return max(4<<20, 2*fbBytes) }

// peek returns k's entry if it is filled, else nil.
func (c *regionCache) peek(k cacheKey) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[k]; e != nil && e.filled {
		return e
	}
	return nil
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
	c.mu.Lock() // peek reads filled under the lock; waiters after ready
	e.data, e.lossy, e.counts, e.filled = data, lossy, counts, true
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
