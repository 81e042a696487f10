package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
)

// Outputs returns the root module's outputs (terraform output -json), by
// name: strings as they are, other values as compact JSON. It also records
// which values are sensitive, for SensitiveOutputs. The runner upper-cases
// the names into DRILL_OUTPUT_<NAME>.
func (t *Target) Outputs(ctx context.Context, env *drills.Env) (map[string]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	dir, err := t.resolve(env)
	if err != nil {
		return nil, err
	}
	tf, err := t.terraform(ctx, env, dir, false)
	if err != nil {
		return nil, err
	}
	metas, err := tf.Output(ctx)
	if err != nil {
		return nil, fmt.Errorf("terraform output in %s: %w", dir, err)
	}
	outputs := make(map[string]string, len(metas))
	var sensitive []string
	for name, meta := range metas {
		value, err := outputString(meta.Value)
		if err != nil {
			return nil, fmt.Errorf("terraform output %q in %s: %w", name, dir, err)
		}
		outputs[name] = value
		if meta.Sensitive {
			sensitive = append(sensitive, value)
			sensitive = append(sensitive, stringLeaves(meta.Value)...)
		}
	}
	sort.Strings(sensitive)
	sensitive = slices.Compact(sensitive)
	t.pmu.Lock()
	t.sensitive = sensitive
	t.pmu.Unlock()
	return outputs, nil
}

// outputString renders one output value for a step's environment.
func outputString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("decode value: %w", err)
	}
	return buf.String(), nil
}

// stringLeaves returns the strings nested in a structured JSON value. Numbers
// and booleans are left out: masking "1" or "true" everywhere would garble
// every log while protecting nothing.
func stringLeaves(raw json.RawMessage) []string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	if _, isString := v.(string); !isString {
		walk(v)
	}
	return out
}

// CheckIdempotent plans right after apply and fails with a
// *drills.NotIdempotentError listing what the plan would change: resources as
// "terraform_data.x (update)", outputs as "output.name (update)", since a
// changing output also means re-applying changes the state. The plan file
// holds sensitive values, so it lives in a private folder inside the
// cycle's workdir, removed afterwards: if drill is killed meanwhile, it
// goes with the workdir, which the ledger records for drill gc, rather than
// staying in the system's temporary folder for ever. Whether to run the
// check at all is the runner's call (IdempotencyEnabled).
func (t *Target) CheckIdempotent(ctx context.Context, env *drills.Env) error {
	t.mu.Lock()
	defer t.mu.Unlock()

	dir, err := t.resolve(env)
	if err != nil {
		return err
	}
	tf, err := t.terraform(ctx, env, dir, true)
	if err != nil {
		return err
	}
	t.pmu.RLock()
	root := t.workdir
	t.pmu.RUnlock()
	if root == "" {
		root = dir
	}
	tmp, err := os.MkdirTemp(root, ".drill-terraform-plan-")
	if err != nil {
		return fmt.Errorf("terraform plan: %w", err)
	}
	defer os.RemoveAll(tmp)
	planFile := filepath.Join(tmp, "idempotency.tfplan")

	t.log(env).Debug("terraform plan", zap.String("dir", dir))
	changed, err := tf.Plan(ctx, append(varOptions[tfexec.PlanOption](t, env), tfexec.Out(planFile))...)
	if err != nil {
		return fmt.Errorf("terraform plan in %s: %w", dir, err)
	}
	if !changed {
		return nil
	}
	// The plan's JSON holds sensitive values: keep it out of the step log.
	tf.SetStdout(nil)
	plan, err := tf.ShowPlanFile(ctx, planFile)
	if err != nil {
		return fmt.Errorf("terraform show plan in %s: %w", dir, err)
	}
	changes := planChanges(plan)
	if len(changes) == 0 {
		changes = []string{"(terraform plan reported changes without listing any)"}
	}
	return &drills.NotIdempotentError{Changes: changes}
}

// planChanges lists the resources and outputs a plan would change.
func planChanges(plan *tfjson.Plan) []string {
	var changes []string
	for _, rc := range plan.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Change.Actions.NoOp() {
			continue
		}
		changes = append(changes, fmt.Sprintf("%s (%s)", rc.Address, actionName(rc.Change.Actions)))
	}
	var outputs []string
	for name, oc := range plan.OutputChanges {
		if oc == nil || oc.Actions.NoOp() {
			continue
		}
		outputs = append(outputs, fmt.Sprintf("output.%s (%s)", name, actionName(oc.Actions)))
	}
	sort.Strings(outputs)
	return append(changes, outputs...)
}

