package plan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/compose"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

// Docker's own variables for which engine to talk to. A compose-project
// ledger entry records them when the run's steps had them, so that drill
// gc removes the project from the same engine.
const (
	dockerHostVar    = "DOCKER_HOST"
	dockerContextVar = "DOCKER_CONTEXT"
)

func composeTarget(s *scenarios.Scenario, c *scenarios.ComposeTarget, timeout time.Duration, log *zap.Logger) runner.TargetPlan {
	build := c.Build == nil || *c.Build
	return runner.TargetPlan{
		// Provision gets the step timeout for building, plus the wait.
		Kind: "compose", Timeout: timeout + c.Wait.D(), Idempotent: true,
		New: func(env *drills.Env) (drills.Target, error) {
			project, err := composeProject(s, c, env)
			if err != nil {
				return nil, err
			}
			files := make([]string, len(c.Files))
			for i, f := range c.Files {
				if files[i], err = insideWorkdir(f, env, fmt.Sprintf("spec.target.compose.files[%d]", i)); err != nil {
					return nil, err
				}
			}
			return compose.New(project, files, compose.WithBuild(build), compose.WithWait(c.Wait.D()), compose.WithLogger(log)), nil
		},
		Ledger: func(env *drills.Env, t drills.Target) *resultstore.LedgerEntry {
			ct, ok := t.(*compose.Target)
			if !ok {
				return nil
			}
			return &resultstore.LedgerEntry{Kind: resultstore.LedgerComposeProject, Project: ct.Project(), Images: ct.Images(),
				DockerHost: env.Vars[dockerHostVar], DockerContext: env.Vars[dockerContextVar]}
		},
	}
}

// composeProject is the cycle's project name: spec.target.compose.project
// expanded, else compose.ProjectName.
func composeProject(s *scenarios.Scenario, c *scenarios.ComposeTarget, env *drills.Env) (string, error) {
	if c.Project == "" {
		return compose.ProjectName(s.Metadata.Name, env.RunID, env.Cycle), nil
	}
	p, err := expand(c.Project, env, "spec.target.compose.project")
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", fmt.Errorf("spec.target.compose.project: %q expands to nothing", c.Project)
	}
	return p, nil
}

// ComposeFromLedger is the target drill gc takes a dead run's project down
// with: no compose file (the workdir may be gone), the images by the names
// the ledger recorded, those only when created since the entry was written
// (before `up`), on the engine the run used.
func ComposeFromLedger(e resultstore.LedgerEntry, env *drills.Env, log *zap.Logger) *compose.Target {
	if e.DockerHost != "" {
		env.Vars[dockerHostVar] = e.DockerHost
	}
	if e.DockerContext != "" {
		env.Vars[dockerContextVar] = e.DockerContext
	}
	return compose.New(e.Project, nil, compose.WithImages(e.Images), compose.WithSince(e.Time), compose.WithLogger(log))
}

// validateRunID stands for the run ID while a scenario is validated or
// planned: project names and ${DRILL_RUN_ID} need one.
const validateRunID = "00000000T000000Z-run"

// composeVars is the step environment as far as it is known before a run,
// for interpolating compose files in `drill validate` and `drill plan`:
// the host basics, spec.env, passEnv and DRILL_* variables read from
// lookup, a placeholder for each secret (never its value: validation does
// not read secrets) and for what drill sets per run.
func composeVars(s *scenarios.Scenario, lookup func(string) (string, bool), environ func() []string) map[string]string {
	vars := map[string]string{}
	for _, kv := range environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, scenarios.ReservedPrefix) {
			vars[k] = v
		}
	}
	for _, k := range append(append([]string(nil), scenarios.HostVars...), s.Spec.PassEnv...) {
		if v, ok := lookup(k); ok {
			vars[k] = v
		}
	}
	for k, v := range s.Spec.Env {
		vars[k] = v
	}
	for _, sec := range s.Spec.Secrets {
		vars[sec.Name] = "secret"
	}
	vars[scenarios.VarRunID] = validateRunID
	vars[scenarios.VarScenario] = s.Metadata.Name
	vars[scenarios.VarCycle] = "1"
	vars[scenarios.VarWorkdir] = s.Spec.Source.Dir
	return vars
}

// ComposeServices loads the compose files of a scenario's compose target
// from its source, as its first cycle would see them, for `drill plan`
// and the check of CheckCompose. lookup and environ read the host
// environment (nil: the process's own).
func ComposeServices(ctx context.Context, s *scenarios.Scenario, lookup func(string) (string, bool), environ func() []string) ([]compose.Service, error) {
	c := s.Spec.Target.Compose
	if c == nil || s.Spec.Source.Git != nil {
		// A repository's compose files are read when a cycle has cloned it.
		return nil, nil
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if environ == nil {
		environ = os.Environ
	}
	vars := composeVars(s, lookup, environ)
	env := &drills.Env{RunID: validateRunID, Scenario: s.Metadata.Name, Cycle: 1, Workdir: s.Spec.Source.Dir, Vars: vars}
	files := make([]string, len(c.Files))
	for i, f := range c.Files {
		var err error
		if files[i], err = expand(f, env, fmt.Sprintf("spec.target.compose.files[%d]", i)); err != nil {
			return nil, &compose.FileError{Index: i, File: f, Err: err}
		}
	}
	project, err := composeProject(s, c, env)
	if err != nil {
		return nil, &compose.FileError{Index: -1, Err: err}
	}
	return compose.Load(ctx, s.Spec.Source.Dir, files, project, vars)
}

// CheckCompose checks, for `drill validate` and before `drill run`, that
// the compose files of a scenario's compose target exist inside its source
// and load (compose-go: YAML, the compose schema, interpolation). A
// problem is a *scenarios.LoadError at spec.target.compose.files[i] (or at
// spec.target.compose.files when the files only fail together). Other
// targets, and a source each cycle clones, pass.
func CheckCompose(ctx context.Context, s *scenarios.Scenario, lookup func(string) (string, bool), environ func() []string) error {
	if s.Spec.Target.Compose == nil {
		return nil
	}
	_, err := ComposeServices(ctx, s, lookup, environ)
	if err == nil {
		return nil
	}
	field := "spec.target.compose.files"
	msg := err.Error()
	var fe *compose.FileError
	if errors.As(err, &fe) {
		if fe.Index >= 0 {
			field += "[" + strconv.Itoa(fe.Index) + "]"
		}
		msg = fe.Error()
	}
	line, col := s.Pos(field)
	return &scenarios.LoadError{Problems: []scenarios.Problem{{File: s.File, Line: line, Column: col, Field: field,
		Message: "compose: " + msg}}}
}
