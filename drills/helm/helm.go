// Package helm is the helm action: install or upgrade a chart from the
// cycle's workdir with the Helm v4 SDK (no helm binary), wait until every
// object of the release is ready exactly as a wait step would (kstatus, and
// the same evidence on timeout), and hand the runner a cleanup that
// uninstalls the release at the end of the cycle with foreground deletion
// and checks that nothing of it is left. The release is in the run's ledger
// before it is installed, so drill gc uninstalls it after a crash.
//
// It also checks idempotency: a dry-run upgrade with the same inputs right
// after the install must render the same manifest and values.
package helm

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"helm.sh/helm/v4/pkg/action"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	helmkube "helm.sh/helm/v4/pkg/kube"
	ri "helm.sh/helm/v4/pkg/release"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
	"github.com/redeploy-drill/drill/drills/wait"
	"github.com/redeploy-drill/drill/internal/resultstore"
)

// FieldManager is the server-side apply field manager of the namespaces
// drill creates for releases (Helm applies the chart's objects as "helm").
const FieldManager = "drill"

// defaultTimeout bounds Helm's hooks and waits when the step has no deadline.
const defaultTimeout = 5 * time.Minute

// Spec is what a helm step installs, with every ${NAME} expanded and every
// path resolved inside the workdir (internal/plan does both).
type Spec struct {
	// Chart is a chart folder or a packaged chart (.tgz).
	Chart string
	// Release is the release name.
	Release string
	// Namespace is where the release lives. Empty: the target's namespace
	// (drills.NamespaceDefaulter), else "default".
	Namespace string
	// Values are inline values, merged over ValuesFiles.
	Values map[string]any
	// ValuesFiles are values files, merged in order.
	ValuesFiles []string
	// Set are `--set key=value` values, merged last.
	Set map[string]string
}

// Step installs or upgrades a release. It implements drills.Step and
// drills.IdempotencyChecker.
type Step struct {
	spec     Spec
	logger   *zap.Logger
	waitOpts []wait.Option
}

var (
	_ drills.Step               = (*Step)(nil)
	_ drills.IdempotencyChecker = (*Step)(nil)
)

// Option configures a Step.
type Option func(*Step)

// WithLogger sets the logger for drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(s *Step) { s.logger = l } }

// WithWaitOptions tunes the wait for the release's objects (interval, log lines).
func WithWaitOptions(opts ...wait.Option) Option {
	return func(s *Step) { s.waitOpts = append(s.waitOpts, opts...) }
}

// New returns a step that installs spec's chart as spec.Release, or
// upgrades the release when it exists.
func New(spec Spec, opts ...Option) *Step {
	s := &Step{spec: spec, logger: zap.NewNop()}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = zap.NewNop()
	}
	return s
}

// namespace is the release's namespace: the step's, else the target's,
// else "default".
func (s *Step) namespace(env *drills.Env) string {
	if s.spec.Namespace != "" {
		return s.spec.Namespace
	}
	if d, ok := env.Target.(drills.NamespaceDefaulter); ok {
		if ns := d.DefaultNamespace(); ns != "" {
			return ns
		}
	}
	return metav1.NamespaceDefault
}

// inputs is what install, upgrade and the idempotency check share.
type inputs struct {
	kubeconfig string
	namespace  string
	chart      *chartv2.Chart
	values     map[string]any
	cfg        *action.Configuration
}

func (s *Step) prepare(env *drills.Env) (*inputs, error) {
	kubeconfig, err := kube.KubeconfigPath(env)
	if err != nil {
		return nil, err
	}
	ch, err := loadChart(s.spec.Chart)
	if err != nil {
		return nil, err
	}
	vals, err := s.spec.values()
	if err != nil {
		return nil, err
	}
	ns := s.namespace(env)
	cfg, err := configuration(kubeconfig, ns, env.Output())
	if err != nil {
		return nil, err
	}
	return &inputs{kubeconfig: kubeconfig, namespace: ns, chart: ch, values: vals, cfg: cfg}, nil
}

