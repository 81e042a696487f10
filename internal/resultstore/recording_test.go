package resultstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// TestRecordingIsOneRunsStore checks what the runner relies on: an
// absolute folder whatever the store was opened with, every document
// masked, each durability writing where the store's methods do.
func TestRecordingIsOneRunsStore(t *testing.T) {
	t.Chdir(t.TempDir())
	s := Open("results")
	r := fullRun("local-web", testStart, 1, 1, 2)
	r.Status = StatusRunning
	r.Error.Message = "token hunter2 refused"
	rec := s.Record("local-web", r.RunID, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("hunter2"), []byte("***")) })
	files := rec.Files()
	require.True(t, filepath.IsAbs(files.Folder()), files.Folder())
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(wd, "results", "local-web", r.RunID+".json"), files.Document())
	assert.Equal(t, "local-web/"+r.RunID+"/logs/c1-00-build.log", files.Rel(files.Log(1, 0, "build")))

	require.NoError(t, rec.Save(r, Snapshot))
	data, err := os.ReadFile(files.Document())
	require.NoError(t, err)
	assert.Contains(t, string(data), "token *** refused")
	assert.NotContains(t, string(data), "hunter2")
	require.ErrorIs(t, rec.Save(r, Final), ErrNotFinished)
	_, err = os.Stat(s.IndexPath())
	assert.ErrorIs(t, err, os.ErrNotExist, "a running document never reaches the index")

	release, err := rec.Lock(context.Background(), false)
	require.NoError(t, err)
	_, err = s.Record("local-web", "20261127T071500Z-000009", nil).Lock(context.Background(), false)
	var busy *BusyError
	require.ErrorAs(t, err, &busy, "the scenario's lock is held")
	release()

	r.Status = StatusPassed
	require.NoError(t, rec.Save(r, Final))
	idx, err := s.ReadIndex()
	require.NoError(t, err)
	require.Len(t, idx.Scenarios, 1)
	assert.Equal(t, r.RunID, idx.Scenarios[0].LatestRunID)
	assert.Equal(t, filepath.Join(wd, "results", "local-web", r.RunID), files.RunDir())
	assert.Equal(t, filepath.Join(wd, s.Ledger("local-web", r.RunID).Path()), rec.Ledger().Path())
}
