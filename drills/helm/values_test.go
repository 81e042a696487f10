package helm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	release "helm.sh/helm/v4/pkg/release/v1"
)

func TestValuesMergeLikeTheHelmCommandLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		return p
	}
	base := write("base.yaml", "replicaCount: 1\nimage: {repository: hello, tag: v1}\nfrom: base\nlist: [a, b]\n")
	ci := write("ci.yaml", "image: {tag: v2}\nfrom: ci\n---\nsecondDocument: true\n")
	spec := Spec{
		ValuesFiles: []string{base, ci},
		Values:      map[string]any{"from": "inline", "replicaCount": int64(2), "extra": map[string]any{"a": 1}},
		Set:         map[string]string{"from": "set", "image.tag": "v3", "list[1]": "c", "count": "3", "on": "true", "csv": "x\\,y"},
	}
	got, err := spec.values()
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"replicaCount":   float64(2), // inline values are read as a values file is: through JSON
		"image":          map[string]any{"repository": "hello", "tag": "v3"},
		"from":           "set", // files in order, then values, then set
		"list":           []any{"a", "c"},
		"secondDocument": true,
		"extra":          map[string]any{"a": float64(1)},
		"count":          int64(3), // typed as --set types it
		"on":             true,
		"csv":            "x,y",
	}, got)
	assert.Equal(t, int64(2), spec.Values["replicaCount"], "the scenario's own values are not changed")

	_, err = Spec{ValuesFiles: []string{filepath.Join(dir, "missing.yaml")}}.values()
	assert.ErrorContains(t, err, "missing.yaml")
	_, err = Spec{Set: map[string]string{"a[x]": "1"}}.values()
	assert.ErrorContains(t, err, "set a[x]")
}

func TestCompareSaysWhatARenderingChanges(t *testing.T) {
	manifest := func(token, extra string) string {
		return "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {token: " + token + ", stable: x}\n" +
			"---\n# Source: web/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: other}\nspec: {replicas: 1}\n" + extra
	}
	cur := &release.Release{Name: "web", Namespace: "apps", Manifest: manifest("a", ""),
		Config: map[string]any{"replicas": float64(1), "tag": "v1"},
		Hooks:  []*release.Hook{{Name: "migrate", Manifest: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate-1}\n"}}}
	same := &release.Release{Name: "web", Namespace: "apps", Manifest: manifest("a", ""),
		Config: map[string]any{"replicas": int64(1), "tag": "v1"}, Hooks: cur.Hooks}
	changes, err := compare(cur, same)
	require.NoError(t, err)
	assert.Empty(t, changes, "int64 and float64 of the same number are the same value")

	next := &release.Release{Name: "web", Namespace: "apps",
		Manifest: manifest("b", "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n"),
		Config:   map[string]any{"replicas": int64(1), "tag": "v2"},
		Hooks:    []*release.Hook{{Name: "migrate", Manifest: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate-2}\n"}}}
	changes, err = compare(cur, next)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"release web: configmap/web (data.token)",
		"release web: service/web (would be created)",
		"release web: hook job.batch/migrate-1 (would be deleted)",
		"release web: hook job.batch/migrate-2 (would be created)",
		"release web: values (tag)",
	}, changes)
}
