package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
	"github.com/racgate/racgate/protocols/ssh"
	"github.com/racgate/racgate/render/wire"
)

// kbdIntOnly is sshd configuration that logs in with keyboard-interactive (PAM asks for
// the password) and nothing else.
var kbdIntOnly = []string{"PasswordAuthentication no", "KbdInteractiveAuthentication yes", "PubkeyAuthentication no"}

// nextMessage reads the websocket until a message that is not a FRAME or TERMINAL and
// returns it; the test has not called start on c.
func (c *termClient) nextMessage(timeout time.Duration) wire.Message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		var got wire.Message
		if err := wire.Decode(data, func(m wire.Message) error {
			if got == nil {
				got = m
			}
			return nil
		}); err != nil {
			c.t.Fatal(err)
		}
		if got != nil {
			return got
		}
	}
}

// waitPrompt expects the next message to be a PROMPT for the password.
func (c *termClient) waitPrompt() wire.Prompt {
	c.t.Helper()
	m := c.nextMessage(20 * time.Second)
	p, ok := m.(wire.Prompt)
	if !ok {
		c.t.Fatalf("got %#v, want PROMPT", m)
	}
	if len(p.Prompts) != 1 || p.Prompts[0].Echo || !strings.Contains(p.Prompts[0].Text, "Password") {
		c.t.Fatalf("PROMPT %+v: want one hidden password prompt", p)
	}
	return p
}

// TestSSHPromptAnswered: with no password setting, the server's password prompt goes to
// the browser, whose answer logs in; the shell works.
func TestSSHPromptAnswered(t *testing.T) {
	d := peers.StartSSHD(t, kbdIntOnly...)
	ts := newTestServer(t, sshConfigYAML(d.Addr, []string{"username: " + d.User, "host-key: " + yamlQuote(d.HostKey)}))
	c := dialTerm(t, ts, "?cols=80&rows=24")
	p := c.waitPrompt()
	c.send(wire.PromptResponse{ID: p.ID, Answers: []string{d.Password}})
	c.start()
	c.wait("HELLO", 20*time.Second, func(c *termClient) bool { return c.hello != nil })
	c.send(typeLine("echo prompted-$((20+1))"))
	c.waitOutput("prompted-21")
	c.send(typeLine("exit 0"))
	if cl := c.waitClose(15 * time.Second); cl.Code != wire.CloseRemoteEnded {
		t.Fatalf("CLOSE %+v", cl)
	}
}

// TestSSHPromptRetry: a wrong answer is asked again with a new PROMPT (the user may have
// mistyped) and the right answer then logs in.
func TestSSHPromptRetry(t *testing.T) {
	d := peers.StartSSHD(t, kbdIntOnly...)
	ts := newTestServer(t, sshConfigYAML(d.Addr, []string{"username: " + d.User, "host-key: " + yamlQuote(d.HostKey)}))
	c := dialTerm(t, ts, "?cols=80&rows=24")
	p1 := c.waitPrompt()
	c.send(wire.PromptResponse{ID: p1.ID, Answers: []string{"wrong-" + d.Password}})
	p2 := c.waitPrompt()
	if p2.ID == p1.ID {
		t.Fatalf("the second PROMPT reuses id %d", p1.ID)
	}
	c.send(wire.PromptResponse{ID: p2.ID, Answers: []string{d.Password}})
	c.start()
	c.wait("HELLO", 20*time.Second, func(c *termClient) bool { return c.hello != nil })
	c.send(typeLine("echo retried-$((40+2))"))
	c.waitOutput("retried-42")
}

