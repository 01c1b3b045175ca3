// Package client is a headless racgate.v1 client for the benchmark harness: it logs in,
// opens a websocket session the way the browser does (subprotocol racgate.v1, Origin the
// base URL), draws every message into a wire.Canvas and acknowledges every FRAME
// (docs/protocol.md). On a terminal session it inflates TERMINAL_DEFLATE as the browser
// does and counts the terminal output without emulating the terminal, and acknowledges
// each FRAME as soon as the message holding it is read.
package client

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/render/wire"
)

// ErrClosed is wrapped by Run's error when the server ended the session with CLOSE.
var ErrClosed = errors.New("client: server sent CLOSE")

// Bounds of a login.
const (
	maxLoginBody = 64 << 10
	loginTimeout = 30 * time.Second
)

// Login posts the login form to base (http://host:port) and returns an HTTP client whose
// cookie jar holds the login.
func Login(ctx context.Context, base, username, password string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{
		Jar: jar,
		// The login answers 303 to "/": stop there, the cookie is what we came for.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// No Timeout: websocket.Dial would bound the whole websocket's life by it.
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	form := url.Values{"username": {username}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: login: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxLoginBody))
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("client: login: status %s", resp.Status)
	}
	u, _ := url.Parse(base)
	if len(jar.Cookies(u)) == 0 {
		return nil, errors.New("client: login: no cookie set")
	}
	return hc, nil
}

// Options configure one session.
type Options struct {
	Width, Height int        // the browser's size; 0 lets the remote decide
	Settings      url.Values // connection settings (only keys the endpoint allows)
	// AckDelay makes a slow client: it waits this long after each FRAME before it
	// acknowledges it and reads on, like a browser that draws slowly.
	AckDelay time.Duration
	// OnFrame, if set, is called on Run's goroutine for every FRAME.
	OnFrame func(FrameEvent)
}

// FrameEvent is one FRAME as the client drew it.
type FrameEvent struct {
	ID      uint32
	At      time.Time       // when the message holding FRAME was read
	Drawn   image.Rectangle // union of what FILL, COPY and IMAGE since the last FRAME touched
	Changed bool            // any FILL, COPY or IMAGE since the last FRAME
}

// Stats count what a session received.
type Stats struct {
	Bytes    uint64 // websocket payload bytes from the server
	Messages uint64 // websocket messages
	Frames   uint64
	Fills    uint64
	Copies   uint64
	Images   [6]uint64 // IMAGE count by encoding (ZRGB, ZPALETTE, JPEG, PNG, ZRGB1, ZPALETTE1)
	// TerminalBytes counts the terminal output that reached the client: TERMINAL data and
	// TERMINAL_DEFLATE inflated (a terminal is not emulated here, only counted). Output
	// the browser could never show is not sent, so it can be far less than the remote's.
	TerminalBytes uint64
	ImageBytes    [6]uint64 // IMAGE data bytes by encoding
	// FirstFrame is the time from the start of Dial to the first FRAME; 0 until then.
	FirstFrame time.Duration
}

// Session is one websocket session.
type Session struct {
	conn   *websocket.Conn
	opts   Options
	start  time.Time
	canvas *wire.Canvas

	mu    sync.Mutex
	stats Stats
	hello *wire.Hello
	close *wire.Close

	// Run's goroutine only.
	term    wire.TerminalInflater
	buf     []byte
	drawn   image.Rectangle
	changed bool
	ackBuf  []byte
}

// Dial opens a websocket to endpoint on base with hc's login cookie.
func Dial(ctx context.Context, hc *http.Client, base, endpoint string, o Options) (*Session, error) {
	start := time.Now()
	q := url.Values{}
	for k, v := range o.Settings {
		q[k] = v
	}
	if o.Width > 0 && o.Height > 0 {
		q.Set("width", strconv.Itoa(o.Width))
		q.Set("height", strconv.Itoa(o.Height))
	}
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws/" + url.PathEscape(endpoint)
	if len(q) > 0 {
		ws += "?" + q.Encode()
	}
	conn, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{
		HTTPClient:      hc,
		Subprotocols:    []string{wire.Subprotocol},
		HTTPHeader:      http.Header{"Origin": {base}},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, fmt.Errorf("client: websocket %s: %w", endpoint, err)
	}
	if conn.Subprotocol() != wire.Subprotocol {
		conn.CloseNow()
		return nil, fmt.Errorf("client: server chose subprotocol %q", conn.Subprotocol())
	}
	// One byte over the spec's limit so that a too-long message is an error, not truncated.
	conn.SetReadLimit(wire.MaxServerMessage + 1)
	c := wire.NewCanvas()
	c.MaxPixels = 8192 * 8192
	return &Session{conn: conn, opts: o, start: start, canvas: c}, nil
}

