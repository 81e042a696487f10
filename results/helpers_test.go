package results_test

import "github.com/redeploy-drill/drill/internal/resultstest"

// The shared fixtures, under the names these tests have always used.
var (
	testRunID  = resultstest.RunID
	simpleRun  = resultstest.SimpleRun
	summaryNow = resultstest.Now
)

func ptr[T any](v T) *T { return &v }
