package ssh_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/racgate/racgate/protocols/ssh"
)

// The gateway's use: terminal bytes to the browser as they come, typed
// bytes and resizes from it, the exit status at the end.
func ExampleDial() {
	ctx := context.Background()
	s, err := ssh.Dial(ctx, "127.0.0.1:22", ssh.Config{
		User:     "alice",
		Password: "secret",
		HostKey:  "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
		Env:      map[string]string{"LANG": "en_US.UTF-8", "TZ": "Europe/Berlin"},
	})
	var hk *ssh.HostKeyError
	switch {
	case errors.As(err, &hk):
		fmt.Println("ask the user to verify", hk.Fingerprint) // refused key
		return
	case errors.Is(err, ssh.ErrAuthFailed):
		fmt.Println(err) // "authentication failed for user "alice" (tried password, keyboard-interactive)"
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	defer s.Close()
	go io.Copy(s, os.Stdin) // TERMINAL_INPUT
	_ = s.Resize(120, 40)   // TERMINAL_RESIZE
	io.Copy(os.Stdout, s)   // TERMINAL
	var exit *ssh.ExitError
	if err := s.Wait(); errors.As(err, &exit) {
		fmt.Println("exit status", exit.Status)
	}
}
