// Package cluster is the existing-cluster target of a drill: a Kubernetes
// cluster drill did not make and does not own (minikube, Docker Desktop, a
// kind cluster made elsewhere, a managed cluster). The cluster stays; what
// is made from scratch every cycle is a namespace of the cycle's own.
//
// Provision creates the namespace, labelled with the run, scenario and cycle
// (kube.RunLabels), after the run's ledger recorded it; Destroy deletes it
// with foreground propagation and waits until it is gone, at most the delete
// timeout, after which it fails with what the namespace's own status
// conditions say is left (remaining resources, remaining finalizers). A
// namespace is deleted only when it carries the labels of this run and
// cycle: a namespace of the same name that drill did not make is never
// touched, and provision refuses to use it.
//
// The user's kubeconfig is only read, never written: steps get a copy
// minified to the one context, with the cycle's namespace as its default,
// in the run folder (<RunDir>/kubeconfig-c<cycle>, mode 0600), and drill's
// own clients are built from that configuration in memory, without the
// persister through which client-go writes refreshed tokens back. The copy
// holds the context's credentials, so Destroy removes it once the
// namespace is gone.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// DefaultDeleteTimeout is how long Destroy waits for the namespace to be
// gone when WithDeleteTimeout is not given.
const DefaultDeleteTimeout = 2 * time.Minute

// FieldManager is the field manager drill creates namespaces as.
const FieldManager = "drill"

// maxNamespace is the limit of a namespace name (a DNS label).
const maxNamespace = 63

// pollInterval is how long Destroy waits after a failed watch of the
// namespace it deletes before it watches again, and how often it looks for
// the namespace's deletion conditions once the delete timeout passed.
const pollInterval = 250 * time.Millisecond

// evidenceTimeout bounds how long a failed Destroy waits past its delete
// timeout for the namespace's deletion conditions.
const evidenceTimeout = 15 * time.Second

// Target is an existing cluster and the namespace of one cycle in it.
// Provision, Destroy and the checks of one Target are meant to be called
// one after another (the runner does), not at once.
type Target struct {
	namespace     string
	kubeconfig    string // as configured; "" means $KUBECONFIG, else ~/.kube/config
	context       string // as configured; "" means the kubeconfig's current context
	deleteTimeout time.Duration
	lookupEnv     func(string) (string, bool)
	logger        *zap.Logger

	mu sync.Mutex
	// src is the kubeconfig once read (resolve), with the error it gave.
	src    *source
	srcErr error
	pinged bool
	state  state
	// kubeconfigOut is the minified copy, once Provision wrote it.
	kubeconfigOut string
}

// state says what this Target did in this process, so that Destroy knows
// whether there can be anything to delete without asking the cluster.
type state int

const (
	// untouched: neither Provision nor Preexisting ran here (drill gc).
	// Destroy and Leftovers look at the cluster.
	untouched state = iota
	// checked: the run looked at the cluster and created nothing (yet).
	checked
	// creating: Provision reached the create call, which may have
	// succeeded even when it returned an error.
	creating
)

// Option configures a Target.
type Option func(*Target)

// WithKubeconfig sets the kubeconfig file to read, or several separated like
// $KUBECONFIG (":" on Unix), merged as kubectl does; each must exist. A
// leading "~/" is the home folder. Default: $KUBECONFIG (files that do not
// exist are skipped, as kubectl does), else ~/.kube/config.
func WithKubeconfig(path string) Option { return func(t *Target) { t.kubeconfig = path } }

// WithContext sets the kubeconfig context. Default: the kubeconfig's
// current context.
func WithContext(name string) Option { return func(t *Target) { t.context = name } }

// WithDeleteTimeout sets how long Destroy waits for the namespace to be gone
// (DefaultDeleteTimeout when d <= 0).
func WithDeleteTimeout(d time.Duration) Option { return func(t *Target) { t.deleteTimeout = d } }

// WithLookupEnv sets how drill's own environment is read, for KUBECONFIG and
// HOME (default os.LookupEnv).
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(t *Target) { t.lookupEnv = lookup }
}

// WithLogger sets the logger for drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(t *Target) { t.logger = l } }