// TestSSHPromptWrongThrice: every wrong answer brings a new PROMPT until the tries are
// used up (ssh's three), then CLOSE 3 before any HELLO.
func TestSSHPromptWrongThrice(t *testing.T) {
	d := peers.StartSSHD(t, kbdIntOnly...)
	ts := newTestServer(t, sshConfigYAML(d.Addr, []string{"username: " + d.User, "host-key: " + yamlQuote(d.HostKey)}))
	c := dialTerm(t, ts, "")
	p := c.waitPrompt()
	prompts := 1
	for {
		c.send(wire.PromptResponse{ID: p.ID, Answers: []string{"wrong-" + d.Password}})
		m := c.nextMessage(20 * time.Second)
		if next, ok := m.(wire.Prompt); ok {
			if prompts++; prompts > 3 {
				t.Fatalf("PROMPT %d %+v after three wrong answers", prompts, next)
			}
			p = next
			continue
		}
		cl, ok := m.(wire.Close)
		if !ok {
			t.Fatalf("got %#v, want PROMPT or CLOSE", m)
		}
		if cl.Code != wire.CloseAuthFailed || !strings.Contains(cl.Reason, "refused the credentials") || strings.Contains(cl.Reason, d.Password) {
			t.Fatalf("CLOSE %+v, want code %d saying the credentials were refused", cl, wire.CloseAuthFailed)
		}
		break
	}
	if prompts != 3 {
		t.Fatalf("%d PROMPTs before CLOSE, want 3", prompts)
	}
}

// TestSSHPromptRefusals: a cancel, no answer and a wrong number of answers each end the
// session at once with a CLOSE that says why, before any HELLO and without asking again.
func TestSSHPromptRefusals(t *testing.T) {
	d := peers.StartSSHD(t, kbdIntOnly...)
	settings := []string{"username: " + d.User, "host-key: " + yamlQuote(d.HostKey)}
	cases := []struct {
		name   string
		answer func(p wire.Prompt) wire.Message // nil: never answer
		code   wire.CloseCode
		reason string
	}{
		{"cancel", func(p wire.Prompt) wire.Message { return wire.PromptResponse{ID: p.ID} },
			wire.CloseAuthFailed, "Authentication cancelled"},
		{"no answer", nil, wire.CloseTimeout, "No answer to the login prompt"},
		{"two answers", func(p wire.Prompt) wire.Message {
			return wire.PromptResponse{ID: p.ID, Answers: []string{d.Password, d.Password}}
		},
			wire.CloseClientError, "2 answers to 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, sshConfigYAML(d.Addr, settings))
			ts.promptWait = time.Second
			c := dialTerm(t, ts, "")
			p := c.waitPrompt()
			start := time.Now()
			if tc.answer != nil {
				// An answer to another prompt id is dropped: it neither logs in nor ends the session.
				c.send(wire.PromptResponse{ID: p.ID + 1, Answers: []string{d.Password}})
				c.send(tc.answer(p))
			}
			switch m := c.nextMessage(20 * time.Second).(type) {
			case wire.Close:
				if m.Code != tc.code || !strings.Contains(m.Reason, tc.reason) {
					t.Fatalf("CLOSE %+v, want code %d with %q", m, tc.code, tc.reason)
				}
				if strings.Contains(m.Reason, d.Password) {
					t.Fatal("the reason holds the password")
				}
			default:
				t.Fatalf("got %#v, want CLOSE", m)
			}
			if el := time.Since(start); tc.answer == nil && el < 900*time.Millisecond {
				t.Fatalf("closed after %v, before the prompt timeout", el)
			}
		})
	}
}

// TestSSHPasswordSettingAnswersPrompt: a password setting answers the keyboard-interactive
// password prompt; the browser sees no PROMPT.
func TestSSHPasswordSettingAnswersPrompt(t *testing.T) {
	d := peers.StartSSHD(t, kbdIntOnly...)
	ts := newTestServer(t, sshConfigYAML(d.Addr, []string{"username: " + d.User, "password: " + yamlQuote(d.Password), "host-key: " + yamlQuote(d.HostKey)}))
	c := dialTerm(t, ts, "")
	if m := c.nextMessage(20 * time.Second); m.Type() != wire.TypeHello {
		t.Fatalf("first message %#v, want HELLO", m)
	}
}

