package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/racgate/racgate/render/term"
	"github.com/racgate/racgate/render/wire"
)

// Watching a terminal (docs/sharing.md). There is no screen to attach to: racgate keeps
// no terminal emulator, only the bytes. So the owner's session keeps the last
// maxReplay bytes of its remote's output; a watcher's terminal is sized to the owner's
// (TERMINAL_SIZE), replays them from a line's start, and then gets the output as it
// comes through a pipe of its own and a term.Stream of its own: the owner's remote never
// waits for a watcher, and a watcher maxPipe bytes behind is dropped.

// Bounds of terminal watching.
const (
	// maxReplay is how much recent output a joining watcher replays: enough for a
	// full-screen program's last redraw on a large terminal, and little per idle session.
	maxReplay = 64 << 10
	// maxPipe is how far a watcher's pipe may fall behind the owner's output; its
	// stream elides floods it reads, so only a watcher whose connection stalls gets here.
	maxPipe = 4 << 20
)

var errWatcherSlow = &sessionEnd{Code: closeRemoteEnded, Reason: "Your connection is too slow to follow this terminal: reconnect to watch again."}

// termShare is a terminal owner's output for its watchers; guarded by ownerShares.mu.
type termShare struct {
	recent     []byte // the last maxReplay bytes of output (up to twice that before a trim)
	cols, rows int    // the owner's terminal
	pipes      map[*session]*outPipe
}

// shareTermSize records the owner's terminal size and tells its watchers.
func (ss *session) shareTermSize(cols, rows int) {
	sh := &ss.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.term.cols, sh.term.rows = cols, rows
	for w := range sh.term.pipes {
		if tb := w.term.Load(); tb != nil {
			tb.out.Resize(rows)
		}
		w.queue(wire.TerminalSize{Cols: cols, Rows: rows}.Append(nil))
	}
}

// shareOutput keeps p for watchers who join later and passes it to those watching.
func (ss *session) shareOutput(p []byte) {
	sh := &ss.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.ended {
		return
	}
	t := &sh.term
	t.recent = append(t.recent, p...)
	if len(t.recent) > 2*maxReplay { // trimmed now and then, not at every read
		t.recent = t.recent[:copy(t.recent, t.recent[len(t.recent)-maxReplay:])]
	}
	for w, pipe := range t.pipes {
		if !pipe.write(p) {
			pipe.close(errWatcherSlow)
			delete(t.pipes, w)
			w.end(errWatcherSlow)
		}
	}
}

// replayFrom is what a joining watcher's terminal gets first: the recent output from the
// start of a line, unless it is all there is.
func replayFrom(recent []byte) []byte {
	if len(recent) > maxReplay {
		recent = recent[len(recent)-maxReplay:]
	} else {
		return bytes.Clone(recent) // from the session's start
	}
	if i := bytes.IndexByte(recent, '\n'); i >= 0 {
		recent = recent[i+1:]
	}
	return bytes.Clone(recent)
}

// watchTerminal streams the owner's terminal to a watcher until either ends.
func (ss *session) watchTerminal(wctx context.Context, wg *sync.WaitGroup) {
	h := ss.host
	_, tc, _ := sshOptions(h.settings) // checked by the owner's dial
	to, _ := termSettings(h.settings)
	sh := &h.shared
	sh.mu.Lock()
	if sh.ended {
		sh.mu.Unlock()
		ss.end(errHostEnded)
		return
	}
	cols, rows := sh.term.cols, sh.term.rows
	pipe := &outPipe{buf: replayFrom(sh.term.recent), ready: make(chan struct{}, 1)}
	if sh.term.pipes == nil {
		sh.term.pipes = map[*session]*outPipe{}
	}
	sh.term.pipes[ss] = pipe
	sh.mu.Unlock()

	stream := term.NewStream(term.Options{Rows: rows, Scrollback: to.scrollback, FrameInterval: to.interval})
	ss.term.Store(&termBox{out: stream})
	var flags uint8
	if ss.readOnly {
		flags |= wire.FlagViewOnly
	} else if !ss.noPaste {
		flags |= wire.FlagPaste
	}
	if !ss.noCopy {
		flags |= wire.FlagCopy
	}
	msg := wire.Hello{Version: wire.Version, Kind: wire.KindTerminal, Flags: flags, Name: h.ep.Name}.Append(nil)
	msg = tc.Append(msg)
	msg = wire.TerminalScrollback{Lines: uint32(to.scrollback)}.Append(msg)
	msg = wire.TerminalSize{Cols: cols, Rows: rows}.Append(msg)
	ss.helloSent.Store(true)
	if err := ss.send(wctx, msg); err != nil {
		ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "browser gone", Err: err})
		return
	}
	ss.pumpControl(wctx, wg) // TERMINAL_SIZE, PONG
	wg.Go(func() { stream.Fill(ss.ctx, pipe) })
	wg.Go(func() {
		err := stream.Run(ss.ctx, func(msg []byte) error { return ss.send(wctx, msg) })
		switch {
		case ss.ctx.Err() != nil:
		case err != nil:
			ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "The browser connection failed.", Err: err})
		default: // the pipe closed: the owner's output ended, or this watcher fell behind
			var se *sessionEnd
			if errors.As(stream.Err(), &se) {
				ss.end(se)
			} else {
				ss.end(errHostEnded)
			}
		}
	})
}

// dropPipe closes watcher w's pipe, if it has one: its stream's Fill returns.
func (sh *ownerShares) dropPipe(w *session, err error) {
	if p := sh.term.pipes[w]; p != nil {
		p.close(err)
		delete(sh.term.pipes, w)
	}
}

// watcherInput queues a controlling watcher's typing for the owner's terminal; a
// watcher does not resize it.
func (ss *session) watcherInput(m wire.Message) error {
	in, ok := m.(wire.TerminalInput)
	htb := ss.host.term.Load()
	if !ok || htb == nil || htb.in == nil || ss.readOnly || !ss.helloSent.Load() {
		return nil
	}
	return htb.queueInput(ss.ctx, in.Data)
}

// outPipe carries a terminal's output to one watcher's stream: writes never wait, reads
// wait for output or the end.
type outPipe struct {
	mu    sync.Mutex
	buf   []byte
	err   error         // io.EOF, errWatcherSlow: Read returns it once buf is empty
	ready chan struct{} // a token when buf grew or err was set
}

// write adds p unless the pipe would hold more than maxPipe: false then.
func (p *outPipe) write(b []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return true // closed: nothing more is read
	}
	if len(p.buf)+len(b) > maxPipe {
		return false
	}
	p.buf = append(p.buf, b...)
	wake(p.ready)
	return true
}

func (p *outPipe) close(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	wake(p.ready)
}

func (p *outPipe) Read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[:copy(p.buf, p.buf[n:])]
			p.mu.Unlock()
			return n, nil
		}
		err := p.err
		p.mu.Unlock()
		if err != nil {
			return 0, err
		}
		<-p.ready
	}
}

var _ io.Reader = (*outPipe)(nil)

// wake leaves a token in c if there is none.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
