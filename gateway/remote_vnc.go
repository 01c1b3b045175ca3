package gateway

import (
	"compress/zlib"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/sound"
	"github.com/racgate/racgate/protocols/pulse"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/protocols/vnc"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/render/audio"
	"github.com/racgate/racgate/render/wire"
)

// vncEncodings maps Guacamole's encoding names to RFB encodings. Names Guacamole knows
// that racgate does not decode are skipped rather than refused, so settings carry over.
var vncEncodings = map[string]int32{
	"raw": vnc.EncodingRaw, "copyrect": vnc.EncodingCopyRect, "rre": vnc.EncodingRRE,
	"hextile": vnc.EncodingHextile, "zlib": vnc.EncodingZlib, "tight": vnc.EncodingTight,
	"zrle": vnc.EncodingZRLE,
}

var vncVeNCryptSubtypes = map[string]uint32{
	"tlsnone": vnc.VeNCryptTLSNone, "tlsvnc": vnc.VeNCryptTLSVnc, "tlsplain": vnc.VeNCryptTLSPlain,
	"x509none": vnc.VeNCryptX509None, "x509vnc": vnc.VeNCryptX509Vnc, "x509plain": vnc.VeNCryptX509Plain,
}

var vncSkippedEncodings = map[string]bool{"ultra": true, "corre": true, "tightpng": true, "zywrle": true}

// vncOptions is a vnc.Config and render.Options read from merged settings.
func vncOptions(set config.Settings) (vnc.Config, render.Options, error) {
	cfg := vnc.Config{
		Username: set["username"], Password: set["password"],
		QualityLevel: -1, CompressLevel: -1, Shared: true,
	}
	opts := render.DefaultOptions()
	switch sec := set["security"]; sec {
	case "", "any":
	case "none":
		cfg.SecurityTypes = []uint8{vnc.SecurityNone}
	case "vnc":
		cfg.SecurityTypes = []uint8{vnc.SecurityVNCAuth}
	case "vencrypt":
		cfg.SecurityTypes = []uint8{vnc.SecurityVeNCrypt}
		cfg.TLSConfig = &tls.Config{ServerName: set["hostname"], InsecureSkipVerify: set.Bool("ignore-cert")}
	case "tlsnone", "tlsvnc", "tlsplain", "x509none", "x509vnc", "x509plain":
		// One VeNCrypt subtype; the tls* ones are anonymous TLS (no server authentication).
		cfg.SecurityTypes = []uint8{vnc.SecurityVeNCrypt}
		cfg.VeNCryptSubtypes = []uint32{vncVeNCryptSubtypes[sec]}
		if strings.HasPrefix(sec, "x509") {
			cfg.TLSConfig = &tls.Config{ServerName: set["hostname"], InsecureSkipVerify: set.Bool("ignore-cert")}
		}
	default:
		return cfg, opts, fmt.Errorf("setting security: %q is not a VNC security type (want any, none, vnc, vencrypt, tlsnone, tlsvnc, tlsplain, x509none, x509vnc or x509plain)", sec)
	}
	if e := set["encodings"]; e != "" {
		for _, name := range strings.Fields(e) {
			name = strings.ToLower(name)
			if enc, ok := vncEncodings[name]; ok {
				cfg.Encodings = append(cfg.Encodings, enc)
			} else if !vncSkippedEncodings[name] {
				return cfg, opts, fmt.Errorf("setting encodings: unknown VNC encoding %q (want tight zrle hextile zlib rre copyrect raw)", name)
			}
		}
		if len(cfg.Encodings) == 0 {
			return cfg, opts, errors.New("setting encodings: no encoding racgate supports")
		}
	}
	// quality: 0-9 lets the server send JPEG (Tight) at that level and lets racgate send
	// JPEG for photo-like regions; lossless (the default) sends exact pixels only.
	switch q := set["quality"]; q {
	case "", "lossless":
		opts.JPEGQuality = 0
		opts.Passthrough = false
	default:
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 || n > 9 {
			return cfg, opts, fmt.Errorf("setting quality: want 0-9 or lossless, got %q", q)
		}
		cfg.QualityLevel = n
		opts.JPEGQuality = 15 + 9*n // 15..96
	}
	if c := set["compress-level"]; c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > 9 {
			return cfg, opts, fmt.Errorf("setting compress-level: want 0-9, got %q", c)
		}
		cfg.CompressLevel = n
		opts.ZlibLevel = max(n, 1)
	}
	// resize-method: none keeps the server's desktop size (the browser scales or scrolls);
	// display-update, as the default, resizes by SetDesktopSize. reconnect is RDP's alone.
	if m := set["resize-method"]; m != "" && m != "display-update" && m != "none" {
		return cfg, opts, fmt.Errorf("setting resize-method: want display-update or none for VNC (reconnect is RDP's), got %q", m)
	}
	cfg.FixedSize = set["resize-method"] == "none"
	if _, err := vncSound(set); err != nil {
		return cfg, opts, err
	}
	// render-min-frame-interval: milliseconds between a viewer's frames (0 = no limit);
	// unset keeps render's default.
	if f := set["render-min-frame-interval"]; f != "" {
		ms, err := strconv.Atoi(f)
		if err != nil || ms < 0 || ms > 1000 {
			return cfg, opts, fmt.Errorf("setting render-min-frame-interval: want 0-1000 (ms), got %q", f)
		}
		opts.MinFrameInterval = time.Duration(ms) * time.Millisecond
	}
	return cfg, opts, nil
}

