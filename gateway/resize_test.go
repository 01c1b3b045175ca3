package gateway

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// heapInuse is the heap in use after two collections: the second frees what the
// first left in sync.Pool's victim cache.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// xScreenSize reads the X screen's size with xdpyinfo.
func xScreenSize(t *testing.T, x *peers.X) image.Point {
	t.Helper()
	out := x.Run(t, "xdpyinfo")
	m := regexp.MustCompile(`dimensions:\s+(\d+)x(\d+) pixels`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("xdpyinfo: no dimensions in %q", out)
	}
	w, _ := strconv.Atoi(string(m[1]))
	h, _ := strconv.Atoi(string(m[2]))
	return image.Pt(w, h)
}

// rssMiB is a process's resident set in MiB, from /proc, or -1.
func rssMiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb >> 10
}

const mib = 1 << 20

// TestDesktopCapSetting: max-width and max-height are checked when the config loads.
func TestDesktopCapSetting(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{"{max-width: 1920, max-height: 1080}", ""},
		{"{max-width: 64, max-height: 8192}", ""},
		{"{max-width: 9000}", `test.yaml:16: endpoints[0].settings.max-width: setting max-width: want 64-8192 (pixels), got "9000"`},
		{"{max-height: 63}", `test.yaml:16: endpoints[0].settings.max-height: setting max-height: want 64-8192 (pixels), got "63"`},
		{"{max-height: wide}", `test.yaml:16: endpoints[0].settings.max-height: setting max-height: want a whole number, got "wide"`},
	} {
		y := strings.Replace(testConfig, "    host: 127.0.0.1:1\n", "    host: 127.0.0.1:1\n    settings: "+tc.settings+"\n", 1)
		_, err := ParseConfig("test.yaml", []byte(y))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.settings, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %s", tc.settings, err, tc.want)
		}
	}
	w, h := config.Settings{}.DesktopCap()
	if w != 4096 || h != 2304 {
		t.Errorf("default cap %dx%d, want 4096x2304", w, h)
	}
}

