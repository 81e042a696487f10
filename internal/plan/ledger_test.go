package plan_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/scenarios"
)

// ledgerHost is a host environment whose DRILL_* variables include one
// holding the secret value (the secret's own source).
var ledgerHost = map[string]string{
	"PATH": "/usr/bin:/bin", "HOME": "/home/sre", "TMPDIR": "/tmp",
	"AWS_PROFILE": "drills", "DRILL_DB_PASSWORD": "s3cr3t-pw", "DRILL_KIND_NODE_IMAGE": "kindest/node:test",
}

const ledgerScenario = `apiVersion: drill/v1
kind: Scenario
metadata: {name: web}
spec:
  env: {APP_PORT: "18080"}
  passEnv: [AWS_PROFILE]
  secrets:
    - {name: DB_PASSWORD, fromEnv: DRILL_DB_PASSWORD}
    - {name: API_KEY, fromFile: api.key}
  target:
    terraform:
      dir: infra
      vars: {port: "${APP_PORT}", password: "${DB_PASSWORD}", key: "${API_KEY}"}
      varFiles: ["vars/${APP_PORT}.tfvars"]
  steps:
    - {name: build, run: "true"}
`

// ledgerEntry builds the plan of ledgerScenario and the ledger entry of its
// Terraform target for one cycle in a real workdir.
func ledgerEntry(t *testing.T) (*resultstore.LedgerEntry, *drills.Env) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	require.NoError(t, os.WriteFile(file, []byte(ledgerScenario), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api.key"), []byte("key-from-file\n"), 0o600))
	s, err := scenarios.Load(file, scenarios.WithLookupEnv(func(k string) (string, bool) { v, ok := ledgerHost[k]; return v, ok }))
	require.NoError(t, err)
	p, err := plan.Build(s, optionsOf(ledgerHost))
	require.NoError(t, err)

	workdir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(workdir, "infra"), 0o755))
	env := &drills.Env{RunID: "20261201T000000Z-abcdef", Scenario: "web", Cycle: 1, Workdir: workdir, Vars: map[string]string{}}
	for k, v := range p.Env {
		env.Vars[k] = v
	}
	env.Vars[scenarios.VarRunID] = env.RunID
	env.Vars[scenarios.VarWorkdir] = workdir
	target, err := p.Target.New(env)
	require.NoError(t, err)
	e := p.Target.Ledger(env, target)
	require.NotNil(t, e)
	return e, env
}

// The ledger records how to rebuild terraform's environment and variables
// without a single secret value: secrets by where they are read, a DRILL_*
// variable holding a secret by name, Terraform variables unexpanded.
func TestLedgerEntryHoldsNoSecretValue(t *testing.T) {
	e, env := ledgerEntry(t)
	data, err := json.Marshal(e)
	require.NoError(t, err)
	for _, secret := range []string{"s3cr3t-pw", "key-from-file"} {
		assert.NotContains(t, string(data), secret)
	}
	require.NotNil(t, e.Env)
	assert.Equal(t, "18080", e.Env.Values["APP_PORT"])
	assert.Equal(t, "kindest/node:test", e.Env.Values["DRILL_KIND_NODE_IMAGE"], "a DRILL_* value without a secret is kept as it is")
	assert.Equal(t, env.RunID, e.Env.Values[scenarios.VarRunID], "the cycle's own variables")
	assert.Equal(t, []string{"AWS_PROFILE", "DRILL_DB_PASSWORD"}, e.Env.Pass, "passEnv, and the DRILL_* variable holding a secret, by name")
	require.Len(t, e.Env.Secrets, 2)
	assert.Equal(t, resultstore.LedgerSecret{Name: "DB_PASSWORD", FromEnv: "DRILL_DB_PASSWORD"}, e.Env.Secrets[0])
	assert.True(t, filepath.IsAbs(e.Env.Secrets[1].FromFile), "a fromFile secret by its absolute path")
	assert.Equal(t, "${DB_PASSWORD}", e.Terraform.Vars["password"], "Terraform variables as the scenario wrote them")
	assert.Equal(t, filepath.Join(env.Workdir, "infra"), e.Terraform.WorkingDir)
	assert.Equal(t, env.Workdir, e.Terraform.Workdir)
}

