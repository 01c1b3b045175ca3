package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/racgate/racgate/config"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render/term"
	"github.com/racgate/racgate/render/wire"
)

// terminal is a connected terminal remote (protocols/ssh.Session; fakes in tests): a byte
// stream each way plus the PTY size.
type terminal interface {
	// Read returns the terminal's output; io.EOF once the remote ended and all was read.
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Resize(cols, rows int) error
	Close() error
	// Wait returns how the remote program ended, after Read has returned io.EOF.
	Wait() error
}

// termDialFunc connects a terminal endpoint with merged settings and the initial size in
// cells (0 for the default). ask puts login prompts the settings cannot answer to the
// user. Errors are *sessionEnd where the user should read why.
type termDialFunc func(ctx context.Context, ep *config.Endpoint, set config.Settings, cols, rows int, ask askFunc, log *slog.Logger) (terminal, error)

// askFunc asks the user one round of questions (PROMPT: SSH's keyboard-interactive
// prompts, RFC 4256 §3.2, or a password a desktop's settings lack) and returns the
// answers in order. Errors are *sessionEnd.
type askFunc func(ctx context.Context, name, instruction string, prompts []ssh.Prompt) ([]string, error)

// Login prompts.
const (
	defaultPromptWait = 2 * time.Minute // for the user's answer to one PROMPT
	// sshLoginLimit bounds an SSH dial including the time users take to answer
	// prompts; the dial's own timeout (dialTimeout) is paused while a prompt waits.
	sshLoginLimit = 10 * time.Minute
)

// Terminal bounds.
const (
	maxTermCells = 4096 // columns or rows; protocols/ssh refuses more
	// termChunk is the most typed input queued as one piece. (The output goes through
	// the session's term.Stream, which holds at most term.MaxHeld; beyond it the reader
	// stops, the SSH window stays shut and the remote program waits.)
	termChunk = 32 << 10
	// termInputQueue pieces of typed input (termChunk bytes at most each) wait for the
	// remote, so that a remote slow to read input does not hold up the ACKs behind it.
	termInputQueue = 16
	minFontSize    = 6
	maxFontSize    = 96
	// The lines of scrollback the browser keeps (setting scrollback, TERMINAL_SCROLLBACK).
	defaultScrollback = 5000
	maxScrollback     = 100000
	// maxTermFrameInterval bounds terminal-frame-interval (ms; its default is
	// term.DefaultFrameInterval).
	maxTermFrameInterval = 1000
)

// termOptions are a terminal endpoint's output settings.
type termOptions struct {
	interval   time.Duration // terminal-frame-interval
	scrollback int
}

// termSettings reads terminal-frame-interval and scrollback.
func termSettings(set config.Settings) (termOptions, error) {
	o := termOptions{interval: term.DefaultFrameInterval, scrollback: defaultScrollback}
	if s := set["terminal-frame-interval"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxTermFrameInterval {
			return o, fmt.Errorf("setting terminal-frame-interval: want 0-%d (ms), got %q", maxTermFrameInterval, s)
		}
		o.interval = time.Duration(n) * time.Millisecond
	}
	if s := set["scrollback"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxScrollback {
			return o, fmt.Errorf("setting scrollback: want 0-%d lines, got %q", maxScrollback, s)
		}
		o.scrollback = n
	}
	return o, nil
}

