package cli

import (
	"fmt"
	"github.com/redeploy-drill/drill/results"
)

// writeJUnit writes the JUnit XML report of these runs (drill run --junit).
func writeJUnit(path string, runs []*results.Run) error {
	return fmt.Errorf("junit report of %d runs to %s: renderer not wired yet", len(runs), path)
}
