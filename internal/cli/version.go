package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// Version is drill's version, stamped with -ldflags "-X .../internal/cli.Version=v0.1.0".
var Version = "v0.1.0-dev"

// Without -ldflags (go install github.com/redeploy-drill/drill/cmd/drill@v1.2.3),
// the module version the go command recorded is drill's version.
func init() {
	if Version != "v0.1.0-dev" {
		return
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		Version = info.Main.Version
	}
}

func newVersionCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of drill and of the tools it found (terraform, docker, docker compose, kind and Helm libraries)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tools := toolVersions(cmd.Context(), true, true)
			if output == "json" {
				enc := json.NewEncoder(a.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(tools)
			}
			for _, k := range []string{"drill", "terraform", "docker", "compose", "kind", "helm"} {
				v := tools[k]
				if v == "" {
					v = "not found"
				}
				fmt.Fprintf(a.streams.Out, "%-10s %s\n", k, v)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text|json")
	return cmd
}

// toolVersions finds the versions recorded in every run document. Each tool
// is asked only when wanted: a stopped Docker daemon makes docker slow, and
// starting terraform costs a quarter second a run.
func toolVersions(ctx context.Context, withTerraform, withDocker bool) map[string]string {
	tools := map[string]string{"drill": Version, "kind": moduleVersion("sigs.k8s.io/kind"), "helm": moduleVersion("helm.sh/helm/v4")}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The tools are asked at once, not one after the other: the slowest
	// (docker waiting on its daemon) bounds the wait, not the sum.
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ask := func(name string, version func() string) {
		wg.Go(func() {
			v := version()
			mu.Lock()
			tools[name] = v
			mu.Unlock()
		})
	}
	if withTerraform {
		ask("terraform", func() string { return terraformVersion(ctx) })
	}
	if withDocker {
		ask("docker", func() string {
			out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Output()
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(out))
		})
		ask("compose", func() string {
			out, err := exec.CommandContext(ctx, "docker", "compose", "version", "--format", "json").Output()
			var v struct {
				Version string `json:"version"`
			}
			if err != nil || json.Unmarshal(out, &v) != nil {
				return ""
			}
			return v.Version
		})
	}
	wg.Wait()
	for k, v := range tools {
		if v == "" {
			delete(tools, k)
		}
	}
	return tools
}

// moduleVersion reads a dependency's version from the binary's build info.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return ""
}

func terraformVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "terraform", "version", "-json").Output()
	if err != nil {
		return ""
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	_ = json.Unmarshal(out, &v)
	return v.Version
}
