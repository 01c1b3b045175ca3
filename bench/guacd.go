package main

import (
	"context"

	"github.com/racgate/racgate/bench/report"
)

// guacd runs sc through guacd. Not wired yet.
func (h *harness) guacd(ctx context.Context, sc scenario, label string) report.Result {
	return report.Result{Scenario: sc.Name, Variant: sc.Variant, Gateway: "guacd", Sessions: sc.Sessions, Goroutines: -1,
		Skipped: "guacd runner not wired yet"}
}
