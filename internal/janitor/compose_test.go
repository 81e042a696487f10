package janitor_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/janitor"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// gc of a compose project removes, of the images named in its ledger entry,
// only those the run made (after the entry was written, which is before
// `up`), by their exact name:tag: an image of the name a service builds that
// was there before the run, and the other tags of its repository, stay. It
// runs against the real Docker engine.
func TestCollectComposeRemovesOnlyTheImagesTheRunMade(t *testing.T) {
	testtools.NeedCompose(t)
	b := make([]byte, 3)
	_, err := rand.Read(b)
	require.NoError(t, err)
	suffix := hex.EncodeToString(b)
	repo := "drill-test-gc-theirs-" + suffix
	t.Cleanup(func() {
		_ = exec.Command("docker", "image", "rm", "--force", repo+":latest", repo+":keep", repo+":run").Run()
	})
	store := resultstore.Open(t.TempDir())
	ledger := finishedRun(t, store, "20261201T000000Z-"+suffix)

	theirs := scratchImage(t, "someone-else-"+suffix, repo+":latest", repo+":keep")
	require.NoError(t, ledger.Create(resultstore.LedgerEntry{ID: "c1/target", Kind: resultstore.LedgerComposeProject, Cycle: 1,
		Project: "drill-web-" + suffix + "-c1", Images: []string{repo, repo + ":run"}}))
	ours := scratchImage(t, "the-run-"+suffix, repo+":run") // built by the run's up, unlabelled as the classic builder builds

	rep, err := (&janitor.Janitor{Store: store}).Collect(t.Context())
	require.NoError(t, err)
	require.Len(t, rep.Items, 1)
	assert.True(t, rep.Items[0].Removed, "%s", rep.Items[0].Error)
	assert.Empty(t, imageOf(t, repo+":run"), "the image the run built is removed")
	assert.NotContains(t, allImages(t), ours)
	assert.Equal(t, theirs, imageOf(t, repo+":latest"), "the image named like the service's, there before the run, stays")
	assert.Equal(t, theirs, imageOf(t, repo+":keep"), "another tag of the repository stays")
}

// scratchImage builds an empty image FROM scratch with the classic builder
// (nothing pulled), unique by its label, and returns its ID.
func scratchImage(t *testing.T, owner string, tags ...string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nLABEL owner="+owner+"\n"), 0o644))
	return testtools.BuildClassic(t, dir, tags...)
}

func imageOf(t *testing.T, ref string) string { return testtools.ImageID(t, ref) }

func allImages(t *testing.T) []string { return testtools.ImageIDs(t) }
