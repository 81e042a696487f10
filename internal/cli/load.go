package cli

import (
	"errors"
	"fmt"

	"github.com/redeploy-drill/drill/scenarios"
)

// loadAll discovers and loads every scenario under paths. All invalid files
// are reported, not just the first; any problem is exit 2.
func loadAll(paths []string) ([]*scenarios.Scenario, error) {
	files, err := scenarios.Discover(paths)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	if len(files) == 0 {
		return nil, exitf(ExitUsage, "no scenario (kind: Scenario) found in %v", paths)
	}
	var (
		out  []*scenarios.Scenario
		errs []error
	)
	names := map[string]string{}
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := names[s.Metadata.Name]; ok {
			errs = append(errs, fmt.Errorf("%s: metadata.name %q is also used by %s: names must be unique, they name the results folder", f, s.Metadata.Name, prev))
			continue
		}
		names[s.Metadata.Name] = f
		out = append(out, s)
	}
	if len(errs) > 0 {
		return out, &ExitError{Code: ExitUsage, Err: errors.Join(errs...)}
	}
	return out, nil
}
