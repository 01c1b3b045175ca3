package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/clipboard"
	"github.com/racgate/racgate/gateway/sound"
	"github.com/racgate/racgate/protocols/keys"
	"github.com/racgate/racgate/protocols/rdp"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/render/audio"
	"github.com/racgate/racgate/render/wire"
)

// Bounds on the RDP desktop size (protocols/rdp refuses anything outside them).
const (
	rdpMinSide = 200
	rdpMaxSide = 8192
)

// rdpPerformance maps Guacamole's performance settings to protocols/rdp flags.
var rdpPerformance = []struct {
	key  string
	flag rdp.PerformanceFlags
}{
	{"enable-wallpaper", rdp.EnableWallpaper},
	{"enable-font-smoothing", rdp.EnableFontSmoothing},
	{"enable-full-window-drag", rdp.EnableFullWindowDrag},
	{"enable-desktop-composition", rdp.EnableDesktopComposition},
	{"enable-theming", rdp.EnableTheming},
	{"enable-menu-animations", rdp.EnableMenuAnimations},
}

// rdpOptions is an rdp.Config read from merged settings. It refuses what protocols/rdp
// would refuse at dial time, so that the config load names the mistake instead.
func rdpOptions(set config.Settings) (rdp.Config, error) {
	cfg := rdp.Config{
		Username: set["username"], Password: set["password"], Domain: set["domain"],
		IgnoreCert: set.Bool("ignore-cert"), ClientName: set["client-name"],
	}
	switch sec := set["security"]; sec {
	case "", "any", "nla", "nla-ext", "tls":
		cfg.Security = sec
	case "rdp":
		return cfg, errors.New(`setting security: "rdp" (standard RDP security) is not supported; use any, nla, nla-ext or tls`)
	default:
		return cfg, fmt.Errorf("setting security: %q is not an RDP security mode (want any, nla, nla-ext or tls)", sec)
	}
	// cert-fingerprints: SHA-256 of the DER certificate, "sha256:<hex>" or bare hex,
	// colons allowed as openssl prints them; several separated by commas or spaces.
	for fp := range strings.FieldsFuncSeq(set["cert-fingerprints"], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		h := fp
		if len(h) > 7 && strings.EqualFold(h[:7], "sha256:") {
			h = h[7:]
		}
		b, err := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
		if err != nil || len(b) != 32 {
			return cfg, fmt.Errorf("setting cert-fingerprints: %.80q is not a SHA-256 fingerprint (want sha256:<64 hex digits>)", fp)
		}
		cfg.CertFingerprints = append(cfg.CertFingerprints, "sha256:"+hex.EncodeToString(b))
	}
	if d := set["color-depth"]; d != "" {
		switch n, _ := strconv.Atoi(d); n {
		case 16, 24, 32:
			cfg.ColorDepth = n
		default:
			return cfg, fmt.Errorf("setting color-depth: want 16, 24 or 32 for RDP, got %q", d)
		}
	}
	for _, side := range []struct {
		key string
		v   *int
	}{{"width", &cfg.Width}, {"height", &cfg.Height}} {
		if s := set[side.key]; s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < rdpMinSide || n > rdpMaxSide {
				return cfg, fmt.Errorf("setting %s: want %d-%d, got %q", side.key, rdpMinSide, rdpMaxSide, s)
			}
			*side.v = n
		}
	}
	// The cap bounds a size set in the settings too: a connection setting may come from
	// the connect request.
	mw, mh := set.DesktopCap()
	cfg.Width, cfg.Height = min(cfg.Width, max(mw, rdpMinSide)), min(cfg.Height, max(mh, rdpMinSide))
	if s := set["dpi"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return cfg, fmt.Errorf("setting dpi: want 1-1000, got %q", s)
		}
		cfg.DPI = n
	}
	if l := set["server-layout"]; l != "" {
		id, ok := rdp.KeyboardLayoutID(l)
		if !ok {
			return cfg, fmt.Errorf("setting server-layout: unknown keyboard layout %q (e.g. en-us-qwerty, de-de-qwertz, fr-fr-azerty)", l)
		}
		cfg.KeyboardLayout = id
	}
	if tz := set["timezone"]; tz != "" {
		// protocols/rdp would fall back to UTC; a misspelt zone is the config's mistake.
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return cfg, fmt.Errorf("setting timezone: %q is not an IANA time zone (e.g. Europe/Berlin)", tz)
		}
		cfg.Timezone = tz
	}
	// resize-method (Guacamole's): see rdpReconnect.
	switch m := set["resize-method"]; m {
	case "", "display-update":
		cfg.DisplayControl = true
	case "none", "reconnect":
	default:
		return cfg, fmt.Errorf("setting resize-method: want display-update, reconnect or none, got %q", m)
	}
	if err := clipboard.Configure(&cfg, set); err != nil {
		return cfg, err
	}
	if n := len(cfg.ClientName); n > 15 {
		// Client Core Data clientName holds 15 characters (MS-RDPBCGR 2.2.1.3.2).
		return cfg, fmt.Errorf("setting client-name: at most 15 characters, got %d", n)
	}
	for _, p := range rdpPerformance {
		if set.Bool(p.key) {
			cfg.Performance |= p.flag
		}
	}
	return cfg, nil
}

