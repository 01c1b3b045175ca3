package render

import (
	"bytes"
	"context"
	"image"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/render/wire"
)

// Real desktop content: an X server's own screen (xwd -root) goes through a Display to
// a viewer, and the viewer's canvas must equal the screen pixel for pixel.
func TestRealXScreen(t *testing.T) {
	peers.Require(t, "Xvfb", "xwd", "xterm", "xdotool")
	x := peers.StartXvfb(t, "640x480", 24)
	x.Start(t, "xterm", "-geometry", "80x24+10+10", "-fa", "", "-e", "sh", "-c", "ls -l /usr/bin | head -40; exec cat")
	shot := peers.WaitStill(t, x, 200*time.Millisecond, 10*time.Second)

	d := NewDisplay(DefaultOptions())
	defer d.Close()
	d.Resize(shot.Rect.Dx(), shot.Rect.Dy())
	push := func(img *image.RGBA) {
		// xwd gives RGBA; the framebuffer's fourth byte is unused, so the layout matches.
		d.SetPixels(img.Rect, img.Pix, img.Stride)
		d.EndFrame()
	}
	push(shot)
	c := newClient(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.run(ctx)
	equal := func(want *image.RGBA) {
		t.Helper()
		waitFor(t, "canvas equal to xwd", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			img := c.canvas.Image()
			if img.Rect != want.Rect {
				return false
			}
			for i := 0; i < len(want.Pix); i += 4 {
				if !bytes.Equal(img.Pix[i:i+3], want.Pix[i:i+3]) {
					return false
				}
			}
			return true
		})
	}
	equal(shot)
	first := c.v.Stats()
	_, encs := c.seen()
	for _, e := range encs {
		if e != wire.ZPalette {
			t.Errorf("terminal and desktop background sent as encoding %d, want ZPALETTE/FILL only", e)
		}
	}
	raw := uint64(shot.Rect.Dx() * shot.Rect.Dy() * 3)
	if first.Bytes*10 > raw {
		t.Errorf("first frame %d bytes for %d bytes of RGB: text should compress better than 10:1", first.Bytes, raw)
	}

	// Type into the terminal: the next frame carries only what changed.
	x.Run(t, "xdotool", "search", "--class", "xterm", "windowfocus", "--sync", "type", "hello racgate")
	shot2 := peers.WaitStill(t, x, 200*time.Millisecond, 10*time.Second)
	if bytes.Equal(shot.Pix, shot2.Pix) {
		t.Fatal("typing changed nothing on the X screen")
	}
	// As a VNC server would: send only the rectangle that changed.
	var changed image.Rectangle
	for y := 0; y < shot.Rect.Dy(); y++ {
		for x := 0; x < shot.Rect.Dx(); x++ {
			o := shot.PixOffset(x, y)
			if !bytes.Equal(shot.Pix[o:o+3], shot2.Pix[o:o+3]) {
				changed = changed.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	d.SetPixels(changed, shot2.Pix[shot2.PixOffset(changed.Min.X, changed.Min.Y):], shot2.Stride)
	d.EndFrame()
	equal(shot2)
	second := c.v.Stats()
	if delta := second.Bytes - first.Bytes; delta*4 > first.Bytes {
		t.Errorf("typing a line cost %d bytes, the whole screen %d", delta, first.Bytes)
	}
	t.Logf("screen %dx%d: first frame %d bytes, typed line %d bytes", shot.Rect.Dx(), shot.Rect.Dy(), first.Bytes, second.Bytes-first.Bytes)
}
