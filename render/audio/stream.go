// Package audio carries sound from a remote machine to the browsers watching it: a
// Stream is what a protocol adapter writes packets into, once, and each Listener is one
// browser's share of it, in a codec that browser decodes.
//
// A packet goes to a listener undecoded when the listener decodes the stream's codec
// (Opus, MP3 via WebCodecs). PCM is sent as IMA ADPCM (a quarter of its size) to
// listeners that decode it, else as PCM; MP3 is decoded here (go-mp3) for listeners that
// cannot decode it, then sent the same way. Each output coding is made once per packet,
// however many listeners take it. Opus cannot be decoded here: a listener without Opus
// gets no sound from an Opus stream.
//
// Sound is real time: a listener whose browser falls behind loses its oldest packets
// (MaxQueued) rather than queueing without bound or slowing the remote or other
// listeners.
//
// It imports render/wire for the message layouts and github.com/hajimehoshi/go-mp3, and
// no other racgate package.
package audio

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/racgate/racgate/render/wire"
)

// Format is a stream's format as its source gives it.
type Format struct {
	Codec      wire.Codec // CodecPCM (S16LE), CodecOpus or CodecMP3; CodecNone: stopped
	SampleRate int        // the rate the decoded samples play at
	Channels   int
}

// MaxQueued bounds the bytes of messages one listener holds unsent; beyond it the
// oldest packets are dropped.
const MaxQueued = 256 << 10

// Stream is one remote connection's sound. Its methods are safe for concurrent use;
// SetFormat and Write never block on a listener.
type Stream struct {
	log *slog.Logger

	mu        sync.Mutex
	format    Format
	listeners map[*Listener]struct{}
	adpcm     []wire.ADPCMState // PCM → ADPCM, carried from packet to packet
	mp3       *mp3Decoder       // MP3 → PCM, made when a listener needs it
	mp3Frames mp3Framer         // cuts MP3 bytes into whole frames
	closed    bool
	stats     Stats
	// out holds each output coding of the packet being written: listeners copy it into
	// their queues, so one buffer a codec serves every packet without garbage.
	out [5][]byte
	// next is where the last packet ended on the audio clock, in µs; -1 when unknown.
	next int64
}

// snapWithin is how far a packet's timestamp may be from where the previous packet
// ended and still count as its continuation. RDP servers stamp waves with the time they
// send them (xrdp: its wall clock), not with where their samples lie: the stamps jitter
// with the sender's scheduling, xrdp sends its first two waves together (stamped 1 ms
// apart), and a stalled sender stamps a late wave late and the next ones early. Taken as
// they are, such stamps would tell a player to insert silence and overlap sound. A real
// pause in a sound source resumes with a jump well past this; shorter ones are taken as
// jitter, which the player's buffer absorbs.
const snapWithin = 150 * time.Millisecond

// Stats counts a stream's traffic.
type Stats struct {
	Packets uint64 // packets written
	Bytes   uint64 // their bytes, as written
	Dropped uint64 // packets dropped for listeners that were behind
}

// NewStream returns a stream with no format yet (CodecNone).
func NewStream(log *slog.Logger) *Stream {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stream{log: log, listeners: map[*Listener]struct{}{}, next: -1}
}

// SetFormat announces the format of the packets that follow. CodecNone says the sound
// stopped.
func (s *Stream) SetFormat(f Format) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Codec == wire.CodecNone {
		f = Format{}
	}
	if f == s.format {
		return
	}
	s.format = f
	s.next = -1
	s.adpcm = make([]wire.ADPCMState, f.Channels)
	s.mp3, s.mp3Frames = nil, mp3Framer{}
	for l := range s.listeners {
		l.announceLocked()
	}
}