// Run installs the release (it does not exist) or upgrades it, then waits
// until every object of its manifest is ready. A release it installs is
// first deferred to the end of the cycle (env.Defer), which writes it to
// the ledger; an upgraded one was deferred by the step that installed it.
func (s *Step) Run(ctx context.Context, env *drills.Env) error {
	name := s.spec.Release
	in, err := s.prepare(env)
	if err != nil {
		return fmt.Errorf("helm %s: %w", name, err)
	}
	out := env.Output()
	last, err := lastRelease(in.cfg, name)
	if err != nil {
		return fmt.Errorf("helm %s: %w", name, err)
	}
	start := time.Now()
	var rel *release.Release
	if last == nil {
		rel, err = s.install(ctx, env, in)
	} else {
		fmt.Fprintf(out, "release %s exists (revision %d, %s): upgrading it\n", name, last.Version, last.Info.Status)
		rel, err = s.upgrade(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("helm %s: %w", name, err)
	}
	objs, err := manifestObjects(rel.Manifest, in.namespace)
	if err != nil {
		return fmt.Errorf("helm %s: %w", name, err)
	}
	fmt.Fprintf(out, "release %s: revision %d of chart %s-%s in namespace %s (%d objects) in %.1fs; waiting until they are ready\n",
		name, rel.Version, rel.Chart.Metadata.Name, rel.Chart.Metadata.Version, in.namespace, len(objs), time.Since(start).Seconds())
	refs := make([]drills.ObjectRef, len(objs))
	for i, o := range objs {
		refs[i] = o.ref
	}
	if err := wait.ForObjects(ctx, env, refs, append([]wait.Option{wait.WithLogger(s.logger)}, s.waitOpts...)...); err != nil {
		return fmt.Errorf("helm %s: %w", name, err)
	}
	return nil
}

// install creates the namespace when it is missing and installs the
// release, both recorded first as a cleanup of the cycle. The namespace is
// created with the run's labels (kube.RunLabels), which are what lets the
// uninstall, drill gc and the cluster target's leftover check tell it is
// drill's. One that appears between the look and the create
// (AlreadyExists) is someone else's: it is used, and left alone.
func (s *Step) install(ctx context.Context, env *drills.Env, in *inputs) (*release.Release, error) {
	name, out := s.spec.Release, env.Output()
	c, err := kube.New(in.kubeconfig, out)
	if err != nil {
		return nil, err
	}
	_, err = c.Core.Namespaces().Get(ctx, in.namespace, metav1.GetOptions{})
	missing := apierrors.IsNotFound(err)
	if err != nil && !missing {
		return nil, fmt.Errorf("get namespace %s: %w", in.namespace, err)
	}
	r := Release{Kubeconfig: in.kubeconfig, Namespace: in.namespace, Name: name, DeleteNamespace: missing, Owner: kube.RunLabels(env)}
	// The ledger entry is written before the create, so it cannot say how
	// the create went; the cleanup of this cycle is told here, and gc
	// relies on the labels, which a namespace drill did not make lacks.
	var notMade atomic.Bool
	if err := env.Defer(r.cleanup(&notMade)); err != nil {
		return nil, fmt.Errorf("record the release before installing it: %w", err)
	}
	if missing {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.namespace, Labels: r.Owner}}
		_, err := c.Core.Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager})
		switch {
		case apierrors.IsAlreadyExists(err):
			notMade.Store(true)
			fmt.Fprintf(out, "namespace/%s was created by someone else a moment ago: the release goes there, and the namespace is left alone at the end of the cycle\n", in.namespace)
		case err != nil:
			return nil, fmt.Errorf("create namespace %s: %w", in.namespace, err)
		default:
			fmt.Fprintf(out, "namespace/%s created (deleted with the release at the end of the cycle)\n", in.namespace)
		}
	}
	i := action.NewInstall(in.cfg)
	i.ReleaseName = name
	i.Namespace = in.namespace
	i.WaitStrategy = helmkube.HookOnlyStrategy
	i.WaitOptions = []helmkube.WaitOption{helmkube.WithWaitContext(ctx)}
	i.Timeout = timeout(ctx, defaultTimeout)
	// Not canceled with ctx: Helm would go on installing in the background
	// and race the uninstall. Its only wait (for hooks) ends with ctx.
	got, err := i.RunWithContext(context.WithoutCancel(ctx), in.chart, in.values)
	rel, cerr := asRelease(got)
	if err != nil {
		return rel, fmt.Errorf("install: %w", err)
	}
	if cerr != nil {
		return nil, cerr
	}
	fmt.Fprintf(out, "release %s installed\n", name)
	return rel, nil
}

