package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests run drill as a built binary, the way a nightly job or an SRE
// does, against real processes and the real terraform.

var drillBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drill-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	drillBin = filepath.Join(dir, "drill")
	out, err := exec.Command("go", "build", "-o", drillBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build drill: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	removeImage()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// drill runs the binary to completion with the given environment additions.
func drill(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(drillBin, args...)
	cmd.Env = append(os.Environ(), append([]string{"CI=true"}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("drill %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// gitCopy copies files into a fresh, committed git repository, so the
// version-controlled check holds whatever state the developer's tree is in.
func gitCopy(t *testing.T, files map[string]string) string {
	t.Helper()
	testtools.Need(t, "git", "apt-get install git")
	dir := t.TempDir()
	for dst, src := range files {
		require.NoError(t, os.CopyFS(filepath.Join(dir, dst), os.DirFS(src)))
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-qm", "stack"},
	} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func readRun(t *testing.T, resultsDir, scenario string) *results.Run {
	t.Helper()
	runs, warnings, err := resultstore.Open(resultsDir).Runs(scenario)
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Len(t, runs, 1)
	return runs[0]
}

func validateSchema(t *testing.T, schemaFile, docPath string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "results", schemaFile))
	require.NoError(t, err)
	data, err := os.ReadFile(docPath)
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	assert.NoError(t, sch.Validate(doc), "%s against %s", docPath, schemaFile)
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil {
		return false
	}
	// A zombie still answers kill(0); it is dead for our purpose.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func TestBundledScenarioPassesTwoCycles(t *testing.T) {
	testtools.Need(t, "terraform", "make tools installs it")
	repo := gitCopy(t, map[string]string{"local-web": "../../scenarios/local-web"})
	scenario, err := os.ReadFile("../../scenarios/local-web.yaml")
	require.NoError(t, err)
	port := strconv.Itoa(freePort(t))
	scenario = bytes.Replace(scenario, []byte(`APP_PORT: "18080"`), []byte(`APP_PORT: "`+port+`"`), 1)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "local-web.yaml"), scenario, 0o644))
	gitCommit(t, repo)

	resultsDir := t.TempDir()
	r := drill(t, nil, "run", "--results", resultsDir, filepath.Join(repo, "local-web.yaml"))
	require.Equal(t, 0, r.code)

	run := readRun(t, resultsDir, "local-web")
	assert.Equal(t, results.StatusPassed, run.Status)
	require.Len(t, run.Cycles, 2)
	for _, c := range run.Cycles {
		assert.Equal(t, results.StatusPassed, c.Status)
		var names []string
		for _, s := range c.Steps {
			names = append(names, s.Name)
			assert.Equal(t, results.StatusPassed, s.Status, s.Name)
			assert.FileExists(t, filepath.Join(resultsDir, s.Log))
		}
		assert.Equal(t, []string{"workdir", "provision", "build", "start", "healthy", "version", "stop", "destroy"}, names)
		assert.Positive(t, c.Phases.ProvisionMs)
		assert.NoDirExists(t, c.Workdir, "the cycle's workdir is removed")
	}
	require.NotNil(t, run.Guideline)
	assert.True(t, run.Guideline.Holds, "%+v", run.Guideline.Checks)
	assert.NotEmpty(t, run.Tools["terraform"], "terraform version recorded")
	validateSchema(t, results.RunSchemaFile, filepath.Join(resultsDir, "local-web", run.RunID+".json"))
	validateSchema(t, results.RunSchemaFile, filepath.Join(resultsDir, "local-web", "latest.json"))
	validateSchema(t, results.IndexSchemaFile, filepath.Join(resultsDir, "index.json"))

	// status reads the same history: fresh and holding → exit 0.
	st := drill(t, nil, "status", "--results", resultsDir, "-o", "json")
	assert.Equal(t, 0, st.code)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(st.stdout), &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, "holds", rows[0]["verdict"])
}

// runBundled runs the bundled scenarios/NAME.yaml from a clone of the
// committed tree (its source is the repository, which a nightly job sees
// as a fresh clone) with env added, requires exit 0 and two passed cycles
// of passed steps, and returns the run and its results folder.
func runBundled(t *testing.T, name string, env []string) (*results.Run, string) {
	t.Helper()
	testtools.Need(t, "git", "apt-get install git")
	clone := filepath.Join(t.TempDir(), "drill")
	out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", "../..", clone).CombinedOutput()
	require.NoError(t, err, "%s", out)
	resultsDir := t.TempDir()
	r := drill(t, env, "run", "--results", resultsDir, filepath.Join(clone, "scenarios", name+".yaml"))
	require.Equal(t, 0, r.code)
	run := readRun(t, resultsDir, name)
	assert.Equal(t, results.StatusPassed, run.Status)
	require.Len(t, run.Cycles, 2)
	for _, c := range run.Cycles {
		assert.Equal(t, results.StatusPassed, c.Status)
		for _, s := range c.Steps {
			assert.Equal(t, results.StatusPassed, s.Status, "cycle %d step %s", c.Index, s.Name)
		}
	}
	return run, resultsDir
}

// gitInit makes repo a git repository with everything in it committed,
// so version-controlled holds.
func gitInit(t testing.TB, repo string) {
	t.Helper()
	out, err := exec.Command("git", "-C", repo, "init", "-q").CombinedOutput()
	require.NoError(t, err, "git init: %s", out)
	gitCommit(t, repo)
}

func gitCommit(t testing.TB, repo string) {
	t.Helper()
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-qm", "port"}} {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
}

