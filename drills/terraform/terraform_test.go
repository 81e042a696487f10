package terraform_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// configDir is where each test puts its configuration inside the workdir,
// the way a scenario names spec.target.terraform.dir.
const configDir = "infra"

const installHint = "install it with `make tools` or `go install github.com/hashicorp/terraform@v1.5.7`"

func requireTerraform(t *testing.T) {
	t.Helper()
	testtools.Need(t, "terraform", "install it with `make tools`")
}

// newWorkdir is a cycle's fresh workdir: a copy of testdata/<fixture> as
// infra/, plus testdata/tfvars/ for the var-file tests.
func newWorkdir(t *testing.T, fixture string) string {
	t.Helper()
	workdir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(workdir, configDir), os.DirFS(filepath.Join("testdata", fixture))))
	require.NoError(t, os.CopyFS(filepath.Join(workdir, "tfvars"), os.DirFS(filepath.Join("testdata", "tfvars"))))
	return workdir
}

// syncBuffer is a step log that a test can read while terraform writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newEnv is the env the runner would pass: only the step environment, never
// the test process's own (so TF_CLI_CONFIG_FILE and friends do not leak in).
func newEnv(t *testing.T, workdir string) (*drills.Env, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	return &drills.Env{
		RunID:    "test",
		Scenario: "terraform-test",
		Cycle:    1,
		Workdir:  workdir,
		Vars:     map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()},
		Log:      log,
	}, log
}

// provisioned applies fixture in a fresh workdir and registers its destroy.
func provisioned(t *testing.T, fixture string, opts ...terraform.Option) (*terraform.Target, *drills.Env, *syncBuffer) {
	t.Helper()
	target := terraform.New(configDir, opts...)
	env, log := newEnv(t, newWorkdir(t, fixture))
	require.NoError(t, target.Provision(t.Context(), env), "log:\n%s", log)
	t.Cleanup(func() { _ = target.Destroy(context.Background(), env) })
	return target, env, log
}

func TestProvisionOutputs(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	target, env, log := provisioned(t, "idempotent-outputs")

	outputs, err := target.Outputs(t.Context(), env)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"greeting":    "greeting-default",
		"from_file":   "from-file-default",
		"settings":    `{"port":18080,"tags":["a","b"]}`,
		"secret":      "s3cr3t-token-4f9a",
		"credentials": `{"password":"pw-91ab-e2","user":"drill-admin-7c1"}`,
	}, outputs)
	assert.ElementsMatch(t, []string{
		"s3cr3t-token-4f9a",
		`{"password":"pw-91ab-e2","user":"drill-admin-7c1"}`,
		"pw-91ab-e2",
		"drill-admin-7c1",
	}, target.SensitiveOutputs(), "values, not names, of the sensitive outputs")

	assert.Contains(t, log.String(), "Apply complete!", "terraform's own output goes to the step log")
	assert.NotContains(t, log.String(), "s3cr3t-token-4f9a", "output JSON must not reach the log before it can be redacted")
	assert.NotContains(t, log.String(), "pw-91ab-e2")

	assert.Equal(t, filepath.Join(env.Workdir, configDir), target.WorkingDir())
	assert.Equal(t, filepath.Join(env.Workdir, configDir, "terraform.tfstate"), target.StatePath())
	assert.FileExists(t, target.StatePath())
	assert.NotEmpty(t, target.ExecPath())
	assert.Regexp(t, `^\d+\.\d+\.\d+`, target.TerraformVersion())
	assert.NotContains(t, log.String(), `"terraform_version"`, "the version check's JSON stays out of the log")
}

func TestVarsAndVarFilesReachTheConfig(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	tests := []struct {
		name         string
		opts         []terraform.Option
		wantGreeting string
		wantFromFile string
	}{
		{
			name:         "defaults without vars",
			wantGreeting: "greeting-default",
			wantFromFile: "from-file-default",
		},
		{
			name:         "vars",
			opts:         []terraform.Option{terraform.WithVars(map[string]string{"greeting": "hello from vars"})},
			wantGreeting: "hello from vars",
			wantFromFile: "from-file-default",
		},
		{
			name:         "var file relative to the workdir",
			opts:         []terraform.Option{terraform.WithVarFiles([]string{"tfvars/prod.tfvars"})},
			wantGreeting: "greeting-from-var-file",
			wantFromFile: "from-file-prod",
		},
		{
			name: "vars win over var files",
			opts: []terraform.Option{
				terraform.WithVars(map[string]string{"greeting": "hello from vars"}),
				terraform.WithVarFiles([]string{"tfvars/prod.tfvars"}),
			},
			wantGreeting: "hello from vars",
			wantFromFile: "from-file-prod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, env, _ := provisioned(t, "idempotent-outputs", tt.opts...)

			outputs, err := target.Outputs(t.Context(), env)
			require.NoError(t, err)
			assert.Equal(t, tt.wantGreeting, outputs["greeting"])
			assert.Equal(t, tt.wantFromFile, outputs["from_file"])

			// Destroy must pass the same vars: a config whose variables had no
			// default would otherwise fail here.
			require.NoError(t, target.Destroy(t.Context(), env))
		})
	}
}

