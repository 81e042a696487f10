// Package plan turns a loaded scenario into a runner.Plan: it maps each YAML
// action to a drills step, each target to a drills target, resolves
// timeouts, retries and owners, and builds the clean environment steps get.
package plan

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	drillhttp "github.com/redeploy-drill/drill/drills/http"
	"github.com/redeploy-drill/drill/drills/none"
	"github.com/redeploy-drill/drill/drills/run"
	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/notify"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

// Options tune Build. The zero value reads the process environment.
type Options struct {
	// LookupEnv reads the host environment (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Environ lists the host environment, for DRILL_* (default os.Environ).
	// Validation (scenarios.WithLookupEnv) must see the same environment,
	// or a ${DRILL_...} it accepted may be undefined here.
	Environ func() []string
	Logger  *zap.Logger
	// TerraformRelay is the drill binary, which terraform runs behind so that
	// it outlives a killed drill (terraform.WithRelay). Empty: no relay.
	TerraformRelay string
}

// Build makes a runnable plan of a scenario. It reads secrets, so it fails
// when one is missing; it starts nothing.
func Build(s *scenarios.Scenario, opts Options) (*runner.Plan, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	env, secrets, envRecipe, err := baseEnv(s, opts)
	if err != nil {
		return nil, err
	}
	p := &runner.Plan{
		Scenario: results.ScenarioRef{
			Name: s.Metadata.Name, File: s.File, Owner: s.Metadata.Owner,
			Labels: s.Metadata.Labels, SHA256: s.SHA256,
		},
		Cycles:    s.Spec.Cycles,
		Budget:    s.Spec.Budget.D(),
		Freshness: s.Spec.Freshness.D(),
		Source:    s.Spec.Source.Dir,
		Git:       gitSource(s),
		Env:       env,
		Secrets:   secrets,
	}
	if p.Notify, err = notifyHooks(s, env); err != nil {
		return nil, err
	}
	if p.Target, err = target(s, opts, envRecipe); err != nil {
		return nil, err
	}
	// Resolved by the loader (scenarios.DefaultTimeout when unset), the
	// one place step defaults are decided.
	p.DefaultTimeout = s.Spec.Defaults.Timeout.D()
	for _, st := range s.Spec.Steps {
		p.Steps = append(p.Steps, step(s, st, st.Phase, opts.Logger))
	}
	for _, st := range s.Spec.Teardown {
		p.Teardown = append(p.Teardown, step(s, st, results.PhaseTeardown, opts.Logger))
	}
	return p, nil
}

// baseEnv is the environment every step starts from, the secret values,
// and the recipe it was built from (which a ledger keeps for drill gc). The
// secrets are read first through the scenario, so a missing one is named
// by its field (spec.secrets[1].fromEnv).
func baseEnv(s *scenarios.Scenario, opts Options) (map[string]string, []string, resultstore.LedgerEnv, error) {
	values, err := s.ResolveSecrets(opts.LookupEnv)
	if err != nil {
		return nil, nil, resultstore.LedgerEnv{}, err
	}
	secrets := make([]string, 0, len(values))
	for _, v := range values {
		secrets = append(secrets, v)
	}
	r := recipe(s, opts, drills.NewRedactor(secrets...))
	env, secrets, err := ResolveEnv(r, opts.LookupEnv)
	if err != nil {
		return nil, nil, r, err
	}
	return env, secrets, r, nil
}

