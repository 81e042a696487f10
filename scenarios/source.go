package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// source checks, for Load, the folder spec.source names, and returns it with
// symlinks resolved ("" when it is not usable): the runner copies it with
// filepath.WalkDir, which does not follow a symlinked root, so the copy
// must start from the real folder. A source is refused when copying it
// into a cycle's workdir could not end well: the whole file system, or a
// folder holding the temporary folder the workdirs are made in (the copy
// would copy itself). Inside a git work tree only tracked files are copied,
// which cannot recurse, so there those are allowed.
func (v *validator) source(s *Scenario, file string) string {
	if !v.ok("spec.source") || s.Spec.Source.Git != nil {
		return "" // a repository is checked when each cycle clones it
	}
	dir := resolveSource(s.Spec.Source.Dir, file)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.at("spec.source", "source folder %s does not exist", dir)
		} else {
			v.at("spec.source", "source folder %s cannot be read: %v", dir, unwrapPath(err))
		}
		return ""
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		v.at("spec.source", "source %s is not a folder", dir)
		return ""
	}
	if msg := copyProblem(real, dir); msg != "" {
		v.at("spec.source", "%s", msg)
		return ""
	}
	return real
}

// copyProblem says why the source folder real (symlinks resolved; written
// as dir) cannot be copied into a workdir, or "".
func copyProblem(real, dir string) string {
	var msg string
	switch tmp := realPath(os.TempDir()); {
	case filepath.Dir(real) == real:
		msg = fmt.Sprintf("source folder %s is the whole file system", dir)
	case holds(real, tmp):
		msg = fmt.Sprintf("source folder %s holds the temporary folder %s, where every cycle's workdir is made: copying it would copy the workdir into itself", dir, tmp)
	default:
		return ""
	}
	if insideGitWorkTree(real) {
		return ""
	}
	return msg + "; point spec.source at the stack's own folder, or keep it in a git work tree (then only tracked files are copied)"
}

// CheckResultsFolder refuses a source folder that holds the results folder
// dir (the CLI's --results): each cycle would copy the results of every
// earlier run, and files being written, into its workdir. As for Load's
// other source checks, a source inside a git work tree is fine (only
// tracked files are copied). The problem, a *LoadError, points at
// spec.source (or, when it is not written, at spec). The scenario must come
// from Load, which resolved spec.source.
func (s *Scenario) CheckResultsFolder(dir string) error {
	src := s.Spec.Source.Dir
	if src == "" || dir == "" {
		return nil // no folder is copied from a git source
	}
	results := realPath(dir)
	if !holds(src, results) || insideGitWorkTree(src) {
		return nil
	}
	line, col := s.Pos("spec.source")
	return &LoadError{Problems: []Problem{{File: s.File, Line: line, Column: col, Field: "spec.source",
		Message: fmt.Sprintf("source folder %s holds the results folder %s: every cycle would copy the results of earlier runs into its workdir; point spec.source at the stack's own folder, put the results elsewhere, or keep the source in a git work tree (then only tracked files are copied)", src, results)}}}
}

// holds reports whether folder parent is dir or one of its ancestors.
func holds(parent, dir string) bool {
	rel, err := filepath.Rel(parent, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// realPath makes p absolute with symlinks resolved, as far as it exists: a
// results folder not created yet is still compared by its real parent.
func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	var rest []string
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		}
		if filepath.Dir(dir) == dir {
			return abs
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
	}
}

// gitTimeout bounds the one git command a check may run. Load takes no
// context (it reads a page of YAML); git answering this question is local
// and instant, so a hung git is the only case the bound is for.
const gitTimeout = 10 * time.Second

// insideGitWorkTree reports whether dir is inside a git work tree, the way
// the runner decides to copy only tracked files (no git: not inside).
func insideGitWorkTree(dir string) bool {
	if _, err := exec.LookPath("git"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--is-inside-work-tree").Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// unwrapPath drops the path a *fs.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
