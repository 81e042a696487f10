// Package wait is the wait action: watch resources until they are ready, as
// kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) computes it: rollouts
// complete, pods Ready. Current is ready; Failed fails at once. One
// exception: kstatus calls a running Job Current, but a drill waits until
// it is done (its Complete condition).
// When the resources are not ready in time (the step's context ends) or one
// failed, the step returns a *drills.EvidenceError that explains why: the
// resources' status, the namespace's events about them, and their not-ready
// pods' container states and log tails, so that an image pull failure or a
// crash loop is named in the drill's result.
package wait

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// evidenceTimeout bounds the collection of evidence, which runs after the
// step's own context ended.
const evidenceTimeout = 20 * time.Second

// Step waits for resources. It implements drills.Step.
type Step struct {
	resources []string
	namespace string
	logLines  int64
	logger    *zap.Logger
}

// Option configures a Step.
type Option func(*Step)

// WithLogLines sets how many of the last log lines of each not-ready
// container go into the evidence (default 50).
func WithLogLines(n int) Option { return func(s *Step) { s.logLines = int64(n) } }

// WithLogger sets the logger for drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(s *Step) { s.logger = l } }

// New returns a step that waits until the resources are ready. Each resource
// is "type/name": the type is a kind in any case, a plural or singular
// resource name or a short name ("Deployment", "deployment", "deployments",
// "deploy"), optionally with its group ("deployments.apps"). namespace is
// where namespaced resources live; when empty, the target's own namespace
// (drills.NamespaceDefaulter), else "default". With no resources,
// the step waits for everything the cycle's apply steps applied
// (env.Applied). The step's timeout is its context's deadline.
func New(resources []string, namespace string, opts ...Option) drills.Step {
	s := &Step{
		resources: append([]string(nil), resources...),
		namespace: namespace,
		logLines:  50,
		logger:    zap.NewNop(),
	}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = zap.NewNop()
	}
	return s
}

// item is one resource being waited for, with its latest status.
type item struct {
	mapping *meta.RESTMapping
	ns      string
	name    string
	display string // "deployment.apps/hello -n web"
	obj     *unstructured.Unstructured
	status  status.Status
	message string
}

// Run watches until every resource is Current.
func (s *Step) Run(ctx context.Context, env *drills.Env) error {
	c, err := clients(env)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	items, err := s.items(ctx, env, c)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	if len(items) == 0 {
		fmt.Fprintln(env.Output(), "nothing to wait for: no resources named and nothing applied in this cycle")
		return nil
	}
	return s.until(ctx, env, c, items)
}

// ForObjects waits until every object is ready, exactly as a wait step
// naming them would (the same kstatus rules, the same log lines), and fails
// the same way: a *drills.EvidenceError with the objects' status, events,
// pods' waiting reasons and log tails. Other actions that create objects
// (helm) wait through it, so their evidence reads like a wait step's. An
// object of a namespaced kind without a namespace is in "default".
func ForObjects(ctx context.Context, env *drills.Env, objs []drills.ObjectRef, opts ...Option) error {
	s := New(nil, "", opts...).(*Step)
	c, err := clients(env)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	var items []*item
	seen := map[string]bool{}
	for _, ref := range objs {
		if err := addRef(ctx, c, ref, &items, seen); err != nil {
			return fmt.Errorf("wait: %w", err)
		}
	}
	if len(items) == 0 {
		return nil
	}
	return s.until(ctx, env, c, items)
}

func clients(env *drills.Env) (*kube.Clients, error) {
	kubeconfig, err := kube.KubeconfigPath(env)
	if err != nil {
		return nil, err
	}
	return kube.New(kubeconfig, env.Output())
}

// until watches items until every one is Current, one fails, or ctx ends.
// Each item has a watcher goroutine of its own (a field selector on its
// name); the statuses are computed and printed here only, so the items need
// no lock.
func (s *Step) until(ctx context.Context, env *drills.Env, c *kube.Clients, items []*item) error {
	out := env.Output()
	start := time.Now()
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	updates := make(chan update, len(items))
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			watchItem(wctx, c, i, it, updates)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			var waiting []*item
			for _, it := range items {
				if it.status != status.CurrentStatus {
					waiting = append(waiting, it)
				}
			}
			return s.fail(ctx, c, items, fmt.Errorf("wait: %s: %w", describe(waiting), context.Cause(ctx)))
		case u := <-updates:
			it := items[u.index]
			before := it.status.String() + it.message
			observe(it, u)
			if after := it.status.String() + it.message; after != before {
				fmt.Fprintf(out, "%s: %s: %s\n", it.display, it.status, it.message)
			}
		}
		pending := 0
		var failed []*item
		for _, it := range items {
			switch it.status {
			case status.CurrentStatus:
			case status.FailedStatus:
				failed = append(failed, it)
			default:
				pending++
			}
		}
		if len(failed) > 0 {
			return s.fail(ctx, c, items, fmt.Errorf("wait: %s", describe(failed)))
		}
		if pending == 0 {
			fmt.Fprintf(out, "%d resource(s) ready in %.1fs\n", len(items), time.Since(start).Seconds())
			s.logger.Debug("resources ready", zap.Int("resources", len(items)),
				zap.Int64("durationMs", time.Since(start).Milliseconds()))
			return nil
		}
	}
}

