// Package pulse records sound from a PulseAudio server over its native
// protocol on TCP (module-native-protocol-tcp, port 4713 by default), the way
// Guacamole gives VNC connections audio: it connects to the server named by
// the endpoint's audio-servername (the VNC host by default), records the
// monitor source of the server's default sink (or a named source) as S16LE PCM,
// and hands the samples to a callback together with their media time.
//
// It holds a minimal client of the protocol written for this purpose: the
// 20-byte frame descriptor, the tagstruct encoding, and five commands (AUTH,
// SET_CLIENT_NAME, GET_SERVER_INFO, GET_SINK_INFO, CREATE_RECORD_STREAM);
// audio then arrives as memblock frames on the stream's channel. It does not
// negotiate shared memory (which needs a Unix socket) and never plays sound.
//
// Sound is handed over a Fragment at a time, and the process wakes once per
// Fragment: on Linux the socket's receive low-water mark holds the kernel's
// wake-ups back until a Fragment's worth has arrived, however small the pieces
// the source posts (wake.go).
//
// Everything read off the wire is checked before use: frame lengths are
// bounded before anything is allocated, tagstructs are parsed with explicit
// bounds, and a server that breaks the protocol ends Dial or Run with an error
// wrapping ErrProtocol, never a panic. The package keeps no goroutine of its
// own: Dial and Run read on the caller's goroutine, and context cancellation
// (context.AfterFunc setting a past deadline) and Close interrupt them.
//
// The package imports no other racgate package, so it can serve another program.
package pulse
