package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/audit"
	"github.com/racgate/racgate/authz"
	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/gateway/clipboard"
	"github.com/racgate/racgate/gateway/reqid"
	"github.com/racgate/racgate/gateway/signin"
	"github.com/racgate/racgate/gateway/store"
	"github.com/racgate/racgate/policy"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render"
	"github.com/racgate/racgate/render/audio"
	"github.com/racgate/racgate/render/wire"
)

// remote is a connected protocol client, as a session drives it (protocols/vnc.Client
// through an adapter; fakes in tests).
type remote interface {
	Run(ctx context.Context) error
	// Ready is closed once the first picture is complete, when Size and CanResize are
	// known for sure.
	Ready() <-chan struct{}
	Close() error
	Size() (w, h int)
	CanResize() bool
	KeyEvent(keysym uint32, code string, down bool) error
	// Pointer moves the pointer with the buttons held as the browser sent them (wire
	// bits: wire.ButtonLeft, Middle, Right, Back, Forward); each adapter maps them to
	// its protocol.
	Pointer(buttons uint16, x, y int) error
	// Wheel turns the wheel by notches at (x, y): dy > 0 down, dx > 0 right. The held
	// buttons are those of the last Pointer.
	Wheel(dx, dy, x, y int) error
	// SetClipboard sets the remote clipboard to the browser's: each adapter takes the
	// formats its protocol has.
	SetClipboard(c wire.ClipboardContent) error
	SetDesktopSize(w, h int) error
}

// remoteEvents are what the remote tells the browser outside the picture. They are called
// from the remote's goroutine and must not block.
type remoteEvents struct {
	Clipboard func(c wire.ClipboardContent)
	Bell      func()
	Name      func(name string)
	// Notice shows text to the user for a few seconds (NOTICE): level is wire.NoticeInfo
	// or wire.NoticeWarning. The session makes text valid UTF-8 and cuts it to
	// wire.MaxNoticeText bytes; empty text shows nothing.
	Notice func(level uint8, text string)
	// Audio are the sound codecs the browser decodes (its connect request's audio), for
	// the adapter to ask the remote for sound it can pass on; none: the browser takes
	// no sound.
	Audio []wire.Codec
	// Ask puts questions to the user while the connection is being made (PROMPT), a
	// password the settings lack, say; nil: there is no one to ask (a shared dial).
	Ask askFunc
	// Drive is the folder an RDP session redirects as a drive (drive.go); nil: none.
	// DriveClosed hears of each file the session is done writing there.
	Drive       *os.Root
	DriveClosed func(name string)
}

// dialContext bounds a dial by dialTimeout, not counting the time the user takes to
// answer the questions ask puts; done releases it.
func (ss *session) dialContext(wctx context.Context) (ctx context.Context, ask askFunc, done func()) {
	dctx, dcancel := context.WithCancelCause(ss.ctx)
	expired := fmt.Errorf("dial: %w", context.DeadlineExceeded)
	timer := time.AfterFunc(dialTimeout, func() { dcancel(expired) })
	var id uint32
	ask = func(ctx context.Context, name, instruction string, prompts []ssh.Prompt) ([]string, error) {
		if !timer.Stop() {
			return nil, context.Cause(dctx) // the dial timed out already
		}
		defer timer.Reset(dialTimeout)
		id++
		return ss.askUser(ctx, wctx, id, name, instruction, prompts)
	}
	return dctx, ask, func() { timer.Stop(); dcancel(nil) }
}

// audioSource is a remote with sound: each session that listed codecs in its connect
// request listens to its audio.Stream (connected), and AUDIO_ENABLE mutes that listener.
// The stream may be nil: the endpoint has sound turned off.
type audioSource interface{ audioStream() *audio.Stream }

// maxAudioParam bounds the connect request's audio parameter.
const maxAudioParam = 128

// dialFunc connects to ep with merged settings and returns the remote with the display it
// draws into. Errors wrap errRemoteAuth, errRemoteProtocol or errNotImplemented where
// they apply; anything else counts as unreachable.
type dialFunc func(ctx context.Context, ep *config.Endpoint, set config.Settings, ev remoteEvents, log *slog.Logger) (remote, display, error)

// display is the picture a session's viewer streams (render.Display through an adapter).
type display interface {
	render.Sink
	// NewViewer adds a browser's viewer; onFrame is called as each frame goes out,
	// with the time spent encoding it.
	NewViewer(send func(msg []byte) error, onFrame func(encode time.Duration)) viewer
	// NewRecordingViewer adds a viewer for a recording (recording.go), with at least
	// interval between two frames.
	NewRecordingViewer(interval time.Duration, send func(msg []byte) error) recordingViewer
	Close()
}

type viewer interface {
	Run(ctx context.Context) error
	Ack(id uint32)
	Close()
	Stats() (frames uint64, encode time.Duration)
}

// Errors a dialFunc or remote wraps so the session can tell the user what happened.
var (
	errRemoteAuth     = errors.New("remote refused the credentials")
	errRemoteProtocol = errors.New("remote broke the protocol")
	errNotImplemented = errors.New("protocol not implemented yet")
)

