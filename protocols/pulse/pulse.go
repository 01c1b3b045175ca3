package pulse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPort is the port of PulseAudio's module-native-protocol-tcp.
const DefaultPort = "4713"

// CookieSize is the length of a PulseAudio authentication cookie.
const CookieSize = 256

// ErrProtocol is wrapped by every error that comes from a server breaking the
// protocol: malformed or oversized frames, truncated tagstructs, replies that
// answer nothing asked, audio in a format other than the one agreed.
var ErrProtocol = errors.New("pulse: protocol error")

// ErrAuth is matched (errors.Is) by the error of a server that refuses the
// client's authentication (PA_ERR_ACCESS or PA_ERR_AUTHKEY): the server wants
// a cookie other than Config.Cookie, or none of this client's address.
var ErrAuth = errors.New("pulse: authentication refused")

// ErrKilled is wrapped by Run's error when the server ends the record stream
// (RECORD_STREAM_KILLED: the source went away or an administrator killed it).
var ErrKilled = errors.New("pulse: record stream killed by the server")

// Config says where to record from and in what format.
type Config struct {
	Addr       string        // host:port of the server's native-protocol TCP listener (4713 by default; a bare host gets it)
	Source     string        // source to record; "" = the monitor of the server's default sink
	SampleRate int           // 44100 if 0
	Channels   int           // 2 if 0; 1 or 2
	ClientName string        // "racgate" if empty
	Fragment   time.Duration // sound per memblock asked, and delivered per call of Run's handle; 20 ms if 0
	// Cookie is the 256-byte authentication cookie to present; nil sends
	// zeros, which a server with auth-anonymous=1 (as Guacamole's setups
	// have) accepts.
	Cookie []byte
}

// Protocol facts (src/pulsecore/native-common.h, src/pulse/def.h).
const (
	// version is the protocol version this client speaks; minVersion the
	// oldest server it accepts (PulseAudio 1.0): from 22 up, every command
	// used here has the layout encoded below.
	version    = 32
	minVersion = 22
	// versionMask strips the SHM/memfd flags from the version word.
	versionMask = 0x0000FFFF

	cmdError              = 0
	cmdReply              = 2
	cmdCreateRecordStream = 5
	cmdAuth               = 8
	cmdSetClientName      = 9
	cmdGetServerInfo      = 20
	cmdGetSinkInfo        = 21
	cmdRecordStreamKilled = 65

	sampleS16LE = 3 // PA_SAMPLE_S16LE
	invalid     = 0xFFFFFFFF
	volumeNorm  = 0x10000 // PA_VOLUME_NORM
	rateMax     = 48000 * 16

	errAccess  = 1
	errAuthKey = 9
)

// notifications are the commands a server sends unasked (tag 0xFFFFFFFF)
// that a record-only client may see and ignore; RECORD_STREAM_KILLED is
// handled. Anything else is a protocol error: enabling a shared-memory ring
// buffer or memfd pool, for instance, needs a Unix socket.
var notifications = map[uint32]bool{
	61:                    true, // REQUEST
	62:                    true, // OVERFLOW
	63:                    true, // UNDERFLOW
	64:                    true, // PLAYBACK_STREAM_KILLED
	cmdRecordStreamKilled: true,
	66:                    true, // SUBSCRIBE_EVENT
	76:                    true, // PLAYBACK_STREAM_SUSPENDED
	77:                    true, // RECORD_STREAM_SUSPENDED
	78:                    true, // PLAYBACK_STREAM_MOVED
	79:                    true, // RECORD_STREAM_MOVED
	86:                    true, // STARTED
	87:                    true, // EXTENSION
	91:                    true, // CLIENT_EVENT
	92:                    true, // PLAYBACK_STREAM_EVENT
	93:                    true, // RECORD_STREAM_EVENT
	94:                    true, // PLAYBACK_BUFFER_ATTR_CHANGED
	95:                    true, // RECORD_BUFFER_ATTR_CHANGED
}

var errorNames = [...]string{
	"ok", "access denied", "unknown command", "invalid argument", "entity exists",
	"no such entity", "connection refused", "protocol error", "timeout",
	"no authentication key", "internal error", "connection terminated",
	"entity killed", "invalid server", "module initialization failed",
	"bad state", "no data", "incompatible protocol version", "too large",
	"not supported", "unknown error", "no such extension", "obsolete functionality",
	"missing implementation", "client forked", "input/output error", "device or resource busy",
}