// Write sends one packet in the current format, played at ts ms on the connection's
// audio clock. data is not kept.
func (s *Stream) Write(ts uint32, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.format.Codec == wire.CodecNone || s.closed {
		return
	}
	s.stats.Packets++
	s.stats.Bytes += uint64(len(data))
	if s.format.Codec == wire.CodecMP3 {
		s.writeMP3Locked(ts, data)
		return
	}
	var d time.Duration
	switch {
	case s.format.SampleRate <= 0 || s.format.Channels <= 0: // unknown: left unsnapped
	case s.format.Codec == wire.CodecPCM:
		d = time.Duration(len(data)/(2*s.format.Channels)) * time.Second / time.Duration(s.format.SampleRate)
	case s.format.Codec == wire.CodecOpus:
		// Opus decodes at 48 kHz, and those samples play at the announced rate.
		d = opusDuration(data) * 48000 / time.Duration(s.format.SampleRate)
	}
	ts = s.stampLocked(ts, d)
	var made [5]bool // output codings of this packet, made on first need
	for l := range s.listeners {
		c := l.out
		if c == wire.CodecNone || !l.enabled {
			continue
		}
		if !made[c] {
			s.out[c], made[c] = s.encodeLocked(s.out[c][:0], c, ts, data), true
		}
		l.pushLocked(s.out[c])
	}
	if !made[wire.CodecADPCM] && s.format.Codec == wire.CodecPCM {
		// Keep the ADPCM state in step with the sound even while nobody takes it, so a
		// listener that joins gets no jump.
		s.out[wire.CodecADPCM] = s.encodeLocked(s.out[wire.CodecADPCM][:0], wire.CodecADPCM, ts, data)
	}
}

// stampLocked places a packet of duration d stamped ts ms: right after the previous
// packet if ts is within snapWithin of its end, else at ts (a real gap, or the source's
// clock jumping). A d of 0 (unknown) leaves the next packet unsnapped.
func (s *Stream) stampLocked(ts uint32, d time.Duration) uint32 {
	at := int64(ts) * 1000
	if s.next >= 0 && at-s.next < snapWithin.Microseconds() && s.next-at < snapWithin.Microseconds() {
		at = s.next
	}
	if d > 0 {
		s.next = at + d.Microseconds()
	} else {
		s.next = -1
	}
	return uint32((at + 500) / 1000)
}

// encodeLocked appends to b the AUDIO message of data in codec c.
func (s *Stream) encodeLocked(b []byte, c wire.Codec, ts uint32, data []byte) []byte {
	switch {
	case c == s.format.Codec:
		return wire.Audio{Timestamp: ts, Data: data}.Append(b)
	case c == wire.CodecADPCM && s.format.Codec == wire.CodecPCM:
		frame := 2 * s.format.Channels
		pcm := data[:len(data)/frame*frame]
		b = wire.AppendAudioHeader(b, ts, 0)
		b = wire.AppendADPCM(b, pcm, s.format.Channels, s.adpcm)
		return fixAudioLength(b)
	}
	return b
}

// fixAudioLength sets the length of the one AUDIO message b holds to what follows its
// header.
func fixAudioLength(b []byte) []byte {
	n := uint32(len(b) - 5)
	b[1], b[2], b[3], b[4] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return b
}

// Close ends the stream: listeners' Run return.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for l := range s.listeners {
		l.closeLocked()
	}
}

// Stats returns the stream's counts so far.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Listen adds a listener that decodes codecs (from the connect request, in preference
// order); it starts enabled. With no codecs it gets nothing, but may be enabled later
// without harm.
func (s *Stream) Listen(codecs []wire.Codec) *Listener {
	l := &Listener{s: s, codecs: append([]wire.Codec(nil), codecs...), enabled: true, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		close(l.done)
		return l
	}
	s.listeners[l] = struct{}{}
	l.announceLocked()
	return l
}

// outCodec is what a listener decoding codecs gets of a stream in codec src.
func outCodec(src wire.Codec, codecs []wire.Codec) wire.Codec {
	has := func(c wire.Codec) bool {
		for _, x := range codecs {
			if x == c {
				return true
			}
		}
		return false
	}
	switch {
	case src == wire.CodecNone:
		return wire.CodecNone
	case (src == wire.CodecOpus || src == wire.CodecMP3) && has(src):
		return src
	case src == wire.CodecOpus:
		return wire.CodecNone // no Opus decoder here
	case has(wire.CodecADPCM): // PCM, or MP3 decoded here
		return wire.CodecADPCM
	case has(wire.CodecPCM):
		return wire.CodecPCM
	}
	return wire.CodecNone
}

// queued is one message in a listener's pending bytes.
type queued struct {
	off, n int
	audio  bool // AUDIO (droppable), not AUDIO_FORMAT
}

