package main

// The existing-cluster target, end to end: a kind cluster the test makes
// with kind's Go API stands in for a cluster drill did not make (minikube,
// Docker Desktop, a managed cluster); drill reaches it only through the
// KUBECONFIG the test gives it.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/redeploy-drill/drill/drills/cluster"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// runLabel is the label drill puts on what it makes in an existing cluster.
const runLabel = "drill.redeploy.dev/run"

// A cluster that cannot be used is exit 3 with the reason, found before
// anything is made, and no second cycle is tried. No cluster is needed.
func TestClusterUnusableExitsThree(t *testing.T) {
	dir := t.TempDir()
	closed := "https://" + closedAddr(t)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: %q}}]
users: [{name: lab, user: {token: not-a-real-token}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
`, closed)), 0o600))
	tests := []struct {
		name   string
		target string
		env    []string
		want   string
	}{
		{"kubeconfig does not exist", `{kubeconfig: /nonexistent/kubeconfig}`, nil, "kubeconfig /nonexistent/kubeconfig does not exist"},
		{"no file of $KUBECONFIG exists", `{}`, []string{"KUBECONFIG=/nonexistent/a"}, "none of the files $KUBECONFIG names exists: /nonexistent/a"},
		{"unknown context", `{kubeconfig: ` + kubeconfig + `, context: nope}`, nil, `context "nope" is not in the kubeconfig (it has lab)`},
		{"API server does not answer", `{}`, []string{"KUBECONFIG=" + kubeconfig}, "(context lab, server " + closed + "): the API server does not answer GET /version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "scenario.yaml")
			require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: cluster-unusable, owner: e2e}
spec:
  cycles: 2
  target:
    cluster: `+tt.target+`
  steps:
    - {name: deploy, apply: {path: manifests}}
`), 0o644))
			f := newFault(t, tt.env...)
			start := time.Now()
			r := drill(t, f.env, "run", "--results", f.results, file)
			assert.Less(t, time.Since(start), 30*time.Second)
			assert.Equal(t, 3, r.code)
			assert.Contains(t, r.stdout+r.stderr, tt.want)
			run := readRun(t, f.results, "cluster-unusable")
			require.NotNil(t, run.Error)
			assert.Equal(t, results.ReasonClusterUnreachable, run.Error.Reason)
			assert.Contains(t, run.Error.Message, tt.want)
			require.Len(t, run.Cycles, 1, "no second cycle once the cluster is known to be unusable")
			prov := stepByName(t, run.Cycles[0], "provision")
			require.NotNil(t, prov.Error)
			assert.Equal(t, results.ReasonClusterUnreachable, prov.Error.Reason)
			validateSchema(t, results.RunSchemaFile, filepath.Join(f.results, "cluster-unusable", run.RunID+".json"))
			f.assertGCFindsNothing(t)
		})
	}
}

// closedAddr returns a local address nothing listens on: port 1, a
// privileged port no test binds (a port found free and closed again could
// be taken meanwhile by a kind API server or another test's server).
func closedAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:1"
}

// existingCluster is the test's stand-in for a cluster drill did not make.
type existingCluster struct {
	kubeconfig string
	nodeIP     string
	admin      kubernetes.Interface
}

