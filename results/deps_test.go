package results_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsOnlyTheStandardLibrary keeps the promise to dashboards that
// import this package: no third-party module comes with it.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, pkg := range strings.Fields(string(out)) {
		require.True(t, strings.HasPrefix(pkg, "github.com/redeploy-drill/drill/"), "results imports %s", pkg)
		require.NotContains(t, pkg, "resultstore", "results imports the store")
	}
}
