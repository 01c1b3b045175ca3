package keys

import "strings"

// Locks follows a remote machine's CapsLock, NumLock and ScrollLock from browser key
// events, for protocols that set lock states with a synchronize event (RDP). A web page
// cannot read the lock states, so they are read off what keys produce: a letter's case
// against Shift gives CapsLock, a keypad digit key's keysym (digit or navigation) gives
// NumLock. A lock key toggles the remote's lock as it toggles the browser's. The zero
// value knows nothing yet: the first key asks for a sync.
type Locks struct {
	Caps, Num, Scroll bool // the states the remote has (after the last sync)

	synced         bool
	shiftL, shiftR bool // held
}

// Key takes one key event and reports whether the remote's lock states must be set to
// Caps, Num and Scroll before the key is sent: on the first key, and whenever a key
// shows the browser's states differ from the remote's.
func (l *Locks) Key(keysym uint32, code string, down bool) (sync bool) {
	switch code {
	case "ShiftLeft":
		l.shiftL = down
	case "ShiftRight":
		l.shiftR = down
	case "CapsLock", "NumLock", "ScrollLock":
		if down && l.synced {
			switch code {
			case "CapsLock":
				l.Caps = !l.Caps
			case "NumLock":
				l.Num = !l.Num
			default:
				l.Scroll = !l.Scroll
			}
		}
		return false
	}
	if !down {
		return false
	}
	caps, num := l.Caps, l.Num
	if len(code) == 4 && strings.HasPrefix(code, "Key") {
		shift := l.shiftL || l.shiftR
		switch {
		case keysym >= 'A' && keysym <= 'Z':
			caps = !shift
		case keysym >= 'a' && keysym <= 'z':
			caps = shift
		}
	}
	if len(code) == 7 && strings.HasPrefix(code, "Numpad") && code[6] >= '0' && code[6] <= '9' {
		num = keysym >= XKKP0 && keysym <= XKKP9
	}
	if l.synced && caps == l.Caps && num == l.Num {
		return false
	}
	l.synced, l.Caps, l.Num = true, caps, num
	return true
}