// ServerError is a command the server answered with an error code
// (PA_ERR_*), e.g. CREATE_RECORD_STREAM for a source that does not exist
// (code 5, no such entity). It matches ErrAuth for codes 1 and 9.
type ServerError struct {
	Command string
	Code    uint32
}

func (e *ServerError) Error() string {
	name := "error"
	if int(e.Code) < len(errorNames) {
		name = errorNames[e.Code]
	}
	return fmt.Sprintf("pulse: server refused %s: %s (%d)", e.Command, name, e.Code)
}

// Is makes errors.Is(err, ErrAuth) true for an access refusal.
func (e *ServerError) Is(target error) bool {
	return target == ErrAuth && (e.Code == errAccess || e.Code == errAuthKey)
}

// Recorder is one record stream on its own connection.
type Recorder struct {
	nc  net.Conn
	in  tailReader
	br  *bufio.Reader // reads in
	ver uint32        // negotiated protocol version

	rate, channels int
	frameSize      int    // bytes per sample frame
	stream         uint32 // the record stream's index: its memblocks' channel
	streaming      bool   // stream is valid
	source         string // the source recorded

	tag     uint32
	hdr     [descriptorSize]byte
	pkt     []byte // the last command packet, reused
	wbuf    []byte // the request being written, reused
	buf     []byte // audio read and not yet delivered, reused
	fill    int    // bytes of buf in use: whole sample frames, then maybe part of one
	frames  int64  // sample frames delivered so far
	running atomic.Bool

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
	stopping  atomic.Bool // Run's context ended
}

// audioBuf is the size of the buffer audio is delivered from: more sound
// than this (a server sends at most fragsize bytes at a time) is delivered in
// pieces.
const audioBuf = 64 << 10

// Dial connects, authenticates and creates the record stream. ctx bounds the
// whole handshake; the connection it makes is the Recorder's.
func Dial(ctx context.Context, cfg Config) (*Recorder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	r, err := dialConn(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return r, nil
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Addr == "" {
		return cfg, errors.New("pulse: no server address")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		cfg.Addr = net.JoinHostPort(strings.Trim(cfg.Addr, "[]"), DefaultPort)
	}
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 44100
	}
	if cfg.Channels == 0 {
		cfg.Channels = 2
	}
	if cfg.ClientName == "" {
		cfg.ClientName = "racgate"
	}
	if cfg.Fragment == 0 {
		cfg.Fragment = 20 * time.Millisecond
	}
	switch {
	case cfg.SampleRate < 1 || cfg.SampleRate > rateMax:
		return cfg, fmt.Errorf("pulse: sample rate %d out of range", cfg.SampleRate)
	case cfg.Channels != 1 && cfg.Channels != 2:
		return cfg, fmt.Errorf("pulse: %d channels (1 or 2 are supported)", cfg.Channels)
	case cfg.Fragment < 0 || cfg.Fragment > 10*time.Second:
		return cfg, fmt.Errorf("pulse: fragment %v out of range", cfg.Fragment)
	case cfg.Cookie != nil && len(cfg.Cookie) != CookieSize:
		return cfg, fmt.Errorf("pulse: cookie of %d bytes, want %d", len(cfg.Cookie), CookieSize)
	case strings.IndexByte(cfg.ClientName, 0) >= 0 || strings.IndexByte(cfg.Source, 0) >= 0:
		return cfg, errors.New("pulse: NUL in a name")
	}
	return cfg, nil
}

// dialConn runs the handshake on nc (closed by the caller on error).
func dialConn(ctx context.Context, nc net.Conn, cfg Config) (_ *Recorder, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			// The context ended during the handshake: whatever the
			// handshake's own error, that is the cause.
			err = ctx.Err()
		}
	}()
	r := &Recorder{
		nc:        nc,
		rate:      cfg.SampleRate,
		channels:  cfg.Channels,
		frameSize: 2 * cfg.Channels,
	}
	r.in = tailReader{nc: nc, stop: func() bool { return r.stopping.Load() || r.closed.Load() }}
	r.br = bufio.NewReaderSize(&r.in, 16<<10)
	if err := r.handshake(cfg); err != nil {
		return nil, err
	}
	r.buf = make([]byte, audioBuf)
	r.in.watchFragment(r.fragsize(cfg.Fragment), cfg.Fragment)
	return r, nil
}

