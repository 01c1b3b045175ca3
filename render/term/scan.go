package term

// vtScanner follows a terminal's output the way the browser's terminal (xterm.js) parses
// it, far enough to tell which bytes are plain text: printed characters and the three
// controls \t, \r and \n, each seen by the parser in its ground state. It also tracks
// the modes that change where plain text lands (scroll margins, origin mode, left/right
// margin mode) and whether they are at their defaults. Output racgate may drop without
// changing the browser's final picture must be plain text written while they are
// (buffer.go).
//
// The parser is the VT500 state machine of ECMA-48 as DEC terminals and xterm.js
// implement it (states and transitions as in xterm.js's VT500_TRANSITION_TABLE); the
// UTF-8 decoding before it drops what xterm.js's decoder drops. Where the scanner cannot
// be sure of the terminal's state it says "not plain" and "modes unknown": that only
// costs elision, never exactness.
type vtScanner struct {
	st vtState

	// UTF-8: the code point being decoded, its length and how many bytes are still due.
	cp      rune
	cpLen   int
	cpNeed  int
	collect uint32 // prefix and intermediate bytes of the sequence, one per byte (xterm.js's collect)

	params  [vtMaxParams]int32
	nparams int
	sub     bool // the sequence has sub-parameters (':'); their meaning is not tracked

	modes vtModes
}

// vtModes are the modes that move plain text away from the defaults the elision proof
// assumes, per screen where the terminal keeps them per screen.
type vtModes struct {
	alt      bool    // the alternate screen is active
	margins  [2]bool // DECSTBM set to something other than the whole screen: [normal, alt]
	origin   bool    // DECOM
	lrMargin bool    // DECLRMM (then DECSLRM can set left/right margins)
	unknown  bool    // a mode sequence the scanner could not follow; cleared by RIS only
}

// defaults reports whether plain text lands as it would with every tracked mode at its
// default: the scroll region is the whole screen, so every line feed at the bottom row
// scrolls the screen (into the scrollback, on the normal screen).
func (m *vtModes) defaults() bool {
	scr := 0
	if m.alt {
		scr = 1
	}
	return !m.margins[scr] && !m.origin && !m.lrMargin && !m.unknown
}

type vtState uint8

const (
	vtGround vtState = iota
	vtEscape
	vtEscInter
	vtCSIEntry
	vtCSIParam
	vtCSIInter
	vtCSIIgnore
	vtSOSString // SOS, PM, APC: ignored up to ST
	vtOSCString
	vtDCSEntry
	vtDCSParam
	vtDCSIgnore
	vtDCSInter
	vtDCSPass
)

// vtMaxParams is xterm.js's limit on a sequence's parameters; later ones are dropped.
const vtMaxParams = 32

// vtMaxParam is the largest parameter value xterm.js keeps (larger ones are clamped).
const vtMaxParam = 0x7fffffff

// Classes of what a byte or code point did, for the buffer.
const (
	vtNone  = iota // part of a code point not complete yet: nothing happened yet
	vtPlain        // printed in the ground state, or \t, \r, \n executed there
	vtOther        // anything else: a control, part of a sequence, dropped invalid UTF-8
)

// feed takes one byte of output and reports what it did: vtNone while a code point is
// incomplete, else the class of the code point it completed (or of the invalid bytes
// the decoder dropped). A byte that cannot continue a partly decoded code point makes the
// decoder drop that code point (dropped: those earlier bytes were vtOther) and start
// afresh with this byte, as xterm.js's decoder does.
func (s *vtScanner) feed(b byte) (class int, dropped bool) {
	if s.cpNeed > 0 {
		if b&0xc0 != 0x80 {
			s.cpNeed = 0
			return s.feedStart(b), true
		}
		s.cp = s.cp<<6 | rune(b&0x3f)
		s.cpNeed--
		if s.cpNeed > 0 {
			return vtNone, false
		}
		cp, ok := s.cp, true
		switch s.cpLen {
		case 2:
			ok = cp >= 0x80
		case 3:
			ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) && cp != 0xfeff // xterm.js drops a BOM
		case 4:
			ok = cp >= 0x10000 && cp <= 0x10ffff
		}
		if !ok {
			return vtOther, false // dropped by the decoder: the parser never sees it
		}
		return s.code(cp), false
	}
	return s.feedStart(b), false
}

