package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/resultstore"
)

// shardStacks writes, into a committed git repository, scenarios named
// stack-a … stack-e in files whose order is not their names' (z-first.yaml
// holds stack-a), each two cycles of one step, and returns the folder.
func shardStacks(t *testing.T) (string, []string) {
	t.Helper()
	repo := t.TempDir()
	names := []string{"stack-a", "stack-b", "stack-c", "stack-d", "stack-e"}
	files := []string{"z-first.yaml", "y.yaml", "sub/x.yaml", "b.yaml", "a-last.yaml"}
	for i, name := range names {
		p := filepath.Join(repo, files[i])
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: `+name+`}
spec:
  cycles: 2
  source: .
  target: {none: {}}
  steps:
    - {name: hello, run: "true"}
`), 0o644))
	}
	gitInit(t, repo)
	return repo, names
}

// ranScenarios lists the scenarios with a run document in the results
// folder, each as many times as it ran.
func ranScenarios(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		runs, _, err := resultstore.Open(dir).Runs(e.Name())
		require.NoError(t, err)
		for range runs {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// Three runners given the same folder, each its own shard, run every
// scenario exactly once between them into one results folder: by name, as
// plan --shard shows beforehand, and the same from an Indexed Job's
// JOB_COMPLETION_INDEX with --shards.
func TestShardsRunEveryScenarioOnce(t *testing.T) {
	repo, names := shardStacks(t)
	want := map[string][]string{
		"1/3": {"stack-a", "stack-d"},
		"2/3": {"stack-b", "stack-e"},
		"3/3": {"stack-c"},
	}

	resultsDir := t.TempDir()
	for i, sh := range []string{"1/3", "2/3", "3/3"} {
		plan := drill(t, nil, "plan", "--shard", sh, repo)
		require.Equal(t, 0, plan.code)
		assert.True(t, strings.HasPrefix(plan.stdout, "shard "+sh+": "+
			map[string]string{"1/3": "2", "2/3": "2", "3/3": "1"}[sh]+" of the 5 scenarios found: "+strings.Join(want[sh], ", ")+"\n"), plan.stdout)
		for _, n := range names {
			assert.Equal(t, slices.Contains(want[sh], n), strings.Contains(plan.stdout, "scenario "+n+" "), "plan %s shows %s", sh, n)
		}

		// The second runner is a pod of an Indexed Job.
		var r result
		if i == 1 {
			r = drill(t, []string{"JOB_COMPLETION_INDEX=1", "DRILL_SHARDS=3"}, "run", "--results", resultsDir, repo)
		} else {
			r = drill(t, nil, "run", "--results", resultsDir, "--shard", sh, repo)
		}
		require.Equal(t, 0, r.code)
		assert.Contains(t, r.stderr, "drill: shard "+sh+": ")
	}
	assert.Equal(t, names, ranScenarios(t, resultsDir), "every scenario ran once")
}

// A shard that gets no scenario (more shards than scenarios) has nothing to
// do and says so: exit 0, an empty JUnit report for the CI job to upload,
// and no run.
func TestEmptyShardPasses(t *testing.T) {
	repo, _ := shardStacks(t)
	resultsDir := t.TempDir()
	junit := filepath.Join(t.TempDir(), "junit.xml")
	r := drill(t, nil, "run", "--results", resultsDir, "--junit", junit, "--shard", "6/6", repo)
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "drill: shard 6/6: 0 of the 5 scenarios found")
	assert.Empty(t, ranScenarios(t, resultsDir))
	b, err := os.ReadFile(junit)
	require.NoError(t, err)
	assert.Contains(t, string(b), `tests="0"`)
}

// A shard that cannot be taken is a usage error naming the flag or the
// variable, before anything runs.
func TestBadShardExitsTwo(t *testing.T) {
	repo, _ := shardStacks(t)
	resultsDir := filepath.Join(t.TempDir(), "results")
	for _, tt := range []struct {
		env  []string
		args []string
		msg  string
	}{
		{args: []string{"--shard", "0/3"}, msg: `drill: --shard "0/3": the shard's number must be from 1 to 3 (shards count from 1)`},
		{args: []string{"--shard", "2"}, msg: `drill: --shard "2": want I/N, the shard's number (from 1) and the number of shards, as in 1/4`},
		{args: []string{"--shards", "3"}, msg: `drill: --shards "3": a number of shards needs the shard's own number: give --shard I/N, or run in an Indexed Job (JOB_COMPLETION_INDEX)`},
		{env: []string{"JOB_COMPLETION_INDEX=3", "DRILL_SHARDS=3"}, msg: `drill: JOB_COMPLETION_INDEX+1 of DRILL_SHARDS "4/3": the shard's number must be from 1 to 3 (shards count from 1)`},
	} {
		for _, cmd := range []string{"run", "plan"} {
			args := append([]string{cmd, "--results", resultsDir}, tt.args...)
			r := drill(t, tt.env, append(args, repo)...)
			assert.Equal(t, 2, r.code, args)
			assert.Equal(t, tt.msg+"\n", r.stderr, args)
		}
	}
	assert.NoDirExists(t, resultsDir)
}
