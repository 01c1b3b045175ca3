package e2e

import (
	"bufio"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// xevKeys runs xev in a window at the X screen's top-left corner and collects the
// keysym names of the key events it sees, as "+Name" (press) and "-Name" (release).
type xevKeys struct {
	mu   sync.Mutex
	keys []string
}

func startXev(t *testing.T, x *peers.X) *xevKeys {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := x.Command(ctx, "xev", "-geometry", "300x200+0+0", "-event", "keyboard")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	xk := &xevKeys{}
	go func() {
		sc := bufio.NewScanner(out)
		press := false
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "KeyPress"):
				press = true
			case strings.HasPrefix(l, "KeyRelease"):
				press = false
			}
			// "    state 0x0, keycode 37 (keysym 0xffe3, Control_L), same_screen YES,"
			if i := strings.Index(l, "(keysym "); i >= 0 {
				f := strings.SplitN(l[i+len("(keysym "):], ", ", 2)
				if len(f) == 2 {
					name, _, _ := strings.Cut(f[1], ")")
					sign := "-"
					if press {
						sign = "+"
					}
					xk.mu.Lock()
					xk.keys = append(xk.keys, sign+name)
					xk.mu.Unlock()
				}
			}
		}
	}()
	x.WaitWindow(t, "Event Tester", 10*time.Second)
	return xk
}

// take returns the keys seen so far and forgets them.
func (xk *xevKeys) take() []string {
	xk.mu.Lock()
	defer xk.mu.Unlock()
	k := xk.keys
	xk.keys = nil
	return k
}

// waitPresses waits until xev has seen the presses in want (in order), at most 10 s,
// leaving out the modifiers Xvnc presses itself to make a keysym (Shift, Caps Lock).
func (xk *xevKeys) waitPresses(t *testing.T, want string) {
	t.Helper()
	var all, got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, k := range xk.take() {
			all = append(all, k)
			if strings.HasPrefix(k, "+") && !strings.HasPrefix(k, "+Shift_") && k != "+Caps_Lock" {
				got = append(got, k)
			}
		}
		if strings.Join(got, " ") == want {
			return
		}
	}
	t.Fatalf("xev saw %q, want the presses %q", strings.Join(all, " "), want)
}

// TestBrowserMenu: nothing of the page lies over the remote screen while the menu is
// closed (the pointer reaches the remote at the top centre and at every corner); the
// menu opens with Ctrl+Alt+Shift and with its handle; its Ctrl+Alt+Del and "type text"
// reach the remote as key events, as xev on the Xvnc display sees them.
func TestBrowserMenu(t *testing.T) {
	peers.Require(t, "Xvnc", "xev", "xdotool")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
	b := startBrowser(t, startGateway(t, x.Addr, ""))
	b.do(map[string]any{"setViewport": map[string]any{"width": 640 + menuHandle, "height": 480}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"open": "desk"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	x.WaitScreenSize(t, 640, 480, 10*time.Second)

	for _, p := range [][2]int{{320, 0}, {319, 1}, {0, 0}, {639, 0}, {0, 479}, {639, 479}, {320, 240}} {
		res := b.do(map[string]any{"click": map[string]any{"x": p[0], "y": p[1]}})
		if px, _ := res["pageX"].(float64); px < menuHandle {
			t.Fatalf("framebuffer %v is at page x %v, on the menu handle", p, px)
		}
		x.WaitPointer(t, p[0], p[1], 10*time.Second)
	}

	xk := startXev(t, x)
	// Without a window manager X focus follows the pointer: put it over xev's window.
	b.do(map[string]any{"click": map[string]any{"x": 150, "y": 100}})
	xk.take()

	// Ctrl+Alt+Shift opens the menu; the modifiers that went to the remote are let go.
	b.do(map[string]any{"press": "Control+Alt+Shift"})
	if res := b.do(map[string]any{"menu": true}); res["open"] != true {
		t.Fatal("the menu is not open after Ctrl+Alt+Shift")
	}
	b.do(map[string]any{"clickSelector": `[data-keys="ctrl-alt-del"]`})
	// Before: the shortcut's own Control and Alt, released when the menu took the focus.
	time.Sleep(500 * time.Millisecond)
	seen := strings.Join(xk.take(), " ")
	if !strings.HasSuffix(seen, "+Control_L +Alt_L +Delete -Delete -Alt_L -Control_L") {
		t.Fatalf("xev saw %q, want Ctrl+Alt+Del pressed and released at the end", seen)
	}
	if strings.Count(seen, "+Control_L") != strings.Count(seen, "-Control_L") || strings.Count(seen, "+Alt_L") != strings.Count(seen, "-Alt_L") {
		t.Fatalf("a modifier is left held at the remote: %q", seen)
	}

	// The figures: frames and KB per second, and the round trip to racgate.
	b.do(map[string]any{"waitFor": map[string]any{"selector": "#details", "text": "ms", "timeoutMs": 5000}})
	if txt, _ := b.do(map[string]any{"text": "#details"})["text"].(string); !strings.Contains(txt, "frames/s") || !strings.Contains(txt, "KB/s") || !strings.Contains(txt, "round trip") {
		t.Errorf("the menu's figures: %q", txt)
	}

	b.do(map[string]any{"fill": map[string]any{"selector": "#type-text", "value": "Hi!"}})
	b.do(map[string]any{"clickSelector": "#type-send"})
	xk.waitPresses(t, "+H +i +exclam")

	// Closed, the menu leaves the top centre to the remote again; the handle reopens it.
	b.do(map[string]any{"menu": false})
	b.do(map[string]any{"click": map[string]any{"x": 320, "y": 0}})
	x.WaitPointer(t, 320, 0, 10*time.Second)
	b.do(map[string]any{"clickSelector": "#menu-handle"})
	if res := b.do(map[string]any{"menu": true}); res["open"] != true {
		t.Fatal("the handle did not open the menu")
	}
}
