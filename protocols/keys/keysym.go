package keys

// X11 keysyms (the wire's KEY keysym) for key events that come without a code: an
// on-screen or IME keyboard.

// KeysymScancode is the PC/XT scancode of an editing key's keysym (BackSpace, Tab,
// Return, Escape, Delete, Home, End, Prior, Next and the arrows).
func KeysymScancode(keysym uint32) (scancode uint16, ok bool) {
	scancode, ok = keysymScancodes[keysym]
	return scancode, ok
}

// keysymScancodes is read-only.
var keysymScancodes = map[uint32]uint16{
	0xff08: 0x0E, 0xff09: 0x0F, 0xff0d: 0x1C, 0xff1b: 0x01, // BackSpace Tab Return Escape
	0xffff: 0xE053, 0xff50: 0xE047, 0xff57: 0xE04F, // Delete Home End
	0xff55: 0xE049, 0xff56: 0xE051, // Prior Next
	0xff51: 0xE04B, 0xff52: 0xE048, 0xff53: 0xE04D, 0xff54: 0xE050, // Left Up Right Down
}

// The keypad's digit keysyms, KP_0 to KP_9.
const (
	XKKP0 = 0xffb0
	XKKP9 = 0xffb9
)

// KeysymRune is the character a keysym types: Latin-1 keysyms are their code points,
// Unicode keysyms are 0x01000000 + code point. Function keysyms have none.
func KeysymRune(keysym uint32) (rune, bool) {
	switch {
	case keysym >= 0x20 && keysym <= 0x7e, keysym >= 0xa0 && keysym <= 0xff:
		return rune(keysym), true
	case keysym >= 0x01000100 && keysym <= 0x0110ffff:
		cp := rune(keysym - 0x01000000)
		if cp >= 0xd800 && cp <= 0xdfff {
			return 0, false
		}
		return cp, true
	}
	return 0, false
}
