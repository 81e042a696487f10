package resultstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// mixedHistory finishes n runs of scenario in a scrambled order (drills
// that start later may finish first): full documents with steps, errors,
// flaky retries and failing checks, alternating statuses and durations.
func mixedHistory(t *testing.T, s *Store, scenario string, n int) {
	t.Helper()
	statuses := []Status{StatusPassed, StatusPassed, StatusFailed, StatusPassed, StatusTimedOut, StatusCanceled}
	for k := range n {
		i := (k*7 + 3) % n // a permutation of 0..n-1 when gcd(7, n) == 1
		r := fullRun(scenario, testStart.Add(time.Duration(i)*time.Hour), i, 1+i%3, 4+i%5)
		r.Status = statuses[i%len(statuses)]
		r.DurationMs = int64(1000 + 37*i)
		r.Guideline.Holds = i%4 != 0
		if r.Status == StatusPassed {
			r.Error = nil
		}
		require.NoError(t, s.FinishRun(r))
	}
}

// documentEntries is what the history must say: the entries of the finished
// documents, oldest first.
func documentEntries(t *testing.T, s *Store, scenario string) ([]HistoryEntry, []*Run) {
	t.Helper()
	runs, warns, err := s.Runs(scenario)
	require.NoError(t, err)
	var entries []HistoryEntry
	var running []*Run
	for _, r := range runs {
		if r.Status.Finished() {
			entries = append(entries, EntryOf(r))
		} else {
			running = append(running, r)
		}
	}
	_ = warns
	return entries, running
}

// assertHistoryClean checks that the history file agrees with the
// documents: reading it finds nothing to repair.
func assertHistoryClean(t *testing.T, s *Store, scenario string) {
	t.Helper()
	l, err := s.loadHistory(scenario, 1)
	defer l.close()
	require.NoError(t, err)
	assert.False(t, l.dirty, "history.jsonl of %s needs no repair", scenario)
}

func TestHistoryMatchesDocuments(t *testing.T) {
	s := Open(t.TempDir())
	mixedHistory(t, s, "local-web", 30)
	require.NoError(t, s.WriteRun(simpleRun("local-web", testStart.Add(100*time.Hour), 100, StatusRunning, false)))

	h, warns, err := s.History("local-web", HistoryOptions{Detail: 1000})
	require.NoError(t, err)
	assert.Empty(t, warns)
	want, running := documentEntries(t, s, "local-web")
	require.Len(t, want, 30)
	assert.Equal(t, want, h.Entries)
	assert.Equal(t, running, h.Running)
	assert.Equal(t, "platform", h.Owner())
	assertHistoryClean(t, s, "local-web")

	runs, _, err := s.Runs("local-web")
	require.NoError(t, err)
	for _, opts := range []SummaryOptions{{}, {Recent: 5}, {Recent: 1000}, {Recent: 3, SlowerFactor: 1.01}} {
		assert.Equal(t, Summarize(runs, summaryNow, opts), h.Summarize(summaryNow, opts), "%+v", opts)
	}
}

// TestHistoryDetail checks that only the newest Detail entries carry their
// steps and error, and that the summary still equals the documents' one.
func TestHistoryDetail(t *testing.T) {
	s := Open(t.TempDir())
	mixedHistory(t, s, "local-web", 25)
	h, _, err := s.History("local-web", HistoryOptions{Detail: 4})
	require.NoError(t, err)
	want, _ := documentEntries(t, s, "local-web")
	require.Len(t, h.Entries, 25)
	for i, e := range h.Entries {
		if i >= 21 {
			assert.Equal(t, want[i], e, "entry %d is complete", i)
			continue
		}
		w := want[i]
		head := HistoryEntry{RunID: w.RunID, Scenario: w.Scenario, Status: w.Status, Holds: w.Holds, StartedAt: w.StartedAt, DurationMs: w.DurationMs, FreshnessMs: w.FreshnessMs}
		assert.Equal(t, head, e, "entry %d has its head only", i)
	}
	runs, _, err := s.Runs("local-web")
	require.NoError(t, err)
	assert.Equal(t, Summarize(runs, summaryNow, SummaryOptions{Recent: 4}), h.Summarize(summaryNow, SummaryOptions{Recent: 4}))
}