func target(s *scenarios.Scenario, opts Options, envRecipe resultstore.LedgerEnv) (runner.TargetPlan, error) {
	log, relay := opts.Logger, opts.TerraformRelay
	timeout := s.Spec.Defaults.Timeout.D()
	if timeout <= 0 {
		timeout = scenarios.DefaultTimeout
	}
	t := s.Spec.Target
	switch {
	case t.Terraform != nil:
		tf := t.Terraform
		idem := tf.Idempotent == nil || *tf.Idempotent
		spec := TerraformSpec{Dir: tf.Dir, Vars: tf.Vars, VarFiles: tf.VarFiles}
		return runner.TargetPlan{
			Kind: "terraform", Timeout: timeout, Idempotent: idem,
			New: func(env *drills.Env) (drills.Target, error) {
				opts := []terraform.Option{terraform.WithIdempotencyCheck(idem), terraform.WithLogger(log)}
				if relay != "" {
					opts = append(opts, terraform.WithRelay(relay))
				}
				return NewTerraform(spec, env, opts...)
			},
			Ledger: func(env *drills.Env, t drills.Target) *resultstore.LedgerEntry {
				tt, ok := t.(*terraform.Target)
				if !ok {
					return nil
				}
				execPath, _ := tt.FindExec(env)
				return &resultstore.LedgerEntry{Kind: resultstore.LedgerTerraform, Env: cycleRecipe(envRecipe, env),
					Terraform: &resultstore.LedgerTerraformTarget{
						WorkingDir: tt.WorkingDir(), Workdir: env.Workdir, ExecPath: execPath,
						Vars: maps.Clone(spec.Vars), VarFiles: slices.Clone(spec.VarFiles),
					}}
			},
		}, nil
	case t.Kind != nil:
		return kindTarget(s, t.Kind, timeout, log), nil
	case t.Cluster != nil:
		return clusterTarget(s, t.Cluster, timeout, log, opts.LookupEnv), nil
	case t.Compose != nil:
		return composeTarget(s, t.Compose, timeout, log), nil
	default:
		return runner.TargetPlan{Kind: "none", Timeout: timeout,
			New: func(*drills.Env) (drills.Target, error) { return none.Target{}, nil }}, nil
	}
}

func step(s *scenarios.Scenario, st scenarios.Step, phase string, log *zap.Logger) runner.Step {
	out := runner.Step{
		Name: st.Name, Phase: phase, Owner: st.Owner,
		Timeout: st.Timeout.D(), RetryDelay: st.RetryDelay.D(),
		Manual:         st.Manual,
		IdempotencyOff: st.Idempotent != nil && !*st.Idempotent,
	}
	if st.Retries != nil {
		out.Retries = *st.Retries
	}
	if out.Timeout <= 0 {
		out.Timeout = s.Spec.Defaults.Timeout.D()
	}
	if out.Timeout <= 0 {
		out.Timeout = scenarios.DefaultTimeout
	}
	field := func(name string) string { return fmt.Sprintf("step %s: %s", st.Name, name) }
	switch {
	case st.Run != nil:
		// The script is not expanded by drill: bash expands ${NAME} from the
		// very same environment, and the script's own variables keep working.
		out.Kind, out.Action = "run", run.New(*st.Run)
	case st.HTTP != nil:
		h := *st.HTTP
		out.Kind = "http"
		out.Action = drills.StepFunc(func(ctx context.Context, env *drills.Env) error {
			spec := drillhttp.Spec{Status: h.Status, Within: h.Within.D(), Interval: h.Interval.D(), Headers: map[string]string{}}
			var err error
			if spec.URL, err = expand(h.URL, env, field("http.url")); err != nil {
				return err
			}
			if spec.Method, err = expand(h.Method, env, field("http.method")); err != nil {
				return err
			}
			if spec.Body, err = expand(h.Body, env, field("http.body")); err != nil {
				return err
			}
			for k, v := range h.Headers {
				if spec.Headers[k], err = expand(v, env, field("http.headers."+k)); err != nil {
					return err
				}
			}
			return drillhttp.New(spec).Run(ctx, env)
		})
	case st.Apply != nil:
		out.Kind, out.Action = "apply", applyStep(st.Name, *st.Apply)
	case st.Wait != nil:
		out.Kind, out.Action = "wait", waitStep(st.Name, *st.Wait)
	case st.LoadImages != nil:
		out.Kind, out.Action = "loadImages", loadImagesStep(st.Name, st.LoadImages)
	case st.Helm != nil:
		out.Kind, out.Action = "helm", helmStep(st.Name, *st.Helm, log)
	default:
		out.Kind = "manual"
	}
	return out
}

