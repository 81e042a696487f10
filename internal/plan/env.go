package plan

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/scenarios"
)

// recipe records how the step environment of s is built, without any
// secret value: spec.env and DRILL_* host variables as values, passEnv by
// name, secrets by where they are read from. A DRILL_* host variable whose
// value holds a secret is recorded by name too. Build resolves the recipe
// to get the run's environment, and drill gc resolves the copy a ledger
// entry holds, so both get the same environment from one code path.
func recipe(s *scenarios.Scenario, opts Options, redactor *drills.Redactor) resultstore.LedgerEnv {
	r := resultstore.LedgerEnv{Values: map[string]string{}}
	for _, kv := range opts.Environ() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, scenarios.ReservedPrefix) || k == scenarios.NotifySecretVar {
			continue
		}
		if redactor.Redact(v) != v {
			r.Pass = append(r.Pass, k)
		} else {
			r.Values[k] = v
		}
	}
	for _, k := range s.Spec.PassEnv {
		if _, inEnv := s.Spec.Env[k]; inEnv {
			continue // spec.env wins
		}
		if _, ok := opts.LookupEnv(k); ok && !slices.Contains(r.Pass, k) {
			r.Pass = append(r.Pass, k)
		}
	}
	maps.Copy(r.Values, s.Spec.Env)
	for _, sec := range s.Spec.Secrets {
		ref := resultstore.LedgerSecret{Name: sec.Name, FromEnv: sec.FromEnv}
		if sec.FromFile != "" {
			ref.FromFile = s.SecretFile(sec)
		}
		r.Secrets = append(r.Secrets, ref)
	}
	slices.Sort(r.Pass)
	return r
}

// EnvError says that an environment recorded in a ledger cannot be built
// again: a variable the run passed through, or a secret's source, is
// missing from this environment.
type EnvError struct {
	Name string // the variable (or secret) that cannot be resolved
	Err  error
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("cannot rebuild the run's environment: %s: %v", e.Name, e.Err)
}

func (e *EnvError) Unwrap() error { return e.Err }

// ResolveEnv builds an environment from a recipe: the host basics (PATH,
// HOME, TMPDIR, LANG) and passed variables from lookup, the recorded
// values, then the secrets read from their sources. It returns the
// environment and the secret values, for the redactor. A passed variable
// or a secret that lookup cannot provide is an *EnvError naming it, and
// every such problem is reported at once.
func ResolveEnv(r resultstore.LedgerEnv, lookup func(string) (string, bool)) (map[string]string, []string, error) {
	env := map[string]string{}
	// The host basics (scenarios.HostVars) are read from the environment
	// resolving the recipe: drill gc uses its own PATH and HOME.
	for _, k := range scenarios.HostVars {
		if v, ok := lookup(k); ok {
			if k == "TMPDIR" && v != "" && !filepath.IsAbs(v) {
				// Steps run in other folders than drill: every path they
				// are handed is absolute.
				if abs, err := filepath.Abs(v); err == nil {
					v = abs
				}
			}
			env[k] = v
		}
	}
	var errs []error
	for _, k := range r.Pass {
		v, ok := lookup(k)
		if !ok {
			errs = append(errs, &EnvError{Name: k, Err: fmt.Errorf("the run passed %s through from its environment, and it is not set here", k)})
			continue
		}
		env[k] = v
	}
	maps.Copy(env, r.Values)
	var secrets []string
	for _, ref := range r.Secrets {
		v, err := scenarios.ReadSecret(scenarios.Secret{Name: ref.Name, FromEnv: ref.FromEnv, FromFile: ref.FromFile}, "secret "+ref.Name, lookup)
		if err != nil {
			errs = append(errs, &EnvError{Name: ref.Name, Err: err})
			continue
		}
		env[ref.Name] = v
		secrets = append(secrets, v)
	}
	if len(errs) > 0 {
		return nil, secrets, joinErrors(errs)
	}
	return env, secrets, nil
}

// joinErrors is errors.Join with one problem per line, the first on the
// first line, so a message names every missing variable readably.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return multiError(errs)
}

type multiError []error

func (m multiError) Error() string {
	lines := make([]string, len(m))
	for i, e := range m {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "; ")
}

func (m multiError) Unwrap() []error { return m }

// cycleRecipe is the recipe of one cycle's environment: the plan's, plus
// the values the runner set for this cycle.
func cycleRecipe(base resultstore.LedgerEnv, env *drills.Env) *resultstore.LedgerEnv {
	r := base
	r.Values = maps.Clone(base.Values)
	if r.Values == nil {
		r.Values = map[string]string{}
	}
	// The variables the runner set for this cycle hold no secret.
	for _, k := range scenarios.ProvidedVars {
		if v, ok := env.Vars[k]; ok {
			r.Values[k] = v
		}
	}
	r.Pass = slices.Clone(base.Pass)
	r.Secrets = slices.Clone(base.Secrets)
	return &r
}
