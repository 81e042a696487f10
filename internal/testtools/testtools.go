// Package testtools lets tests that need an outside tool (terraform, docker,
// a kind node image, chromium, xmllint) skip with a one-line reason on a
// developer's machine, and fail instead in CI, where .ci/run provides every
// tool and sets DRILL_REQUIRE_ALL_TOOLS=1: a skip there would hide a broken
// CI setup behind a green run.
package testtools

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
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