// Run reads, draws and acknowledges until ctx ends (nil error), the server sends CLOSE
// (an error wrapping ErrClosed) or something breaks.
func (s *Session) Run(ctx context.Context) error {
	for {
		typ, r, err := s.conn.Reader(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if c := s.Closed(); c != nil {
				return fmt.Errorf("%w: %d %s", ErrClosed, c.Code, c.Reason)
			}
			return fmt.Errorf("client: read: %w", err)
		}
		at := time.Now()
		if typ != websocket.MessageBinary {
			return fmt.Errorf("client: %v message from the server", typ)
		}
		if err := s.readAll(r); err != nil {
			return err
		}
		if err := s.handle(ctx, at); err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() == nil {
				return err
			}
			return nil
		}
	}
}

// readAll reads one websocket message into s.buf, reusing it.
func (s *Session) readAll(r io.Reader) error {
	s.buf = s.buf[:0]
	for {
		if len(s.buf) == cap(s.buf) {
			s.buf = append(s.buf, 0)[:len(s.buf)]
		}
		n, err := r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("client: read: %w", err)
		}
	}
}

func (s *Session) handle(ctx context.Context, at time.Time) error {
	var frames []FrameEvent
	var st Stats
	st.Bytes, st.Messages = uint64(len(s.buf)), 1
	err := wire.Decode(s.buf, func(m wire.Message) error {
		if err := s.canvas.Apply(m); err != nil {
			return err
		}
		switch m := m.(type) {
		case wire.Fill:
			st.Fills++
			s.touch(image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H))
		case wire.Copy:
			st.Copies++
			s.touch(image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H))
		case wire.Image:
			if int(m.Encoding) < len(st.Images) {
				st.Images[m.Encoding]++
				st.ImageBytes[m.Encoding] += uint64(len(m.Data))
			}
			s.touch(image.Rect(m.X, m.Y, m.X+m.W, m.Y+m.H))
		case wire.Terminal:
			st.TerminalBytes += uint64(len(m.Data))
			s.changed = true
		case wire.TerminalDeflate:
			out, err := s.term.Inflate(m)
			if err != nil {
				return err
			}
			st.TerminalBytes += uint64(len(out))
			s.changed = true
		case wire.Frame:
			st.Frames++
			frames = append(frames, FrameEvent{ID: m.ID, At: at, Drawn: s.drawn, Changed: s.changed})
			s.drawn, s.changed = image.Rectangle{}, false
		case wire.Hello:
			s.mu.Lock()
			s.hello = &m
			s.mu.Unlock()
		case wire.Close:
			s.mu.Lock()
			s.close = &m
			s.mu.Unlock()
		}
		return nil
	})
	s.mu.Lock()
	s.stats.add(st)
	if st.Frames > 0 && s.stats.FirstFrame == 0 {
		s.stats.FirstFrame = at.Sub(s.start)
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	for _, f := range frames {
		if s.opts.OnFrame != nil {
			s.opts.OnFrame(f)
		}
		if s.opts.AckDelay > 0 {
			select {
			case <-time.After(s.opts.AckDelay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		s.ackBuf = wire.Ack{ID: f.ID}.Append(s.ackBuf[:0])
		if err := s.conn.Write(ctx, websocket.MessageBinary, s.ackBuf); err != nil {
			return fmt.Errorf("client: ack: %w", err)
		}
	}
	if c := s.Closed(); c != nil {
		return fmt.Errorf("%w: %d %s", ErrClosed, c.Code, c.Reason)
	}
	return nil
}

func (s *Session) touch(r image.Rectangle) {
	s.drawn = s.drawn.Union(r)
	s.changed = true
}

func (st *Stats) add(o Stats) {
	st.Bytes += o.Bytes
	st.Messages += o.Messages
	st.Frames += o.Frames
	st.TerminalBytes += o.TerminalBytes
	st.Fills += o.Fills
	st.Copies += o.Copies
	for i := range st.Images {
		st.Images[i] += o.Images[i]
		st.ImageBytes[i] += o.ImageBytes[i]
	}
}

// Stats returns what the session has received so far. Safe to call during Run.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Hello returns the server's HELLO, or nil before it came.
func (s *Session) Hello() *wire.Hello {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hello
}

// Closed returns the server's CLOSE, or nil.
func (s *Session) Closed() *wire.Close {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.close
}

// Canvas is the picture as drawn so far. Use it only while Run is not running, or from
// OnFrame (Run's goroutine).
func (s *Session) Canvas() *wire.Canvas { return s.canvas }

// Key sends a key press or release (KEY).
func (s *Session) Key(ctx context.Context, keysym uint32, code string, down bool) error {
	return s.write(ctx, wire.Key{Down: down, Keysym: keysym, Code: code})
}

// Pointer sends a pointer position and buttons (POINTER).
func (s *Session) Pointer(ctx context.Context, x, y int, buttons uint16) error {
	return s.write(ctx, wire.Pointer{X: x, Y: y, Buttons: buttons})
}

func (s *Session) write(ctx context.Context, m wire.Message) error {
	if err := s.conn.Write(ctx, websocket.MessageBinary, m.Append(nil)); err != nil {
		return fmt.Errorf("client: send %v: %w", m.Type(), err)
	}
	return nil
}

// Close ends the websocket with a normal closure.
func (s *Session) Close() error {
	return s.conn.Close(websocket.StatusNormalClosure, "")
}
