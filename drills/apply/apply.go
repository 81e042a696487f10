// Package apply is the apply action: server-side apply of a manifest file, a
// folder of manifests or a kustomization to the cycle's cluster, as field
// manager "drill" with conflicts forced, like `kubectl apply --server-side
// --force-conflicts`. It also checks idempotency: re-applying the same
// manifests right after deploy, in server-side dry-run, must change nothing.
package apply

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// FieldManager is the server-side apply field manager drill applies as.
const FieldManager = "drill"

// crdRetry is how long an object waits for its kind to be served when the
// same apply created a CustomResourceDefinition.
const crdRetry = 30 * time.Second

// Step applies manifests. It implements drills.Step, and
// drills.IdempotencyChecker so that the runner can find the idempotency
// check of an apply step by type assertion.
type Step struct {
	path      string
	namespace string
	logger    *zap.Logger
}

var (
	_ drills.Step               = (*Step)(nil)
	_ drills.IdempotencyChecker = (*Step)(nil)
)

// Option configures a Step.
type Option func(*Step)

// WithLogger sets the logger for drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(s *Step) { s.logger = l } }

// New returns a step that applies the manifests at path (relative to the
// cycle's workdir) to the cluster of env.Target (drills.Applier), or the one
// env.Vars["KUBECONFIG"] points at. namespace fills the namespace of
// namespaced objects that do not set one; when empty, the target's own
// namespace (drills.NamespaceDefaulter, the cluster target's namespace of
// the cycle), else "default". Namespaces that do not exist are created
// first, labelled with the run (kube.RunLabels), so that the leftover check
// of a cluster that outlives the run finds them.
func New(path, namespace string, opts ...Option) drills.Step {
	s := &Step{path: path, namespace: namespace, logger: zap.NewNop()}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = zap.NewNop()
	}
	return s
}

// Run applies every object, logs one line per object to the step log
// ("deployment.apps/hello serverside-applied") and records it in env.Applied.
func (s *Step) Run(ctx context.Context, env *drills.Env) error {
	return run(ctx, env, s.path, s.namespace, s.logger)
}

// CheckIdempotent implements drills.IdempotencyChecker for this step's
// manifests; see the package function.
func (s *Step) CheckIdempotent(ctx context.Context, env *drills.Env) error {
	return CheckIdempotent(ctx, env, s.path, s.namespace)
}

func resolvePath(env *drills.Env, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(env.Workdir, path)
}

// prepared is what apply and the idempotency check share: the objects, in
// apply order, and clients of the cluster.
func prepare(env *drills.Env, path string) ([]*unstructured.Unstructured, *kube.Clients, error) {
	kubeconfig, err := kube.KubeconfigPath(env)
	if err != nil {
		return nil, nil, fmt.Errorf("apply %s: %w", path, err)
	}
	objs, err := Load(resolvePath(env, path))
	if err != nil {
		return nil, nil, fmt.Errorf("apply %s: %w", path, err)
	}
	order(objs)
	c, err := kube.New(kubeconfig, env.Output())
	if err != nil {
		return nil, nil, fmt.Errorf("apply %s: %w", path, err)
	}
	return objs, c, nil
}

func run(ctx context.Context, env *drills.Env, path, namespace string, logger *zap.Logger) error {
	namespace = kube.Namespace(env, namespace)
	objs, c, err := prepare(env, path)
	if err != nil {
		return err
	}
	out := env.Output()
	known := map[string]bool{}
	retry := time.Duration(0)
	start := time.Now()
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		name := kube.DisplayName(gvk.GroupKind(), obj.GetName())
		m, err := c.Mapping(ctx, gvk, retry)
		if err != nil {
			return fmt.Errorf("apply %s: %w", name, err)
		}
		ns := ""
		if kube.Namespaced(m) {
			ns = objectNamespace(obj, namespace)
			if !known[ns] {
				created, err := ensureNamespace(ctx, c, ns, kube.RunLabels(env))
				if err != nil {
					return fmt.Errorf("apply %s: %w", name, err)
				}
				known[ns] = true
				if created {
					fmt.Fprintf(out, "namespace/%s created\n", ns)
					env.Applied = append(env.Applied, drills.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: ns})
				}
			}
		}
		obj.SetNamespace(ns) // a cluster-scoped object must not carry one
		got, err := c.Resource(m, ns).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("apply %s: %w", name, err)
		}
		fmt.Fprintf(out, "%s serverside-applied\n", name)
		env.Applied = append(env.Applied, drills.ObjectRef{
			APIVersion: got.GetAPIVersion(), Kind: got.GetKind(), Namespace: got.GetNamespace(), Name: got.GetName(),
		})
		switch gvk.GroupKind().String() {
		case "Namespace":
			known[obj.GetName()] = true
		case "CustomResourceDefinition.apiextensions.k8s.io":
			// Its kinds take a moment to be served; later objects may use them.
			retry = crdRetry
		}
	}
	logger.Debug("applied manifests", zap.String("path", path), zap.Int("objects", len(objs)),
		zap.Int64("durationMs", time.Since(start).Milliseconds()))
	return nil
}

// objectNamespace is the namespace of a namespaced object: its own, else
// the step's (already resolved by kube.Namespace).
func objectNamespace(obj *unstructured.Unstructured, fallback string) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return fallback
}

// ensureNamespace creates a namespace that does not exist, with labels; it
// reports whether it created it.
func ensureNamespace(ctx context.Context, c *kube.Clients, ns string, labels map[string]string) (bool, error) {
	_, err := c.Core.Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err == nil {
		return false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	_, err = c.Core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return true, nil
}
