package resultstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
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
	names := func() (visible, hidden []string) {
		entries, err := os.ReadDir(filepath.Dir(s.RunPath("local-web", r.RunID)))
		require.NoError(t, err)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				hidden = append(hidden, e.Name())
			} else {
				visible = append(visible, e.Name())
			}
		}
		return visible, hidden
	}
	visible, hidden := names()
	assert.Equal(t, []string{r.RunID + ".json"}, visible, "no temporary file is visible")
	assert.Subset(t, []string{"." + r.RunID + ".json.spare"}, hidden, "at most the snapshots' spare, hidden")
	require.NoError(t, s.WriteRun(r))
	_, hidden = names()
	assert.Empty(t, hidden, "a synced write leaves no spare")

	bad := simpleRun("", testStart, 1, StatusPassed, true)
	require.ErrorIs(t, s.SaveRun(bad), ErrInvalidRun)
}
