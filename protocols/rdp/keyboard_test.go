package rdp

import "testing"

func TestKeyboardLayoutID(t *testing.T) {
	for name, want := range map[string]uint32{"en-us-qwerty": 0x409, "de-de-qwertz": 0x407, "fr-fr-azerty": 0x40C, "ja-jp-qwerty": 0x411} {
		if got, ok := KeyboardLayoutID(name); !ok || got != want {
			t.Errorf("%s: %#x %v, want %#x", name, got, ok, want)
		}
	}
	if _, ok := KeyboardLayoutID("xx-yy"); ok {
		t.Error("unknown layout accepted")
	}
}