// Listener is one browser's share of a Stream.
type Listener struct {
	s      *Stream
	codecs []wire.Codec

	// Guarded by s.mu.
	enabled bool
	out     wire.Codec // what it is sent now; CodecNone: nothing
	pending []byte     // queued messages, back to back
	msgs    []queued   // where each starts in pending
	spare   []byte     // the buffer Run sent last, to queue into next
	gone    bool
	dropped uint64 // AUDIO packets dropped because the browser was behind

	wake chan struct{}
	done chan struct{} // closed when the stream or the listener closes
}

// announceLocked works out the listener's output for the stream's format and queues
// AUDIO_FORMAT if it changed.
func (l *Listener) announceLocked() {
	out := wire.CodecNone
	if l.enabled {
		out = outCodec(l.s.format.Codec, l.codecs)
	}
	if out == l.out {
		return
	}
	l.out = out
	f := wire.AudioFormat{Codec: out}
	if out != wire.CodecNone {
		f.Channels, f.SampleRate = l.s.format.Channels, l.s.format.SampleRate
		if l.s.format.Codec == wire.CodecMP3 && out != wire.CodecMP3 {
			f.Channels, f.SampleRate = 2, l.s.mp3Rate() // go-mp3 gives stereo
		}
	}
	l.pushLocked(f.Append(nil))
}

// pushLocked queues msg, dropping the oldest AUDIO packets if the listener is too far
// behind. AUDIO_FORMAT messages are never dropped.
func (l *Listener) pushLocked(msg []byte) {
	if l.gone {
		return
	}
	for len(l.pending)+len(msg) > MaxQueued {
		i := 0
		for i < len(l.msgs) && !l.msgs[i].audio {
			i++
		}
		if i == len(l.msgs) {
			break
		}
		m := l.msgs[i]
		l.pending = append(l.pending[:m.off], l.pending[m.off+m.n:]...)
		for k := i + 1; k < len(l.msgs); k++ {
			l.msgs[k].off -= m.n
		}
		l.msgs = append(l.msgs[:i], l.msgs[i+1:]...)
		l.s.stats.Dropped++
		l.dropped++
	}
	l.msgs = append(l.msgs, queued{off: len(l.pending), n: len(msg), audio: wire.Type(msg[0]) == wire.TypeAudio})
	l.pending = append(l.pending, msg...)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Listener) closeLocked() {
	if !l.gone {
		l.gone = true
		l.pending, l.msgs, l.spare = nil, nil, nil
		delete(l.s.listeners, l)
		close(l.done)
	}
}

// SetEnabled turns sound to this listener off (the browser muted it) or on again; on
// again, the format is announced anew before the next packet.
func (l *Listener) SetEnabled(on bool) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.enabled == on || l.gone {
		return
	}
	l.enabled = on
	if !on {
		// What is queued is of no use now; the stop goes out at once.
		l.pending, l.msgs = l.pending[:0], l.msgs[:0]
	}
	l.announceLocked()
}

// Dropped is how many AUDIO packets this listener lost for being behind (MaxQueued).
func (l *Listener) Dropped() uint64 {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.dropped
}

// Codec is what the listener is sent now.
func (l *Listener) Codec() wire.Codec {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.out
}

// Run sends the listener's messages with send, several to a websocket message, until
// ctx ends, the listener or its stream closes (nil), or send fails. Two buffers take
// turns: the stream queues into one while Run sends the other, so sound makes no
// garbage.
func (l *Listener) Run(ctx context.Context, send func(msg []byte) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.done:
			return nil
		case <-l.wake:
		}
		l.s.mu.Lock()
		if len(l.pending) == 0 {
			// A wake-up for messages an earlier turn took: keep the buffer.
			l.s.mu.Unlock()
			continue
		}
		buf := l.pending
		l.pending, l.spare = l.spare[:0], nil
		l.msgs = l.msgs[:0]
		l.s.mu.Unlock()
		if err := send(buf); err != nil {
			return err
		}
		if cap(buf) > 64<<10 {
			buf = nil // a burst grew it; don't keep it
		}
		l.s.mu.Lock()
		if len(l.pending) == 0 && cap(buf) > cap(l.pending) {
			l.pending, buf = buf[:0], l.pending // nothing queued meanwhile: queue into the larger
		}
		l.spare = buf
		l.s.mu.Unlock()
	}
}

// Close removes the listener from its stream; Run returns.
func (l *Listener) Close() {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.closeLocked()
}
