package gateway

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/recording"
	"github.com/racgate/racgate/render/wire"
)

// A session's recording (docs/recording.md): a desktop's through a viewer of its own,
// whose images stand alone and which makes a key frame every key-frame-interval; a
// terminal's as asciicast from the remote's output and the terminal's size. A recording
// that cannot start or goes wrong (disk full) ends the session where the endpoint
// requires recording, and is otherwise given up, logged, while the session goes on.

// recordingViewer is a viewer whose stream a player can start at any key frame.
type recordingViewer interface {
	viewer
	Refresh() // the next frame is a key frame
}

// sessionRecording is the recording of one session, desktop or terminal.
type sessionRecording struct {
	cfg  *config.Recording
	desk *recording.Desktop
	term *recording.Terminal

	mu     sync.Mutex
	failed bool // given up: nothing more is written
}

func (ss *session) recordingMeta() recording.Meta {
	c := ss.lease.Conn()
	return recording.Meta{
		Protocol: ss.ep.Protocol, User: ss.user, Endpoint: ss.ep.Name, Provider: ss.ep.Provider,
		Instance: c.Instance, Session: c.ID, Start: time.Now(),
		KeyFrameInterval: ss.recCfg.KeyFrameInterval.Milliseconds(), Input: ss.recCfg.IncludeInput,
	}
}

// startDesktopRecording starts recording disp; false means the session ends (ss.end
// was called).
func (ss *session) startDesktopRecording(disp display, wg *sync.WaitGroup) bool {
	rc := ss.recCfg
	m := ss.recordingMeta()
	m.KeyFrameInterval = rc.KeyFrameInterval.Milliseconds()
	d, err := recording.CreateDesktop(recording.Base(rc.Path, rc.FileName, m), m)
	if err != nil {
		return ss.recordingFailed(err)
	}
	sr := &sessionRecording{cfg: rc, desk: d}
	ss.rec.Store(sr)
	ss.log.Info("recording", "file", d.Path())
	var rv recordingViewer
	rv = disp.NewRecordingViewer(rc.FrameInterval, func(msg []byte) error {
		if err := d.Output(msg); err != nil {
			return err
		}
		if id, ok := lastFrame(msg); ok {
			rv.Ack(id) // written: the recording is never behind
		}
		return nil
	})
	wg.Go(func() {
		err := rv.Run(ss.ctx)
		if ss.ctx.Err() == nil && err != nil {
			sr.fail(ss, err)
		}
	})
	wg.Go(func() {
		// Asked often (a quarter interval, at most a second): a key frame may be due as
		// soon as an idle segment's PREDICT budget is spent, not only at whole intervals.
		t := time.NewTicker(min(rc.KeyFrameInterval/4, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ss.ctx.Done():
				rv.Close()
				return
			case <-t.C:
				if d.KeyDue(rc.KeyFrameInterval) {
					rv.Refresh()
				}
			}
		}
	})
	return true
}

// startTerminalRecording starts recording a terminal of cols x rows; false means the
// session ends.
func (ss *session) startTerminalRecording(cols, rows int) bool {
	rc := ss.recCfg
	m := ss.recordingMeta()
	m.KeyFrameInterval = 0
	t, err := recording.CreateTerminal(recording.Base(rc.Path, rc.FileName, m), m, cols, rows, rc.KeyFrameInterval)
	if err != nil {
		return ss.recordingFailed(err)
	}
	ss.rec.Store(&sessionRecording{cfg: rc, term: t})
	ss.log.Info("recording", "file", t.Path())
	return true
}

// recordingFailed handles a recording that could not start: the session ends if the
// endpoint requires recording (false), else it goes on unrecorded (true).
func (ss *session) recordingFailed(err error) bool {
	if ss.recCfg.Required {
		ss.end(&sessionEnd{Code: closeInternal, Err: err, Reason: fmt.Sprintf(
			"racgate could not record the session on %s, which may only be used recorded. Tell your administrator.", strconv.Quote(ss.ep.Name))})
		return false
	}
	ss.log.Error("recording failed: the session goes on unrecorded", "err", err)
	return true
}

// fail gives the recording up after a write error, ending the session if required.
func (sr *sessionRecording) fail(ss *session, err error) {
	sr.mu.Lock()
	first := !sr.failed
	sr.failed = true
	sr.mu.Unlock()
	if !first {
		return
	}
	if sr.cfg.Required {
		ss.end(&sessionEnd{Code: closeInternal, Err: err, Reason: fmt.Sprintf(
			"The session on %s ended: racgate could no longer record it, and it may only be used recorded. Tell your administrator.", strconv.Quote(ss.ep.Name))})
		return
	}
	ss.log.Error("recording failed: the session goes on unrecorded", "err", err)
}

func (sr *sessionRecording) given() bool {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.failed
}

// output records a terminal's output.
func (ss *session) recordOutput(p []byte) {
	if sr := ss.rec.Load(); sr != nil && sr.term != nil && !sr.given() {
		if err := sr.term.Output(p); err != nil {
			sr.fail(ss, err)
		}
	}
}

// recordResize records a terminal's new size.
func (ss *session) recordResize(cols, rows int) {
	if sr := ss.rec.Load(); sr != nil && sr.term != nil && !sr.given() {
		if err := sr.term.Resize(cols, rows); err != nil {
			sr.fail(ss, err)
		}
	}
}

// recordInput records a browser message that is input, where the recording includes it.
func (ss *session) recordInput(m wire.Message) {
	sr := ss.rec.Load()
	if sr == nil || !sr.cfg.IncludeInput || sr.given() {
		return
	}
	var err error
	switch m := m.(type) {
	case wire.TerminalInput:
		if sr.term != nil {
			err = sr.term.Input(m.Data)
		}
	case wire.Key, wire.Pointer, wire.Wheel, wire.ClientClipboard, wire.ClientClipboardContent:
		if sr.desk != nil {
			err = sr.desk.Input(m.Append(nil))
		}
	}
	if err != nil {
		sr.fail(ss, err)
	}
}

// closeRecording ends the recording with the session's reason; it returns the file's
// path for the audit trail ("" when nothing was recorded).
func (ss *session) closeRecording(reason string) string {
	sr := ss.rec.Load()
	if sr == nil {
		return ""
	}
	var path string
	var err error
	if sr.desk != nil {
		path, err = sr.desk.Path(), sr.desk.Close(reason)
	} else {
		path, err = sr.term.Path(), sr.term.Close()
	}
	if err != nil && !sr.given() {
		ss.log.Error("recording: closing", "file", path, "err", err)
	}
	return path
}

// lastFrame is the id of the FRAME that ends msg, if one does: a viewer's message holds
// whole wire messages, and a frame's FRAME is the last of its last message.
func lastFrame(msg []byte) (uint32, bool) {
	var id uint32
	found := false
	for len(msg) >= 5 {
		n := int(binary.LittleEndian.Uint32(msg[1:]))
		if n > len(msg)-5 {
			return 0, false
		}
		found = wire.Type(msg[0]) == wire.TypeFrame && n >= 4
		if found {
			id = binary.LittleEndian.Uint32(msg[5:])
		}
		msg = msg[5+n:]
	}
	return id, found
}
