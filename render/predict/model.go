package predict

// A counter is a probability with its experience: bits 0–15 the probability that the
// next bit is 1, in 1/65536ths; bits 16–23 how many bits it has seen (to a limit);
// bits 24–31, in a hashed table, the check byte of the context that owns it.
type counter uint32

const counterInit = counter(32768)

// p12 is the counter's probability in 1/4096ths, 0..4095.
func (c counter) p12() int32 { return int32(c&0xFFFF) >> 4 }

func (c counter) n() int32 { return int32(c>>16) & 0xFF }

// rate[n] is how far a counter that has seen n bits moves toward the next: 1/(n+2).
var rate = func() (t [256]int32) {
	for n := range t {
		t[n] = int32(65536 / (n + 2))
	}
	return t
}()

// update moves c toward bit y; it counts up to limit bits, after which it adapts at a
// fixed rate.
func (c *counter) update(y int, limit int32) {
	p := int32(*c & 0xFFFF)
	n := c.n()
	t := int32(0)
	if y != 0 {
		t = 65535
	}
	p += (t - p) * rate[n] >> 16
	if n < limit {
		n++
	}
	*c = *c&0xFF000000 | counter(n)<<16 | counter(p)
}

const (
	directLimit = 30  // counters of the direct tables
	hashedLimit = 60  // counters of the hashed tables
	smallLimit  = 30  // the other candidates' and the literals' counters
	hashBits    = 18  // a hashed table has 2^18 slots
	cacheSize   = 255 // colours in the literal cache
	mixRate     = 6   // the mixer's learning rate
	maxWeight   = 1 << 21
	sure        = 4090 // a direct counter this sure of a bit codes it alone
)

// mixer combines three predictions and a bias into one, learning by gradient descent on
// coding cost; its weights are chosen by how much the hashed context has seen (0..3).
type mixer struct {
	w  [4][4]int32
	st [4]int32 // the inputs of the bit being coded
	s  int      // the weight set in use
	pr int32    // the mixed probability
}

func (m *mixer) reset() {
	for s := range m.w {
		m.w[s] = [4]int32{19661, 19661, 19661, 0} // 0.3 each, in 1/65536ths
	}
}

// mix returns the probability of a 1 given the three counters' probabilities.
func (m *mixer) mix(p1, p2, p3 int32, set int) int32 {
	m.st = [4]int32{stretch(p1), stretch(p2), stretch(p3), 256}
	m.s = set
	w := &m.w[set]
	dot := int64(w[0])*int64(m.st[0]) + int64(w[1])*int64(m.st[1]) + int64(w[2])*int64(m.st[2]) + int64(w[3])*int64(m.st[3])
	m.pr = squash(int32(max(min(dot>>16, 2047), -2047)))
	return m.pr
}

// learn moves the weights in use toward what would have coded y more cheaply.
func (m *mixer) learn(y int) {
	err := (int32(y)<<12 - m.pr) * mixRate
	w := &m.w[m.s]
	for i := range w {
		w[i] = max(min(w[i]+(m.st[i]*err)>>10, maxWeight), -maxWeight)
	}
}

// decision is one yes-or-no question the walk asks of a pixel, with its own tables: a
// direct table on a 16-bit context, one on a 13-bit context, and a hashed table on a
// 30-bit one, mixed.
type decision struct {
	t1  [1 << 16]counter
	t2  [1 << 13]counter
	t3  [1 << hashBits]counter
	mix mixer
	// the bit being coded
	c1, c2, c3 *counter
}

func (d *decision) reset() {
	for i := range d.t1 {
		d.t1[i] = counterInit
	}
	for i := range d.t2 {
		d.t2[i] = counterInit
	}
	for i := range d.t3 {
		d.t3[i] = counterInit
	}
	d.mix.reset()
}

// hash spreads a 30-bit context over the hashed table: its index and check byte.
func hash(k uint32) (idx uint32, chk counter) {
	h := k * 0x9E3779B1
	h ^= h >> 15
	h *= 0x85EBCA77
	h ^= h >> 13
	return h >> (32 - hashBits), counter(h&0xFF) << 24
}

// code codes (or decodes) the decision's bit for contexts k1, k2 and the 30-bit k3.
func (d *decision) code(c *coder, y int, k1, k2, k3 uint32) int {
	d.c1 = &d.t1[k1]
	// A direct counter this sure (only one that has seen a hundred bits or so can be)
	// codes alone: the mixer would say much the same, and this is most of a still
	// screen's pixels, at a third of the cost.
	if p := d.c1.p12(); p >= sure || p <= 4096-sure {
		y = c.code(y, int(max(p, 1)))
		d.c1.update(y, directLimit)
		return y
	}
	d.c2 = &d.t2[k2]
	idx, chk := hash(k3)
	d.c3 = &d.t3[idx]
	if *d.c3&0xFF000000 != chk {
		*d.c3 = chk | counterInit // another context's slot: this one starts afresh
	}
	set := int(min(d.c3.n(), 3))
	p := d.mix.mix(d.c1.p12(), d.c2.p12(), d.c3.p12(), set)
	y = c.code(y, int(p))
	d.mix.learn(y)
	d.c1.update(y, directLimit)
	d.c2.update(y, directLimit)
	d.c3.update(y, hashedLimit)
	return y
}

// Model is the state a segment's images share: what the coder has learnt of its
// pictures. Encoder and decoder each keep one and reset it where the stream starts anew.
type Model struct {
	same, left decision        // is the pixel its old colour; is it its left neighbour's
	others     [3][64]counter  // is it the neighbour above, above right, above left
	lit        [256]counter    // the literal's index in the cache (0: none), as a bit tree
	rgb        [3][256]counter // a colour not in the cache, a byte at a time
	cache      []uint32        // the colours last coded as literals, most recent first

	// per image, 5 pixels left and 3 right of the rectangle wide
	lums [5][]uint8  // luma bits of rows y-3..y+1
	cols [2][]uint32 // colours of rows y-1 and y
	chg  [2][]uint8  // whether the previous row's and this row's pixels changed
}

// NewModel returns a model in its starting state.
func NewModel() *Model {
	m := &Model{cache: make([]uint32, 0, cacheSize)}
	m.Reset()
	return m
}

// Reset forgets everything learnt: the state at the start of a stream.
func (m *Model) Reset() {
	m.same.reset()
	m.left.reset()
	for i := range m.others {
		for j := range m.others[i] {
			m.others[i][j] = counterInit
		}
	}
	for i := range m.lit {
		m.lit[i] = counterInit
	}
	for i := range m.rgb {
		for j := range m.rgb[i] {
			m.rgb[i][j] = counterInit
		}
	}
	m.cache = m.cache[:0]
}

// codeSmall codes a bit with one counter.
func codeSmall(c *coder, ct *counter, y int) int {
	p := max(min(ct.p12(), 4095), 1)
	y = c.code(y, int(p))
	ct.update(y, smallLimit)
	return y
}

// codeByte codes v (0..255) as 8 bits, most significant first, through a bit tree.
func codeByte(c *coder, tree *[256]counter, v int) int {
	node := 1
	for b := 7; b >= 0; b-- {
		node = node<<1 | codeSmall(c, &tree[node], v>>b&1)
	}
	return node & 0xFF
}