// Close codes under local names, for brevity.
const (
	closeRemoteEnded   = wire.CloseRemoteEnded
	closeUnreachable   = wire.CloseUnreachable
	closeAuthFailed    = wire.CloseAuthFailed
	closeProtocolError = wire.CloseProtocolError
	closeLimit         = wire.CloseLimit
	closeTimeout       = wire.CloseTimeout
	closeShutdown      = wire.CloseShutdown
	closeSessionEnded  = wire.CloseSessionEnded
	closeForbidden     = wire.CloseForbidden
	closeInternal      = wire.CloseInternal
	closeClientError   = wire.CloseClientError
)

// sessionEnd is why a session ended: the CLOSE the user gets, and the error behind it.
type sessionEnd struct {
	Code   wire.CloseCode
	Reason string // for the user
	Err    error  // for the log; may be nil
}

func (e *sessionEnd) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return e.Reason
}

func (e *sessionEnd) Unwrap() error { return e.Err }

func endWith(code wire.CloseCode, reason string) error {
	return &sessionEnd{Code: code, Reason: reason}
}

// errKind names a close code for racgate_errors_total.
func errKind(c wire.CloseCode) string {
	switch c {
	case closeUnreachable:
		return "unreachable"
	case closeAuthFailed:
		return "auth_failed"
	case closeProtocolError:
		return "protocol_error"
	case closeLimit:
		return "limit"
	case closeTimeout:
		return "timeout"
	case closeForbidden:
		return "forbidden"
	case closeInternal:
		return "internal"
	case closeClientError:
		return "client_error"
	}
	return ""
}

// Bounds on what a browser may ask for.
const (
	maxWheelNotches = 32 // per WHEEL message
	dialTimeout     = 20 * time.Second
	closeWait       = 3 * time.Second
	ctrlQueue       = 32
	firstFrameWait  = 10 * time.Second
	maxSettingLen   = 1024 // a connection setting's value from the query string
)

// session is one websocket: one browser tab connected to one remote.
type session struct {
	srv      *Server
	conn     *websocket.Conn
	ep       *config.Endpoint
	user     string
	who      *authz.User    // as the login had it, for Reload
	bytesOut atomic.Uint64  // websocket payload bytes sent, for the audit trail
	bytesIn  atomic.Uint64  // and received
	preq     policy.Request // the connect request, for the policies on a Reload
	loginID  string
	stamp    string // the login's credential stamp (User.Stamp), for Reload
	settings config.Settings
	log      *slog.Logger

	ctx    context.Context
	cancel context.CancelCauseFunc

	remote    atomic.Pointer[remoteBox]
	helloSent atomic.Bool // input is passed on only after HELLO
	started   time.Time   // when the websocket was accepted
	// keyAt is when the oldest key press not yet followed by a frame came (UnixNano; 0:
	// none), for racgate_input_to_frame_seconds.
	keyAt     atomic.Int64
	view      atomic.Pointer[viewerBox]
	term      atomic.Pointer[termBox]   // terminal endpoints instead of remote and view
	prompt    atomic.Pointer[promptBox] // a login prompt waiting for PROMPT_RESPONSE
	ctrl      chan []byte               // CLIPBOARD, BELL, NAME, NOTICE, PONG to the browser
	lease     store.Lease
	lastInput atomic.Int64 // unix nanoseconds of the last input, for idle-timeout

	readOnly, noCopy, noPaste bool
	canResize                 bool
	cols, rows                int          // a terminal's initial size in cells; 0 for the default
	audio                     []wire.Codec // the codecs the browser decodes (connect request)
	scale                     int          // the browser's devicePixelRatio in percent; 0 unknown
	listener                  atomic.Pointer[audio.Listener]

	recCfg *config.Recording                // how the session is recorded; nil: it is not
	rec    atomic.Pointer[sessionRecording] // the recording, once started (recording.go)

	// Sharing (watch.go). An owner's display, once connected, for watchers to join, and
	// its links and watchers; a watcher's host is the session it watches.
	sharing config.Sharing
	disp    atomic.Pointer[displayBox]
	shared  ownerShares
	host    *session
	watch   watcherInfo

	files atomic.Pointer[sessionFiles] // file transfer (files.go); nil: none
	drive *os.Root                     // an RDP session's redirected folder (drive.go); nil: none
}

type remoteBox struct{ r remote }
type displayBox struct{ d display }
type viewerBox struct{ v viewer }

func (ss *session) end(why error) { ss.cancel(why) }

func (ss *session) viewerStats() (uint64, time.Duration) {
	if vb := ss.view.Load(); vb != nil {
		return vb.v.Stats()
	}
	return 0, 0
}

// send writes one websocket message. Writes use their own context so that ending the
// session does not abort the final CLOSE.
func (ss *session) send(ctx context.Context, msg []byte) error {
	if err := ss.conn.Write(ctx, websocket.MessageBinary, msg); err != nil {
		return err
	}
	ss.srv.metrics.bytesSent.Add(uint64(len(msg)))
	ss.bytesOut.Add(uint64(len(msg)))
	return nil
}

// wantsProtocol reports whether the client offered our websocket subprotocol.
func wantsProtocol(r *http.Request) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if strings.TrimSpace(p) == wire.Subprotocol {
				return true
			}
		}
	}
	return false
}

