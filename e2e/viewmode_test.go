package e2e

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// viewState is the driver's viewState result.
type viewState struct {
	Toggle *struct {
		Shown   bool   `json:"shown"`
		Pressed string `json:"pressed"`
		Text    string `json:"text"`
		Tag     string `json:"tag"`
	} `json:"toggle"`
	Mode   string  `json:"mode"`
	Stored *string `json:"stored"`
	Canvas struct {
		Width, Height       int
		Left, Top           float64
		CSSWidth, CSSHeight float64
	} `json:"canvas"`
	View struct {
		ClientWidth, ClientHeight int
		ScrollWidth, ScrollHeight int
		ScrollLeft, ScrollTop     float64
	} `json:"view"`
	Active string  `json:"active"`
	DPR    float64 `json:"dpr"`
}

// menuHandle is the menu handle's strip at the window's left edge (client.css), in CSS
// pixels: the remote's area starts right of it.
const menuHandle = 6

// toggleViewMode clicks "Actual size" in the menu, then closes the menu (which gives the
// keyboard back to the canvas, as the toggle itself does).
func toggleViewMode(b *browser) {
	b.do(map[string]any{"menu": true})
	b.do(map[string]any{"clickSelector": "#view-mode"})
	b.do(map[string]any{"menu": false})
}

func getViewState(t *testing.T, b *browser) viewState {
	t.Helper()
	res := b.do(map[string]any{"viewState": true})
	var v viewState
	if err := remarshal(res, &v); err != nil {
		t.Fatalf("viewState: %v (%v)", err, res)
	}
	if v.Toggle == nil {
		t.Fatal("the page has no #view-mode")
	}
	return v
}

func (v viewState) String() string {
	stored := "<none>"
	if v.Stored != nil {
		stored = *v.Stored
	}
	return fmt.Sprintf("mode %q (stored %q), toggle shown %v pressed %s, canvas %dx%d drawn %.2fx%.2f at %.2f,%.2f, view %dx%d of %dx%d scrolled %.1f,%.1f, focus #%s",
		v.Mode, stored, v.Toggle.Shown, v.Toggle.Pressed, v.Canvas.Width, v.Canvas.Height, v.Canvas.CSSWidth, v.Canvas.CSSHeight,
		v.Canvas.Left, v.Canvas.Top, v.View.ClientWidth, v.View.ClientHeight, v.View.ScrollWidth, v.View.ScrollHeight,
		v.View.ScrollLeft, v.View.ScrollTop, v.Active)
}

// remarshal decodes a driver result into a struct (case-insensitive field names).
func remarshal(from map[string]any, to any) error {
	data, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, to)
}

// assertFit: the fit mode on an 800x600 viewport: the toggle in the given state, the
// canvas within the viewport, nothing to scroll.
func assertFit(t *testing.T, v viewState) {
	t.Helper()
	if v.Mode != "fit" {
		t.Fatalf("mode is not fit: %v", v)
	}
	if v.Canvas.CSSWidth > 800.01 || v.Canvas.CSSHeight > 600.01 || v.Canvas.CSSWidth < 100 {
		t.Fatalf("fitted canvas is not within the 800x600 viewport: %v", v)
	}
	if v.View.ScrollWidth > v.View.ClientWidth || v.View.ScrollHeight > v.View.ClientHeight || v.View.ScrollLeft != 0 || v.View.ScrollTop != 0 {
		t.Fatalf("the page area scrolls in fit mode: %v", v)
	}
}

// assertActual: 1:1 with a 1600x1000 framebuffer at dpr 1: the canvas drawn at the
// framebuffer's size, the area scrolling over it, the toggle pressed.
func assertActual(t *testing.T, v viewState) {
	t.Helper()
	if v.Mode != "1:1" || !v.Toggle.Shown || v.Toggle.Pressed != "true" {
		t.Fatalf("not in 1:1 with the toggle pressed: %v", v)
	}
	if v.Canvas.Width != 1600 || v.Canvas.Height != 1000 || v.DPR != 1 {
		t.Fatalf("framebuffer / dpr: %v (dpr %v)", v, v.DPR)
	}
	if v.Canvas.CSSWidth != 1600 || v.Canvas.CSSHeight != 1000 {
		t.Fatalf("1:1 canvas is not drawn at the framebuffer's size: %v", v)
	}
	if v.View.ScrollWidth != 1600 || v.View.ScrollHeight != 1000 || v.View.ClientWidth > 800 || v.View.ClientHeight > 600 {
		t.Fatalf("the page area does not scroll over the 1:1 canvas: %v", v)
	}
	// Top-left aligned: the canvas starts at the area's corner, less the scroll offset.
	if math.Abs(v.Canvas.Left-menuHandle+v.View.ScrollLeft) > 0.01 || math.Abs(v.Canvas.Top+v.View.ScrollTop) > 0.01 {
		t.Fatalf("1:1 canvas is not at the area's corner: %v", v)
	}
}

