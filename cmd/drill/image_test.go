//go:build linux

package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
)

// image is built once per test binary: building it twice would install
// the same Debian packages twice (removing the first image removes its
// layers from the builder's cache).
var image struct {
	once sync.Once
	tag  string
	err  error
}

// buildImage builds drill's image with scripts/image.sh (what `make image`
// runs) under a tag of the tests' own, removed when the tests end
// (removeImage, from TestMain), and returns it.
func buildImage(t *testing.T) string {
	t.Helper()
	testtools.Need(t, "docker", "run ../shared/kind-offline/ensure")
	testtools.Need(t, "terraform", "make tools installs it")
	base := os.Getenv("DRILL_IMAGE_BASE")
	if base == "" {
		testtools.Missing(t, "set DRILL_IMAGE_BASE to a Debian bookworm image (offline: the one `docker images kind-offline/rootfs` lists)")
	}
	if err := exec.Command("docker", "image", "inspect", base).Run(); err != nil {
		testtools.Missing(t, "the base image "+base+" is not in the local Docker engine")
	}
	image.once.Do(func() {
		b := make([]byte, 3)
		if _, image.err = rand.Read(b); image.err != nil {
			return
		}
		tag := "drill-e2e:" + hex.EncodeToString(b)
		cmd := exec.Command("../../scripts/image.sh")
		cmd.Env = append(os.Environ(), "IMAGE="+tag, "VERSION=e2e")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			image.err = fmt.Errorf("scripts/image.sh: %w\n%s", err, stderr.String())
			return
		}
		image.tag = tag
		if got := strings.TrimSpace(string(out)); got != tag {
			image.err = fmt.Errorf("scripts/image.sh printed %q, not the image's name %q", got, tag)
		}
	})
	require.NoError(t, image.err)
	return image.tag
}

// removeImage removes the image buildImage built, if it did.
func removeImage() {
	if image.tag != "" {
		_ = exec.Command("docker", "image", "rm", "--force", image.tag).Run()
	}
}

// openDir is a folder the image's user (uid 10001) can write to.
func openDir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(parts...)
	require.NoError(t, os.MkdirAll(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777))
	return dir
}

// The image has what runbooks call, runs as a user that is not root, and
// drills for real as a container's PID 1: a Terraform target provisioned
// and destroyed inside it, and the orphans its steps leave adopted and
// reaped by drill's own init (none left a zombie), the daemon still seen
// by clean-teardown.
func TestImage(t *testing.T) {
	t.Parallel()
	image := buildImage(t)

	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "bash", image, "-c",
		"id -u; git --version; curl --version | head -1; ssh -V 2>&1; terraform version | head -1; kubectl version --client; drill --version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	assert.Equal(t, "10001", lines[0], "not root")
	for _, want := range []string{"git version ", "curl ", "OpenSSH_", "Terraform v", "Client Version: v", "drill e2e"} {
		assert.Contains(t, string(out), want)
	}

	root := openDir(t, t.TempDir())
	src := openDir(t, root, "s")
	markers := openDir(t, root, "m")
	openDir(t, root, "results")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "infra"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "infra", "main.tf"), []byte(`resource "terraform_data" "stack" { input = "v1" }
`), 0o644))
	scenario := strings.Replace(orphanScenario, "target: {none: {}}", "target: {terraform: {dir: infra}}", 1)
	require.NoError(t, os.WriteFile(filepath.Join(src, "orphans.yaml"), []byte(scenario), 0o644))

	run := exec.Command("docker", "run", "--rm", "-v", root+":/work", "-e", "CI=true", "-e", "MARKER_DIR=/work/m",
		image, "run", "--results", "/work/results", "/work/s/orphans.yaml")
	out, err = run.CombinedOutput()
	t.Logf("docker run %s:\n%s", image, out)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 1, ee.ExitCode(), "the daemon fails clean-teardown")
	for _, c := range []string{"1", "2"} {
		assert.Equal(t, 1, readInt(t, filepath.Join(markers, "drill-parent-"+c)), "the real drill is the child of PID 1, its init")
		assert.Equal(t, 1, readInt(t, filepath.Join(markers, "adopter-"+c)), "PID 1 adopted the orphan")
	}
	doc := readRun(t, filepath.Join(root, "results"), "orphans")
	assertOnlyTheDaemonLeft(t, doc)
	for _, c := range doc.Cycles {
		var names []string
		for _, st := range c.Steps {
			names = append(names, st.Name)
		}
		assert.Equal(t, []string{"workdir", "provision", "orphan", "reaped", "destroy"}, names)
	}
	assert.Contains(t, doc.Tools["terraform"], "1.", "terraform's version recorded inside the image")
}