// handleWS is /ws/{endpoint}: one browser tab's session, from the upgrade to its CLOSE.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	conn := s.acceptWS(w, r)
	if conn == nil {
		return
	}
	// From here on every refusal is a CLOSE the user can read.
	req, err := s.authorizeWS(r)
	if err != nil {
		s.refuse(conn, err)
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	lease, err := s.acquire(ctx, req.st.cfg, req.ep, req.lg, r.RemoteAddr)
	if err != nil {
		s.refuse(conn, err) // names the limit (control.go)
		return
	}
	defer lease.Release(context.Background()) // after an early return; run releases it sooner

	ss := &session{
		srv: s, conn: conn, ep: req.ep, started: time.Now(), user: req.lg.User.Username, who: req.lg.User, preq: req.preq, loginID: req.lg.ID, stamp: req.lg.User.Stamp(),
		settings: req.set, ctx: ctx, cancel: cancel, ctrl: make(chan []byte, ctrlQueue), lease: lease,
		readOnly: req.set.Bool("read-only"), noCopy: req.set.Bool("disable-copy"), noPaste: req.set.Bool("disable-paste"),
		recCfg: req.st.cfg.RecordingFor(req.ep), sharing: req.st.cfg.SharingFor(req.ep),
	}
	ss.cols, ss.rows = terminalSize(r.URL.Query())
	ss.audio = wire.ParseCodecs(r.URL.Query().Get("audio"))
	ss.scale, _ = strconv.Atoi(r.URL.Query().Get("scale")) // checked by connectRequest
	ss.log = s.log.With("user", ss.user, "endpoint", req.ep.Name, "remote", r.RemoteAddr, "conn", lease.Conn().ID, "request", reqid.From(r.Context()))
	if err := s.admit(ss); err != nil {
		s.refuse(conn, err)
		return
	}
	defer s.unregister(ss)
	s.metrics.sessionStarted(req.ep.Protocol)
	defer s.metrics.sessionsActive.Add(-1)
	defer s.limit(ss, req)()
	ss.run(req.width, req.height)
	if ss.helloSent.Load() {
		s.metrics.duration.WithLabelValues(ss.ep.Protocol).Observe(time.Since(ss.started).Seconds())
	}
}

// helloGoing lets input through and counts the connect time: HELLO is about to go.
func (ss *session) helloGoing() {
	ss.helloSent.Store(true)
	ss.srv.metrics.connect.WithLabelValues(ss.ep.Protocol).Observe(time.Since(ss.started).Seconds())
}

// maxInputToFrame: a frame later than this after a key press is not its answer (a
// modifier draws nothing; the next frame may be a clock's tick a minute on).
const maxInputToFrame = 5 * time.Second

// frameSent is the viewer's OnFrame, as the frame goes out: the frame's encode time,
// and a key press's time to it (a key the browser sends once it has the frame waits
// for the next).
func (ss *session) frameSent(encode time.Duration) {
	ss.srv.metrics.frameEncode.Observe(encode.Seconds())
	ss.answered()
}

// keyPressed notes a key press (a desktop's KEY down, a terminal's input), unless one
// is already waiting for its frame.
func (ss *session) keyPressed() { ss.keyAt.CompareAndSwap(0, time.Now().UnixNano()) }

// answered counts the time from the waiting key press to now, when a frame goes out.
func (ss *session) answered() {
	if at := ss.keyAt.Swap(0); at != 0 {
		if d := time.Since(time.Unix(0, at)); d <= maxInputToFrame {
			ss.srv.metrics.inputToFrame.Observe(d.Seconds())
		}
	}
}