func TestStepEnvironmentReachesTerraform(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	target := terraform.New(configDir)
	env, log := newEnv(t, newWorkdir(t, "env-probe"))
	env.Vars["DRILL_PROBE"] = "probe-6d1e"
	// Keys terraform-exec manages itself: passing them would make it refuse
	// to run at all, so the target leaves them out.
	env.Vars["TF_LOG"] = "TRACE"
	env.Vars["TF_INPUT"] = "1"
	env.Vars["TF_VAR_greeting"] = "ignored"

	require.NoError(t, target.Provision(t.Context(), env), "log:\n%s", log)
	t.Cleanup(func() { _ = target.Destroy(context.Background(), env) })

	got, err := os.ReadFile(filepath.Join(target.WorkingDir(), "probe.txt"))
	require.NoError(t, err)
	assert.Equal(t, "probe-6d1e", string(got))
	assert.NotContains(t, log.String(), "[TRACE]", "TF_LOG from the step environment is not passed")
}

func TestCheckIdempotent(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	tests := []struct {
		name        string
		fixture     string
		wantChanges []string // nil: idempotent
	}{
		{name: "converged config has an empty plan", fixture: "idempotent-outputs"},
		{
			name:        "timestamp input changes on every plan",
			fixture:     "not-idempotent-timestamp",
			wantChanges: []string{"terraform_data.clock (update)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, env, log := provisioned(t, tt.fixture)

			err := target.CheckIdempotent(t.Context(), env)
			if tt.wantChanges == nil {
				require.NoError(t, err, "log:\n%s", log)
				return
			}
			var notIdempotent *drills.NotIdempotentError
			require.ErrorAs(t, err, &notIdempotent)
			assert.Equal(t, tt.wantChanges, notIdempotent.Changes)
		})
	}
}

func TestIdempotencyEnabled(t *testing.T) {
	tests := []struct {
		name string
		opts []terraform.Option
		want bool
	}{
		{name: "default on", want: true},
		{name: "turned off", opts: []terraform.Option{terraform.WithIdempotencyCheck(false)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := terraform.New(configDir, tt.opts...)
			assert.Equal(t, tt.want, target.IdempotencyEnabled())
			assert.Equal(t, "terraform", target.Name())
		})
	}
}

func TestDestroyLeavesNothing(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	target, env, _ := provisioned(t, "idempotent-outputs")

	before, err := target.Leftovers(t.Context(), env)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"terraform_data.from_file", "terraform_data.greeting"}, before,
		"before destroy the state holds the resources")

	require.NoError(t, target.Destroy(t.Context(), env))
	after, err := target.Leftovers(t.Context(), env)
	require.NoError(t, err)
	assert.Nil(t, after)

	require.NoError(t, target.Destroy(t.Context(), env), "destroying twice is fine")
	after, err = target.Leftovers(t.Context(), env)
	require.NoError(t, err)
	assert.Nil(t, after)
}

func TestDestroyWithNothingThere(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		workdir func(t *testing.T) string
	}{
		{name: "never provisioned", workdir: func(t *testing.T) string { return newWorkdir(t, "idempotent-outputs") }},
		{name: "empty config folder", workdir: func(t *testing.T) string {
			w := t.TempDir()
			require.NoError(t, os.Mkdir(filepath.Join(w, configDir), 0o755))
			return w
		}},
		{name: "no config folder", workdir: func(t *testing.T) string { return t.TempDir() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A terraform that does not exist: nothing to destroy must not
			// even need the binary.
			target := terraform.New(configDir, terraform.WithExecPath(filepath.Join(t.TempDir(), "no-terraform")))
			env, _ := newEnv(t, tt.workdir(t))

			require.NoError(t, target.Destroy(t.Context(), env))
			leftovers, err := target.Leftovers(t.Context(), env)
			require.NoError(t, err)
			assert.Nil(t, leftovers)
		})
	}
}

func TestDestroyAfterCanceledProvision(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	target := terraform.New(configDir)
	env, log := newEnv(t, newWorkdir(t, "slow-provisioner"))
	t.Cleanup(func() { _ = target.Destroy(context.Background(), env) })

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- target.Provision(ctx, env) }()

	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(env.Workdir, configDir, "started"))
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "apply never reached the provisioner; log:\n%s", log)
	cancel()

	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatalf("Provision did not return after cancel; log:\n%s", log)
	}

	leftovers, err := target.Leftovers(context.Background(), env)
	require.NoError(t, err)
	assert.Equal(t, []string{"terraform_data.slow"}, leftovers, "the interrupted apply recorded what it created")

	require.NoError(t, target.Destroy(context.Background(), env), "log:\n%s", log)
	leftovers, err = target.Leftovers(context.Background(), env)
	require.NoError(t, err)
	assert.Nil(t, leftovers)
}

