package guac

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for img streams
	_ "image/png"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/racgate/racgate/bench/onset"
)

// ErrServer is wrapped when guacd reports an error or disconnects.
var ErrServer = errors.New("guac: server ended the connection")

// Limits on streams, checked before allocating.
const (
	maxStreams     = 1024     // open img streams at once
	maxStreamBytes = 32 << 20 // decoded bytes of one image
	maxPixels      = 8192 * 8192
	handshakeWait  = 20 * time.Second
	// DefaultKeepAlive is how often an otherwise silent client sends nop:
	// guacamole-common-js's keep-alive period. guacd drops a user it has heard nothing
	// from for 15 s ("User is not responding."), which a still screen (no sync to
	// answer) would otherwise cause.
	DefaultKeepAlive = 5 * time.Second
)

// Version is the protocol version this client speaks (the handshake's version argument).
const Version = "VERSION_1_5_0"

// Config is the handshake.
type Config struct {
	Protocol   string            // "vnc", "rdp", "ssh"
	Params     map[string]string // connection parameters by name (hostname, port, ...)
	Width      int
	Height     int
	DPI        int      // 96 when 0
	ImageTypes []string // default image/png, image/jpeg, image/webp as guacamole-common-js declares
	// AudioTypes are the audio mimetypes declared in the handshake; none by default
	// (no sound). guacamole-common-js declares "audio/L8" and "audio/L16" (its raw
	// PCM player), the only formats guacd 1.6 encodes.
	AudioTypes []string
}

// Stats count what the server sent.
type Stats struct {
	Bytes        uint64 // protocol bytes read
	Instructions uint64
	Syncs        uint64            // frames
	Images       map[string]uint64 // complete images by mimetype
	ImageBytes   map[string]uint64 // decoded image bytes by mimetype
	Decoded      uint64            // images decoded (png, jpeg); webp is only counted
	FirstSync    time.Duration     // from Dial to the first sync
	// Width and Height are the default layer's (0) size from guacd's last size
	// instruction: the display it agreed to.
	Width, Height int
	// Sound: audio streams opened, the blob instructions on them, those instructions'
	// bytes as read (base64 included), the PCM decoded from them, and the last stream's
	// mimetype ("audio/L16;rate=44100,channels=2").
	AudioStreams uint64
	AudioBlobs   uint64
	AudioBytes   uint64
	AudioPCM     uint64
	AudioType    string
}

// maxOnsets bounds the burst starts a connection keeps (one a second in the bench).
const maxOnsets = 4096

// SyncEvent is one sync (frame end) as received.
type SyncEvent struct {
	Timestamp string
	At        time.Time
	Changed   bool // drawing instructions since the last sync
}

// Conn is a Guacamole session with guacd.
type Conn struct {
	conn  net.Conn
	r     *Reader
	start time.Time
	ID    string // from ready

	// OnSync, if set before Run, is called on Run's goroutine for every sync.
	OnSync func(SyncEvent)
	// SyncDelay, if set before Run, makes a slow client: each sync is answered this much
	// later, and nothing is read meanwhile, like a browser that draws slowly.
	SyncDelay time.Duration
	// KeepAlive, if set before Run, replaces DefaultKeepAlive; negative sends no nop.
	KeepAlive time.Duration

	wmu  sync.Mutex
	wbuf []byte

	mu     sync.Mutex
	stats  Stats
	onsets []time.Time

	// Run's goroutine only.
	streams map[string]*imgStream
	audio   map[string]*audioStream
	changed bool
	b64     []byte
	read    uint64 // r.Bytes after the previous instruction
}

// audioStream is an open audio stream: raw PCM as guacd sends it.
type audioStream struct {
	bits   int // 8 or 16
	detect onset.PCM
}

type imgStream struct {
	mimetype string
	data     []byte
}

// drawing are the opcodes that change the display.
var drawing = map[string]bool{
	"img": true, "copy": true, "rect": true, "cfill": true, "cursor": true, "transfer": true,
	"png": true, "jpeg": true, "size": true, "move": true, "shade": true, "dispose": true,
	"lfill": true, "arc": true, "line": true, "curve": true, "close": true, "distort": true,
}

