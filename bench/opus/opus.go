// Package opus decodes (and, for tests, encodes) Opus packets with the system's libopus,
// loaded at run time with dlopen: the benchmark's client needs to hear when a tone
// starts in the Opus that xrdp sends, which the size of its packets does not show (xrdp's
// encoder spends about as many bytes on the quiet after a tone as on the tone), and Go
// has no Opus decoder in this module. libopus.so.0 comes with xrdp's packages (Debian's
// libopus0, which xrdp-chansrv links); where it or cgo is missing, New returns
// ErrUnavailable and the client only counts Opus packets.
package opus

import "errors"

// ErrUnavailable is returned when libopus cannot be loaded (not installed, or the bench
// was built without cgo).
var ErrUnavailable = errors.New("opus: libopus.so.0 not available")

// MaxFrameSamples is the most samples per channel one packet decodes to: 120 ms at
// 48 kHz.
const MaxFrameSamples = 5760