// TestKeyboardInteractiveAnswerer: which rounds the password setting answers and which go
// to the user.
func TestKeyboardInteractiveAnswerer(t *testing.T) {
	var asked [][]ssh.Prompt
	ask := func(_ context.Context, _, _ string, ps []ssh.Prompt) ([]string, error) {
		asked = append(asked, ps)
		return make([]string, len(ps)), nil
	}
	ctx := context.Background()
	pw := []ssh.Prompt{{Text: "Password: "}}
	ki := keyboardInteractive("pw", ask)
	if a, err := ki(ctx, "", "", pw); err != nil || len(a) != 1 || a[0] != "pw" || len(asked) != 0 {
		t.Fatalf("first password round: %q %v, asked %v", a, err, asked)
	}
	if _, err := ki(ctx, "", "", pw); err != nil || len(asked) != 1 {
		t.Fatalf("second password round not asked: %v %v", err, asked)
	}
	if a, err := ki(ctx, "", "banner", nil); err != nil || len(a) != 0 || len(asked) != 1 {
		t.Fatalf("info-only round: %q %v %v", a, err, asked)
	}
	ki = keyboardInteractive("pw", ask)
	if _, err := ki(ctx, "", "", []ssh.Prompt{{Text: "Password: "}, {Text: "Verification code: ", Echo: true}}); err != nil || len(asked) != 2 {
		t.Fatalf("OTP round not asked: %v %v", err, asked)
	}
	ki = keyboardInteractive("", nil)
	var se *sessionEnd
	if _, err := ki(ctx, "", "", pw); !errors.As(err, &se) || se.Code != closeAuthFailed {
		t.Fatalf("no password, no asker: %v", err)
	}
}

// TestPromptText: strings from the SSH server are made valid UTF-8 within the limit.
func TestPromptText(t *testing.T) {
	long := strings.Repeat("é", wire.MaxPromptText) // 2 bytes each
	if got := promptText(long); len(got) != wire.MaxPromptText || !strings.HasPrefix(long, got) {
		t.Fatalf("length %d", len(got))
	}
	if got := promptText("a\xffb"); got != "a?b" {
		t.Fatalf("got %q", got)
	}
}

// FuzzPromptResponse: any browser message while a prompt waits is dropped, answers it with
// the right number of answers (or none), or ends the session as a client error; never a
// panic, never a second answer.
func FuzzPromptResponse(f *testing.F) {
	f.Add(wire.PromptResponse{ID: 7, Answers: []string{"a", "b"}}.Append(nil))
	f.Add(wire.PromptResponse{ID: 7}.Append(nil))
	f.Add(wire.PromptResponse{ID: 7, Answers: []string{"a"}}.Append(nil))
	f.Add(wire.PromptResponse{ID: 8, Answers: []string{"a", "b"}}.Append(nil))
	f.Add(wire.PromptResponse{ID: 7, Answers: []string{"a", "b"}}.Append(wire.PromptResponse{ID: 7}.Append(nil)))
	f.Add(wire.TerminalInput{Data: []byte("x")}.Append(nil))
	f.Add([]byte{0x88, 5, 0, 0, 0, 7, 0, 0, 0, 17})
	f.Fuzz(func(t *testing.T, b []byte) {
		ss := &session{ctx: context.Background()}
		pb := &promptBox{id: 7, n: 2, answers: make(chan []string, 1)}
		ss.prompt.Store(pb)
		err := wire.Decode(b, ss.handle)
		var se *sessionEnd
		if err != nil && !errors.Is(err, wire.ErrMalformed) && !(errors.As(err, &se) && se.Code == closeClientError) {
			t.Fatalf("error %v", err)
		}
		select {
		case a := <-pb.answers:
			if len(a) != 0 && len(a) != 2 {
				t.Fatalf("%d answers passed on for 2 prompts", len(a))
			}
			if ss.prompt.Load() != nil {
				t.Fatal("answered prompt still waiting")
			}
		default:
			if ss.prompt.Load() != pb {
				t.Fatal("prompt dropped without an answer")
			}
		}
	})
}
