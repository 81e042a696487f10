package cli

import (
	"time"

	"github.com/redeploy-drill/drill/report"
	"github.com/redeploy-drill/drill/results"
)

// writeJUnit writes the JUnit XML report of these runs (drill run --junit),
// atomically.
func writeJUnit(path string, runs []*results.Run) error {
	return report.WriteFile(path, report.JUnit, report.FromRuns(runs, time.Now()), report.Options{})
}
