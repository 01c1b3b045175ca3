package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/render/wire"
)

func TestRDPOptions(t *testing.T) {
	const fp = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	good := config.Settings{
		"username": "u", "password": "p", "domain": "D", "security": "nla-ext", "ignore-cert": "false",
		"cert-fingerprints": fp + ", 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FE",
		"color-depth":       "16", "width": "1280", "height": "720", "dpi": "120", "server-layout": "de-de-qwertz",
		"timezone": "Europe/Berlin", "client-name": "kiosk-7", "enable-wallpaper": "true", "enable-theming": "true",
		"enable-font-smoothing": "false", "clipboard-max-bytes": "1000", "normalize-clipboard": "windows",
	}
	cfg, err := rdpOptions(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "u" || cfg.Password != "p" || cfg.Domain != "D" || cfg.Security != "nla-ext" || cfg.IgnoreCert ||
		cfg.ColorDepth != 16 || cfg.Width != 1280 || cfg.Height != 720 || cfg.DPI != 120 || cfg.KeyboardLayout != 0x407 ||
		cfg.Timezone != "Europe/Berlin" || cfg.ClientName != "kiosk-7" ||
		cfg.Performance != rdp.EnableWallpaper|rdp.EnableTheming || cfg.ClipboardMaxBytes != 2002 {
		t.Fatalf("config %+v", cfg)
	}
	if len(cfg.CertFingerprints) != 2 || cfg.CertFingerprints[0] != fp ||
		cfg.CertFingerprints[1] != fp[:len(fp)-2]+"fe" {
		t.Fatalf("fingerprints %q", cfg.CertFingerprints)
	}
	// By default the clipboard takes what a CLIPBOARD message can carry, as UTF-16.
	if cfg, err := rdpOptions(config.Settings{}); err != nil || cfg.Security != "" || cfg.Width != 0 || cfg.KeyboardLayout != 0 ||
		cfg.ClipboardMaxBytes != 2*wire.MaxClipboard+2 {
		t.Fatalf("empty settings: %+v, %v", cfg, err)
	}
	for k, v := range map[string]string{
		"security": "rdp", "cert-fingerprints": "sha256:0011", "color-depth": "8", "width": "100",
		"height": "9000", "dpi": "0", "server-layout": "xx-yy-qwerty", "timezone": "Mars/Olympus",
		"client-name": "a-much-too-long-client-name", "clipboard-max-bytes": "0", "normalize-clipboard": "mac",
		"resize-method": "stretch",
	} {
		if _, err := rdpOptions(config.Settings{k: v}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v, want an error naming the setting", k, v, err)
		}
	}
	// resize-method: which of Display Control and reconnecting may resize.
	for m, want := range map[string][2]bool{"": {true, true}, "display-update": {true, false}, "reconnect": {false, true}, "none": {false, false}} {
		set := config.Settings{"resize-method": m}
		if cfg, err := rdpOptions(set); err != nil || cfg.DisplayControl != want[0] || rdpReconnect(set) != want[1] {
			t.Errorf("resize-method %q: Display Control %v, reconnect %v (%v), want %v", m, cfg.DisplayControl, rdpReconnect(set), err, want)
		}
	}
	// The config load names the file and line of an endpoint with a bad setting.
	y := strings.Replace(testConfig, "    host: 127.0.0.1:3\n", "    host: 127.0.0.1:3\n    settings: {server-layout: klingon}\n", 1)
	_, err = ParseConfig("t.yaml", []byte(y))
	if err == nil || !regexp.MustCompile(`t\.yaml:\d+: .*server-layout: unknown keyboard layout "klingon"`).MatchString(err.Error()) {
		t.Fatalf("bad server-layout: %v", err)
	}
}

func TestRDPBrowserSize(t *testing.T) {
	set := config.Settings{"hostname": "h"}
	if got := rdpBrowserSize(set, 1300, 50, 0); got["width"] != "1300" || got["height"] != "200" || got["dpi"] != "" || set["width"] != "" {
		t.Fatalf("browser size: %v (input %v)", got, set)
	}
	if got := rdpBrowserSize(config.Settings{"width": "800"}, 1300, 700, 0); got["width"] != "800" || got["height"] != "" {
		t.Fatalf("endpoint width: %v", got)
	}
	if got := rdpBrowserSize(set, 0, 0, 0); got["width"] != "" {
		t.Fatalf("no browser size: %v", got)
	}
	// dpi follows the browser's scale unless the endpoint sets it; 100 % is the
	// server's default, sent as nothing; the desktop scale factor's range holds.
	for _, tc := range []struct {
		set   config.Settings
		scale int
		dpi   string
	}{
		{set, 200, "192"}, {set, 150, "144"}, {set, 125, "120"}, {set, 100, ""}, {set, 90, ""},
		{set, 1000, "480"}, {config.Settings{"dpi": "96"}, 200, "96"}, {config.Settings{"dpi": "120"}, 0, "120"},
	} {
		got := rdpBrowserSize(tc.set, 1000, 700, tc.scale)
		if got["dpi"] != tc.dpi {
			t.Errorf("%v at scale %d: dpi %q, want %q", tc.set, tc.scale, got["dpi"], tc.dpi)
		}
		if cfg, err := rdpOptions(got); err != nil || tc.dpi != "" && strconv.Itoa(cfg.DPI) != tc.dpi {
			t.Errorf("%v: config DPI %d (%v)", got, cfg.DPI, err)
		}
	}
	// A RESIZE_REQUEST's scale becomes the next resize's, in the same range.
	r := &rdpRemote{scale: 100}
	for _, tc := range [][2]int{{200, 200}, {150, 150}, {50, 100}, {800, 500}, {100, 100}} {
		if r.SetScale(tc[0]); r.scale != tc[1] {
			t.Errorf("SetScale(%d): scale %d, want %d", tc[0], r.scale, tc[1])
		}
	}
}

// rdpConfig is testConfig with endpoint "desk" an RDP endpoint at addr.
func rdpConfig(addr, settings string, connSettings string) string {
	return strings.NewReplacer("https://gw.example", "http://gw.example",
		"    protocol: vnc\n    host: 127.0.0.1:1\n", "    protocol: rdp\n    host: "+addr+"\n    settings: {"+settings+"}\n",
		"connection-settings: [read-only]", "connection-settings: ["+connSettings+"]").Replace(testConfig)
}

// rdpDesktop is an Xvfb with a coloured root and an xterm showing text.
func rdpDesktop(t *testing.T) *peers.X {
	t.Helper()
	peers.Require(t, "Xvfb", "xwd", "xsetroot", "xterm", "freerdp-shadow-cli")
	x := peers.StartXvfb(t, "1024x768", 24)
	x.Run(t, "xsetroot", "-solid", "#2a6f97")
	x.Start(t, "xterm", "-geometry", "60x15+20+20", "-bg", "black", "-fg", "#d0ffd0",
		"-e", "sh", "-c", "printf 'racgate gateway RDP test\\n'; ls -la /usr/bin | head -12; exec sleep 600")
	return x
}

// TestRDPShadowSession is the whole path over RDP: racgate's RDP client logs into
// freerdp-shadow (TLS, password checked by the server), the canvas equals xwd of the
// shadowed display, and KEY events with codes type into an xterm there.
func TestRDPShadowSession(t *testing.T) {
	x := rdpDesktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{Security: "tls"})
	ts := newTestServer(t, rdpConfig(srv.Addr,
		"username: "+srv.User+", password: "+srv.Password+", security: tls, ignore-cert: true, color-depth: 32", "read-only"))
	// A size other than the shadowed screen's, which freerdp-shadow keeps: so the
	// session knows it cannot resize by reconnecting either.
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk?width=1000&height=700", nil)
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
	// No resize (no Display Control, and the server kept its own size), so the
	// browser scales to fit. freerdp-shadow joins the clipboard
	// channel (so copy and paste are offered) but never starts it: nothing comes of them.
	if b.hello.Kind != wire.KindDesktop || b.hello.Flags&(wire.FlagResize|wire.FlagCopy|wire.FlagPaste) != wire.FlagCopy|wire.FlagPaste {
		t.Fatalf("HELLO %+v", b.hello)
	}
	b.wait("first frame", 15*time.Second, func(b *browser) bool { return b.frames > 0 })
	before := matchScreen(t, b, x)

	// Type into an xterm running cat, focused by clicking into it: scancodes from the
	// codes; the file shows what X delivered.
	x.Start(t, "xterm", "-geometry", "40x5+500+400", "-bg", "white", "-fg", "black", "-e", "sh", "-c", "cat > typed.txt")
	time.Sleep(500 * time.Millisecond)
	b.send(wire.Pointer{X: 600, Y: 440}, wire.Pointer{X: 600, Y: 440, Buttons: 1}, wire.Pointer{X: 600, Y: 440})
	var keys []wire.Message
	press := func(code string, keysym uint32) {
		keys = append(keys, wire.Key{Down: true, Keysym: keysym, Code: code}, wire.Key{Keysym: keysym, Code: code})
	}
	for _, c := range "rdp" {
		press("Key"+strings.ToUpper(string(c)), uint32(c))
	}
	keys = append(keys, wire.Key{Down: true, Keysym: 0xffe1, Code: "ShiftLeft"})
	press("Digit1", '!')
	keys = append(keys, wire.Key{Keysym: 0xffe1, Code: "ShiftLeft"})
	press("Enter", 0xff0d)
	b.send(keys...)
	file := filepath.Join(x.Dir, "typed.txt")
	for deadline := time.Now().Add(10 * time.Second); ; {
		got, _ := os.ReadFile(file)
		if string(got) == "rdp!\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("typed.txt = %q, want %q", got, "rdp!\n")
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := matchScreen(t, b, x)
	if n, _ := peers.DiffRGB(before, after); n < 50 {
		t.Fatalf("only %d pixels changed after typing", n)
	}

	// The wheel scrolls an xterm's history: down at its end changes nothing, up shows
	// earlier lines, and down again the same number of notches returns to the end.
	x.Start(t, "xterm", "-geometry", "30x8+600+80", "-e", "sh", "-c", "seq 1 300; exec sleep 600")
	time.Sleep(300 * time.Millisecond)
	b.send(wire.Pointer{X: 700, Y: 120}) // focus follows the pointer: its cursor changes
	time.Sleep(300 * time.Millisecond)
	bottom := matchScreen(t, b, x)
	wheel := func(dy int) *image.RGBA {
		t.Helper()
		b.send(wire.Wheel{X: 700, Y: 120, DY: dy})
		time.Sleep(700 * time.Millisecond)
		return matchScreen(t, b, x)
	}
	if n, first := peers.DiffRGB(bottom, wheel(3)); n != 0 {
		t.Fatalf("scrolling down at the end changed %d pixels (%s)", n, first)
	}
	if n, _ := peers.DiffRGB(bottom, wheel(-3)); n < 50 {
		t.Fatalf("scrolling up changed only %d pixels", n)
	}
	if n, first := peers.DiffRGB(bottom, wheel(3)); n != 0 {
		t.Fatalf("scrolling back down leaves %d pixels changed (%s)", n, first)
	}
}

// TestRDPShadowNLACertificate: an NLA-only freerdp-shadow with a self-signed
// certificate. Without ignore-cert the user is told the fingerprint; pinned by it,
// NLA logs in and the canvas equals the screen; a wrong password is refused as such.
func TestRDPShadowNLACertificate(t *testing.T) {
	x := rdpDesktop(t)
	srv := peers.StartFreeRDPShadow(t, x, peers.ShadowOptions{Security: "nla"})
	ts := newTestServer(t, rdpConfig(srv.Addr,
		"username: "+srv.User+", password: "+srv.Password+", security: nla", "cert-fingerprints"))
	demo := ts.loggedIn(t, "demo")
	closeOf := func(ts *testServer, query string) wire.Close {
		t.Helper()
		conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), "/ws/desk"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conn.SetReadLimit(wire.MaxServerMessage)
		return lastClose(t, readUntil(t, conn, wire.TypeClose, 20*time.Second))
	}

	cl := closeOf(ts, "")
	fp := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(cl.Reason)
	if cl.Code != wire.CloseForbidden || fp == "" || !strings.Contains(cl.Reason, "cert-fingerprints") ||
		!strings.Contains(cl.Reason, "ignore-cert") {
		t.Fatalf("untrusted certificate: CLOSE %d %q", cl.Code, cl.Reason)
	}
	// The fingerprint is the certificate's: pinned, it is trusted.
	pin := "?cert-fingerprints=" + url.QueryEscape(fp)
	conn, _, err := ts.wsDial(t, demo, "/ws/desk"+pin, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wire.MaxServerMessage)
	b := newBrowser(t, conn)
	b.wait("first frame", 20*time.Second, func(b *browser) bool { return b.frames > 0 || b.closed != nil })
	if b.closed != nil {
		t.Fatalf("pinned: CLOSE %d %q", b.closed.Code, b.closed.Reason)
	}
	matchScreen(t, b, x)
	conn.CloseNow()

	// Another pinned fingerprint does not let this certificate through.
	other := "sha256:" + strings.Repeat("ab", 32)
	if cl := closeOf(ts, "?cert-fingerprints="+url.QueryEscape(other)); cl.Code != wire.CloseForbidden || !strings.Contains(cl.Reason, fp) {
		t.Fatalf("wrong pin: CLOSE %d %q", cl.Code, cl.Reason)
	}
	if cl := closeOf(ts, "?cert-fingerprints=sha256:beef"); cl.Code != wire.CloseForbidden ||
		!strings.Contains(cl.Reason, "Connection settings refused: setting cert-fingerprints") {
		t.Fatalf("malformed pin: CLOSE %d %q", cl.Code, cl.Reason)
	}
	bad := newTestServer(t, rdpConfig(srv.Addr,
		"username: "+srv.User+", password: wrong-"+srv.Password+", security: nla, cert-fingerprints: '"+fp+"'", "read-only"))
	if cl := closeOf(bad, ""); cl.Code != wire.CloseAuthFailed ||
		!strings.Contains(cl.Reason, "refused the credentials") {
		t.Fatalf("wrong password: CLOSE %d %q", cl.Code, cl.Reason)
	}
}

