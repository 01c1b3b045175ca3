package render

import "image"

// damageLog is the damage all viewers share. Most Sink calls change pixels without
// anything viewer-specific (no COPY or passthrough JPEG), and most viewers are in step:
// with one damage per viewer, a display of a thousand viewers would add every changed
// rectangle a thousand times. Instead such changes go once into the log's open segment,
// and a viewer's pending damage is its own (viewerState.dmg) plus every segment after
// the one it last took (viewerState.since).
//
// Segments are sealed by EndFrame, and before a Copy or a passthrough JPEG, which must
// see each viewer's whole damage: they first fold the log into the viewer's own
// (materializeLocked). The log keeps logSegments sealed segments; before one falls out,
// the viewers that still need it fold it in. Viewers that take a frame at the same
// point with nothing of their own get the same rectangles, computed once (memo).
type damageLog struct {
	segs []damage // ring of sealed segments: number s is at segs[s%len(segs)]
	n    int      // sealed segments held, the newest being seq
	seq  uint64   // number of the newest sealed segment
	cur  damage   // the open segment, seq+1 once sealed
	sum  damage   // scratch: the union of several segments

	memo struct {
		ok         bool
		since, seq uint64 // the segments (since, seq] it covers
		modSeq     uint64 // Display.modSeq it was computed at
		vers       bool   // versions holds the rects' versions
		rects      []image.Rectangle
		versions   []uint64
	}
}

// logSegments is how many sealed segments the log keeps: a viewer further behind
// (waiting for ACKs) has them folded into its own damage.
const logSegments = 8

// reset empties the log for a framebuffer of bounds, keeping the numbering.
func (l *damageLog) reset(bounds image.Rectangle, tile int) {
	if l.segs == nil {
		l.segs = make([]damage, logSegments)
	}
	for i := range l.segs {
		l.segs[i].reset(bounds, tile)
	}
	l.cur.reset(bounds, tile)
	l.sum.reset(bounds, tile)
	l.n = 0
	l.memo.ok = false
	n := len(l.cur.boxes)
	l.memo.rects, l.memo.versions = trimmed(l.memo.rects, n), trimmed(l.memo.versions, n)
}

// seg returns sealed segment s, which must be held.
func (l *damageLog) seg(s uint64) *damage { return &l.segs[s%uint64(len(l.segs))] }

// addLocked records a change every viewer lacks.
func (d *Display) addLocked(r image.Rectangle) {
	d.log.cur.add(r)
}

// sealLocked closes the open segment, if it holds anything.
func (d *Display) sealLocked() {
	l := &d.log
	if l.cur.empty() {
		return
	}
	if l.n == len(l.segs) {
		// The oldest segment leaves: viewers that still need it fold the log in now.
		oldest := l.seq - uint64(l.n) + 1
		for _, v := range d.viewers {
			if v.st.since < oldest {
				d.materializeLocked(v)
			}
		}
		l.n--
	}
	l.seq++
	l.n++
	// The segment's slot held the oldest segment (or nothing): swap it with cur.
	slot := l.seg(l.seq)
	*slot, l.cur = l.cur, *slot
	l.cur.clear()
}

// materializeLocked folds the sealed segments a viewer lacks into its own damage. The
// open segment stays shared: the viewer still lacks what goes into it.
func (d *Display) materializeLocked(v *Viewer) {
	l, st := &d.log, &v.st
	for s := st.since + 1; s <= l.seq; s++ {
		st.dmg.union(l.seg(s))
	}
	st.since = l.seq
}

// joinLocked makes a viewer owe nothing of the log so far: its own damage covers it
// (a new viewer, a resize).
func (d *Display) joinLocked(v *Viewer) {
	v.st.since = d.log.seq
}

// takeRectsLocked sets v.rects to the rectangles of the viewer's pending damage, and
// v.vers to their versions when vers is set, and clears the damage. At a frame boundary
// the open segment is empty; should it not be, it is taken too.
func (d *Display) takeRectsLocked(v *Viewer, vers bool) {
	l, st := &d.log, &v.st
	merge, maxW := !d.opts.DisableMerge, maxRegionPixels/d.opts.TileSize
	v.vers = v.vers[:0]
	if !st.dmg.empty() || !l.cur.empty() {
		d.materializeLocked(v)
		st.dmg.union(&l.cur)
		v.rects = st.dmg.rects(v.rects[:0], merge, maxW, maxStackPixels)
		st.dmg.clear()
		if vers {
			v.vers = d.appendVersionsLocked(v.vers, v.rects)
		}
		return
	}
	m := &l.memo
	if !m.ok || m.since != st.since || m.seq != l.seq || m.modSeq != d.modSeq || (vers && !m.vers) {
		var dm *damage
		switch {
		case st.since == l.seq:
			dm = &l.cur // empty: nothing new
		case st.since+1 == l.seq:
			dm = l.seg(l.seq)
		default:
			dm = &l.sum
			dm.clear()
			for s := st.since + 1; s <= l.seq; s++ {
				dm.union(l.seg(s))
			}
		}
		m.rects = dm.rects(m.rects[:0], merge, maxW, maxStackPixels)
		m.versions = m.versions[:0]
		if vers {
			m.versions = d.appendVersionsLocked(m.versions, m.rects)
		}
		m.ok, m.since, m.seq, m.modSeq, m.vers = true, st.since, l.seq, d.modSeq, vers
	}
	st.since = l.seq
	v.rects = append(v.rects[:0], m.rects...)
	if vers {
		v.vers = append(v.vers, m.versions...)
	}
}
