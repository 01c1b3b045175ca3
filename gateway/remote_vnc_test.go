package gateway

import (
	"fmt"
	"image"
	"image/color"
	"math/bits"
	"slices"
	"strings"
	"testing"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/protocols/vnc"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/render/wire"
)

func TestVNCOptions(t *testing.T) {
	cfg, opts, err := vncOptions(config.Settings{"hostname": "h", "password": "pw", "username": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != "pw" || cfg.Username != "u" || cfg.QualityLevel != -1 || cfg.CompressLevel != -1 ||
		cfg.SecurityTypes != nil || cfg.TLSConfig != nil || cfg.Encodings != nil || opts.JPEGQuality != 0 || opts.Passthrough {
		t.Fatalf("defaults: %+v %+v", cfg, opts)
	}

	cfg, opts, err = vncOptions(config.Settings{"hostname": "h", "security": "vencrypt", "ignore-cert": "true",
		"encodings": "ZRLE ultra copyrect raw", "quality": "5", "compress-level": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.SecurityTypes, []uint8{vnc.SecurityVeNCrypt}) || cfg.TLSConfig == nil ||
		!cfg.TLSConfig.InsecureSkipVerify || cfg.TLSConfig.ServerName != "h" {
		t.Fatalf("security: %+v", cfg)
	}
	if !slices.Equal(cfg.Encodings, []int32{vnc.EncodingZRLE, vnc.EncodingCopyRect, vnc.EncodingRaw}) {
		t.Fatalf("encodings %v", cfg.Encodings)
	}
	if cfg.QualityLevel != 5 || opts.JPEGQuality != 60 || !opts.Passthrough || cfg.CompressLevel != 3 || opts.ZlibLevel != 3 {
		t.Fatalf("quality: %+v %+v", cfg, opts)
	}
	for _, tc := range []struct {
		sec  string
		want []uint8
	}{{"none", []uint8{vnc.SecurityNone}}, {"vnc", []uint8{vnc.SecurityVNCAuth}}} {
		cfg, _, _ := vncOptions(config.Settings{"security": tc.sec})
		if !slices.Equal(cfg.SecurityTypes, tc.want) {
			t.Errorf("security %s: %v", tc.sec, cfg.SecurityTypes)
		}
	}
	for _, tc := range []struct {
		sec     string
		subtype uint32
		x509    bool
	}{
		{"tlsnone", vnc.VeNCryptTLSNone, false}, {"tlsvnc", vnc.VeNCryptTLSVnc, false},
		{"tlsplain", vnc.VeNCryptTLSPlain, false}, {"x509none", vnc.VeNCryptX509None, true},
		{"x509vnc", vnc.VeNCryptX509Vnc, true}, {"x509plain", vnc.VeNCryptX509Plain, true},
	} {
		cfg, _, err := vncOptions(config.Settings{"hostname": "h", "security": tc.sec})
		if err != nil || !slices.Equal(cfg.SecurityTypes, []uint8{vnc.SecurityVeNCrypt}) ||
			!slices.Equal(cfg.VeNCryptSubtypes, []uint32{tc.subtype}) || (cfg.TLSConfig != nil) != tc.x509 {
			t.Errorf("security %s: %v %v %v tls=%v", tc.sec, err, cfg.SecurityTypes, cfg.VeNCryptSubtypes, cfg.TLSConfig != nil)
		}
	}
	// resize-method: none fixes the size; display-update is the default; reconnect is RDP's.
	for m, fixed := range map[string]bool{"": false, "display-update": false, "none": true} {
		if cfg, _, err := vncOptions(config.Settings{"resize-method": m}); err != nil || cfg.FixedSize != fixed {
			t.Errorf("resize-method %q: FixedSize %v, %v; want %v", m, cfg.FixedSize, err, fixed)
		}
	}
	for _, bad := range []config.Settings{{"security": "nla"}, {"encodings": "h264"}, {"encodings": "ultra"},
		{"quality": "10"}, {"compress-level": "x"}, {"resize-method": "reconnect"}, {"resize-method": "None"}} {
		if _, _, err := vncOptions(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// vncRecorder records the PointerEvents vncRemote sends.
type vncRecorder struct{ calls []string }

func (r *vncRecorder) PointerEvent(mask uint8, x, y int) error {
	r.calls = append(r.calls, fmt.Sprintf("ptr %d %d,%d", mask, x, y))
	return nil
}

func (r *vncRecorder) take() string {
	s := strings.Join(r.calls, "; ")
	r.calls = nil
	return s
}

// TestVNCPointer: the browser's buttons become the RFB mask (back is X button 8, bit 7;
// forward has no RFB bit and is dropped) and each wheel notch a press and release of its
// wheel bit with the held buttons kept down.
func TestVNCPointer(t *testing.T) {
	rec := &vncRecorder{}
	r := &vncRemote{ptr: rec}
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { return r.Pointer(wire.ButtonLeft|wire.ButtonBack, 10, 20) }, "ptr 129 10,20"},
		// wheel down ×2, then left ×1, left and back held
		{func() error { return r.Wheel(-1, 2, 11, 21) }, "ptr 145 11,21; ptr 129 11,21; ptr 145 11,21; ptr 129 11,21; ptr 161 11,21; ptr 129 11,21"},
		{func() error { return r.Pointer(wire.ButtonMiddle|wire.ButtonRight, 11, 21) }, "ptr 6 11,21"},
		{func() error { return r.Pointer(wire.ButtonForward, 12, 22) }, "ptr 0 12,22"},
		{func() error { return r.Pointer(wire.ButtonLeft|wire.ButtonForward, 12, 22) }, "ptr 1 12,22"},
		{func() error { return r.Pointer(wire.ButtonBack|wire.ButtonForward, 12, 22) }, "ptr 128 12,22"},
		// wheel up and right, back held
		{func() error { return r.Wheel(1, -1, 13, 23) }, "ptr 136 13,23; ptr 128 13,23; ptr 192 13,23; ptr 128 13,23"},
		{func() error { return r.Pointer(0, 13, 23) }, "ptr 0 13,23"},
		{func() error { return r.Wheel(0, 0, 13, 23) }, ""},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := rec.take(); got != s.want {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
	}
}

// FuzzVNCPointer: any buttons and notches give masks with only left, middle, right and
// back held, one press and release per notch with the wheel bit on the press only.
func FuzzVNCPointer(f *testing.F) {
	f.Add(uint16(wire.ButtonLeft|wire.ButtonBack), -1, 2, 10, 20)
	f.Add(uint16(0xffff), 32, -32, -5, 70000)
	f.Add(uint16(wire.ButtonForward), 0, 0, 0, 0)
	f.Fuzz(func(t *testing.T, buttons uint16, dx, dy, x, y int) {
		dx, dy = max(-maxWheelNotches, min(dx, maxWheelNotches)), max(-maxWheelNotches, min(dy, maxWheelNotches)) // as the session bounds them
		var masks []uint8
		rec := vncPointerFunc(func(m uint8, _, _ int) error { masks = append(masks, m); return nil })
		r := &vncRemote{ptr: rec}
		if err := r.Pointer(buttons, x, y); err != nil {
			t.Fatal(err)
		}
		if err := r.Wheel(dx, dy, x, y); err != nil {
			t.Fatal(err)
		}
		held := masks[0]
		if held&^(1|2|4|128) != 0 || held&7 != uint8(buttons&7) || (held&128 != 0) != (buttons&wire.ButtonBack != 0) {
			t.Fatalf("buttons %#x: mask %#x", buttons, held)
		}
		notches := abs(dx) + abs(dy)
		if len(masks) != 1+2*notches {
			t.Fatalf("%d notches: %d events", notches, len(masks))
		}
		for i := 1; i < len(masks); i += 2 {
			press, release := masks[i], masks[i+1]
			if release != held || press&held != held || bits.OnesCount8(press^held) != 1 || (press^held)&0x78 == 0 {
				t.Fatalf("notch %d: press %#x release %#x held %#x", i/2, press, release, held)
			}
		}
	})
}

type vncPointerFunc func(mask uint8, x, y int) error

func (f vncPointerFunc) PointerEvent(mask uint8, x, y int) error { return f(mask, x, y) }

func abs(n int) int { return max(n, -n) }

// The first picture is the first frame that drew pixels: an update of pseudo-rectangles
// only (Xvnc sends ExtendedDesktopSize alone) does not make the session go on, which
// would show the browser a black screen and then the whole screen again.
func TestFirstFrameSinkWaitsForPixels(t *testing.T) {
	d := render.NewDisplay(render.DefaultOptions())
	defer d.Close()
	fs := &firstFrameSink{Sink: d, ready: make(chan struct{})}
	isReady := func() bool {
		select {
		case <-fs.ready:
			return true
		default:
			return false
		}
	}
	fs.Resize(32, 16)
	fs.SetCursor(nil, image.Point{})
	fs.EndFrame()
	if isReady() {
		t.Fatal("ready after a frame without pixels")
	}
	fs.Fill(image.Rect(0, 0, 32, 16), color.RGBA{R: 200, A: 255})
	if isReady() {
		t.Fatal("ready before the frame ended")
	}
	fs.EndFrame()
	if !isReady() {
		t.Fatal("not ready after the first frame with pixels")
	}
	fs.Copy(image.Rect(0, 0, 8, 8), image.Pt(8, 8))
	fs.EndFrame() // once only: a second close would panic
}

// Pixels decoded straight into the display (render.PixelWriter) count as drawn; a
// rectangle the display refuses (outside it) does not, and reaches nothing.
func TestFirstFrameSinkWritePixels(t *testing.T) {
	d := render.NewDisplay(render.DefaultOptions())
	defer d.Close()
	fs := &firstFrameSink{Sink: d, ready: make(chan struct{})}
	fs.Resize(32, 16)
	called := false
	if fs.WritePixels(image.Rect(30, 0, 40, 4), func([]byte, int) { called = true }) || called {
		t.Fatal("a rectangle outside the display was written")
	}
	fs.EndFrame()
	select {
	case <-fs.ready:
		t.Fatal("ready after a frame whose only rectangle was refused")
	default:
	}
	if !fs.WritePixels(image.Rect(0, 0, 4, 2), func(dst []byte, stride int) {
		for y := range 2 {
			for x := range 4 {
				copy(dst[y*stride+x*4:], []byte{9, 8, 7, 0})
			}
		}
	}) {
		t.Fatal("WritePixels refused a rectangle inside the display")
	}
	fs.EndFrame()
	select {
	case <-fs.ready:
	default:
		t.Fatal("not ready after a frame drawn through WritePixels")
	}
	if c := d.Snapshot().At(3, 1); c.R != 9 || c.G != 8 || c.B != 7 {
		t.Fatalf("pixel (3,1) is %v after WritePixels", c)
	}
}
