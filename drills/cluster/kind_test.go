package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/cluster"
	"github.com/redeploy-drill/drill/drills/internal/kube"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/wait"
)

// runEnv is the environment of one cycle of a run against the existing
// cluster, with a fresh workdir, a run folder and a log.
// evidenceGrace bounds what Destroy takes past its delete timeout: the
// namespace controller's first report of its deletion conditions.
const evidenceGrace = 35 * time.Second

func runEnv(t *testing.T, runID string, cycle int) (*drills.Env, *kubetest.Buffer) {
	t.Helper()
	e, log := kubetest.NewEnv(t)
	e.RunID, e.Cycle = runID, cycle
	return e, log
}

func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), d, &drills.TimeoutError{What: "step", Timeout: d})
	t.Cleanup(cancel)
	return ctx
}

// gone polls until the namespace is gone (or is another one of that name).
func gone(t *testing.T, admin kubernetes.Interface, name string) bool {
	t.Helper()
	_, err := admin.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// TestOnKind runs every case of the cluster target against one kind cluster
// that stands in for an existing cluster: the target is given its
// kubeconfig and never creates or deletes the cluster itself.
func TestOnKind(t *testing.T) {
	image := kubetest.BuildHello(t)
	kt, _, _ := kubetest.Cluster(t, kind.WithLoadImages([]string{image}))
	kubeconfig := kt.Kubeconfig()
	before, err := os.ReadFile(kubeconfig)
	require.NoError(t, err)
	restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	admin, err := kubernetes.NewForConfig(restCfg)
	require.NoError(t, err)
	ctx := context.Background()

	t.Run("a namespace per cycle: created, labelled, used by apply and wait, deleted and gone", func(t *testing.T) {
		runID := "20261127T000000Z-" + kubetest.RandomHex(t, 3)
		var names []string
		for cycle := 1; cycle <= 2; cycle++ {
			e, log := runEnv(t, runID, cycle)
			require.NoError(t, os.WriteFile(filepath.Join(e.Workdir, "hello.yaml"), []byte(kubetest.HelloManifests("hello", image, 30091)), 0o644))
			ns := cluster.NamespaceName("test", runID, cycle)
			names = append(names, ns)
			target := cluster.New(ns, cluster.WithKubeconfig(kubeconfig))
			e.Target = target

			pre, err := target.Preexisting(ctx, e)
			require.NoError(t, err)
			assert.Empty(t, pre)
			require.NoError(t, target.Provision(ctx, e))
			got, err := admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, map[string]string{kube.LabelRun: runID, kube.LabelScenario: "test", kube.LabelCycle: strconv.Itoa(cycle)},
				withoutKubernetesLabels(got.Labels))

			kc := target.Kubeconfig()
			assert.Equal(t, filepath.Join(e.RunDir, fmt.Sprintf("kubeconfig-c%d", cycle)), kc)
			cfg, err := clientcmd.LoadFromFile(kc)
			require.NoError(t, err)
			require.Len(t, cfg.Contexts, 1)
			assert.Equal(t, ns, cfg.Contexts[cfg.CurrentContext].Namespace)

			// No namespace named: apply and wait work in the cycle's.
			require.NoError(t, apply.New("hello.yaml", "").Run(ctx, e))
			_, err = admin.AppsV1().Deployments(ns).Get(ctx, "hello", metav1.GetOptions{})
			require.NoError(t, err, "the deployment is in the cycle's namespace")
			require.NoError(t, wait.New([]string{"deployment/hello"}, "").Run(timeoutCtx(t, 2*time.Minute), e))
			require.NoError(t, apply.CheckIdempotent(ctx, e, "hello.yaml", ""))
			assert.Contains(t, log.String(), "cluster: created namespace "+ns)

			start := time.Now()
			require.NoError(t, target.Destroy(timeoutCtx(t, 2*time.Minute), e))
			t.Logf("cycle %d: namespace %s deleted in %s", cycle, ns, time.Since(start).Round(time.Millisecond))
			assert.True(t, gone(t, admin, ns), "Destroy returns once the namespace is gone")
			assert.NoFileExists(t, kc, "the copy of the credentials goes with the namespace")
			left, err := target.Leftovers(ctx, e)
			require.NoError(t, err)
			assert.Empty(t, left)
		}
		assert.NotEqual(t, names[0], names[1])
		after, err := os.ReadFile(kubeconfig)
		require.NoError(t, err)
		assert.Equal(t, string(before), string(after), "the kubeconfig given is only read")
	})

	t.Run("a finalizer that blocks deletion fails destroy naming it, and a later destroy removes it once it is gone", func(t *testing.T) {
		runID := "20261127T000000Z-" + kubetest.RandomHex(t, 3)
		e, _ := runEnv(t, runID, 1)
		ns := cluster.NamespaceName("test", runID, 1)
		const deleteTimeout = 5 * time.Second
		target := cluster.New(ns, cluster.WithKubeconfig(kubeconfig), cluster.WithDeleteTimeout(deleteTimeout))
		require.NoError(t, target.Provision(ctx, e))
		t.Cleanup(func() { unblock(t, admin, ns) })
		const finalizer = "drill.redeploy.dev/test-block"
		_, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "blocker", Finalizers: []string{finalizer}}}, metav1.CreateOptions{})
		require.NoError(t, err)

		start := time.Now()
		err = target.Destroy(ctx, e)
		took := time.Since(start)
		t.Logf("destroy failed after %s: %v", took.Round(time.Millisecond), err)
		var stuck *cluster.NamespaceStuckError
		require.ErrorAs(t, err, &stuck)
		assert.GreaterOrEqual(t, took, deleteTimeout)
		assert.Less(t, took, deleteTimeout+evidenceGrace, "the wait for the evidence is bounded too")
		assert.Contains(t, err.Error(), "namespace "+ns+" is still there")
		assert.Contains(t, err.Error(), "NamespaceFinalizersRemaining")
		assert.Contains(t, err.Error(), finalizer, "the finalizer is named")
		var ee *drills.EvidenceError
		require.ErrorAs(t, err, &ee)
		assert.Contains(t, ee.Evidence, "condition NamespaceFinalizersRemaining=True")
		assert.Contains(t, ee.Evidence, "condition NamespaceContentRemaining=True")
		assert.Contains(t, ee.Evidence, "configmaps")
		left, err := target.Leftovers(ctx, e)
		require.NoError(t, err)
		assert.Contains(t, left, "namespace "+ns+" (Terminating)")
		assert.FileExists(t, filepath.Join(e.RunDir, "kubeconfig-c1"), "kept while the namespace is there")

		// What drill gc does: a fresh target from the ledger's fields.
		unblock(t, admin, ns)
		fresh := cluster.New(ns, cluster.WithKubeconfig(kubeconfig), cluster.WithContext(target.Context()), cluster.WithDeleteTimeout(time.Minute))
		require.NoError(t, fresh.Destroy(ctx, e))
		assert.True(t, gone(t, admin, ns))
		assert.NoFileExists(t, filepath.Join(e.RunDir, "kubeconfig-c1"))
	})

	t.Run("a namespace drill did not make is never used nor deleted", func(t *testing.T) {
		runID := "20261127T000000Z-" + kubetest.RandomHex(t, 3)
		tests := []struct {
			name, whose string
			labels      map[string]string
		}{
			{name: "drill-test-foreign-" + kubetest.RandomHex(t, 3), whose: "not made by drill"},
			{name: "drill-test-other-run-" + kubetest.RandomHex(t, 3), whose: "made by drill run 20261126T000000Z-000000",
				labels: map[string]string{kube.LabelRun: "20261126T000000Z-000000", kube.LabelScenario: "test", kube.LabelCycle: "1"}},
			{name: "drill-test-other-cycle-" + kubetest.RandomHex(t, 3), whose: "left by cycle 2 of this run",
				labels: map[string]string{kube.LabelRun: runID, kube.LabelScenario: "test", kube.LabelCycle: "2"}},
		}
		for _, tt := range tests {
			t.Run(tt.whose, func(t *testing.T) {
				made, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tt.name, Labels: tt.labels}}, metav1.CreateOptions{})
				require.NoError(t, err)
				t.Cleanup(func() { _ = admin.CoreV1().Namespaces().Delete(context.Background(), tt.name, metav1.DeleteOptions{}) })
				e, log := runEnv(t, runID, 1)
				target := cluster.New(tt.name, cluster.WithKubeconfig(kubeconfig))

				pre, err := target.Preexisting(ctx, e)
				require.NoError(t, err)
				assert.Equal(t, []string{"namespace " + tt.name + " (" + tt.whose + ")"}, pre, "a from-scratch finding")
				err = target.Provision(ctx, e)
				var exists *cluster.NamespaceExistsError
				require.ErrorAs(t, err, &exists)
				assert.Contains(t, err.Error(), "namespace "+tt.name+" already exists")
				assert.Contains(t, err.Error(), "was not made by this cycle ("+tt.whose+")")
				require.NoError(t, target.Destroy(ctx, e))
				left, err := target.Leftovers(ctx, e)
				require.NoError(t, err)
				assert.Empty(t, left)

				// drill gc's fresh target, which has seen nothing, looks and
				// leaves it alone too.
				require.NoError(t, cluster.New(tt.name, cluster.WithKubeconfig(kubeconfig)).Destroy(ctx, e))
				assert.Contains(t, log.String(), "namespace "+tt.name+" is left alone: "+tt.whose)
				still, err := admin.CoreV1().Namespaces().Get(ctx, tt.name, metav1.GetOptions{})
				require.NoError(t, err, "the namespace is still there")
				assert.Equal(t, made.UID, still.UID)
				assert.Nil(t, still.DeletionTimestamp, "and not being deleted")
			})
		}
	})

	t.Run("the leftover check finds cluster-scoped objects carrying the run's label", func(t *testing.T) {
		runID := "20261127T000000Z-" + kubetest.RandomHex(t, 3)
		e, _ := runEnv(t, runID, 1)
		ns := cluster.NamespaceName("test", runID, 1)
		target := cluster.New(ns, cluster.WithKubeconfig(kubeconfig))
		e.Target = target
		require.NoError(t, target.Provision(ctx, e))
		extra := "drill-test-extra-" + kubetest.RandomHex(t, 3)
		role := "drill-test-" + kubetest.RandomHex(t, 3)
		t.Cleanup(func() {
			_ = admin.CoreV1().Namespaces().Delete(context.Background(), extra, metav1.DeleteOptions{})
			_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), role, metav1.DeleteOptions{})
		})
		// A namespace the manifests name (apply creates it, labelled with
		// the run) and a ClusterRole the manifests label: both outlive the
		// cycle's namespace.
		manifests := fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere, namespace: %s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: %s
  labels: {%s: %s}