// acceptWS checks what must hold before the upgrade (our subprotocol, the Origin) and
// upgrades; nil when it answered with an HTTP error instead.
func (s *Server) acceptWS(w http.ResponseWriter, r *http.Request) *websocket.Conn {
	if !wantsProtocol(r) {
		s.metrics.error("client_error")
		http.Error(w, "websocket subprotocol "+wire.Subprotocol+" required", http.StatusBadRequest)
		return nil
	}
	if !signin.SameOrigin(s.state.Load().cfg, r) {
		s.metrics.error("forbidden")
		http.Error(w, "websocket from another origin refused", http.StatusForbidden)
		return nil
	}
	conn, err := websocket.Accept(bigWriteBuffer{w}, r, &websocket.AcceptOptions{
		Subprotocols:       []string{wire.Subprotocol},
		InsecureSkipVerify: true, // Origin checked above, against public-url too
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		s.log.InfoContext(r.Context(), "websocket accept", "err", err, "remote", r.RemoteAddr)
		return nil
	}
	conn.SetReadLimit(wire.MaxClientMessage)
	return conn
}

// refuse ends an upgraded websocket that never became a session with CLOSE: why's code
// and reason when it is a *sessionEnd.
func (s *Server) refuse(conn *websocket.Conn, why error) {
	end := &sessionEnd{Code: closeInternal, Reason: "racgate could not start the session."}
	errors.As(why, &end)
	s.metrics.error(errKind(end.Code))
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	conn.Write(ctx, websocket.MessageBinary, wire.Close{Code: end.Code, Reason: end.Reason}.Append(nil))
	conn.Close(websocket.StatusPolicyViolation, trimReason(end.Reason))
}

// wsRequest is a connect request that may go ahead: who, to what, with which settings.
type wsRequest struct {
	st            *state
	lg            *signin.Login
	ep            *config.Endpoint
	set           config.Settings
	width, height int            // the browser's size, within the endpoint's cap
	preq          policy.Request // for the policies again on a reload
}

// authorizeWS checks the login, the endpoint and the settings the request asks for.
func (s *Server) authorizeWS(r *http.Request) (*wsRequest, error) {
	lg, err := s.signin.Current(r)
	if err != nil {
		return nil, &sessionEnd{Code: closeSessionEnded, Reason: "You are not logged in (or your login has expired): log in again.", Err: err}
	}
	st := s.state.Load()
	name := r.PathValue("endpoint")
	ep := st.cfg.Endpoint(name)
	var d *authz.Denied
	if err := s.mayOpen(r, st.cfg, lg, ep); errors.As(err, &d) && d.Policy != "" {
		return nil, &sessionEnd{Code: closeForbidden, Reason: d.Error(), Err: err}
	} else if err != nil {
		return nil, endWith(closeForbidden, fmt.Sprintf("There is no endpoint %q open to you.", name))
	}
	width, height, conn0, err := connectRequest(r)
	if err != nil {
		return nil, endWith(closeForbidden, err.Error())
	}
	preq := s.policyRequest(r)
	set, err := st.cfg.MergeFor(r.Context(), ep, conn0, lg.User.Input(ep, preq))
	if errors.Is(err, policy.ErrEval) {
		s.log.Warn("property mapping failed", "audit", true, "user", lg.User.Username, "endpoint", ep.Name, "err", err)
		return nil, &sessionEnd{Code: closeForbidden, Reason: "The endpoint's settings could not be worked out for you; tell your administrator.", Err: err}
	} else if err != nil {
		return nil, &sessionEnd{Code: closeForbidden, Reason: "Connection settings refused: " + err.Error(), Err: err}
	}
	width, height = set.ClampDesktop(width, height) // the first size, for RDP and VNC alike
	return &wsRequest{st: st, lg: lg, ep: ep, set: set, width: width, height: height, preq: preq}, nil
}

// admit registers ss unless the server is shutting down or a reload since authorizeWS
// took its access away; the caller unregisters it when admit returns nil.
func (s *Server) admit(ss *session) error {
	if !s.register(ss) {
		return endWith(closeShutdown, "racgate is shutting down")
	}
	// A reload between authorizeWS and register has not seen this session: check against
	// the state now in force (Reload stores it before it looks at sessions).
	if why := s.state.Load().sessionAccess(ss); why != nil {
		s.unregister(ss)
		return why
	}
	return nil
}

// limit arms what ends a session by time or from outside: the provider's absolute
// timeout, the login's expiry, the idle timeout and termination requests. The returned
// func disarms them.
func (s *Server) limit(ss *session, req *wsRequest) (stop func()) {
	var timers []*time.Timer
	if d := req.st.cfg.ConnectionTimeout(req.ep); d > 0 {
		timers = append(timers, time.AfterFunc(d, func() {
			ss.end(endWith(closeTimeout, fmt.Sprintf("The connection reached its time limit (%v).", d)))
		}))
	}
	timers = append(timers, time.AfterFunc(req.lg.Expires.Sub(s.now()), func() {
		ss.end(endWith(closeSessionEnded, "Your racgate login has expired: log in again."))
	}))
	unwatch := s.watch(ss, req.st.cfg)
	unrecheck := s.recheck(ss, req)
	return func() {
		unwatch()
		unrecheck()
		for _, t := range timers {
			t.Stop()
		}
	}
}

// recheck ends the session once the login's identity source ends the login
// (signin.Service.Watch: a forward-auth proxy's recheck, an OIDC provider's refresh);
// the login's connections on every instance end with it.
func (s *Server) recheck(ss *session, req *wsRequest) (stop func()) {
	if !s.signin.Watches(req.lg) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.signin.Watch(ctx, req.lg, func(err error) {
			ss.log.Warn("cannot check the sign-in with its identity provider; the connection goes on", "err", err)
		})
	}()
	return func() { cancel(); <-done }
}

// maxScale bounds the connect request's scale, percent (docs/protocol.md § Connecting).
const maxScale = 1000

