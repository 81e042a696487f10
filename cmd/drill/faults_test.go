package main

// The fault suite of issue 4: each fault is injected for real into a built
// drill (kill -9, a failing terraform apply, a kind node image that does
// not exist, a step that ignores SIGTERM, a results folder removed mid-run,
// three signals), then `drill gc` runs, and every test asserts that nothing
// is left (no process carrying the run's DRILL_RUN_ID, no kind cluster of
// the run's name, no workdir and so no Terraform state, no outstanding
// ledger entry) and that the result document tells what happened.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// background is a drill started without waiting for it.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr *testtools.Buffer
	done           chan struct{}
	err            error
}

func startDrill(t *testing.T, env []string, args ...string) *background {
	t.Helper()
	return startCommand(t, exec.Command(drillBin, args...), env)
}

// startCommand is startDrill for a command that runs drill (under
// unshare, say), with its SysProcAttr as the caller set it.
func startCommand(t *testing.T, cmd *exec.Cmd, env []string) *background {
	t.Helper()
	b := &background{cmd: cmd, stdout: &testtools.Buffer{}, stderr: &testtools.Buffer{}, done: make(chan struct{})}
	b.cmd.Env = append(os.Environ(), append([]string{"CI=true"}, env...)...)
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	require.NoError(t, b.cmd.Start())
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(b.stop)
	return b
}

// stop kills drill and waits for it, at once (a no-op once it exited). The
// cleanups that remove what a failed test left call it first: removing
// things while drill (or a tool it started) still creates them would leave
// what it creates after.
func (b *background) stop() {
	_ = b.cmd.Process.Kill()
	<-b.done
}

func (b *background) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// wait waits for drill to exit; exit code -1 means killed by a signal.
func (b *background) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(limit):
		require.FailNow(t, "drill did not exit in time", "limit %s\nstdout:\n%s\nstderr:\n%s", limit, b.stdout, b.stderr)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(b.err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, b.err)
	}
	t.Logf("background drill %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(b.cmd.Args[1:], " "), code, b.stdout, b.stderr)
	return result{code: code, stdout: b.stdout.String(), stderr: b.stderr.String()}
}

// kill9 kills drill the hard way and reaps it.
func (b *background) kill9(t *testing.T) {
	t.Helper()
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGKILL))
	r := b.wait(t, 10*time.Second)
	require.Equal(t, -1, r.code, "drill died of SIGKILL")
}

