//go:build linux

package kind

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster"
)

// freezerRoot is where Docker's containers have their cgroup v1 freezer.
const freezerRoot = "/sys/fs/cgroup/freezer/docker"

// thawNodes thaws every frozen cgroup v1 freezer under the cluster's node
// containers. On cgroup v1 hosts, runc inside a node can leave a pod
// container's freezer FROZEN when it is killed mid-operation; its frozen
// process then keeps the node's init from exiting, and `docker rm -f`
// fails with "did not receive an exit event" however often it is retried.
// Thawing lets the kill through. It needs root and cgroup v1; elsewhere it
// finds nothing to do (and on other systems it is a no-op, thaw_other.go).
// It returns how many cgroups it thawed.
func thawNodes(ctx context.Context, provider *cluster.Provider, name string, log io.Writer) int {
	nodes, err := provider.ListNodes(name)
	if err != nil {
		return 0
	}
	thawed := 0
	for _, n := range nodes {
		out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.Id}}", n.String()).Output()
		if err != nil {
			continue
		}
		id := strings.TrimSpace(string(out))
		if id == "" || strings.ContainsAny(id, "/.") {
			continue
		}
		_ = filepath.WalkDir(filepath.Join(freezerRoot, id), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "freezer.state" {
				return nil
			}
			state, err := os.ReadFile(path)
			if err != nil || strings.TrimSpace(string(state)) != "FROZEN" {
				return nil
			}
			if os.WriteFile(path, []byte("THAWED"), 0) == nil {
				thawed++
				io.WriteString(log, "kind: thawed a frozen cgroup in node "+n.String()+": "+filepath.Dir(path)+"\n")
			}
			return nil
		})
	}
	return thawed
}
