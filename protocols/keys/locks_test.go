package keys

import "testing"

// TestLocks: the first key syncs; a letter's case against Shift and a keypad digit's
// keysym reveal CapsLock and NumLock; a lock key toggles without a sync of its own.
func TestLocks(t *testing.T) {
	var l Locks
	step := func(keysym uint32, code string, down, wantSync, caps, num bool) {
		t.Helper()
		if got := l.Key(keysym, code, down); got != wantSync || l.Caps != caps || l.Num != num {
			t.Fatalf("%s %#x down %v: sync %v caps %v num %v; want %v %v %v", code, keysym, down, got, l.Caps, l.Num, wantSync, caps, num)
		}
	}
	step('a', "KeyA", true, true, false, false)   // first key: sync
	step('a', "KeyA", false, false, false, false) // releases never sync
	step('B', "KeyB", true, true, true, false)    // upper case without Shift: CapsLock on
	step(0, "ShiftLeft", true, false, true, false)
	step('c', "KeyC", true, false, true, false) // lower case with Shift and CapsLock: as it is
	step(0, "ShiftLeft", false, false, true, false)
	step(0, "CapsLock", true, false, false, false) // toggled, no sync of its own
	step('d', "KeyD", true, false, false, false)
	step(XKKP0+7, "Numpad7", true, true, false, true) // a digit from the keypad: NumLock on
	step(0xff50, "Numpad7", true, true, false, false) // Home from it: NumLock off
	step(0, "ScrollLock", true, false, false, false)
	if !l.Scroll {
		t.Error("ScrollLock not toggled")
	}
}