// until polls cond until it holds; it fails at once if drill exited first,
// since what the test waits for can then never happen.
func (b *background) until(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if b.exited() {
			r := b.wait(t, time.Second)
			require.FailNow(t, "drill exited before: "+what, "exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		require.True(t, time.Now().Before(deadline), "timed out waiting for: %s\nstderr:\n%s", what, b.stderr)
		<-time.After(20 * time.Millisecond) // the polling interval
	}
}

func fileExists(path string) func() bool {
	return func() bool {
		_, err := os.Stat(path)
		return err == nil
	}
}

// fault is the playground of one fault test: a results folder, a folder
// for the markers the scenario's scripts leave, and a TMPDIR of its own so
// that the cycles' workdirs can be counted.
type fault struct {
	results, markers, tmp string
	env                   []string
}

func newFault(t *testing.T, env ...string) *fault {
	t.Helper()
	f := &fault{results: t.TempDir(), markers: t.TempDir(), tmp: t.TempDir()}
	f.env = append([]string{"MARKER_DIR=" + f.markers, "TMPDIR=" + f.tmp}, env...)
	return f
}

func (f *fault) marker(name string) string { return filepath.Join(f.markers, name) }

// runOf polls the results folder until the run of scenario has its
// document (drill writes it before provisioning anything).
func (f *fault) runOf(t *testing.T, b *background, scenario string) *results.Run {
	t.Helper()
	var run *results.Run
	b.until(t, "the run document of "+scenario, 30*time.Second, func() bool {
		runs, _, err := resultstore.Open(f.results).Runs(scenario)
		if err != nil || len(runs) == 0 {
			return false
		}
		run = runs[0]
		return true
	})
	killLeftovers(t, run, b)
	return run
}

// killLeftovers makes sure a failing test does not leave what it tested
// for: processes of the run, and its kind cluster.
// b, when not nil, is the drill of the run, stopped first.
func killLeftovers(t *testing.T, run *results.Run, b *background) {
	t.Cleanup(func() {
		if b != nil {
			b.stop()
		}
		_, _, _ = procs.StopAllWithEnv("DRILL_RUN_ID", run.RunID, 0)
		// A node container still starting survives `docker rm -f`: try
		// again until it is gone.
		cluster := kind.ClusterName(run.Scenario.Name, run.RunID)
		for deadline := time.Now().Add(time.Minute); dockerUsable() && time.Now().Before(deadline); <-time.After(time.Second) {
			out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.x-k8s.kind.cluster="+cluster).Output()
			ids := strings.Fields(string(out))
			if len(ids) == 0 {
				break
			}
			_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
		}
	})
}

func (f *fault) gc(t *testing.T) result {
	t.Helper()
	return drill(t, f.env, "gc", "--results", f.results)
}

// assertGCFindsNothing runs drill gc where nothing should be left: it must
// say so and exit 0.
func (f *fault) assertGCFindsNothing(t *testing.T) {
	t.Helper()
	g := f.gc(t)
	assert.Equal(t, 0, g.code)
	assert.Contains(t, g.stdout, "nothing left behind")
}

// assertNothingLeft checks, from outside drill, that the run left nothing:
// no process with its DRILL_RUN_ID, no kind cluster of its name, no cycle
// workdir (Terraform keeps its state there; if one is left, its state must
// list no resource), and no ledger entry created and never released.
func (f *fault) assertNothingLeft(t *testing.T, run *results.Run) {
	t.Helper()
	ps, err := procs.WithEnv("DRILL_RUN_ID", run.RunID)
	require.NoError(t, err)
	assert.Empty(t, ps, "processes of run %s", run.RunID)

	if dockerUsable() {
		cluster := kind.ClusterName(run.Scenario.Name, run.RunID)
		out, err := exec.Command("docker", "ps", "-a", "--filter", "name="+cluster, "--format", "{{.Names}}").Output()
		require.NoError(t, err)
		assert.Empty(t, strings.TrimSpace(string(out)), "containers of kind cluster %s", cluster)
	}

	workdirs, err := filepath.Glob(filepath.Join(f.tmp, "drill-"+run.Scenario.Name+"-"+run.RunID+"-c*"))
	require.NoError(t, err)
	for _, c := range run.Cycles {
		if c.Workdir != "" && !contains(workdirs, c.Workdir) {
			workdirs = append(workdirs, c.Workdir)
		}
	}
	for _, w := range workdirs {
		if infra := filepath.Join(w, "infra"); dirExists(infra) {
			out, err := exec.Command("terraform", "-chdir="+infra, "state", "list").CombinedOutput()
			assert.NoError(t, err, "terraform state list in %s: %s", infra, out)
			assert.Empty(t, strings.TrimSpace(string(out)), "resources in the Terraform state in %s", infra)
		}
		assert.NoDirExists(t, w, "a cycle workdir is left")
	}

	left, err := resultstore.ReadLedger(resultstore.Open(f.results).Ledger(run.Scenario.Name, run.RunID).Path())
	require.NoError(t, err)
	assert.Empty(t, left, "ledger entries never released")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func dirExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

var (
	dockerOnce sync.Once
	dockerOK   bool
)

// dockerUsable reports whether a Docker engine answers, to look for kind
// clusters left even by a test that did not create one on purpose.
func dockerUsable() bool {
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err == nil {
			dockerOK = exec.Command("docker", "info", "--format", "{{.ServerVersion}}").Run() == nil
		}
	})
	return dockerOK
}

func needDocker(t *testing.T) {
	t.Helper()
	testtools.Need(t, "docker", "apt-get install docker.io")
	if !dockerUsable() {
		testtools.Missing(t, "the Docker engine does not answer `docker info`")
	}
}