rules: []
`, extra, role, kube.LabelRun, runID)
		require.NoError(t, os.WriteFile(filepath.Join(e.Workdir, "extra.yaml"), []byte(manifests), 0o644))
		require.NoError(t, apply.New("extra.yaml", "").Run(ctx, e))
		require.NoError(t, target.Destroy(ctx, e))

		start := time.Now()
		left, err := target.Leftovers(ctx, e)
		require.NoError(t, err)
		// How fast the scan is, is not asserted here (a loaded machine
		// varies); that it is bounded is: the code gives up after its
		// scanTimeout of 30 s.
		t.Logf("leftover check over the cluster-scoped types took %s", time.Since(start).Round(time.Millisecond))
		assert.Less(t, time.Since(start), 35*time.Second, "bounded by the scan's own 30 s limit")
		label := kube.LabelRun + "=" + runID
		assert.Equal(t, []string{
			"clusterrole.rbac.authorization.k8s.io/" + role + " (labelled " + label + ")",
			"namespace/" + extra + " (labelled " + label + ")",
		}, left)
		_, err = admin.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
		assert.NoError(t, err, "found, never deleted: drill deletes only its namespace")
	})
}

// unblock removes the test finalizer from the blocker ConfigMap, if there.
func unblock(t *testing.T, admin kubernetes.Interface, ns string) {
	t.Helper()
	_, err := admin.CoreV1().ConfigMaps(ns).Patch(context.Background(), "blocker", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("remove the finalizer: %v", err)
	}
}

// withoutKubernetesLabels drops the label the API server adds to every
// namespace (kubernetes.io/metadata.name).
func withoutKubernetesLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if k != "kubernetes.io/metadata.name" {
			out[k] = v
		}
	}
	return out
}