// connectRequest reads /ws/NAME?width=W&height=H&setting=value...
func connectRequest(r *http.Request) (w, h int, set config.Settings, err error) {
	q := r.URL.Query()
	set = config.Settings{}
	for k, vs := range q {
		if len(vs) != 1 {
			return 0, 0, nil, fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
		switch k {
		case "width", "height":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > config.MaxDesktopSide {
				return 0, 0, nil, fmt.Errorf("%s: want 1-%d, got %q", k, config.MaxDesktopSide, vs[0])
			}
			if k == "width" {
				w = n
			} else {
				h = n
			}
		case "scale": // devicePixelRatio in percent, read by handleWS
			if n, err := strconv.Atoi(vs[0]); err != nil || n < 1 || n > maxScale {
				return 0, 0, nil, fmt.Errorf("scale: want 1-%d, got %q", maxScale, vs[0])
			}
		case "cols", "rows": // a terminal's size in cells, read by terminalSize
			if _, err := parseCells(k, vs[0]); err != nil {
				return 0, 0, nil, err
			}
		case "audio": // the codecs the browser decodes, read by handleWS
			if len(vs[0]) > maxAudioParam {
				return 0, 0, nil, fmt.Errorf("parameter audio: over %d bytes", maxAudioParam)
			}
		default:
			if len(k) > 64 || len(vs[0]) > maxSettingLen {
				return 0, 0, nil, fmt.Errorf("parameter %.64q too long", k)
			}
			set[k] = vs[0]
		}
	}
	return w, h, set, nil
}

// run is the session's life once accepted: dial, HELLO, then the goroutines until one
// ends it; then CLOSE and teardown.
func (ss *session) run(width, height int) {
	s := ss.srv
	start := time.Now()
	ss.log.Info("session start", "protocol", ss.ep.Protocol, "settings", ss.settings.String())
	ss.srv.audit.Record(audit.ConnectionStart, ss.auditAttrs(slog.String("protocol", ss.ep.Protocol))...)

	var wg sync.WaitGroup
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	// The reader runs from the start, so closing the tab during the dial cancels it. Its
	// context never ends: with one that can, coder/websocket arms a context.AfterFunc per
	// message, a cost every frame's ACK paid; finish closes the connection instead.
	wg.Go(func() { ss.end(ss.readLoop(context.WithoutCancel(wctx))) })
	wg.Go(func() { ss.keepalive(wctx) })

	events := remoteEvents{
		Clipboard: func(c wire.ClipboardContent) {
			if ss.noCopy {
				return
			}
			m, dropped, ok := clipboard.ForBrowser(c)
			if dropped {
				ss.queue(wire.Notice{Level: wire.NoticeWarning, Text: "The remote clipboard's image is too large for the browser; its text was copied."}.Append(nil))
			}
			if ok {
				ss.queue(m.Append(nil))
			}
		},
		Bell: func() { ss.queue(wire.Bell{}.Append(nil)) },
		Name: func(n string) { ss.queue(wire.Name{Name: strings.ToValidUTF8(n, "?")}.Append(nil)) },
		Notice: func(level uint8, text string) {
			if m, ok := notice(level, text); ok {
				ss.queue(m.Append(nil))
			}
		},
		Audio: ss.audio,
	}
	if ss.ep.Protocol == "ssh" {
		// Its own dial timeout, paused while the user answers a login prompt.
		ss.runTerminal(wctx, &wg)
		ss.finish(start, wcancel, &wg)
		return
	}
	set := ss.settings
	if ss.ep.Protocol == "rdp" {
		set = rdpBrowserSize(set, width, height, ss.scale) // RDP picks the size at connect time
		if !ss.openDrive() {
			ss.finish(start, wcancel, &wg)
			return
		}
		events.Drive, events.DriveClosed = ss.drive, ss.driveFileClosed
	}
	dctx, ask, dcancel := ss.dialContext(wctx)
	events.Ask = ask
	rem, disp, err := s.dial(dctx, ss.ep, set, events, ss.log)
	dcancel()
	if err == nil && ss.ctx.Err() != nil {
		rem.Close()
		disp.Close()
		err = context.Cause(ss.ctx)
	}
	if err != nil {
		ss.end(dialError(err, ss.ep))
	} else {
		ss.connected(rem, disp, width, height, wctx, &wg)
	}
	ss.finish(start, wcancel, &wg)
}

// finish waits for the session's end, then tears down, sends CLOSE and closes the
// websocket.
func (ss *session) finish(start time.Time, wcancel context.CancelFunc, wg *sync.WaitGroup) {
	s := ss.srv
	<-ss.ctx.Done()
	cause := context.Cause(ss.ctx)
	se, ok := asEnd(cause, ss.ep.Name)
	if !ok {
		se = &sessionEnd{Code: closeInternal, Reason: "racgate hit an internal error.", Err: cause}
	}
	ss.leaveShares() // watch.go: an owner's links and timers go, a watcher leaves its host
	if rb := ss.remote.Load(); rb != nil {
		rb.r.Close()
	}
	if vb := ss.view.Load(); vb != nil {
		vb.v.Close()
	}
	if sf := ss.files.Load(); sf != nil {
		sf.close() // before the terminal: the SFTP channel goes first, cleanly
	}
	if ss.drive != nil {
		defer ss.drive.Close() // after the remote: its requests are over
	}
	if tb := ss.term.Load(); tb != nil && tb.t != nil { // a watcher's has no terminal
		tb.t.Close()
	}
	ss.lease.Release(context.Background()) // the remote is gone: free the slot now
	if k := errKind(se.Code); k != "" {
		s.metrics.error(k) // before CLOSE, so a client that read CLOSE sees it counted
	}
	// The last message: CLOSE, then the websocket close handshake.
	cctx, ccancel := context.WithTimeout(context.Background(), closeWait)
	ss.send(cctx, wire.Close{Code: se.Code, Reason: se.Reason}.Append(nil))
	ccancel()
	status := websocket.StatusNormalClosure
	if se.Code == closeClientError {
		status = websocket.StatusPolicyViolation
	}
	ss.conn.Close(status, trimReason(se.Reason))
	wcancel()          // unblocks any write still stuck on a dead connection
	ss.conn.CloseNow() // and the reader and frame writes, whose contexts never end
	wg.Wait()
	endAttrs := []slog.Attr{slog.Int64("duration_ms", time.Since(start).Milliseconds()),
		slog.Uint64("bytes_out", ss.bytesOut.Load()), slog.Uint64("bytes_in", ss.bytesIn.Load()),
		slog.Int("code", int(se.Code)), slog.String("reason", se.Reason)}
	if path := ss.closeRecording(se.Reason); path != "" {
		endAttrs = append(endAttrs, slog.String("recording", path))
	}
	attrs := []any{"duration", time.Since(start).Round(time.Millisecond), "code", int(se.Code), "reason", se.Reason}
	if se.Err != nil {
		attrs = append(attrs, "err", se.Err)
	}
	if ss.host != nil {
		ss.log.Info("watch end", attrs...)
		ss.srv.audit.Record(audit.WatchEnd, ss.auditAttrs(endAttrs...)...)
		return
	}
	ss.log.Info("session end", attrs...)
	ss.srv.audit.Record(audit.ConnectionEnd, ss.auditAttrs(endAttrs...)...)
}

// auditAttrs are the fields of the session's audit events, then more.
func (ss *session) auditAttrs(more ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{slog.String("user", ss.user), slog.String("source", ss.who.Source),
		slog.String("endpoint", ss.ep.Name), slog.String("conn", ss.lease.Conn().ID), slog.String("login", ss.loginID),
		slog.String("remote", ss.preq.IP)}, more...)
}