// update is what a watcher saw of one item: its object (nil when it does not
// exist), or the API error that kept it from seeing it.
type update struct {
	index int
	obj   *unstructured.Unstructured
	err   error
}

// watchItem sends the item's object and each change of it until ctx ends.
// Resources are watched (kube.WatchNamed), not polled: a poll notices
// readiness half its interval late on average (a 1 s poll made a wait step
// finish 0.8 s after the rollout), a watch within milliseconds. A failed
// list or watch request is sent too, and retried.
func watchItem(ctx context.Context, c *kube.Clients, index int, it *item, updates chan<- update) {
	send := func(u update) bool {
		u.index = index
		select {
		case updates <- u:
			return true
		case <-ctx.Done():
			return false
		}
	}
	_ = kube.WatchNamed(ctx, c.Resource(it.mapping, it.ns), it.name,
		func(obj *unstructured.Unstructured) bool { return !send(update{obj: obj}) },
		func(_ string, err error) error {
			if !send(update{err: err}) {
				return context.Cause(ctx)
			}
			return nil
		})
}

// describe says what is wrong with items, for the error message.
func describe(items []*item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s is %s (%s)", it.display, it.status, it.message)
	}
	return strings.Join(parts, "; ")
}

// observe computes the kstatus of what a watcher saw of it. API errors
// leave it Unknown: the API server may be briefly unavailable, and the
// deadline decides.
func observe(it *item, u update) {
	switch {
	case u.err != nil:
		it.status, it.message = status.UnknownStatus, "get: "+u.err.Error()
		return
	case u.obj == nil:
		it.obj, it.status, it.message = nil, status.NotFoundStatus, "not found"
		return
	}
	it.obj = u.obj
	res, err := status.Compute(u.obj)
	if err != nil {
		it.status, it.message = status.UnknownStatus, "compute status: "+err.Error()
		return
	}
	it.status, it.message = res.Status, res.Message
	if it.status == status.CurrentStatus && isJob(it) && !jobComplete(u.obj) {
		// kstatus calls a running Job Current; a drill waits for it to be done.
		it.status = status.InProgressStatus
	}
}

func isJob(it *item) bool {
	return it.mapping.GroupVersionKind.GroupKind() == schema.GroupKind{Group: "batch", Kind: "Job"}
}

// jobComplete reports whether a Job's Complete condition is True.
func jobComplete(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Complete" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// fail wraps err with the evidence of why items are not ready.
func (s *Step) fail(ctx context.Context, c *kube.Clients, items []*item, err error) error {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), evidenceTimeout)
	defer cancel()
	return &drills.EvidenceError{Err: err, Evidence: collect(ectx, c, items, s.logLines)}
}

// addItem adds the object name of mapping m in namespace ns to items,
// unless it is there already.
func addItem(items *[]*item, seen map[string]bool, m *meta.RESTMapping, ns, name string) {
	if !kube.Namespaced(m) {
		ns = ""
	} else if ns == "" {
		ns = metav1.NamespaceDefault
	}
	display := kube.DisplayName(m.GroupVersionKind.GroupKind(), name)
	if ns != "" {
		display += " -n " + ns
	}
	if seen[display] {
		return
	}
	seen[display] = true
	*items = append(*items, &item{mapping: m, ns: ns, name: name, display: display, status: status.UnknownStatus})
}

// addRef adds an object named by its apiVersion and kind to items.
func addRef(ctx context.Context, c *kube.Clients, ref drills.ObjectRef, items *[]*item, seen map[string]bool) error {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return fmt.Errorf("object %s: %w", kube.RefName(ref), err)
	}
	m, err := c.Mapping(ctx, gv.WithKind(ref.Kind), 0)
	if err != nil {
		return fmt.Errorf("object %s: %w", kube.RefName(ref), err)
	}
	addItem(items, seen, m, ref.Namespace, ref.Name)
	return nil
}

// items resolves the resources to wait for.
func (s *Step) items(ctx context.Context, env *drills.Env, c *kube.Clients) ([]*item, error) {
	var items []*item
	seen := map[string]bool{}
	defaultNS := kube.Namespace(env, s.namespace)
	if len(s.resources) == 0 {
		for _, ref := range env.Applied {
			if err := addRef(ctx, c, ref, &items, seen); err != nil {
				return nil, fmt.Errorf("applied %w", err)
			}
		}
		return items, nil
	}
	for _, r := range s.resources {
		typ, name, ok := strings.Cut(r, "/")
		if !ok || typ == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("resource %q: want type/name, such as deployment/hello", r)
		}
		m, err := c.ResolveType(ctx, typ)
		if err != nil {
			if meta.IsNoMatchError(err) {
				return nil, fmt.Errorf("resource %q: the cluster has no such type: %w", r, err)
			}
			return nil, fmt.Errorf("resource %q: %w", r, err)
		}
		addItem(&items, seen, m, defaultNS, name)
	}
	return items, nil
}