// sshOptions maps merged settings (Guacamole's SSH parameter names) to an ssh.Config and
// the browser's TERMINAL_CONFIG.
func sshOptions(set config.Settings) (ssh.Config, wire.TerminalConfig, error) {
	cfg := ssh.Config{
		User:           set["username"],
		Password:       set["password"],
		HostKey:        set["host-key"],
		KnownHostsFile: set["known-hosts-file"],
		IgnoreHostKey:  set.Bool("ignore-host-key"),
		Command:        set["command"],
		Term:           set["terminal-type"],
	}
	var tc wire.TerminalConfig
	if k := set["private-key"]; k != "" {
		cfg.PrivateKey = []byte(k)
	}
	if p := set["passphrase"]; p != "" {
		cfg.Passphrase = []byte(p)
	}
	if t := cfg.Term; t != "" {
		// TERM goes into the PTY request and the remote's environment: a plain name only.
		for _, r := range t {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '+') || len(t) > 64 {
				return cfg, tc, fmt.Errorf("setting terminal-type: %q is not a terminal name", t)
			}
		}
	}
	env := map[string]string{}
	if l := set["locale"]; l != "" {
		env["LANG"] = l
	}
	if tz := set["timezone"]; tz != "" {
		env["TZ"] = tz
	}
	for k, v := range env {
		if strings.ContainsAny(v, "\x00\n\r") {
			return cfg, tc, fmt.Errorf("setting for %s holds a control character", k)
		}
	}
	if len(env) > 0 {
		cfg.Env = env
	}
	if s := set["server-alive-interval"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 3600 {
			return cfg, tc, fmt.Errorf("setting server-alive-interval: want 0-3600 seconds, got %q", s)
		}
		if n > 0 {
			cfg.KeepAlive = time.Duration(n) * time.Second
		}
	}
	if f := set["known-hosts-file"]; f != "" {
		if _, err := os.Stat(f); err != nil {
			return cfg, tc, fmt.Errorf("setting known-hosts-file: %w", err)
		}
	}
	if s := set["font-size"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < minFontSize || n > maxFontSize {
			return cfg, tc, fmt.Errorf("setting font-size: want %d-%d, got %q", minFontSize, maxFontSize, s)
		}
		tc.FontSize = n
	}
	tc.ColorScheme = strings.ToValidUTF8(set["color-scheme"], "?")
	if len(tc.ColorScheme) > 256 {
		return cfg, tc, errors.New("setting color-scheme: longer than 256 bytes")
	}
	if _, err := termSettings(set); err != nil {
		return cfg, tc, err
	}
	return cfg, tc, nil
}

// dialSSH connects an SSH endpoint.
func (s *Server) dialSSH(ctx context.Context, ep *config.Endpoint, set config.Settings, cols, rows int, ask askFunc, log *slog.Logger) (terminal, error) {
	cfg, _, err := sshOptions(set)
	if err == nil && cfg.User == "" {
		err = errors.New("no username setting")
	}
	if err != nil {
		return nil, failed(failSettings, ": "+err.Error(), err)
	}
	cfg.Cols, cfg.Rows = cols, rows
	cfg.Logger = log
	cfg.KeyboardInteractive = keyboardInteractive(cfg.Password, ask)
	cfg.DialTimeout = sshLoginLimit // ctx carries the dial timeout proper
	if cfg.IgnoreHostKey {
		log.Warn("ssh host key not checked (ignore-host-key)")
	}
	sess, err := ssh.Dial(ctx, net.JoinHostPort(set["hostname"], set["port"]), cfg)
	if err != nil {
		return nil, sshDialError(err, ep)
	}
	return sess, nil
}

// keyboardInteractive answers keyboard-interactive rounds: the first round whose prompts
// are all hidden password prompts from the password setting, if there is one; every other
// round (a second try after a wrong password, a one-time code) from the user, through ask.
// x/crypto runs the rounds one after another, on one goroutine.
func keyboardInteractive(password string, ask askFunc) func(context.Context, string, string, []ssh.Prompt) ([]string, error) {
	tried := false
	return func(ctx context.Context, name, instruction string, prompts []ssh.Prompt) ([]string, error) {
		if len(prompts) == 0 {
			return nil, nil // an information-only round takes no answers (RFC 4256 §3.4)
		}
		if password != "" && !tried && passwordPrompts(prompts) {
			tried = true
			answers := make([]string, len(prompts))
			for i := range answers {
				answers[i] = password
			}
			return answers, nil
		}
		if ask == nil {
			return nil, endWith(closeAuthFailed, "The remote machine asks a login question that nobody can answer here.")
		}
		return ask(ctx, name, instruction, prompts)
	}
}

// passwordPrompts reports whether every prompt is hidden and asks for a password.
func passwordPrompts(prompts []ssh.Prompt) bool {
	for _, p := range prompts {
		if p.Echo || !strings.Contains(strings.ToLower(p.Text), "password") {
			return false
		}
	}
	return true
}