func TestPreexisting(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	// A real state with resources, and one emptied by destroy, to copy in.
	target, env, _ := provisioned(t, "idempotent-outputs")
	fullState, err := os.ReadFile(target.StatePath())
	require.NoError(t, err)
	require.NoError(t, target.Destroy(t.Context(), env))
	emptyState, err := os.ReadFile(target.StatePath())
	require.NoError(t, err)

	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{name: "fresh copy", setup: func(*testing.T, string) {}},
		{
			name: "copied-in state with resources",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "terraform.tfstate"), fullState, 0o644))
			},
			want: []string{
				"terraform_data.from_file (in infra/terraform.tfstate)",
				"terraform_data.greeting (in infra/terraform.tfstate)",
			},
		},
		{
			name: "copied-in state emptied by destroy",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "terraform.tfstate"), emptyState, 0o644))
			},
		},
		{
			name: "copied-in .terraform folder",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, ".terraform", "providers"), 0o755))
			},
			want: []string{"infra/.terraform (a Terraform working directory copied in)"},
		},
		{
			name: "unreadable state file",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "terraform.tfstate"), []byte("{not json"), 0o644))
			},
			want: []string{"infra/terraform.tfstate (unreadable state: invalid character 'n' looking for beginning of object key string)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := terraform.New(configDir)
			env, _ := newEnv(t, newWorkdir(t, "idempotent-outputs"))
			tt.setup(t, filepath.Join(env.Workdir, configDir))

			got, err := target.Preexisting(t.Context(), env)
			require.NoError(t, err)
			assert.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestMissingTerraform(t *testing.T) {
	t.Parallel()

	notExecutable := filepath.Join(t.TempDir(), "terraform")
	require.NoError(t, os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644))
	broken := filepath.Join(t.TempDir(), "terraform")
	require.NoError(t, os.WriteFile(broken, []byte("#!/bin/sh\necho 'cannot run here' >&2\nexit 126\n"), 0o755))

	tests := []struct {
		name     string
		execPath string
	}{
		{name: "nonexistent path", execPath: filepath.Join(t.TempDir(), "bin", "terraform")},
		{name: "not executable", execPath: notExecutable},
		{name: "a folder", execPath: t.TempDir()},
		{name: "a binary that does not run", execPath: broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := terraform.New(configDir, terraform.WithExecPath(tt.execPath))
			env, _ := newEnv(t, newWorkdir(t, "idempotent-outputs"))

			err := target.Provision(t.Context(), env)
			var missing *drills.ToolMissingError
			require.ErrorAs(t, err, &missing)
			assert.Equal(t, "terraform", missing.Tool)
			assert.Equal(t, installHint, missing.Hint)
			assert.NoFileExists(t, filepath.Join(env.Workdir, configDir, "terraform.tfstate"))
		})
	}
}

// TestTerraformNotOnAnyPath changes the process PATH, so it cannot run in parallel.
func TestTerraformNotOnAnyPath(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)

	target := terraform.New(configDir)
	env, _ := newEnv(t, newWorkdir(t, "idempotent-outputs"))
	env.Vars["PATH"] = empty

	err := target.Provision(t.Context(), env)
	var missing *drills.ToolMissingError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, installHint, missing.Hint)
}

func TestApplyErrorNamesTheProblem(t *testing.T) {
	requireTerraform(t)
	t.Parallel()

	target := terraform.New(configDir)
	env, log := newEnv(t, newWorkdir(t, "invalid-undeclared-var"))

	err := target.Provision(t.Context(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "terraform apply in "+filepath.Join(env.Workdir, configDir))
	assert.Contains(t, err.Error(), "not_declared_anywhere")
	assert.Contains(t, log.String(), "not_declared_anywhere", "terraform's error also reaches the step log")

	require.NoError(t, target.Destroy(t.Context(), env), "a failed apply left nothing to destroy")
}

// The idempotency check's plan file holds sensitive values: it lives in the
// cycle's workdir (which the ledger records, so drill gc removes it even
// after a kill -9), never in the system's temporary folder. A terraform
// wrapper records where terraform was told to write it.
func TestIdempotencyPlanFileStaysInTheWorkdir(t *testing.T) {
	requireTerraform(t)
	t.Parallel()
	real, err := exec.LookPath("terraform")
	require.NoError(t, err)
	args := filepath.Join(t.TempDir(), "args")
	wrapper := filepath.Join(t.TempDir(), "terraform")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" >> '"+args+"'\nexec '"+real+"' \"$@\"\n"), 0o755))

	target, env, log := provisioned(t, "idempotent-outputs", terraform.WithExecPath(wrapper))
	require.NoError(t, target.CheckIdempotent(t.Context(), env), "log:\n%s", log)

	data, err := os.ReadFile(args)
	require.NoError(t, err)
	var out string
	for _, a := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(a, "-out="); ok {
			out = v
		}
	}
	require.NotEmpty(t, out, "terraform plan was given -out:\n%s", data)
	rel, err := filepath.Rel(env.Workdir, out)
	require.NoError(t, err)
	assert.True(t, filepath.IsLocal(rel), "the plan file %s is inside the workdir %s", out, env.Workdir)
	assert.NoFileExists(t, out, "and removed after the check")
}