// New returns the target of one cycle: namespace (see NamespaceName) in the
// cluster of the kubeconfig's context. It reads nothing yet.
func New(namespace string, opts ...Option) *Target {
	t := &Target{namespace: namespace, deleteTimeout: DefaultDeleteTimeout, lookupEnv: os.LookupEnv, logger: zap.NewNop()}
	for _, o := range opts {
		o(t)
	}
	if t.deleteTimeout <= 0 {
		t.deleteTimeout = DefaultDeleteTimeout
	}
	if t.lookupEnv == nil {
		t.lookupEnv = os.LookupEnv
	}
	if t.logger == nil {
		t.logger = zap.NewNop()
	}
	return t
}

var notDNS = regexp.MustCompile(`[^a-z0-9]+`)

func dnsLabel(s string) string {
	return strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// NamespaceName returns the default namespace of a cycle:
// drill-<scenario>-<short run id>-c<cycle>, where the short run ID is the
// random suffix of the run ID ("20261127T071500Z-3f9a1c" → "3f9a1c"), so
// that concurrent runs and the cycles of one run never share a namespace.
// The name is a DNS label of at most 63 characters; the scenario part is
// shortened to fit.
func NamespaceName(scenario, runID string, cycle int) string {
	short := runID
	if i := strings.LastIndexByte(runID, '-'); i >= 0 && i < len(runID)-1 {
		short = runID[i+1:]
	}
	short = dnsLabel(short)
	if len(short) > 12 {
		short = strings.Trim(short[len(short)-12:], "-")
	}
	if short == "" {
		short = "run"
	}
	const prefix = "drill-"
	suffix := "-" + short + "-c" + strconv.Itoa(cycle)
	scen := dnsLabel(scenario)
	if room := maxNamespace - len(prefix) - len(suffix); len(scen) > room {
		scen = strings.TrimRight(scen[:max(room, 0)], "-")
	}
	if scen == "" {
		return prefix + strings.TrimPrefix(suffix, "-")
	}
	return prefix + scen + suffix
}

// Name implements drills.Target.
func (t *Target) Name() string { return "cluster" }

// Namespace returns the cycle's namespace.
func (t *Target) Namespace() string { return t.namespace }

// DefaultNamespace implements drills.NamespaceDefaulter: apply, wait and
// helm steps that name no namespace work in the cycle's.
func (t *Target) DefaultNamespace() string { return t.namespace }

// Kubeconfig returns the minified kubeconfig of the cycle once Provision
// wrote it, else "". It implements drills.Applier.
func (t *Target) Kubeconfig() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kubeconfigOut
}

// Context returns the kubeconfig context once Resolve read it, else "".
func (t *Target) Context() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == nil {
		return ""
	}
	return t.src.context
}

// KubeconfigFiles returns the kubeconfig files read once Resolve read them.
func (t *Target) KubeconfigFiles() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == nil {
		return nil
	}
	return slices.Clone(t.src.files)
}

// ScratchScope says what the from-scratch check covers: an existing
// cluster is not made from scratch, only the cycle's namespace is.
func (t *Target) ScratchScope() string {
	return "each cycle's namespace of the existing cluster; cluster-scoped objects outlive cycles and are not checked"
}

// SensitiveOutputs implements drills.Sensitive: the credentials of the
// context (token, password, client key), which a step could print from the
// kubeconfig it gets.
func (t *Target) SensitiveOutputs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == nil {
		return nil
	}
	return t.src.secrets()
}

func (t *Target) setState(s state) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s > t.state {
		t.state = s
	}
}