// promptBox is a PROMPT waiting for its PROMPT_RESPONSE.
type promptBox struct {
	id      uint32
	n       int           // prompts asked
	answers chan []string // buffered: the reader never blocks on it
}

// askUser sends one PROMPT and waits for its answer, the session's end or the prompt
// timeout. No answers (the user cancelled) ends the session.
func (ss *session) askUser(ctx, wctx context.Context, id uint32, name, instruction string, prompts []ssh.Prompt) ([]string, error) {
	if len(prompts) > wire.MaxPrompts {
		return nil, endWith(closeProtocolError, fmt.Sprintf("The remote machine asks %d login questions at once; racgate shows at most %d.", len(prompts), wire.MaxPrompts))
	}
	msg := wire.Prompt{ID: id, Name: promptText(name), Instruction: promptText(instruction), Prompts: make([]wire.PromptField, len(prompts))}
	for i, p := range prompts {
		msg.Prompts[i] = wire.PromptField{Text: promptText(p.Text), Echo: p.Echo}
	}
	pb := &promptBox{id: id, n: len(prompts), answers: make(chan []string, 1)}
	ss.prompt.Store(pb)
	defer ss.prompt.CompareAndSwap(pb, nil)
	if err := ss.send(wctx, msg.Append(nil)); err != nil {
		return nil, &sessionEnd{Code: closeRemoteEnded, Reason: "The browser connection failed.", Err: err}
	}
	ss.log.Info("login prompt sent to the browser", "id", id, "questions", len(prompts)) // never the answers
	wait := ss.srv.promptWait
	if wait <= 0 {
		wait = defaultPromptWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case a := <-pb.answers:
		if len(a) == 0 {
			return nil, endWith(closeAuthFailed, "Authentication cancelled.")
		}
		return a, nil
	case <-t.C:
		return nil, endWith(closeTimeout, "No answer to the login prompt.")
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// promptAnswered hands a PROMPT_RESPONSE to the waiting askUser. An answer to a prompt that
// no longer waits (it timed out, or was answered already) is dropped.
func (ss *session) promptAnswered(r wire.PromptResponse) error {
	pb := ss.prompt.Load()
	if pb == nil || pb.id != r.ID {
		return nil
	}
	if len(r.Answers) != 0 && len(r.Answers) != pb.n {
		return &sessionEnd{Code: closeClientError, Reason: fmt.Sprintf("The browser sent %d answers to %d login questions.", len(r.Answers), pb.n)}
	}
	if ss.prompt.CompareAndSwap(pb, nil) {
		pb.answers <- r.Answers // the only send: the swap above succeeds once
	}
	return nil
}

// promptText makes a string from the SSH server fit PROMPT: valid UTF-8 of at most
// MaxPromptText bytes.
func promptText(s string) string {
	return wire.ValidText(s, wire.MaxPromptText)
}

// sshDialError gives a failed dial its CLOSE. A refused host key is CloseForbidden, not
// CloseAuthFailed: racgate's own trust policy refused the server, the credentials were
// never tried, and retyping them cannot help; like a policy refusal it needs an
// administrator (to pin the key or update known_hosts).
func sshDialError(err error, ep *config.Endpoint) error {
	var hk *ssh.HostKeyError
	var ae *ssh.AuthError
	var se *sessionEnd
	switch {
	case errors.As(err, &se): // a login prompt went unanswered or was cancelled
		return se
	case errors.As(err, &hk):
		detail := fmt.Sprintf(" (its SSH host key, %s %s, is not pinned in host-key nor in the known_hosts file)", hk.Type, hk.Fingerprint)
		if errors.Is(err, ssh.ErrHostKeyMismatch) {
			detail = fmt.Sprintf(" (its SSH host key, %s %s, is not the configured one: the server's key changed, or the connection is intercepted)", hk.Type, hk.Fingerprint)
		}
		return failed(failTrust, detail, err).end(ep.Name)
	case errors.As(err, &ae):
		return failed(failAuth, ": "+ae.Error(), err).end(ep.Name)
	}
	return failed(failUnreachable, " over SSH", err).end(ep.Name)
}

// terminalSize reads the optional cols and rows of the connect request (cells; 0 when
// absent). connectRequest has already refused bad values.
func terminalSize(q url.Values) (cols, rows int) {
	cols, _ = parseCells("cols", q.Get("cols"))
	rows, _ = parseCells("rows", q.Get("rows"))
	return cols, rows
}

// parseCells parses a terminal dimension; "" is 0.
func parseCells(k, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxTermCells {
		return 0, fmt.Errorf("%s: want 1-%d, got %.16q", k, maxTermCells, v)
	}
	return n, nil
}

// termBox is a session's terminal, its pending input, and its output on the way to the
// browser with the browser's progress through it.
type termBox struct {
	t   terminal
	in  chan []byte  // TERMINAL_INPUT for writeInput, in order
	out *term.Stream // set before the box is stored in the session
}

func newTermBox(t terminal) *termBox {
	return &termBox{
		t: t, in: make(chan []byte, termInputQueue),
		out: term.NewStream(term.Options{Scrollback: defaultScrollback, FrameInterval: term.DefaultFrameInterval}),
	}
}

// writeInput writes queued input to the terminal until in is closed or ctx ends.
func (tb *termBox) writeInput(ctx context.Context) error {
	for {
		select {
		case p, ok := <-tb.in:
			if !ok {
				return nil
			}
			if _, err := tb.t.Write(p); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// Ack records the browser's ACK (§ FRAME) of a frame after terminal output.
func (tb *termBox) Ack(id uint32) { tb.out.Ack(id) }

// runTerminal dials a terminal endpoint and starts relaying it. The dial has dialTimeout,
// not counting the time the user takes to answer login prompts.
func (ss *session) runTerminal(wctx context.Context, wg *sync.WaitGroup) {
	dctx, ask, done := ss.dialContext(wctx)
	defer done()
	t, err := ss.srv.dialTerm(dctx, ss.ep, ss.settings, ss.cols, ss.rows, ask, ss.log)
	if err == nil && ss.ctx.Err() != nil {
		t.Close()
		err = context.Cause(ss.ctx)
	}
	if err != nil {
		ss.end(dialError(err, ss.ep))
		return
	}
	ss.terminalConnected(t, wctx, wg)
}

// terminalConnected sends HELLO (kind terminal), TERMINAL_CONFIG and
// TERMINAL_SCROLLBACK, then pumps output.
func (ss *session) terminalConnected(t terminal, wctx context.Context, wg *sync.WaitGroup) {
	tb := newTermBox(t)
	_, tc, _ := sshOptions(ss.settings) // checked by the dial
	to, _ := termSettings(ss.settings)
	tb.out = term.NewStream(term.Options{Rows: ss.rows, Scrollback: to.scrollback, FrameInterval: to.interval})
	ss.term.Store(tb)
	var flags uint8
	if !ss.readOnly {
		flags |= wire.FlagResize
		if !ss.noPaste {
			flags |= wire.FlagPaste
		}
	} else {
		flags |= wire.FlagViewOnly
	}
	if !ss.noCopy {
		flags |= wire.FlagCopy
	}
	if ss.sharing.Enabled {
		flags |= wire.FlagShare
	}
	cols, rows := ss.cols, ss.rows // the PTY's first size
	if cols == 0 || rows == 0 {
		cols, rows = ssh.DefaultCols, ssh.DefaultRows
	}
	ss.shareTermSize(cols, rows) // for watchers (watch_terminal.go)
	msg := wire.Hello{Version: wire.Version, Kind: wire.KindTerminal, Flags: flags, Name: ss.ep.Name}.Append(nil)
	msg = tc.Append(msg)
	msg = wire.TerminalScrollback{Lines: uint32(to.scrollback)}.Append(msg)
	if sf := ss.startFiles(t); sf != nil {
		msg = sf.message().Append(msg) // § FILES
	}
	// Before HELLO: input the browser sends right after it is recorded.
	if ss.recCfg != nil && !ss.startTerminalRecording(cols, rows) {
		return // required and not possible: the session ends
	}
	ss.helloGoing() // before send: the browser may answer HELLO before send returns
	if err := ss.send(wctx, msg); err != nil {
		ss.end(&sessionEnd{Code: closeRemoteEnded, Reason: "browser gone", Err: err})
		return
	}
	ss.pumpControl(wctx, wg) // NOTICE, PONG
	wg.Go(func() {
		if err := tb.writeInput(ss.ctx); err != nil {
			ss.end(remoteEnded(err, ss.ep))
		}
	})
	wg.Go(func() { tb.out.Fill(ss.ctx, ownerOutput{t, ss}) })
	wg.Go(func() {
		err := tb.out.Run(ss.ctx, func(msg []byte) error {
			// Output, each message with its FRAME (§ TERMINAL), answers the waiting key
			// as it goes, as a desktop's frame does (frameSent): a key the browser sends
			// once it has this output waits for the next.
			ss.answered()
			return ss.send(wctx, msg)
		})
		switch {
		case ss.ctx.Err() != nil: // the session ended: the reader or a send stopped for it
			err = context.Cause(ss.ctx)
		case err != nil: // send failed
			err = &sessionEnd{Code: closeRemoteEnded, Reason: "The browser connection failed.", Err: err}
		default:
			err = remoteEnded(terminalEnded(tb.out.Err(), t), ss.ep)
		}
		ss.end(err)
	})
}

// terminalEnded tells the user how the remote ended once its output is all sent.
func terminalEnded(readErr error, t terminal) error {
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return failed(failLost, "", readErr)
	}
	var exit *ssh.ExitError
	switch err := t.Wait(); {
	case err == nil:
		return failed(failEnded, " (exit status 0)", nil)
	case errors.As(err, &exit):
		if exit.Signal != "" {
			return failed(failEnded, fmt.Sprintf(" (its program was killed by signal %s)", exit.Signal), err)
		}
		return failed(failEnded, fmt.Sprintf(" (exit status %d)", exit.Status), err)
	default:
		return failed(failEnded, "", err)
	}
}

// queueInput queues typed or pasted bytes for the terminal, until ctx ends. They are
// queued in pieces, copied (data is the reader's buffer, reused): a big paste waits for
// the remote's SSH window without blocking the browser's reader, and with it the ACKs
// that pace the output, until the queue is full.
func (tb *termBox) queueInput(ctx context.Context, data []byte) error {
	for p := bytes.Clone(data); len(p) > 0; {
		n := min(len(p), termChunk)
		select {
		case tb.in <- p[:n:n]:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		p = p[n:]
	}
	return nil
}

// handleTerminal applies one browser message to a terminal session.
func (ss *session) handleTerminal(tb *termBox, m wire.Message) error {
	if ss.host != nil {
		return ss.watcherInput(m) // watch_terminal.go
	}
	if !ss.helloSent.Load() || ss.readOnly {
		return nil
	}
	switch m := m.(type) {
	case wire.TerminalInput: // § TERMINAL_INPUT: typed and pasted bytes alike
		ss.keyPressed()
		return tb.queueInput(ss.ctx, m.Data)
	case wire.TerminalResize: // § TERMINAL_RESIZE
		if m.Cols < 1 || m.Rows < 1 || m.Cols > maxTermCells || m.Rows > maxTermCells {
			return &sessionEnd{Code: closeClientError, Reason: fmt.Sprintf("Terminal resize to %dx%d refused.", m.Cols, m.Rows)}
		}
		tb.out.Resize(m.Rows)
		if err := tb.t.Resize(m.Cols, m.Rows); err != nil {
			return err
		}
		ss.shareTermSize(m.Cols, m.Rows)
		ss.recordResize(m.Cols, m.Rows)
		return nil
	}
	return nil // desktop messages on a terminal, unknown types: skipped
}

// ownerOutput is a terminal's output as the session's recording and its watchers see it.
type ownerOutput struct {
	t  terminal
	ss *session
}

func (r ownerOutput) Read(p []byte) (int, error) {
	n, err := r.t.Read(p)
	if n > 0 {
		r.ss.recordOutput(p[:n])
		r.ss.shareOutput(p[:n])
	}
	return n, err
}