func actionName(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return "replace"
	case a.Create():
		return "create"
	case a.Update():
		return "update"
	case a.Delete():
		return "delete"
	case a.Read():
		return "read"
	case a.Forget():
		return "forget"
	}
	names := make([]string, len(a))
	for i, action := range a {
		names[i] = string(action)
	}
	return fmt.Sprint(names)
}

// Leftovers lists the managed resources still in state (terraform show
// -json), by address; nil when none. A folder that is gone or never held
// state has none, and no terraform runs for it.
func (t *Target) Leftovers(ctx context.Context, env *drills.Env) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	dir, ok, err := t.existingDir(env)
	if err != nil || !ok {
		return nil, err
	}
	something, err := hasState(dir, dataDir(env, dir))
	if err != nil {
		return nil, fmt.Errorf("terraform state in %s: %w", dir, err)
	}
	if !something {
		return nil, nil
	}
	tf, err := t.terraform(ctx, env, dir, false)
	if err != nil {
		return nil, err
	}
	if err := t.ensureInit(ctx, env, tf, dir); err != nil {
		return nil, err
	}
	state, err := tf.Show(ctx)
	if err != nil {
		return nil, fmt.Errorf("terraform show in %s: %w", dir, err)
	}
	if state.Values == nil {
		return nil, nil
	}
	return managedAddresses(state.Values.RootModule), nil
}

func managedAddresses(m *tfjson.StateModule) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, r := range m.Resources {
		if r != nil && r.Mode == tfjson.ManagedResourceMode {
			out = append(out, r.Address)
		}
	}
	for _, child := range m.ChildModules {
		out = append(out, managedAddresses(child)...)
	}
	return out
}

// Preexisting reports, before Provision, what of a Terraform target is
// already in the cycle's fresh copy: a terraform.tfstate holding resources
// (each as "terraform_data.x (in infra/terraform.tfstate)") or a copied-in
// .terraform folder. Either means the drill would not start from scratch.
// It reads the files and runs no terraform.
func (t *Target) Preexisting(ctx context.Context, env *drills.Env) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()

	dir, ok, err := t.existingDir(env)
	if err != nil || !ok {
		return nil, err
	}
	t.pmu.RLock()
	root := t.workdir
	t.pmu.RUnlock()
	show := func(path string) string {
		if rel, err := filepath.Rel(root, path); err == nil && root != "" && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
		return path
	}

	var items []string
	statePath := filepath.Join(dir, stateFileName)
	addrs, err := stateResources(statePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		items = append(items, fmt.Sprintf("%s (unreadable state: %v)", show(statePath), err))
	default:
		for _, a := range addrs {
			items = append(items, fmt.Sprintf("%s (in %s)", a, show(statePath)))
		}
	}
	data := dataDir(env, dir)
	if _, err := os.Stat(data); err == nil {
		items = append(items, show(data)+" (a Terraform working directory copied in)")
	}
	return items, nil
}

// rawState is the part of a state file (format version 4) that says which
// resources it holds. Reading the file directly needs no terraform, no
// providers and no init, which a from-scratch check must not perform.
type rawState struct {
	Version   int `json:"version"`
	Resources []struct {
		Module string `json:"module"`
		Mode   string `json:"mode"`
		Type   string `json:"type"`
		Name   string `json:"name"`
	} `json:"resources"`
}

// stateResources returns the addresses of the resources in a local state
// file; an empty file is an empty state, as terraform treats it.
func stateResources(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	var s rawState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	var addrs []string
	for _, r := range s.Resources {
		addr := r.Type + "." + r.Name
		if r.Mode == "data" {
			addr = "data." + addr
		}
		if r.Module != "" {
			addr = r.Module + "." + addr
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// hasState reports whether there may be something to destroy in dir: the
// local state file holds resources, or init recorded a backend (whose state
// lives elsewhere, so only terraform can tell).
func hasState(dir, data string) (bool, error) {
	addrs, err := stateResources(filepath.Join(dir, stateFileName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		// A state file terraform may still read: let terraform decide.
		return true, nil
	case len(addrs) > 0:
		return true, nil
	}
	b, err := os.ReadFile(filepath.Join(data, stateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var backend struct {
		Backend *struct {
			Type string `json:"type"`
		} `json:"backend"`
	}
	if err := json.Unmarshal(b, &backend); err != nil {
		return true, nil
	}
	return backend.Backend != nil && backend.Backend.Type != "", nil
}
