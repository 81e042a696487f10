package helm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/helm"
	"github.com/redeploy-drill/drill/drills/internal/kube"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/janitor"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

func TestRun_noCluster(t *testing.T) {
	env, _ := kubetest.NewEnv(t)
	err := helm.New(helm.Spec{Chart: chartPath(t, "hello"), Release: "hello"}).Run(context.Background(), env)
	require.ErrorIs(t, err, kube.ErrNoCluster)
}

func TestRun_chartWithMissingDependency(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(
		"apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - {name: redis, version: 1.0.0, repository: https://charts.example.invalid}\n"), 0o644))
	env, _ := kubetest.NewEnv(t)
	env.Vars["KUBECONFIG"] = filepath.Join(t.TempDir(), "unused")
	err := helm.New(helm.Spec{Chart: dir, Release: "app"}).Run(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing in charts/ directory: redis")
	assert.Contains(t, err.Error(), "helm dependency build", "says how to vendor it: a drill downloads nothing")
}

func chartPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "charts", name))
	require.NoError(t, err)
	return p
}

// timeoutCtx gives a step its timeout the way the runner does.
func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), d, &drills.TimeoutError{What: "step helm", Timeout: d})
	t.Cleanup(cancel)
	return ctx
}

// TestHelm runs every helm case against one kind cluster: install (from a
// folder and from a .tgz), upgrade, the idempotency check passing and
// failing, a failed rollout with its evidence, and uninstall checked gone.
func TestHelm(t *testing.T) {
	image := kubetest.BuildHello(t)
	_, env, log := kubetest.Cluster(t, kind.WithLoadImages([]string{image}))
	cleanups := kubetest.NewCleanups(t, env)
	kubeconfig, err := kube.KubeconfigPath(env)
	require.NoError(t, err)
	rc, err := kube.RESTConfig(kubeconfig, nil)
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	ctx := context.Background()
	repo, tag, _ := strings.Cut(image, ":")
	hello := helm.Spec{Chart: chartPath(t, "hello"), Release: "hello", Namespace: "apps",
		Values: map[string]any{"image": map[string]any{"repository": repo, "tag": tag}}}
	runLabels := map[string]string{kube.LabelRun: env.RunID, kube.LabelScenario: env.Scenario, kube.LabelCycle: "1"}
	releaseSecrets := func(t *testing.T, ns, name string) int {
		t.Helper()
		list, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
		require.NoError(t, err)
		return len(list.Items)
	}

	t.Run("install", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, helm.New(hello).Run(timeoutCtx(t, 2*time.Minute), env))
		t.Logf("install and rollout took %s", time.Since(start).Round(time.Millisecond))
		assert.Contains(t, log.String(), "namespace/apps created")
		assert.Contains(t, log.String(), "release hello installed")
		assert.Contains(t, log.String(), "deployment.apps/hello -n apps: Current:")
		assert.Contains(t, log.String(), "2 resource(s) ready in") // deployment, service
		d, err := cs.AppsV1().Deployments("apps").Get(ctx, "hello", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(1), d.Status.ReadyReplicas)
		assert.Equal(t, image, d.Spec.Template.Spec.Containers[0].Image, "inline values reach the chart")

		list := cleanups.List()
		require.Len(t, list, 1, "the release is deferred once, before it is installed")
		assert.Equal(t, "uninstall hello", list[0].Name)
		assert.Equal(t, "helm", list[0].Kind)
		assert.Equal(t, resultstore.LedgerEntry{Kind: resultstore.LedgerHelmRelease, Kubeconfig: kubeconfig,
			Namespace: "apps", Release: "hello", DeleteNamespace: true}, list[0].Entry, "drill made the namespace: it goes with the release")
		ns, err := cs.CoreV1().Namespaces().Get(ctx, "apps", metav1.GetOptions{})
		require.NoError(t, err)
		for k, v := range runLabels {
			assert.Equal(t, v, ns.Labels[k], "the namespace drill made carries the run's label %s", k)
		}
	})

	t.Run("the idempotency check passes right after install", func(t *testing.T) {
		require.NoError(t, helm.New(hello).CheckIdempotent(timeoutCtx(t, time.Minute), env))
		assert.Equal(t, 1, releaseSecrets(t, "apps", "hello"), "a dry run stores no revision")
	})

	t.Run("upgrade with a changed value", func(t *testing.T) {
		up := hello
		up.Set = map[string]string{"replicaCount": "2"}
		mark := len(log.String())
		require.NoError(t, helm.New(up).Run(timeoutCtx(t, 2*time.Minute), env))
		assert.Contains(t, log.String()[mark:], "release hello exists (revision 1, deployed): upgrading it")
		assert.Contains(t, log.String()[mark:], "release hello: revision 2")
		d, err := cs.AppsV1().Deployments("apps").Get(ctx, "hello", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, int32(2), d.Status.ReadyReplicas, "the wait waited for both replicas")
		assert.Len(t, cleanups.List(), 1, "an upgrade defers nothing more")

		// The check compares with the upgraded revision; other inputs differ.
		require.NoError(t, helm.New(up).CheckIdempotent(timeoutCtx(t, time.Minute), env))
		err = helm.New(hello).CheckIdempotent(timeoutCtx(t, time.Minute), env)
		var ni *drills.NotIdempotentError
		require.ErrorAs(t, err, &ni)
		assert.Equal(t, []string{"release hello: deployment.apps/hello (spec.replicas)", "release hello: values (replicaCount)"}, ni.Changes)
	})

	t.Run("install from a packaged chart", func(t *testing.T) {
		ch, err := loader.Load(chartPath(t, "hello"))
		require.NoError(t, err)
		tgz, err := chartutil.Save(ch, t.TempDir())
		require.NoError(t, err)
		require.True(t, strings.HasSuffix(tgz, ".tgz"), tgz)
		packed := hello
		packed.Chart, packed.Release, packed.Namespace = tgz, "packed", "" // the target names none: default
		require.NoError(t, helm.New(packed).Run(timeoutCtx(t, 2*time.Minute), env))
		list := cleanups.List()
		require.Len(t, list, 2)
		assert.Equal(t, "default", list[1].Entry.Namespace)
		assert.False(t, list[1].Entry.DeleteNamespace, "default was there: it is not drill's to delete")
	})

	t.Run("a chart that renders differently each time is not idempotent", func(t *testing.T) {
		random := helm.Spec{Chart: chartPath(t, "random"), Release: "random", Namespace: "apps"}
		require.NoError(t, helm.New(random).Run(timeoutCtx(t, time.Minute), env))
		err := helm.New(random).CheckIdempotent(timeoutCtx(t, time.Minute), env)
		var ni *drills.NotIdempotentError
		require.ErrorAs(t, err, &ni)
		assert.Equal(t, []string{"release random: configmap/random (data.renderedAt, data.token)"}, ni.Changes,
			"names the object and the fields randAlphaNum and now change, not the stable one")
	})

	t.Run("a failed rollout carries the evidence", func(t *testing.T) {
		ghost := helm.Spec{Chart: chartPath(t, "hello"), Release: "ghost", Namespace: "apps",
			Values: map[string]any{"image": map[string]any{"repository": "drill-test/does-not-exist", "tag": "v0"}}}
		// Long enough for a loaded machine to get the pod to its waiting
		// reason, which the evidence must show.
		err := helm.New(ghost).Run(timeoutCtx(t, 45*time.Second), env)
		require.Error(t, err)
		var te *drills.TimeoutError
		assert.ErrorAs(t, err, &te, "ended by the step's timeout")
		var ee *drills.EvidenceError
		require.ErrorAs(t, err, &ee, "the same evidence as a wait step")
		assert.Contains(t, err.Error(), "deployment.apps/ghost -n apps is InProgress")
		for _, want := range []string{
			"== status ==",
			"== pods of deployment.apps/ghost -n apps ==",
			"ErrImageNeverPull",
			"drill-test/does-not-exist:v0",
			"== events of deployment.apps/ghost -n apps ==",
		} {
			assert.Contains(t, ee.Evidence, want)
		}
		assert.Len(t, cleanups.List(), 4, "a release whose rollout failed is still uninstalled")
	})

	t.Run("an object helm keeps is reported left", func(t *testing.T) {
		keep := helm.Spec{Chart: chartPath(t, "keep"), Release: "keep", Namespace: "default"}
		require.NoError(t, helm.New(keep).Run(timeoutCtx(t, time.Minute), env))
		r := helm.Release{Kubeconfig: kubeconfig, Namespace: "default", Name: "keep"}
		err := helm.Uninstall(timeoutCtx(t, time.Minute), r, log)
		var le *drills.LeftoverError
		require.ErrorAs(t, err, &le)
		assert.Equal(t, []string{"configmap/keep-kept -n default (kept by its helm.sh/resource-policy: keep annotation)"}, le.Items)
		_, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "keep-gone", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the other object is gone: %v", err)
		require.NoError(t, cs.CoreV1().ConfigMaps("default").Delete(ctx, "keep-kept", metav1.DeleteOptions{}))
		require.NoError(t, helm.Uninstall(timeoutCtx(t, time.Minute), r, log), "once removed by hand, nothing is left")
	})

	t.Run("a namespace someone makes between drill's look and its create is not drill's", func(t *testing.T) {
		// The step's Defer runs between the two: the namespace is made
		// there, so drill's create meets AlreadyExists.
		racing := *env
		racing.Cleanups = drills.DeferFunc(func(cl drills.Cleanup) error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "theirs"}}, metav1.CreateOptions{})
			require.NoError(t, err)
			return cleanups.Defer(cl)
		})
		theirs := helm.Spec{Chart: chartPath(t, "random"), Release: "theirs", Namespace: "theirs"}
		mark := len(log.String())
		require.NoError(t, helm.New(theirs).Run(timeoutCtx(t, time.Minute), &racing))
		assert.Contains(t, log.String()[mark:], "namespace/theirs was created by someone else a moment ago")
		assert.NotContains(t, log.String()[mark:], "namespace/theirs created")
		list := cleanups.List()
		require.Len(t, list, 6)
		assert.Equal(t, "theirs", list[5].Entry.Release)
		assert.True(t, list[5].Entry.DeleteNamespace, "the ledger entry is written before the create")
		// The uninstall below (with every other release) leaves it.
	})

	t.Run("uninstall removes every release and checks it gone", func(t *testing.T) {
		mark := len(log.String())
		start := time.Now()
		require.NoError(t, cleanups.Run(timeoutCtx(t, 3*time.Minute), env))
		t.Logf("uninstalls took %s:\n%s", time.Since(start).Round(time.Millisecond), log.String()[mark:])
		for _, rel := range []string{"ghost", "random", "packed", "hello"} {
			assert.Contains(t, log.String()[mark:], "release "+rel+" (revision")
			assert.Contains(t, log.String()[mark:], "checked gone: ")
		}
		assert.Contains(t, log.String()[mark:], "with foreground deletion")
		for _, ns := range []string{"apps", "default"} {
			pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			assert.Empty(t, pods.Items, "foreground deletion: no pod of %s outlives its Deployment", ns)
		}
		for _, name := range []string{"hello", "packed", "random", "ghost"} {
			for _, ns := range []string{"apps", "default"} {
				assert.Zero(t, releaseSecrets(t, ns, name), "no history of %s is kept", name)
			}
		}
		_, err := cs.AppsV1().Deployments("default").Get(ctx, "packed", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "%v", err)
		_, err = cs.CoreV1().Namespaces().Get(ctx, "apps", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the namespace drill created is gone: %v", err)
		_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		assert.NoError(t, err, "default was not drill's")
		_, err = cs.CoreV1().Namespaces().Get(ctx, "theirs", metav1.GetOptions{})
		assert.NoError(t, err, "a namespace made by someone else survives the uninstall")
		assert.Contains(t, log.String()[mark:], "namespace/theirs is left alone: drill did not create it")
		assert.Zero(t, releaseSecrets(t, "theirs", "theirs"), "the release in it is uninstalled all the same")

		// gc of the same entry (written before the create) leaves it too:
		// it lacks the run's labels.
		rel, err := helm.FromEntry(resultstore.LedgerEntry{Kind: resultstore.LedgerHelmRelease, Kubeconfig: kubeconfig,
			Namespace: "theirs", Release: "theirs", DeleteNamespace: true, Cycle: 1}, env)
		require.NoError(t, err)
		mark = len(log.String())
		require.NoError(t, helm.Uninstall(timeoutCtx(t, time.Minute), rel, log))
		assert.Contains(t, log.String()[mark:], "namespace/theirs is left alone: drill did not make it (it lacks the labels "+
			kube.LabelCycle+"=1,"+kube.LabelRun+"="+env.RunID+","+kube.LabelScenario+"=test)")
		_, err = cs.CoreV1().Namespaces().Get(ctx, "theirs", metav1.GetOptions{})
		assert.NoError(t, err, "gc leaves it as well")

		// Nothing there is nothing to remove: a second uninstall, as gc
		// after a run whose cleanup passed, succeeds.
		again := helm.Release{Kubeconfig: kubeconfig, Namespace: "apps", Name: "hello", DeleteNamespace: true}
		assert.NoError(t, helm.Uninstall(timeoutCtx(t, time.Minute), again, log))
	})

	t.Run("gc deletes the run's namespace and leaves one recreated since the run died", func(t *testing.T) {
		store := resultstore.Open(t.TempDir())
		now := time.Now().UTC()
		require.NoError(t, store.FinishRun(&results.Run{RunID: env.RunID, Scenario: results.ScenarioRef{Name: env.Scenario, File: "test.yaml"},
			Trigger: "manual", Status: results.StatusFailed, StartedAt: now, FinishedAt: &now, Cycles: []results.Cycle{}}))
		ledger := store.Ledger(env.Scenario, env.RunID)
		// A run that dies after its installs: the entries are in its
		// ledger, as the runner writes them, and its cleanups never run.
		dead := *env
		dead.Cleanups = drills.DeferFunc(func(cl drills.Cleanup) error {
			e := cl.Entry
			e.ID, e.Cycle = "c1/helm/"+e.Release, dead.Cycle
			return ledger.Create(e)
		})
		for _, name := range []string{"crashed", "recreated"} {
			spec := helm.Spec{Chart: chartPath(t, "random"), Release: name, Namespace: name}
			require.NoError(t, helm.New(spec).Run(timeoutCtx(t, time.Minute), &dead))
		}
		// Since the run died, someone deleted "recreated" and made it again.
		require.NoError(t, cs.CoreV1().Namespaces().Delete(ctx, "recreated", metav1.DeleteOptions{}))
		require.Eventually(t, func() bool {
			_, err := cs.CoreV1().Namespaces().Get(ctx, "recreated", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}, 2*time.Minute, 250*time.Millisecond, "the namespace deleted by hand goes")
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "recreated"}}, metav1.CreateOptions{})
		require.NoError(t, err)

		rep, err := (&janitor.Janitor{Store: store}).Collect(timeoutCtx(t, 3*time.Minute))
		require.NoError(t, err)
		require.Len(t, rep.Items, 2)
		for _, it := range rep.Items {
			assert.True(t, it.Removed, "%s: %s", it.What, it.Error)
		}
		_, err = cs.CoreV1().Namespaces().Get(ctx, "crashed", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the namespace the run made goes with its release: %v", err)
		ns, err := cs.CoreV1().Namespaces().Get(ctx, "recreated", metav1.GetOptions{})
		require.NoError(t, err, "the namespace made since the run died is not the run's")
		assert.Empty(t, ns.Labels[kube.LabelRun])
		gclog, err := os.ReadFile(filepath.Join(store.RunDir(env.Scenario, env.RunID), "gc.log"))
		require.NoError(t, err)
		assert.Contains(t, string(gclog), "namespace/recreated is left alone: drill did not make it")
		assert.Contains(t, string(gclog), "namespace/crashed deleted in")
	})

	t.Run("after uninstall the same inputs install afresh", func(t *testing.T) {
		// As cycle 2 would on a cluster that stays: revision 1 again.
		mark := len(log.String())
		require.NoError(t, helm.New(hello).Run(timeoutCtx(t, 2*time.Minute), env))
		assert.Contains(t, log.String()[mark:], "release hello: revision 1 ")
		require.NoError(t, cleanups.Run(timeoutCtx(t, 2*time.Minute), env))
	})
}