// rdpBrowserSize returns set with the browser's size as width and height, unless the
// endpoint fixes them, brought into what RDP servers accept; and, unless the endpoint
// fixes dpi, a dpi from the browser's scale (percent), so that a HiDPI screen, whose
// desktop is as many pixels as its device has, shows text at its usual size.
func rdpBrowserSize(set config.Settings, w, h, scale int) config.Settings {
	out := maps.Clone(set)
	if w > 0 && h > 0 && set["width"] == "" && set["height"] == "" {
		out["width"] = strconv.Itoa(max(rdpMinSide, min(w, rdpMaxSide)))
		out["height"] = strconv.Itoa(max(rdpMinSide, min(h, rdpMaxSide)))
	}
	if dpi := rdpScaleDPI(scale); set["dpi"] == "" && dpi != 96 {
		out["dpi"] = strconv.Itoa(dpi)
	}
	return out
}

// rdpScaleDPI is the DPI of a browser's scale: 96 at 100 %, within the 100-500 % of
// the desktop scale factor (MS-RDPBCGR 2.2.1.3.2); unknown (0) is 96.
func rdpScaleDPI(scale int) int {
	return 96 * max(100, min(scale, 500)) / 100
}

// dialDesktop connects to a VNC or RDP endpoint.
func (s *Server) dialDesktop(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
	if ep.Protocol == "rdp" {
		return s.dialRDP(ctx, ep, set, ev, log)
	}
	return s.dialRemote(ctx, ep, set, ev, log)
}

// dialRDP connects to an RDP endpoint.
func (s *Server) dialRDP(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
	set, err := askRDPCredentials(ctx, ev.Ask, ep.Name, set)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := rdpOptions(set)
	if err != nil {
		// The configuration was checked at load, so it is the connect request's settings.
		return nil, nil, &sessionEnd{Code: closeForbidden, Reason: "Connection settings refused: " + err.Error(), Err: err}
	}
	cfg.Logger = log
	opts := render.DefaultOptions()
	opts.Pool = s.pool
	d := render.NewDisplay(opts)
	fs := &firstFrameSink{Sink: d, ready: make(chan struct{})}
	var stream *audio.Stream
	if !set.Bool("disable-audio") && len(ev.Audio) > 0 {
		// Sound is asked for only when the browser takes it: a server that redirects
		// sound no longer plays it itself, and the bench's clients take none.
		stream = audio.NewStream(log)
		cfg.Audio = &sound.RDP{S: stream, Log: log}
		cfg.AudioFormats = sound.RDPFormats(ev.Audio)
	}
	clip := clipboard.NewRDP(&cfg, set, ev.Clipboard, ev.Notice, log)
	if ev.Drive != nil {
		o, _ := driveOptions(set) // checked when the config loaded
		cfg.Drive = &rdp.Drive{Name: o.name, Root: ev.Drive, Closed: ev.DriveClosed}
	}
	c, err := rdp.DialSession(ctx, net.JoinHostPort(set["hostname"], set["port"]), cfg, fs, rdp.SessionOptions{
		Reconnect: rdpReconnect(set), Reconnecting: func(w, h int) {
			if ev.Notice != nil {
				ev.Notice(wire.NoticeInfo, fmt.Sprintf("Reconnecting at %dx%d to fit the window…", w, h))
			}
		}})
	if err != nil {
		d.Close()
		return nil, nil, rdpDialError(err, ep)
	}
	scale := 100
	if cfg.DPI > 0 {
		scale = max(100, min(cfg.DPI*100/96, 500))
	}
	return &rdpRemote{c: c, in: c, ready: fs.ready, sound: stream, clip: clip, scale: scale, log: log}, renderDisplay{d}, nil
}

