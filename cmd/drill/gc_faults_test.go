package main

// Faults of issue 8 around Terraform state and drill gc: a destroy that
// fails, a state that is lost, gc without the run's secret, two gc at once,
// an interrupted gc, a dead run whose document is damaged. Each runs the
// built binary against the real terraform and checks what is left.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// destroyToken is the secret the fault-tf-destroy scenario reads from
// E2E_API_TOKEN: with quotes and a dollar sign, so that any escaping of it
// is exercised too.
const destroyToken = `tok-"3xq$9"-s3cr3t`

// tfDestroyFault runs fault-tf-destroy once with its destroy refused, and
// returns the fault, the run and the cycle's kept workdir.
func tfDestroyFault(t *testing.T) (*fault, *results.Run, string) {
	t.Helper()
	testtools.Need(t, "terraform", "make tools installs it")
	repo := gitCopy(t, map[string]string{".": "testdata/faults/tf-destroy-fails"})
	f := newFault(t, "E2E_API_TOKEN="+destroyToken)
	require.NoError(t, os.WriteFile(f.marker("refuse-destroy"), nil, 0o644))

	r := drill(t, f.env, "run", "--results", f.results, filepath.Join(repo, "scenario.yaml"))
	require.Equal(t, 4, r.code, "a destroy that failed is exit 4")
	run := readRun(t, f.results, "fault-tf-destroy")
	killLeftovers(t, run, nil)
	require.Len(t, run.Cycles, 1)
	workdir := run.Cycles[0].Workdir
	infra := filepath.Join(workdir, "infra")
	t.Cleanup(func() { _ = os.RemoveAll(workdir) })

	destroy := stepByName(t, run.Cycles[0], "destroy")
	assert.Equal(t, results.StatusFailed, destroy.Status)
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonTeardownFailed, run.Error.Reason)
	for _, want := range []string{"terraform state in " + infra, "its workdir " + workdir + " is kept", "drill gc --results", "terraform_data.guarded"} {
		assert.Contains(t, run.Error.Message, want)
		assert.Contains(t, r.stdout+r.stderr, want, "the operator reads it too")
	}
	assert.Equal(t, []string{"terraform_data.guarded"}, stateList(t, infra), "the state is kept, with what it holds")
	assertOutstanding(t, f, run, "c1/target", "c1/workdir", "processes")
	return f, run, workdir
}

// stateList is `terraform state list` in dir.
func stateList(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("terraform", "-chdir="+dir, "state", "list")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "terraform state list in %s: %s", dir, stderr.String())
	return strings.Fields(string(out))
}

func assertOutstanding(t *testing.T, f *fault, run *results.Run, ids ...string) {
	t.Helper()
	left, err := resultstore.ReadLedger(resultstore.Open(f.results).Ledger(run.Scenario.Name, run.RunID).Path())
	require.NoError(t, err)
	var got []string
	for _, e := range left {
		got = append(got, e.ID)
	}
	assert.ElementsMatch(t, ids, got, "outstanding ledger entries")
}

// assertNoSecret checks that the token reached no output and no file
// under the results folder, in any form the redactor knows.
func assertNoSecret(t *testing.T, f *fault, outputs ...result) {
	t.Helper()
	for _, r := range outputs {
		assert.NotContains(t, r.stdout+r.stderr, "3xq")
	}
	require.NoError(t, filepath.WalkDir(f.results, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.NotContains(t, string(data), "3xq", path)
		return nil
	}))
}

func TestFaultTerraformDestroyFailsKeepsStateForGC(t *testing.T) {
	t.Parallel()
	f, run, workdir := tfDestroyFault(t)
	infra := filepath.Join(workdir, "infra")

	// gc retries the destroy: still refused, so nothing is reported removed
	// and everything stays for the next gc.
	g := f.gc(t)
	assert.Equal(t, 4, g.code, "gc exits non-zero while anything is left")
	assert.Contains(t, g.stdout, "LEFT")
	assert.Contains(t, g.stdout, "destroy refused")
	assert.NotContains(t, g.stdout, "removed       fault-tf-destroy/"+run.RunID+"  terraform state")
	assert.Regexp(t, `LEFT .*workdir .*is kept: it holds the state of terraform state in`, g.stdout)
	assert.Equal(t, []string{"terraform_data.guarded"}, stateList(t, infra))
	assertOutstanding(t, f, run, "c1/target", "c1/workdir")

	// gc without the secret the run read cannot destroy exactly as the run
	// did: it names the variable and keeps the state.
	require.NoError(t, os.Remove(f.marker("refuse-destroy")))
	var noToken []string
	for _, kv := range f.env {
		if !strings.HasPrefix(kv, "E2E_API_TOKEN=") {
			noToken = append(noToken, kv)
		}
	}
	g2 := drill(t, noToken, "gc", "--results", f.results)
	assert.Equal(t, 4, g2.code)
	assert.Contains(t, g2.stdout, "E2E_API_TOKEN")
	assert.Contains(t, g2.stdout, "the state is kept")
	assert.Equal(t, []string{"terraform_data.guarded"}, stateList(t, infra))
	assertOutstanding(t, f, run, "c1/target", "c1/workdir")

	// With the secret, gc destroys with the real value (the provisioner
	// records what it got), verifies the state is empty, then removes the
	// workdir.
	g3 := f.gc(t)
	assert.Equal(t, 0, g3.code)
	assert.Contains(t, g3.stdout, "removed       fault-tf-destroy/"+run.RunID+"  terraform state in "+infra)
	assert.Contains(t, g3.stdout, "removed       fault-tf-destroy/"+run.RunID+"  workdir "+workdir)
	got, err := os.ReadFile(f.marker("destroyed-with-token"))
	require.NoError(t, err)
	assert.Equal(t, destroyToken+"\n", string(got), "terraform destroy got the secret itself, once")
	assertNoSecret(t, f, g, g2, g3)
	f.assertNothingLeft(t, run)
	f.assertGCFindsNothing(t)
}