func (t *Target) getState() state {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// kubeconfigPath is where the cycle's minified kubeconfig lives.
func kubeconfigPath(env *drills.Env) (string, error) {
	dir := env.RunDir
	if dir == "" {
		dir = env.Workdir
	}
	if dir == "" {
		return "", errors.New("cluster: the environment has neither a run folder nor a workdir for the kubeconfig")
	}
	return filepath.Join(dir, fmt.Sprintf("kubeconfig-c%d", env.Cycle)), nil
}

// Preexisting implements drills.ScratchChecker: the cycle's namespace when
// it exists before Provision, saying whose it is. It is also where a run
// first meets the cluster, so an unusable one is reported here
// (*drills.ClusterUnreachableError).
func (t *Target) Preexisting(ctx context.Context, env *drills.Env) ([]string, error) {
	t.setState(checked)
	c, err := t.clients(ctx, env)
	if err != nil {
		return nil, err
	}
	ns, err := c.Core.Namespaces().Get(ctx, t.namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", t.namespace, err)
	}
	return []string{"namespace " + t.namespace + " (" + whose(ns, env) + ")"}, nil
}

// NamespaceExistsError says that the cycle's namespace exists before
// provision, so that it cannot be made from scratch; drill leaves it alone.
type NamespaceExistsError struct {
	Namespace string
	Context   string
	// Whose says who made it, from its labels.
	Whose string
}

func (e *NamespaceExistsError) Error() string {
	return fmt.Sprintf("namespace %s already exists in context %s and was not made by this cycle (%s): drill never uses or deletes a namespace it did not create; delete it or set target.cluster.namespace to another name",
		e.Namespace, e.Context, e.Whose)
}

// whose tells, from its labels, who made an existing namespace.
func whose(ns *corev1.Namespace, env *drills.Env) string {
	l := ns.Labels
	run, cycle := l[kube.LabelRun], l[kube.LabelCycle]
	phase := ""
	if ns.DeletionTimestamp != nil {
		phase = ", being deleted"
	}
	switch {
	case run == "":
		return "not made by drill" + phase
	case run == env.RunID && cycle == strconv.Itoa(env.Cycle):
		return "made by this cycle" + phase
	case run == env.RunID:
		return "left by cycle " + cycle + " of this run" + phase
	}
	return "made by drill run " + run + phase
}

// ours reports whether a namespace carries the labels of this run, scenario
// and cycle: the only namespaces drill ever deletes.
func ours(ns *corev1.Namespace, env *drills.Env) bool {
	want := kube.RunLabels(env)
	if want[kube.LabelRun] == "" {
		return false
	}
	for k, v := range want {
		if ns.Labels[k] != v {
			return false
		}
	}
	return true
}

// Provision creates the cycle's namespace, labelled with the run, and
// writes the steps' minified kubeconfig. It fails without creating
// anything when the cluster is not usable (*drills.ClusterUnreachableError)
// or a namespace of that name exists (*NamespaceExistsError).
func (t *Target) Provision(ctx context.Context, env *drills.Env) error {
	t.setState(checked)
	start := time.Now()
	c, err := t.clients(ctx, env)
	if err != nil {
		return err
	}
	src := t.source()
	nsClient := c.Core.Namespaces()
	existing, err := nsClient.Get(ctx, t.namespace, metav1.GetOptions{})
	switch {
	case err == nil:
		return &NamespaceExistsError{Namespace: t.namespace, Context: src.context, Whose: whose(existing, env)}
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("get namespace %s: %w", t.namespace, err)
	}
	path, err := kubeconfigPath(env)
	if err != nil {
		return err
	}
	if err := src.write(path); err != nil {
		return fmt.Errorf("write the cycle's kubeconfig: %w", err)
	}
	t.setState(creating)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.namespace, Labels: kube.RunLabels(env)}}
	if _, err := nsClient.Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Made by someone else between the check and the create.
			who := "made by someone else a moment ago"
			if got, gerr := nsClient.Get(ctx, t.namespace, metav1.GetOptions{}); gerr == nil {
				who = whose(got, env)
			}
			return &NamespaceExistsError{Namespace: t.namespace, Context: src.context, Whose: who}
		}
		return fmt.Errorf("create namespace %s: %w", t.namespace, err)
	}
	t.mu.Lock()
	t.kubeconfigOut = path
	t.mu.Unlock()
	t.phase(env, "create", start, "created namespace %s in context %s", t.namespace, src.context)
	return nil
}

// phase reports how long a part of the target's work took, to the step log
// and to drill's debug log.
func (t *Target) phase(env *drills.Env, name string, start time.Time, format string, args ...any) {
	d := time.Since(start)
	fmt.Fprintf(env.Output(), "cluster: "+format+" in %.1fs\n", append(args, d.Seconds())...)
	t.logger.Debug("cluster "+name, zap.String("namespace", t.namespace), zap.Int64("durationMs", d.Milliseconds()))
}

// Outputs implements drills.Outputter: KUBECONFIG (the minified copy's
// path), NAMESPACE and CONTEXT.
func (t *Target) Outputs(ctx context.Context, env *drills.Env) (map[string]string, error) {
	src, err := t.resolve()
	if err != nil {
		return nil, err
	}
	path, err := kubeconfigPath(env)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"KUBECONFIG": path,
		"NAMESPACE":  t.namespace,
		"CONTEXT":    src.context,
	}, nil
}