// expand resolves ${NAME} in a field at run time, when the target's outputs
// are known; the error names the field.
func expand(s string, env *drills.Env, field string) (string, error) {
	v, err := scenarios.Expand(s, env.Lookup)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return v, nil
}

// Describe returns a human description of a step's action for `drill plan`.
func Describe(st scenarios.Step) string { return DescribeIn(st, "") }

// DescribeIn is Describe for a step of a target whose steps work in
// targetNS when they name no namespace ("": Kubernetes' default).
func DescribeIn(st scenarios.Step, targetNS string) string {
	switch {
	case st.Run != nil:
		line, _, more := strings.Cut(strings.TrimSpace(*st.Run), "\n")
		if more {
			line += " …"
		}
		return "run: " + line
	case st.HTTP != nil:
		return fmt.Sprintf("http: %s %s → %d within %s", st.HTTP.Method, st.HTTP.URL, st.HTTP.Status, time.Duration(st.HTTP.Within))
	case st.Apply != nil:
		return "apply: " + filepath.ToSlash(st.Apply.Path)
	case st.Wait != nil:
		if len(st.Wait.Resources) == 0 {
			return "wait: everything applied"
		}
		return "wait: " + strings.Join(st.Wait.Resources, ", ")
	case st.LoadImages != nil:
		return "loadImages: " + strings.Join(st.LoadImages, ", ")
	case st.Helm != nil:
		return fmt.Sprintf("helm: %s as release %s in %s", filepath.ToSlash(st.Helm.Chart), st.Helm.Release, helmNamespace(*st.Helm, targetNS))
	}
	return "manual: " + st.Manual
}

// helmNamespace is where a helm step's release lives, as drills/helm
// resolves it: its own namespace, else the target's, else "default".
func helmNamespace(h scenarios.HelmAction, targetNS string) string {
	switch {
	case h.Namespace != "":
		return h.Namespace
	case targetNS != "":
		return targetNS
	}
	return "default"
}

// Cleanups describes, for `drill plan`, what the runner does at the end of
// each cycle, before the destroy, for what the steps deferred: the
// uninstall of every release a helm step installs, newest first (a later
// step upgrading the same release adds none).
func Cleanups(s *scenarios.Scenario, targetNS string) []CleanupPlan {
	var out []CleanupPlan
	seen := map[string]bool{}
	for _, st := range append(slices.Clone(s.Spec.Steps), s.Spec.Teardown...) {
		h := st.Helm
		if h == nil {
			continue
		}
		ns := helmNamespace(*h, targetNS)
		if key := ns + "/" + h.Release; !seen[key] {
			seen[key] = true
			out = append(out, CleanupPlan{
				Name:   "uninstall " + h.Release,
				Action: fmt.Sprintf("helm uninstall %s from %s (foreground, no history kept), check nothing of it is left", h.Release, ns),
			})
		}
	}
	slices.Reverse(out)
	return out
}

// CleanupPlan is one cleanup a cycle runs before its destroy.
type CleanupPlan struct {
	Name, Action string
}

// notifyHooks expands spec.notify with the base environment: a webhook's
// URL and signing secret usually come from spec.secrets.
func notifyHooks(s *scenarios.Scenario, env map[string]string) ([]runner.NotifyHook, error) {
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	var hooks []runner.NotifyHook
	for i, n := range s.Spec.Notify {
		field := fmt.Sprintf("spec.notify[%d]", i)
		u, err := scenarios.Expand(n.URL, lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %s.url: %w", s.File, field, err)
		}
		if err := notify.ParseURL(field+".url", u); err != nil {
			return nil, fmt.Errorf("%s: %w (once expanded)", s.File, err)
		}
		secret, err := scenarios.Expand(n.Secret, lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %s.secret: %w", s.File, field, err)
		}
		hooks = append(hooks, runner.NotifyHook{URL: u, Secret: secret, Format: n.Format})
	}
	return hooks, nil
}
