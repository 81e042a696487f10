package kind_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/loadimages"
)

// twoNodes is a kind config with a worker besides the control plane, so
// that "every node" is more than one.
const twoNodes = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
`

// TestLoadImagesAction loads an image built after the cluster was created
// into both nodes through the loadImages action, and checks with the
// nodes' own container runtime that it is there.
func TestLoadImagesAction(t *testing.T) {
	image := kubetest.BuildHello(t)
	cfg := filepath.Join(t.TempDir(), "kind.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(twoNodes), 0o644))
	target, env, log := kubetest.Cluster(t, kind.WithConfig(cfg))
	ctx := context.Background()

	nodes := clusterNodes(t, target.Cluster())
	require.Len(t, nodes, 2, "a control plane and a worker")
	for _, n := range nodes {
		require.NotContains(t, nodeImages(t, n), "docker.io/library/"+image, "node %s has the image before it is loaded", n)
	}

	t.Run("an image not in the local engine fails, naming it and how to build it", func(t *testing.T) {
		missing := "drill-test-never-built:dev"
		err := loadimages.New([]string{image, missing}).Run(ctx, env)
		var me *kind.MissingImagesError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []string{missing}, me.Images)
		assert.Equal(t, "image drill-test-never-built:dev is not in the local Docker engine: build in an earlier step of the cycle, from its copy of the source (run: docker build --tag NAME ...)", err.Error())
		for _, n := range nodes {
			assert.NotContains(t, nodeImages(t, n), "docker.io/library/"+image, "nothing is loaded when one image is missing")
		}
	})

	t.Run("loads into every node, with the archive in the workdir", func(t *testing.T) {
		// A missing system temporary folder proves the archive does not go there.
		t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
		start := time.Now()
		require.NoError(t, loadimages.New([]string{image, image}).Run(ctx, env))
		t.Logf("loadImages took %s", time.Since(start).Round(time.Millisecond))
		assert.Regexp(t, `kind: loaded drill-test-hello:dev into 2 node\(s\) in [0-9.]+s`, log.String())
		for _, n := range nodes {
			assert.Contains(t, nodeImages(t, n), "docker.io/library/"+image, "node %s", n)
		}
		left, err := filepath.Glob(filepath.Join(env.Workdir, "drill-images-*"))
		require.NoError(t, err)
		assert.Empty(t, left, "the archive is removed after the load")
	})
}

// TestLoadImagesDockerMissing: without docker, the action fails with a
// *drills.ToolMissingError (exit 3) before anything else.
func TestLoadImagesDockerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	env, _ := kubetest.NewEnv(t)
	env.Target = kind.New("drill-test-nodocker")
	err := loadimages.New([]string{"hello:dev"}).Run(context.Background(), env)
	var tm *drills.ToolMissingError
	require.ErrorAs(t, err, &tm)
	assert.Equal(t, "docker", tm.Tool)
}

// clusterNodes lists the node containers of a kind cluster by kind's label.
func clusterNodes(t *testing.T, cluster string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--filter", "label=io.x-k8s.kind.cluster="+cluster, "--format", "{{.Names}}").Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// nodeImages lists the image tags the node's container runtime has, from
// crictl's JSON.
func nodeImages(t *testing.T, node string) []string {
	t.Helper()
	out, err := exec.Command("docker", "exec", node, "crictl", "images", "--output", "json").Output()
	require.NoError(t, err, "crictl images in %s", node)
	var list struct {
		Images []struct {
			RepoTags []string `json:"repoTags"`
		} `json:"images"`
	}
	require.NoError(t, json.Unmarshal(out, &list))
	var tags []string
	for _, img := range list.Images {
		tags = append(tags, img.RepoTags...)
	}
	require.NotEmpty(t, tags, "a kind node has its own images")
	return tags
}
