package scenarios

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const scenarioYAML = "apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: x}\n"

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"b.yaml":                   scenarioYAML,
		"a.yml":                    scenarioYAML,
		"sub/c.yaml":               scenarioYAML,
		"quoted.yaml":              "kind: \"Scenario\"\napiVersion: drill/v1\n",
		"broken.yaml":              "apiVersion: drill/v1\nkind: Scenario # syntax error below\nmetadata:\n  name: x\n bad: indent\n",
		"deploy.yaml":              "apiVersion: apps/v1\nkind: Deployment\n",
		"nested-kind.yaml":         "spec:\n  kind: Scenario\n",
		"list.yaml":                "- kind: Scenario\n",
		"notes.txt":                scenarioYAML,
		"testdata/fixture.yaml":    scenarioYAML,
		".hidden/h.yaml":           scenarioYAML,
		"node_modules/pkg/n.yaml":  scenarioYAML,
		".git/g.yaml":              scenarioYAML,
		"sub/deeper/d.yaml":        scenarioYAML,
		"sub/testdata/deep/x.yaml": scenarioYAML,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	j := func(name string) string { return filepath.Join(root, name) }

	got, err := Discover([]string{root})
	require.NoError(t, err)
	assert.Equal(t, []string{j("a.yml"), j("b.yaml"), j("broken.yaml"), j("list.yaml"), j("quoted.yaml"), j("sub/c.yaml"), j("sub/deeper/d.yaml")}, got)

	// Files are taken as given, whatever they hold; repeats are dropped.
	got, err = Discover([]string{j("sub"), j("deploy.yaml"), j("sub/c.yaml")})
	require.NoError(t, err)
	assert.Equal(t, []string{j("deploy.yaml"), j("sub/c.yaml"), j("sub/deeper/d.yaml")}, got)

	// A skipped folder named as a root is searched.
	got, err = Discover([]string{j("testdata")})
	require.NoError(t, err)
	assert.Equal(t, []string{j("testdata/fixture.yaml")}, got)
}

func TestDiscoverMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Discover([]string{".", missing})
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), missing)
}

// TestShippedScenarios loads every scenario shipped in this folder: an
// example that does not validate is a broken promise to users.
func TestShippedScenarios(t *testing.T) {
	files, err := Discover([]string{"."})
	require.NoError(t, err)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f)
			require.NoError(t, err)
			assert.NoError(t, s.Validate())
		})
	}
	t.Logf("%d shipped scenarios", len(files))
}

// A file meant as a scenario but broken in its header or its syntax is
// found, so that validating the folder reports it instead of skipping it.
func TestDiscoverFindsBrokenScenarios(t *testing.T) {
	files := map[string]string{
		"kind-typo.yaml":         "apiVersion: drill/v1\nkind: Scenaro\nmetadata: {name: x}\n",
		"kind-case.yaml":         "kind: scenario\n",
		"kind-missing.yaml":      "apiVersion: drill/v1\nmetadata: {name: x}\n",
		"api-other-kind.yaml":    "apiVersion: drill/v2\nkind: Drill\n",
		"no-header.yaml":         "metadata: {name: x}\nspec:\n  steps: [{name: a, run: x}]\n",
		"broken-indented.yaml":   "metadata:\n  name: x\n kind: Scenario\n  - bad\n",
		"broken-flow.yaml":       "{apiVersion: drill/v1, kind: Scenario, metadata: {name: x}\n",
		"broken-api-only.yaml":   "apiVersion: 'drill/v1'\nmetadata:\n  name: x\n bad: indent\n",
		"k8s.yaml":               "apiVersion: apps/v1\nkind: Deployment\nspec: {template: {}}\n",
		"k8s-broken.yaml":        "apiVersion: apps/v1\nkind: Deployment\n bad: indent\n",
		"workflow.yaml":          "on: push\njobs:\n  test:\n    steps: [{run: make}]\n",
		"kind-config.yaml":       "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n",
		"compose.yml":            "services: {web: {image: x}}\n",
		"secret-kind.yaml":       "kind: Secret\n",
		"kind-far.yaml":          "kind: Scenic\n",
		"kind-mapping-api.yaml":  "apiVersion: drill/v1\nkind: {name: Scenario}\n",
		"kind-mapping-only.yaml": "kind: {name: Scenario}\nspec: {steps: []}\n",
		"k8s-list.yaml":          "- apiVersion: v1\n  kind: Service\n",
	}
	root := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
	}
	got, err := Discover([]string{root})
	require.NoError(t, err)
	var names []string
	for _, f := range got {
		names = append(names, filepath.Base(f))
	}
	assert.Equal(t, []string{"api-other-kind.yaml", "broken-api-only.yaml", "broken-flow.yaml", "broken-indented.yaml",
		"kind-case.yaml", "kind-mapping-api.yaml", "kind-missing.yaml", "kind-typo.yaml", "no-header.yaml"}, names)
}
