package results

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SaveRun writes the same document as WriteRun (only the flush to disk
// differs), replaces the previous one whole and refuses what WriteRun refuses.
func TestSaveRunWritesTheSameDocumentAsWriteRun(t *testing.T) {
	dir := t.TempDir()
	s := Open(dir)
	r := fullRun("local-web", testStart, 1, 2, 5)
	r.Status = StatusRunning
	require.NoError(t, s.WriteRun(r))
	written, err := os.ReadFile(s.RunPath("local-web", r.RunID))
	require.NoError(t, err)
	require.NoError(t, os.Remove(s.RunPath("local-web", r.RunID)))

	require.NoError(t, s.SaveRun(r))
	saved, err := os.ReadFile(s.RunPath("local-web", r.RunID))
	require.NoError(t, err)
	assert.Equal(t, string(written), string(saved))

	r.Status = StatusPassed
	require.NoError(t, s.SaveRun(r))
	got, err := ReadRun(s.RunPath("local-web", r.RunID))
	require.NoError(t, err)
	assert.Equal(t, StatusPassed, got.Status, "the newer document replaced the older")
	entries, err := os.ReadDir(filepath.Dir(s.RunPath("local-web", r.RunID)))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{r.RunID + ".json"}, names, "no temporary file is left")

	bad := simpleRun("", testStart, 1, StatusPassed, true)
	require.ErrorIs(t, s.SaveRun(bad), ErrInvalidRun)
}
