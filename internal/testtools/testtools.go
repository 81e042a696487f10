// Package testtools lets tests that need an outside tool (terraform, docker,
// a kind node image, chromium, xmllint) skip with a one-line reason on a
// developer's machine, and fail instead in CI, where .ci/run provides every
// tool and sets DRILL_REQUIRE_ALL_TOOLS=1: a skip there would hide a broken
// CI setup behind a green run.
package testtools

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Missing skips the test with reason, or fails it when every tool is
// required (CI).
func Missing(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("DRILL_REQUIRE_ALL_TOOLS") == "1" {
		t.Fatalf("required tool missing in CI: %s", reason)
	}
	t.Skip(reason)
}

// Need skips (or, in CI, fails) the test when the named command is not on PATH.
func Need(t testing.TB, command, hint string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		Missing(t, command+" is not on PATH ("+hint+")")
	}
	return path
}

// Buffer is a bytes.Buffer that a test can read while a step, a script or
// kind's goroutines are still writing to it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// NodeImageVar names the kind node image tests create clusters from
// (the same variable drill's kind target reads).
const NodeImageVar = "DRILL_KIND_NODE_IMAGE"

// NeedKind returns $DRILL_KIND_NODE_IMAGE once Docker answers and the image
// is in the local engine (these machines cannot pull; see
// shared/kind-offline). Otherwise it skips, or fails in CI.
func NeedKind(t testing.TB) string {
	t.Helper()
	Need(t, "docker", "run ../shared/kind-offline/ensure")
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		Missing(t, "the Docker engine does not answer `docker info`: "+strings.TrimSpace(string(out)))
	}
	img := os.Getenv(NodeImageVar)
	if img == "" {
		Missing(t, "needs a kind node image: set "+NodeImageVar+` (eval "$(../shared/kind-offline/ensure)")`)
	}
	if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
		Missing(t, "needs the kind node image "+img+" in the local Docker engine")
	}
	return img
}

// KindLock holds a machine-wide lock until the test ends, so that the test
// processes of different packages (go test runs them in parallel) create
// one kind cluster at a time: two cores cannot run more.
func KindLock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "drill-kind-tests.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("kind test lock: %v", err)
	}
	deadline := time.Now().Add(20 * time.Minute)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("kind test lock: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("another test process held the kind test lock for 20 minutes")
		}
		<-time.After(250 * time.Millisecond) // polling the lock, not waiting for time to pass
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	})
}

// NeedCompose skips (or, in CI, fails) the test unless the Docker engine
// answers and the docker compose v2 CLI plugin is installed (`make tools`
// builds it).
func NeedCompose(t testing.TB) {
	t.Helper()
	Need(t, "docker", "apt-get install docker.io")
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		Missing(t, "the Docker engine does not answer `docker info`: "+strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		Missing(t, "the docker compose v2 plugin is not installed (`make tools` installs it): "+strings.TrimSpace(string(out)))
	}
}
