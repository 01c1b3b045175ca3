package gateway

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// xevButton is one button event as xev prints it.
var xevButton = regexp.MustCompile(`(ButtonPress|ButtonRelease) event[^\n]*\n[^\n]*\n[^\n]*button (\d+),`)

// xevButtons reads the X button numbers pressed and released from xev's log.
func xevButtons(t *testing.T, dir string) (press, release []int) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "xev.*.log"))
	if len(logs) != 1 {
		t.Fatalf("xev logs %q", logs)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range xevButton.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "ButtonPress" {
			press = append(press, n)
		} else {
			release = append(release, n)
		}
	}
	return press, release
}

// TestVNCButtons: the browser's buttons and wheel reach the X server as its own button
// numbers (xev reports them): forward has no RFB bit and is dropped, wheel down is 5 once
// per notch, wheel left 6, left 1, and back is 8 where the server has an 8th button.
// TigerVNC 1.12's Xvnc gives its pointer 7 buttons and x11vnc on Xvfb 5, so neither
// delivers 8 (nor x11vnc 6); TestVNCPointer checks the RFB bit 7 we send for back.
func TestVNCButtons(t *testing.T) {
	for _, srv := range []struct {
		name    string
		reaches []int // of want, the buttons this server can deliver
		start   func(t *testing.T) (*peers.X, string)
	}{
		{"Xvnc", []int{5, 6, 1}, func(t *testing.T) (*peers.X, string) {
			peers.Require(t, "Xvnc", "vncpasswd")
			x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "320x240", Password: "racgate1"})
			return x, "host: " + x.Addr + "\n    settings: {password: racgate1}\n"
		}},
		{"x11vnc", []int{5, 1}, func(t *testing.T) (*peers.X, string) {
			peers.Require(t, "Xvfb", "x11vnc")
			x := peers.StartXvfb(t, "320x240", 24)
			return x, "host: " + peers.StartX11vnc(t, x) + "\n"
		}},
	} {
		t.Run(srv.name, func(t *testing.T) {
			peers.Require(t, "xev", "xdotool")
			x, host := srv.start(t)
			x.Start(t, "xev", "-geometry", "320x240+0+0", "-event", "button")
			x.Run(t, "xdotool", "search", "--sync", "--onlyvisible", "--name", "Event Tester")

			y := strings.NewReplacer("https://gw.example", "http://gw.example", "host: 127.0.0.1:1\n", host).Replace(testConfig)
			ts := newTestServer(t, y)
			conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			conn.SetReadLimit(wire.MaxServerMessage)
			b := newBrowser(t, conn)
			b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.hello != nil && b.frames > 0 })

			b.send(
				wire.Pointer{X: 100, Y: 100},
				wire.Pointer{X: 100, Y: 100, Buttons: wire.ButtonBack}, wire.Pointer{X: 100, Y: 100},
				wire.Pointer{X: 100, Y: 100, Buttons: wire.ButtonForward}, wire.Pointer{X: 100, Y: 100},
				wire.Wheel{X: 101, Y: 100, DY: 2},
				wire.Wheel{X: 101, Y: 100, DX: -1},
				// Left last: once its release is seen, everything before it has arrived.
				wire.Pointer{X: 101, Y: 100, Buttons: wire.ButtonLeft}, wire.Pointer{X: 101, Y: 100},
			)
			want := []int{8, 5, 5, 6, 1}
			var press, release []int
			deadline := time.Now().Add(10 * time.Second)
			for {
				press, release = xevButtons(t, x.Dir)
				if slices.Contains(release, 1) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if slices.Contains(press, 8) {
				srv.reaches = append(srv.reaches, 8) // a server with 8 buttons: back arrived
			}
			want = slices.DeleteFunc(want, func(n int) bool { return !slices.Contains(srv.reaches, n) })
			if !slices.Equal(press, want) || !slices.Equal(release, want) {
				t.Fatalf("X saw presses %v and releases %v, want %v for both", press, release, want)
			}
		})
	}
}
