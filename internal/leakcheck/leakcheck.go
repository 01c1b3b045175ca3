// Package leakcheck fails a test binary whose goroutines outlive its tests.
//
// It is goleak.VerifyTestMain with a longer wait: go-redis re-dials a server that went
// away from a goroutine that looks at its pool's Close only once a second, so a test that
// stops redis-server on purpose leaves it running for up to a second after the client
// closed, longer than goleak waits by itself.
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// wait is how long goroutines get to end after the last test.
const wait = 3 * time.Second

// Main runs the tests, then fails the binary if goroutines are still running after wait.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := settle(wait); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func settle(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := goleak.Find()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
