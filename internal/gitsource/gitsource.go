// Package gitsource clones the repository a scenario's spec.source names
// into a cycle's fresh workdir: the most literal "from scratch", what a
// fresh clone has. It runs the git CLI (as a person following the runbook
// would), never interactively: a repository that wants a password the
// scenario did not give fails instead of waiting for a prompt nobody sees.
//
// Every cycle of a run checks out the same commit: the first cycle resolves
// the ref, later cycles clone again and check out that commit, so a branch
// that moves during a run cannot make cycle 2 differ from cycle 1.
package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/redeploy-drill/drill/drills"
)

// Clone is one clone: the repository (after ${NAME} expansion), the ref as
// written ("" for the remote's default branch), and, for cycles after the
// first, the commit the first resolved.
type Clone struct {
	URL    string
	Ref    string
	Commit string
	// Env is the environment git runs with (the step environment: PATH,
	// HOME for its configuration and credentials, passEnv). Clone adds
	// what keeps git from prompting.
	Env []string
	// Out receives git's own output, for the cycle's workdir log.
	Out io.Writer
}

// Run clones c.URL into dir (which must exist and be empty) and checks out
// the commit, detached, returning it.
func (c Clone) Run(ctx context.Context, dir string) (string, error) {
	if err := c.git(ctx, "", "clone", "--quiet", "--no-checkout", "--", c.URL, dir); err != nil {
		err = fmt.Errorf("git clone %s: %w", Display(c.URL), err)
		if unreachable(err.Error()) && ctx.Err() == nil {
			return "", &drills.SourceUnreachableError{URL: Display(c.URL), Err: err}
		}
		return "", err
	}
	commit := c.Commit
	if commit == "" {
		var err error
		if commit, err = c.resolve(ctx, dir); err != nil {
			return "", err
		}
	} else if _, err := c.output(ctx, dir, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return "", fmt.Errorf("commit %s, which the first cycle checked out, is no longer in %s (was %s force-pushed during the run?)", commit, Display(c.URL), c.refName())
	}
	if err := c.git(ctx, dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit); err != nil {
		return "", fmt.Errorf("git checkout %s: %w", commit, err)
	}
	return commit, nil
}

func (c Clone) refName() string {
	if c.Ref == "" {
		return "the default branch"
	}
	return c.Ref
}

// resolve turns the ref into a commit of the fresh clone: the remote's
// default branch, a branch, a tag, or a commit (full or abbreviated), in
// that order, as `git checkout REF` would find them in a fresh clone.
func (c Clone) resolve(ctx context.Context, dir string) (string, error) {
	candidates := []string{"HEAD"}
	if c.Ref != "" {
		candidates = []string{"refs/remotes/origin/" + c.Ref, "refs/tags/" + c.Ref, c.Ref}
	}
	for _, ref := range candidates {
		out, err := c.output(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
		if err == nil {
			return strings.TrimSpace(string(out)), nil
		}
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
	}
	if c.Ref == "" {
		return "", fmt.Errorf("%s has no default branch to check out (an empty repository?); name one with spec.source.ref", Display(c.URL))
	}
	return "", fmt.Errorf("ref %q is not a branch, tag or commit of %s", c.Ref, Display(c.URL))
}

// unreachableSigns are what git (in LC_ALL=C, through curl or ssh) says
// when it could not talk to the repository's server at all, rather than
// being answered with a refusal. git has no machine-readable form of its
// errors, so its last line is read.
var unreachableSigns = []string{
	"Could not resolve host", "Could not resolve hostname", "Failed to connect to",
	"Connection refused", "Connection timed out", "Operation timed out", "No route to host",
	"Network is unreachable", "Empty reply from server", "unable to connect to",
	"The requested URL returned error: 502", "The requested URL returned error: 503",
	"The requested URL returned error: 504",
}

func unreachable(msg string) bool {
	for _, s := range unreachableSigns {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// environ is c.Env with what makes git unattended: no terminal prompt, no
// credential helper asking a person, ssh without a password prompt, and
// messages in English for the log.
func (c Clone) environ() []string {
	env := append([]string{}, c.Env...)
	env = append(env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "LC_ALL=C")
	if !hasVar(env, "GIT_SSH_COMMAND") {
		env = append(env, "GIT_SSH_COMMAND=ssh -o BatchMode=yes")
	}
	return env
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// git runs a git command whose output goes to the log; its error carries
// git's last line, which says what went wrong.
func (c Clone) git(ctx context.Context, dir string, args ...string) error {
	var stderr bytes.Buffer
	cmd := c.command(ctx, dir, args...)
	out := c.Out
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout = out
	cmd.Stderr = io.MultiWriter(out, &stderr)
	return explain(ctx, cmd.Run(), stderr.Bytes())
}

func (c Clone) output(ctx context.Context, dir string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := c.command(ctx, dir, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, explain(ctx, err, stderr.Bytes())
}

func (c Clone) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = c.environ()
	cmd.Stdin = nil
	return cmd
}

func explain(ctx context.Context, err error, stderr []byte) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if errors.Is(err, exec.ErrNotFound) {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return fmt.Errorf("%w: %s", err, last)
	}
	return err
}

// Workdir is the folder of the clone root the steps run in: path (checked
// by validate to be relative and not to climb out), which must be a folder
// of the checked-out commit and, symlinks resolved, stay inside the clone.
func Workdir(root, path string) (string, error) {
	if path == "" || path == "." {
		return root, nil
	}
	dir := filepath.Join(root, filepath.FromSlash(path))
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("spec.source.path %q is not in the checked-out commit", path)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	if rel, err := filepath.Rel(realRoot, real); err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("spec.source.path %q leads out of the clone through a symlink", path)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("spec.source.path %q is not a folder of the checked-out commit", path)
	}
	return dir, nil
}

// Display is a repository URL fit to print and record: a password or token
// in its user part is replaced by "***" (the redactor catches secrets it
// knows; this also catches one it does not, such as a token in a variable
// that is not a secret). Paths and scp-like addresses are left as they are.
func Display(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL net/url reads (a ${NAME} not expanded yet, a stray
		// %): hide the password, or the whole user part when it has none.
		scheme, rest, _ := strings.Cut(raw, "://")
		at := strings.LastIndex(rest, "@")
		if slash := strings.Index(rest, "/"); at < 0 || slash >= 0 && slash < at {
			return raw
		}
		if user, _, ok := strings.Cut(rest[:at], ":"); ok {
			return scheme + "://" + user + ":***@" + rest[at+1:]
		}
		return scheme + "://***@" + rest[at+1:]
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	} else if u.User.Username() != "" && u.Scheme != "ssh" {
		// https://TOKEN@host: the user part is the token.
		u.User = url.User("***")
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

// Local resolves a repository given as a relative path (not a URL, not
// host:path) against the scenario's folder, as spec.source's folder form
// is; anything else is returned as it is.
func Local(raw, scenarioDir string) string {
	if strings.Contains(raw, "://") || filepath.IsAbs(raw) {
		return raw
	}
	if colon := strings.Index(raw, ":"); colon > 0 && !strings.Contains(raw[:colon], "/") {
		return raw // host:path, git's scp-like ssh form
	}
	return filepath.Join(scenarioDir, raw)
}