// askRDPCredentials asks the browser for the user name and password the settings lack,
// as Guacamole does: NLA needs them before anything is shown. The answers go into this
// connection's settings only, never into a config or a store. With security: tls the
// server's own login screen asks instead.
func askRDPCredentials(ctx context.Context, ask askFunc, name string, set config.Settings) (config.Settings, error) {
	if ask == nil || set["security"] == "tls" || (set["username"] != "" && set["password"] != "") {
		return set, nil
	}
	var keys []string
	var prompts []ssh.Prompt
	for _, f := range []struct {
		key, text string
		echo      bool
	}{{"username", "Username: ", true}, {"password", "Password: ", false}} {
		if set[f.key] == "" {
			keys = append(keys, f.key)
			prompts = append(prompts, ssh.Prompt{Text: f.text, Echo: f.echo})
		}
	}
	answers, err := ask(ctx, name, "The remote machine needs your credentials.", prompts)
	if err != nil {
		return nil, err
	}
	set = maps.Clone(set)
	for i, k := range keys {
		if len(answers[i]) > maxSettingLen || strings.ContainsRune(answers[i], 0) {
			return nil, endWith(closeAuthFailed, "That "+k+" cannot be used.")
		}
		set[k] = answers[i]
	}
	return set, nil
}

// rdpReconnect reads resize-method: display-update resizes over Display Control
// only, reconnect by reconnecting only, none not at all (the browser scales), and
// the default over Display Control where the server offers it, else by reconnecting.
func rdpReconnect(set config.Settings) bool {
	return set["resize-method"] == "" || set["resize-method"] == "reconnect"
}

// rdpDialError gives a failed RDP dial its CLOSE.
func rdpDialError(err error, ep *config.Endpoint) error {
	var ce *rdp.CertificateError
	var pe *rdp.ProtocolError
	var nf *rdp.NegotiationFailure
	switch {
	case errors.As(err, &nf):
		return failed(failSecurity, fmt.Sprintf(" (%v)", err), err).end(ep.Name)
	case errors.As(err, &ce):
		// Like an SSH host key: racgate's trust policy refused the server, so an
		// administrator has to act, not the user.
		return failed(failTrust, fmt.Sprintf(" (its certificate, %s, is not in cert-fingerprints, and ignore-cert is off)", ce.Fingerprint), err).end(ep.Name)
	case errors.Is(err, rdp.ErrAuthFailed):
		return failed(failAuth, "", err).end(ep.Name)
	case errors.Is(err, rdp.ErrLicense):
		return failed(failLicence, " (no Remote Desktop licence is available)", err).end(ep.Name)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return failed(failSlow, " over RDP", err).end(ep.Name)
	case errors.As(err, &pe), errors.Is(err, rdp.ErrUnsupported):
		return failed(failProtocol, " or does not support", err).end(ep.Name)
	}
	return failed(failUnreachable, " over RDP", err).end(ep.Name)
}

// rdpRunError gives the end of a running RDP session its CLOSE.
func rdpRunError(err error) error {
	var pe *rdp.ProtocolError
	switch {
	case errors.Is(err, rdp.ErrLicense):
		return failed(failLicence, "", err)
	case errors.Is(err, rdp.ErrAuthFailed):
		return failed(failAuth, "", err)
	case errors.As(err, &pe), errors.Is(err, rdp.ErrUnsupported):
		return failed(failProtocol, "", err)
	}
	return failed(failEnded, "", err)
}

