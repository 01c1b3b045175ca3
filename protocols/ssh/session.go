package ssh

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"
)

// copyBufSize is each output stream's copy buffer: one SSH packet's payload
// (x/crypto's channelMaxPacket).
const copyBufSize = 32 << 10

// Session is a terminal on the server. Read, Write and Resize may be called
// from different goroutines; Read and Write each from one goroutine at a time.
type Session struct {
	client *xssh.Client
	sess   *xssh.Session
	stdin  io.WriteCloser
	log    *slog.Logger

	// Output: with a PTY the server sends everything as stdout, already
	// in order; stderr (from servers that keep it apart) is merged in
	// chunk by chunk. The pipe has no buffer, so a slow Read keeps the
	// copiers blocked and the channel window shut.
	outR *io.PipeReader
	outW *io.PipeWriter

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	failed    chan struct{} // closed with failErr when the connection is torn down by us
	failOnce  sync.Once
	failErr   error

	waitDone chan struct{}
	waitErr  error

	stdout, stderr io.Reader     // read only by the copiers
	every          time.Duration // keepalive interval; <= 0 for none
}

// startSession opens the session channel (RFC 4254 §6.1), sends env (§6.4)
// and pty-req (§6.2), then shell or exec (§6.5).
// Its goroutines start with startBackground once Dial has lifted the setup
// deadline.
func startSession(client *xssh.Client, c *Config, log *slog.Logger) (*Session, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh: open session: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		if err := sess.Setenv(k, c.Env[k]); err != nil {
			// sshd refuses names outside AcceptEnv; the session goes on.
			log.Debug("ssh server refused environment variable", "name", k)
		}
	}
	modes := xssh.TerminalModes{
		xssh.ECHO:          1,
		xssh.ICRNL:         1,
		xssh.IUTF8:         1,   // RFC 8160: erase whole UTF-8 characters
		xssh.VERASE:        127, // xterm.js sends DEL for Backspace
		xssh.TTY_OP_ISPEED: 38400,
		xssh.TTY_OP_OSPEED: 38400,
	}
	// pty-req takes height (rows) before width (columns).
	if err := sess.RequestPty(c.Term, c.Rows, c.Cols, modes); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh: pty request: %w", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh: stdin: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh: stdout: %w", err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh: stderr: %w", err)
	}
	if c.Command != "" {
		err = sess.Start(c.Command)
	} else {
		err = sess.Shell()
	}
	if err != nil {
		sess.Close()
		what := "shell"
		if c.Command != "" {
			what = "command"
		}
		return nil, fmt.Errorf("ssh: start %s: %w", what, err)
	}
	outR, outW := io.Pipe()
	s := &Session{
		client:   client,
		sess:     sess,
		stdin:    stdin,
		log:      log,
		outR:     outR,
		outW:     outW,
		closed:   make(chan struct{}),
		failed:   make(chan struct{}),
		waitDone: make(chan struct{}),
		stdout:   stdout,
		stderr:   stderr,
		every:    c.KeepAlive,
	}
	return s, nil
}

func (s *Session) startBackground() {
	var copiers sync.WaitGroup
	copiers.Add(2)
	go s.copyOut(&copiers, s.stdout)
	go s.copyOut(&copiers, s.stderr)
	go func() {
		copiers.Wait()
		// Both streams ended: EOF for Read, unless we tore the
		// connection down (keepalive), which then is the error.
		var err error
		select {
		case <-s.failed:
			err = s.failErr
		default:
		}
		s.outW.CloseWithError(err)
	}()
	go func() {
		s.waitErr = exitError(s.sess.Wait())
		close(s.waitDone)
	}()
	if s.every > 0 {
		go s.keepAlive(s.every)
	}
}

func (s *Session) copyOut(wg *sync.WaitGroup, r io.Reader) {
	defer wg.Done()
	buf := make([]byte, copyBufSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := s.outW.Write(buf[:n]); werr != nil {
				return // Close: nobody reads any more
			}
		}
		if err != nil {
			return
		}
	}
}

// Read reads terminal output, as the PTY produced it. It returns io.EOF
// once the remote side has ended the session and all output was read.
func (s *Session) Read(p []byte) (int, error) {
	n, err := s.outR.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("ssh: read: %w", err)
	}
	return n, err
}

// Write sends typed input. It blocks while the server's window is full.
func (s *Session) Write(p []byte) (int, error) {
	select {
	case <-s.closed:
		return 0, ErrClosed
	default:
	}
	n, err := s.stdin.Write(p)
	if err != nil {
		select {
		case <-s.closed:
			return n, ErrClosed
		default:
		}
		return n, fmt.Errorf("ssh: write: %w", err)
	}
	return n, nil
}

// Resize tells the server the terminal's new size (RFC 4254 §6.7
// window-change).
func (s *Session) Resize(cols, rows int) error {
	if err := checkSize(cols, rows); err != nil {
		return fmt.Errorf("ssh: resize: %w", err)
	}
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	if err := s.sess.WindowChange(rows, cols); err != nil {
		return fmt.Errorf("ssh: resize: %w", err)
	}
	return nil
}

// Close ends the session and the connection. Pending and later Reads return
// ErrClosed. It is safe to call more than once.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.outW.CloseWithError(ErrClosed)
		// Closing the TCP connection never blocks, unlike a channel
		// close message to a stalled server; sshd hangs up the PTY.
		s.client.Close()
	})
	return nil
}

// Wait waits for the remote shell or command to end and returns nil for
// exit status 0, *ExitError for another status or a signal, or an error
// when the connection ended without an exit status (e.g. after Close).
func (s *Session) Wait() error {
	<-s.waitDone
	select {
	case <-s.failed:
		if s.waitErr != nil {
			var ee *ExitError
			if !errors.As(s.waitErr, &ee) {
				return s.failErr
			}
		}
	default:
	}
	return s.waitErr
}

// exitError turns x/crypto's exit report (RFC 4254 §6.10 exit-status,
// exit-signal) into ours.
func exitError(err error) error {
	var ee *xssh.ExitError
	var missing *xssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ee.Signal() != "" {
			return &ExitError{Status: -1, Signal: ee.Signal(), Message: ee.Msg()}
		}
		return &ExitError{Status: ee.ExitStatus(), Message: ee.Msg()}
	case errors.As(err, &missing):
		return ErrNoExitStatus
	}
	return fmt.Errorf("ssh: session: %w", err)
}

// fail tears the connection down because of err (a dead server).
func (s *Session) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
	s.log.Warn("ssh connection closed", "err", err)
	s.client.Close()
}

// keepAlive sends keepalive@openssh.com global requests; any reply, even
// the "unknown request" failure, proves the server alive. It closes the
// connection when keepAliveMisses intervals pass without one.
func (s *Session) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	replies := make(chan struct{}, 1)
	inFlight := false
	missed := 0
	for {
		select {
		case <-s.closed:
			return
		case <-s.waitDone:
			return
		case <-replies:
			inFlight = false
			missed = 0
		case <-t.C:
			if inFlight {
				missed++
				if missed >= keepAliveMisses {
					s.fail(fmt.Errorf("ssh: %w (%d in %v)", ErrKeepAliveTimeout, keepAliveMisses, keepAliveMisses*every))
					return
				}
				continue
			}
			inFlight = true
			go func() {
				if _, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
					return // connection gone; the session ends on its own
				}
				replies <- struct{}{}
			}()
		}
	}
}
