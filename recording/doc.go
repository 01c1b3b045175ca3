// Package recording writes and reads session recordings (docs/recording.md).
//
// A desktop (VNC, RDP) is recorded as the racgate.v1 stream a viewer of its display
// receives, each websocket message a record with its time, and a key frame (RESIZE and
// the whole screen, standalone) every few seconds, where a player may start: seeking is
// a jump to the last key frame before the time and a fast replay from there. A terminal
// (SSH) is recorded as asciicast v2, asciinema's format, which existing players read.
//
// Files are written as the session runs, appended record by record and synced at key
// frames, so a crash leaves a playable file up to the last key frame or later; a reader
// ignores a torn last record. Files are created 0600 in folders made 0700.
//
// It imports no racgate package but render/wire.
package recording