// vncSound is the PulseAudio server to record for a VNC endpoint with enable-audio, or ""
// without it.
func vncSound(set config.Settings) (string, error) {
	if !set.Bool("enable-audio") {
		return "", nil
	}
	// audio-servername is Guacamole's: a PulseAudio server, by default the VNC host.
	server := set["audio-servername"]
	if server == "" {
		server = set["hostname"]
	}
	addr, err := pulse.ParseServer(server)
	if err != nil {
		return "", fmt.Errorf("setting audio-servername: %w", err)
	}
	return addr, nil
}

// dialRemote connects to ep's remote machine. Only VNC exists so far.
func (s *Server) dialRemote(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error) {
	if ep.Protocol != "vnc" {
		return nil, nil, fmt.Errorf("%s: %w", ep.Protocol, errNotImplemented)
	}
	cfg, opts, err := vncOptions(set)
	if err != nil {
		return nil, nil, failed(failSettings, ": "+err.Error(), err)
	}
	opts.Pool = s.pool
	addr := net.JoinHostPort(set["hostname"], set["port"])
	sound, _ := vncSound(set) // checked by vncOptions
	own := func() (remote, display, error) {
		pc := cfg
		pc.Logger = log
		if ev.Ask != nil {
			pc.AskPassword = func(ctx context.Context) (string, error) {
				a, err := ev.Ask(ctx, ep.Name, "The remote machine asks for a password.", []ssh.Prompt{{Text: "Password: "}})
				if err != nil {
					return "", err
				}
				return a[0], nil
			}
		}
		v, err := dialVNC(ctx, addr, pc, opts, ev)
		if err != nil {
			return nil, nil, err
		}
		v.startSound(sound, s.dialPulse, log)
		return v.member(), v.display(), nil
	}
	if set[shareSetting] != "" && !set.Bool(shareSetting) {
		return own()
	}
	cfg.Logger = s.log.With("endpoint", ep.Name, "shared", true)
	r, d, err := s.shares.join(ctx, shareKey(ep.Name, set), cfg.Logger, ev, func(ctx context.Context, ev remoteEvents) (sharedRemote, error) {
		v, err := dialVNC(ctx, addr, cfg, opts, ev)
		if err == nil {
			v.startSound(sound, s.dialPulse, cfg.Logger)
		}
		return v, err
	})
	if errors.Is(err, vnc.ErrPasswordNeeded) && ev.Ask != nil {
		// A password the settings lack opens a connection for the user who types it
		// only: a shared one would let others in without it.
		return own()
	}
	return r, d, err
}