func (r *Recorder) handshake(cfg Config) error {
	cookie := cfg.Cookie
	if cookie == nil {
		cookie = make([]byte, CookieSize)
	}
	d, err := r.request(cmdAuth, "AUTH", func(e *encoder) {
		e.u32(version)
		e.arbitrary(cookie)
	})
	if err != nil {
		return err
	}
	sv := d.u32() & versionMask
	if err := d.err; err != nil {
		return fmt.Errorf("AUTH reply: %w", err)
	}
	if sv < minVersion {
		return fmt.Errorf("%w: server speaks protocol version %d, %d or later is needed", ErrProtocol, sv, minVersion)
	}
	r.ver = min(sv, version)

	d, err = r.request(cmdSetClientName, "SET_CLIENT_NAME", func(e *encoder) {
		e.propList("application.name", cfg.ClientName)
	})
	if err != nil {
		return err
	}
	if d.u32(); d.err != nil { // the client's index
		return fmt.Errorf("SET_CLIENT_NAME reply: %w", d.err)
	}

	source := cfg.Source
	if source == "" {
		if source, err = r.defaultMonitor(); err != nil {
			return err
		}
	}
	return r.createRecordStream(source, cfg.Fragment)
}

// defaultMonitor asks for the default sink's name, then for that sink's
// monitor source, as Guacamole does (the monitor is usually "<sink>.monitor",
// but the server says).
func (r *Recorder) defaultMonitor() (string, error) {
	d, err := r.request(cmdGetServerInfo, "GET_SERVER_INFO", func(*encoder) {})
	if err != nil {
		return "", err
	}
	d.string() // package name
	d.string() // version
	d.string() // user
	d.string() // host
	d.sampleSpec()
	sink, ok := d.string()
	d.string() // default source
	d.u32()    // cookie
	if r.ver >= 15 {
		d.channelMap()
	}
	if d.err != nil {
		return "", fmt.Errorf("GET_SERVER_INFO reply: %w", d.err)
	}
	if !ok || sink == "" {
		return "", errors.New("pulse: the server has no default sink")
	}

	d, err = r.request(cmdGetSinkInfo, "GET_SINK_INFO", func(e *encoder) {
		e.u32(invalid)
		e.string(sink)
	})
	if err != nil {
		return "", err
	}
	d.u32() // index
	if name, _ := d.string(); d.err == nil && name != sink {
		return "", fmt.Errorf("%w: asked for sink %q, got %q", ErrProtocol, sink, name)
	}
	d.string() // description
	d.sampleSpec()
	d.channelMap()
	d.u32() // owner module
	d.cvolume()
	d.bool() // mute
	d.u32()  // monitor source index
	monitor, ok := d.string()
	if d.err != nil {
		return "", fmt.Errorf("GET_SINK_INFO reply: %w", d.err)
	}
	if !ok || monitor == "" {
		return "", fmt.Errorf("pulse: the default sink %q has no monitor source", sink)
	}
	return monitor, nil
}

// fragsize is the bytes of sound in fragment.
func (r *Recorder) fragsize(fragment time.Duration) int {
	frames := int64(r.rate) * int64(fragment) / int64(time.Second)
	return int(max(frames, 1)) * r.frameSize
}