// newExistingCluster makes a kind cluster with kind's Go API (through
// drill's kind package, outside any drill run) with the hello image of
// scenarios/kind-web loaded into its node, as an operator would have
// before pointing drill at it, and deletes both when the test ends.
func newExistingCluster(t *testing.T) *existingCluster {
	t.Helper()
	image := testtools.NeedKind(t)
	testtools.KindLock(t)
	buildBundledHello(t)
	env := &drills.Env{RunID: "e2e", Scenario: "e2e", Cycle: 1, RunDir: t.TempDir(), Workdir: t.TempDir(),
		Vars: map[string]string{kind.NodeImageVar: image}, Log: &testtools.Buffer{}}
	name := kind.ClusterName("e2e-existing", "x-"+fmt.Sprintf("%06x", time.Now().UnixNano()&0xffffff))
	kt := kind.New(name, kind.WithLoadImages([]string{"drill-hello:dev"}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := kt.Destroy(ctx, env); err != nil {
			t.Errorf("delete the test's kind cluster %s: %v", name, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	require.NoError(t, kt.Provision(ctx, env), "create the test's kind cluster: %s", env.Log)
	t.Logf("existing cluster %s made in %s", name, time.Since(start).Round(time.Millisecond))
	outs, err := kt.Outputs(ctx, env)
	require.NoError(t, err)
	cfg, err := clientcmd.BuildConfigFromFlags("", kt.Kubeconfig())
	require.NoError(t, err)
	admin, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return &existingCluster{kubeconfig: kt.Kubeconfig(), nodeIP: outs["CONTROL_PLANE_IP"], admin: admin}
}

// buildBundledHello builds drill-hello:dev as scenarios/kind-web does (the
// static binary of scenarios/local-web/hello, version v1.0.0, in a FROM
// scratch image), and removes it when the test ends unless it was there.
func buildBundledHello(t *testing.T) {
	t.Helper()
	const image = "drill-hello:dev"
	existed := exec.Command("docker", "image", "inspect", image).Run() == nil
	dir := t.TempDir()
	gobuild := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=v1.0.0", "-o", filepath.Join(dir, "hello"), ".")
	gobuild.Dir = "../../scenarios/local-web/hello"
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := gobuild.CombinedOutput()
	require.NoError(t, err, "%s", out)
	build := exec.Command("docker", "build", "--quiet", "--file", "../../scenarios/kind-web/Dockerfile", "--tag", image, dir)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	if !existed {
		t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", image).Run() })
	}
}

// namespaceGone reports whether the namespace does not exist.
func (c *existingCluster) namespaceGone(t *testing.T, name string) bool {
	t.Helper()
	_, err := c.admin.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		require.NoError(t, err)
	}
	return apierrors.IsNotFound(err)
}

// labelled lists the namespaces carrying a run's label.
func (c *existingCluster) labelled(t *testing.T, runID string) []string {
	t.Helper()
	list, err := c.admin.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: runLabel + "=" + runID})
	require.NoError(t, err)
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	return names
}

// TestClusterTargetOnKind runs the existing-cluster cases against one kind
// cluster made by the test.
func TestClusterTargetOnKind(t *testing.T) {
	testtools.Need(t, "git", "apt-get install git")
	c := newExistingCluster(t)

	t.Run("the bundled scenario passes two cycles, each in a namespace of its own", func(t *testing.T) {
		run, resultsDir := runBundled(t, "cluster-web", []string{"KUBECONFIG=" + c.kubeconfig, "CLUSTER_NODE_HOST=" + c.nodeIP})
		for _, cy := range run.Cycles {
			ns := cluster.NamespaceName("cluster-web", run.RunID, cy.Index)
			rollout, err := os.ReadFile(filepath.Join(resultsDir, stepByName(t, cy, "rollout").Log))
			require.NoError(t, err)
			assert.Contains(t, string(rollout), "deployment.apps/hello -n "+ns+": Current", "wait used the cycle's namespace")
			assert.True(t, c.namespaceGone(t, ns), "namespace %s is gone", ns)
			assert.NoFileExists(t, filepath.Join(resultsDir, "cluster-web", run.RunID, fmt.Sprintf("kubeconfig-c%d", cy.Index)))
		}
		assert.True(t, run.Guideline.Holds, "%+v", run.Guideline.Checks)
		for _, ch := range run.Guideline.Checks {
			if ch.Name == "from-scratch" {
				assert.Contains(t, ch.Detail, "scope: each cycle's namespace of the existing cluster; cluster-scoped objects outlive cycles")
			}
		}
		assert.Empty(t, c.labelled(t, run.RunID), "no namespace of the run is left")
		left, err := resultstore.ReadLedger(resultstore.Open(resultsDir).Ledger("cluster-web", run.RunID).Path())
		require.NoError(t, err)
		assert.Empty(t, left)
		validateSchema(t, results.RunSchemaFile, filepath.Join(resultsDir, "cluster-web", run.RunID+".json"))
	})

	t.Run("a finalizer that blocks deletion fails destroy naming it; gc removes the namespace once it is gone", func(t *testing.T) {
		f := newFault(t, "KUBECONFIG="+c.kubeconfig)
		start := time.Now()
		r := drill(t, f.env, "run", "--results", f.results, "testdata/cluster-finalizer/scenario.yaml")
		assert.Equal(t, 4, r.code, "a destroy that did not pass")
		run := readRun(t, f.results, "cluster-finalizer")
		ns := cluster.NamespaceName("cluster-finalizer", run.RunID, 1)
		t.Cleanup(func() { unblockConfigMap(t, c.admin, ns) })
		destroy := stepByName(t, run.Cycles[0], "destroy")
		assert.Equal(t, results.StatusFailed, destroy.Status)
		assert.Less(t, destroy.DurationMs, int64(45_000), "deleteTimeout 5s, then the namespace's conditions")
		t.Logf("the run took %s, its destroy %dms", time.Since(start).Round(time.Millisecond), destroy.DurationMs)
		require.NotNil(t, destroy.Error)
		assert.Equal(t, results.ReasonTeardownFailed, destroy.Error.Reason)
		assert.Contains(t, destroy.Error.Message, "namespace "+ns+" is still there 5s after it was deleted")
		assert.Contains(t, destroy.Error.Message, "NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: drill.redeploy.dev/e2e-block")
		assert.Contains(t, destroy.Error.Message, "still there: namespace "+ns+" (Terminating)")
		log, err := os.ReadFile(filepath.Join(f.results, destroy.Log))
		require.NoError(t, err)
		assert.Contains(t, string(log), "--- evidence:")
		assert.Contains(t, string(log), "condition NamespaceContentRemaining=True (SomeResourcesRemain): Some resources are remaining: configmaps.")
		assert.False(t, c.namespaceGone(t, ns), "the namespace is still there")
		assertOutstanding(t, f, run, "c1/target")

		unblockConfigMap(t, c.admin, ns)
		g := f.gc(t)
		assert.Equal(t, 0, g.code)
		assert.Contains(t, g.stdout, "removed")
		assert.Contains(t, g.stdout, "namespace "+ns+" (context kind-")
		assert.True(t, c.namespaceGone(t, ns), "gc reports removed only once the namespace is gone")
		assertOutstanding(t, f, run)
		f.assertGCFindsNothing(t)
	})

	t.Run("a namespace of that name not made by drill is never used nor deleted", func(t *testing.T) {
		name := "e2e-foreign-" + fmt.Sprintf("%06x", time.Now().UnixNano()&0xffffff)
		made, err := c.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.admin.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		f := newFault(t, "KUBECONFIG="+c.kubeconfig, "FOREIGN_NAMESPACE="+name)
		r := drill(t, f.env, "run", "--results", f.results, "testdata/cluster-foreign/scenario.yaml")
		assert.Equal(t, 1, r.code)
		run := readRun(t, f.results, "cluster-foreign")
		prov := stepByName(t, run.Cycles[0], "provision")
		require.NotNil(t, prov.Error)
		assert.Contains(t, prov.Error.Message, "namespace "+name+" already exists in context kind-")
		assert.Contains(t, prov.Error.Message, "was not made by this cycle (not made by drill)")
		assert.Equal(t, results.StatusPassed, stepByName(t, run.Cycles[0], "destroy").Status)
		for _, ch := range run.Guideline.Checks {
			if ch.Name == "from-scratch" {
				assert.False(t, ch.OK)
				assert.Contains(t, ch.Detail, "found before provisioning: namespace "+name+" (not made by drill)")
			}
		}
		f.assertGCFindsNothing(t)
		still, err := c.admin.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		require.NoError(t, err, "the namespace is still there")
		assert.Equal(t, made.UID, still.UID)
		assert.Nil(t, still.DeletionTimestamp)
	})

	t.Run("kill -9 during a deploy step, then gc removes the namespace", func(t *testing.T) {
		f := newFault(t, "KUBECONFIG="+c.kubeconfig)
		scenario := "testdata/faults/cluster-deploy-kill/scenario.yaml"
		b := startDrill(t, f.env, "run", "--results", f.results, scenario)
		run := f.runOf(t, b, "fault-cluster-kill")
		ns := cluster.NamespaceName("fault-cluster-kill", run.RunID, 1)
		t.Cleanup(func() { _ = c.admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		b.until(t, "the block step runs", time.Minute, fileExists(f.marker("block.pid")))
		_, err := c.admin.CoreV1().ConfigMaps(ns).Get(context.Background(), "deployed", metav1.GetOptions{})
		require.NoError(t, err, "the deploy step applied into the cycle's namespace")
		b.kill9(t)
		assert.False(t, c.namespaceGone(t, ns), "the namespace outlives the killed drill")
		kubeconfigCopy := filepath.Join(f.results, "fault-cluster-kill", run.RunID, "kubeconfig-c1")
		assert.FileExists(t, kubeconfigCopy)
		f.assertAbortedVisible(t, run, scenario)

		g := f.gc(t)
		assert.Contains(t, g.stdout, "namespace "+ns)
		run = f.assertCollected(t, g, "fault-cluster-kill", "block")
		assert.True(t, c.namespaceGone(t, ns), "gc deleted the namespace and waited until it was gone")
		assert.Empty(t, c.labelled(t, run.RunID))
		assert.NoFileExists(t, kubeconfigCopy, "the copy of the credentials goes with the namespace")
		f.assertNothingLeft(t, run)
	})
}

// unblockConfigMap removes the finalizer of the blocker ConfigMap.
func unblockConfigMap(t *testing.T, admin kubernetes.Interface, ns string) {
	t.Helper()
	_, err := admin.CoreV1().ConfigMaps(ns).Patch(context.Background(), "blocker", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("remove the finalizer: %v", err)
	}
}
