package plan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/cluster"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/loadimages"
	"github.com/redeploy-drill/drill/drills/wait"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

func kindTarget(s *scenarios.Scenario, k *scenarios.KindTarget, timeout time.Duration, log *zap.Logger) runner.TargetPlan {
	return runner.TargetPlan{
		Kind: "kind", Timeout: timeout + k.WaitReady.D(), Idempotent: true,
		New: func(env *drills.Env) (drills.Target, error) {
			image, err := expand(k.NodeImage, env, "spec.target.kind.nodeImage")
			if err != nil {
				return nil, err
			}
			opts := []kind.Option{kind.WithWaitReady(k.WaitReady.D()), kind.WithLogger(log), kind.WithLoadImages(k.LoadImages)}
			if image != "" {
				opts = append(opts, kind.WithNodeImage(image))
			}
			if k.Config != "" {
				cfg, err := insideWorkdir(k.Config, env, "spec.target.kind.config")
				if err != nil {
					return nil, err
				}
				opts = append(opts, kind.WithConfig(cfg))
			}
			return kind.New(kind.ClusterName(s.Metadata.Name, env.RunID), opts...), nil
		},
		Ledger: func(env *drills.Env, t drills.Target) *resultstore.LedgerEntry {
			kt, ok := t.(*kind.Target)
			if !ok {
				return nil
			}
			return &resultstore.LedgerEntry{Kind: resultstore.LedgerKindCluster, Cluster: kt.Cluster(), Kubeconfig: kt.Kubeconfig()}
		},
	}
}

// clusterTarget plans an existing cluster: a namespace per cycle. The
// kubeconfig, context and namespace are expanded at the start of each cycle
// (target scope); a relative kubeconfig is relative to the scenario file's
// folder, like spec.source, since it is a file of this machine and not of
// the source. $KUBECONFIG and HOME are read from drill's own environment.
func clusterTarget(s *scenarios.Scenario, c *scenarios.ClusterTarget, timeout time.Duration, log *zap.Logger, lookupEnv func(string) (string, bool)) runner.TargetPlan {
	return runner.TargetPlan{
		Kind: "cluster", Timeout: timeout + c.DeleteTimeout.D(), Idempotent: true,
		New: func(env *drills.Env) (drills.Target, error) {
			kc, err := expand(c.Kubeconfig, env, "spec.target.cluster.kubeconfig")
			if err != nil {
				return nil, err
			}
			kctx, err := expand(c.Context, env, "spec.target.cluster.context")
			if err != nil {
				return nil, err
			}
			ns, err := expand(c.Namespace, env, "spec.target.cluster.namespace")
			if err != nil {
				return nil, err
			}
			if ns == "" {
				ns = cluster.NamespaceName(s.Metadata.Name, env.RunID, env.Cycle)
			}
			if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
				return nil, fmt.Errorf("spec.target.cluster.namespace: %q is not a namespace name: %s", ns, strings.Join(msgs, "; "))
			}
			opts := []cluster.Option{cluster.WithContext(kctx), cluster.WithDeleteTimeout(c.DeleteTimeout.D()),
				cluster.WithLogger(log), cluster.WithLookupEnv(lookupEnv)}
			if kc != "" {
				opts = append(opts, cluster.WithKubeconfig(scenarioRelative(s, kc)))
			}
			return cluster.New(ns, opts...), nil
		},
		Ledger: func(env *drills.Env, t drills.Target) *resultstore.LedgerEntry {
			ct, ok := t.(*cluster.Target)
			if !ok {
				return nil
			}
			// Resolved already by the from-scratch check; a kubeconfig that
			// cannot be read fails Provision before anything is made.
			_ = ct.Resolve()
			return &resultstore.LedgerEntry{Kind: resultstore.LedgerNamespace, Namespace: ct.Namespace(), Context: ct.Context(),
				Kubeconfig: strings.Join(ct.KubeconfigFiles(), string(filepath.ListSeparator))}
		},
	}
}

// scenarioRelative makes each relative path of a path list relative to the
// scenario file's folder; "~/" paths are left for the target to resolve.
func scenarioRelative(s *scenarios.Scenario, list string) string {
	parts := filepath.SplitList(list)
	for i, p := range parts {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
			continue
		}
		parts[i] = filepath.Join(filepath.Dir(s.File), p)
	}
	return strings.Join(parts, string(filepath.ListSeparator))
}

// lazyStep expands a Kubernetes action's fields at run time and builds the
// step then. It forwards the idempotency check, so the runner can still find
// it by type assertion.
type lazyStep struct {
	make func(env *drills.Env) (drills.Step, error)
}

func (l lazyStep) Run(ctx context.Context, env *drills.Env) error {
	s, err := l.make(env)
	if err != nil {
		return err
	}
	return s.Run(ctx, env)
}

// CheckIdempotent re-applies in dry-run when the built step supports it.
func (l lazyStep) CheckIdempotent(ctx context.Context, env *drills.Env) error {
	s, err := l.make(env)
	if err != nil {
		return err
	}
	if c, ok := s.(drills.IdempotencyChecker); ok {
		return c.CheckIdempotent(ctx, env)
	}
	return nil
}

func applyStep(name string, a scenarios.ApplyAction) drills.Step {
	return lazyStep{make: func(env *drills.Env) (drills.Step, error) {
		path, err := insideWorkdir(a.Path, env, fmt.Sprintf("step %s: apply.path", name))
		if err != nil {
			return nil, err
		}
		ns, err := expand(a.Namespace, env, fmt.Sprintf("step %s: apply.namespace", name))
		if err != nil {
			return nil, err
		}
		return apply.New(path, ns), nil
	}}
}

func waitStep(name string, w scenarios.WaitAction) drills.Step {
	return drills.StepFunc(func(ctx context.Context, env *drills.Env) error {
		ns, err := expand(w.Namespace, env, fmt.Sprintf("step %s: wait.namespace", name))
		if err != nil {
			return err
		}
		res := make([]string, 0, len(w.Resources))
		for i, r := range w.Resources {
			er, err := expand(r, env, fmt.Sprintf("step %s: wait.resources[%d]", name, i))
			if err != nil {
				return err
			}
			res = append(res, er)
		}
		return wait.New(res, ns).Run(ctx, env)
	})
}

// loadImagesStep expands the images at run time (a tag may come from
// spec.env or a target output) and loads them through the cycle's target.
func loadImagesStep(name string, images []string) drills.Step {
	images = slices.Clone(images)
	return drills.StepFunc(func(ctx context.Context, env *drills.Env) error {
		refs := make([]string, 0, len(images))
		for i, img := range images {
			ref, err := expand(img, env, fmt.Sprintf("step %s: loadImages[%d]", name, i))
			if err != nil {
				return err
			}
			refs = append(refs, ref)
		}
		return loadimages.New(refs).Run(ctx, env)
	})
}
