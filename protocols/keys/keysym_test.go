package keys

import "testing"

func TestKeysymRune(t *testing.T) {
	for ks, want := range map[uint32]rune{'a': 'a', 0xe9: 'é', 0x010020ac: '€', 0x0101f600: '😀'} {
		if r, ok := KeysymRune(ks); !ok || r != want {
			t.Errorf("KeysymRune(%#x) = %q, %v; want %q", ks, r, ok, want)
		}
	}
	for _, ks := range []uint32{0xff0d, 0xffe1, 0x0100d800, 0x1f, 0x01110000} {
		if r, ok := KeysymRune(ks); ok {
			t.Errorf("KeysymRune(%#x) = %q, want none", ks, r)
		}
	}
}

func TestKeysymScancode(t *testing.T) {
	for ks, want := range map[uint32]uint16{0xff0d: 0x1C, 0xffff: 0xE053, 0xff51: 0xE04B} {
		if sc, ok := KeysymScancode(ks); !ok || sc != want {
			t.Errorf("KeysymScancode(%#x) = %#x, %v; want %#x", ks, sc, ok, want)
		}
	}
	if _, ok := KeysymScancode('a'); ok {
		t.Error("a character's keysym has a scancode")
	}
}
