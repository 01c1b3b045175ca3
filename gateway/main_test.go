package gateway

import (
	"testing"

	"github.com/racgate/racgate/internal/leakcheck"
)

// TestMain fails the package's tests if any goroutine outlives them: every session,
// shared connection, store heartbeat and render worker must end with its server.
func TestMain(m *testing.M) {
	leakcheck.Main(m)
}
