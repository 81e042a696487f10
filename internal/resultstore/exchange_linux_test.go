//go:build linux && (amd64 || arm64)

package resultstore

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// On Linux a snapshot trades places with the spare instead of creating a
// temporary file: after two, the spare holds the first and the document the
// second, whole.
func TestSnapshotsExchangeWithTheSpare(t *testing.T) {
	s := Open(t.TempDir())
	r := fullRun("local-web", testStart, 1, 2, 5)
	r.Status = StatusRunning
	path := s.RunPath("local-web", r.RunID)
	require.NoError(t, s.SaveRun(r))
	first, err := os.ReadFile(path)
	require.NoError(t, err)
	r.Warnings = []string{"second"}
	require.NoError(t, s.SaveRun(r))

	spare, err := os.ReadFile(sparePath(path))
	require.NoError(t, err, "the spare exists (exchange is not supported on this file system?)")
	assert.Equal(t, string(first), string(spare), "the spare holds the document before")
	got, err := ReadRun(path)
	require.NoError(t, err)
	assert.Equal(t, []string{"second"}, got.Warnings)
}