// TestResizeClamped: the connect request's size and RESIZE reach the remote within the
// endpoint's cap (each side clamped, not refused), and the default cap applies without
// settings. For RDP the cap bounds the size the connection is made with.
func TestResizeClamped(t *testing.T) {
	base := strings.Replace(testConfig, "https://", "http://", 1)
	for _, tc := range []struct {
		name, settings, query string
		resize                wire.ResizeRequest
		want                  []string
	}{
		{"default cap", "", "?width=8192&height=8192", wire.ResizeRequest{Width: 8192, Height: 8192},
			[]string{"size 4096x2304", "size 4096x2304"}},
		{"endpoint cap", "{max-width: 1920, max-height: 1200}", "?width=3000&height=700", wire.ResizeRequest{Width: 1000, Height: 5000},
			[]string{"size 1920x700", "size 1000x1200"}},
		{"under the cap", "{max-width: 1920, max-height: 1200}", "?width=1024&height=700", wire.ResizeRequest{Width: 640, Height: 480},
			[]string{"size 1024x700", "size 640x480"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := base
			if tc.settings != "" {
				y = strings.Replace(base, "    host: 127.0.0.1:1\n", "    host: 127.0.0.1:1\n    settings: "+tc.settings+"\n", 1)
			}
			ts := newTestServer(t, y)
			remotes := ts.useFake(nil)
			conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			f := <-remotes
			readUntil(t, conn, wire.TypeHello, 5*time.Second)
			waitFor(t, "initial resize", func() bool { return len(f.Events()) > 0 })
			send(t, conn, tc.resize)
			waitFor(t, "resizes", func() bool { return len(f.Events()) >= len(tc.want) })
			if got := f.Events(); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("remote got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("rdp settings", func(t *testing.T) {
		for _, tc := range []struct {
			set  config.Settings
			want image.Point
		}{
			{config.Settings{"width": "5000", "height": "3000"}, image.Pt(4096, 2304)},
			{config.Settings{"width": "5000", "height": "3000", "max-width": "6000", "max-height": "2000"}, image.Pt(5000, 2000)},
			{config.Settings{"width": "800", "height": "600", "max-width": "64"}, image.Pt(200, 600)},
			{config.Settings{}, image.Pt(0, 0)}, // protocols/rdp's default
		} {
			cfg, err := rdpOptions(tc.set)
			if err != nil || image.Pt(cfg.Width, cfg.Height) != tc.want {
				t.Errorf("rdpOptions(%v) = %dx%d, %v; want %v", tc.set, cfg.Width, cfg.Height, err, tc.want)
			}
		}
	})

	t.Run("rdp", func(t *testing.T) {
		ts := newTestServer(t, base)
		sizes := make(chan string, 1)
		ts.dial = func(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
			sizes <- set["width"] + "x" + set["height"]
			return nil, nil, errRemoteAuth
		}
		conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/Windows%20box?width=8192&height=3000", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		select {
		case got := <-sizes:
			if got != "4096x2304" {
				t.Fatalf("RDP dialled with %s, want 4096x2304", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no dial")
		}
	})
}

// TestXvncResizeCapAndRelease: a browser asks for 8192x8192, then for 1024x768 again.
// The X screen never exceeds the max-width/max-height cap (default 4096x2304), and the
// heap racgate uses comes back to about where it was: the big screen's framebuffer,
// viewer scratch and decoder buffers are not kept.
func TestXvncResizeCapAndRelease(t *testing.T) {
	peers.Require(t, "Xvnc", "xdpyinfo", "xwd", "xterm")
	// Each encoding has its own decoder buffers: Tight's are per rectangle (Xvnc cuts
	// them small), ZRLE's hold a whole rectangle, up to the screen.
	for _, enc := range []string{"tight copyrect", "zrle copyrect"} {
		t.Run(strings.Fields(enc)[0], func(t *testing.T) { xvncResizeCapAndRelease(t, enc) })
	}
}

func xvncResizeCapAndRelease(t *testing.T, encodings string) {
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "1024x768"})
	x.Start(t, "xterm", "-geometry", "80x24+10+10", "-fa", "", "-fn", "fixed", "+bc")
	y := strings.NewReplacer("https://gw.example", "http://gw.example",
		"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {quality: lossless, encodings: "+encodings+"}\n").Replace(testConfig)
	ts := newTestServer(t, y)
	b := openBrowser(t, ts, "demo", "/ws/desk?width=1024&height=768")
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 && b.hello != nil })
	if b.hello.Flags&wire.FlagResize == 0 {
		t.Fatalf("HELLO flags %b lack resize", b.hello.Flags)
	}
	matchScreen(t, b, x)
	before := heapInuse()
	xBefore := rssMiB(x.PID)

	b.send(wire.ResizeRequest{Width: 8192, Height: 8192})
	b.wait("canvas resized", 60*time.Second, func(b *browser) bool {
		return b.canvas.Image().Rect.Dx() != 1024
	})
	big := matchScreen(t, b, x).Rect.Size() // every big buffer has been used once
	peak := heapInuse()
	xPeak := rssMiB(x.PID)
	if xs := xScreenSize(t, x); xs.X > 4096 || xs.Y > 2304 || xs != big {
		t.Errorf("X screen %v (canvas %v) after RESIZE 8192x8192; want at most 4096x2304", xs, big)
	}

	b.send(wire.ResizeRequest{Width: 1024, Height: 768})
	b.wait("canvas 1024x768", 30*time.Second, func(b *browser) bool {
		return b.canvas.Image().Rect == image.Rect(0, 0, 1024, 768)
	})
	matchScreen(t, b, x)
	if xs := xScreenSize(t, x); xs != image.Pt(1024, 768) {
		t.Errorf("X screen %v, want 1024x768", xs)
	}
	after := heapInuse()
	t.Logf("heap in use: %d MiB before, %d MiB at %v, %d MiB after resizing back; Xvnc RSS %d, %d, %d MiB",
		before/mib, peak/mib, big, after/mib, xBefore, xPeak, rssMiB(x.PID))
	// The big screen's framebuffer alone is 36 MiB, as is a lone viewer's scratch; what
	// stays beside them (measured: about 1 MiB) is far less than either.
	if after > before+16*mib {
		t.Errorf("heap in use %d MiB after resizing back, %d MiB before: the big screen's buffers were kept", after/mib, before/mib)
	}
}