func scrollView(t *testing.T, b *browser, x, y int) (int, int) {
	t.Helper()
	res := b.do(map[string]any{"scrollView": map[string]any{"x": x, "y": y}})
	sx, _ := res["scrollLeft"].(float64)
	sy, _ := res["scrollTop"].(float64)
	return int(sx), int(sy)
}

// clickAt clicks framebuffer pixel (x, y) where the canvas is on the viewport now (the
// driver maps it through the canvas's bounding rect, not the page's own mapping) and
// waits until the X pointer is there.
func clickAt(t *testing.T, b *browser, x *peers.X, px, py int) {
	t.Helper()
	res := b.do(map[string]any{"click": map[string]any{"x": px, "y": py}})
	cx, _ := res["pageX"].(float64)
	cy, _ := res["pageY"].(float64)
	if cx < menuHandle || cy < 0 || cx >= 800+menuHandle || cy >= 600 {
		t.Fatalf("pixel %d,%d is at %.1f,%.1f, outside the viewport", px, py, cx, cy)
	}
	x.WaitPointer(t, px, py, 10*time.Second)
}

// screenshotRGBA is the browser's viewport as a PNG, decoded.
func screenshotRGBA(t *testing.T, b *browser) *image.RGBA {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shot.png")
	b.do(map[string]any{"screenshot": path})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba
}

// viewportMatches compares the remote's area of the viewport (right of the menu handle)
// with the X screen at the scroll offset: in 1:1 each screen pixel is one device pixel,
// unblurred.
func viewportMatches(shot, screen *image.RGBA, sx, sy int) (bad int, first string) {
	for y := 0; y < 580; y++ {
		for x := 0; x < 800; x++ {
			a := shot.RGBAAt(x+menuHandle, y)
			c := screen.RGBAAt(x+sx, y+sy)
			if a.R != c.R || a.G != c.G || a.B != c.B {
				if bad == 0 {
					first = fmt.Sprintf("viewport %d,%d is %v, screen %d,%d is %v", x, y, a, x+sx, y+sy, c)
				}
				bad++
			}
		}
	}
	return bad, first
}