// connected starts the remote, waits for its first picture, sends HELLO and starts the
// viewer and the control writer.
func (ss *session) connected(rem remote, disp display, width, height int, wctx context.Context, wg *sync.WaitGroup) {
	ss.remote.Store(&remoteBox{rem})
	wg.Go(func() {
		defer disp.Close()
		err := rem.Run(ss.ctx)
		ss.end(remoteEnded(err, ss.ep))
	})
	select {
	case <-rem.Ready():
	case <-ss.ctx.Done():
		return
	case <-time.After(firstFrameWait):
		ss.log.Warn("no picture from the remote yet; going on", "waited", firstFrameWait)
	}
	ss.canResize = rem.CanResize() && !ss.readOnly
	flags, sound := ss.desktopFlags(rem)
	// Before HELLO: a SHARE the browser sends right after it finds the display, and
	// watchers may join from here on (watch.go).
	ss.disp.Store(&displayBox{disp})
	// Before HELLO too: input the browser sends right after it is recorded.
	if ss.recCfg != nil && !ss.startDesktopRecording(disp, wg) {
		return // required and not possible: the session ends
	}
	if !ss.stream(wire.Hello{Version: wire.Version, Kind: wire.KindDesktop, Flags: flags, Name: ss.ep.Name}, disp, sound, wctx, wg) {
		return
	}
	ss.pumpControl(wctx, wg)
	if sf := ss.startDesktopFiles(); sf != nil {
		ss.queue(sf.message().Append(nil)) // § FILES, after HELLO
	}
	if w, h := rem.Size(); ss.canResize && width > 0 && height > 0 && (w != width || h != height) {
		if err := rem.SetDesktopSize(width, height); err != nil {
			ss.log.Info("initial resize", "err", err)
		}
	} else if sh, ok := rem.(*sharedSession); ok && ss.canResize && width > 0 && height > 0 {
		sh.WantDesktopSize(width, height)
	}
}

// desktopFlags are HELLO's flags for rem as this session may use it, and the sound it
// listens to (nil: none).
func (ss *session) desktopFlags(rem remote) (flags uint8, sound *audio.Stream) {
	if ss.canResize {
		flags |= wire.FlagResize
	}
	clip := true
	if c, ok := rem.(clipboardOptional); ok {
		clip = c.CanClipboard()
	}
	if clip && !ss.noPaste && !ss.readOnly {
		flags |= wire.FlagPaste
	}
	if clip && !ss.noCopy {
		flags |= wire.FlagCopy
	}
	if as, ok := rem.(audioSource); ok && len(ss.audio) > 0 {
		if sound = as.audioStream(); sound != nil {
			flags |= wire.FlagAudio
		}
	}
	if ss.host == nil && ss.sharing.Enabled {
		flags |= wire.FlagShare
	}
	if ss.readOnly {
		flags |= wire.FlagViewOnly
	}
	return flags, sound
}

