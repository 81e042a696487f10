package helm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"helm.sh/helm/v4/pkg/action"
	helmkube "helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// Release names an installed release, which is all Uninstall needs: what
// the ledger keeps for drill gc.
type Release struct {
	Kubeconfig string
	Namespace  string
	Name       string
	// DeleteNamespace says that drill set out to create the namespace for
	// this release, so it goes with the release: only when it carries
	// every label of Owner, the run's among them, since one of that name
	// may have been made by someone else before drill's create or since
	// the run died.
	DeleteNamespace bool
	// Owner are the labels drill gives a namespace it creates
	// (kube.RunLabels): the run's ID, scenario and cycle.
	Owner map[string]string
}

// retryInterval is how long untilGone waits before it looks again when it
// could not watch the objects being deleted (it watches them otherwise, as
// it watches a namespace it deletes).
const retryInterval = 500 * time.Millisecond

// Uninstall removes a release as `helm uninstall --cascade foreground
// --wait` does, without keeping its history (so nothing of this cycle's
// release can make the next cycle differ), then waits until nothing of it
// is left and checks it: every object of its manifest gone (a Deployment
// only once its pods are, under foreground deletion), no revision in its
// history, and its namespace gone when drill created it (deleteNamespace).
// A release that
// does not exist is nothing to remove. What is left when ctx ends, or an
// object that is not even being deleted (helm.sh/resource-policy: keep),
// is a *drills.LeftoverError.
func Uninstall(ctx context.Context, r Release, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	cfg, err := configuration(r.Kubeconfig, r.Namespace, out)
	if err != nil {
		return fmt.Errorf("uninstall %s: %w", r.Name, err)
	}
	if err := cfg.KubeClient.IsReachable(); err != nil {
		return fmt.Errorf("uninstall %s: %w", r.Name, err)
	}
	c, err := kube.New(r.Kubeconfig, out)
	if err != nil {
		return fmt.Errorf("uninstall %s: %w", r.Name, err)
	}
	// The manifest says what to check afterwards; the uninstall purges it.
	start := time.Now()
	var objs []object
	last, err := cfg.Releases.Last(r.Name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		fmt.Fprintf(out, "release %s is not installed in namespace %s: nothing to uninstall\n", r.Name, r.Namespace)
	case err != nil:
		return fmt.Errorf("uninstall %s: read release history: %w", r.Name, err)
	default:
		rel, err := asRelease(last)
		if err != nil {
			return fmt.Errorf("uninstall %s: %w", r.Name, err)
		}
		if objs, err = manifestObjects(rel.Manifest, r.Namespace); err != nil {
			return fmt.Errorf("uninstall %s: %w", r.Name, err)
		}
		u := action.NewUninstall(cfg)
		u.DeletionPropagation = "foreground"
		// Helm waits for hooks only; drill waits for the deletion itself
		// (untilGone): Helm's kstatus delete-wait (the watcher strategy)
		// returns as soon as the objects it has seen are gone, skipping
		// those whose first status is still Unknown, so a Deployment
		// waiting for its pods under foreground deletion outlives it.
		u.WaitStrategy = helmkube.HookOnlyStrategy
		u.WaitOptions = []helmkube.WaitOption{helmkube.WithWaitContext(ctx)}
		u.Timeout = timeout(ctx, defaultTimeout)
		u.KeepHistory = false
		u.IgnoreNotFound = true
		res, err := u.Run(r.Name)
		if err != nil {
			return fmt.Errorf("uninstall %s: %w", r.Name, err)
		}
		fmt.Fprintf(out, "release %s (revision %d) uninstalled from namespace %s with foreground deletion, history purged\n",
			r.Name, rel.Version, r.Namespace)
		if res != nil && res.Info != "" {
			fmt.Fprintln(out, strings.TrimSpace(res.Info))
		}
	}
	left, err := untilGone(ctx, cfg, c, r, objs)
	if err != nil {
		return fmt.Errorf("uninstall %s: check that nothing is left: %w", r.Name, err)
	}
	if len(left) > 0 {
		return &drills.LeftoverError{When: "after uninstalling release " + r.Name, Items: left}
	}
	fmt.Fprintf(out, "checked gone: %d object(s) of release %s and its history, %.1fs after the uninstall began\n", len(objs), r.Name, time.Since(start).Seconds())
	if r.DeleteNamespace {
		if err := deleteNamespace(ctx, c, r, out); err != nil {
			return fmt.Errorf("uninstall %s: %w", r.Name, err)
		}
	}
	return nil
}

// untilGone checks that nothing of a release is left, giving objects that
// are being deleted (a Deployment waiting, under foreground deletion, for
// its pods) until ctx ends to go. It stops waiting as soon as no object is
// being deleted any more: what is still there then (an object kept by
// helm.sh/resource-policy, history) will not go by itself. So what it
// returns is what stays, never an object that was only on its way out.
func untilGone(ctx context.Context, cfg *action.Configuration, c *kube.Clients, r Release, objs []object) ([]string, error) {
	for {
		left, going, err := leftOf(ctx, cfg, c, r, objs)
		if err != nil || len(left) == 0 || len(going) == 0 {
			return left, err
		}
		watched := watchGone(ctx, going)
		if ctx.Err() != nil {
			return left, nil
		}
		if !watched {
			// A watch failed (what failed shows in the next look, or
			// not at all: an RBAC that allows get but not watch):
			// look again after a while rather than at once.
			select {
			case <-ctx.Done():
				return left, nil
			case <-time.After(retryInterval):
			}
		}
	}
}

// leaving is an object of a release that is being deleted.
type leaving struct {
	ri   dynamic.ResourceInterface
	name string
	uid  types.UID
}

