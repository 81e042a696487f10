package drills

import (
	"io"
	"sort"

	"go.uber.org/zap"
)

// Env is what a step or target of one cycle sees. The runner builds one per
// cycle and points Log at the current step's log file before each step;
// steps run one after another, so they may record state here (Applied).
type Env struct {
	RunID    string
	Scenario string
	Cycle    int
	// Workdir is the cycle's fresh folder holding a copy of the scenario's source.
	Workdir string
	// RunDir is the run's folder under the results folder (<results>/<scenario>/<run-id>):
	// kubeconfigs, exported cluster logs and step logs live there.
	RunDir string
	// Vars is the whole environment of a step: spec.env, passEnv, PATH, HOME,
	// TMPDIR, LANG, DRILL_* and the target's outputs. Nothing else leaks in.
	Vars map[string]string
	// Log receives the step's output; it redacts secrets before they reach disk.
	Log io.Writer
	// Logger is for drill's own diagnostics, never for step output.
	Logger *zap.Logger
	// Redactor masks every secret of the scenario.
	Redactor *Redactor
	// Target is the cycle's provisioned target, for steps that talk to it (apply, wait).
	Target Target
	// Applied lists what apply steps of this cycle created, so that a wait step
	// with no names waits for all of it.
	Applied []ObjectRef
	// Cleanups keeps what steps ask to be removed at the end of the cycle
	// (Defer); the runner sets it.
	Cleanups Deferrer
}

// ObjectRef names a Kubernetes object an apply step created.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// Environ returns Vars as KEY=VALUE pairs, sorted so that runs are reproducible.
func (e *Env) Environ() []string {
	out := make([]string, 0, len(e.Vars))
	for k, v := range e.Vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the value of a step variable, for ${NAME} expansion.
func (e *Env) Lookup(name string) (string, bool) {
	v, ok := e.Vars[name]
	return v, ok
}

// Output returns the writer for step output, never nil.
func (e *Env) Output() io.Writer {
	if e.Log == nil {
		return io.Discard
	}
	return e.Log
}

// ZapLogger returns the diagnostic logger, never nil.
func (e *Env) ZapLogger() *zap.Logger {
	if e.Logger == nil {
		return zap.NewNop()
	}
	return e.Logger
}