// kindLock serializes kind clusters with the kind tests of other packages.
func kindLock(t *testing.T) { testtools.KindLock(t) }

// assertAbortedVisible checks issue 4 item 3: before gc, status and list
// show a killed run as aborted, never running, and point to `drill gc`.
func (f *fault) assertAbortedVisible(t *testing.T, run *results.Run, scenarioFile string) {
	t.Helper()
	st := drill(t, f.env, "status", "--results", f.results)
	assert.Equal(t, 1, st.code, "an aborted scenario is not holding")
	assert.Regexp(t, `(?m)^`+run.Scenario.Name+`\s+\S+\s+aborted\s`, st.stdout)
	assert.Contains(t, st.stdout, run.RunID)
	assert.Contains(t, st.stdout, "drill gc")
	ls := drill(t, f.env, "list", "--results", f.results, scenarioFile)
	assert.Equal(t, 0, ls.code)
	assert.Contains(t, ls.stdout, "aborted")
	assert.Contains(t, ls.stdout, "drill gc")
	assert.NotContains(t, ls.stdout, "running since")
}

// assertCollected checks the result of gc after a kill -9: the run is
// marked canceled with reason Aborted, the step that was running when drill
// died says so, and a second gc finds nothing.
func (f *fault) assertCollected(t *testing.T, g result, scenario, runningStep string) *results.Run {
	t.Helper()
	assert.Equal(t, 0, g.code, "gc removed everything")
	assert.Contains(t, g.stdout, "canceled (Aborted)")
	assert.NotContains(t, g.stdout, "FAILED")
	run := readRun(t, f.results, scenario)
	assert.Equal(t, results.StatusCanceled, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonAborted, run.Error.Reason)
	assert.NotNil(t, run.FinishedAt)
	step := lastStep(run)
	require.NotNil(t, step)
	assert.Equal(t, runningStep, step.Name, "the step drill died in")
	assert.Equal(t, results.StatusCanceled, step.Status)
	if assert.NotNil(t, step.Error) {
		assert.Equal(t, results.ReasonAborted, step.Error.Reason)
	}
	validateSchema(t, results.RunSchemaFile, filepath.Join(f.results, scenario, run.RunID+".json"))

	again := f.gc(t)
	assert.Equal(t, 0, again.code)
	assert.Contains(t, again.stdout, "nothing left behind")
	return run
}

func lastStep(run *results.Run) *results.Step {
	if len(run.Cycles) == 0 {
		return nil
	}
	c := run.Cycles[len(run.Cycles)-1]
	if len(c.Steps) == 0 {
		return nil
	}
	return &c.Steps[len(c.Steps)-1]
}

func stepByName(t *testing.T, c results.Cycle, name string) results.Step {
	t.Helper()
	for _, s := range c.Steps {
		if s.Name == name {
			return s
		}
	}
	require.FailNow(t, "no step "+name)
	return results.Step{}
}

func TestFaultKillDuringTerraformApply(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	testtools.Need(t, "terraform", "make tools installs it")
	repo := gitCopy(t, map[string]string{".": "testdata/faults/tf-apply-kill"})
	f := newFault(t)
	b := startDrill(t, f.env, "run", "--results", f.results, filepath.Join(repo, "scenario.yaml"))
	run := f.runOf(t, b, "fault-tf-kill")
	b.until(t, "terraform's provisioner runs", 60*time.Second, fileExists(f.marker("applying")))
	b.kill9(t)

	// Behind drill's relay, terraform itself outlives drill (terraform-exec
	// would have it killed with its parent), so gc can let it save its state.
	ps, err := procs.WithEnv("DRILL_RUN_ID", run.RunID)
	require.NoError(t, err)
	t.Logf("left running by the killed drill: %v", ps)
	var comms []string
	for _, p := range ps {
		comms = append(comms, p.Comm)
	}
	require.Contains(t, comms, "terraform", "terraform outlives the killed drill")
	f.assertAbortedVisible(t, run, filepath.Join(repo, "scenario.yaml"))

	g := f.gc(t)
	assert.Contains(t, g.stdout, "processes with DRILL_RUN_ID="+run.RunID)
	assert.Contains(t, g.stdout, "terraform state in ")
	run = f.assertCollected(t, g, "fault-tf-kill", "provision")
	f.assertNothingLeft(t, run)
	// terraform saved the resource it had created when gc stopped it, and
	// gc's terraform destroy removed it: its destroy-time provisioner ran.
	assert.FileExists(t, f.marker("applying")+".destroyed")
}

