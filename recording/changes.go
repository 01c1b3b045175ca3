package recording

import (
	"image"

	"github.com/racgate/racgate/render/wire"
)

// A frame's changes come as many IMAGEs (the viewer's tiles) and FILLs. Coded one by
// one, each costs its IMAGE header and its coder's last bytes, and the many small ones
// (a digit of a clock, the tip of a hand) cost more in headers than in pixels. So the
// transcoder takes the drawing messages that come one after another into a group,
// draws them on its screen, and codes the group's changes at once (flush): the group is
// split into clusters, changes near each other, and each cluster's changed parts are
// predicted together, or, past the budget, its changed parts are coded from the screen
// at the run's end (recode.go).

// clusterGap is the fewest pixels between two clusters: more than PREDICT's context
// reaches (5 columns to the left, 3 to the right, 3 rows up and 1 down), so that a
// cluster is coded against the screen a player has, whichever cluster comes first.
const clusterGap = 8

// change is a drawing message of the group: its rectangle, and where its old pixels
// are in the group's buffer.
type change struct {
	r    image.Rectangle
	old  int  // offset in gOld
	done bool // taken into a cluster
}

// change takes m, an IMAGE or a FILL outside a full key frame, into the group.
func (t *transcoder) change(m wire.Message) error {
	var r image.Rectangle
	switch m := m.(type) {
	case wire.Image:
		r = image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H)
	case wire.Fill:
		r = image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H)
	}
	img := t.screen.Image()
	if r.Empty() || !r.In(img.Rect) {
		return t.screen.Apply(m) // nothing drawn, or the canvas's error
	}
	if !t.inRun {
		t.inRun, t.grouping, t.gArea = true, t.work < t.perKey && t.tokens > 0, 0
	}
	if a := float64(r.Dx()) * float64(r.Dy()); t.grouping && t.gArea+a > t.tokens {
		// More than may be predicted now (a busy screen's every frame): what was taken is
		// coded, the rest coded from the screen at the run's end; no crops of what cannot
		// be predicted.
		if err := t.flush(); err != nil {
			return err
		}
		t.grouping = false
	} else {
		t.gArea += a
	}
	if !t.grouping {
		// Past the budget: coded from the screen at the run's end, nothing kept.
		if err := t.screen.Apply(m); err != nil {
			return err
		}
		t.drawn = append(t.drawn, r)
		return nil
	}
	c := change{r: r, old: len(t.gOld)}
	t.gOld = crop(t.gOld, img, r)
	if err := t.screen.Apply(m); err != nil {
		return err
	}
	t.group = append(t.group, c)
	return nil
}

// endRun ends a run of drawing messages: the group's changes are coded, and what was
// drawn past the budget.
func (t *transcoder) endRun() error {
	t.inRun = false
	if err := t.flush(); err != nil {
		return err
	}
	if len(t.drawn) > 0 {
		t.out = t.codeRects(t.out, t.drawn)
		t.drawn = t.drawn[:0]
	}
	return nil
}

// flush codes the group's changes and empties it.
func (t *transcoder) flush() error {
	defer func() { t.group, t.gOld = t.group[:0], t.gOld[:0] }()
	img := t.screen.Image()
	for first := range t.group {
		if t.group[first].done {
			continue
		}
		members, box := t.cluster(first)
		// The cluster's box before the group (the first message's old pixels win where
		// two overlap) and after.
		t.old = crop(t.old[:0], img, box)
		for i := len(members) - 1; i >= 0; i-- {
			c := &t.group[members[i]]
			pasteInto(t.old, box, c.r, t.gOld[c.old:])
		}
		t.pix = crop(t.pix[:0], img, box)
		t.parts = changedParts(t.parts[:0], t.old, t.pix, box)
		area, work := cost(t.old, t.pix, box, t.parts)
		if spent := t.work+work > t.perKey; spent || float64(area) > t.tokens {
			if spent {
				// Until the next key frame, nothing is grouped (nor cropped) to be
				// predicted.
				t.work = t.perKey
			}
			t.drawn = append(t.drawn, t.parts...) // coded from the screen at the run's end
			continue
		}
		// Only the parts that changed are coded; the player's screen already has the
		// rest. The screen goes back to its old pixels, which Encode draws over.
		t.tokens -= float64(area)
		t.work += work
		paste(img, box, t.old)
		for _, p := range t.parts {
			data, err := t.pred.Encode(nil, img, p, sub(&t.part, t.pix, box, p))
			if err != nil {
				return err
			}
			t.out = wire.Image{X: p.Min.X, Y: p.Min.Y, W: p.Dx(), H: p.Dy(), Encoding: wire.Predict, Data: data}.Append(t.out)
			t.predicted += len(data)
		}
	}
	return nil
}

