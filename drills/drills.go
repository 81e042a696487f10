// Package drills holds the small interfaces that every action and target of a
// drill implements, the environment a step runs in, and the typed errors the
// runner branches on. Concrete actions and targets live in sub-packages
// (drills/run, drills/http, drills/terraform, drills/kind, ...), so that the
// runner can be tested with fakes and never imports Terraform or kind code.
package drills

import (
	"context"
)

// Step is one action of a scenario: a script, an HTTP probe, a manifest
// apply. A step does not know its name, phase or timeout; the runner attaches
// those and hands every step the context and the environment of its cycle.
type Step interface {
	Run(ctx context.Context, env *Env) error
}

// StepFunc adapts a function to Step, like http.HandlerFunc.
type StepFunc func(ctx context.Context, env *Env) error

// Run calls f.
func (f StepFunc) Run(ctx context.Context, env *Env) error { return f(ctx, env) }

// Target is what a cycle provisions from scratch and destroys at its end.
type Target interface {
	// Name identifies the target in logs and results ("terraform", "kind", "none").
	Name() string
	// Provision builds the target from nothing.
	Provision(ctx context.Context, env *Env) error
	// Destroy removes the target. It is idempotent: nothing there is not an error.
	Destroy(ctx context.Context, env *Env) error
}

// Optional capabilities of a Target, found by type assertion so that the
// Target interface stays small (kind's maybeSetVerbosity does the same).

// Outputter is a target that exposes values to the steps, as DRILL_OUTPUT_<NAME>.
type Outputter interface {
	Outputs(ctx context.Context, env *Env) (map[string]string, error)
}

// Sensitive is an Outputter that knows which of its outputs are secrets, so
// the runner can redact them like spec.secrets.
type Sensitive interface {
	SensitiveOutputs() []string
}

// IdempotencyChecker is a target or a step that can tell whether
// re-applying right after deploy would change anything (a Terraform plan
// must be empty, an apply's dry-run re-apply must change nothing).
type IdempotencyChecker interface {
	CheckIdempotent(ctx context.Context, env *Env) error
}

// LeftoverChecker is a target that can list what is still there after Destroy.
type LeftoverChecker interface {
	Leftovers(ctx context.Context, env *Env) ([]string, error)
}

// ScratchChecker is a target that can tell, before provisioning, whether
// something of its name already exists (the from-scratch guideline check).
type ScratchChecker interface {
	Preexisting(ctx context.Context, env *Env) ([]string, error)
}

// LogExporter is a target that can save diagnostic logs into dir before it is
// destroyed after a failure (kind's export logs).
type LogExporter interface {
	ExportLogs(ctx context.Context, env *Env, dir string) error
}

// Applier is a target that can server-side apply manifests. Apply and wait
// actions find it through Env.Target.
type Applier interface {
	Kubeconfig() string
}

// ImageLoader is a target that can load local Docker images into its cluster
// (kind's nodes), so that an image a step built from the cycle's source runs
// there without a registry. The loadImages action finds it through Env.Target.
type ImageLoader interface {
	LoadImages(ctx context.Context, env *Env, images []string) error
}

// NamespaceDefaulter is a target whose steps work in a namespace of their own (the cluster
// target's per-cycle namespace): apply, wait and helm use it when they name none.
type NamespaceDefaulter interface {
	DefaultNamespace() string
}