// drill gc rebuilds exactly the run's environment from the entry, reading
// the secrets again; what it cannot resolve is named and nothing is built.
func TestResolveEnvRebuildsTheRunsEnvironment(t *testing.T) {
	e, _ := ledgerEntry(t)
	vars, secrets, err := plan.ResolveEnv(*e.Env, func(k string) (string, bool) { v, ok := ledgerHost[k]; return v, ok })
	require.NoError(t, err)
	assert.Equal(t, "s3cr3t-pw", vars["DB_PASSWORD"])
	assert.Equal(t, "key-from-file", vars["API_KEY"])
	assert.Equal(t, "drills", vars["AWS_PROFILE"])
	assert.Equal(t, "18080", vars["APP_PORT"])
	assert.ElementsMatch(t, []string{"s3cr3t-pw", "key-from-file"}, secrets)

	workdir := filepath.Dir(e.Terraform.WorkingDir)
	env := &drills.Env{Workdir: workdir, Vars: vars}
	tf, err := plan.TerraformFromLedger(e.Terraform, env)
	require.NoError(t, err)
	assert.Equal(t, e.Terraform.WorkingDir, tf.WorkingDir())

	without := func(k string) (string, bool) {
		if k == "DRILL_DB_PASSWORD" || k == "AWS_PROFILE" {
			return "", false
		}
		v, ok := ledgerHost[k]
		return v, ok
	}
	_, _, err = plan.ResolveEnv(*e.Env, without)
	require.Error(t, err)
	var envErr *plan.EnvError
	require.ErrorAs(t, err, &envErr)
	for _, name := range []string{"AWS_PROFILE", "DRILL_DB_PASSWORD", "DB_PASSWORD"} {
		assert.Contains(t, err.Error(), name, "every missing variable is named")
	}
}

// Path fields are checked after ${NAME} expansion and through symlinks:
// they must stay inside the workdir at run time.
func TestPathsStayInsideTheWorkdirAfterExpansion(t *testing.T) {
	workdir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(workdir, "infra"), 0o755))
	require.NoError(t, os.Symlink("/etc", filepath.Join(workdir, "escape")))
	for name, tc := range map[string]struct {
		dir, varFile string
		vars         map[string]string
		wantErr      string
	}{
		"inside":                   {dir: "infra", varFile: "infra/x.tfvars"},
		"a variable climbing out":  {dir: "${UP}/infra", vars: map[string]string{"UP": "../.."}, wantErr: "spec.target.terraform.dir: \"${UP}/infra\" (expanded: \"../../infra\") leaves the workdir"},
		"an absolute value":        {dir: "${ABS}", vars: map[string]string{"ABS": "/etc"}, wantErr: "leaves the workdir"},
		"through a symlink":        {dir: "escape", wantErr: "leads outside the workdir through a symlink (to /etc)"},
		"a var file through it":    {dir: "infra", varFile: "escape/passwd", wantErr: "spec.target.terraform.varFiles[0]"},
		"a missing file under one": {dir: "infra", varFile: "escape/nothing/x.tfvars", wantErr: "through a symlink"},
	} {
		t.Run(name, func(t *testing.T) {
			env := &drills.Env{Workdir: workdir, Vars: tc.vars}
			spec := plan.TerraformSpec{Dir: tc.dir}
			if tc.varFile != "" {
				spec.VarFiles = []string{tc.varFile}
			}
			tf, err := plan.NewTerraform(spec, env, terraform.WithIdempotencyCheck(false))
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, filepath.Join(workdir, "infra"), tf.WorkingDir())
				return
			}
			require.Error(t, err)
			var pe *plan.PathError
			assert.ErrorAs(t, err, &pe)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
