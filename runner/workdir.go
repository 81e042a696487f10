package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/redeploy-drill/drill/results"
)

// workdirPath names a cycle's workdir. The name is known before the folder
// exists, so the ledger can record it first; the run ID makes it unique.
// It is absolute even when TMPDIR is not: steps get it as DRILL_WORKDIR
// and run in other folders.
func workdirPath(tempDir, scenario, runID string, cycle int) string {
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	if abs, err := filepath.Abs(tempDir); err == nil {
		tempDir = abs
	}
	return filepath.Join(tempDir, fmt.Sprintf("drill-%s-%s-c%d", scenario, runID, cycle))
}

// newWorkdir makes the cycle's fresh folder and copies the source into it.
// Inside a git repository only tracked files are copied: what a fresh clone
// has, so a runbook that relies on a hand-built file fails the drill.
func newWorkdir(ctx context.Context, dir, source string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("create workdir: %w", err)
	}
	if source == "" {
		return nil
	}
	files, err := trackedFiles(ctx, source)
	if err != nil {
		return err
	}
	if files == nil {
		err = copyTree(source, dir)
	} else {
		err = copyList(source, dir, files)
	}
	if err != nil {
		return fmt.Errorf("copy source %s into the workdir: %w", source, err)
	}
	return nil
}

// trackedFiles lists the files git tracks under dir, relative to dir, or
// returns nil when dir is not inside a git work tree.
func trackedFiles(ctx context.Context, dir string) ([]string, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, nil
	}
	if !insideGit(ctx, dir) {
		return nil, nil
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "ls-files", "-z", "--cached", "--", ".")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	files := []string{}
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

func insideGit(ctx context.Context, dir string) bool {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--is-inside-work-tree").Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// sourceRecord is what the DrillRun records of the source at the start:
// a git source's description (its commit comes with the first clone), or
// the state of the source folder.
func (p *Plan) sourceRecord(ctx context.Context) results.Source {
	if p.Git != nil {
		return p.Git.Record
	}
	return sourceState(ctx, p.Source)
}

// sourceState records the commit of the source and whether it has local changes.
func sourceState(ctx context.Context, dir string) results.Source {
	if dir == "" || !insideGit(ctx, dir) {
		return results.Source{}
	}
	s := results.Source{Git: true}
	if out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output(); err == nil {
		s.Commit = strings.TrimSpace(string(out))
	}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no", "--", ".").Output()
	s.Dirty = err != nil || len(bytes.TrimSpace(out)) > 0 || s.Commit == ""
	return s
}

func copyList(src, dst string, files []string) error {
	for _, rel := range files {
		from := filepath.Join(src, rel)
		info, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // tracked but deleted in the work tree: a fresh clone would have it, but we copy what is here
		}
		if err != nil {
			return err
		}
		if err := copyEntry(from, filepath.Join(dst, rel), info); err != nil {
			return err
		}
	}
	return nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), info.Mode().Perm()|0o700)
		}
		return copyEntry(path, filepath.Join(dst, rel), info)
	})
}

func copyEntry(from, to string, info fs.FileInfo) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		return os.Symlink(target, to)
	case info.Mode().IsRegular():
		in, err := os.Open(from)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	default:
		return nil // sockets, devices: not part of a runbook
	}
}
