// Package term holds a terminal's output on its way to the browser, the terminal's
// counterpart of render's frames: a Stream reads what the remote (an SSH session) writes,
// holds at most MaxHeld bytes of it, and sends it as TERMINAL and TERMINAL_DEFLATE
// messages, each followed by a FRAME, paced by the browser's ACKs (at most MaxInFlight
// unacknowledged) and by a frame interval, compressed in a deflate stream of its own, and
// without the plain text that scrolls past unseen (docs/protocol.md § TERMINAL).
//
//   - pump.go: Stream, the reader (Fill), the pump (Run), the drop rate limit and the
//     deflate stream.
//   - buffer.go: the output buffer: what is not sent yet, exact elision, snapshots during
//     a flood and the scrollback replay after it, with the argument why the browser's
//     terminal ends up as if every byte had been sent.
//   - scan.go: a VT parser that follows the output as xterm.js parses it, far enough to
//     tell plain text from the rest and whether the modes that move text are at their
//     defaults.
//
// A Stream knows nothing of sessions, websockets or HTTP: the gateway hands it the
// remote's output as an io.Reader, a send function for the websocket, the browser's ACKs
// and resizes. It may import render/wire (the messages), klauspost/compress and the
// standard library, never gateway, config, authz or a protocol.
package term
