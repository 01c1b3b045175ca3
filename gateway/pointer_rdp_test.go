package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// TestRDPButtons: back and forward reach the X server behind freerdp-shadow as buttons 8
// and 9 (XBUTTON1/XBUTTON2 on the wire; xev reports them), the wheel as 5 down and 4 up.
// One notch each way: freerdp-shadow makes one X click of any wheel event, so the notch
// count (TestRDPInput) cannot be read off X here.
func TestRDPButtons(t *testing.T) {
	peers.Require(t, "Xvfb", "freerdp-shadow-cli", "xev", "xdotool")
	x := peers.StartXvfb(t, "640x480", 24)
	x.Start(t, "xev", "-geometry", "640x480+0+0", "-event", "button")
	x.Run(t, "xdotool", "search", "--sync", "--onlyvisible", "--name", "Event Tester")
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{Security: "tls"})
	ts := newTestServer(t, rdpConfig(srv.Addr,
		"username: "+srv.User+", password: "+srv.Password+", security: tls, ignore-cert: true", "read-only"))
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=640&height=480", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wire.MaxServerMessage)
	b := newBrowser(t, conn)
	b.wait("HELLO", 20*time.Second, func(b *browser) bool { return b.hello != nil || b.closed != nil })
	if b.closed != nil {
		t.Fatalf("CLOSE %d %q\n%s", b.closed.Code, b.closed.Reason, srv.Log())
	}
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })

	b.send(
		wire.Pointer{X: 100, Y: 100},
		wire.Pointer{X: 100, Y: 100, Buttons: wire.ButtonBack}, wire.Pointer{X: 100, Y: 100},
		wire.Pointer{X: 100, Y: 100, Buttons: wire.ButtonForward}, wire.Pointer{X: 100, Y: 100},
		wire.Wheel{X: 100, Y: 100, DY: 1},
		wire.Wheel{X: 100, Y: 100, DY: -1},
		// Left last: once its release is seen, everything before it has arrived.
		wire.Pointer{X: 100, Y: 100, Buttons: wire.ButtonLeft}, wire.Pointer{X: 100, Y: 100},
	)
	want := []int{8, 9, 5, 4, 1}
	var press, release []int
	for deadline := time.Now().Add(10 * time.Second); ; {
		press, release = xevButtons(t, x.Dir)
		if slices.Contains(release, 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Equal(press, want) || !slices.Equal(release, want) {
		t.Fatalf("X saw presses %v and releases %v, want %v for both\n%s", press, release, want, srv.Log())
	}
}