func TestFaultTerraformStateLostIsNotClean(t *testing.T) {
	t.Parallel()
	f, run, workdir := tfDestroyFault(t)
	require.NoError(t, os.RemoveAll(workdir))

	for range 2 {
		g := f.gc(t)
		assert.Equal(t, 4, g.code, "a lost state is an error, every time")
		assert.Contains(t, g.stdout, "is gone, but the run never released it")
		assert.NotContains(t, g.stdout, "removed       fault-tf-destroy/"+run.RunID+"  terraform state")
		assertOutstanding(t, f, run, "c1/target", "c1/workdir")
	}
	// The operator cleaned up by hand and says so.
	fg := drill(t, f.env, "gc", "--results", f.results, "--forget", "fault-tf-destroy/"+run.RunID)
	assert.Equal(t, 0, fg.code)
	assert.Contains(t, fg.stdout, "forgotten")
	f.assertNothingLeft(t, run)
	f.assertGCFindsNothing(t)
}

func TestFaultTwoGCAtOnceDestroyOnce(t *testing.T) {
	t.Parallel()
	f, run, _ := tfDestroyFault(t)
	require.NoError(t, os.Remove(f.marker("refuse-destroy")))
	require.NoError(t, os.WriteFile(f.marker("slow-destroy"), nil, 0o644))

	first := startDrill(t, f.env, "gc", "--results", f.results)
	first.until(t, "the first gc's destroy runs", time.Minute, fileExists(f.marker("destroying")))
	second := startDrill(t, f.env, "gc", "--results", f.results)
	second.until(t, "the second gc waits for the first", 30*time.Second, func() bool {
		return strings.Contains(second.stderr.String(), "another drill gc")
	})
	require.NoError(t, os.WriteFile(f.marker("go-on"), nil, 0o644))

	r1 := first.wait(t, 2*time.Minute)
	assert.Equal(t, 0, r1.code)
	assert.Contains(t, r1.stdout, "removed       fault-tf-destroy/"+run.RunID+"  terraform state")
	r2 := second.wait(t, time.Minute)
	assert.Equal(t, 0, r2.code)
	assert.Contains(t, r2.stdout, "nothing left behind", "the second gc finds what the first removed gone")
	got, err := os.ReadFile(f.marker("destroyed-with-token"))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(got), "\n"), "one destroy, not two")
	f.assertNothingLeft(t, run)
}

func TestFaultInterruptedGCKeepsTheEntry(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			f, run, workdir := tfDestroyFault(t)
			infra := filepath.Join(workdir, "infra")
			require.NoError(t, os.Remove(f.marker("refuse-destroy")))
			require.NoError(t, os.WriteFile(f.marker("slow-destroy"), nil, 0o644))

			g := startDrill(t, f.env, "gc", "--results", f.results)
			g.until(t, "gc's destroy runs", time.Minute, fileExists(f.marker("destroying")))
			require.NoError(t, g.cmd.Process.Signal(sig))
			r := g.wait(t, time.Minute)
			assert.Equal(t, 128+int(sig), r.code)
			assert.Contains(t, r.stderr, "gc interrupted")
			assert.NotContains(t, r.stdout, "removed       fault-tf-destroy/"+run.RunID+"  terraform state")

			// Nothing of gc's own is left running: not terraform, not the
			// provisioner's script.
			ps, err := procs.WithEnv("DRILL_RUN_ID", run.RunID)
			require.NoError(t, err)
			assert.Empty(t, ps, "processes left by the interrupted gc")
			assert.Equal(t, []string{"terraform_data.guarded"}, stateList(t, infra), "the state still holds the resource")
			assertOutstanding(t, f, run, "c1/target", "c1/workdir")

			// The next gc finishes the job.
			require.NoError(t, os.WriteFile(f.marker("go-on"), nil, 0o644))
			again := f.gc(t)
			assert.Equal(t, 0, again.code)
			f.assertNothingLeft(t, run)
		})
	}
}

func TestFaultGCCollectsARunWithADamagedDocument(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string][]byte{"empty": {}, "truncated": []byte(`{"apiVersion": "drill/v1", "kind": "DrillRun", "runId": `)} {
		t.Run(name, func(t *testing.T) {
			f := newFault(t)
			scenario := "testdata/faults/deploy-kill/scenario.yaml"
			b := startDrill(t, f.env, "run", "--results", f.results, scenario)
			run := f.runOf(t, b, "fault-deploy-kill")
			b.until(t, "the deploy step blocks", 30*time.Second, fileExists(f.marker("block.pid")))
			daemon := readPid(t, f.marker("daemon.pid"))
			b.kill9(t)
			doc := filepath.Join(f.results, "fault-deploy-kill", run.RunID+".json")
			require.NoError(t, os.WriteFile(doc, damage, 0o644))

			g := f.gc(t)
			assert.Equal(t, 0, g.code)
			assert.Contains(t, g.stdout, "removed       fault-deploy-kill/"+run.RunID+"  processes with DRILL_RUN_ID="+run.RunID)
			assert.Contains(t, g.stdout, "removed       fault-deploy-kill/"+run.RunID+"  workdir ")
			assert.Contains(t, g.stderr, doc, "gc warns about the damaged document")
			assert.False(t, alive(daemon), "the run's daemon is stopped")
			f.assertNothingLeft(t, run)
		})
	}
}
