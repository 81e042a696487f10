package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// statusRows decodes drill status -o json.
func statusRows(t *testing.T, r result) map[string]scenarioStatus {
	t.Helper()
	var rows []scenarioStatus
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	out := map[string]scenarioStatus{}
	for _, row := range rows {
		out[row.Scenario] = row
	}
	return out
}

func scenarioFile(t *testing.T, dir, name, freshness string) string {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	doc := "apiVersion: drill/v1\nkind: Scenario\nmetadata:\n  name: " + name + "\n  owner: sre\nspec:\n"
	if freshness != "" {
		doc += "  freshness: " + freshness + "\n"
	}
	doc += "  target:\n    none: {}\n  steps:\n    - name: hello\n      run: echo hello\n"
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	return path
}

// freshResults is a results folder where web and tight each passed an hour
// ago, both runs recording a freshness of 24h.
func freshResults(t *testing.T) *resultstore.Store {
	t.Helper()
	store := resultstore.Open(filepath.Join(t.TempDir(), "results"))
	var scs []histgen.Scenario
	for _, name := range []string{"web", "tight"} {
		scs = append(scs, histgen.Scenario{Name: name, Owner: "sre", Runs: 3, Every: time.Hour, Newest: time.Now().Add(-time.Hour), Freshness: 24 * time.Hour})
	}
	require.NoError(t, histgen.Generate(store, scs, histgen.Options{}))
	return store
}

func TestStatusScenarioPathsAndNames(t *testing.T) {
	store := freshResults(t)
	dir := t.TempDir()
	web := scenarioFile(t, dir, "web", "")
	scenarioFile(t, dir, "never-ran", "")
	scenarioFile(t, dir, "tight", "30m") // the file now asks for more than the runs recorded

	t.Run("folder: every scenario found, never-run and file freshness included", func(t *testing.T) {
		r := drill(t, "status", "--results", store.Dir, "-o", "json", dir)
		assert.Equal(t, ExitFailed, r.code, r.stderr)
		rows := statusRows(t, r)
		require.Len(t, rows, 3)
		assert.Equal(t, results.VerdictHolds, rows["web"].Verdict)
		assert.Equal(t, web, rows["web"].File)
		assert.Equal(t, results.VerdictNeverRun, rows["never-ran"].Verdict)
		assert.Equal(t, "sre", rows["never-ran"].Owner)
		assert.Equal(t, (24 * time.Hour).Milliseconds(), rows["never-ran"].FreshnessMs, "the file's (default) freshness")
		assert.Equal(t, results.VerdictStale, rows["tight"].Verdict, "judged with the file's 30m, not the runs' 24h")
		assert.Equal(t, (30 * time.Minute).Milliseconds(), rows["tight"].FreshnessMs)
	})
	t.Run("table names the never-run scenario", func(t *testing.T) {
		r := drill(t, "status", "--results", store.Dir, dir)
		assert.Equal(t, ExitFailed, r.code)
		assert.Regexp(t, `(?m)^never-ran\s+sre\s+never-run\s`, r.stdout)
		assert.Contains(t, r.stdout, "never-ran: no drill of it has run yet")
	})
	t.Run("no argument: the results folder, with the runs' freshness", func(t *testing.T) {
		r := drill(t, "status", "--results", store.Dir, "-o", "json")
		assert.Equal(t, ExitOK, r.code, r.stderr)
		rows := statusRows(t, r)
		assert.Len(t, rows, 2)
		assert.Equal(t, results.VerdictHolds, rows["tight"].Verdict)
	})
	t.Run("one file, and names", func(t *testing.T) {
		for _, tt := range []struct{ args, want []string }{
			{[]string{web}, []string{"web"}},
			{[]string{"web"}, []string{"web"}},
			{[]string{"tight", "web"}, []string{"tight", "web"}},
			{[]string{web, "web"}, []string{"web"}},
		} {
			r := drill(t, append([]string{"status", "--results", store.Dir, "-o", "json"}, tt.args...)...)
			assert.Equal(t, ExitOK, r.code, "%v: %s", tt.args, r.stderr)
			var rows []scenarioStatus
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
			var got []string
			for _, row := range rows {
				got = append(got, row.Scenario)
				assert.Equal(t, results.VerdictHolds, row.Verdict, "%v", tt.args)
			}
			assert.Equal(t, tt.want, got, "in the order given, once each")
		}
	})
	t.Run("unknown names are usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"nope"}, {"web", "nope"}, {"index.json"}, {"a/b"}, {dir, "nope"}} {
			r := drill(t, append([]string{"status", "--results", store.Dir}, args...)...)
			assert.Equal(t, ExitUsage, r.code, "%v", args)
			assert.Empty(t, r.stdout, "%v", args)
			assert.Equal(t, "drill: unknown scenario "+args[len(args)-1]+": no results in "+store.Dir+", and no file or folder of that name\n", r.stderr, "%v", args)
		}
		r := drill(t, "status", "--results", store.Dir, "nope", "web", "other")
		assert.Equal(t, ExitUsage, r.code)
		assert.Contains(t, r.stderr, "drill: unknown scenarios nope, other: no results in ")
	})
	t.Run("an invalid scenario file is a usage error with file:line:col", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(bad, []byte("apiVersion: drill/v1\nkind: Scenario\nmetadata:\n  name: bad\nspec:\n  cycles: zero\n  target:\n    none: {}\n  steps:\n    - name: a\n      run: echo\n"), 0o644))
		r := drill(t, "status", "--results", store.Dir, bad)
		assert.Equal(t, ExitUsage, r.code)
		assert.Empty(t, r.stdout)
		assert.Regexp(t, regexp.QuoteMeta(bad)+`:6:\d+`, r.stderr)
	})
}