// dialVNC connects to addr, drawing into a new display.
func dialVNC(ctx context.Context, addr string, cfg vnc.Config, opts render.Options, ev remoteEvents) (*vncConn, error) {
	cfg.OnBell, cfg.OnName = ev.Bell, ev.Name
	if ev.Clipboard != nil {
		cfg.OnClipboard = func(text string) { ev.Clipboard(wire.ClipboardContent{Text: text}) }
	}
	d := render.NewDisplay(opts)
	// Updates are asked for only while a browser can be sent a frame: a slow browser
	// costs decoding at its own pace, not the server's.
	cfg.WhenWanted = d.WhenWanted
	fs := &firstFrameSink{Sink: d, ready: make(chan struct{})}
	c, err := vnc.Dial(ctx, addr, cfg, fs)
	if err != nil {
		d.Close()
		return nil, vncError(err)
	}
	return &vncConn{c: c, d: d, ready: fs.ready}, nil
}

// vncConn is one VNC connection and the display it draws into, on its own or shared
// (share.go).
type vncConn struct {
	c     *vnc.Client
	d     *render.Display
	ready chan struct{} // the first frame is complete

	sound     *audio.Stream      // enable-audio: the PulseAudio server's sound; else nil
	stopSound context.CancelFunc // ends the recording
	recording sync.WaitGroup
}

// startSound records the PulseAudio server at addr (none if "") into the connection's
// sound stream, until Close.
func (v *vncConn) startSound(addr string, dial func(context.Context, pulse.Config) (*pulse.Recorder, error), log *slog.Logger) {
	if addr == "" {
		return
	}
	v.sound = audio.NewStream(log)
	ctx, cancel := context.WithCancel(context.Background())
	v.stopSound = cancel
	v.recording.Go(func() { sound.RecordPulse(ctx, addr, v.sound, dial, log) })
}

func (v *vncConn) Run(ctx context.Context) error { return vncError(v.c.Run(ctx)) }

func (v *vncConn) Close() error {
	if v.sound != nil {
		v.stopSound()
		v.recording.Wait()
		v.sound.Close()
	}
	return v.c.Close()
}

func (v *vncConn) display() display { return renderDisplay{v.d} }

// member is a session's remote on the connection, with its own held buttons.
func (v *vncConn) member() remote {
	return &vncRemote{Client: v.c, ptr: v.c, ready: v.ready, sound: v.sound, conn: v}
}

// firstFrameSink tells when the first picture is complete: the end of the first frame
// that drew pixels. Only then does the VNC client know whether the server can resize
// (ExtendedDesktopSize comes with the first update), and a first frame without pixels
// (Xvnc sends that pseudo-rectangle in an update of its own) would show the browser a
// black screen, followed at once by the whole screen again.
type firstFrameSink struct {
	render.Sink
	ready chan struct{}
	drawn bool // the client's goroutine only, as the fields below
	done  bool
}

func (f *firstFrameSink) SetPixels(r image.Rectangle, pix []byte, stride int) {
	f.drawn = true
	f.Sink.SetPixels(r, pix, stride)
}

func (f *firstFrameSink) WritePixels(r image.Rectangle, write func(dst []byte, stride int)) bool {
	pw, ok := f.Sink.(render.PixelWriter)
	if !ok || !pw.WritePixels(r, write) {
		return false
	}
	f.drawn = true
	return true
}

func (f *firstFrameSink) Fill(r image.Rectangle, c color.RGBA) {
	f.drawn = true
	f.Sink.Fill(r, c)
}

func (f *firstFrameSink) Copy(dst image.Rectangle, src image.Point) {
	f.drawn = true
	f.Sink.Copy(dst, src)
}

func (f *firstFrameSink) DrawJPEG(r image.Rectangle, data []byte) error {
	f.drawn = true
	return f.Sink.DrawJPEG(r, data)
}

func (f *firstFrameSink) EndFrame() {
	f.Sink.EndFrame()
	if f.drawn && !f.done {
		f.done = true
		close(f.ready)
	}
}

// vncError marks vnc errors for the session's CLOSE codes.
func vncError(err error) error {
	var pe *vnc.ProtocolError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, vnc.ErrAuthFailed), errors.Is(err, vnc.ErrPasswordNeeded):
		return fmt.Errorf("%w: %w", errRemoteAuth, err)
	case errors.As(err, &pe), errors.Is(err, vnc.ErrUnsupported):
		return fmt.Errorf("%w: %w", errRemoteProtocol, err)
	}
	return err
}

// vncPointer is the pointer half of *vnc.Client.
type vncPointer interface {
	PointerEvent(mask uint8, x, y int) error
}