// TestViewModeVNC: a VNC remote kept at its size (resize-method none; 1600x1000, larger
// than the 800x600 browser): fitted by default; the "Actual size" toggle shows it 1:1 with
// the page area scrolling, every pixel crisp; clicks after scrolling reach the right X
// pixel; the wheel over the canvas goes to the remote, not the scrollbars; the choice
// survives a reload and falls back to fit while disconnected; a resizable remote shows no
// toggle.
func TestViewModeVNC(t *testing.T) {
	peers.Require(t, "Xvnc", "xwd", "xsetroot", "xdotool", "vncconfig")
	x := peers.StartXvnc(t, peers.XvncOptions{Geometry: "1600x1000"})
	// A fine checked pattern: any scaling or blur changes its pixels.
	x.Run(t, "xsetroot", "-mod", "3", "3", "-fg", "#ffcc00", "-bg", "#203040")
	// Xvnc could be resized (it offers ExtendedDesktopSize); the setting keeps it fixed.
	url := serveGateway(t, fmt.Sprintf(`  - name: fixed
    provider: test
    protocol: vnc
    host: %[1]s
    settings: {quality: lossless, resize-method: none}
  - name: desk
    provider: test
    protocol: vnc
    host: %[1]s
    settings: {quality: lossless}
`, x.Addr))

	b := startBrowser(t, url)
	b.do(map[string]any{"setViewport": map[string]any{"width": 800 + menuHandle, "height": 600}})
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"open": "fixed"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
	screen := waitCanvasEquals(t, b, x, "after connect")
	if s := screen.Rect.Size(); s.X != 1600 || s.Y != 1000 {
		t.Fatalf("the X screen is %v, want the fixed 1600x1000", s)
	}

	t.Run("fit by default, toggle shown", func(t *testing.T) {
		v := getViewState(t, b)
		if !v.Toggle.Shown || v.Toggle.Pressed != "false" || v.Toggle.Tag != "BUTTON" || v.Toggle.Text != "Actual size" {
			t.Fatalf("toggle for a fixed-size remote: %v (%+v)", v, *v.Toggle)
		}
		assertFit(t, v)
		clickAt(t, b, x, 1500, 900) // fit maps exactly too
	})

	t.Run("actual size scrolls, crisp", func(t *testing.T) {
		toggleViewMode(b)
		v := getViewState(t, b)
		assertActual(t, v)
		if v.Active != "screen" {
			t.Fatalf("the keyboard did not go back to the canvas after the toggle: %v", v)
		}
		if v.Stored == nil || *v.Stored != "1:1" {
			t.Fatalf("the choice is not stored: %v", v)
		}
		var bad int
		var first string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if bad, first = viewportMatches(screenshotRGBA(t, b), screen, 0, 0); bad == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("1:1 viewport differs from the X screen in %d pixels (%s)", bad, first)
			}
		}
	})

	t.Run("clicks after scrolling reach the right pixel", func(t *testing.T) {
		if sx, sy := scrollView(t, b, 517, 333); sx != 517 || sy != 333 {
			t.Fatalf("scrolled to %d,%d, want 517,333", sx, sy)
		}
		clickAt(t, b, x, 1234, 876)
		clickAt(t, b, x, 517, 333+80) // the viewport's left edge
		if bad, first := viewportMatches(screenshotRGBA(t, b), screen, 517, 333); bad != 0 {
			t.Fatalf("scrolled 1:1 viewport differs from the X screen in %d pixels (%s)", bad, first)
		}
		// Scrolled as far as it goes: the bottom-right corner pixel.
		if sx, sy := scrollView(t, b, 5000, 5000); sx != 800 || sy != 400 {
			t.Fatalf("scrolled to %d,%d, want the end 800,400", sx, sy)
		}
		clickAt(t, b, x, 1599, 999)
		clickAt(t, b, x, 800, 400+80)
		if v := getViewState(t, b); v.Active != "screen" {
			t.Fatalf("the keyboard left the canvas: %v", v)
		}
	})

	t.Run("wheel over the canvas goes to the remote", func(t *testing.T) {
		before := getViewState(t, b)
		b.do(map[string]any{"wheel": map[string]any{"x": 1200, "y": 700, "dy": -300}})
		x.WaitPointer(t, 1200, 700, 10*time.Second) // the pointer moved there to turn the wheel
		time.Sleep(300 * time.Millisecond)          // a scroll, if any, is under way
		after := getViewState(t, b)
		if after.View.ScrollLeft != before.View.ScrollLeft || after.View.ScrollTop != before.View.ScrollTop {
			t.Fatalf("the wheel scrolled the page: before %v, after %v", before, after)
		}
	})

	t.Run("reload keeps 1:1", func(t *testing.T) {
		b.do(map[string]any{"reload": true})
		b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
		waitCanvasEquals(t, b, x, "after reload")
		assertActual(t, getViewState(t, b))
		if sx, sy := scrollView(t, b, 300, 200); sx != 300 || sy != 200 {
			t.Fatalf("scrolled to %d,%d, want 300,200", sx, sy)
		}
		clickAt(t, b, x, 321, 654)
	})

	t.Run("disconnected falls back to fit, reconnected is 1:1 again", func(t *testing.T) {
		x.Run(t, "vncconfig", "-disconnect") // Xvnc drops its clients: the remote went away
		b.do(map[string]any{"waitState": "closed", "timeoutMs": 15000})
		v := getViewState(t, b)
		if v.Toggle.Shown {
			t.Fatalf("toggle shown while disconnected: %v", v)
		}
		assertFit(t, v)
		if v.Stored == nil || *v.Stored != "1:1" {
			t.Fatalf("the stored choice changed: %v", v)
		}
		b.do(map[string]any{"reconnect": true})
		b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
		waitCanvasEquals(t, b, x, "after reconnect")
		assertActual(t, getViewState(t, b))
	})

	t.Run("toggle back to fit", func(t *testing.T) {
		toggleViewMode(b)
		v := getViewState(t, b)
		if !v.Toggle.Shown || v.Toggle.Pressed != "false" || v.Stored == nil || *v.Stored != "fit" {
			t.Fatalf("after the second click: %v", v)
		}
		assertFit(t, v)
		clickAt(t, b, x, 1100, 300)
		toggleViewMode(b) // 1:1 stays chosen for the next check
	})

	t.Run("no toggle for a resizable remote", func(t *testing.T) {
		b.do(map[string]any{"open": "desk"})
		b.do(map[string]any{"waitState": "connected", "timeoutMs": 15000})
		v := getViewState(t, b)
		if v.Toggle.Shown {
			t.Fatalf("toggle shown for a resizable remote: %v", v)
		}
		if v.Stored == nil || *v.Stored != "1:1" {
			t.Fatalf("stored choice: %v", v)
		}
		assertFit(t, v)
	})
}
