package peers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/tone"
)

// Sound through xrdp without PulseAudio: xrdp-chansrv, which sesman starts
// for each session, listens on a Unix socket for the sound to play to the
// RDP client (what pulseaudio-module-xrdp's sink writes to, and which
// Debian 12 does not package). It does so once the client has requested
// the rdpsnd channel (StartXRDP's xrdp.ini allows it); chansrv accepts one
// connection at a time and removes the socket file while it is connected.
//
// Messages on the socket (chansrv's sound.c): a little-endian u32 id (0:
// data, 1: close, which chansrv forwards to the client as SNDC_CLOSE), a
// u32 size of the whole message including these 8 bytes (at most
// 128 KiB + 8), then for data S16LE stereo PCM at 44.1 kHz. chansrv cuts
// the data into waves of 8192 bytes (11520 when it encodes Opus) and keeps
// a partial one until more data comes: a close drops it.

// xrdpAudioMaxData is the most data chansrv takes in one message.
const xrdpAudioMaxData = 128 * 1024

// XRDPAudioRate and XRDPAudioChannels describe the PCM chansrv expects
// (16-bit samples).
const (
	XRDPAudioRate     = 44100
	XRDPAudioChannels = 2
	xrdpFrameBytes    = 2 * XRDPAudioChannels
)

// XRDPAudioOutSocket is the path of chansrv's audio output socket for the
// session on display (":10" or "10").
func XRDPAudioOutSocket(display string) string {
	return "/run/xrdp/sockdir/xrdp_chansrv_audio_out_socket_" + strings.TrimPrefix(display, ":")
}

// XRDPAudioOut is a connection to chansrv's audio output socket.
type XRDPAudioOut struct {
	conn net.Conn
}

// DialXRDPAudioOut waits up to within for chansrv of the session on
// display to listen for sound (it does once the client has requested the
// rdpsnd channel), connects, and closes the connection when the test ends.
func DialXRDPAudioOut(t testing.TB, display string, within time.Duration) *XRDPAudioOut {
	t.Helper()
	path := XRDPAudioOutSocket(display)
	deadline := time.Now().Add(within)
	for {
		if _, err := os.Stat(path); err == nil {
			c, err := net.DialTimeout("unix", path, time.Second)
			if err == nil {
				o := &XRDPAudioOut{conn: c}
				t.Cleanup(func() { c.Close() })
				return o
			}
			if time.Now().After(deadline) {
				t.Fatalf("peers: xrdp audio socket %s: %v", path, err)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("peers: no xrdp audio socket %s after %v (did the RDP client request rdpsnd?)", path, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Write plays pcm (S16LE, 44.1 kHz, stereo) in data messages of at most
// 128 KiB.
func (o *XRDPAudioOut) Write(pcm []byte) error {
	if len(pcm)%xrdpFrameBytes != 0 {
		return fmt.Errorf("peers: xrdp audio: %d bytes are not whole stereo frames", len(pcm))
	}
	for len(pcm) > 0 {
		n := min(len(pcm), xrdpAudioMaxData) // a multiple of xrdpFrameBytes
		if err := o.message(0, pcm[:n]); err != nil {
			return err
		}
		pcm = pcm[n:]
	}
	return nil
}

// Close sends the close message, after which chansrv sends the client
// SNDC_CLOSE, and closes the connection.
func (o *XRDPAudioOut) Close() error {
	err := o.message(1, nil)
	return errors.Join(err, o.conn.Close())
}

func (o *XRDPAudioOut) message(id uint32, data []byte) error {
	b := make([]byte, 8, 8+len(data))
	binary.LittleEndian.PutUint32(b, id)
	binary.LittleEndian.PutUint32(b[4:], uint32(8+len(data)))
	b = append(b, data...)
	o.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := o.conn.Write(b); err != nil {
		return fmt.Errorf("peers: xrdp audio socket: %w", err)
	}
	return nil
}

// PlayTone plays a sine at freq Hz with the given amplitude (0-1) for d,
// in 20 ms pieces paced in real time as a sound server would write them,
// and returns the PCM it wrote.
func (o *XRDPAudioOut) PlayTone(freq float64, d time.Duration, amplitude float64) ([]byte, error) {
	const piece = XRDPAudioRate / 50 // 20 ms of frames
	frames := int(d.Seconds() * XRDPAudioRate)
	all := tone.Sine(freq, XRDPAudioRate, XRDPAudioChannels, 0, frames, amplitude)
	start := time.Now()
	for f := 0; f < frames; f += piece {
		n := min(piece, frames-f)
		if err := o.Write(all[f*xrdpFrameBytes : (f+n)*xrdpFrameBytes]); err != nil {
			return all[:f*xrdpFrameBytes], err
		}
		// Pacing, not waiting for readiness: the next piece is due when
		// the sound written so far has played.
		time.Sleep(time.Until(start.Add(time.Duration(f+n) * time.Second / XRDPAudioRate)))
	}
	return all, nil
}
