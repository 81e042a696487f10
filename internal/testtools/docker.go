package testtools

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// BuildClassic builds the image of the Dockerfile in dir with the classic
// builder (nothing pulled, no BuildKit), tagged with every tag, and returns
// its ID.
func BuildClassic(t testing.TB, dir string, tags ...string) string {
	t.Helper()
	args := []string{"build", "-q"}
	for _, tag := range tags {
		args = append(args, "-t", tag)
	}
	build := exec.Command("docker", append(args, dir)...)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", dir, err, out)
	}
	return ImageID(t, tags[0])
}

// ImageID is the ID an image name:tag names now, or "" when it names none.
func ImageID(t testing.TB, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "ls", "--no-trunc", "-q", "--filter", "reference="+ref).Output()
	if err != nil {
		t.Fatalf("docker image ls %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

// ImageIDs lists the IDs of every image of the engine.
func ImageIDs(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("docker", "image", "ls", "--no-trunc", "-q").Output()
	if err != nil {
		t.Fatalf("docker image ls: %v", err)
	}
	return strings.Fields(string(out))
}