func (r *Recorder) createRecordStream(source string, fragment time.Duration) error {
	fragsize := uint32(r.fragsize(fragment))
	positions := []uint8{0} // mono
	if r.channels == 2 {
		positions = []uint8{1, 2} // front-left, front-right
	}
	d, err := r.request(cmdCreateRecordStream, "CREATE_RECORD_STREAM", func(e *encoder) {
		e.sampleSpec(sampleSpec{format: sampleS16LE, channels: uint8(r.channels), rate: uint32(r.rate)})
		e.channelMap(positions)
		e.u32(invalid) // source index: by name
		e.string(source)
		e.u32(invalid) // maxlength: the server's default
		e.bool(false)  // corked
		e.u32(fragsize)
		// v12: no_remap, no_remix, fix_format, fix_rate, fix_channels,
		// no_move, variable_rate: the server converts to what we ask.
		for range 7 {
			e.bool(false)
		}
		// v13
		e.bool(false) // peak_detect
		e.bool(true)  // adjust_latency: fragsize is the latency, as Guacamole asks
		e.propList("media.name", "racgate audio")
		e.u32(invalid) // direct_on_input
		// v14
		e.bool(false) // early_requests
		// v15
		e.bool(true)  // dont_inhibit_auto_suspend, as Guacamole
		e.bool(false) // fail_on_suspend
		// v22
		e.u8(0) // no formats: the sample spec above
		e.cvolume(r.channels, volumeNorm)
		e.bool(false) // muted
		e.bool(false) // volume_set
		e.bool(false) // muted_set
		e.bool(false) // relative_volume
		e.bool(false) // passthrough
	})
	if err != nil {
		return err
	}
	stream := d.u32()
	d.u32() // source output index
	d.u32() // maxlength
	if fs := d.u32(); d.err == nil && (fs == 0 || fs > maxMemblock) {
		return fmt.Errorf("%w: fragment size %d", ErrProtocol, fs)
	}
	ss := d.sampleSpec()
	nmap := d.channelMap()
	d.u32() // source index
	name, _ := d.string()
	d.bool() // suspended
	d.usec() // configured latency
	d.formatInfo()
	if d.err != nil {
		return fmt.Errorf("CREATE_RECORD_STREAM reply: %w", d.err)
	}
	if ss.format != sampleS16LE || int(ss.channels) != r.channels || int(ss.rate) != r.rate || nmap != r.channels {
		return fmt.Errorf("%w: stream format %d/%d ch/%d Hz (map of %d), asked for S16LE/%d ch/%d Hz",
			ErrProtocol, ss.format, ss.channels, ss.rate, nmap, r.channels, r.rate)
	}
	if stream == channelPacket {
		return fmt.Errorf("%w: record stream on the command channel", ErrProtocol)
	}
	r.stream, r.streaming, r.source = stream, true, name
	return nil
}

// request sends command cmd with the arguments body writes, and waits for its
// reply, which it returns as a decoder positioned after the tag.
func (r *Recorder) request(cmd uint32, name string, body func(*encoder)) (*decoder, error) {
	tag := r.tag
	r.tag++
	var e encoder
	e.u32(cmd)
	e.u32(tag)
	body(&e)
	r.wbuf = appendPacket(r.wbuf[:0], e.b)
	if _, err := r.nc.Write(r.wbuf); err != nil {
		return nil, err
	}
	for {
		f, err := r.next()
		if err != nil {
			return nil, err
		}
		if !f.packet {
			return nil, fmt.Errorf("%w: audio on channel %d while waiting for the reply to %s", ErrProtocol, f.h.channel, name)
		}
		switch f.cmd {
		case cmdReply, cmdError:
			if f.tag != tag {
				return nil, fmt.Errorf("%w: reply with tag %d while waiting for %d (%s)", ErrProtocol, f.tag, tag, name)
			}
			if f.cmd == cmdReply {
				return &f.d, nil
			}
			code := f.d.u32()
			if f.d.err != nil {
				return nil, fmt.Errorf("%s error reply: %w", name, f.d.err)
			}
			return nil, &ServerError{Command: name, Code: code}
		}
		if err := r.notification(&f); err != nil {
			return nil, err
		}
	}
}

// notification handles a command the server sent unasked.
func (r *Recorder) notification(f *frame) error {
	if !notifications[f.cmd] {
		return fmt.Errorf("%w: unexpected command %d from the server", ErrProtocol, f.cmd)
	}
	if f.cmd == cmdRecordStreamKilled {
		idx := f.d.u32()
		if f.d.err != nil {
			return fmt.Errorf("RECORD_STREAM_KILLED: %w", f.d.err)
		}
		if r.streaming && idx == r.stream {
			return ErrKilled
		}
	}
	return nil
}

// frame is what next read: a command packet (cmd, tag and the rest in d) or
// the header of a memblock whose payload is still to be read.
type frame struct {
	h        frameHeader
	packet   bool
	cmd, tag uint32
	d        decoder
}

