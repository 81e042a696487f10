// Package terraform is the drill target that provisions any Terraform
// configuration. It drives the terraform CLI through terraform-exec and reads
// results through terraform-json types, never through terraform's human
// output, which changes between releases (terraform-exec dropped its
// regex-parsed errors in v0.18 for that reason).
//
// Each cycle gets a fresh copy of the scenario's source, so each cycle starts
// with no state: Provision runs init and apply in that cycle's copy of the
// configuration folder, Destroy runs destroy in the same place.
//
// Terraform runs with the step environment (env.Vars) and nothing of drill's
// own, minus the keys terraform-exec manages itself and refuses to be given
// (TF_LOG*, TF_INPUT, TF_IN_AUTOMATION, TF_WORKSPACE, TF_CLI_ARGS*, TF_VAR_*
// ...): Terraform variables come from the target's vars and var files, not
// from TF_VAR_* in spec.env. terraform-exec sets TF_IN_AUTOMATION=1 and
// passes -input=false itself; stdin is empty, so terraform never prompts.
package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/terraform-exec/tfexec"
	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
)

const (
	// toolName is the tool reported in ToolMissingError and the target's name.
	toolName = "terraform"
	// installHint tells a user how to get terraform when it is missing.
	installHint = "install it with `make tools` or `go install github.com/hashicorp/terraform@v1.5.7`"
	// stateFileName is where the default local backend keeps state.
	stateFileName = "terraform.tfstate"
	// defaultDataDir is terraform's working directory inside the
	// configuration folder, unless TF_DATA_DIR says otherwise.
	defaultDataDir = ".terraform"
)

// The capabilities the runner finds by type assertion.
var (
	_ drills.Target             = (*Target)(nil)
	_ drills.Outputter          = (*Target)(nil)
	_ drills.Sensitive          = (*Target)(nil)
	_ drills.IdempotencyChecker = (*Target)(nil)
	_ drills.LeftoverChecker    = (*Target)(nil)
	_ drills.ScratchChecker     = (*Target)(nil)
)

// Option configures a Target. Options do not depend on their order.
type Option func(*Target)

// WithVars sets Terraform input variables, passed as -var name=value. They
// take precedence over WithVarFiles, as on the command line.
func WithVars(vars map[string]string) Option {
	return func(t *Target) { t.vars = maps.Clone(vars) }
}

// WithVarFiles sets variable definition files, passed as -var-file. Relative
// paths are relative to the cycle's workdir (env.Workdir), like the
// configuration folder itself, not to the configuration folder: a scenario
// names every path from the same root.
func WithVarFiles(files []string) Option {
	return func(t *Target) { t.varFiles = slices.Clone(files) }
}

// WithIdempotencyCheck says whether the runner should call CheckIdempotent
// (default true). The target only reports it through IdempotencyEnabled: the
// runner decides whether to run the check.
func WithIdempotencyCheck(enabled bool) Option {
	return func(t *Target) { t.idempotent = enabled }
}

// WithExecPath sets the terraform binary to use instead of looking it up on
// PATH. A relative path is relative to drill's current directory.
func WithExecPath(path string) Option {
	return func(t *Target) { t.execPath = path }
}

// WithLogger sets the logger for drill's own diagnostics. Without it the
// target logs to the cycle's env.Logger, which defaults to a no-op logger.
func WithLogger(logger *zap.Logger) Option {
	return func(t *Target) { t.logger = logger }
}

// Target provisions a Terraform configuration with the terraform CLI.
//
// A Target may be reused for every cycle of a drill: each method resolves the
// configuration folder from the env it is given. Its methods are serialized,
// so a Destroy that arrives while a canceled apply is still shutting down
// waits for it instead of failing on the state lock.
type Target struct {
	dir        string
	vars       map[string]string
	varFiles   []string
	idempotent bool
	execPath   string
	relay      string // see WithRelay
	logger     *zap.Logger

	// mu serializes terraform commands on the working directory.
	mu sync.Mutex
	tf *tfexec.Terraform
	// initDir is the folder where init last succeeded, so Destroy and
	// Leftovers only run init themselves when Provision did not (a janitor
	// destroying a crashed run's state with a new Target).
	initDir string

	// pmu guards what the getters read, so they answer while a command runs:
	// a ledger can record WorkingDir and StatePath during a long apply.
	pmu        sync.RWMutex
	workdir    string // env.Workdir of the current cycle
	workingDir string // the configuration folder inside it
	usedExec   string
	version    string
	sensitive  []string
}