// watchGone watches every object of going until it is gone, replaced or no
// longer being deleted, or ctx ends. It reports whether every watch could
// be made.
func watchGone(ctx context.Context, going []leaving) bool {
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	for _, l := range going {
		wg.Go(func() {
			err := kube.WatchNamed(ctx, l.ri, l.name, func(u *unstructured.Unstructured) bool {
				return u == nil || u.GetUID() != l.uid || u.GetDeletionTimestamp() == nil
			}, func(_ string, err error) error { return err })
			if err != nil && ctx.Err() == nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	return !failed.Load()
}

// leftOf lists what is still there of a release: objects of its manifest
// and revisions of its history. going are the objects left that are being
// deleted, so that waiting may change the answer.
func leftOf(ctx context.Context, cfg *action.Configuration, c *kube.Clients, r Release, objs []object) (left []string, going []leaving, err error) {
	for _, o := range objs {
		there, deleting, err := exists(ctx, c, o.ref)
		if err != nil {
			return nil, nil, err
		}
		if there != "" {
			left = append(left, there)
			if deleting != nil {
				going = append(going, *deleting)
			}
		}
	}
	hist, err := cfg.Releases.History(r.Name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil, fmt.Errorf("read release history: %w", err)
	}
	if len(hist) > 0 {
		left = append(left, fmt.Sprintf("%d revision(s) of release %s in the history (Secrets sh.helm.release.v1.%s.v* -n %s)", len(hist), r.Name, r.Name, r.Namespace))
	}
	return left, going, nil
}

// exists names the object when it is still there ("" when gone), and
// returns it as leaving when it is being deleted. An object whose kind the
// cluster no longer serves (a CRD uninstalled with it) cannot exist.
func exists(ctx context.Context, c *kube.Clients, ref drills.ObjectRef) (string, *leaving, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", nil, err
	}
	m, err := c.Mapping(ctx, gv.WithKind(ref.Kind), 0)
	if meta.IsNoMatchError(err) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	ns := ref.Namespace
	if !kube.Namespaced(m) {
		ns = ""
	}
	ri := c.Resource(m, ns)
	u, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("get %s: %w", ref.Name, err)
	}
	name := kube.DisplayName(m.GroupVersionKind.GroupKind(), ref.Name)
	if ns != "" {
		name += " -n " + ns
	}
	var deleting *leaving
	if u.GetDeletionTimestamp() != nil {
		name += fmt.Sprintf(" (being deleted, finalizers %v)", u.GetFinalizers())
		deleting = &leaving{ri: ri, name: ref.Name, uid: u.GetUID()}
	}
	if u.GetAnnotations()["helm.sh/resource-policy"] == "keep" {
		name += " (kept by its helm.sh/resource-policy: keep annotation)"
	}
	return name, deleting, nil
}

// deleteNamespace deletes the namespace drill created for a release, and
// only that one: it must carry every label of r.Owner, the run's ID among
// them, and it is deleted with a precondition on the UID whose labels were
// checked, with foreground propagation. A namespace of that name without
// them (someone else's, made before drill's create or since the run died)
// is left alone, and the output says so. It waits until the namespace it
// deleted is gone (one of the same name made since is not it); when ctx
// ends first, the error says why it is still there, from its own
// conditions.
func deleteNamespace(ctx context.Context, c *kube.Clients, r Release, out io.Writer) error {
	start := time.Now()
	name, nsc := r.Namespace, c.Core.Namespaces()
	ns, err := nsc.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		fmt.Fprintf(out, "namespace/%s is not there\n", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if !owned(ns.Labels, r.Owner) {
		fmt.Fprintf(out, "namespace/%s is left alone: drill did not make it (it lacks the labels %s)\n", name, selector(r.Owner))
		return nil
	}
	uid := ns.UID
	if ns.DeletionTimestamp == nil {
		fg := metav1.DeletePropagationForeground
		err := nsc.Delete(ctx, name, metav1.DeleteOptions{
			PropagationPolicy: &fg,
			// Exactly the namespace whose labels were just checked.
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		switch {
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			// Gone already, or replaced by another of the same name: the
			// wait below sees either as gone.
		case err != nil:
			return fmt.Errorf("delete namespace %s: %w", name, err)
		}
	}
	last := ns
	err = kube.NamespaceGone(ctx, c, name, uid, func(ns *corev1.Namespace) { last = ns })
	switch {
	case err == nil:
		fmt.Fprintf(out, "namespace/%s deleted in %.1fs\n", name, time.Since(start).Seconds())
		return nil
	case ctx.Err() != nil:
		return &drills.LeftoverError{When: "after deleting it", Items: []string{"namespace/" + name + namespaceWhy(last)}}
	default:
		return err
	}
}

// owned reports whether a namespace's labels include every one of owner,
// the run's ID among them: without a run ID nothing proves drill made it.
func owned(labels, owner map[string]string) bool {
	if owner[kube.LabelRun] == "" {
		return false
	}
	for k, v := range owner {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// selector writes labels as a label selector, sorted by key.
func selector(labels map[string]string) string {
	if labels[kube.LabelRun] == "" {
		return kube.LabelRun + " (no run ID to match)"
	}
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

// namespaceWhy says why a namespace is still there, from the conditions
// the namespace controller sets while it deletes (remaining resources,
// remaining finalizers).
func namespaceWhy(ns *corev1.Namespace) string {
	if ns == nil {
		return ""
	}
	var why []string
	for _, cond := range ns.Status.Conditions {
		if cond.Status == corev1.ConditionTrue {
			why = append(why, string(cond.Type)+": "+cond.Message)
		}
	}
	if len(why) == 0 {
		return fmt.Sprintf(" (phase %s)", ns.Status.Phase)
	}
	return " (" + strings.Join(why, "; ") + ")"
}