// TestRDPErrors maps protocols/rdp errors to CLOSE codes.
func TestRDPErrors(t *testing.T) {
	ep := &config.Endpoint{Name: "win"}
	for _, tc := range []struct {
		err  error
		code wire.CloseCode
		want string
	}{
		{&rdp.CertificateError{Fingerprint: "sha256:abcd", Reason: errors.New("x509")}, wire.CloseForbidden, "sha256:abcd"},
		{rdp.ErrAuthFailed, wire.CloseAuthFailed, "refused the credentials"},
		{&rdp.ServerError{Code: 0x102, Err: errors.New("EOF")}, wire.CloseForbidden, "licen"},
		{&rdp.ProtocolError{PDU: "Demand Active", Reason: "short"}, wire.CloseProtocolError, "could not understand"},
		{&rdp.NegotiationFailure{Code: 5}, wire.CloseProtocolError, "security"},
		{errors.New("dial tcp: connection refused"), wire.CloseUnreachable, "could not be reached"},
	} {
		var se *sessionEnd
		if !errors.As(rdpDialError(tc.err, ep), &se) || se.Code != tc.code || !strings.Contains(se.Reason, tc.want) {
			t.Errorf("%v: %+v, want %d %q", tc.err, se, tc.code, tc.want)
		}
	}
	// A running session's end is worded by the session, which knows the endpoint.
	var se *sessionEnd
	if errors.As(remoteEnded(rdpRunError(errors.New("EOF")), ep), &se); se == nil || se.Code != wire.CloseRemoteEnded {
		t.Errorf("end of connection: %+v", se)
	}
	se = nil
	if errors.As(remoteEnded(rdpRunError(&rdp.ProtocolError{PDU: "x"}), ep), &se); se == nil || se.Code != wire.CloseProtocolError {
		t.Errorf("protocol error: %+v", se)
	}
}

