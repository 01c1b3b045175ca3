package vnc_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/vnc"
)

// typedKeys types "Hello1/" and Enter: a shifted letter, digits and an
// extended (0xE0) key, as the browser would report them.
var typedKeys = []struct {
	keysym uint32
	code   string
	down   bool
}{
	{0xffe1, "ShiftLeft", true}, {'H', "KeyH", true}, {'H', "KeyH", false}, {0xffe1, "ShiftLeft", false},
	{'e', "KeyE", true}, {'e', "KeyE", false}, {'l', "KeyL", true}, {'l', "KeyL", false},
	{'l', "KeyL", true}, {'l', "KeyL", false}, {'o', "KeyO", true}, {'o', "KeyO", false},
	{'1', "Digit1", true}, {'1', "Digit1", false},
	{0xffaf, "NumpadDivide", true}, {0xffaf, "NumpadDivide", false}, // KP_Divide
	{0xff0d, "Enter", true}, {0xff0d, "Enter", false},
}

// typeIntoXterm starts an xterm reading one line into a file, types
// typedKeys into it and checks the file. With wrongKeysyms every keysym is
// 'z', so the line is right only if the server used the scancodes; with
// noCodes no code is sent, so only keysyms can work.
func typeIntoXterm(t *testing.T, x *peers.X, s *session, wrongKeysyms, noCodes bool) {
	t.Helper()
	out := filepath.Join(x.Dir, "typed.txt")
	x.Start(t, "xterm", "-geometry", "40x5+0+0", "-title", "typing", "-e", "sh", "-c", `read line && printf %s "$line" > "$0"; exec sleep 600`, out)
	x.WaitWindow(t, "^typing$", 10*time.Second)
	// Without a window manager the keyboard follows the pointer.
	if err := s.c.PointerEvent(0, 50, 30); err != nil {
		t.Fatal(err)
	}
	x.WaitPointer(t, 50, 30, 10*time.Second)
	for _, k := range typedKeys {
		if wrongKeysyms {
			k.keysym = 'z'
		}
		if noCodes {
			k.code = ""
		}
		if err := s.c.KeyEvent(k.keysym, k.code, k.down); err != nil {
			t.Fatal(err)
		}
	}
	var got []byte
	defer func() { t.Logf("typed line: %q", got) }()
	eventually(t, 10*time.Second, "the typed line", func() bool {
		got, _ = os.ReadFile(out)
		return string(got) == "Hello1/"
	})
}

// Xvnc announces QEMU extended key events: keys go as scancodes. Xvnc only
// uses them with -RawKeyboard (else it maps the keysyms).
func TestXvncKeyboardScancodes(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvnc", "xterm")
	x := peers.StartXvnc(t, peers.XvncOptions{ExtraArgs: []string{"-RawKeyboard"}})
	s := connect(t, x.Addr, vnc.Config{QualityLevel: -1, CompressLevel: -1})
	eventually(t, 5*time.Second, "the first update", func() bool { return s.sink.frames() > 0 })
	eventually(t, 5*time.Second, "QEMU extended key events", func() bool { return vnc.QEMUKeys(s.c) })
	typeIntoXterm(t, x, s, true, false)
}

// x11vnc has no QEMU extended keys: keys go as keysyms.
func TestX11vncKeyboardKeysyms(t *testing.T) {
	t.Parallel()
	peers.Require(t, "Xvfb", "x11vnc", "xterm")
	x := peers.StartXvfb(t, "640x480", 24)
	addr := peers.StartX11vnc(t, x)
	s := connect(t, addr, vnc.Config{QualityLevel: -1, CompressLevel: -1})
	eventually(t, 5*time.Second, "the first update", func() bool { return s.sink.frames() > 0 })
	typeIntoXterm(t, x, s, false, true)
}