// Destroy deletes the cycle's namespace, if it carries this run's and
// cycle's labels, with foreground propagation, and waits until it is gone.
// Nothing there, or a namespace drill did not make, is not an error: the
// latter is left alone and the log says so. A namespace still there after
// the delete timeout is a *drills.EvidenceError wrapping a
// *NamespaceStuckError, whose evidence is the namespace's status
// conditions. Once the namespace is gone the minified kubeconfig is removed.
func (t *Target) Destroy(ctx context.Context, env *drills.Env) error {
	if t.getState() == checked {
		// Provision stopped before its create call: nothing was made.
		return removeKubeconfig(env)
	}
	start := time.Now()
	c, err := t.clients(ctx, env)
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", t.namespace, err)
	}
	nsClient := c.Core.Namespaces()
	ns, err := nsClient.Get(ctx, t.namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		fmt.Fprintf(env.Output(), "cluster: namespace %s is not there\n", t.namespace)
		return removeKubeconfig(env)
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: get: %w", t.namespace, err)
	}
	if !ours(ns, env) {
		fmt.Fprintf(env.Output(), "cluster: namespace %s is left alone: %s (it lacks the labels %s)\n",
			t.namespace, whose(ns, env), labelSelector(kube.RunLabels(env)))
		return removeKubeconfig(env)
	}
	if ns.DeletionTimestamp == nil {
		fg := metav1.DeletePropagationForeground
		uid := ns.UID
		err := nsClient.Delete(ctx, t.namespace, metav1.DeleteOptions{
			PropagationPolicy: &fg,
			// Exactly the namespace whose labels were just checked.
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		switch {
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			// Gone already, or replaced by another of the same name
			// (the wait below tells which).
		case err != nil:
			return fmt.Errorf("delete namespace %s: %w", t.namespace, err)
		}
	}
	if err := t.waitGone(ctx, c, ns.UID); err != nil {
		return err
	}
	t.phase(env, "delete", start, "deleted namespace %s", t.namespace)
	t.mu.Lock()
	t.kubeconfigOut = ""
	t.mu.Unlock()
	return removeKubeconfig(env)
}

// removeKubeconfig removes the cycle's minified kubeconfig: it holds the
// context's credentials and has no use once the namespace is gone.
func removeKubeconfig(env *drills.Env) error {
	path, err := kubeconfigPath(env)
	if err != nil {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the cycle's kubeconfig: %w", err)
	}
	return nil
}

// NamespaceStuckError says that a namespace drill deleted is still there
// after the delete timeout, and why, from its status conditions.
type NamespaceStuckError struct {
	Namespace string
	After     time.Duration
	// Conditions are the namespace's true deletion conditions, as
	// "Type: message" (NamespaceContentRemaining: the remaining resources,
	// NamespaceFinalizersRemaining: the remaining finalizers).
	Conditions []string
	// Finalizers are the namespace's own spec.finalizers.
	Finalizers []string
}

func (e *NamespaceStuckError) Error() string {
	msg := fmt.Sprintf("namespace %s is still there %s after it was deleted", e.Namespace, e.After.Round(time.Millisecond))
	if len(e.Conditions) > 0 {
		return msg + ": " + strings.Join(e.Conditions, "; ")
	}
	if len(e.Finalizers) > 0 {
		return msg + ": its finalizers " + strings.Join(e.Finalizers, ", ") + " remain (no condition reported yet)"
	}
	return msg + " (no condition reported yet)"
}

// waitGone watches until the namespace of uid is gone, at most the delete
// timeout. A namespace of the same name but another uid is a new one: ours
// is gone. An API error is waited through (the API server may restart
// while it deletes a namespace), until the delete timeout.
func (t *Target) waitGone(ctx context.Context, c *kube.Clients, uid types.UID) error {
	dctx, cancel := context.WithTimeout(ctx, t.deleteTimeout)
	defer cancel()
	var last *corev1.Namespace
	seen := func(ns *corev1.Namespace) { last = ns }
	for {
		err := kube.NamespaceGone(dctx, c, t.namespace, uid, seen)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("wait for namespace %s to be gone: %w", t.namespace, context.Cause(ctx))
		case dctx.Err() != nil:
			// Said as the configured deleteTimeout, which is what the
			// operator set and can change, not the timer's jitter.
			return t.stuck(ctx, c, last, t.deleteTimeout)
		}
		t.logger.Debug("watch namespace while waiting for its deletion", zap.String("namespace", t.namespace), zap.Error(err))
		select {
		case <-dctx.Done():
		case <-time.After(pollInterval):
		}
	}
}