// Dial connects to guacd at addr and performs the handshake (select, args, size, audio,
// video, image, connect, ready).
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	start := time.Now()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("guac: %w", err)
	}
	c := &Conn{conn: nc, r: NewReader(nc), start: start, streams: map[string]*imgStream{}, audio: map[string]*audioStream{}}
	c.stats.Images, c.stats.ImageBytes = map[string]uint64{}, map[string]uint64{}
	if err := c.handshake(ctx, cfg); err != nil {
		nc.Close()
		return nil, err
	}
	c.read = c.r.Bytes // an instruction's size counts from here
	return c, nil
}

func (c *Conn) handshake(ctx context.Context, cfg Config) error {
	deadline := time.Now().Add(handshakeWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)
	defer c.conn.SetDeadline(time.Time{})
	if err := c.send("select", cfg.Protocol); err != nil {
		return err
	}
	args, err := c.expect("args")
	if err != nil {
		return err
	}
	dpi := cfg.DPI
	if dpi == 0 {
		dpi = 96
	}
	types := cfg.ImageTypes
	if types == nil {
		types = []string{"image/png", "image/jpeg", "image/webp"}
	}
	values := make([]string, len(args.Args))
	for i, name := range args.Args {
		if strings.HasPrefix(name, "VERSION_") {
			values[i] = Version // we speak 1.5.0's handshake
			continue
		}
		values[i] = cfg.Params[name]
	}
	for _, ins := range []Instruction{
		{"size", []string{strconv.Itoa(cfg.Width), strconv.Itoa(cfg.Height), strconv.Itoa(dpi)}},
		{"audio", cfg.AudioTypes},
		{"video", nil},
		{"image", types},
		{"connect", values},
	} {
		if err := c.sendIns(ins); err != nil {
			return err
		}
	}
	ready, err := c.expect("ready")
	if err != nil {
		return err
	}
	if len(ready.Args) > 0 {
		c.ID = ready.Args[0]
	}
	return nil
}

// expect reads the next instruction and checks its opcode; error becomes ErrServer.
func (c *Conn) expect(op string) (Instruction, error) {
	ins, err := c.r.Read()
	if err != nil {
		return ins, fmt.Errorf("guac: waiting for %s: %w", op, err)
	}
	switch ins.Opcode {
	case op:
		return ins, nil
	case "error", "disconnect":
		return ins, fmt.Errorf("%w: %s %q", ErrServer, ins.Opcode, ins.Args)
	}
	return ins, fmt.Errorf("%w: got %q during the handshake, want %s", ErrMalformed, ins.Opcode, op)
}

func (c *Conn) send(op string, args ...string) error {
	return c.sendIns(Instruction{op, args})
}

func (c *Conn) sendIns(ins Instruction) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = ins.Append(c.wbuf[:0])
	if _, err := c.conn.Write(c.wbuf); err != nil {
		return fmt.Errorf("guac: send %s: %w", ins.Opcode, err)
	}
	return nil
}

// ReadRaw reads guacd's next instruction, for a tunnel that relays instructions instead
// of Run; the elements are valid until the next call. Buffered says whether another
// instruction has arrived already.
func (c *Conn) ReadRaw() ([][]byte, error) { return c.r.ReadRaw() }

// Buffered is what ReadRaw can go on with before it waits for guacd.
func (c *Conn) Buffered() int { return c.r.Buffered() }

// WriteRaw sends encoded instructions as they are, for a tunnel.
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(b)
	return err
}

// Key sends a key event.
func (c *Conn) Key(keysym uint32, pressed bool) error {
	p := "0"
	if pressed {
		p = "1"
	}
	return c.send("key", strconv.FormatUint(uint64(keysym), 10), p)
}

// Mouse sends a pointer event; mask: bit 0 left, 1 middle, 2 right, 3/4 wheel.
func (c *Conn) Mouse(x, y int, mask uint8) error {
	return c.send("mouse", strconv.Itoa(x), strconv.Itoa(y), strconv.Itoa(int(mask)))
}

// Stats returns the counts so far; safe during Run.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Images, s.ImageBytes = cloneMap(c.stats.Images), cloneMap(c.stats.ImageBytes)
	return s
}

func cloneMap(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Close ends the session: disconnect, then the socket.
func (c *Conn) Close() error {
	c.send("disconnect")
	return c.conn.Close()
}

// Run reads until ctx ends (nil), the server ends the session (ErrServer) or the stream
// breaks. It answers every sync with sync, as guacamole-common-js does once it has drawn.
func (c *Conn) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Now()) })
	defer stop()
	if every := c.keepAlive(); every > 0 {
		kctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go c.sendKeepAlive(kctx, every)
	}
	for {
		el, err := c.r.ReadRaw()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("guac: read: %w", err)
		}
		at := time.Now()
		if err := c.handle(el, at); err != nil {
			return err
		}
	}
}