// New returns a Terraform target for the configuration in dir, a folder
// relative to each cycle's workdir (env.Workdir). An absolute dir is used as
// is, which only makes sense outside drill's runner (a janitor).
func New(dir string, opts ...Option) *Target {
	t := &Target{dir: dir, idempotent: true}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

// Name identifies the target in logs and results.
func (t *Target) Name() string { return toolName }

// IdempotencyEnabled reports whether the scenario asked for the idempotency
// check (WithIdempotencyCheck, default true).
func (t *Target) IdempotencyEnabled() bool { return t.idempotent }

// WorkingDir returns the configuration folder of the current cycle, where
// terraform runs. It is set as soon as Preexisting or Provision resolve it
// from the env, and is empty before that.
func (t *Target) WorkingDir() string {
	t.pmu.RLock()
	defer t.pmu.RUnlock()
	if t.workingDir == "" && filepath.IsAbs(t.dir) {
		return filepath.Clean(t.dir)
	}
	return t.workingDir
}

// StatePath returns where the default local backend keeps the current
// cycle's state: terraform.tfstate in WorkingDir. A configuration with a
// backend block keeps its state where that backend says. A janitor needs the
// whole WorkingDir (configuration, .terraform and state) to run destroy, not
// the state file alone. Empty before the folder is resolved.
func (t *Target) StatePath() string {
	t.pmu.RLock()
	defer t.pmu.RUnlock()
	if t.workingDir == "" {
		return ""
	}
	return filepath.Join(t.workingDir, stateFileName)
}

// ExecPath returns the terraform binary the last command used, so that
// results and a janitor can name it. Empty before any command ran.
func (t *Target) ExecPath() string {
	t.pmu.RLock()
	defer t.pmu.RUnlock()
	return t.usedExec
}

// TerraformVersion returns the version of the terraform binary the last
// command used ("1.11.4"), for the run document's tools. Empty before any
// command ran.
func (t *Target) TerraformVersion() string {
	t.pmu.RLock()
	defer t.pmu.RUnlock()
	return t.version
}

// SensitiveOutputs returns the values (not the names) of the outputs marked
// sensitive, as read by the last Outputs call, so that the runner can redact
// them. For a structured sensitive output it returns the compact JSON that
// steps receive and every string inside it, since a step may print one field.
func (t *Target) SensitiveOutputs() []string {
	t.pmu.RLock()
	defer t.pmu.RUnlock()
	return slices.Clone(t.sensitive)
}

// Provision runs terraform init (no upgrade) and apply in the cycle's copy of
// the configuration folder. Terraform's own output goes to env.Output(). On
// cancellation terraform-exec interrupts terraform, which stops gracefully
// and records what it created, so Destroy can remove it afterwards.
func (t *Target) Provision(ctx context.Context, env *drills.Env) error {
	t.mu.Lock()
	defer t.mu.Unlock()

	dir, err := t.resolve(env)
	if err != nil {
		return err
	}
	t.pmu.Lock()
	t.sensitive = nil
	t.pmu.Unlock()
	t.initDir = ""

	// A missing terraform is reported first: it is the machine, not the
	// scenario, that cannot run the drill (exit code 3).
	if _, err := t.findExec(env); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("terraform configuration folder: %w", err)
	}
	tf, err := t.terraform(ctx, env, dir, true)
	if err != nil {
		return err
	}
	log := t.log(env).With(zap.String("dir", dir))
	if dropped := droppedEnv(env); len(dropped) > 0 {
		log.Warn("environment variables not passed to terraform: terraform-exec manages them; set Terraform variables with the target's vars",
			zap.Strings("names", dropped))
	}

	log.Debug("terraform init")
	if err := tf.Init(ctx, tfexec.Upgrade(false)); err != nil {
		return fmt.Errorf("terraform init in %s: %w", dir, err)
	}
	t.initDir = dir

	log.Debug("terraform apply")
	if err := tf.Apply(ctx, varOptions[tfexec.ApplyOption](t, env)...); err != nil {
		return fmt.Errorf("terraform apply in %s: %w", dir, err)
	}
	return nil
}

