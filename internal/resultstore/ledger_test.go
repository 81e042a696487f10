package resultstore

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ids(entries []LedgerEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.ID)
	}
	return out
}

func TestLedgerOutstandingNewestFirst(t *testing.T) {
	s := Open(t.TempDir())
	l := s.Ledger("web", "20261127T071500Z-3f9a1c")
	require.NoError(t, l.Create(LedgerEntry{ID: "processes", Kind: LedgerProcesses}))
	require.NoError(t, l.Create(LedgerEntry{ID: "c1/workdir", Kind: LedgerWorkdir, Path: "/tmp/w1"}))
	require.NoError(t, l.Create(LedgerEntry{ID: "c1/target", Kind: LedgerTerraform}))
	require.NoError(t, l.Release("c1/target"))

	left, err := ReadLedger(l.Path())
	require.NoError(t, err)
	assert.Equal(t, []string{"c1/workdir", "processes"}, ids(left))
}

// A results folder removed during a run takes the ledger with it; the next
// entry, or Restore, must write back every entry still outstanding, or a
// kill -9 after the removal would hide them from drill gc.
func TestLedgerRemovedMidRunIsWrittenAgainInFull(t *testing.T) {
	for name, next := range map[string]func(l *Ledger) error{
		"next create":  func(l *Ledger) error { return l.Create(LedgerEntry{ID: "c2/workdir", Kind: LedgerWorkdir}) },
		"next release": func(l *Ledger) error { return l.Release("c1/workdir") },
		"restore":      func(l *Ledger) error { return l.Restore() },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := Open(dir)
			l := s.Ledger("web", "20261127T071500Z-3f9a1c")
			require.NoError(t, l.Create(LedgerEntry{ID: "processes", Kind: LedgerProcesses}))
			require.NoError(t, l.Create(LedgerEntry{ID: "c1/workdir", Kind: LedgerWorkdir}))
			require.NoError(t, l.Create(LedgerEntry{ID: "c1/target", Kind: LedgerKindCluster, Cluster: "drill-web-3f9a1c"}))
			require.NoError(t, l.Release("c1/target"))
			require.NoError(t, os.RemoveAll(dir))

			require.NoError(t, next(l))
			left, err := ReadLedger(l.Path())
			require.NoError(t, err)
			want := map[string][]string{
				"next create":  {"c2/workdir", "c1/workdir", "processes"},
				"next release": {"processes"},
				"restore":      {"c1/workdir", "processes"},
			}[name]
			assert.Equal(t, want, ids(left))
		})
	}
}

func TestLedgerRestoreLeavesAnExistingFileAlone(t *testing.T) {
	s := Open(t.TempDir())
	l := s.Ledger("web", "20261127T071500Z-3f9a1c")
	require.NoError(t, l.Create(LedgerEntry{ID: "processes", Kind: LedgerProcesses}))
	before, err := os.ReadFile(l.Path())
	require.NoError(t, err)
	require.NoError(t, l.Restore())
	after, err := os.ReadFile(l.Path())
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
}