func TestFaultKillDuringKindCreate(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	testtools.NeedKind(t)
	locked := time.Now()
	kindLock(t)
	t.Logf("waited %s for the kind test lock", time.Since(locked).Round(time.Millisecond))
	f := newFault(t)
	scenario := "testdata/faults/kind-create-kill/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	run := f.runOf(t, b, "fault-kind-kill")
	cluster := kind.ClusterName("fault-kind-kill", run.RunID)
	b.until(t, "the node container of "+cluster, 2*time.Minute, func() bool {
		out, err := exec.Command("docker", "ps", "-aq", "--filter", "name=^"+cluster+"-control-plane$").Output()
		return err == nil && len(bytes.TrimSpace(out)) > 0
	})
	t.Logf("node container of %s exists %s after the lock", cluster, time.Since(locked).Round(time.Millisecond))
	b.kill9(t)
	f.assertAbortedVisible(t, run, scenario)

	g := f.gc(t)
	assert.Contains(t, g.stdout, "kind cluster "+cluster)
	run = f.assertCollected(t, g, "fault-kind-kill", "provision")
	f.assertNothingLeft(t, run)
}

func TestFaultKillDuringDeployStep(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	f := newFault(t)
	scenario := "testdata/faults/deploy-kill/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	run := f.runOf(t, b, "fault-deploy-kill")
	b.until(t, "the deploy step blocks", 30*time.Second, fileExists(f.marker("block.pid")))
	pids := map[string]int{
		"detached daemon": readPid(t, f.marker("daemon.pid")),
		"step's child":    readPid(t, f.marker("child.pid")),
		"step shell":      readPid(t, f.marker("block.pid")),
	}
	b.kill9(t)
	for name, pid := range pids {
		require.True(t, alive(pid), "%s outlives drill", name)
	}
	f.assertAbortedVisible(t, run, scenario)

	g := f.gc(t)
	assert.Contains(t, g.stdout, "processes with DRILL_RUN_ID="+run.RunID)
	run = f.assertCollected(t, g, "fault-deploy-kill", "start-and-block")
	for name, pid := range pids {
		assert.False(t, alive(pid), "%s (pid %d) is gone", name, pid)
	}
	f.assertNothingLeft(t, run)
	assert.Len(t, run.Cycles, 1)
}

func TestFaultTerraformApplyFailsHalfway(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	testtools.Need(t, "terraform", "make tools installs it")
	repo := gitCopy(t, map[string]string{".": "testdata/faults/tf-apply-fails"})
	f := newFault(t)
	r := drill(t, f.env, "run", "--results", f.results, filepath.Join(repo, "scenario.yaml"))
	assert.Equal(t, 1, r.code)

	run := readRun(t, f.results, "fault-tf-half")
	assert.Equal(t, results.StatusFailed, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonStepFailed, run.Error.Reason)
	require.Len(t, run.Cycles, 1)
	provision := stepByName(t, run.Cycles[0], "provision")
	assert.Equal(t, results.StatusFailed, provision.Status)
	require.NotNil(t, provision.Error)
	assert.Contains(t, provision.Error.OutputTail, "b fails half-way")
	assert.Equal(t, results.StatusSkipped, stepByName(t, run.Cycles[0], "never-reached").Status)
	destroy := stepByName(t, run.Cycles[0], "destroy")
	assert.Equal(t, results.StatusPassed, destroy.Status)
	log, err := os.ReadFile(filepath.Join(f.results, destroy.Log))
	require.NoError(t, err)
	assert.Contains(t, string(log), "terraform_data.a: Destruction complete", "drill's own destroy removed a")
	f.assertNothingLeft(t, run)

	f.assertGCFindsNothing(t)
}

