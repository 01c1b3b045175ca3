// Package render turns a remote desktop's drawing into paced frames for each browser
// watching it: a Display holds the framebuffer a protocol client draws into (its Sink),
// tracks what each Viewer still lacks, and encodes and sends that as binary wire
// messages (render/wire), at the pace of each viewer's acknowledgements.
//
// # Display, viewers and frames
//
// A Display is the Sink a protocol client draws into, from one goroutine, and the
// source any number of Viewers read from. It owns one Framebuffer behind a mutex. Every
// Sink call (and PixelWriter's WritePixels, a client decoding in place under the mutex)
// updates the framebuffer and records what each viewer still lacks:
//
//   - damage: per tile (Options.TileSize) a bounding box of changed pixels. Its memory
//     is fixed by the framebuffer size, however many updates arrive. Changes every
//     viewer lacks alike go once into the display's damage log (damagelog.go), a short
//     ring of segments sealed at each EndFrame; a viewer's damage is its own plus the
//     segments after the one it last took, and viewers in step get their rectangles
//     computed once. A Copy or a passthrough JPEG, which act on each viewer's whole
//     damage, first fold the log into each viewer's own, as does a viewer falling more
//     than the ring's length behind.
//   - ops: a short list, in Sink order, of COPY operations and of passthrough JPEGs
//     (DrawJPEG bytes forwarded undecoded). The list is bounded (MaxPendingOps,
//     MaxPendingBytes); past the bound, an operation becomes damage instead.
//
// The invariant: the client's canvas, after the pending ops, equals the framebuffer
// everywhere outside the damage. A frame therefore sends the ops, then the damaged
// pixels from the framebuffer as they are now. A Copy whose source meets pending damage
// moves that damage to the destination (the client would copy stale pixels); a JPEG
// clears the damage it covers entirely.
//
// A viewer's Run sends RESIZE, CURSOR and a full first frame, then sends a frame when
// the display has ended one (EndFrame) since its last and fewer than MaxInFlight frames
// are unacknowledged. It takes its pending state under the lock and copies the damaged
// pixels out (a short memcpy), then encodes without the lock, on the Pool if there is
// one, in chunks of about 1 MiB so that its buffers stay small. Where its browser's
// canvas is still blank (the first frame, a resize), a lone viewer copies those pixels
// in batches of 1 MiB rather than the whole screen, taking the next batch only if the
// framebuffer did not change meanwhile; if it did, the frame ends with what it has and
// the rest, still damage, follows: a frame may leave part of a blank canvas blank, but
// never mixes two moments. A stalled viewer holds
// one merged picture of what changed, never a queue, and never blocks the Sink caller or
// other viewers: they share nothing but the lock's short critical sections and the
// cache of encoded regions (below), whose waits last one region's encoding at most.
//
// Memory per viewer grows with the framebuffer only (damage and lossy-tile maps): among
// several viewers, the copy of a big frame's pixels and its encoded messages (over 256
// KiB) are borrowed from the Display's pools and returned once the frame is sent; a lone
// viewer keeps one scratch of at most a screen's worth, of which only the pages its
// frames write become resident. The encoder's scratch is borrowed per chunk, and a viewer
// makes its deflate stream's compressor (about 1 MB) only when it first encodes alone.
//
// Demand (Display.WhenWanted): a protocol client that asks for updates asks only once
// some viewer has room for a frame, or when there are no viewers. While every browser
// waits for its ACKs the remote merges changes itself, so a slow browser costs decoding
// at its own pace.
//
// Frame rate limit (Options.MinFrameInterval, DefaultOptions: DefaultMinFrameInterval):
// a viewer also waits until that long has passed since its previous frame, on the
// leading edge. After a quiet period the first change (a keystroke's echo) goes out at
// once; changes that come sooner merge into the pending damage, exactly as while waiting
// for an ACK, and go out as one frame when a timer ends the interval. Busy VNC servers
// end updates back to back, and each frame costs a fixed amount (encode setup, FRAME, a
// websocket message, the client's ACK), so fewer, fuller frames cost less CPU and bytes;
// latency grows only while the screen is already busy, and by at most the interval.
// The interval runs from the moment a frame is taken; a take that finds nothing to send
// does not count. 0 turns the limit off.
//
// Encoding per region, by content: one colour → FILL; at most 256 colours (counted with
// a fixed hash table and an early exit) → ZPALETTE; otherwise ZRGB, or JPEG when
// JPEGQuality > 0 and the region is large and photo-like (most pixels differ from their
// left neighbour). A merged region that is neither is encoded row of tiles by row, and
// each row tile by tile. Dirty tiles that meet along a row are merged into one rectangle
// when that adds little area, and such runs over the same columns in consecutive rows of
// tiles, each dirty to the edge it shares with the next, are stacked into one while it
// holds at most 128K pixels: one palette and one deflate flush for a band of text, not
// one per row (a piece's block header is a fixed cost of every flush). Each choice can
// be switched off in Options for the benchmark (stacking with merging).
//
// Alone on its display, a viewer writes ZRGB and ZPALETTE into one zlib stream of its
// own with a sync flush after each IMAGE: later pieces refer back to earlier ones and
// compress better. While the display has two or more viewers (counted when a frame is
// taken), viewers often send the same regions, and encoding them is most of the CPU; so
// each region goes through the Display's cache instead, as ZRGB1 and ZPALETTE1, whose
// data is one complete zlib stream per IMAGE and so can be sent on any connection. The
// key is the rectangle, whether JPEG is allowed and the region's version: every Sink
// call stamps the tiles it changes with a new number, and a region's version is the
// newest stamp among its tiles, so equal keys mean equal pixels with nothing hashed or
// compared. A viewer looks its regions up when it takes a frame, under the lock, and
// copies out only the pixels of those it must encode; a region nobody changed stays a
// hit frame after frame. The value is every message the region became, with its counts
// and whether it is lossy.
// The first viewer to miss a key encodes it while later ones wait for its entry's ready
// channel: an owner waits for nothing while it encodes, so this cannot deadlock, pool or
// not. The cache is bounded by bytes (max(4 MiB, 2 × framebuffer bytes), oldest out
// first) and emptied on Resize and when one viewer is left. EncodeCounts.Shared and
// SharedMiss count its hits and misses.
//
// A viewer remembers which tiles it sent as JPEG and, RefreshDelay after its last lossy
// region, sends them again losslessly, so a picture that stays still ends up exact.
package render
