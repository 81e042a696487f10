package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests create real kind clusters from the node image that
// ../shared/kind-offline/ensure builds (DRILL_KIND_NODE_IMAGE).

func requireKind(t *testing.T) {
	t.Helper()
	testtools.NeedKind(t)
	testtools.KindLock(t)
}

// kindContainers lists the node containers of clusters whose name starts with prefix.
func kindContainers(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=io.x-k8s.kind.cluster").Output()
	require.NoError(t, err)
	var found []string
	for _, name := range strings.Fields(string(out)) {
		if strings.HasPrefix(name, prefix) {
			found = append(found, name)
		}
	}
	return found
}

func TestKindBundledScenarioPassesTwoCycles(t *testing.T) {
	requireKind(t)
	run, resultsDir := runBundled(t, "kind-web", nil)
	assert.True(t, run.Guideline.Holds, "%+v", run.Guideline.Checks)
	assert.Empty(t, kindContainers(t, "drill-kind-web-"), "no cluster is left")
	validateSchema(t, results.RunSchemaFile, filepath.Join(resultsDir, "kind-web", run.RunID+".json"))
}

func TestKindImagePullFailureIsExplained(t *testing.T) {
	requireKind(t)
	resultsDir := t.TempDir()
	r := drill(t, nil, "run", "--results", resultsDir, "testdata/kind-bad-image/scenario.yaml")
	assert.Equal(t, 1, r.code)
	run := readRun(t, resultsDir, "kind-bad-image")
	byName := map[string]results.Step{}
	for _, s := range run.Cycles[0].Steps {
		byName[s.Name] = s
	}
	rollout := byName["rollout"]
	assert.Contains(t, []results.Status{results.StatusTimedOut, results.StatusFailed}, rollout.Status)
	assert.LessOrEqual(t, rollout.DurationMs, int64(60_000), "bounded by the step's 45s timeout")
	require.NotNil(t, rollout.Error)
	log, err := os.ReadFile(filepath.Join(resultsDir, rollout.Log))
	require.NoError(t, err)
	evidence := string(log) + rollout.Error.OutputTail
	assert.Regexp(t, `ErrImagePull|ImagePullBackOff`, evidence, "the evidence names the image pull failure")
	assert.Contains(t, evidence, "registry.invalid/drill/does-not-exist:v0")

	require.NotEmpty(t, rollout.Evidence, "the failing step points at the exported cluster logs")
	entries, err := os.ReadDir(filepath.Join(resultsDir, rollout.Evidence))
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "kind's export logs wrote files")

	assert.Equal(t, results.StatusPassed, byName["destroy"].Status)
	assert.Empty(t, kindContainers(t, "drill-kind-bad-image-"), "the cluster is deleted")
}

func TestKindInterruptDuringCreateDeletesTheCluster(t *testing.T) {
	requireKind(t)
	resultsDir := t.TempDir()
	cmd := exec.Command(drillBin, "run", "--results", resultsDir, "testdata/kind-interrupt/scenario.yaml")
	cmd.Env = append(os.Environ(), "CI=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Interrupt once the node container exists: kind is in the middle of Create.
	require.Eventually(t, func() bool { return len(kindContainers(t, "drill-kind-interrupt-")) > 0 },
		2*time.Minute, 100*time.Millisecond, "kind starts creating the node")
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	t.Logf("stderr:\n%s", stderr.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 130, ee.ExitCode())
	assert.Empty(t, kindContainers(t, "drill-kind-interrupt-"), "no drill- cluster is left")

	run := readRun(t, resultsDir, "kind-interrupt")
	assert.Equal(t, results.StatusCanceled, run.Status)
}