func (s *vtScanner) feedStart(b byte) int {
	switch {
	case b < 0x80:
		return s.code(rune(b))
	case b&0xe0 == 0xc0:
		s.cp, s.cpLen, s.cpNeed = rune(b&0x1f), 2, 1
	case b&0xf0 == 0xe0:
		s.cp, s.cpLen, s.cpNeed = rune(b&0x0f), 3, 2
	case b&0xf8 == 0xf0:
		s.cp, s.cpLen, s.cpNeed = rune(b&0x07), 4, 3
	default:
		return vtOther // a stray continuation byte or 0xf8-0xff: skipped by the decoder
	}
	return vtNone
}

// pending reports whether a code point is partly decoded.
func (s *vtScanner) pending() bool { return s.cpNeed > 0 }

// code runs one decoded code point through the parser.
func (s *vtScanner) code(c rune) int {
	st := s.st
	// Anywhere: CAN, SUB and the C1 controls (as code points; raw bytes 0x80-0x9f never
	// decode to them).
	switch {
	case c == 0x18 || c == 0x1a:
		s.st = vtGround
		return vtOther
	case c == 0x1b:
		s.clear()
		s.st = vtEscape
		return vtOther
	case c >= 0x80 && c <= 0x9f:
		switch c {
		case 0x90:
			s.clear()
			s.st = vtDCSEntry
		case 0x9b:
			s.clear()
			s.st = vtCSIEntry
		case 0x9c:
			s.st = vtGround
		case 0x9d:
			s.st = vtOSCString
		case 0x98, 0x9e, 0x9f:
			s.st = vtSOSString
		default:
			s.st = vtGround // executed; no C1 control changes a tracked mode
		}
		return vtOther
	}
	exe := c < 0x20 && c != 0x1b // the C0 controls but ESC (CAN and SUB are handled above)
	switch st {
	case vtGround:
		switch {
		case c == '\t' || c == '\r' || c == '\n':
			return vtPlain
		case exe, c == 0x7f:
			return vtOther
		}
		return vtPlain // 0x20-0x7e and every code point from U+00A0 on is printed
	case vtEscape:
		switch {
		case exe || c == 0x7f:
		case c >= 0x20 && c <= 0x2f:
			s.collect = s.collect<<8 | uint32(c)
			s.st = vtEscInter
		case c == '[':
			s.clear()
			s.st = vtCSIEntry
		case c == ']':
			s.st = vtOSCString
		case c == 'P':
			s.clear()
			s.st = vtDCSEntry
		case c == 'X' || c == '^' || c == '_':
			s.st = vtSOSString
		case c >= 0x30 && c <= 0x7e:
			s.escDispatch(c)
			s.st = vtGround
		default: // U+00A0 and up: an error, back to ground
			s.st = vtGround
		}
	case vtEscInter:
		switch {
		case exe || c == 0x7f:
		case c >= 0x20 && c <= 0x2f:
			s.collect = s.collect<<8 | uint32(c)
		case c >= 0x30 && c <= 0x7e:
			s.escDispatch(c)
			s.st = vtGround
		default:
			s.st = vtGround
		}
	case vtCSIEntry, vtCSIParam:
		switch {
		case exe || c == 0x7f:
		case c >= '0' && c <= ';':
			s.param(c)
			s.st = vtCSIParam
		case c >= '<' && c <= '?':
			if st == vtCSIEntry {
				s.collect = s.collect<<8 | uint32(c)
				s.st = vtCSIParam
			} else {
				s.st = vtCSIIgnore
			}
		case c >= 0x20 && c <= 0x2f:
			s.collect = s.collect<<8 | uint32(c)
			s.st = vtCSIInter
		case c >= 0x40 && c <= 0x7e:
			s.csiDispatch(c)
			s.st = vtGround
		default:
			s.st = vtGround
		}
	case vtCSIInter:
		switch {
		case exe || c == 0x7f:
		case c >= 0x20 && c <= 0x2f:
			s.collect = s.collect<<8 | uint32(c)
		case c >= 0x30 && c <= 0x3f:
			s.st = vtCSIIgnore
		case c >= 0x40 && c <= 0x7e:
			s.csiDispatch(c)
			s.st = vtGround
		default:
			s.st = vtGround
		}
	case vtCSIIgnore:
		if c >= 0x40 && c <= 0x7e {
			s.st = vtGround
		}
	case vtSOSString:
		// Ignored up to ST (ESC \ or U+009C, above); a code point from U+00A0 on is an
		// error that ends it.
		if c >= 0xa0 {
			s.st = vtGround
		}
	case vtOSCString:
		if c == 0x07 {
			s.st = vtGround // BEL ends it too
		}
	case vtDCSEntry, vtDCSParam:
		switch {
		case exe || c == 0x7f:
		case c >= '0' && c <= ';':
			s.st = vtDCSParam
		case c >= '<' && c <= '?':
			if st == vtDCSEntry {
				s.st = vtDCSParam
			} else {
				s.st = vtDCSIgnore
			}
		case c >= 0x20 && c <= 0x2f:
			s.st = vtDCSInter
		case c >= 0x40 && c <= 0x7e:
			s.st = vtDCSPass
		default:
			s.st = vtGround
		}
	case vtDCSInter:
		switch {
		case exe || c == 0x7f:
		case c >= 0x20 && c <= 0x2f:
		case c >= 0x30 && c <= 0x3f:
			s.st = vtDCSIgnore
		case c >= 0x40 && c <= 0x7e:
			s.st = vtDCSPass
		default:
			s.st = vtGround
		}
	case vtDCSIgnore, vtDCSPass:
		// Up to ST; nothing in it changes the tracked modes.
	}
	return vtOther
}