// TestXvncResizeMethod: with resize-method none HELLO offers no resize, and the X screen
// keeps its size both at connect (the browser's 800x600 differs from it) and after a
// RESIZE_REQUEST sent anyway; with display-update, as with the default
// (TestXvncInitialResize), it follows both. The pointer sent after the request is the
// sync point: once Xvnc has it, it has had any SetDesktopSize before it.
func TestXvncResizeMethod(t *testing.T) {
	peers.Require(t, "Xvnc", "xdpyinfo", "xwd", "xdotool")
	for _, tc := range []struct {
		method  string
		resizes bool
	}{{"none", false}, {"display-update", true}} {
		t.Run(tc.method, func(t *testing.T) {
			x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "640x480"})
			y := strings.NewReplacer("https://gw.example", "http://gw.example",
				"host: 127.0.0.1:1\n", "host: "+x.Addr+"\n    settings: {quality: lossless, resize-method: "+tc.method+"}\n").Replace(testConfig)
			b := openBrowser(t, newTestServer(t, y), "demo", "/ws/desk?width=800&height=600")
			b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 && b.hello != nil })
			if got := b.hello.Flags&wire.FlagResize != 0; got != tc.resizes {
				t.Fatalf("HELLO flags %b: resize %v, want %v", b.hello.Flags, got, tc.resizes)
			}
			want := image.Pt(640, 480)
			if tc.resizes {
				want = image.Pt(800, 600)
			}
			canvasIs := func(p image.Point) func(b *browser) bool {
				return func(b *browser) bool { return b.canvas.Image().Rect.Size() == p }
			}
			b.wait(fmt.Sprintf("canvas %v", want), 15*time.Second, canvasIs(want))
			if xs := xScreenSize(t, x); xs != want {
				t.Fatalf("X screen %v after connecting at 800x600, want %v", xs, want)
			}

			b.send(wire.ResizeRequest{Width: 500, Height: 400}, wire.Pointer{X: 17, Y: 23})
			x.WaitPointer(t, 17, 23, 10*time.Second)
			if tc.resizes {
				want = image.Pt(500, 400)
				b.wait("canvas 500x400", 15*time.Second, canvasIs(want))
			}
			if xs := xScreenSize(t, x); xs != want {
				t.Fatalf("X screen %v after RESIZE_REQUEST 500x400, want %v", xs, want)
			}
			if got := matchScreen(t, b, x).Rect.Size(); got != want {
				t.Fatalf("canvas and X screen %v, want %v", got, want)
			}
		})
	}
}

// TestResizeMethodSettingVNC: a resize-method VNC has no use for is refused when the
// config loads, with the setting's line.
func TestResizeMethodSettingVNC(t *testing.T) {
	for _, tc := range []struct{ method, want string }{
		{"none", ""},
		{"display-update", ""},
		{"reconnect", `test.yaml:12: endpoints[0].settings: setting resize-method: want display-update or none for VNC (reconnect is RDP's), got "reconnect"`},
	} {
		y := strings.Replace(testConfig, "    host: 127.0.0.1:1\n", "    host: 127.0.0.1:1\n    settings: {resize-method: "+tc.method+"}\n", 1)
		_, err := ParseConfig("test.yaml", []byte(y))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.method, err, tc.want)
		}
	}
}
