package plan

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/loadimages"
	"github.com/redeploy-drill/drill/drills/wait"
	"github.com/redeploy-drill/drill/results"
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
		Ledger: func(env *drills.Env, t drills.Target) *results.LedgerEntry {
			kt, ok := t.(*kind.Target)
			if !ok {
				return nil
			}
			return &results.LedgerEntry{Kind: results.LedgerKindCluster, Cluster: kt.Cluster(), Kubeconfig: kt.Kubeconfig()}
		},
	}
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
	if c, ok := s.(runner.IdempotencyChecker); ok {
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