func (s *vtScanner) clear() {
	s.collect, s.nparams, s.sub = 0, 1, false
	s.params[0] = 0
}

// param takes a parameter byte: a digit, ';' (next parameter) or ':' (a sub-parameter).
func (s *vtScanner) param(c rune) {
	switch {
	case c == ';':
		if s.nparams < vtMaxParams {
			s.params[s.nparams] = 0
		}
		s.nparams++
	case c == ':':
		s.sub = true
	case s.sub:
		// digits of a sub-parameter (or of parameters after one): not tracked
	case s.nparams <= vtMaxParams:
		p := &s.params[s.nparams-1]
		*p = int32(min(int64(*p)*10+int64(c-'0'), vtMaxParam))
	}
}

func (s *vtScanner) escDispatch(c rune) {
	if c == 'c' && s.collect == 0 { // RIS: everything back to its defaults
		s.modes = vtModes{}
	}
}

// csiDispatch follows the sequences that set or reset a tracked mode.
func (s *vtScanner) csiDispatch(c rune) {
	m := &s.modes
	scr := 0
	if m.alt {
		scr = 1
	}
	switch {
	case c == 'r' && s.collect == 0: // DECSTBM
		if s.sub || s.nparams > vtMaxParams {
			m.unknown = true
			return
		}
		// The whole screen: top 0 or 1 and no bottom (or 0). An explicit bottom is taken
		// for margins even when it equals the rows: the browser's row count may differ.
		m.margins[scr] = !(s.params[0] <= 1 && (s.nparams < 2 || s.params[1] == 0))
	case c == 'p' && s.collect == '!': // DECSTR: the scroll region and origin mode reset
		m.margins[scr] = false
		m.origin = false
	case (c == 'h' || c == 'l') && s.collect == '?': // DECSET, DECRST
		if s.sub || s.nparams > vtMaxParams {
			m.unknown = true
			return
		}
		set := c == 'h'
		for _, p := range s.params[:s.nparams] {
			switch p {
			case 6:
				m.origin = set
			case 69:
				m.lrMargin = set
			case 47, 1047, 1049:
				if set {
					m.alt = true
				} else if m.alt {
					// xterm.js clears the alternate screen, margins included, on leaving it.
					m.alt = false
					m.margins[1] = false
				}
			}
		}
	}
}
