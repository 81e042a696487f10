package terraform

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/redeploy-drill/drill/drills"
)

// FindExec returns the terraform binary this target runs for env, found as
// findExec says, so that a ledger can record it before any command ran.
func (t *Target) FindExec(env *drills.Env) (string, error) { return t.findExec(env) }

// findExec returns the terraform binary: WithExecPath when set, else the
// first terraform on the step environment's PATH (what the scenario's steps
// would run), else the first on drill's own PATH. Anything else is a
// ToolMissingError, which the CLI maps to exit code 3.
func (t *Target) findExec(env *drills.Env) (string, error) {
	if t.execPath != "" {
		path, err := filepath.Abs(t.execPath)
		if err == nil {
			err = checkExecutable(path)
		}
		if err != nil {
			return "", missing(err)
		}
		return path, nil
	}
	if env != nil {
		if path, ok := lookPathIn(env.Vars["PATH"]); ok {
			return path, nil
		}
	}
	path, err := exec.LookPath(toolName)
	if err != nil {
		return "", missing(fmt.Errorf("not found on the step PATH nor on drill's PATH: %w", err))
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", missing(err)
	}
	return path, nil
}

func missing(err error) error {
	return &drills.ToolMissingError{Tool: toolName, Err: err, Hint: installHint}
}

// lookPathIn searches a PATH-style list for terraform. Relative entries are
// skipped: they would depend on drill's current directory, the trap that
// exec.ErrDot guards against.
func lookPathIn(pathList string) (string, bool) {
	name := toolName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		path := filepath.Join(dir, name)
		if checkExecutable(path) == nil {
			return path, true
		}
	}
	return "", false
}

// checkExecutable says why path cannot be run as a program, or nil.
func checkExecutable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: %w", path, errNotExecutable)
	}
	return nil
}

var errNotExecutable = errors.New("not executable")
