package pulse

import (
	"testing"

	"github.com/racgate/racgate/internal/leakcheck"
)

func TestMain(m *testing.M) {
	leakcheck.Main(m)
}
