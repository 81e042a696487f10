package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// gitIn runs git in dir with a fixed identity and returns its output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "-c", "init.defaultBranch=main"}, args...)...).CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// A git source: every cycle clones the repository into a fresh workdir and
// runs the steps in spec.source.path; a push to the branch during the run
// (cycle 1 pushes v2) does not reach cycle 2, which checks out the commit
// cycle 1 did. Only what is committed is there. The DrillRun records the
// repository, the ref, the path and the commit, version-controlled holds by
// construction, and no workdir is left.
func TestGitSourceClonesEachCycle(t *testing.T) {
	t.Parallel()
	testtools.Need(t, "git", "apt-get install git")
	work := t.TempDir()
	gitIn(t, work, "init", "-q")
	require.NoError(t, os.MkdirAll(filepath.Join(work, "stack"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "stack", "version.txt"), []byte("v1\n"), 0o644))
	gitIn(t, work, "add", "-A")
	gitIn(t, work, "commit", "-qm", "v1")
	v1 := gitIn(t, work, "rev-parse", "HEAD")
	// Not committed: a fresh clone does not have it.
	require.NoError(t, os.WriteFile(filepath.Join(work, "stack", "handmade.txt"), []byte("x\n"), 0o644))
	upstream := filepath.Join(t.TempDir(), "stack.git")
	gitIn(t, work, "clone", "-q", "--bare", work, upstream)

	scenarioDir := t.TempDir()
	// The repository is given relative to the scenario's folder.
	rel, err := filepath.Rel(scenarioDir, upstream)
	require.NoError(t, err)
	file := filepath.Join(scenarioDir, "git.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: git-source}
spec:
  cycles: 2
  source:
    git: `+rel+`
    ref: main
    path: stack
  passEnv: [UPSTREAM, MARKER_DIR]
  target: {none: {}}
  steps:
    - name: fresh clone
      run: |
        test "$(cat version.txt)" = v1
        test ! -e handmade.txt
        test "$PWD" = "$DRILL_WORKDIR"
        test "$(basename "$DRILL_WORKDIR")" = stack
        echo "$DRILL_WORKDIR" > "$MARKER_DIR/workdir-$DRILL_CYCLE"
    - name: someone pushes
      run: |
        [ "$DRILL_CYCLE" = 1 ] || exit 0
        tmp=$(mktemp -d)
        git clone -q "$UPSTREAM" "$tmp/w"
        echo v2 > "$tmp/w/stack/version.txt"
        git -C "$tmp/w" -c user.name=x -c user.email=x@example.invalid commit -qam v2
        git -C "$tmp/w" push -q origin main
        rm -rf "$tmp"
`), 0o644))

	f := newFault(t, "UPSTREAM="+upstream)
	r := drill(t, f.env, "run", "--results", f.results, file)
	require.Equal(t, 0, r.code)
	run := readRun(t, f.results, "git-source")
	assert.Equal(t, results.Source{Git: true, Commit: v1, URL: upstream, Ref: "main", Path: "stack"}, run.Source)
	require.Len(t, run.Cycles, 2)
	for _, c := range run.Cycles {
		assert.Equal(t, results.StatusPassed, c.Status)
		b, err := os.ReadFile(f.marker("workdir-" + string(rune('0'+c.Index))))
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(c.Workdir, "stack"), strings.TrimSpace(string(b)), "the steps ran in path, inside the cycle's folder")
		assert.NoDirExists(t, c.Workdir, "the clone is removed")
	}
	require.NotNil(t, run.Guideline)
	assert.True(t, run.Guideline.Holds, "%+v", run.Guideline.Checks)
	for _, c := range run.Guideline.Checks {
		if c.Name == "version-controlled" {
			assert.Equal(t, "source cloned from "+upstream+" at "+v1[:12], c.Detail)
		}
	}
	assert.NotEqual(t, v1, gitIn(t, upstream, "rev-parse", "main"), "the push landed upstream")
	entries, err := os.ReadDir(f.tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "no workdir is left in TMPDIR")

	plan := drill(t, nil, "plan", file)
	require.Equal(t, 0, plan.code)
	assert.Contains(t, plan.stdout, "  source git "+rel+" at main (cloned fresh into a new workdir each cycle, every cycle the commit the first checked out, steps in stack)\n")
}

// A repository that cannot be reached (a server that is not there, with a
// token in the URL) fails the cycle's workdir step with git's reason as the
// environment's failure: SourceUnreachable, exit 3 (a Job retries it), no
// further cycle, nothing runs, nothing is left, and the token is nowhere,
// neither in the outputs nor in any file of the results.
func TestGitSourceUnreachableFailsCleanly(t *testing.T) {
	t.Parallel()
	testtools.Need(t, "git", "apt-get install git")
	dir := t.TempDir()
	file := filepath.Join(dir, "git.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: git-unreachable}
spec:
  cycles: 2
  source:
    git: "https://x-access-token:${GIT_TOKEN}@127.0.0.1:1/org/stack.git"
  secrets: [{name: GIT_TOKEN, fromEnv: TEST_GIT_TOKEN}]
  target: {none: {}}
  steps:
    - {name: never, run: 'touch "$MARKER_DIR/ran"'}
`), 0o644))
	f := newFault(t, "TEST_GIT_TOKEN=tok3xq9secret")
	r := drill(t, f.env, "run", "--results", f.results, file)
	require.Equal(t, 3, r.code)
	run := readRun(t, f.results, "git-unreachable")
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonSourceUnreachable, run.Error.Reason)
	assert.Equal(t, "https://x-access-token:***@127.0.0.1:1/org/stack.git", run.Source.URL)
	require.NotEmpty(t, run.Cycles)
	c := run.Cycles[0]
	require.NotEmpty(t, c.Steps)
	assert.Equal(t, "workdir", c.Steps[0].Name)
	assert.Equal(t, results.StatusFailed, c.Steps[0].Status)
	require.NotNil(t, c.Steps[0].Error)
	assert.Equal(t, results.ReasonSourceUnreachable, c.Steps[0].Error.Reason)
	assert.Contains(t, c.Steps[0].Error.Message, "git clone https://x-access-token:***@127.0.0.1:1/org/stack.git: exit status 128: fatal: unable to access")
	assert.NoFileExists(t, f.marker("ran"))
	require.NotNil(t, run.Guideline)
	for _, ch := range run.Guideline.Checks {
		if ch.Name == "version-controlled" {
			assert.False(t, ch.OK)
		}
	}
	entries, err := os.ReadDir(f.tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "no workdir is left in TMPDIR")
	assertNoSecret(t, f, r)
}