// upgrade upgrades the release to exactly the step's inputs: values are
// reset to the chart's and the step's, never reused from the last
// revision, so the same step gives the same release whatever came before.
func (s *Step) upgrade(ctx context.Context, in *inputs) (*release.Release, error) {
	u := newUpgrade(in)
	u.WaitOptions = []helmkube.WaitOption{helmkube.WithWaitContext(ctx)}
	u.Timeout = timeout(ctx, defaultTimeout)
	got, err := u.RunWithContext(context.WithoutCancel(ctx), s.spec.Release, in.chart, in.values)
	rel, cerr := asRelease(got)
	if err != nil {
		return rel, fmt.Errorf("upgrade: %w", err)
	}
	if cerr != nil {
		return nil, cerr
	}
	return rel, nil
}

// newUpgrade is the upgrade both a second run of the step and the
// idempotency check's dry run perform.
func newUpgrade(in *inputs) *action.Upgrade {
	u := action.NewUpgrade(in.cfg)
	u.Namespace = in.namespace
	u.ResetValues = true
	u.WaitStrategy = helmkube.HookOnlyStrategy
	// Like the apply action, the scenario's inputs win over another field
	// manager's changes (a `kubectl scale` between cycles).
	u.ForceConflicts = true
	return u
}

// lastRelease returns the newest revision of a release, or nil when there
// is none.
func lastRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	got, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read release history: %w", err)
	}
	rel, err := asRelease(got)
	if err != nil {
		return nil, err
	}
	if rel != nil && rel.Info != nil && rel.Info.Status.IsPending() {
		return nil, fmt.Errorf("release %s is %s: another Helm operation is under way or was interrupted", name, rel.Info.Status)
	}
	if rel != nil && rel.Info != nil && rel.Info.Status == rcommon.StatusUninstalled {
		return nil, fmt.Errorf("release %s was uninstalled with its history kept: remove it (helm uninstall %s -n %s) or name another release", name, name, rel.Namespace)
	}
	return rel, nil
}

// asRelease turns what Helm's actions return into a v1 release.
func asRelease(r ri.Releaser) (*release.Release, error) {
	switch v := r.(type) {
	case nil:
		return nil, nil
	case *release.Release:
		return v, nil
	case release.Release:
		return &v, nil
	}
	return nil, fmt.Errorf("unsupported Helm release type %T", r)
}

// cleanup is what uninstalls the release at the end of the cycle. notMade,
// when set by then, says that drill did not create the namespace after all
// (someone else did, between the look and the create): it stays.
func (r Release) cleanup(notMade *atomic.Bool) drills.Cleanup {
	return drills.Cleanup{
		Name:  "uninstall " + r.Name,
		Kind:  "helm",
		Entry: r.Entry(),
		Remove: func(ctx context.Context, env *drills.Env) error {
			rr := r
			if rr.DeleteNamespace && notMade != nil && notMade.Load() {
				rr.DeleteNamespace = false
				fmt.Fprintf(env.Output(), "namespace/%s is left alone: drill did not create it (someone else did, between drill's look and its create)\n", r.Namespace)
			}
			return Uninstall(ctx, rr, env.Output())
		},
	}
}

// Entry is the release's ledger entry.
func (r Release) Entry() resultstore.LedgerEntry {
	return resultstore.LedgerEntry{Kind: resultstore.LedgerHelmRelease, Kubeconfig: r.Kubeconfig,
		Namespace: r.Namespace, Release: r.Name, DeleteNamespace: r.DeleteNamespace}
}

// FromEntry reads a release back from its ledger entry (drill gc). env is
// the dead run's (its RunID and Scenario): with the entry's cycle, they
// are the labels a namespace drill created for the release carries, and
// without which gc leaves the namespace alone.
func FromEntry(e resultstore.LedgerEntry, env *drills.Env) (Release, error) {
	if e.Kind != resultstore.LedgerHelmRelease || e.Release == "" || e.Namespace == "" || e.Kubeconfig == "" {
		return Release{}, fmt.Errorf("ledger entry %s is not a complete helm release (release, namespace and kubeconfig)", e.ID)
	}
	owner := kube.RunLabels(&drills.Env{RunID: env.RunID, Scenario: env.Scenario, Cycle: e.Cycle})
	return Release{Kubeconfig: e.Kubeconfig, Namespace: e.Namespace, Name: e.Release, DeleteNamespace: e.DeleteNamespace, Owner: owner}, nil
}
