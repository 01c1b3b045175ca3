package gateway

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every session,
// shared connection, store heartbeat and render worker must end with its server.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