// TestHistoryRepairs damages the history file (or the folder) in the ways a
// crash, a person or a second machine can, and checks that History answers
// what the documents say and leaves a history that needs no repair.
func TestHistoryRepairs(t *testing.T) {
	const scenario = "local-web"
	tests := []struct {
		name   string
		damage func(t *testing.T, s *Store)
		warns  int
	}{
		{"missing file", func(t *testing.T, s *Store) {
			require.NoError(t, os.Remove(s.HistoryPath(scenario)))
		}, 0},
		{"wrong header", func(t *testing.T, s *Store) {
			replaceInFile(t, s.HistoryPath(scenario), historyHeader, `{"apiVersion":"drill/v9","kind":"DrillHistory"}`)
		}, 0},
		{"damaged line", func(t *testing.T, s *Store) {
			replaceInFile(t, s.HistoryPath(scenario), `{"runId":"`, `{"runId":`)
		}, 0},
		{"torn last line", func(t *testing.T, s *Store) {
			path := s.HistoryPath(scenario)
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, st.Size()-40))
		}, 0},
		{"torn line then an append", func(t *testing.T, s *Store) {
			path := s.HistoryPath(scenario)
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, st.Size()-40))
			r := simpleRun(scenario, testStart.Add(200*time.Hour), 200, StatusPassed, true)
			require.NoError(t, s.FinishRun(r))
		}, 0},
		{"line appended twice", func(t *testing.T, s *Store) {
			runs, _, err := s.Runs(scenario)
			require.NoError(t, err)
			require.NoError(t, s.FinishRun(runs[3]))
		}, 0},
		{"document deleted", func(t *testing.T, s *Store) {
			runs, _, err := s.Runs(scenario)
			require.NoError(t, err)
			require.NoError(t, os.Remove(s.RunPath(scenario, runs[5].RunID)))
		}, 0},
		{"document copied in", func(t *testing.T, s *Store) {
			r := fullRun(scenario, testStart.Add(-time.Hour), 999, 2, 3)
			require.NoError(t, s.WriteRun(r))
		}, 0},
		{"damaged document", func(t *testing.T, s *Store) {
			runs, _, err := s.Runs(scenario)
			require.NoError(t, err)
			require.NoError(t, os.Remove(s.HistoryPath(scenario)))
			require.NoError(t, os.WriteFile(s.RunPath(scenario, runs[2].RunID), []byte(`{"apiVersion":"drill/v1","kind":"DrillRun","runId":`), 0o644))
		}, 1},
		{"everything deleted but the history", func(t *testing.T, s *Store) {
			runs, _, err := s.Runs(scenario)
			require.NoError(t, err)
			for _, r := range runs {
				require.NoError(t, os.Remove(s.RunPath(scenario, r.RunID)))
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Open(t.TempDir())
			mixedHistory(t, s, scenario, 11)
			tt.damage(t, s)

			h, warns, err := s.History(scenario, HistoryOptions{Detail: 1000})
			require.NoError(t, err)
			assert.Len(t, warns, tt.warns)
			want, _ := documentEntries(t, s, scenario)
			assert.Equal(t, want, h.Entries)
			assertHistoryClean(t, s, scenario)

			// The repaired file gives the same answer on its own.
			again, _, err := s.History(scenario, HistoryOptions{Detail: 1000})
			require.NoError(t, err)
			assert.Equal(t, h, again)
		})
	}
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644))
}

// TestHistoryEqualsRebuild checks that the file FinishRun appends to holds
// the same entries as the one RebuildIndex writes from the documents.
func TestHistoryEqualsRebuild(t *testing.T) {
	s := Open(t.TempDir())
	mixedHistory(t, s, "alpha", 13)
	mixedHistory(t, s, "beta", 7)
	appended := map[string][]HistoryEntry{}
	for _, name := range []string{"alpha", "beta"} {
		h, _, err := s.History(name, HistoryOptions{Detail: 1000})
		require.NoError(t, err)
		appended[name] = h.Entries
	}
	_, warns, err := s.RebuildIndex()
	require.NoError(t, err)
	assert.Empty(t, warns)
	for _, name := range []string{"alpha", "beta"} {
		assertHistoryClean(t, s, name)
		h, _, err := s.History(name, HistoryOptions{Detail: 1000})
		require.NoError(t, err)
		assert.Equal(t, appended[name], h.Entries, name)
		data, err := os.ReadFile(s.HistoryPath(name))
		require.NoError(t, err)
		assert.Equal(t, len(appended[name])+1, bytes.Count(data, []byte("\n")), "one line per run after the header")
	}
}