func (c *Conn) keepAlive() time.Duration {
	if c.KeepAlive == 0 {
		return DefaultKeepAlive
	}
	return c.KeepAlive
}

// sendKeepAlive sends nop every period until ctx ends or a write fails (Run then sees
// the broken connection).
func (c *Conn) sendKeepAlive(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.send("nop") != nil {
				return
			}
		}
	}
}

func (c *Conn) handle(el [][]byte, at time.Time) error {
	op := string(el[0])
	args := el[1:]
	size := c.r.Bytes - c.read
	c.read = c.r.Bytes
	c.mu.Lock()
	c.stats.Bytes = c.r.Bytes
	c.stats.Instructions++
	c.mu.Unlock()
	if drawing[op] {
		c.changed = true
	}
	switch op {
	case "sync": // sync,TIMESTAMP[,FRAMES]
		if len(args) < 1 {
			return fmt.Errorf("%w: sync without a timestamp", ErrMalformed)
		}
		ts := string(args[0])
		c.mu.Lock()
		c.stats.Syncs++
		if c.stats.FirstSync == 0 {
			c.stats.FirstSync = at.Sub(c.start)
		}
		c.mu.Unlock()
		// The frame is seen when its sync arrives; a slow client then takes SyncDelay
		// to draw it before answering (bench/client does the same with ACK), so that
		// the latency probe types its next key while the client is still busy.
		if c.OnSync != nil {
			c.OnSync(SyncEvent{Timestamp: ts, At: at, Changed: c.changed})
		}
		c.changed = false
		if c.SyncDelay > 0 {
			time.Sleep(c.SyncDelay)
		}
		return c.send("sync", ts)
	case "size": // size,LAYER,WIDTH,HEIGHT
		if len(args) < 3 {
			return fmt.Errorf("%w: size with %d arguments", ErrMalformed, len(args))
		}
		if string(args[0]) != "0" {
			return nil // a buffer or another layer
		}
		w, errW := strconv.Atoi(string(args[1]))
		h, errH := strconv.Atoi(string(args[2]))
		if errW != nil || errH != nil || w < 0 || h < 0 || w*h > maxPixels {
			return fmt.Errorf("%w: size %q", ErrMalformed, strs(args))
		}
		c.mu.Lock()
		c.stats.Width, c.stats.Height = w, h
		c.mu.Unlock()
	case "img": // img,STREAM,MASK,LAYER,MIMETYPE,X,Y
		if len(args) < 6 {
			return fmt.Errorf("%w: img with %d arguments", ErrMalformed, len(args))
		}
		if len(c.streams) >= maxStreams {
			return fmt.Errorf("%w: more than %d open streams", ErrMalformed, maxStreams)
		}
		c.streams[string(args[0])] = &imgStream{mimetype: string(args[3])}
	case "audio": // audio,STREAM,MIMETYPE
		if len(args) < 2 {
			return fmt.Errorf("%w: audio with %d arguments", ErrMalformed, len(args))
		}
		return c.openAudio(string(args[0]), string(args[1]))
	case "blob": // blob,STREAM,BASE64
		if len(args) < 2 {
			return fmt.Errorf("%w: blob with %d arguments", ErrMalformed, len(args))
		}
		if a := c.audio[string(args[0])]; a != nil {
			return c.audioBlob(a, args[1], size, at)
		}
		s := c.streams[string(args[0])]
		if s == nil {
			return nil // a stream we do not draw (audio, clipboard...)
		}
		n := base64.StdEncoding.DecodedLen(len(args[1]))
		if len(s.data)+n > maxStreamBytes {
			return fmt.Errorf("%w: image stream over %d bytes", ErrMalformed, maxStreamBytes)
		}
		if cap(c.b64) < n {
			c.b64 = make([]byte, n)
		}
		k, err := base64.StdEncoding.Decode(c.b64[:n], args[1])
		if err != nil {
			return fmt.Errorf("%w: blob: %v", ErrMalformed, err)
		}
		s.data = append(s.data, c.b64[:k]...)
	case "end": // end,STREAM
		if len(args) < 1 {
			return fmt.Errorf("%w: end without a stream", ErrMalformed)
		}
		delete(c.audio, string(args[0]))
		s := c.streams[string(args[0])]
		if s == nil {
			return nil
		}
		delete(c.streams, string(args[0]))
		return c.image(s)
	case "error":
		return fmt.Errorf("%w: error %q", ErrServer, strs(args))
	case "disconnect":
		return fmt.Errorf("%w: disconnect", ErrServer)
	}
	return nil
}