// stream sends HELLO, then starts a viewer of disp and, when sound is not nil, a
// listener; false when the browser is gone (ss.end was called).
func (ss *session) stream(hello wire.Hello, disp display, sound *audio.Stream, wctx context.Context, wg *sync.WaitGroup) bool {
	// Input is accepted from here on: the browser may answer HELLO (with a resize to fit its
	// window, or a key) before send returns, and that must not be dropped.
	ss.helloGoing()
	// The listener queues from before HELLO, so that sound the remote plays once the
	// browser has HELLO is never lost; it sends only after HELLO.
	var l *audio.Listener
	if sound != nil {
		l = sound.Listen(ss.audio)
	}
	// HELLO goes before anything the viewer sends.
	if err := ss.send(wctx, hello.Append(nil)); err != nil {
		if l != nil {
			l.Close()
		}
		ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "browser gone", Err: err})
		return false
	}
	// Frames are written with a context that never ends (no AfterFunc per frame, as for
	// the reader); finish's CloseNow unblocks a write stuck on a dead connection.
	fctx := context.WithoutCancel(wctx)
	v := disp.NewViewer(func(msg []byte) error { return ss.send(fctx, msg) }, ss.frameSent)
	ss.view.Store(&viewerBox{v})
	if l != nil {
		ss.listener.Store(l)
		wg.Go(func() {
			defer l.Close()
			err := l.Run(ss.ctx, func(msg []byte) error {
				if err := ss.send(fctx, msg); err != nil {
					return err
				}
				ss.srv.metrics.audioBytes.Add(uint64(len(msg)))
				return nil
			})
			if err != nil && ss.ctx.Err() == nil {
				ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "The browser connection failed.", Err: err})
			}
		})
	}
	wg.Go(func() {
		err := v.Run(ss.ctx)
		switch {
		case ss.ctx.Err() != nil:
		case ss.host != nil && ss.host.ctx.Err() != nil:
			ss.end(errHostEnded) // its display closed with the owner's remote
		default: // send failed: the browser's connection broke
			ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "The browser connection failed.", Err: err})
		}
	})
	return true
}

// keepalive pings the browser so that a connection that died without a FIN (sleep,
// network loss) ends the session and frees its slot instead of holding it forever.
func (ss *session) keepalive(wctx context.Context) {
	t := time.NewTicker(ss.srv.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ss.ctx.Done():
			return
		case <-t.C:
		}
		// A ping's context ending closes the connection; use a child of wctx.
		ctx, cancel := context.WithTimeout(wctx, ss.srv.pingTimeout)
		err := ss.conn.Ping(ctx)
		cancel()
		if err != nil {
			ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "The browser stopped answering.", Err: err})
			return
		}
	}
}

// queue hands a message to the control writer without blocking the remote's goroutine.
func (ss *session) queue(msg []byte) {
	if !ss.tryQueue(msg) {
		ss.log.Warn("control message dropped: browser too slow")
	}
}

// tryQueue queues msg for the browser unless the queue is full.
func (ss *session) tryQueue(msg []byte) bool {
	select {
	case ss.ctrl <- msg:
		return true
	default:
		return false
	}
}

// pumpControl sends what queue queued, after HELLO, until the session ends.
func (ss *session) pumpControl(wctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() {
		for {
			select {
			case <-ss.ctx.Done():
				return
			case msg := <-ss.ctrl:
				if err := ss.send(wctx, msg); err != nil {
					ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "browser gone", Err: err})
					return
				}
			}
		}
	})
}

// notice is the NOTICE for a remote's notice: text valid and within the limit, a level
// other than info shown as a warning. Nothing is left of empty text.
func notice(level uint8, text string) (wire.Notice, bool) {
	text = wire.ValidText(text, wire.MaxNoticeText)
	return wire.Notice{Level: min(level, wire.NoticeWarning), Text: text}, text != ""
}

func trimReason(s string) string {
	return wire.ValidText(s, 120) // a websocket close reason is at most 123 bytes
}

// dialError is the CLOSE for a dial that failed.
func dialError(err error, ep *config.Endpoint) error {
	if se, ok := asEnd(err, ep.Name); ok {
		return se
	}
	switch {
	case errors.Is(err, errRemoteAuth):
		return failed(failAuth, "", err).end(ep.Name)
	case errors.Is(err, errRemoteProtocol):
		return failed(failProtocol, "", err).end(ep.Name)
	case errors.Is(err, errNotImplemented):
		return &sessionEnd{Code: closeInternal, Reason: fmt.Sprintf("Protocol %s is not implemented yet.", ep.Protocol), Err: err}
	}
	return failed(failUnreachable, "", err).end(ep.Name)
}

// remoteEnded gives the end of a running remote its CLOSE.
func remoteEnded(err error, ep *config.Endpoint) error {
	if se, ok := asEnd(err, ep.Name); ok {
		return se
	}
	switch {
	case errors.Is(err, errRemoteProtocol):
		return failed(failProtocol, "", err).end(ep.Name)
	case errors.Is(err, errRemoteAuth):
		return failed(failAuth, "", err).end(ep.Name)
	}
	return failed(failEnded, "", err).end(ep.Name)
}

