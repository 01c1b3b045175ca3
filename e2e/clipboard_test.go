package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/racgate/racgate/internal/peers"
)

// copyInX puts text on the X session's CLIPBOARD selection: xclip owns it for as
// long as it runs in the foreground (-quiet), as the test's child, ended with it.
func copyInX(t *testing.T, x *peers.X, text string) {
	t.Helper()
	cmd := x.Command(t.Context(), "xclip", "-quiet", "-i", "-selection", "clipboard")
	cmd.Stdin = strings.NewReader(text)
	if err := cmd.Start(); err != nil {
		t.Fatalf("xclip: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// waitBrowserClipboard waits until the page's clipboard holds text.
func waitBrowserClipboard(t *testing.T, b *browser, text string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		res := b.do(map[string]any{"readClipboard": true})
		if res["text"] == text {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser clipboard is %q, want %q", res["text"], text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitXClipboard waits until the X session's CLIPBOARD selection holds text (until the
// remote owns the selection, xclip -o fails: keep polling). trim drops the trailing
// newline some servers add.
func waitXClipboard(t *testing.T, x *peers.X, text string, trim bool, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		out, _ := x.Command(ctx, "xclip", "-o", "-selection", "clipboard").Output()
		cancel()
		got := string(out)
		if trim {
			got = strings.TrimSpace(got)
		}
		if got == text {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("X clipboard is %q, want %q", got, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
