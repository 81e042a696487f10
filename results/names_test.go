package results_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	. "github.com/redeploy-drill/drill/results"
)

func TestCheckNames(t *testing.T) {
	for _, ok := range []string{"web", "a..b", "20261127T071500Z-3f9a1c", strings.Repeat("x", 200)} {
		assert.NoError(t, CheckScenarioName(ok), ok)
		assert.NoError(t, CheckRunID(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", ".hidden", "a/b", `a\b`, "a\x00b", strings.Repeat("x", 201), IndexFile, IndexLockFile} {
		assert.ErrorIs(t, CheckScenarioName(bad), ErrInvalidRun, "%q", bad)
	}
	assert.ErrorIs(t, CheckRunID("latest"), ErrInvalidRun)
	assert.NoError(t, CheckScenarioName("latest"), "a scenario may be called latest")
}