// TestStatusAndListShowAborted checks that a run still marked running whose
// drill is gone (the pid of a reaped process, on this host) is aborted in
// drill status and drill list, and one whose drill is alive (this test
// process) is running.
func TestStatusAndListShowAborted(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	dir := t.TempDir()
	file := scenarioFile(t, dir, "web", "")

	t.Run("dead pid", func(t *testing.T) {
		store := freshResults(t)
		pid, err := histgen.DeadPid()
		require.NoError(t, err)
		run, err := histgen.WriteRunning(store, "web", "sre", time.Now().Add(-time.Minute), pid, host)
		require.NoError(t, err)

		r := drill(t, "status", "--results", store.Dir)
		assert.Equal(t, ExitFailed, r.code, "an aborted scenario is not holding")
		assert.Regexp(t, `(?m)^web\s+sre\s+aborted\s`, r.stdout)
		assert.Contains(t, r.stdout, "web: aborted runs (their drill process is gone): "+run.RunID+" — run `drill gc`")

		r = drill(t, "status", "--results", store.Dir, "-o", "json", file)
		assert.Equal(t, ExitFailed, r.code)
		rows := statusRows(t, r)
		assert.Equal(t, results.VerdictAborted, rows["web"].Verdict)
		assert.Equal(t, []string{run.RunID}, rows["web"].Aborted)

		r = drill(t, "list", "--results", store.Dir, file)
		assert.Equal(t, ExitOK, r.code, r.stderr)
		assert.Regexp(t, "aborted [0-9.ms]+ ago \\(run `drill gc`\\)", r.stdout)
		assert.NotContains(t, r.stdout, "running since")
	})
	t.Run("live pid", func(t *testing.T) {
		store := freshResults(t)
		// Started after this process did: an older run would make the pid
		// look recycled.
		run, err := histgen.WriteRunning(store, "web", "sre", time.Now(), os.Getpid(), host)
		require.NoError(t, err)

		r := drill(t, "status", "--results", store.Dir, "-o", "json")
		assert.Equal(t, ExitOK, r.code, "a drill under way keeps the verdict: %s", r.stdout)
		rows := statusRows(t, r)
		assert.Equal(t, results.VerdictHolds, rows["web"].Verdict)
		assert.Equal(t, []string{run.RunID}, rows["web"].Running)
		assert.Empty(t, rows["web"].Aborted)

		r = drill(t, "list", "--results", store.Dir, file)
		assert.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "running since")
		assert.NotContains(t, r.stdout, "aborted")
	})
}

func TestAllowedHosts(t *testing.T) {
	tests := []struct {
		addr  string
		allow []string
		want  []string
	}{
		{"127.0.0.1:8080", nil, []string{"127.0.0.1"}},
		{"0.0.0.0:8080", []string{"drill.example.com"}, []string{"0.0.0.0", "drill.example.com"}},
		{":8080", []string{"192.0.2.10:9090", "[2001:db8::1]"}, []string{"192.0.2.10:9090", "[2001:db8::1]"}},
		{"drill.internal:80", nil, []string{"drill.internal"}},
	}
	for _, tt := range tests {
		got, err := allowedHosts(tt.addr, tt.allow)
		require.NoError(t, err, tt.addr)
		assert.Equal(t, tt.want, got, tt.addr)
	}
	for _, bad := range []string{"", "http://drill.example.com", "*.example.com", "drill.example.com/x", "a b"} {
		_, err := allowedHosts("127.0.0.1:0", []string{bad})
		var ee *ExitError
		require.ErrorAs(t, err, &ee, "%q", bad)
		assert.Equal(t, ExitUsage, ee.Code, "%q", bad)
	}
	r := drill(t, "serve", "--allow-host", "https://x.example", "--results", t.TempDir())
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "--allow-host")
}
