package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	code := m.Run()
	histgen.RemoveKnown()
	os.Exit(code)
}

// knownStore is a private copy of the known history's results folder.
func knownStore(t testing.TB) *resultstore.Store {
	t.Helper()
	store, err := histgen.CopyKnown(filepath.Join(t.TempDir(), "results"), testNow)
	require.NoError(t, err)
	return store
}

func loadKnown(t testing.TB, opts ...LoadOption) (*resultstore.Store, *History) {
	t.Helper()
	s := knownStore(t)
	h, warns, err := Load(s, testNow, opts...)
	require.NoError(t, err)
	require.Empty(t, warns)
	return s, h
}

func scenario(t testing.TB, h *History, name string) *Scenario {
	t.Helper()
	for _, sc := range h.Scenarios {
		if sc.Name == name {
			return sc
		}
	}
	require.FailNow(t, "no scenario "+name)
	return nil
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats() {
		got, err := ParseFormat(string(f))
		require.NoError(t, err)
		assert.Equal(t, f, got)
		assert.NotEmpty(t, f.Extension())
		assert.NotEqual(t, "application/octet-stream", f.ContentType())
	}
	got, err := ParseFormat(" HTML ")
	require.NoError(t, err)
	assert.Equal(t, HTML, got)
	_, err = ParseFormat("pdf")
	require.ErrorIs(t, err, ErrUnknownFormat)
	assert.Contains(t, err.Error(), "html, junit, ctrf, prometheus, markdown")
	require.ErrorIs(t, Write(&bytes.Buffer{}, Format("pdf"), &History{}, Options{}), ErrUnknownFormat)
}

// TestLoadKnownAnswers checks the verdicts and trends of a generated
// history whose answers are known.
func TestLoadKnownAnswers(t *testing.T) {
	_, h := loadKnown(t)
	var names []string
	for _, sc := range h.Scenarios {
		names = append(names, sc.Name)
		assert.Equal(t, histgen.KnownVerdicts[sc.Name], sc.Verdict, sc.Name)
	}
	assert.Equal(t, []string{"api-slower", "cache-broken", "db-stale", "queue-flaky", "web-holds"}, names, "sorted by name")

	stale := scenario(t, h, "db-stale")
	assert.False(t, stale.Summary.RegularlyChecked)
	assert.Equal(t, testNow.Add(-30*time.Hour), *stale.Summary.LastSuccess)

	flaky := scenario(t, h, "queue-flaky")
	assert.InDelta(t, 0.5, flaky.Summary.FlakyRate, 1e-9)
	assert.InDelta(t, 1.0, flaky.Summary.PassRate, 1e-9)
	require.NotNil(t, flaky.Summary.Newest)
	require.Len(t, flaky.Summary.Newest.Failing, 1)
	assert.Equal(t, "not-flaky", flaky.Summary.Newest.Failing[0].Name)

	slower := scenario(t, h, "api-slower")
	assert.True(t, slower.Summary.Slower)
	assert.Equal(t, int64(60_000), slower.Summary.BaselineMs)
	assert.Equal(t, int64(300_000), slower.BudgetMs)

	holds := scenario(t, h, "web-holds")
	assert.False(t, holds.Summary.Slower)
	assert.True(t, holds.Summary.RegularlyChecked)
	assert.Equal(t, "platform", holds.Owner)
	assert.Equal(t, "scenarios/web-holds.yaml", holds.File)
	assert.Len(t, holds.Entries, 30)
	require.Len(t, holds.Runs, DefaultRuns)
	assert.Equal(t, holds.Entries[29].RunID, holds.Runs[DefaultRuns-1].RunID, "the newest documents, oldest first")

	broken := scenario(t, h, "cache-broken")
	require.NotNil(t, broken.Summary.Newest.Error)
	assert.Contains(t, broken.Summary.Newest.Error.Message, "<script>")
}

