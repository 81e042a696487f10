package apply

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// maxPathsPerObject bounds how many changed fields an object reports.
const maxPathsPerObject = 5

// CheckIdempotent re-applies the manifests at path (as the apply step with
// the same arguments would) in server-side dry-run, right after deploy, and
// compares what the API server would store with what it stores now. Any
// difference, or an object that does not exist, is reported in a
// *drills.NotIdempotentError naming the object and the changed fields.
//
// Fields that change on every write whatever the manifest says are ignored:
// metadata.managedFields, resourceVersion, generation, uid, the metadata
// timestamps and status. Manifests are read again from the workdir, so what
// the check catches is a manifest or kustomization that renders differently
// each time, and fields the cluster keeps changing back (a mutating webhook,
// a controller that owns a field the manifest sets).
func CheckIdempotent(ctx context.Context, env *drills.Env, path, namespace string) error {
	namespace = kube.Namespace(env, namespace)
	objs, c, err := prepare(env, path)
	if err != nil {
		return fmt.Errorf("idempotency check: %w", err)
	}
	var changes []string
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		name := kube.DisplayName(gvk.GroupKind(), obj.GetName())
		m, err := c.Mapping(ctx, gvk, 0)
		if err != nil {
			return fmt.Errorf("idempotency check of %s: %w", name, err)
		}
		ns := ""
		if kube.Namespaced(m) {
			ns = objectNamespace(obj, namespace)
			name += " -n " + ns
		}
		obj.SetNamespace(ns)
		res := c.Resource(m, ns)
		live, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			changes = append(changes, name+" (would be created)")
			continue
		}
		if err != nil {
			return fmt.Errorf("idempotency check of %s: get: %w", name, err)
		}
		dry, err := res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
			FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
		})
		if err != nil {
			return fmt.Errorf("idempotency check of %s: dry-run apply: %w", name, err)
		}
		if paths := kube.DiffPaths(comparable(live), comparable(dry), maxPathsPerObject); len(paths) > 0 {
			changes = append(changes, name+" ("+strings.Join(paths, ", ")+")")
		}
	}
	if len(changes) > 0 {
		return &drills.NotIdempotentError{Changes: changes}
	}
	return nil
}

// comparable returns the object without what changes on every write.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	delete(c, "status")
	if md, ok := c["metadata"].(map[string]any); ok {
		for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid",
			"creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"} {
			delete(md, f)
		}
	}
	return c
}
