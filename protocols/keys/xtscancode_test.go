package keys

import (
	"fmt"
	"testing"
)

func TestXTScancodeKnown(t *testing.T) {
	cases := map[string]uint16{
		"Escape": 0x01, "KeyA": 0x1E, "KeyQ": 0x10, "KeyZ": 0x2C, "KeyM": 0x32,
		"Digit1": 0x02, "Digit0": 0x0B, "Enter": 0x1C, "Space": 0x39, "Backspace": 0x0E,
		"ShiftLeft": 0x2A, "ShiftRight": 0x36, "ControlLeft": 0x1D, "ControlRight": 0xE01D,
		"AltLeft": 0x38, "AltRight": 0xE038, "MetaLeft": 0xE05B, "MetaRight": 0xE05C,
		"ContextMenu": 0xE05D, "ArrowUp": 0xE048, "ArrowDown": 0xE050, "ArrowLeft": 0xE04B,
		"ArrowRight": 0xE04D, "NumpadEnter": 0xE01C, "NumpadDivide": 0xE035, "NumpadMultiply": 0x37,
		"F1": 0x3B, "F10": 0x44, "F11": 0x57, "F12": 0x58, "IntlBackslash": 0x56,
		"IntlRo": 0x73, "IntlYen": 0x7D, "Delete": 0xE053, "Insert": 0xE052, "Numpad5": 0x4C,
		"Backquote": 0x29, "Backslash": 0x2B, "Quote": 0x28, "CapsLock": 0x3A,
	}
	for code, want := range cases {
		got, ok := XTScancode(code)
		if !ok || got != want {
			t.Errorf("XTScancode(%q) = %#x, %v; want %#x", code, got, ok, want)
		}
	}
}

func TestXTScancodeUnknown(t *testing.T) {
	for _, code := range []string{"", "keya", "Unidentified", "Fn", "KeyÄ"} {
		if sc, ok := XTScancode(code); ok {
			t.Errorf("XTScancode(%q) = %#x, want not found", code, sc)
		}
	}
}

// Every code has a distinct scancode, is a valid make code (bit 7 clear, since
// bit 7 marks a break) and has no prefix but 0xE0.
func TestXTScancodeTableShape(t *testing.T) {
	seen := map[uint16]string{}
	for code, sc := range xtScancodes {
		if other, dup := seen[sc]; dup {
			t.Errorf("%s and %s share scancode %#x", code, other, sc)
		}
		seen[sc] = code
		if hi := sc >> 8; hi != 0 && hi != 0xE0 {
			t.Errorf("%s: prefix %#x", code, hi)
		}
		if sc&0x80 != 0 || sc&0xFF == 0 {
			t.Errorf("%s: %#x is not a make code", code, sc)
		}
	}
	// The whole alphanumeric block must be present.
	for c := 'A'; c <= 'Z'; c++ {
		if _, ok := XTScancode("Key" + string(c)); !ok {
			t.Errorf("Key%c missing", c)
		}
	}
	for d := range 10 {
		if _, ok := XTScancode(fmt.Sprintf("Digit%d", d)); !ok {
			t.Errorf("Digit%d missing", d)
		}
		if _, ok := XTScancode(fmt.Sprintf("Numpad%d", d)); !ok {
			t.Errorf("Numpad%d missing", d)
		}
	}
	for f := 1; f <= 24; f++ {
		if _, ok := XTScancode(fmt.Sprintf("F%d", f)); !ok {
			t.Errorf("F%d missing", f)
		}
	}
}
