//go:build !cgo || !linux

package opus

// Decoder is unavailable without cgo.
type Decoder struct{}

// NewDecoder returns ErrUnavailable: the bench was built without cgo.
func NewDecoder(rate, channels int) (*Decoder, error) { return nil, ErrUnavailable }

// Decode is never reached (NewDecoder fails).
func (d *Decoder) Decode(dst, packet []byte) ([]byte, error) { return dst, ErrUnavailable }

// Close does nothing.
func (d *Decoder) Close() {}

// Encoder is unavailable without cgo.
type Encoder struct{}

// NewEncoder returns ErrUnavailable: the bench was built without cgo.
func NewEncoder(rate, channels int) (*Encoder, error) { return nil, ErrUnavailable }

// Encode is never reached (NewEncoder fails).
func (e *Encoder) Encode(pcm []byte) ([]byte, error) { return nil, ErrUnavailable }

// Close does nothing.
func (e *Encoder) Close() {}