// readLoop reads the browser's messages until the websocket ends or breaks the protocol.
// ctx is the write context, not the session's: coder/websocket closes the connection when
// a Read's context ends, and the session still has to send CLOSE after it ends.
//
// One buffer is reused for every message: a session reads a small one (an ACK, a key)
// per frame or keystroke, and allocating each was measurable with a thousand sessions.
// Handlers copy what they keep.
func (ss *session) readLoop(ctx context.Context) error {
	var buf bytes.Buffer
	for {
		typ, r, err := ss.conn.Reader(ctx)
		if err == nil {
			if buf.Cap() > maxKeptMessage {
				buf = bytes.Buffer{} // a big paste's buffer is not kept
			}
			buf.Reset()
			_, err = buf.ReadFrom(r) // bounded by the websocket's read limit
			ss.bytesIn.Add(uint64(buf.Len()))
		}
		if err != nil {
			if ss.ctx.Err() != nil {
				return context.Cause(ss.ctx)
			}
			se := &sessionEnd{Code: closeRemoteEnded, Reason: "The browser closed the connection.", Err: err}
			if st := websocket.CloseStatus(err); st == websocket.StatusNormalClosure || st == websocket.StatusGoingAway {
				se.Err = nil // a tab closed or a page left: nothing went wrong
			}
			return se
		}
		if typ != websocket.MessageBinary {
			return &sessionEnd{Code: closeClientError, Reason: "The browser sent a text message; racgate.v1 is binary."}
		}
		if err := wire.Decode(buf.Bytes(), ss.handle); err != nil {
			var se *sessionEnd
			if errors.As(err, &se) {
				return se
			}
			if errors.Is(err, wire.ErrMalformed) {
				return &sessionEnd{Code: closeClientError, Reason: "The browser sent a malformed message.", Err: err}
			}
			return remoteEnded(err, ss.ep) // sending input to the remote failed
		}
	}
}

// maxKeptMessage is the largest message buffer readLoop keeps for the next message.
const maxKeptMessage = 64 << 10

// handle applies one browser message. Its data is readLoop's buffer: keep copies only. Input before the remote is connected is dropped.
func (ss *session) handle(m wire.Message) error {
	if a, ok := m.(wire.Ack); ok {
		if vb := ss.view.Load(); vb != nil {
			vb.v.Ack(a.ID)
		} else if tb := ss.term.Load(); tb != nil {
			tb.Ack(a.ID)
		}
		return nil
	}
	if p, ok := m.(wire.Ping); ok {
		// § PING: not input (it must not hold off idle-timeout), allowed read-only. A
		// client that pings faster than it reads loses answers, not the session.
		if ss.helloSent.Load() {
			ss.tryQueue(wire.Pong(p).Append(nil))
		}
		return nil
	}
	if a, ok := m.(wire.AudioEnable); ok {
		// Muting is the viewer's business, allowed read-only, and no input to the remote.
		if l := ss.listener.Load(); l != nil {
			l.SetEnabled(a.Enabled)
		}
		return nil
	}
	ss.touch() // any message but ACK is the user's input
	if sh, ok := m.(wire.Share); ok {
		ss.shareRequest(sh) // watch.go
		return nil
	}
	// A login prompt's answer comes during the dial, before HELLO.
	if r, ok := m.(wire.PromptResponse); ok {
		return ss.promptAnswered(r) // never recorded: it holds passwords
	}
	owner := ss // whose remote the input goes to, and whose recording holds it
	if ss.host != nil {
		owner = ss.host // a watcher with control
	}
	if ss.helloSent.Load() && !ss.readOnly {
		if owner != ss {
			owner.touch() // a controlling watcher's input keeps the owner from idle-timeout
		}
		owner.recordInput(m)
	}
	if tb := ss.term.Load(); tb != nil {
		return ss.handleTerminal(tb, m)
	}
	rb := owner.remote.Load()
	if rb == nil || !ss.helloSent.Load() || ss.readOnly {
		return nil
	}
	r := rb.r
	switch m := m.(type) {
	case wire.Key:
		if m.Down {
			ss.keyPressed()
		}
		return r.KeyEvent(m.Keysym, m.Code, m.Down)
	case wire.Pointer:
		return r.Pointer(m.Buttons, m.X, m.Y)
	case wire.Wheel:
		// Bounded here so no adapter turns one message into unbounded work.
		dx := max(-maxWheelNotches, min(m.DX, maxWheelNotches))
		dy := max(-maxWheelNotches, min(m.DY, maxWheelNotches))
		if dx == 0 && dy == 0 {
			return nil
		}
		return r.Wheel(dx, dy, m.X, m.Y)
	case wire.ClientClipboard:
		if ss.noPaste {
			return nil
		}
		return r.SetClipboard(wire.ClipboardContent{Text: m.Text})
	case wire.ClientClipboardContent:
		if ss.noPaste {
			return nil
		}
		return r.SetClipboard(wire.ClipboardContent(m))
	case wire.ResizeRequest:
		if !ss.canResize {
			return nil
		}
		// Beyond any screen is the browser's bug; within that, above the endpoint's cap
		// (max-width, max-height) is clamped, so a big window gets the largest allowed.
		if m.Width < 1 || m.Height < 1 || m.Width > config.MaxDesktopSide || m.Height > config.MaxDesktopSide {
			return &sessionEnd{Code: closeClientError, Reason: fmt.Sprintf("Resize to %dx%d refused.", m.Width, m.Height)}
		}
		if sc, ok := r.(scaler); ok && m.Scale > 0 && ss.settings["dpi"] == "" {
			sc.SetScale(m.Scale) // the endpoint's dpi, where set, holds
		}
		return r.SetDesktopSize(ss.settings.ClampDesktop(m.Width, m.Height))
	}
	return nil // terminal messages on a desktop, unknown types: skipped
}