// stuck explains a namespace that outlived the delete timeout from its own
// status: the deletion conditions the namespace controller sets, its
// finalizers and its phase. The controller reports its conditions only
// once its first pass over the namespace's content is done, seconds after
// the delete, so with a short delete timeout stuck waits for them a little
// (evidenceTimeout), as the wait action gathers its evidence after its
// timeout.
func (t *Target) stuck(ctx context.Context, c *kube.Clients, last *corev1.Namespace, after time.Duration) error {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), evidenceTimeout)
	defer cancel()
	for {
		if ns, err := c.Core.Namespaces().Get(gctx, t.namespace, metav1.GetOptions{}); err == nil {
			last = ns
		}
		if last != nil && deletionReported(last) {
			break
		}
		select {
		case <-gctx.Done():
		case <-time.After(pollInterval):
			continue
		}
		break
	}
	se := &NamespaceStuckError{Namespace: t.namespace, After: after}
	var b strings.Builder
	fmt.Fprintf(&b, "namespace %s, %s after its deletion:\n", t.namespace, after.Round(time.Millisecond))
	if last != nil {
		fmt.Fprintf(&b, "  phase: %s\n", last.Status.Phase)
		for _, f := range last.Spec.Finalizers {
			se.Finalizers = append(se.Finalizers, string(f))
		}
		if len(se.Finalizers) > 0 {
			fmt.Fprintf(&b, "  spec.finalizers: %s\n", strings.Join(se.Finalizers, ", "))
		}
		if len(last.Finalizers) > 0 {
			fmt.Fprintf(&b, "  metadata.finalizers: %s\n", strings.Join(last.Finalizers, ", "))
		}
		for _, cond := range last.Status.Conditions {
			fmt.Fprintf(&b, "  condition %s=%s (%s): %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
			if cond.Status == corev1.ConditionTrue {
				se.Conditions = append(se.Conditions, string(cond.Type)+": "+cond.Message)
			}
		}
	}
	return &drills.EvidenceError{Err: se, Evidence: strings.TrimRight(b.String(), "\n")}
}

// deletionReported reports whether the namespace controller has said how
// its deletion goes: any of its deletion conditions is set.
func deletionReported(ns *corev1.Namespace) bool {
	for _, c := range ns.Status.Conditions {
		switch c.Type {
		case corev1.NamespaceContentRemaining, corev1.NamespaceFinalizersRemaining, corev1.NamespaceDeletionContentFailure,
			corev1.NamespaceDeletionDiscoveryFailure, corev1.NamespaceDeletionGVParsingFailure:
			return true
		}
	}
	return false
}

// Leftovers implements drills.LeftoverChecker: the cycle's namespace while
// it still carries this cycle's labels, and every cluster-scoped object
// carrying the run's label (a namespace an apply step created, a
// ClusterRole a step labelled), which outlive the namespace.
func (t *Target) Leftovers(ctx context.Context, env *drills.Env) ([]string, error) {
	if t.getState() == checked {
		return nil, nil
	}
	c, err := t.clients(ctx, env)
	if err != nil {
		return nil, err
	}
	var items []string
	ownReported := false
	ns, err := c.Core.Namespaces().Get(ctx, t.namespace, metav1.GetOptions{})
	switch {
	case err == nil && ours(ns, env):
		item := "namespace " + t.namespace
		if ns.DeletionTimestamp != nil {
			item += " (" + string(ns.Status.Phase) + ")"
		}
		items = append(items, item)
		ownReported = true
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("get namespace %s: %w", t.namespace, err)
	}
	labelled, err := labelledClusterObjects(ctx, c, env)
	if err != nil {
		return nil, err
	}
	for _, o := range labelled {
		if ownReported && o.kind == "Namespace" && o.name == t.namespace {
			continue
		}
		items = append(items, o.String())
	}
	return items, nil
}

func labelSelector(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}