// openAudio starts an audio stream as guacamole-common-js does: a raw PCM type it
// plays is acknowledged with OK, another with BAD TYPE (0x030F).
func (c *Conn) openAudio(stream, mimetype string) error {
	bits, rate, channels, ok := parseRawAudio(mimetype)
	if !ok {
		return c.send("ack", stream, "BAD TYPE", "783")
	}
	if len(c.audio) >= maxStreams {
		return fmt.Errorf("%w: more than %d open audio streams", ErrMalformed, maxStreams)
	}
	a := &audioStream{bits: bits}
	a.detect.Reset(rate, channels)
	c.audio[stream] = a
	c.mu.Lock()
	c.stats.AudioStreams++
	c.stats.AudioType = mimetype
	c.mu.Unlock()
	return c.send("ack", stream, "OK", "0")
}

// parseRawAudio reads "audio/L16;rate=44100,channels=2" (raw_encoder.c's form; the
// Guacamole manual's "audio" instruction).
func parseRawAudio(mimetype string) (bits, rate, channels int, ok bool) {
	base, params, _ := strings.Cut(mimetype, ";")
	switch strings.TrimSpace(base) {
	case "audio/L8":
		bits = 8
	case "audio/L16":
		bits = 16
	default:
		return 0, 0, 0, false
	}
	rate, channels = 44100, 1
	for _, p := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		n, err := strconv.Atoi(v)
		switch {
		case k == "rate" && err == nil && n >= 8000 && n <= 192000:
			rate = n
		case k == "channels" && err == nil && n >= 1 && n <= 8:
			channels = n
		case k == "rate" || k == "channels":
			return 0, 0, 0, false
		}
	}
	return bits, rate, channels, true
}

// audioBlob decodes one blob of an audio stream (size: the instruction's bytes) and
// notes the start of a tone burst in it.
func (c *Conn) audioBlob(a *audioStream, b64 []byte, size uint64, at time.Time) error {
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(c.b64) < n {
		c.b64 = make([]byte, n)
	}
	k, err := base64.StdEncoding.Decode(c.b64[:n], b64)
	if err != nil {
		return fmt.Errorf("%w: audio blob: %v", ErrMalformed, err)
	}
	pcm := c.b64[:k]
	var burst bool
	if a.bits == 8 {
		burst = a.detect.FeedS8(pcm)
	} else {
		burst = a.detect.Feed(pcm)
	}
	c.mu.Lock()
	c.stats.AudioBlobs++
	c.stats.AudioBytes += size
	c.stats.AudioPCM += uint64(k)
	if burst && len(c.onsets) < maxOnsets {
		c.onsets = append(c.onsets, at)
	}
	c.mu.Unlock()
	return nil
}

// AudioOnsets returns when the blob holding each tone burst's start arrived, in order.
// Safe to call during Run.
func (c *Conn) AudioOnsets() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.onsets)
}

func strs(el [][]byte) []string {
	out := make([]string, len(el))
	for i, e := range el {
		out[i] = string(e)
	}
	return out
}

// image counts one complete image and decodes PNG and JPEG (WebP is counted only: the
// standard library has no WebP decoder).
func (c *Conn) image(s *imgStream) error {
	c.mu.Lock()
	c.stats.Images[s.mimetype]++
	c.stats.ImageBytes[s.mimetype] += uint64(len(s.data))
	c.mu.Unlock()
	if s.mimetype != "image/png" && s.mimetype != "image/jpeg" {
		return nil
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("%w: %s image: %v", ErrMalformed, s.mimetype, err)
	}
	if cfg.Width*cfg.Height > maxPixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return fmt.Errorf("%w: %s image of %dx%d", ErrMalformed, s.mimetype, cfg.Width, cfg.Height)
	}
	if _, _, err := image.Decode(bytes.NewReader(s.data)); err != nil {
		return fmt.Errorf("%w: %s image: %v", ErrMalformed, s.mimetype, err)
	}
	c.mu.Lock()
	c.stats.Decoded++
	c.mu.Unlock()
	return nil
}