// Destroy runs terraform destroy with the same variables as Provision. It is
// idempotent: when the configuration folder is gone or holds no state with
// resources (never provisioned, already destroyed), it returns nil without
// running terraform. It needs no earlier Provision on this Target, so a
// janitor can destroy a crashed run's working directory.
func (t *Target) Destroy(ctx context.Context, env *drills.Env) error {
	t.mu.Lock()
	defer t.mu.Unlock()

	dir, ok, err := t.existingDir(env)
	if err != nil || !ok {
		return err
	}
	something, err := hasState(dir, dataDir(env, dir))
	if err != nil {
		return fmt.Errorf("terraform destroy in %s: %w", dir, err)
	}
	if !something {
		t.log(env).Debug("terraform destroy skipped: no state", zap.String("dir", dir))
		return nil
	}
	tf, err := t.terraform(ctx, env, dir, true)
	if err != nil {
		return err
	}
	if err := t.ensureInit(ctx, env, tf, dir); err != nil {
		return err
	}
	t.log(env).Debug("terraform destroy", zap.String("dir", dir))
	if err := tf.Destroy(ctx, varOptions[tfexec.DestroyOption](t, env)...); err != nil {
		return fmt.Errorf("terraform destroy in %s: %w", dir, err)
	}
	return nil
}

// resolve returns the configuration folder for env and records it for the
// getters. Without an env (or its workdir) it falls back to the folder of the
// current cycle, so Destroy still works when given less.
func (t *Target) resolve(env *drills.Env) (string, error) {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	switch {
	case filepath.IsAbs(t.dir):
		t.workingDir = filepath.Clean(t.dir)
		if env != nil && env.Workdir != "" {
			t.workdir = env.Workdir
		}
	case env != nil && env.Workdir != "":
		t.workdir = env.Workdir
		t.workingDir = filepath.Join(env.Workdir, t.dir)
	case t.workingDir == "":
		return "", errors.New("terraform: no workdir to find the configuration folder in")
	}
	return t.workingDir, nil
}

// existingDir resolves the configuration folder and reports whether it
// exists; a missing folder means there is nothing of this target to look at.
func (t *Target) existingDir(env *drills.Env) (string, bool, error) {
	dir, err := t.resolve(env)
	if err != nil {
		// Nothing was ever resolved: nothing was provisioned.
		return "", false, nil
	}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return dir, false, nil
	case err != nil:
		return dir, false, fmt.Errorf("terraform configuration folder: %w", err)
	case !info.IsDir():
		return dir, false, fmt.Errorf("terraform configuration folder %s is not a folder", dir)
	}
	return dir, true, nil
}

// terraform returns the terraform-exec handle for dir, configured for this
// call: the env's variables, and the step log for stderr and, when
// humanStdout, for stdout. Commands whose stdout is JSON (output, show) keep
// it out of the log, because that JSON holds sensitive values the redactor
// does not know yet. A binary that does not answer `terraform version` is a
// ToolMissingError, like a missing one.
func (t *Target) terraform(ctx context.Context, env *drills.Env, dir string, humanStdout bool) (*tfexec.Terraform, error) {
	real, err := t.findExec(env)
	if err != nil {
		return nil, err
	}
	execPath := real
	if t.relay != "" {
		execPath = t.relay
	}
	fresh := t.tf == nil || t.tf.WorkingDir() != dir || t.tf.ExecPath() != execPath
	if fresh {
		tf, err := tfexec.NewTerraform(dir, execPath)
		if err != nil {
			return nil, fmt.Errorf("terraform in %s: %w", dir, err)
		}
		t.tf = tf
	}
	vars := environ(env)
	if t.relay != "" {
		vars[RelayEnv] = real
	}
	if err := t.tf.SetEnv(vars); err != nil {
		return nil, fmt.Errorf("terraform environment: %w", err)
	}
	log := output(env)
	t.tf.SetStderr(log)
	t.tf.SetStdout(nil)
	if fresh {
		// Ask the version now, with stdout unset: terraform-exec asks it
		// lazily before some commands and would copy its JSON into the step
		// log. It also proves the binary runs at all.
		v, _, err := t.tf.Version(ctx, false)
		if err != nil {
			t.tf = nil
			if ctx.Err() != nil {
				return nil, fmt.Errorf("terraform version: %w", err)
			}
			return nil, missing(fmt.Errorf("%s version: %w", execPath, err))
		}
		t.pmu.Lock()
		t.version = v.String()
		t.pmu.Unlock()
	}
	if humanStdout {
		t.tf.SetStdout(log)
	}
	t.pmu.Lock()
	t.usedExec = real
	t.pmu.Unlock()
	return t.tf, nil
}

