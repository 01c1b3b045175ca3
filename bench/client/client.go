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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/racgate/racgate/bench/onset"
	"github.com/racgate/racgate/bench/opus"
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
	// Audio is the connect request's audio parameter: the sound codecs the client
	// decodes, in order of preference ("opus,adpcm,pcm"); empty asks for no sound.
	// PCM and ADPCM are decoded, Opus with the system's libopus (bench/opus; without it
	// Opus is only counted), and the client notes when a tone burst starts
	// (Session.AudioOnsets).
	Audio string
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
	// Sound: AUDIO messages; their bytes (the messages' own, plus the websocket frame
	// header of a websocket message that holds only AUDIO); the PCM decoded from them;
	// packets not decoded (MP3, or Opus without libopus); the codec of the last
	// AUDIO_FORMAT.
	AudioPackets   uint64
	AudioBytes     uint64
	AudioPCM       uint64
	AudioUndecoded uint64
	AudioCodec     wire.Codec
}

// maxOnsets bounds the burst starts a session keeps (one a second in the bench).
const maxOnsets = 4096

// Session is one websocket session.
type Session struct {
	conn   *websocket.Conn
	opts   Options
	start  time.Time
	canvas *wire.Canvas

	mu     sync.Mutex
	stats  Stats
	hello  *wire.Hello
	close  *wire.Close
	onsets []time.Time

	// Run's goroutine only.
	term    wire.TerminalInflater
	buf     []byte
	drawn   image.Rectangle
	changed bool
	ackBuf  []byte
	format  wire.AudioFormat
	pcm     onset.PCM
	opus    *opus.Decoder // an Opus stream's decoder; nil without libopus
	decoded []byte
}

// Dial opens a websocket to endpoint on base with hc's login cookie.
func Dial(ctx context.Context, hc *http.Client, base, endpoint string, o Options) (*Session, error) {
	start := time.Now()
	q := url.Values{}
	for k, v := range o.Settings {
		q[k] = v
	}
	if o.Audio != "" {
		q.Set("audio", o.Audio)
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
	defer s.closeOpus()
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
	burst := false
	onlyAudio := true // every message in this websocket message is AUDIO
	err := wire.Decode(s.buf, func(m wire.Message) error {
		if err := s.canvas.Apply(m); err != nil {
			return err
		}
		if _, ok := m.(wire.Audio); !ok {
			onlyAudio = false
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
		case wire.AudioFormat:
			s.setFormat(m)
		case wire.Audio:
			st.AudioPackets++
			st.AudioBytes += uint64(5 + 4 + len(m.Data))
			b, err := s.audio(m.Data, &st)
			if err != nil {
				return err
			}
			st.AudioPCM += uint64(len(s.decoded))
			burst = burst || b
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
	if onlyAudio && st.AudioPackets > 0 {
		// The websocket frame's header goes with the sound that alone fills it.
		st.AudioBytes += uint64(wsHeader(len(s.buf)))
	}
	s.mu.Lock()
	s.stats.add(st)
	s.stats.AudioCodec = s.format.Codec
	if st.Frames > 0 && s.stats.FirstFrame == 0 {
		s.stats.FirstFrame = at.Sub(s.start)
	}
	if burst && len(s.onsets) < maxOnsets {
		s.onsets = append(s.onsets, at)
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

// audio decodes one AUDIO packet into s.decoded (PCM, ADPCM, and Opus where libopus can
// be loaded) and reports whether a tone burst starts in it. A packet libopus refuses is
// counted (Stats.AudioUndecoded), as a browser would skip it.
func (s *Session) audio(data []byte, st *Stats) (bool, error) {
	s.decoded = s.decoded[:0]
	switch s.format.Codec {
	case wire.CodecPCM:
		s.decoded = append(s.decoded, data...)
	case wire.CodecADPCM:
		var err error
		if s.decoded, err = wire.DecodeADPCM(s.decoded, data, s.format.Channels); err != nil {
			return false, err
		}
	case wire.CodecOpus:
		if s.opus == nil {
			st.AudioUndecoded++
			return false, nil
		}
		var err error
		if s.decoded, err = s.opus.Decode(s.decoded, data); err != nil {
			st.AudioUndecoded++
			return false, nil
		}
	case wire.CodecNone:
		return false, fmt.Errorf("%w: AUDIO before AUDIO_FORMAT", wire.ErrMalformed)
	default:
		st.AudioUndecoded++ // MP3: not decoded here
		return false, nil
	}
	return s.pcm.Feed(s.decoded), nil
}

// setFormat starts a new sound stream: an Opus decoder for Opus (at 48 kHz, the rate
// libopus decodes to; the stream's announced rate is what the browser plays it at), and
// a fresh burst detector at the rate of the decoded samples.
func (s *Session) setFormat(m wire.AudioFormat) {
	s.format = m
	s.closeOpus()
	rate := m.SampleRate
	if m.Codec == wire.CodecOpus {
		rate = 48000
		if d, err := opus.NewDecoder(rate, m.Channels); err == nil {
			s.opus = d
		}
	}
	s.pcm.Reset(rate, m.Channels)
}

func (s *Session) closeOpus() {
	if s.opus != nil {
		s.opus.Close()
		s.opus = nil
	}
}

// wsHeader is the size of the header of a server's websocket frame (unmasked) holding n
// bytes (RFC 6455 § 5.2).
func wsHeader(n int) int {
	switch {
	case n < 126:
		return 2
	case n < 1<<16:
		return 4
	}
	return 10
}

// AudioOnsets returns when each tone burst's first packet arrived (the message holding
// it was read), in order. Safe to call during Run.
func (s *Session) AudioOnsets() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.onsets)
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
	st.AudioPackets += o.AudioPackets
	st.AudioBytes += o.AudioBytes
	st.AudioPCM += o.AudioPCM
	st.AudioUndecoded += o.AudioUndecoded
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