// cluster returns the changes of the group that are within clusterGap of the change
// first, or of one that is, in order, marked done, and the box that holds them.
func (t *transcoder) cluster(first int) ([]int, image.Rectangle) {
	t.members = append(t.members[:0], first)
	t.group[first].done = true
	box := t.group[first].r
	for grew := true; grew; {
		grew = false
		near := box.Inset(-clusterGap)
		for i := range t.group {
			if c := &t.group[i]; !c.done && c.r.Overlaps(near) {
				c.done = true
				t.members = append(t.members, i)
				box = box.Union(c.r)
				grew = true
			}
		}
	}
	for i := 1; i < len(t.members); i++ { // in order: insertion sort, clusters are small
		for j := i; j > 0 && t.members[j] < t.members[j-1]; j-- {
			t.members[j], t.members[j-1] = t.members[j-1], t.members[j]
		}
	}
	return t.members, box
}

// splitGap and rowGap are the fewest unchanged columns and rows at which changedParts
// splits a rectangle: a split costs an IMAGE's header and a coder's last bytes, and
// saves a player decoding the unchanged pixels between (decodeWork), which leaves more
// of a segment's budget to predict. These made the benchmark's idle desktop's recording
// smallest, of 16 to 64 columns and 8 to 32 rows (docs/recording.md § Size).
const (
	splitGap = 24
	rowGap   = 16
)

// changedParts appends to dst rectangles, within r, that hold every pixel where pix
// differs from old (r's pixels after and before, RGBA rows packed): r is split where
// splitGap or more columns are unchanged, each piece where rowGap or more of its rows
// are, and each of those trimmed to its changed rows and columns. Nothing changed: none.
func changedParts(dst []image.Rectangle, old, pix []byte, r image.Rectangle) []image.Rectangle {
	w := r.Dx()
	differs := func(x, y int) bool {
		i := (y*w + x) * 4
		return pix[i] != old[i] || pix[i+1] != old[i+1] || pix[i+2] != old[i+2]
	}
	colChanged := func(x, y0, y1 int) bool {
		for y := y0; y < y1; y++ {
			if differs(x, y) {
				return true
			}
		}
		return false
	}
	rowChanged := func(y, x0, x1 int) bool {
		for x := x0; x < x1; x++ {
			if differs(x, y) {
				return true
			}
		}
		return false
	}
	// runs calls part for each run of n lines where changed is true, runs split where
	// gap or more lines between are not.
	runs := func(n, gap int, changed func(int) bool, part func(first, last int)) {
		first, last := -1, -1
		for i := range n {
			if !changed(i) {
				continue
			}
			if first >= 0 && i-last-1 >= gap {
				part(first, last)
				first = -1
			}
			if first < 0 {
				first = i
			}
			last = i
		}
		if first >= 0 {
			part(first, last)
		}
	}
	runs(w, splitGap, func(x int) bool { return colChanged(x, 0, r.Dy()) }, func(x0, x1 int) {
		runs(r.Dy(), rowGap, func(y int) bool { return rowChanged(y, x0, x1+1) }, func(y0, y1 int) {
			a, b := x0, x1
			for !colChanged(a, y0, y1+1) {
				a++
			}
			for !colChanged(b, y0, y1+1) {
				b--
			}
			dst = append(dst, image.Rect(r.Min.X+a, r.Min.Y+y0, r.Min.X+b+1, r.Min.Y+y1+1))
		})
	})
	return dst
}