// ensureInit runs init in dir unless it already succeeded there, for a
// Destroy or Leftovers on a Target that did not provision (a janitor).
func (t *Target) ensureInit(ctx context.Context, env *drills.Env, tf *tfexec.Terraform, dir string) error {
	if t.initDir == dir {
		return nil
	}
	t.log(env).Debug("terraform init", zap.String("dir", dir))
	if err := tf.Init(ctx, tfexec.Upgrade(false)); err != nil {
		return fmt.Errorf("terraform init in %s: %w", dir, err)
	}
	t.initDir = dir
	return nil
}

// environ is the environment terraform runs with: the step environment
// without the keys terraform-exec manages itself (it refuses them), with the
// version checkpoint off because drills run offline. terraform-exec always
// sets TF_IN_AUTOMATION=1 and passes -input=false to every command that could
// prompt (TF_INPUT is one of the keys it refuses), and stdin is empty.
func environ(env *drills.Env) map[string]string {
	// Never nil: nil would make terraform-exec inherit drill's own environment.
	m := map[string]string{}
	if env != nil {
		maps.Copy(m, env.Vars)
	}
	tfexec.CleanEnv(m)
	if _, ok := m["CHECKPOINT_DISABLE"]; !ok {
		m["CHECKPOINT_DISABLE"] = "1"
	}
	return m
}

// droppedEnv names the step variables environ leaves out, sorted.
func droppedEnv(env *drills.Env) []string {
	if env == nil {
		return nil
	}
	dropped := tfexec.ProhibitedEnv(env.Vars)
	sort.Strings(dropped)
	return dropped
}

// output returns the writer for terraform's human output. terraform-exec
// copies stdout and stderr from two goroutines, so the writer is locked.
func output(env *drills.Env) io.Writer {
	var w io.Writer = io.Discard
	if env != nil {
		w = env.Output()
	}
	return &lockedWriter{w: w}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// dataDir is terraform's working directory for the configuration in dir:
// TF_DATA_DIR from the step environment when set, else .terraform.
func dataDir(env *drills.Env, dir string) string {
	if env != nil {
		if d := env.Vars["TF_DATA_DIR"]; d != "" {
			if filepath.IsAbs(d) {
				return d
			}
			return filepath.Join(dir, d)
		}
	}
	return filepath.Join(dir, defaultDataDir)
}

func (t *Target) log(env *drills.Env) *zap.Logger {
	if t.logger != nil {
		return t.logger
	}
	if env != nil {
		return env.ZapLogger()
	}
	return zap.NewNop()
}

// varArgs returns the -var-file and -var options, var files resolved against
// the cycle's workdir, variables sorted so commands are reproducible.
func (t *Target) varArgs(env *drills.Env) ([]*tfexec.VarFileOption, []*tfexec.VarOption) {
	root := ""
	if env != nil && env.Workdir != "" {
		root = env.Workdir
	} else {
		t.pmu.RLock()
		root = t.workdir
		t.pmu.RUnlock()
	}
	files := make([]*tfexec.VarFileOption, 0, len(t.varFiles))
	for _, f := range t.varFiles {
		if !filepath.IsAbs(f) && root != "" {
			f = filepath.Join(root, f)
		}
		files = append(files, tfexec.VarFile(f))
	}
	names := slices.Sorted(maps.Keys(t.vars))
	vars := make([]*tfexec.VarOption, 0, len(names))
	for _, name := range names {
		vars = append(vars, tfexec.Var(name+"="+t.vars[name]))
	}
	return files, vars
}

// varOptions turns the var files and vars into the options of one
// terraform-exec command (ApplyOption, PlanOption, DestroyOption): the same
// values, each command with its own option interface.
func varOptions[O any](t *Target, env *drills.Env) []O {
	files, vars := t.varArgs(env)
	opts := make([]O, 0, len(files)+len(vars))
	for _, f := range files {
		opts = append(opts, any(f).(O))
	}
	for _, v := range vars {
		opts = append(opts, any(v).(O))
	}
	return opts
}
