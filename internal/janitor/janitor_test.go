package janitor_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/janitor"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// finishedRun writes the finished document of a run and returns its ledger.
func finishedRun(t *testing.T, store *resultstore.Store, id string) *resultstore.Ledger {
	t.Helper()
	now := time.Now().UTC()
	r := &results.Run{RunID: id, Scenario: results.ScenarioRef{Name: "web", File: "web.yaml"}, Trigger: "manual",
		Status: results.StatusFailed, StartedAt: now, FinishedAt: &now, Cycles: []results.Cycle{}}
	require.NoError(t, store.FinishRun(r))
	return store.Ledger("web", id)
}

// Only what was made on this machine is removed here: an entry another host
// wrote (a shared results folder) is reported left, never "removed" because
// its path happens not to exist on this machine.
func TestCollectLeavesWhatAnotherHostMade(t *testing.T) {
	store := resultstore.Open(t.TempDir())
	ledger := finishedRun(t, store, "20261201T000000Z-aaaaaa")
	elsewhere := filepath.Join(t.TempDir(), "drill-web-c1") // not on this host: does not exist here
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/workdir", Kind: resultstore.LedgerWorkdir, Path: elsewhere, Host: "build-17"}))
	here := t.TempDir()
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c2/workdir", Kind: resultstore.LedgerWorkdir, Path: here}))

	rep, err := (&janitor.Janitor{Store: store}).Collect(t.Context())
	require.NoError(t, err)
	byID := map[string]janitor.Item{}
	for _, it := range rep.Items {
		byID[it.Entry.ID] = it
	}
	assert.False(t, byID["c1/workdir"].Removed)
	assert.Contains(t, byID["c1/workdir"].Error, "created on host build-17")
	assert.True(t, byID["c2/workdir"].Removed, "%s", byID["c2/workdir"].Error)
	assert.NoDirExists(t, here)
	assert.True(t, rep.Left())

	left, err := resultstore.ReadLedger(ledger.Path())
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, "c1/workdir", left[0].ID, "the other host's entry stays for its own gc")
}

// A workdir holding the state of a target that is not removed stays: the
// one rule for deleting state holds in gc as in the run.
func TestCollectKeepsAWorkdirHoldingState(t *testing.T) {
	store := resultstore.Open(t.TempDir())
	ledger := finishedRun(t, store, "20261201T000000Z-bbbbbb")
	workdir := t.TempDir()
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/workdir", Kind: resultstore.LedgerWorkdir, Path: workdir}))
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/target", Kind: resultstore.LedgerTerraform,
		Terraform: &resultstore.LedgerTerraformTarget{WorkingDir: filepath.Join(workdir, "infra-gone")}}))

	rep, err := (&janitor.Janitor{Store: store}).Collect(t.Context())
	require.NoError(t, err)
	for _, it := range rep.Items {
		assert.False(t, it.Removed, "%s", it.What)
	}
	assert.DirExists(t, workdir)
	_, err = os.Stat(workdir)
	require.NoError(t, err)
	left, err := resultstore.ReadLedger(ledger.Path())
	require.NoError(t, err)
	assert.Len(t, left, 2)
}

// A namespace of an existing cluster is removed only once gc reached the
// cluster and saw it gone: a kubeconfig that is no more keeps the entry,
// saying why.
func TestCollectKeepsANamespaceItCannotReach(t *testing.T) {
	store := resultstore.Open(t.TempDir())
	ledger := finishedRun(t, store, "20261201T000000Z-cccccc")
	missing := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/target", Kind: resultstore.LedgerNamespace, Cycle: 1,
		Namespace: "drill-web-cccccc-c1", Context: "lab", Kubeconfig: missing}))

	rep, err := (&janitor.Janitor{Store: store}).Collect(t.Context())
	require.NoError(t, err)
	require.Len(t, rep.Items, 1)
	it := rep.Items[0]
	assert.Equal(t, "namespace drill-web-cccccc-c1 (context lab)", it.What)
	assert.False(t, it.Removed)
	assert.Contains(t, it.Error, "kubeconfig "+missing+" does not exist")
	left, err := resultstore.ReadLedger(ledger.Path())
	require.NoError(t, err)
	assert.Len(t, left, 1, "kept for the next gc")
}

// A Helm release is uninstalled before the cluster it lives in goes, and
// one gc cannot reach stays in the ledger with the reason: it is never
// called removed because its cluster did not answer.
func TestCollectUninstallsHelmReleasesFirstAndKeepsOneItCannotReach(t *testing.T) {
	store := resultstore.Open(t.TempDir())
	ledger := finishedRun(t, store, "20261201T000000Z-cccccc")
	missing := filepath.Join(t.TempDir(), "kubeconfig-c1") // the cluster's kubeconfig is gone
	workdir := t.TempDir()
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/workdir", Kind: resultstore.LedgerWorkdir, Path: workdir}))
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/helm-release/1", Kind: resultstore.LedgerHelmRelease,
		Kubeconfig: missing, Namespace: "web", Release: "web", Cycle: 1}))

	rep, err := (&janitor.Janitor{Store: store}).Collect(t.Context())
	require.NoError(t, err)
	require.Len(t, rep.Items, 2)
	assert.Equal(t, "c1/helm-release/1", rep.Items[0].Entry.ID, "releases come before workdirs")
	assert.Equal(t, "helm release web in namespace web (kubeconfig "+missing+")", rep.Items[0].What)
	assert.False(t, rep.Items[0].Removed)
	assert.Contains(t, rep.Items[0].Error, "uninstall web")
	assert.Contains(t, rep.Items[0].Error, missing)
	assert.True(t, rep.Items[1].Removed, "%s", rep.Items[1].Error)
	assert.True(t, rep.Left())

	left, err := resultstore.ReadLedger(ledger.Path())
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, "c1/helm-release/1", left[0].ID)
}
