package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// maxPathsPerObject bounds how many changed fields an object reports.
const maxPathsPerObject = 5

// CheckIdempotent upgrades the release in dry-run (server-side: templates
// that look up the cluster see it), with the same inputs the step installed
// it with, read again from the workdir, and compares what that renders with
// the installed revision: every object of the manifest, every hook and the
// values. Any difference is reported in a *drills.NotIdempotentError naming
// the object and its changed fields. What it catches is a chart that
// renders differently each time (randAlphaNum, now, uuidv4 in a template,
// a lookup of something that changes) and values files that do.
func (s *Step) CheckIdempotent(ctx context.Context, env *drills.Env) error {
	name := s.spec.Release
	in, err := s.prepare(env)
	if err != nil {
		return fmt.Errorf("idempotency check of release %s: %w", name, err)
	}
	cur, err := lastRelease(in.cfg, name)
	if err != nil {
		return fmt.Errorf("idempotency check of release %s: %w", name, err)
	}
	if cur == nil {
		return &drills.NotIdempotentError{Changes: []string{"release " + name + " (not installed: would be installed)"}}
	}
	u := newUpgrade(in)
	u.DryRunStrategy = action.DryRunServer
	got, err := u.RunWithContext(ctx, name, in.chart, in.values)
	if err != nil {
		return fmt.Errorf("idempotency check of release %s: dry-run upgrade: %w", name, err)
	}
	next, err := asRelease(got)
	if err != nil {
		return fmt.Errorf("idempotency check of release %s: %w", name, err)
	}
	changes, err := compare(cur, next)
	if err != nil {
		return fmt.Errorf("idempotency check of release %s: %w", name, err)
	}
	if len(changes) > 0 {
		return &drills.NotIdempotentError{Changes: changes}
	}
	return nil
}

// compare lists what differs between two revisions of a release: objects
// and hooks whose rendered fields differ, are added or removed, and the
// values.
func compare(cur, next *release.Release) ([]string, error) {
	prefix := "release " + cur.Name + ": "
	a, err := manifestObjects(cur.Manifest, cur.Namespace)
	if err != nil {
		return nil, err
	}
	b, err := manifestObjects(next.Manifest, next.Namespace)
	if err != nil {
		return nil, err
	}
	changes := diffObjects(prefix, a, b)
	ah, err := hookObjects(cur)
	if err != nil {
		return nil, err
	}
	bh, err := hookObjects(next)
	if err != nil {
		return nil, err
	}
	changes = append(changes, diffObjects(prefix+"hook ", ah, bh)...)
	av, err := plain(cur.Config)
	if err != nil {
		return nil, err
	}
	bv, err := plain(next.Config)
	if err != nil {
		return nil, err
	}
	if paths := kube.DiffPaths(av, bv, maxPathsPerObject); len(paths) > 0 {
		changes = append(changes, prefix+"values ("+strings.Join(paths, ", ")+")")
	}
	return changes, nil
}

func hookObjects(r *release.Release) ([]object, error) {
	var b strings.Builder
	for _, h := range r.Hooks {
		b.WriteString("\n---\n" + h.Manifest)
	}
	return manifestObjects(b.String(), r.Namespace)
}

// diffObjects says, per object, what a second rendering changes.
func diffObjects(prefix string, a, b []object) []string {
	byName := map[string]map[string]any{}
	for _, o := range a {
		byName[o.name] = o.data
	}
	var changes []string
	seen := map[string]bool{}
	for _, o := range b {
		seen[o.name] = true
		old, ok := byName[o.name]
		if !ok {
			changes = append(changes, prefix+o.name+" (would be created)")
			continue
		}
		if paths := kube.DiffPaths(old, o.data, maxPathsPerObject); len(paths) > 0 {
			changes = append(changes, prefix+o.name+" ("+strings.Join(paths, ", ")+")")
		}
	}
	for _, o := range a {
		if !seen[o.name] {
			changes = append(changes, prefix+o.name+" (would be deleted)")
		}
	}
	sort.Strings(changes)
	return changes
}

// plain makes values comparable whatever their Go types: the installed
// revision's come back from Helm's storage through JSON (numbers as
// float64), the new ones are as merged (--set integers as int64).
func plain(v map[string]any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return out, nil
}
