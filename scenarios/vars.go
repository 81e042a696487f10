package scenarios

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// The variables drill itself gives every step and target of a cycle. They
// are named here, once, so that validation knows exactly what a ${NAME} may
// refer to and the planner and runner set nothing else.
const (
	// ReservedPrefix starts every variable drill sets; spec.env, passEnv
	// and secrets may not use it.
	ReservedPrefix = "DRILL_"
	// OutputPrefix starts the variables of the target's outputs
	// (DRILL_OUTPUT_<NAME>), known only once the target is provisioned.
	OutputPrefix = ReservedPrefix + "OUTPUT_"

	VarRunID      = "DRILL_RUN_ID"
	VarScenario   = "DRILL_SCENARIO"
	VarCycle      = "DRILL_CYCLE"
	VarWorkdir    = "DRILL_WORKDIR"
	VarResultsDir = "DRILL_RESULTS_DIR"
	// VarKubeconfig is set for the steps of a kind or cluster target, after
	// provision.
	VarKubeconfig = "KUBECONFIG"
)

// NotifySecretVar signs drill's webhook notifications (--notify): a
// credential of drill's own, so, unlike other DRILL_* variables of drill's
// environment, it is never given to steps.
const NotifySecretVar = ReservedPrefix + "NOTIFY_SECRET"

// ProvidedVars are the DRILL_* variables the runner sets for every cycle,
// from its start (before provision).
var ProvidedVars = []string{VarRunID, VarScenario, VarCycle, VarWorkdir, VarResultsDir}

// HostVars are the only host variables every step gets besides passEnv and
// DRILL_*: enough for tools to find themselves and a home, nothing that
// silently makes a runbook depend on the operator's shell.
var HostVars = []string{"PATH", "HOME", "TMPDIR", "LANG"}

// LoadOption tunes Load, Parse and Validate.
type LoadOption func(*loadOptions)

type loadOptions struct {
	lookupEnv func(string) (string, bool)
}

// WithLookupEnv sets how the environment drill runs in is read, to know
// which DRILL_* variables it passes through to steps (default os.LookupEnv).
func WithLookupEnv(lookup func(string) (string, bool)) LoadOption {
	return func(o *loadOptions) { o.lookupEnv = lookup }
}

func newLoadOptions(opts []LoadOption) loadOptions {
	o := loadOptions{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	if o.lookupEnv == nil {
		o.lookupEnv = os.LookupEnv
	}
	return o
}

// scope says where a field is expanded: in a target's settings, before
// provision (no outputs yet), or in a step.
type scope int

const (
	stepScope scope = iota
	targetScope
)

// definitions answers, for validation, whether a ${NAME} will be defined
// when drill expands it at run time.
type definitions struct {
	names     map[string]string // spec.env, passEnv and secret names → where they are set
	kube      bool              // a kind or cluster target sets KUBECONFIG for the steps
	lookupEnv func(string) (string, bool)
}

func newDefinitions(sp *Spec, lookup func(string) (string, bool)) *definitions {
	d := &definitions{names: map[string]string{}, kube: sp.Target.Kind != nil || sp.Target.Cluster != nil, lookupEnv: lookup}
	for _, k := range HostVars {
		d.names[k] = "host"
	}
	for k := range sp.Env {
		d.names[k] = "spec.env"
	}
	for _, k := range sp.PassEnv {
		d.names[k] = "spec.passEnv"
	}
	for _, sec := range sp.Secrets {
		if sec.Name != "" {
			d.names[sec.Name] = "spec.secrets"
		}
	}
	return d
}

// undefined returns why name is not defined in scope, or "".
func (d *definitions) undefined(name string, sc scope) string {
	if _, ok := d.names[name]; ok {
		return ""
	}
	if d.kube && sc == stepScope && name == VarKubeconfig {
		return ""
	}
	if strings.HasPrefix(name, OutputPrefix) {
		if sc == targetScope {
			return fmt.Sprintf("${%s} is not defined here: target outputs (%s<NAME>) exist only after provision, so spec.target fields cannot use them", name, OutputPrefix)
		}
		return ""
	}
	if slices.Contains(ProvidedVars, name) {
		return ""
	}
	if name == NotifySecretVar {
		return fmt.Sprintf("${%s} is not defined: it is drill's own credential (the notifications' signing key) and never given to steps", name)
	}
	if strings.HasPrefix(name, ReservedPrefix) {
		if _, ok := d.lookupEnv(name); ok {
			return ""
		}
		return fmt.Sprintf("${%s} is not defined: drill sets %s and %s<NAME> (target outputs); any other %s* variable must be set in the environment drill runs in",
			name, strings.Join(ProvidedVars, ", "), OutputPrefix, ReservedPrefix)
	}
	msg := fmt.Sprintf("${%s} is not defined: set it in spec.env, spec.passEnv or spec.secrets", name)
	if hint := suggest(name, d.candidates()); hint != "" && hint != name {
		msg += fmt.Sprintf(" (did you mean ${%s}?)", hint)
	}
	return msg
}

func (d *definitions) candidates() []string {
	out := make([]string, 0, len(d.names)+len(ProvidedVars))
	for k := range d.names {
		out = append(out, k)
	}
	slices.Sort(out)
	return append(out, ProvidedVars...)
}