func TestFaultKindCreateFails(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	needDocker(t)
	f := newFault(t)
	r := drill(t, f.env, "run", "--results", f.results, "testdata/faults/kind-create-fails/scenario.yaml")
	assert.Equal(t, 1, r.code)

	run := readRun(t, f.results, "fault-kind-fails")
	assert.Equal(t, results.StatusFailed, run.Status)
	require.Len(t, run.Cycles, 1)
	provision := stepByName(t, run.Cycles[0], "provision")
	assert.Equal(t, results.StatusFailed, provision.Status)
	require.NotNil(t, provision.Error)
	assert.Equal(t, results.ReasonStepFailed, provision.Error.Reason)
	assert.Contains(t, provision.Error.Message, "no-such-node")
	assert.Equal(t, results.StatusPassed, stepByName(t, run.Cycles[0], "destroy").Status)
	f.assertNothingLeft(t, run)

	f.assertGCFindsNothing(t)
}

func TestFaultVerifyNeverHealthy(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	f := newFault(t, "DEAD_PORT="+strconv.Itoa(freePort(t)))
	r := drill(t, f.env, "run", "--results", f.results, "testdata/faults/verify-unhealthy/scenario.yaml")
	assert.Equal(t, 1, r.code)
	data, err := os.ReadFile(f.marker("teardown-ran"))
	require.NoError(t, err, "teardown ran")
	assert.Equal(t, "cycle 1\ncycle 2\n", string(data), "both cycles tore down")
	daemon := readPid(t, f.marker("daemon.pid"))
	assert.False(t, alive(daemon), "teardown stopped the daemon")

	run := readRun(t, f.results, "fault-unhealthy")
	assert.Equal(t, results.StatusFailed, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonStepFailed, run.Error.Reason)
	for _, c := range run.Cycles {
		healthy := stepByName(t, c, "healthy")
		assert.Equal(t, results.StatusFailed, healthy.Status)
		assert.Equal(t, results.StatusPassed, stepByName(t, c, "stop").Status)
	}
	require.NotNil(t, run.Guideline)
	for _, ch := range run.Guideline.Checks {
		if ch.Name == "clean-teardown" {
			assert.True(t, ch.OK, "the teardown left nothing: %s", ch.Detail)
		}
	}
	f.assertNothingLeft(t, run)

	f.assertGCFindsNothing(t)
}

func TestFaultStepIgnoresSIGTERM(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	f := newFault(t)
	r := drill(t, f.env, "run", "--results", f.results, "testdata/faults/ignores-sigterm/scenario.yaml")
	assert.Equal(t, 1, r.code)
	for _, name := range []string{"stubborn.pid", "child.pid"} {
		pid := readPid(t, f.marker(name))
		assert.False(t, alive(pid), "%s: pid %d was killed with its group", name, pid)
	}

	run := readRun(t, f.results, "fault-stubborn")
	assert.Equal(t, results.StatusTimedOut, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonTimeout, run.Error.Reason)
	step := stepByName(t, run.Cycles[0], "stubborn")
	assert.Equal(t, results.StatusTimedOut, step.Status)
	require.NotNil(t, step.Error)
	assert.Equal(t, results.ReasonTimeout, step.Error.Reason)
	assert.Contains(t, step.Error.Message, "killed with SIGKILL after a 5s grace")
	assert.GreaterOrEqual(t, step.DurationMs, int64(5900), "the 1s timeout, then the whole 5s grace")
	f.assertNothingLeft(t, run)

	f.assertGCFindsNothing(t)
}

