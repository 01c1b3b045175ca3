// Package predict is the PREDICT image encoding of desktop recordings
// (docs/recording.md § PREDICT): every pixel of a rectangle is predicted from the
// screen as the player has it (the pixel's old colour, its new neighbours to the left and
// above) and coded with a binary arithmetic coder whose probabilities adapt over a
// recording's segment.
//
// A recording's images are written once and played rarely, and a screen changes in
// small ways: a clock's hand, a few digits. Deflate sees an image's bytes alone, and
// only the last 32 KB of them; this coder sees the picture under the image and learns
// the glyphs and edges of the whole segment, which makes idle and text-heavy
// recordings about half the size at the cost of a few tens of nanoseconds a pixel.
//
// Encoder and Decoder share one model walk (walk.go), so they cannot disagree; the web
// player's TypeScript decoder (webclient/src/predict.ts) follows the same spec and is
// checked against vectors this package writes (testdata).
package predict