// sub returns p's pixels out of pix, r's pixels (RGBA rows packed), in *buf.
func sub(buf *[]byte, pix []byte, r, p image.Rectangle) []byte {
	b := (*buf)[:0]
	w := r.Dx() * 4
	for y := p.Min.Y; y < p.Max.Y; y++ {
		i := (y-r.Min.Y)*w + (p.Min.X-r.Min.X)*4
		b = append(b, pix[i:i+p.Dx()*4]...)
	}
	*buf = b
	return b
}

// decodeWork estimates what decoding p, a part of r, as PREDICT costs a player, in units
// of some tens of nanoseconds of Chromium's time (TestBrowserPlayerSeekPredicted): a
// pixel that kept its colour is mostly one sure question; one that took its left or
// upper neighbour's colour, a few mixed ones; any other, a literal besides. old and pix
// are r's pixels before and after (RGBA rows packed).
func decodeWork(old, pix []byte, r, p image.Rectangle) int {
	stride := r.Dx() * 4
	work := 0
	for y := p.Min.Y; y < p.Max.Y; y++ {
		row := (y-r.Min.Y)*stride + (p.Min.X-r.Min.X)*4
		for x := p.Min.X; x < p.Max.X; x++ {
			i := row + (x-p.Min.X)*4
			switch {
			case pix[i] == old[i] && pix[i+1] == old[i+1] && pix[i+2] == old[i+2]:
				work += workSame
			case x > p.Min.X && pix[i] == pix[i-4] && pix[i+1] == pix[i-3] && pix[i+2] == pix[i-2],
				y > p.Min.Y && pix[i] == pix[i-stride] && pix[i+1] == pix[i-stride+1] && pix[i+2] == pix[i-stride+2]:
				work += workNeighbour
			default:
				work += workOther
			}
		}
	}
	return work
}

// cost is the area of parts, within r (old and pix its pixels before and after, RGBA
// rows packed), and their decoding work.
func cost(old, pix []byte, r image.Rectangle, parts []image.Rectangle) (area, work int) {
	for _, p := range parts {
		area += p.Dx() * p.Dy()
		work += decodeWork(old, pix, r, p)
	}
	return area, work
}

// The weights of decodeWork.
const (
	workSame      = 1
	workNeighbour = 4
	workOther     = 36
)

// rgb appends r's pixels of img to dst as RGB, ZRGB's layout.
func rgb(dst []byte, img *image.RGBA, r image.Rectangle) []byte {
	if r.Empty() {
		return dst // however far out: an empty IMAGE is valid anywhere
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			dst = append(dst, row[i], row[i+1], row[i+2])
		}
	}
	return dst
}

// crop appends r's pixels of img (RGBA rows packed) to dst.
func crop(dst []byte, img *image.RGBA, r image.Rectangle) []byte {
	if r.Empty() {
		return dst
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst = append(dst, img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]...)
	}
	return dst
}

// paste puts crop's pixels back.
func paste(img *image.RGBA, r image.Rectangle, pix []byte) {
	w := r.Dx() * 4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(img.Pix[img.PixOffset(r.Min.X, y):], pix[(y-r.Min.Y)*w:][:w])
	}
}

// pasteInto puts r's pixels, pix (RGBA rows packed), into dst, box's pixels.
func pasteInto(dst []byte, box, r image.Rectangle, pix []byte) {
	w, bw := r.Dx()*4, box.Dx()*4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(dst[(y-box.Min.Y)*bw+(r.Min.X-box.Min.X)*4:], pix[(y-r.Min.Y)*w:][:w])
	}
}

// pasteFrom puts r's pixels of full, the whole of img's pixels (RGBA rows packed), into
// img.
func pasteFrom(img *image.RGBA, r image.Rectangle, full []byte) {
	stride := img.Rect.Dx() * 4
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		j := (y-img.Rect.Min.Y)*stride + (r.Min.X-img.Rect.Min.X)*4
		copy(img.Pix[i:i+r.Dx()*4], full[j:])
	}
}