// TestRDPXRDP logs into xrdp (one per machine: the only xrdp test here) through the
// gateway with the browser's size, and compares the canvas with the session's display.
func TestRDPXRDP(t *testing.T) {
	peers.Require(t, "xwd", "xsetroot", "xterm")
	// The session runs as the test user: cat writes where it may.
	out := fmt.Sprintf("/tmp/racgate-gateway-xrdp-%d", os.Getpid())
	os.Remove(out)
	t.Cleanup(func() { os.Remove(out) })
	srv := peers.StartXRDP(t, peers.XRDPOptions{
		Session: "xsetroot -solid '#2a6f97'\n" +
			"exec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0' -e sh -c 'echo racgate gateway xrdp; exec cat > " + out + "'\n",
	})
	ts := newTestServer(t, rdpConfig(srv.Addr,
		"username: "+srv.User+", password: "+srv.Password+", ignore-cert: true", "read-only"))
	b, x := openXRDP(t, ts, srv, 900, 700)
	screen := matchScreen(t, b, x)
	if screen.Rect.Dx() != 900 || screen.Rect.Dy() != 700 {
		t.Fatalf("xrdp desktop %v, want the browser's 900x700", screen.Rect)
	}

	// Typing with the browser's CapsLock on for one letter: xrdp follows the
	// synchronize events, so 'A' comes out upper case and 'b' lower case again.
	var keys []wire.Message
	press := func(code string, keysym uint32) {
		keys = append(keys, wire.Key{Down: true, Keysym: keysym, Code: code}, wire.Key{Keysym: keysym, Code: code})
	}
	press("KeyX", 'x')
	press("KeyA", 'A')
	press("KeyB", 'b')
	press("Enter", 0xff0d)
	b.send(append([]wire.Message{wire.Pointer{X: 100, Y: 60}}, keys...)...)
	for deadline := time.Now().Add(10 * time.Second); ; {
		got, _ := os.ReadFile(out)
		if string(got) == "xAb\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("typed %q, want %q", got, "xAb\n")
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := matchScreen(t, b, x)
	if n, _ := peers.DiffRGB(screen, after); n < 20 {
		t.Fatalf("only %d pixels changed after typing", n)
	}

	// The clipboard both ways, over cliprdr and xrdp's chansrv.
	if b.hello.Flags&(wire.FlagCopy|wire.FlagPaste) != wire.FlagCopy|wire.FlagPaste {
		t.Fatalf("HELLO flags %#x: want copy and paste", b.hello.Flags)
	}
	rdpClipboardBothWays(t, b, x)

	// The screen follows the browser over Display Control, twice: xrdp resizes the
	// X screen and the canvas follows it.
	if b.hello.Flags&wire.FlagResize == 0 {
		t.Fatalf("HELLO flags %#x: want resize", b.hello.Flags)
	}
	for _, size := range [][2]int{{1000, 640}, {760, 560}} {
		b.send(wire.ResizeRequest{Width: size[0], Height: size[1]})
		x.WaitScreenSize(t, size[0], size[1], 15*time.Second)
		if got := matchScreen(t, b, x); got.Rect.Dx() != size[0] || got.Rect.Dy() != size[1] {
			t.Fatalf("canvas matched a %v screen, want %v", got.Rect, size)
		}
	}
}

// TestRDPXRDPReconnect: with resize-method reconnect (no Display Control asked for),
// the screen follows the browser by reconnecting once the size has been still: each
// browser hears why the screen pauses, xrdp reattaches the same session at the new
// size, and the canvas equals the X screen, the second time as the first.
func TestRDPXRDPReconnect(t *testing.T) {
	peers.Require(t, "xwd", "xsetroot", "xterm")
	srv := peers.StartXRDP(t, peers.XRDPOptions{
		Session: "xsetroot -solid '#2a6f97'\nexec xterm -geometry 60x15+20+20 -bg black -fg '#d0ffd0'\n",
	})
	ts := newTestServer(t, rdpConfig(srv.Addr,
		"username: "+srv.User+", password: "+srv.Password+", ignore-cert: true, resize-method: reconnect", "read-only"))
	b, x := openXRDP(t, ts, srv, 900, 700)
	matchScreen(t, b, x)
	if b.hello.Flags&wire.FlagResize == 0 {
		t.Fatalf("HELLO flags %#x: want resize (by reconnect)", b.hello.Flags)
	}
	for i, size := range [][2]int{{1000, 640}, {760, 560}} {
		// A window being dragged: one reconnect, at the last size.
		b.send(wire.ResizeRequest{Width: size[0] - 40, Height: size[1] - 40})
		b.send(wire.ResizeRequest{Width: size[0], Height: size[1]})
		x.WaitScreenSize(t, size[0], size[1], 20*time.Second)
		if got := matchScreen(t, b, x); got.Rect.Dx() != size[0] || got.Rect.Dy() != size[1] {
			t.Fatalf("canvas matched a %v screen, want %v", got.Rect, size)
		}
		b.mu.Lock()
		got := slices.Clone(b.notices)
		b.mu.Unlock()
		if len(got) != i+1 || got[i].Level != wire.NoticeInfo || !strings.Contains(got[i].Text, fmt.Sprintf("Reconnecting at %dx%d", size[0], size[1])) {
			t.Fatalf("notices %+v, want %d, the last for %v", got, i+1, size)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed != nil {
		t.Fatalf("CLOSE %d %q", b.closed.Code, b.closed.Reason)
	}
}

// openXRDP opens the endpoint "desk" of ts at w x h as user demo and waits for the
// first frame and srv's X session; the connection ends with the test.
func openXRDP(t *testing.T, ts *testServer, srv *peers.RDPServer, w, h int) (*browser, *peers.X) {
	t.Helper()
	conn, _, err := ts.wsDial(t, ts.loggedIn(t, "demo"), fmt.Sprintf("/ws/desk?width=%d&height=%d", w, h), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(wire.MaxServerMessage)
	b := newBrowser(t, conn)
	b.wait("first frame", 30*time.Second, func(b *browser) bool { return b.frames > 0 || b.closed != nil })
	if b.closed != nil {
		t.Fatalf("CLOSE %d %q\n%s", b.closed.Code, b.closed.Reason, srv.Log())
	}
	return b, srv.WaitSession(t, 30*time.Second)
}

// rdpClipboardBothWays copies in the X session and expects the text in the browser,
// then sends the browser's and expects it in the X clipboard. Text stays in the BMP:
// xrdp 0.9 cuts characters beyond it to 16 bits.
func rdpClipboardBothWays(t *testing.T, b *browser, x *peers.X) {
	t.Helper()
	peers.Require(t, "xclip")
	const remote = "Grüße aus X ✓\nzweite Zeile"
	// xclip owns the selection while it runs in the foreground (-quiet); ended with
	// the test.
	cmd := x.Command(context.Background(), "xclip", "-i", "-selection", "clipboard", "-quiet")
	cmd.Stdin = strings.NewReader(remote)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	b.wait("remote clipboard", 15*time.Second, func(b *browser) bool { return slices.Contains(b.clips, remote) })

	const local = "from the browser: héllo ✓\nline two"
	b.send(wire.ClientClipboard{Text: local})
	for deadline := time.Now().Add(15 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, _ := x.Command(ctx, "xclip", "-o", "-selection", "clipboard").Output()
		cancel()
		if string(out) == local {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("X clipboard holds %q, want %q", out, local)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// rdpRecorder records what rdpRemote sends, in the rdp.Client call's words.
type rdpRecorder struct{ calls []string }

func (r *rdpRecorder) add(format string, args ...any) error {
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	return nil
}
func (r *rdpRecorder) KeyScancode(sc uint16, down bool) error { return r.add("sc %#x %v", sc, down) }
func (r *rdpRecorder) KeyUnicode(ch rune, down bool) error    { return r.add("uni %c %v", ch, down) }
func (r *rdpRecorder) Pointer(b uint16, x, y int) error       { return r.add("ptr %d %d,%d", b, x, y) }
func (r *rdpRecorder) Wheel(dx, dy, x, y int) error           { return r.add("wheel %d %d %d,%d", dx, dy, x, y) }
func (r *rdpRecorder) SyncLocks(scroll, num, caps, kana bool) error {
	return r.add("sync scroll=%v num=%v caps=%v", scroll, num, caps)
}

func (r *rdpRecorder) take() string {
	s := strings.Join(r.calls, "; ")
	r.calls = nil
	return s
}

// TestRDPInput: codes become scancodes, characters without a code unicode events, the
// lock states follow the browser's, and buttons and wheel notches pass straight through.
func TestRDPInput(t *testing.T) {
	rec := &rdpRecorder{}
	r := &rdpRemote{in: rec}
	steps := []struct {
		do   func()
		want string
	}{
		// The first key sets the server's locks; 'a' from KeyA: CapsLock off.
		{func() { r.KeyEvent('a', "KeyA", true) }, "sync scroll=false num=false caps=false; sc 0x1e true"},
		{func() { r.KeyEvent('a', "KeyA", false) }, "sc 0x1e false"},
		// 'A' without Shift: the browser's CapsLock is on.
		{func() { r.KeyEvent('A', "KeyA", true) }, "sync scroll=false num=false caps=true; sc 0x1e true"},
		// With Shift held, 'a' means CapsLock on: nothing to sync.
		{func() { r.KeyEvent(0xffe1, "ShiftLeft", true) }, "sc 0x2a true"},
		{func() { r.KeyEvent('a', "KeyA", true) }, "sc 0x1e true"},
		{func() { r.KeyEvent(0xffe1, "ShiftLeft", false) }, "sc 0x2a false"},
		// The CapsLock key toggles both sides: no sync needed after it.
		{func() { r.KeyEvent(0xffe5, "CapsLock", true) }, "sc 0x3a true"},
		{func() { r.KeyEvent(0xffe5, "CapsLock", false) }, "sc 0x3a false"},
		{func() { r.KeyEvent('b', "KeyB", true) }, "sc 0x30 true"},
		{func() { r.KeyEvent(0xff14, "ScrollLock", true) }, "sc 0x46 true"},
		// A keypad digit: NumLock on.
		{func() { r.KeyEvent(0xffb7, "Numpad7", true) }, "sync scroll=true num=true caps=false; sc 0x47 true"},
		// Extended key; a character with no code; a keysym with neither.
		{func() { r.KeyEvent(0xff52, "ArrowUp", true) }, "sc 0xe048 true"},
		{func() { r.KeyEvent(0x010020ac, "", true) }, "uni € true"},
		{func() { r.KeyEvent(0xff08, "", false) }, "sc 0xe false"},
		{func() { r.KeyEvent(0xff53, "", true) }, "sc 0xe04d true"},
		{func() { r.KeyEvent(0x10000ff, "", true) }, ""},
		// Buttons pass straight through in protocols/rdp's bits: left, then
		// middle+right+back (XBUTTON1), then forward (XBUTTON2) alone.
		{func() { r.Pointer(wire.ButtonLeft, 10, 20) }, "ptr 1 10,20"},
		{func() { r.Pointer(wire.ButtonMiddle|wire.ButtonRight|wire.ButtonBack, 11, 21) }, "ptr 14 11,21"},
		{func() { r.Pointer(wire.ButtonForward, 12, 22) }, "ptr 16 12,22"},
		{func() { r.Pointer(wire.ButtonForward, 12, 22) }, "ptr 16 12,22"}, // a repeat is the browser's to send
		{func() { r.Pointer(0, 13, 22) }, "ptr 0 13,22"},
		// Wheel notches keep their count and sign: dy > 0 down, dx > 0 right.
		{func() { r.Wheel(0, 1, 13, 22) }, "wheel 0 1 13,22"},
		{func() { r.Wheel(1, -1, 13, 22) }, "wheel 1 -1 13,22"},
		{func() { r.Wheel(-5, 7, 14, 23) }, "wheel -5 7 14,23"},
	}
	for i, s := range steps {
		s.do()
		if got := rec.take(); got != s.want {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
	}
}

// FuzzRDPOptions: any setting value is accepted into a config protocols/rdp takes, or
// refused with an error naming the setting; never a panic.
func FuzzRDPOptions(f *testing.F) {
	f.Add("cert-fingerprints", "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff, 00:11")
	f.Add("server-layout", "de-de-qwertz")
	f.Add("timezone", "Local")
	f.Add("width", "-1")
	f.Add("security", "nla-ext")
	f.Add("client-name", "ünïcödé-name")
	f.Fuzz(func(t *testing.T, key, value string) {
		cfg, err := rdpOptions(config.Settings{key: value})
		if err != nil {
			if !strings.Contains(err.Error(), key) {
				t.Fatalf("%s=%q: error does not name the setting: %v", key, value, err)
			}
			return
		}
		for _, fp := range cfg.CertFingerprints {
			if len(fp) != len("sha256:")+64 {
				t.Fatalf("fingerprint %q", fp)
			}
		}
		if cfg.Width != 0 && (cfg.Width < rdpMinSide || cfg.Width > rdpMaxSide) {
			t.Fatalf("width %d", cfg.Width)
		}
	})
}

// FuzzRDPInput: any key and pointer events map to scancodes RDP can carry, characters,
// the browser's buttons and its wheel notches unchanged; never a panic.
func FuzzRDPInput(f *testing.F) {
	f.Add(uint32('a'), "KeyA", true, uint16(1), 0, 1, 10, 20)
	f.Add(uint32(0x0101f600), "", false, uint16(0x18), -32, 32, -5, 70000)
	f.Add(uint32(0xff14), "ScrollLock", true, uint16(0xffff), 0, 0, 0, 0)
	f.Fuzz(func(t *testing.T, keysym uint32, code string, down bool, buttons uint16, dx, dy, x, y int) {
		rec := &rdpRecorder{}
		r := &rdpRemote{in: rec}
		r.KeyEvent(keysym, code, down)
		r.Pointer(buttons, x, y)
		r.Wheel(dx, dy, x, y)
		var ptrs, wheels int
		for _, c := range rec.calls {
			var sc uint16
			var d bool
			if n, _ := fmt.Sscanf(c, "sc %v %v", &sc, &d); n == 2 && sc>>8 != 0 && sc>>8 != 0xE0 {
				t.Fatalf("scancode %#x from %#x %q", sc, keysym, code)
			}
			var b uint16
			var px, py int
			if n, _ := fmt.Sscanf(c, "ptr %d %d,%d", &b, &px, &py); n == 3 {
				ptrs++
				if b != buttons || px != x || py != y {
					t.Fatalf("%q from buttons %#x at %d,%d", c, buttons, x, y)
				}
			}
			var wx, wy int
			if n, _ := fmt.Sscanf(c, "wheel %d %d", &wx, &wy); n == 2 {
				wheels++
				if wx != dx || wy != dy {
					t.Fatalf("%q from notches %d %d", c, dx, dy)
				}
			}
		}
		if ptrs != 1 || wheels != 1 {
			t.Fatalf("%d pointer and %d wheel calls, want 1 each: %q", ptrs, wheels, rec.calls)
		}
	})
}

// TestRDPXRDPClipboardPolicy: the clipboard's limits and refusals against real xrdp
// sessions: 1 MiB of text
// both ways; clipboard-max-bytes skipping a larger remote copy while the session and
// the next copy go on; disable-copy and disable-paste offering and passing nothing.
func TestRDPXRDPClipboardPolicy(t *testing.T) {
	peers.Require(t, "xclip")
	var x *peers.X // this subtest's session
	// open starts an xrdp of the subtest's own (chansrv is unreliable after a session
	// is taken over) and connects a browser to it.
	open := func(t *testing.T, settings string) *browser {
		t.Helper()
		srv := peers.StartXRDP(t, peers.XRDPOptions{})
		creds := "username: " + srv.User + ", password: " + srv.Password + ", ignore-cert: true"
		ts := newTestServer(t, rdpConfig(srv.Addr, creds+settings, "read-only"))
		b := openBrowser(t, ts, "demo", "/ws/desk?width=800&height=600")
		b.wait("first frame", 30*time.Second, func(b *browser) bool { return b.frames > 0 || b.closed != nil })
		if b.closed != nil {
			t.Fatalf("CLOSE %d %q\n%s", b.closed.Code, b.closed.Reason, srv.Log())
		}
		x = srv.WaitSession(t, 30*time.Second)
		return b
	}
	copyInX := func(t *testing.T, text string) {
		t.Helper()
		cmd := x.Command(context.Background(), "xclip", "-i", "-selection", "clipboard", "-quiet")
		cmd.Stdin = strings.NewReader(text)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	xClipboard := func() string {
		// A large selection comes in increments (INCR): give xclip time.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, _ := x.Command(ctx, "xclip", "-o", "-selection", "clipboard").Output()
		return string(out)
	}
	// 1 MiB of text, the most a CLIPBOARD message carries, lines of Latin and Greek.
	var sb strings.Builder
	for i := 0; sb.Len() < wire.MaxClipboard-64; i++ {
		fmt.Fprintf(&sb, "line %d: Grüße, καλημέρα\n", i)
	}
	big := sb.String()

	t.Run("1 MiB both ways", func(t *testing.T) {
		b := open(t, "")
		copyInX(t, big)
		b.wait("1 MiB from the remote", 30*time.Second, func(b *browser) bool { return slices.Contains(b.clips, big) })
		// Into the session in ASCII: xrdp 0.9.21's chansrv hands X a large selection
		// (one sent in increments) as many bytes of UTF-8 as it has characters, plus its
		// NUL (seen: 769,670 bytes of 1 MiB of Latin and Greek text, 769,669 characters).
		ascii := strings.Map(func(r rune) rune { return min(r, '~') }, big)[1:]
		b.send(wire.ClientClipboard{Text: ascii})
		for deadline := time.Now().Add(30 * time.Second); ; {
			got := strings.TrimSuffix(xClipboard(), "\x00")
			if got == ascii {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("X clipboard holds %d bytes, want %d", len(got), len(ascii))
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.conn.Close(websocket.StatusNormalClosure, "")
	})

	// Images: xrdp's chansrv maps the X target image/bmp to CF_DIB both ways. The BMP
	// and its reading are the test's own (internal/peers); the PNGs are image/png's.
	t.Run("images both ways", func(t *testing.T) {
		b := open(t, "")
		bmp, want := peers.BMP(64, 48)
		x.CopyBMP(t, bmp)
		var got wire.ClipboardContent
		b.wait("the image from the remote", 30*time.Second, func(b *browser) bool {
			if len(b.rich) > 0 {
				got = b.rich[len(b.rich)-1]
			}
			return len(got.PNG) > 0
		})
		img, err := png.Decode(bytes.NewReader(got.PNG))
		if err != nil {
			t.Fatal(err)
		}
		if bad, first := peers.DiffImages(want, img); bad != 0 {
			t.Fatalf("the remote's image reached the browser with %d pixels wrong: %s", bad, first)
		}

		// Over 32 KiB as a DIB: xrdp 0.9.21 cuts 14 bytes off a smaller one (see
		// protocols/rdp's TestXRDPClipboardImage).
		_, pic := peers.BMP(128, 96)
		var p bytes.Buffer
		if err := png.Encode(&p, pic); err != nil {
			t.Fatal(err)
		}
		b.send(wire.ClientClipboardContent{Text: "a caption", PNG: p.Bytes()})
		x.WaitClipboardBMP(t, pic, 20*time.Second)
		if text := xClipboard(); text != "a caption" {
			t.Errorf("X clipboard text %q, want the caption that came with the image", text)
		}
		b.conn.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("clipboard-max-bytes", func(t *testing.T) {
		b := open(t, ", clipboard-max-bytes: 1000")
		copyInX(t, strings.Repeat("über ", 1000))
		b.wait("a notice of the skipped copy", 15*time.Second, func(b *browser) bool {
			return slices.ContainsFunc(b.notices, func(n wire.Notice) bool {
				return n.Level == wire.NoticeWarning && strings.Contains(n.Text, "over the 1000-byte limit")
			})
		})
		copyInX(t, "small enough ✓")
		b.wait("the copy after a skipped one", 15*time.Second, func(b *browser) bool { return slices.Contains(b.clips, "small enough ✓") })
		b.mu.Lock()
		for _, c := range b.clips {
			if len(c) > 1000 {
				t.Errorf("a clipboard of %d bytes reached the browser", len(c))
			}
		}
		b.mu.Unlock()
		b.conn.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("disable-copy and disable-paste", func(t *testing.T) {
		b := open(t, ", disable-copy: true, disable-paste: true")
		if b.hello.Flags&(wire.FlagCopy|wire.FlagPaste) != 0 {
			t.Fatalf("HELLO flags %#x offer the clipboard", b.hello.Flags)
		}
		copyInX(t, "must stay in the session")
		b.send(wire.ClientClipboard{Text: "must not reach the session"})
		time.Sleep(3 * time.Second)
		b.mu.Lock()
		clips := len(b.clips)
		b.mu.Unlock()
		if clips != 0 {
			t.Errorf("%d clipboards reached the browser", clips)
		}
		if got := xClipboard(); got != "must stay in the session" {
			t.Errorf("X clipboard holds %q", got)
		}
		b.conn.Close(websocket.StatusNormalClosure, "")
	})
}

// TestRDPXRDPAsksCredentials: settings without a password make racgate ask the browser
// (a hidden PROMPT for only what is missing); the answer logs into xrdp, and the desktop
// shows. Settings without either ask for both; cancelling ends the session.
func TestRDPXRDPAsksCredentials(t *testing.T) {
	srv := peers.StartXRDP(t, peers.XRDPOptions{Session: "xsetroot -solid '#6f2a97'\nexec sleep 600\n"})
	ts := newTestServer(t, strings.Replace(rdpConfig(srv.Addr, "username: "+srv.User+", ignore-cert: true", "read-only"),
		"  - name: secret\n", "  - name: nobody\n    provider: lab\n    protocol: rdp\n    host: "+srv.Addr+"\n    settings: {ignore-cert: true}\n  - name: secret\n", 1))
	demo := ts.loggedIn(t, "demo")
	dial := func(ep string) *websocket.Conn {
		conn, _, err := ts.wsDial(t, demo, "/ws/"+ep+"?width=800&height=600", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		conn.SetReadLimit(wire.MaxServerMessage)
		return conn
	}
	prompt := func(conn *websocket.Conn, want ...string) wire.Prompt {
		t.Helper()
		ms := readUntil(t, conn, wire.TypePrompt, 15*time.Second)
		p := ms[len(ms)-1].(wire.Prompt)
		var got []string
		for _, f := range p.Prompts {
			got = append(got, fmt.Sprintf("%s/%v", strings.TrimSuffix(f.Text, ": "), f.Echo))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("PROMPT %v, want %v", got, want)
		}
		return p
	}
	// Both missing: both asked; cancelled.
	conn := dial("nobody")
	p := prompt(conn, "Username/true", "Password/false")
	if err := conn.Write(context.Background(), websocket.MessageBinary, wire.PromptResponse{ID: p.ID}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if c := lastClose(t, readUntil(t, conn, wire.TypeClose, 10*time.Second)); !strings.Contains(c.Reason, "cancelled") {
		t.Errorf("cancelled: CLOSE %d %q", c.Code, c.Reason)
	}
	// The password missing: asked, answered, logged in.
	conn = dial("desk")
	p = prompt(conn, "Password/false")
	if err := conn.Write(context.Background(), websocket.MessageBinary, wire.PromptResponse{ID: p.ID, Answers: []string{srv.Password}}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, conn)
	b.wait("first frame", 30*time.Second, func(b *browser) bool { return b.frames > 0 || b.closed != nil })
	if b.closed != nil {
		t.Fatalf("CLOSE %d %q\n%s", b.closed.Code, b.closed.Reason, srv.Log())
	}
	matchScreen(t, b, srv.WaitSession(t, 30*time.Second))
}