func (r *Recorder) next() (frame, error) {
	var f frame
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return f, err
	}
	h, err := parseDescriptor(&r.hdr)
	if err != nil {
		return f, err
	}
	f.h = h
	if h.channel != channelPacket {
		return f, nil
	}
	f.packet = true
	n := int(h.length) // bounded by maxPacket
	if cap(r.pkt) < n {
		r.pkt = make([]byte, n)
	}
	p := r.pkt[:n]
	if err := readPayload(r.br, p); err != nil {
		return f, err
	}
	f.d = decoder{b: p}
	f.cmd = f.d.u32()
	f.tag = f.d.u32()
	if f.d.err != nil {
		return f, fmt.Errorf("command packet: %w", f.d.err)
	}
	return f, nil
}

// Format is the PCM format Run delivers: the sample rate and the number of
// interleaved channels of signed 16-bit little-endian samples.
func (r *Recorder) Format() (rate, channels int) { return r.rate, r.channels }

// Source is the name of the source being recorded, as the server reported it.
func (r *Recorder) Source() string { return r.source }

// Run delivers interleaved S16LE PCM until ctx ends, the server goes away or
// breaks the protocol; at is the media time of pcm's first frame since the
// recording started (counted in samples, so it does not jitter with the
// network). pcm is valid only during the call and holds whole sample frames:
// what arrived in one Fragment, usually about a Fragment's worth; handle must
// not block.
//
// Run returns ctx.Err() when ctx ends, an error wrapping net.ErrClosed after
// Close, one wrapping ErrProtocol or ErrKilled when the server misbehaves or
// ends the stream, and the network error (io.EOF when the server closed the
// connection) otherwise. It may be called once.
func (r *Recorder) Run(ctx context.Context, handle func(pcm []byte, at time.Duration)) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("pulse: Run called twice")
	}
	if r.closed.Load() {
		return fmt.Errorf("pulse: %w", net.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		r.stopping.Store(true)
		r.nc.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	err := r.run(ctx, handle)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case r.closed.Load():
		return fmt.Errorf("pulse: %w", net.ErrClosed)
	}
	return err
}

func (r *Recorder) run(ctx context.Context, handle func([]byte, time.Duration)) error {
	for ctx.Err() == nil {
		if r.br.Buffered() < descriptorSize {
			// What has arrived goes out before a read that may wait.
			r.flush(handle)
		}
		f, err := r.next()
		if err != nil {
			return err
		}
		if f.packet {
			if f.cmd == cmdReply || f.cmd == cmdError {
				return fmt.Errorf("%w: reply (tag %d) to no request", ErrProtocol, f.tag)
			}
			if err := r.notification(&f); err != nil {
				return err
			}
			continue
		}
		if f.h.channel != r.stream {
			return fmt.Errorf("%w: audio on channel %d, the stream is %d", ErrProtocol, f.h.channel, r.stream)
		}
		if err := r.read(int(f.h.length), handle); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// read reads a memblock of n bytes into buf, delivering what buf holds whenever it
// fills; the payload goes through buf, so the memory used does not depend on n.
func (r *Recorder) read(n int, handle func([]byte, time.Duration)) error {
	for n > 0 {
		if r.fill == len(r.buf) {
			r.flush(handle)
		}
		k := min(n, len(r.buf)-r.fill)
		if err := readPayload(r.br, r.buf[r.fill:r.fill+k]); err != nil {
			return err
		}
		r.fill += k
		n -= k
	}
	return nil
}

// flush delivers the whole sample frames buf holds; a partial frame at its end waits
// for the next memblock.
func (r *Recorder) flush(handle func([]byte, time.Duration)) {
	whole := r.fill - r.fill%r.frameSize
	if whole > 0 {
		handle(r.buf[:whole], r.mediaTime())
		r.frames += int64(whole / r.frameSize)
	}
	r.fill = copy(r.buf, r.buf[whole:r.fill])
}

// mediaTime is the time of the next frame to be delivered since the first.
func (r *Recorder) mediaTime() time.Duration {
	rate := int64(r.rate)
	return time.Duration(r.frames/rate)*time.Second + time.Duration(r.frames%rate)*time.Second/time.Duration(rate)
}

// Close closes the connection, which ends the record stream on the server and
// makes a running Run return. It may be called more than once and
// concurrently with Run.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.closeErr = r.nc.Close()
	})
	return r.closeErr
}