// TestLoadEqualsDocuments checks that Load, which reads the history index,
// judges exactly as Summarize over every document does.
func TestLoadEqualsDocuments(t *testing.T) {
	s, h := loadKnown(t, WithRuns(3), WithChartRuns(5))
	for _, sc := range h.Scenarios {
		runs, _, err := s.Runs(sc.Name)
		require.NoError(t, err)
		assert.Equal(t, results.Summarize(runs, testNow, results.SummaryOptions{}), sc.Summary, sc.Name)
		require.Len(t, sc.Runs, 3)
		assert.Equal(t, runs[len(runs)-3:], sc.Runs, sc.Name)
		for _, e := range sc.Entries[max(len(sc.Entries)-results.DefaultRecent, 0):] {
			assert.NotEmpty(t, e.Steps, "the entries summaries need are complete")
		}
	}
}

func TestLoadOptions(t *testing.T) {
	s := knownStore(t)
	h, _, err := Load(s, testNow, WithScenarios("db-stale", "missing"), WithRuns(0),
		WithSummaryOptions(results.SummaryOptions{DefaultFreshness: 72 * time.Hour}))
	require.NoError(t, err)
	require.Len(t, h.Scenarios, 2)
	assert.Equal(t, "db-stale", h.Scenarios[0].Name)
	assert.Empty(t, h.Scenarios[0].Runs, "WithRuns(0) reads no document")
	assert.Equal(t, results.VerdictStale, h.Scenarios[0].Verdict, "the runs' own freshness wins over the default")
	assert.Equal(t, "missing", h.Scenarios[1].Name)
	assert.Equal(t, results.VerdictNeverRun, h.Scenarios[1].Verdict)

	empty, warns, err := Load(resultstore.Open(filepath.Join(t.TempDir(), "none")), testNow)
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Empty(t, empty.Scenarios)
}

func TestLoadReportsDamagedDocuments(t *testing.T) {
	s := knownStore(t)
	h, _, err := Load(s, testNow)
	require.NoError(t, err)
	newest := scenario(t, h, "web-holds").Runs[DefaultRuns-1]
	path := s.RunPath("web-holds", newest.RunID)
	require.NoError(t, os.WriteFile(path, []byte(`{"apiVersion":"drill/v1",`), 0o644))

	h, warns, err := Load(s, testNow)
	require.NoError(t, err)
	require.NotEmpty(t, warns)
	assert.Equal(t, path, warns[0].Path)
	for _, r := range scenario(t, h, "web-holds").Runs {
		assert.NotEqual(t, newest.RunID, r.RunID)
	}
}

func TestFromRuns(t *testing.T) {
	sc := histgen.Known(testNow)
	var runs []*results.Run
	for i := range 3 {
		runs = append(runs, histgen.Run(sc[4], 2+i)) // cache-broken's last three
	}
	runs = append(runs, histgen.Run(sc[0], 29), nil)
	running := histgen.Run(sc[0], 28)
	running.Status = results.StatusRunning
	runs = append(runs, running)
	h := FromRuns([]*results.Run{runs[3], runs[2], runs[0], runs[1], runs[4], runs[5]}, testNow)

	require.Len(t, h.Scenarios, 2)
	broken := h.Scenarios[0]
	assert.Equal(t, "cache-broken", broken.Name)
	assert.Equal(t, results.VerdictBroken, broken.Verdict)
	assert.Equal(t, []*results.Run{runs[0], runs[1], runs[2]}, broken.Runs, "oldest first")
	assert.Len(t, broken.Entries, 3)
	assert.Equal(t, "data", broken.Owner)
	web := h.Scenarios[1]
	assert.Equal(t, results.VerdictHolds, web.Verdict)
	assert.Equal(t, []*results.Run{running}, web.Running)
	assert.Equal(t, int64(300_000), web.BudgetMs)
}

func TestWriteFile(t *testing.T) {
	_, h := loadKnown(t, WithRuns(1))
	dir := t.TempDir()
	path := filepath.Join(dir, "drill.prom")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	require.NoError(t, WriteFile(path, Prometheus, h, Options{}))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "# TYPE drill_regularly_checked gauge")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "readable by node_exporter")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")

	err = WriteFile(filepath.Join(dir, "x.out"), Format("pdf"), h, Options{})
	require.ErrorIs(t, err, ErrUnknownFormat)
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "a failed write leaves nothing behind")
	require.Error(t, WriteFile(filepath.Join(dir, "missing", "x.xml"), JUnit, h, Options{}))
}
