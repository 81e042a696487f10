package resultstore

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// mask stands in for a drills.Redactor: it masks one secret, raw and in
// the form encoding/json escapes it to.
func mask(secret string) func([]byte) []byte {
	escaped, _ := json.Marshal(secret)
	return func(b []byte) []byte {
		b = bytes.ReplaceAll(b, escaped[1:len(escaped)-1], []byte("***"))
		return bytes.ReplaceAll(b, []byte(secret), []byte("***"))
	}
}

// A store with redaction masks a secret in any field of every document it
// writes, and derives latest.json, the index and the history from the
// masked document.
func TestWithRedactionMasksEveryDocument(t *testing.T) {
	const secret = `pa"ss\word<>`
	s := Open(t.TempDir()).WithRedaction(mask(secret))
	r := simpleRun("web", testStart, 1, StatusRunning, false)
	r.Warnings = []string{"warning about " + secret}
	require.NoError(t, s.SaveRun(r))
	r.Status = StatusFailed
	r.Error = &Error{Reason: ReasonStepFailed, Message: "login " + secret + " refused"}
	r.Guideline = &Guideline{Checks: []Check{{Name: "clean-teardown", Detail: "left: " + secret}}}
	require.NoError(t, s.FinishRun(r))

	assert.Equal(t, "login *** refused", r.Error.Message, "the caller's document is the masked one")
	require.NoError(t, filepath.WalkDir(s.Dir, func(path string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.NotContains(t, string(data), "word<>", path)
		assert.NotContains(t, string(data), `word\u003c`, path)
		return nil
	}))
	h, _, err := s.History("web", HistoryOptions{})
	require.NoError(t, err)
	require.Len(t, h.Entries, 1)
}

// A mask that would break the JSON (a secret spanning a quote and what
// follows it) falls back to masking each string, so the document stays
// readable.
func TestRedactJSONStaysValid(t *testing.T) {
	data := []byte(`{"a": "x", "b": "y"}`)
	out, err := redactJSON(data, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`x", "b`), []byte("***")) })
	require.NoError(t, err)
	assert.True(t, json.Valid(out), "%s", out)
	assert.Contains(t, string(out), `"a": "x"`, "strings that hold no secret are kept")

	out, err = redactJSON(data, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("y"), []byte("***")) })
	require.NoError(t, err)
	assert.Equal(t, `{"a": "x", "b": "***"}`, strings.TrimSpace(string(out)))
}
