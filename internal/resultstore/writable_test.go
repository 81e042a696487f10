package resultstore

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckWritable(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T) string // returns the folder to check
		writable bool
	}{
		{
			name:     "existing empty folder",
			setup:    func(t *testing.T) string { return t.TempDir() },
			writable: true,
		},
		{
			name:     "missing folder is created",
			setup:    func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "b") },
			writable: true,
		},
		{
			name: "path is a regular file",
			setup: func(t *testing.T) string {
				path := filepath.Join(t.TempDir(), "file")
				require.NoError(t, os.WriteFile(path, nil, 0o644))
				return path
			},
		},
		{
			name: "parent is a regular file",
			setup: func(t *testing.T) string {
				path := filepath.Join(t.TempDir(), "file")
				require.NoError(t, os.WriteFile(path, nil, 0o644))
				return filepath.Join(path, "results")
			},
		},
		{
			name: "read-only folder",
			setup: func(t *testing.T) string {
				if os.Geteuid() == 0 {
					t.Skip("permission bits do not stop root from writing")
				}
				dir := t.TempDir()
				require.NoError(t, os.Chmod(dir, 0o500))
				t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
				return dir
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			err := CheckWritable(dir)
			if tt.writable {
				require.NoError(t, err)
				entries, err := os.ReadDir(dir)
				require.NoError(t, err, "the folder exists")
				assert.Empty(t, entries, "the probe file is removed")
				return
			}
			var nw *NotWritableError
			require.ErrorAs(t, err, &nw)
			assert.Equal(t, dir, nw.Dir)
			assert.Contains(t, err.Error(), dir)
		})
	}
}

func TestCheckWritableLowSpace(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, checkWritable(dir, 1), "some space is free")
	err := checkWritable(dir, math.MaxUint64)
	var nw *NotWritableError
	require.ErrorAs(t, err, &nw)
	assert.ErrorIs(t, err, ErrLowSpace)
}
