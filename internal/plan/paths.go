package plan

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/redeploy-drill/drill/drills"
)

// PathError says that a path field leaves the cycle's workdir once its
// ${NAME} references are expanded, or through a symlink in the workdir.
// Validation checks what the scenario file says; this is checked at run
// time, when the values (and the workdir's copy of the source) are known.
type PathError struct {
	Field, Value, Expanded, Workdir string
	Why                             string
}

func (e *PathError) Error() string {
	v := fmt.Sprintf("%q", e.Value)
	if e.Expanded != e.Value {
		v += fmt.Sprintf(" (expanded: %q)", e.Expanded)
	}
	return fmt.Sprintf("%s: %s %s: it must stay inside the workdir %s", e.Field, v, e.Why, e.Workdir)
}

// insideWorkdir expands a path field and returns it as an absolute path
// inside env.Workdir, or a *PathError. A relative path is relative to the
// workdir; an absolute one (a ledger's record) must already lie inside it.
// When the path exists, symlinks are resolved and the real path must stay
// inside the real workdir too: a copied symlink must not lead a cycle to
// files outside its fresh copy. Every path field a step or target reads
// from the workdir goes through here.
func insideWorkdir(value string, env *drills.Env, field string) (string, error) {
	expanded, err := expand(value, env, field)
	if err != nil {
		return "", err
	}
	root := filepath.Clean(env.Workdir)
	fail := func(why string) error {
		return &PathError{Field: field, Value: value, Expanded: expanded, Workdir: root, Why: why}
	}
	if root == "" || root == "." {
		return "", fail("has no workdir to be resolved against")
	}
	path := expanded
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	path = filepath.Clean(path)
	if rel, err := filepath.Rel(root, path); err != nil || !filepath.IsLocal(rel) {
		return "", fail("leaves the workdir")
	}
	// The deepest part of the path that exists is what a symlink could
	// lead astray; what does not exist yet cannot.
	existing := path
	real, err := filepath.EvalSymlinks(existing)
	for errors.Is(err, fs.ErrNotExist) && existing != root {
		existing = filepath.Dir(existing)
		real, err = filepath.EvalSymlinks(existing)
	}
	if err != nil {
		return "", fail(fmt.Sprintf("cannot be resolved (%v)", err))
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fail(fmt.Sprintf("cannot be resolved (%v)", err))
	}
	if rel, err := filepath.Rel(realRoot, real); err != nil || !filepath.IsLocal(rel) {
		return "", fail("leads outside the workdir through a symlink (to " + real + ")")
	}
	return path, nil
}
