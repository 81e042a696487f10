package main

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// TestFaultKillDuringLoadImages kills drill while a loadImages step saves or
// imports its image: the archive's folder in the workdir and the cluster are
// left, and drill gc removes both.
func TestFaultKillDuringLoadImages(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	testtools.NeedKind(t)
	kindLock(t)
	const image = "drill-fault-load:dev"
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "--force", image).Run() })
	f := newFault(t)
	scenario := "testdata/faults/load-images-kill/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	run := f.runOf(t, b, "fault-load-kill")
	cluster := kind.ClusterName("fault-load-kill", run.RunID)
	pattern := filepath.Join(f.tmp, "drill-fault-load-kill-"+run.RunID+"-c1", "drill-images-*")
	var archiveDir string
	b.until(t, "the image archive's folder in the workdir", 4*time.Minute, func() bool {
		m, _ := filepath.Glob(pattern)
		if len(m) == 1 {
			archiveDir = m[0]
		}
		return archiveDir != ""
	})
	b.kill9(t)
	require.DirExists(t, archiveDir, "the killed load leaves its archive's folder")
	f.assertAbortedVisible(t, run, scenario)

	g := f.gc(t)
	assert.Contains(t, g.stdout, "kind cluster "+cluster)
	run = f.assertCollected(t, g, "fault-load-kill", "load")
	f.assertNothingLeft(t, run)
	assert.NoDirExists(t, archiveDir)
}