func TestFaultResultsFolderRemovedMidRun(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	repo := gitCopy(t, map[string]string{".": "testdata/faults/blocks"})
	f := newFault(t)
	b := startDrill(t, f.env, "run", "--results", f.results, filepath.Join(repo, "scenario.yaml"))
	first := f.runOf(t, b, "fault-blocks")
	b.until(t, "the step blocks", 30*time.Second, fileExists(f.marker("blocking")))
	require.NoError(t, os.RemoveAll(f.results))
	require.NoError(t, os.WriteFile(f.marker("release"), nil, 0o644))
	r := b.wait(t, 30*time.Second)

	// The drill itself passed both cycles, and says so; the document is
	// written again in full, and says which logs it lost instead of
	// pointing to files that are gone.
	assert.Equal(t, 0, r.code)
	run := readRun(t, f.results, "fault-blocks")
	assert.Equal(t, first.RunID, run.RunID)
	assert.Equal(t, results.StatusPassed, run.Status)
	require.Len(t, run.Cycles, 2)
	for _, c := range run.Cycles {
		for _, s := range c.Steps {
			assert.Equal(t, results.StatusPassed, s.Status, s.Name)
			if s.Log != "" {
				assert.FileExists(t, filepath.Join(f.results, s.Log), "the document points to existing logs only")
			}
		}
	}
	for _, lost := range []string{"c1/workdir", "c1/before", "c1/block"} {
		assert.Contains(t, strings.Join(run.Warnings, "\n"), lost, "the document says the log of %s is lost", lost)
	}
	assert.Contains(t, strings.Join(run.Warnings, "\n"), "removed from the results folder")
	assert.Contains(t, r.stdout, "warning: ")
	assert.NotEmpty(t, stepByName(t, run.Cycles[0], "after").Log, "logs written after the removal are kept")
	validateSchema(t, results.RunSchemaFile, filepath.Join(f.results, "fault-blocks", run.RunID+".json"))
	validateSchema(t, results.IndexSchemaFile, filepath.Join(f.results, "index.json"))
	f.assertNothingLeft(t, run)

	f.assertGCFindsNothing(t)
}

func TestFaultSecondRunOfScenarioExitsThree(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	f := newFault(t)
	scenario := "testdata/faults/blocks/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	first := f.runOf(t, b, "fault-blocks")
	b.until(t, "the first run blocks", 30*time.Second, fileExists(f.marker("blocking")))

	second := drill(t, f.env, "run", "--results", f.results, scenario)
	assert.Equal(t, 3, second.code)
	assert.Contains(t, second.stderr, first.RunID)
	assert.Contains(t, second.stderr, fmt.Sprintf("pid %d", b.cmd.Process.Pid))
	assert.Contains(t, second.stderr, "--wait")
	runs, _, err := resultstore.Open(f.results).Runs("fault-blocks")
	require.NoError(t, err)
	assert.Len(t, runs, 1, "the refused run wrote no document")

	waiting := startDrill(t, f.env, "run", "--results", f.results, "--wait", scenario)
	waiting.until(t, "the second drill says it waits", 30*time.Second, func() bool {
		return strings.Contains(waiting.stderr.String(), "waiting for it")
	})
	assert.Contains(t, waiting.stderr.String(), first.RunID)
	require.NoError(t, os.WriteFile(f.marker("release"), nil, 0o644))
	assert.Equal(t, 0, b.wait(t, 30*time.Second).code)
	assert.Equal(t, 0, waiting.wait(t, 30*time.Second).code)

	runs, _, err = resultstore.Open(f.results).Runs("fault-blocks")
	require.NoError(t, err)
	require.Len(t, runs, 2)
	done, later := runs[0], runs[1]
	require.Equal(t, first.RunID, done.RunID)
	require.NotNil(t, done.FinishedAt)
	assert.False(t, later.StartedAt.Before(*done.FinishedAt), "the waiting run started after the first finished: %s < %s", later.StartedAt, done.FinishedAt)
	assert.Less(t, later.DurationMs, int64(10_000), "the time spent waiting is not counted as the drill's duration")
	data, err := os.ReadFile(f.marker("blocking"))
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("blocking\n", 4), string(data), "each run's step ran once per cycle")
}

