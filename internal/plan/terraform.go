package plan

import (
	"fmt"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/resultstore"
)

// TerraformSpec is a Terraform target's fields as the scenario wrote them,
// ${NAME} references unexpanded. A run's ledger keeps them that way, so no
// secret value is ever written there.
type TerraformSpec struct {
	// Dir is the configuration folder, relative to the cycle's workdir (or,
	// from a ledger, the absolute folder inside it).
	Dir      string
	Vars     map[string]string
	VarFiles []string
}

// NewTerraform builds the Terraform target of one cycle: every field
// expanded from env (the cycle's step environment), every path checked to
// stay inside env.Workdir after expansion. A run builds its target here and
// drill gc builds the target of a dead run's ledger entry here, so gc's
// destroy runs with exactly the variables and files the run's would have.
func NewTerraform(spec TerraformSpec, env *drills.Env, opts ...terraform.Option) (*terraform.Target, error) {
	dir, err := insideWorkdir(spec.Dir, env, "spec.target.terraform.dir")
	if err != nil {
		return nil, err
	}
	vars := make(map[string]string, len(spec.Vars))
	for k, v := range spec.Vars {
		if vars[k], err = expand(v, env, "spec.target.terraform.vars."+k); err != nil {
			return nil, err
		}
	}
	files := make([]string, 0, len(spec.VarFiles))
	for i, f := range spec.VarFiles {
		path, err := insideWorkdir(f, env, fmt.Sprintf("spec.target.terraform.varFiles[%d]", i))
		if err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	opts = append([]terraform.Option{terraform.WithVars(vars), terraform.WithVarFiles(files)}, opts...)
	return terraform.New(dir, opts...), nil
}

// TerraformFromLedger builds the Terraform target a ledger entry records,
// for drill gc: env must hold the entry's environment rebuilt with
// ResolveEnv, and env.Workdir the cycle's workdir.
func TerraformFromLedger(e *resultstore.LedgerTerraformTarget, env *drills.Env, opts ...terraform.Option) (*terraform.Target, error) {
	if e.ExecPath != "" {
		opts = append(opts, terraform.WithExecPath(e.ExecPath))
	}
	return NewTerraform(TerraformSpec{Dir: e.WorkingDir, Vars: e.Vars, VarFiles: e.VarFiles}, env, opts...)
}