func TestHistories(t *testing.T) {
	s := Open(t.TempDir())
	hs, warns, err := s.Histories(HistoryOptions{})
	require.NoError(t, err, "a results folder that does not exist yet")
	assert.Empty(t, hs)
	assert.Empty(t, warns)

	mixedHistory(t, s, "beta", 3)
	mixedHistory(t, s, "alpha", 2)
	require.NoError(t, os.MkdirAll(filepath.Join(s.Dir, "not-a-scenario"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(s.Dir, ".hidden"), 0o755))
	hs, warns, err = s.Histories(HistoryOptions{})
	require.NoError(t, err)
	assert.Empty(t, warns)
	var names []string
	for _, h := range hs {
		names = append(names, fmt.Sprintf("%s:%d", h.Scenario, len(h.Entries)))
	}
	assert.Equal(t, []string{"alpha:2", "beta:3"}, names)

	_, _, err = s.History("../etc", HistoryOptions{})
	assert.ErrorIs(t, err, ErrInvalidRun)
}

// TestHistoryConcurrentFinishAndRead finishes runs from several goroutines
// while others read (and so may repair) the history, the way drill serve
// reads while drills finish. Afterwards the file must match the documents
// exactly: no lost and no doubled lines.
func TestHistoryConcurrentFinishAndRead(t *testing.T) {
	s := Open(t.TempDir())
	const writers, runsEach = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*runsEach+1000)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for j := range runsEach {
				n := w*runsEach + j
				r := simpleRun("local-web", testStart.Add(time.Duration(n)*time.Minute), n, StatusPassed, true)
				errs <- s.FinishRun(r)
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, _, err := s.History("local-web", HistoryOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	h, _, err := s.History("local-web", HistoryOptions{Detail: 1000})
	require.NoError(t, err)
	want, _ := documentEntries(t, s, "local-web")
	require.Len(t, want, writers*runsEach)
	assert.Equal(t, want, h.Entries)
	assertHistoryClean(t, s, "local-web")
	assertNoTempFiles(t, s.Dir)
}

func TestDecodeEntryHead(t *testing.T) {
	full := EntryOf(fullRun("local-web", testStart, 1, 2, 4))
	head := HistoryEntry{RunID: full.RunID, Status: full.Status, Holds: full.Holds, StartedAt: full.StartedAt, DurationMs: full.DurationMs, FreshnessMs: full.FreshnessMs}
	line, err := json.Marshal(&full)
	require.NoError(t, err)
	minimal, err := json.Marshal(&head)
	require.NoError(t, err)

	tests := []struct {
		name string
		line string
		want HistoryEntry
	}{
		{"written by drill", string(line), head},
		{"only the head", string(minimal), head},
		{"fields in another order: decoded whole", `{"status":"failed","runId":"r1","holds":false,"startedAt":"2026-11-27T07:15:00Z","durationMs":5,"freshnessMs":0,"owner":"x"}`,
			HistoryEntry{RunID: "r1", Status: StatusFailed, StartedAt: time.Date(2026, 11, 27, 7, 15, 0, 0, time.UTC), DurationMs: 5, Owner: "x"}},
		{"escaped run ID: decoded whole", `{"runId":"r\u0031","status":"passed","holds":true,"startedAt":"2026-11-27T07:15:00Z","durationMs":5,"freshnessMs":7}`,
			HistoryEntry{RunID: "r1", Status: StatusPassed, Holds: true, StartedAt: time.Date(2026, 11, 27, 7, 15, 0, 0, time.UTC), DurationMs: 5, FreshnessMs: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got HistoryEntry
			require.NoError(t, decodeEntryHead([]byte(tt.line), &got))
			assert.Equal(t, tt.want.StartedAt.UTC(), got.StartedAt.UTC())
			got.StartedAt, tt.want.StartedAt = time.Time{}, time.Time{}
			assert.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []string{``, `{`, `{"runId":"r1","status":"passed"`, `[1]`, `{"runId":"r1","status":"passed","holds":maybe}`} {
		var got HistoryEntry
		assert.Error(t, decodeEntryHead([]byte(bad), &got), bad)
	}
}
