package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests create real kind clusters from the node image that
// ../shared/kind-offline/ensure builds (DRILL_KIND_NODE_IMAGE), and install
// charts with drill's Helm SDK: no helm binary.

func TestHelmBundledScenarioPassesTwoCycles(t *testing.T) {
	requireKind(t)
	run, resultsDir := runBundled(t, "helm-web", nil)
	for _, c := range run.Cycles {
		names := make([]string, len(c.Steps))
		for i, s := range c.Steps {
			names[i] = s.Name
		}
		assert.Equal(t, []string{"workdir", "provision", "image", "load-image", "chart", "healthy", "version",
			"remove-image", "uninstall web", "destroy"}, names, "the release is uninstalled after teardown, before the destroy")

		chart := stepByName(t, c, "chart")
		log, err := os.ReadFile(filepath.Join(resultsDir, chart.Log))
		require.NoError(t, err)
		assert.Contains(t, string(log), "release web: revision 1 of chart web-0.1.0 in namespace web",
			"every cycle installs revision 1: nothing of cycle 1's release survives into cycle 2")
		assert.Contains(t, string(log), "deployment.apps/web -n web: Current:")

		uninstall := stepByName(t, c, "uninstall web")
		assert.Equal(t, results.PhaseTeardown, uninstall.Phase)
		assert.Equal(t, "helm", uninstall.Kind)
		log, err = os.ReadFile(filepath.Join(resultsDir, uninstall.Log))
		require.NoError(t, err)
		assert.Contains(t, string(log), "release web (revision 1) uninstalled from namespace web with foreground deletion")
		assert.Contains(t, string(log), "checked gone: 2 object(s) of release web and its history")
		assert.Contains(t, string(log), "namespace/web deleted")
	}
	assert.True(t, run.Guideline.Holds, "%+v", run.Guideline.Checks)
	for _, c := range run.Guideline.Checks {
		if c.Name == "idempotent" {
			assert.Equal(t, "re-applying right after deploy changes nothing", c.Detail, "the dry-run upgrade ran and found nothing")
		}
	}
	left, err := resultstore.ReadLedger(resultstore.Open(resultsDir).Ledger("helm-web", run.RunID).Path())
	require.NoError(t, err)
	assert.Empty(t, left, "every release entry was released")
	assert.Empty(t, kindContainers(t, "drill-helm-web-"), "no cluster is left")
	validateSchema(t, results.RunSchemaFile, filepath.Join(resultsDir, "helm-web", run.RunID+".json"))
}

// TestFaultKillAfterHelmInstallGCUninstalls: kill -9 of drill during the
// step after a helm step; drill gc uninstalls the release from its ledger
// entry (and checks it gone) before it deletes the cluster.
func TestFaultKillAfterHelmInstallGCUninstalls(t *testing.T) {
	testtools.NeedKind(t)
	kindLock(t)
	f := newFault(t)
	scenario := "testdata/faults/helm-kill/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	run := f.runOf(t, b, "fault-helm-kill")
	b.until(t, "the step after the helm step blocks", 4*time.Minute, fileExists(f.marker("block.pid")))

	// The release is there, and its ledger entry outstanding.
	kubeconfig, err := os.ReadFile(f.marker("kubeconfig"))
	require.NoError(t, err)
	cfg, err := clientcmd.BuildConfigFromFlags("", strings.TrimSpace(string(kubeconfig)))
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	secrets, err := cs.CoreV1().Secrets("apps").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=web"})
	require.NoError(t, err)
	assert.Len(t, secrets.Items, 1, "revision 1 of release web")
	cm, err := cs.CoreV1().ConfigMaps("apps").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "hello", cm.Data["greeting"], "set reaches the chart")
	var entry *resultstore.LedgerEntry
	outstanding, err := resultstore.ReadLedger(resultstore.Open(f.results).Ledger("fault-helm-kill", run.RunID).Path())
	require.NoError(t, err)
	for i, e := range outstanding {
		if e.Kind == resultstore.LedgerHelmRelease {
			entry = &outstanding[i]
		}
	}
	require.NotNil(t, entry, "the release is in the ledger: %+v", outstanding)
	assert.Equal(t, []any{"c1/helm-release/1", "web", "apps", true, strings.TrimSpace(string(kubeconfig))},
		[]any{entry.ID, entry.Release, entry.Namespace, entry.DeleteNamespace, entry.Kubeconfig})

	b.kill9(t)
	f.assertAbortedVisible(t, run, scenario)

	g := f.gc(t)
	cluster := kind.ClusterName("fault-helm-kill", run.RunID)
	assert.Contains(t, g.stdout, "helm release web in namespace apps")
	assert.Contains(t, g.stdout, "kind cluster "+cluster)
	gcLog, err := os.ReadFile(filepath.Join(resultstore.Open(f.results).RunDir("fault-helm-kill", run.RunID), "gc.log"))
	require.NoError(t, err)
	text := string(gcLog)
	for _, want := range []string{
		"release web (revision 1) uninstalled from namespace apps with foreground deletion",
		"checked gone: 2 object(s) of release web and its history",
		"namespace/apps deleted",
	} {
		assert.Contains(t, text, want)
	}
	uninstalled, deleted := strings.Index(text, "checked gone: 2 object(s)"), strings.Index(text, "deleted cluster "+cluster)
	assert.True(t, uninstalled >= 0 && deleted > uninstalled, "the release goes before its cluster:\n%s", text)
	run = f.assertCollected(t, g, "fault-helm-kill", "block")
	f.assertNothingLeft(t, run)
}
