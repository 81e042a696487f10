package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlanShowsLoadImages(t *testing.T) {
	dir := realDir(t)
	write(t, dir, map[string]string{"kind.yaml": `apiVersion: drill/v1
kind: Scenario
metadata: {name: load}
spec:
  target: {kind: {}}
  steps:
    - {name: image, run: docker build --tag hello:dev .}
    - {name: load, loadImages: [hello:dev, db:dev]}
`})
	r := drill(t, "plan", filepath.Join(dir, "kind.yaml"))
	assert.Equal(t, ExitOK, r.code)
	assert.Regexp(t, `(?m)^  4 +load +deploy +10m0s +- +loadImages: hello:dev, db:dev$`, r.stdout)
	assert.Contains(t, r.stdout, "kind cluster drill-<scenario>-<run>, node image $DRILL_KIND_NODE_IMAGE or kind's default, wait ready 3m0s\n",
		"no target loadImages: nothing said of them")
}

func TestValidateRefusesLoadImagesWithoutKind(t *testing.T) {
	dir := realDir(t)
	write(t, dir, map[string]string{"none.yaml": scenario("none", "    - {name: load, loadImages: [hello:dev]}\n")})
	r := drill(t, "validate", filepath.Join(dir, "none.yaml"))
	assert.Equal(t, ExitUsage, r.code)
	assert.Equal(t, "drill: invalid scenario:\n"+filepath.Join(dir, "none.yaml")+":7:20: spec.steps[0].loadImages: loadImages needs a kind target: it loads images into the nodes of the cycle's kind cluster\n", r.stderr)
}