func TestFaultThirdSignalExitsAtOnce(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	for sig, code := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			f := newFault(t)
			b := startDrill(t, f.env, "run", "--results", f.results, "testdata/faults/slow-teardown/scenario.yaml")
			run := f.runOf(t, b, "fault-slow-teardown")
			b.until(t, "the deploy step blocks", 30*time.Second, fileExists(f.marker("blocking")))
			require.NoError(t, b.cmd.Process.Signal(sig))
			b.until(t, "the slow teardown step runs", 30*time.Second, fileExists(f.marker("tearing-down")))
			require.NoError(t, b.cmd.Process.Signal(sig))
			b.until(t, "drill answers the second signal", 10*time.Second, func() bool {
				return strings.Contains(b.stderr.String(), "teardown is running")
			})
			third := time.Now()
			require.NoError(t, b.cmd.Process.Signal(sig))
			r := b.wait(t, 5*time.Second)
			assert.Less(t, time.Since(third), 3*time.Second, "the third signal exits at once")
			assert.Equal(t, code, r.code)
			assert.Contains(t, r.stderr, "exiting at once")
			assert.Contains(t, r.stderr, "may be left behind")
			assert.Contains(t, r.stderr, "processes with DRILL_RUN_ID="+run.RunID)
			assert.Contains(t, r.stderr, "workdir ")
			assert.Contains(t, r.stderr, "drill gc")

			ps, err := procs.WithEnv("DRILL_RUN_ID", run.RunID)
			require.NoError(t, err)
			require.NotEmpty(t, ps, "the slow teardown step is still running")

			g := f.gc(t)
			run = f.assertCollected(t, g, "fault-slow-teardown", "slow-stop")
			f.assertNothingLeft(t, run)
			assert.Equal(t, results.StatusCanceled, stepByName(t, run.Cycles[0], "block").Status)
		})
	}
}

// After an interrupt, teardown is bounded by --teardown-timeout: a teardown
// step that hangs is stopped with its process group, and the result says
// the teardown did not pass instead of claiming it ran.
func TestFaultTeardownBoundedAfterInterrupt(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	f := newFault(t)
	b := startDrill(t, f.env, "run", "--results", f.results, "--teardown-timeout", "1s", "testdata/faults/slow-teardown/scenario.yaml")
	f.runOf(t, b, "fault-slow-teardown")
	b.until(t, "the deploy step blocks", 30*time.Second, fileExists(f.marker("blocking")))
	require.NoError(t, b.cmd.Process.Signal(os.Interrupt))
	r := b.wait(t, 15*time.Second)
	assert.Equal(t, 130, r.code)
	assert.FileExists(t, f.marker("tearing-down"))

	run := readRun(t, f.results, "fault-slow-teardown")
	assert.Equal(t, results.StatusCanceled, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonCanceled, run.Error.Reason)
	assert.Contains(t, run.Error.Message, "teardown did not pass")
	slow := stepByName(t, run.Cycles[0], "slow-stop")
	assert.Equal(t, results.StatusTimedOut, slow.Status)
	assert.Less(t, slow.DurationMs, int64(7_000), "bounded by the 1s teardown timeout and the grace")
	f.assertNothingLeft(t, run)

	f.assertGCFindsNothing(t)
}

func TestFaultInterruptWhileWaitingForTheLock(t *testing.T) {
	t.Parallel() // each fault has its own results folder, TMPDIR and run id
	f := newFault(t)
	scenario := "testdata/faults/blocks/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	f.runOf(t, b, "fault-blocks")
	b.until(t, "the first run blocks", 30*time.Second, fileExists(f.marker("blocking")))

	waiting := startDrill(t, f.env, "run", "--results", f.results, "--wait", scenario)
	waiting.until(t, "the second drill says it waits", 30*time.Second, func() bool {
		return strings.Contains(waiting.stderr.String(), "waiting for it")
	})
	require.NoError(t, waiting.cmd.Process.Signal(os.Interrupt))
	r := waiting.wait(t, 10*time.Second)
	assert.Equal(t, 130, r.code, "an interrupt is an interrupt, also while waiting")

	require.NoError(t, os.WriteFile(f.marker("release"), nil, 0o644))
	assert.Equal(t, 0, b.wait(t, 30*time.Second).code, "the first run is not disturbed")
	runs, _, err := resultstore.Open(f.results).Runs("fault-blocks")
	require.NoError(t, err)
	assert.Len(t, runs, 1, "the interrupted wait ran nothing and wrote no document")
}