// rdpInput is the input half of *rdp.Session.
type rdpInput interface {
	KeyScancode(scancode uint16, down bool) error
	KeyUnicode(r rune, down bool) error
	Pointer(buttons uint16, x, y int) error
	Wheel(dx, dy int, x, y int) error
	SyncLocks(scroll, num, caps, kana bool) error
}

// scaler is a remote that draws at the browser's scale (RESIZE_REQUEST's scale).
type scaler interface{ SetScale(percent int) }

// clipboardOptional is a remote that may lack a clipboard; the session then offers the
// browser neither copy nor paste.
type clipboardOptional interface{ CanClipboard() bool }

// rdpRemote adapts *rdp.Session to the session's remote. Key events come from the
// session's reader goroutine only, so the lock state needs no lock.
type rdpRemote struct {
	c     *rdp.Session
	in    rdpInput // c, or a recorder in tests
	ready chan struct{}
	sound *audio.Stream  // nil: no sound (disable-audio, or the browser takes none)
	clip  *clipboard.RDP // nil: no clipboard channel
	scale int            // the desktop scale factor a resize asks for, percent
	log   *slog.Logger

	locks keys.Locks // the server's lock states, read off the browser's keys
}

func (r *rdpRemote) Run(ctx context.Context) error { return rdpRunError(r.c.Run(ctx)) }
func (r *rdpRemote) Ready() <-chan struct{}        { return r.ready }
func (r *rdpRemote) audioStream() *audio.Stream    { return r.sound }

func (r *rdpRemote) Close() error {
	if r.sound != nil {
		r.sound.Close()
	}
	return r.c.Close()
}
func (r *rdpRemote) Size() (int, int)   { return r.c.Size() }
func (r *rdpRemote) CanResize() bool    { return r.c.CanResize() }
func (r *rdpRemote) CanClipboard() bool { return r.clip != nil && r.c.ClipboardJoined() }

// SetScale makes the next resize ask for the browser's new scale (where the endpoint
// leaves dpi to the browser).
func (r *rdpRemote) SetScale(percent int) { r.scale = rdpScaleDPI(percent) * 100 / 96 }

// SetDesktopSize asks the server for a new desktop size over Display Control or by
// reconnecting; the new size comes back as a resize of the display. A server that
// has closed the channel since HELLO is not an error.
func (r *rdpRemote) SetDesktopSize(w, h int) error {
	if err := r.c.Resize(w, h, r.scale); err != nil && !errors.Is(err, rdp.ErrDisplayControl) {
		return err
	}
	return nil
}

// SetClipboard offers the browser's clipboard to the remote.
func (r *rdpRemote) SetClipboard(c wire.ClipboardContent) error { return r.clip.Paste(r.c, c) }

// KeyEvent sends the physical key as its scancode when the code maps (the server applies
// its layout), else the keysym's character as a unicode event; before it, the lock
// states when the key shows the server's differ from the browser's.
func (r *rdpRemote) KeyEvent(keysym uint32, code string, down bool) error {
	if r.locks.Key(keysym, code, down) {
		if err := r.in.SyncLocks(r.locks.Scroll, r.locks.Num, r.locks.Caps, false); err != nil {
			return err
		}
	}
	if sc, ok := keys.XTScancode(code); ok {
		return r.in.KeyScancode(sc, down)
	}
	switch code {
	case "CapsLock", "NumLock", "ScrollLock":
		return nil
	}
	if sc, ok := keys.KeysymScancode(keysym); ok {
		// No code (an on-screen or IME keyboard): editing keys still work.
		return r.in.KeyScancode(sc, down)
	}
	if ch, ok := keys.KeysymRune(keysym); ok {
		return r.in.KeyUnicode(ch, down)
	}
	return nil // neither a known key nor a character: nothing the server could use
}

// Pointer passes the wire buttons straight on: they are protocols/rdp's bits (left 1,
// middle 2, right 4, back 8 = XBUTTON1, forward 16 = XBUTTON2).
func (r *rdpRemote) Pointer(buttons uint16, x, y int) error {
	return r.in.Pointer(buttons, x, y)
}

// Wheel passes the notches straight on; protocols/rdp turns them into WHEEL_DELTA units.
func (r *rdpRemote) Wheel(dx, dy, x, y int) error {
	return r.in.Wheel(dx, dy, x, y)
}
