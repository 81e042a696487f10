package plan

import (
	"context"
	"path/filepath"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/gitsource"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

// gitSource is how each cycle clones spec.source's repository, nil for a
// folder. The URL and ref are expanded for the cycle (target scope, so a
// token from passEnv or secrets can sit in the URL's user part); a
// relative path is relative to the scenario's folder, as the folder form
// is. git runs with the step environment, so it finds HOME's
// configuration and credentials and passEnv's proxy.
func gitSource(s *scenarios.Scenario) *runner.GitSource {
	g := s.Spec.Source.Git
	if g == nil {
		return nil
	}
	base := filepath.Dir(s.File)
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	return &runner.GitSource{
		Record: results.Source{Git: true, URL: gitsource.Display(gitsource.Local(g.URL, base)), Ref: g.Ref, Path: g.Path},
		Clone: func(ctx context.Context, env *drills.Env, root, commit string) (string, string, error) {
			url, err := expand(g.URL, env, "spec.source.git")
			if err != nil {
				return "", "", err
			}
			ref, err := expand(g.Ref, env, "spec.source.ref")
			if err != nil {
				return "", "", err
			}
			c := gitsource.Clone{URL: gitsource.Local(url, base), Ref: ref, Commit: commit, Env: env.Environ(), Out: env.Output()}
			checkedOut, err := c.Run(ctx, root)
			if err != nil {
				return "", "", err
			}
			wd, err := gitsource.Workdir(root, g.Path)
			return checkedOut, wd, err
		},
	}
}
