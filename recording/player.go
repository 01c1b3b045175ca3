package recording

import (
	"fmt"
	"io"

	"github.com/racgate/racgate/render/wire"
)

// Player draws a desktop recording's records on a canvas as the web player does
// (docs/recording.md § Records), for tests and tools: the streams of IMAGE start anew
// at key and delta records and after a delta record, and a delta record is drawn only
// by a player that starts there, on its base's picture.
type Player struct {
	Canvas *wire.Canvas
	delta  bool // the next delta record is the key frame the player starts at
}

// NewPlayer returns a player of From(k)'s records, on a new canvas.
func NewPlayer(k Key) *Player { return &Player{Canvas: wire.NewCanvas(), delta: k.Delta} }

// Play draws r, if it is output, a key frame or the delta key frame the player starts
// at, and reports whether it drew a FRAME: the picture is whole, unless Waiting.
func (p *Player) Play(r Record) (framed bool, err error) {
	switch r.Kind {
	case KindKey:
		p.Canvas.ResetStream()
	case KindDelta:
		p.Canvas.ResetStream()
		defer p.Canvas.ResetStream()
		if !p.delta {
			return false, nil // the screen is already the one it draws
		}
		p.delta = false
	case KindOutput:
	default:
		return false, nil
	}
	err = wire.Decode(r.Payload, func(m wire.Message) error {
		if _, ok := m.(wire.Frame); ok {
			framed = true
		}
		return p.Canvas.Apply(m)
	})
	if err != nil {
		return false, fmt.Errorf("recording: record at %v: %w", r.At, err)
	}
	return framed, nil
}

// Waiting reports whether the player is still drawing the base picture of the delta key
// frame it starts at.
func (p *Player) Waiting() bool { return p.delta }

// Replay plays From(k)'s records to the end with a new Player and returns its canvas;
// each, if not nil, sees every record.
func (rec *Recording) Replay(r io.ReaderAt, k Key, each func(Record)) (*wire.Canvas, error) {
	from, n := rec.From(r, k)
	b := make([]byte, n)
	if _, err := io.ReadFull(from, b); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	p := NewPlayer(k)
	for {
		r, rest, ok := Next(b)
		if !ok {
			return p.Canvas, nil
		}
		b = rest
		if each != nil {
			each(r)
		}
		if _, err := p.Play(r); err != nil {
			return nil, err
		}
	}
}