func TestVerifyFailureExitsOneAndTeardownRuns(t *testing.T) {
	markers := t.TempDir()
	resultsDir := t.TempDir()
	r := drill(t, []string{"MARKER_DIR=" + markers, "DEAD_PORT=" + strconv.Itoa(freePort(t))},
		"run", "--results", resultsDir, "testdata/verify-fails/scenario.yaml")
	assert.Equal(t, 1, r.code)
	assert.FileExists(t, filepath.Join(markers, "deployed"))
	data, err := os.ReadFile(filepath.Join(markers, "teardown-ran"))
	require.NoError(t, err, "the teardown step ran")
	assert.Equal(t, "cycle 1\n", string(data))

	run := readRun(t, resultsDir, "verify-fails")
	assert.Equal(t, results.StatusFailed, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonStepFailed, run.Error.Reason)
	assert.Contains(t, run.Error.Message, "healthy")
	assert.Contains(t, r.stdout, "verify-fails: StepFailed")
}

func TestInterruptRunsTeardownAndLeavesNoProcess(t *testing.T) {
	markers := t.TempDir()
	resultsDir := t.TempDir()
	cmd := exec.Command(drillBin, "run", "--results", resultsDir, "testdata/interrupt/scenario.yaml")
	cmd.Env = append(os.Environ(), "CI=true", "MARKER_DIR="+markers)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	blockPid := filepath.Join(markers, "block.pid")
	require.Eventually(t, func() bool {
		_, err := os.Stat(blockPid)
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "the blocking step starts")
	daemon := readPid(t, filepath.Join(markers, "daemon.pid"))
	child := readPid(t, filepath.Join(markers, "child.pid"))
	block := readPid(t, blockPid)
	require.True(t, alive(daemon) && alive(child) && alive(block))

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	t.Logf("stderr:\n%s", stderr.String())
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 130, ee.ExitCode())

	assert.FileExists(t, filepath.Join(markers, "teardown-ran"))
	for name, pid := range map[string]int{"daemon": daemon, "background child": child, "step shell": block} {
		assert.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond, "%s (pid %d) is gone", name, pid)
	}
	run := readRun(t, resultsDir, "interrupt")
	assert.Equal(t, results.StatusCanceled, run.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonCanceled, run.Error.Reason)
	require.Len(t, run.Cycles, 1, "no new cycle starts after an interrupt")
	byName := map[string]results.Step{}
	for _, s := range run.Cycles[0].Steps {
		byName[s.Name] = s
	}
	assert.Equal(t, results.StatusCanceled, byName["block"].Status)
	assert.Equal(t, results.StatusPassed, byName["stop-daemon"].Status)
	assert.Equal(t, results.StatusPassed, byName["destroy"].Status)
}

func TestPromptingStepFailsFast(t *testing.T) {
	resultsDir := t.TempDir()
	r := drill(t, nil, "run", "--results", resultsDir, "testdata/prompt/scenario.yaml")
	assert.Equal(t, 1, r.code)
	run := readRun(t, resultsDir, "prompt")
	step := run.Cycles[0].Steps[2]
	require.Equal(t, "ask", step.Name)
	assert.Equal(t, results.StatusFailed, step.Status, "failed on empty stdin, not timed out")
	require.NotNil(t, step.Error)
	assert.Equal(t, results.ReasonStepFailed, step.Error.Reason)
}

func TestInvalidScenarioExitsTwoAndRunsNothing(t *testing.T) {
	resultsDir := filepath.Join(t.TempDir(), "results")
	r := drill(t, nil, "run", "--results", resultsDir, "testdata/invalid.yaml")
	assert.Equal(t, 2, r.code)
	for _, want := range []string{
		"testdata/invalid.yaml:6:11: spec.cycles",
		"testdata/invalid.yaml:12:7: spec.steps[0].colour: unknown field",
		"testdata/invalid.yaml:11:7: spec.steps[0].http: a step has exactly one action",
	} {
		assert.Contains(t, r.stderr, want)
	}
	assert.NoDirExists(t, resultsDir, "nothing ran, nothing was written")

	v := drill(t, nil, "validate", "testdata/invalid.yaml")
	assert.Equal(t, 2, v.code)
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "--cycles", "x", "testdata/prompt/scenario.yaml"},
		{"run", "--output", "yaml", "testdata/prompt/scenario.yaml"},
		{"nosuchcommand"},
		{"validate", "testdata/does-not-exist.yaml"},
	} {
		r := drill(t, nil, args...)
		assert.Equal(t, 2, r.code, "%v", args)
		assert.Contains(t, r.stderr, "drill: ", "%v", args)
	}
}

func TestMissingTerraformExitsThree(t *testing.T) {
	repo := gitCopy(t, map[string]string{"local-web": "../../scenarios/local-web"})
	scenario, err := os.ReadFile("../../scenarios/local-web.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "local-web.yaml"), scenario, 0o644))
	for _, dir := range []string{"/usr/bin", "/bin"} {
		if _, err := os.Stat(filepath.Join(dir, "terraform")); err == nil {
			t.Skipf("terraform lives in %s here; a PATH without it has no bash either", dir)
		}
	}
	resultsDir := t.TempDir()
	// A PATH with bash and coreutils but no terraform.
	r := drill(t, []string{"PATH=/usr/bin:/bin"}, "run", "--results", resultsDir, filepath.Join(repo, "local-web.yaml"))
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stdout+r.stderr, "make tools")
	run := readRun(t, resultsDir, "local-web")
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonToolMissing, run.Error.Reason)
	assert.Len(t, run.Cycles, 1, "no second cycle once a tool is known to be missing")
}
