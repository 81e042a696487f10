package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills/compose"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests run compose targets with the real docker compose v2 plugin
// against the real Docker engine. Nothing is pulled: images are FROM
// scratch, or FROM the local Go image scripts/go-image.sh builds.

// projectResources lists, with docker itself, what carries the label of
// the compose projects whose names start with prefix, and the images named
// after them, as "KIND PROJECT REF" (REF is what `docker rm` takes).
func projectResources(t *testing.T, prefix string) []string {
	t.Helper()
	// rows runs docker and returns the fields of each line it printed.
	rows := func(args ...string) [][]string {
		out, err := exec.Command("docker", args...).Output()
		require.NoError(t, err, "docker %v", args)
		var rows [][]string
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				rows = append(rows, f)
			}
		}
		return rows
	}
	var found []string
	keep := func(kind, project, ref string) {
		if strings.HasPrefix(project, prefix) {
			found = append(found, kind+" "+project+" "+ref)
		}
	}
	label := `{{.Label "` + compose.ProjectLabel + `"}}`
	for kind, args := range map[string][]string{
		"container": {"ps", "-a", "--format", label + " {{.Names}}"},
		"network":   {"network", "ls", "--format", label + " {{.Name}}"},
		"volume":    {"volume", "ls", "--format", label + " {{.Name}}"},
	} {
		for _, f := range rows(args...) {
			if len(f) == 2 { // unlabelled ones print one field
				keep(kind, f[0], f[1])
			}
		}
	}
	// Images have no .Label in docker's list format: by name, and by label
	// through inspect.
	for _, f := range rows("image", "ls", "--format", "{{.Repository}}:{{.Tag}}") {
		keep("image", f[0], f[0])
	}
	for _, id := range rows("image", "ls", "-q", "--no-trunc", "--filter", "label="+compose.ProjectLabel) {
		for _, p := range rows("image", "inspect", "--format", `{{index .Config.Labels "`+compose.ProjectLabel+`"}}`, id[0]) {
			keep("image", p[0], id[0])
		}
	}
	slices.Sort(found)
	return found
}

// removeProjects removes what a failing test left of the projects whose
// names start with prefix, after stopping the drill of the test (b, when
// not nil) and every process of its run: docker compose, in a process
// group of its own, would otherwise go on creating after the removal.
func removeProjects(t *testing.T, prefix string, b *background, runID string) {
	t.Cleanup(func() {
		if b != nil {
			b.stop()
		}
		if runID != "" {
			_, _, _ = procs.StopAllWithEnv("DRILL_RUN_ID", runID, 0)
		}
		for _, line := range projectResources(t, prefix) {
			f := strings.Fields(line)
			rm := map[string][]string{"container": {"rm", "-f", "-v"}, "network": {"network", "rm"}, "volume": {"volume", "rm", "-f"}, "image": {"image", "rm", "-f"}}[f[0]]
			_ = exec.Command("docker", append(rm, f[2])...).Run()
		}
	})
}

// goImage returns the local Go toolchain image the bundled compose
// scenario builds with offline, building it when needed.
func goImage(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../../scripts/go-image.sh").Output()
	require.NoError(t, err, "scripts/go-image.sh")
	return strings.TrimSpace(string(out))
}

func TestComposeBundledScenarioPassesTwoCycles(t *testing.T) {
	testtools.NeedCompose(t)
	removeProjects(t, "drill-compose-web-", nil, "")
	before := projectResources(t, "drill-compose-web-")
	run, resultsDir := runBundled(t, "compose-web", []string{"GO_IMAGE=" + goImage(t)})
	for _, c := range run.Cycles {
		// Each cycle built its own images, from its own copy of the source.
		log, err := os.ReadFile(filepath.Join(resultsDir, stepByName(t, c, "provision").Log))
		require.NoError(t, err)
		project := compose.ProjectName("compose-web", run.RunID, c.Index)
		assert.Contains(t, string(log), "Successfully tagged "+project+"-hello:latest")
		assert.Contains(t, string(log), "Successfully tagged "+project+"-site:latest")
	}
	assert.True(t, run.Guideline.Holds, "%+v", run.Guideline.Checks)
	assert.Equal(t, before, projectResources(t, "drill-compose-web-"), "nothing of the run's projects is left")
	assert.Equal(t, "v5.6.0", run.Tools["compose"])
	validateSchema(t, results.RunSchemaFile, filepath.Join(resultsDir, "compose-web", run.RunID+".json"))
}