// vncRemote adapts *vnc.Client to the session's remote. Pointer and Wheel come from the
// session's reader goroutine only, so mask needs no lock.
type vncRemote struct {
	*vnc.Client
	ptr   vncPointer // Client, or a recorder in tests
	ready chan struct{}
	mask  uint8         // the buttons last sent, for the wheel to keep them held
	sound *audio.Stream // the connection's sound, nil without enable-audio
	conn  *vncConn      // for Close of an unshared connection
}

func (r *vncRemote) audioStream() *audio.Stream { return r.sound }

// RFC 6143 §7.5.5 PointerEvent button-mask bits beyond left, middle and right (bits 0-2),
// as X servers number buttons 4-8.
const (
	rfbWheelUp    = 1 << 3
	rfbWheelDown  = 1 << 4
	rfbWheelLeft  = 1 << 5
	rfbWheelRight = 1 << 6
	rfbButtonBack = 1 << 7 // X button 8
)

// rfbButtons maps wire buttons to the RFB mask. RFB's 8 bits end at X button 8 (back);
// forward is X button 9, which RFB cannot carry, so it is dropped.
func rfbButtons(b uint16) uint8 {
	m := uint8(b & (wire.ButtonLeft | wire.ButtonMiddle | wire.ButtonRight)) // same bits 0-2
	if b&wire.ButtonBack != 0 {
		m |= rfbButtonBack
	}
	return m
}

// Pointer sends a PointerEvent with the held buttons as an RFB mask.
func (r *vncRemote) Pointer(buttons uint16, x, y int) error {
	r.mask = rfbButtons(buttons)
	return r.ptr.PointerEvent(r.mask, x, y)
}

// Wheel sends one press and release of an RFB wheel button per notch (RFC 6143 §7.5.5),
// keeping the held buttons down.
func (r *vncRemote) Wheel(dx, dy, x, y int) error {
	step := func(n int, neg, pos uint8) error {
		bit := pos
		if n < 0 {
			bit, n = neg, -n
		}
		for range n {
			if err := r.ptr.PointerEvent(r.mask|bit, x, y); err != nil {
				return err
			}
			if err := r.ptr.PointerEvent(r.mask, x, y); err != nil {
				return err
			}
		}
		return nil
	}
	if err := step(dy, rfbWheelUp, rfbWheelDown); err != nil {
		return err
	}
	return step(dx, rfbWheelLeft, rfbWheelRight)
}

func (r *vncRemote) Ready() <-chan struct{} { return r.ready }

func (r *vncRemote) Run(ctx context.Context) error { return vncError(r.Client.Run(ctx)) }

// Close ends an unshared connection with its sound recording; a shared one's sessions
// leave through sharedSession.Close instead.
func (r *vncRemote) Close() error {
	if r.conn != nil {
		return r.conn.Close()
	}
	return r.Client.Close()
}

// renderDisplay adapts *render.Display to display.
type renderDisplay struct{ *render.Display }

func (d renderDisplay) NewViewer(send func([]byte) error, onFrame func(time.Duration)) viewer {
	return renderViewer{d.Display.NewViewerWith(send, render.ViewerOptions{OnFrame: onFrame})}
}

func (d renderDisplay) NewRecordingViewer(interval time.Duration, send func([]byte) error) recordingViewer {
	// Huffman only: the recording re-codes every image for the file (PREDICT, or its own
	// deflate stream at the best level), so the viewer's stream need only be cheap to
	// make and to inflate (docs/recording.md § Size).
	return renderViewer{d.Display.NewViewerWith(send, render.ViewerOptions{
		Standalone: true, MinFrameInterval: interval, ZlibLevel: zlib.HuffmanOnly})}
}

type renderViewer struct{ *render.Viewer }

func (v renderViewer) Stats() (uint64, time.Duration) {
	st := v.Viewer.Stats()
	return st.Frames, st.EncodeTime
}

// SetClipboard offers the text of the browser's clipboard: RFB's clipboard is text.
func (r *vncRemote) SetClipboard(c wire.ClipboardContent) error {
	if c.Text == "" {
		return nil
	}
	return r.Client.SetClipboard(c.Text)
}
