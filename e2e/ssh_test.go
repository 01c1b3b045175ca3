package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// startSSHGateway serves a config with one user and one SSH endpoint "shell" on the sshd.
func startSSHGateway(t *testing.T, d *peers.SSHD) string {
	t.Helper()
	return startSSHGatewayWith(t, d, fmt.Sprintf("password: %q, ", d.Password))
}

// startSSHGatewayWith is startSSHGateway with the endpoint's credential settings given as
// flow-map entries ("password: ..., "), or none.
func startSSHGatewayWith(t *testing.T, d *peers.SSHD, credentials string) string {
	t.Helper()
	return serveGateway(t, fmt.Sprintf(`  - name: shell
    provider: test
    protocol: ssh
    host: %s
    settings: {username: %q, %shost-key: %q, font-size: 16, color-scheme: light}
`, d.Addr, d.User, credentials, d.HostKey))
}

// waitTerminal polls the terminal's visible text until re matches it.
func waitTerminal(t *testing.T, b *browser, re *regexp.Regexp) (text string, match []string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := b.do(map[string]any{"terminalText": true})
		text, _ = res["text"].(string)
		if m := re.FindStringSubmatch(text); m != nil {
			return text, m
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %v; it shows:\n%s", re, text)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// TestSSHBrowser: a shell on a real sshd in xterm.js through racgate: typing, paste from
// the browser clipboard, and a window resize that the PTY follows.
func TestSSHBrowser(t *testing.T) {
	d := peers.StartSSHD(t)
	b := startBrowser(t, startSSHGateway(t, d))
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})
	b.do(map[string]any{"open": "shell"})
	b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
	// font-size and color-scheme reached xterm.js (TERMINAL_CONFIG).
	b.do(map[string]any{"waitFor": map[string]any{"selector": `#terminal[data-scheme="light"]`}})
	if fs, _ := b.do(map[string]any{"terminalText": true})["fontSize"].(float64); fs != 16 {
		t.Fatalf("font size %v, want 16 from the settings", fs)
	}

	// The shell computes 42: the typed line itself holds only the expression.
	b.do(map[string]any{"terminalType": "echo hello-$((6*7))\n"})
	waitTerminal(t, b, regexp.MustCompile(`(?m)^hello-42$`))

	// Paste: the browser clipboard, Ctrl+Shift+V, then Enter.
	b.do(map[string]any{"writeClipboard": "echo pasted-$((3*5))"})
	b.do(map[string]any{"press": "Control+Shift+V"})
	b.do(map[string]any{"press": "Enter"})
	waitTerminal(t, b, regexp.MustCompile(`(?m)^pasted-15$`))

	// The PTY has the size xterm.js shows; a smaller window shrinks both.
	size := func(tag int) (rows, cols int) {
		b.do(map[string]any{"terminalType": fmt.Sprintf("clear; echo size-$((%d+1)) $(stty size)\n", tag)})
		_, m := waitTerminal(t, b, regexp.MustCompile(fmt.Sprintf(`(?m)^size-%d (\d+) (\d+)$`, tag+1)))
		rows, _ = strconv.Atoi(m[1])
		cols, _ = strconv.Atoi(m[2])
		return rows, cols
	}
	termSize := func() (rows, cols int) {
		res := b.do(map[string]any{"terminalText": true})
		r, _ := res["rows"].(float64)
		c, _ := res["cols"].(float64)
		return int(r), int(c)
	}
	r1, c1 := size(1)
	if tr, tc := termSize(); r1 != tr || c1 != tc {
		t.Fatalf("stty size %dx%d, xterm.js %dx%d", r1, c1, tr, tc)
	}
	b.do(map[string]any{"setViewport": map[string]any{"width": 640, "height": 400}})
	var r2, c2 int
	deadline := time.Now().Add(10 * time.Second)
	for tag := 10; ; tag++ {
		r2, c2 = size(tag)
		if r2 < r1 && c2 < c1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stty size stayed %dx%d after the window shrank (was %dx%d)", r2, c2, r1, c1)
		}
	}
	if tr, tc := termSize(); r2 != tr || c2 != tc {
		t.Fatalf("after resize: stty size %dx%d, xterm.js %dx%d", r2, c2, tr, tc)
	}

	// Exiting the shell ends the session with its status.
	b.do(map[string]any{"terminalType": "exit 0\n"})
	b.do(map[string]any{"waitState": "closed"})
	res := b.do(map[string]any{"statusText": true})
	if s, _ := res["text"].(string); !strings.Contains(s, "exit status 0") {
		t.Fatalf("status %q", s)
	}
}

// TestSSHBrowserPrompt: an SSH endpoint without a password setting on an sshd that logs in
// with keyboard-interactive only: the server's password question appears as the page's
// login form while connecting; the right answer logs in, Escape cancels.
func TestSSHBrowserPrompt(t *testing.T) {
	d := peers.StartSSHD(t, "PasswordAuthentication no", "KbdInteractiveAuthentication yes", "PubkeyAuthentication no")
	b := startBrowser(t, startSSHGatewayWith(t, d, ""))
	b.do(map[string]any{"login": map[string]any{"username": testUser, "password": testPassword}})

	// Answered: the terminal connects.
	{
		b.do(map[string]any{"open": "shell"})
		res := b.do(map[string]any{"answerPrompt": []string{d.Password}, "timeoutMs": 20000})
		fields, _ := res["fields"].([]any)
		if len(fields) != 1 {
			t.Fatalf("prompt fields %v, want one", res["fields"])
		}
		f, _ := fields[0].(map[string]any)
		if label, _ := f["label"].(string); !strings.Contains(label, "Password") || f["type"] != "password" {
			t.Fatalf("prompt field %v: want a hidden password question", f)
		}
		b.do(map[string]any{"waitState": "connected", "timeoutMs": 20000})
		b.do(map[string]any{"terminalType": "echo prompt-$((6*7))\n"})
		waitTerminal(t, b, regexp.MustCompile(`(?m)^prompt-42$`))
		b.do(map[string]any{"terminalType": "exit 0\n"})
		b.do(map[string]any{"waitState": "closed"})
	}

	// Cancelled with Escape: the session ends and says so.
	{
		b.do(map[string]any{"open": "shell"})
		b.do(map[string]any{"answerPrompt": nil, "timeoutMs": 20000})
		b.do(map[string]any{"waitState": "closed", "timeoutMs": 20000})
		res := b.do(map[string]any{"statusText": true})
		if s, _ := res["text"].(string); !strings.Contains(s, "Authentication cancelled") {
			t.Fatalf("status %q", s)
		}
	}
}