// buildApp builds drills/compose/testdata/app statically into a folder of
// its own, for images FROM scratch.
func buildApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "app"), ".")
	cmd.Dir = "../../drills/compose/testdata/app"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dir
}

func TestFaultKillDuringComposeUp(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	testtools.NeedCompose(t)
	repo := gitCopy(t, map[string]string{".": "testdata/faults/compose-up-kill", "bin": buildApp(t)})
	f := newFault(t)
	scenario := filepath.Join(repo, "scenario.yaml")
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	run := f.runOf(t, b, "fault-compose-kill")
	project := compose.ProjectName("fault-compose-kill", run.RunID, 1)
	removeProjects(t, project, b, run.RunID)
	// Kill once compose waits for the container to become healthy.
	b.until(t, "the container of "+project, 2*time.Minute, func() bool {
		out, err := exec.Command("docker", "ps", "-q", "--filter", "label="+compose.ProjectLabel+"="+project).Output()
		return err == nil && len(strings.TrimSpace(string(out))) > 0
	})
	b.kill9(t)

	// docker compose, in a process group of its own, outlives drill and
	// keeps waiting; only its DRILL_RUN_ID ties it to the dead run.
	ps, err := procs.WithEnv("DRILL_RUN_ID", run.RunID)
	require.NoError(t, err)
	var comms []string
	for _, p := range ps {
		comms = append(comms, p.Comm)
	}
	assert.Contains(t, comms, "docker-compose", "compose outlives the killed drill: %v", ps)

	left := projectResources(t, project)
	t.Logf("left by the killed drill: %v", left)
	kinds := map[string]bool{}
	for _, line := range left {
		kinds[strings.Fields(line)[0]] = true
	}
	assert.Equal(t, map[string]bool{"container": true, "network": true, "volume": true, "image": true}, kinds,
		"the project is up when drill dies: %v", left)
	f.assertAbortedVisible(t, run, scenario)

	g := f.gc(t)
	assert.Contains(t, g.stdout, "compose project "+project)
	run = f.assertCollected(t, g, "fault-compose-kill", "provision")
	f.assertNothingLeft(t, run)
	assert.Empty(t, projectResources(t, project), "gc removed the project without its compose file")
	ps, err = procs.WithEnv("DRILL_RUN_ID", run.RunID)
	require.NoError(t, err)
	assert.Empty(t, ps, "no docker compose of the run is left")
}

func TestComposeMissingPluginExitsThree(t *testing.T) {
	testtools.NeedCompose(t)
	resultsDir := t.TempDir()
	// A docker config folder without cli-plugins: docker finds no compose.
	r := drill(t, []string{"DOCKER_CONFIG=" + t.TempDir()}, "run", "--results", resultsDir, "testdata/compose-no-plugin/scenario.yaml")
	assert.Equal(t, 3, r.code, "the environment cannot run the drill")
	assert.Contains(t, r.stdout+r.stderr, "docker compose is not available")
	assert.Contains(t, r.stdout+r.stderr, "make tools")
	run := readRun(t, resultsDir, "compose-no-plugin")
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonToolMissing, run.Error.Reason)
	require.NotEmpty(t, run.Cycles)
	provision := stepByName(t, run.Cycles[0], "provision")
	assert.Equal(t, results.StatusFailed, provision.Status)
	assert.Equal(t, results.StatusPassed, stepByName(t, run.Cycles[0], "destroy").Status, "nothing was created, nothing to destroy")
	left, err := resultstore.ReadLedger(resultstore.Open(resultsDir).Ledger("compose-no-plugin", run.RunID).Path())
	require.NoError(t, err)
	assert.Empty(t, left)
}
