package plan

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/helm"
	"github.com/redeploy-drill/drill/scenarios"
)

// helmStep expands a helm action's fields at run time, checks its paths
// stay inside the workdir, and builds the step then. Through lazyStep it
// keeps the idempotency check, which reads the same inputs again.
func helmStep(name string, h scenarios.HelmAction, log *zap.Logger) drills.Step {
	return lazyStep{make: func(env *drills.Env) (drills.Step, error) {
		field := func(f string) string { return fmt.Sprintf("step %s: helm.%s", name, f) }
		spec := helm.Spec{Set: map[string]string{}}
		var err error
		if spec.Chart, err = insideWorkdir(h.Chart, env, field("chart")); err != nil {
			return nil, err
		}
		if spec.Release, err = expand(h.Release, env, field("release")); err != nil {
			return nil, err
		}
		if spec.Namespace, err = expand(h.Namespace, env, field("namespace")); err != nil {
			return nil, err
		}
		for i, f := range h.ValuesFiles {
			p, err := insideWorkdir(f, env, field(fmt.Sprintf("valuesFiles[%d]", i)))
			if err != nil {
				return nil, err
			}
			spec.ValuesFiles = append(spec.ValuesFiles, p)
		}
		if len(h.Values) > 0 {
			v, err := expandFree(h.Values, env, field("values"))
			if err != nil {
				return nil, err
			}
			spec.Values = v.(map[string]any)
		}
		for k, v := range h.Set {
			if spec.Set[k], err = expand(v, env, field("set."+k)); err != nil {
				return nil, err
			}
		}
		return helm.New(spec, helm.WithLogger(log)), nil
	}}
}

// expandFree expands ${NAME} in every string of a free-form value, into a
// copy: the scenario's own value is shared by every cycle.
func expandFree(x any, env *drills.Env, field string) (any, error) {
	switch x := x.(type) {
	case string:
		return expand(x, env, field)
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the first error is the same every time
		for _, k := range keys {
			v, err := expandFree(x[k], env, field+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			v, err := expandFree(e, env, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return x, nil
}
