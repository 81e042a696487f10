package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/cluster"
)

var (
	_ drills.Target             = (*cluster.Target)(nil)
	_ drills.Outputter          = (*cluster.Target)(nil)
	_ drills.Sensitive          = (*cluster.Target)(nil)
	_ drills.LeftoverChecker    = (*cluster.Target)(nil)
	_ drills.ScratchChecker     = (*cluster.Target)(nil)
	_ drills.Applier            = (*cluster.Target)(nil)
	_ drills.NamespaceDefaulter = (*cluster.Target)(nil)
)

func TestNamespaceName(t *testing.T) {
	tests := []struct {
		scenario, runID string
		cycle           int
		want            string
	}{
		{"web", "20261127T071500Z-3f9a1c", 1, "drill-web-3f9a1c-c1"},
		{"cluster-web", "20261127T071500Z-3f9a1c", 12, "drill-cluster-web-3f9a1c-c12"},
		{strings.Repeat("very-long-scenario-name-", 5), "20261127T071500Z-3f9a1c", 2, "drill-very-long-scenario-name-very-long-scenario-name-3f9a1c-c2"},
		{"Odd_Name", "run", 3, "drill-odd-name-run-c3"},
		{"", "20261127T071500Z-3f9a1c", 1, "drill-3f9a1c-c1"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := cluster.NamespaceName(tt.scenario, tt.runID, tt.cycle)
			assert.Equal(t, tt.want, got)
			assert.Empty(t, validation.IsDNS1123Label(got), "a namespace name")
		})
	}
}

// kubeconfig writes a kubeconfig with the contexts given (name → server)
// and returns its path; current is its current-context.
func kubeconfig(t *testing.T, current string, contexts map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\n")
	fmt.Fprintf(&b, "current-context: %q\n", current)
	b.WriteString("clusters:\n")
	for name, server := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  cluster: {server: %q}\n", name, server)
	}
	b.WriteString("users:\n")
	for name := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  user: {token: token-of-%s}\n", name, name)
	}
	b.WriteString("contexts:\n")
	for name := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  context: {cluster: %s, user: %s}\n", name, name, name)
	}
	path := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// closedPort returns a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	// Port 1: privileged, bound by no test (a port found free and closed
	// again could be taken meanwhile by a kind API server).
	return "127.0.0.1:1"
}

func env(t *testing.T) *drills.Env {
	return &drills.Env{RunID: "20261127T000000Z-abcdef", Scenario: "web", Cycle: 1, RunDir: t.TempDir(), Vars: map[string]string{}}
}

// Whatever makes the cluster unusable is a *drills.ClusterUnreachableError
// (exit 3) that says what, found before anything is created, and then
// there is nothing to destroy and nothing left.
func TestUnusableClusterIsReportedBeforeAnythingIsMade(t *testing.T) {
	dead := "https://" + closedPort(t)
	home := t.TempDir()
	noEnv := func(name string) (string, bool) {
		if name == "HOME" {
			return home, true
		}
		return "", false
	}
	withKubeconfigVar := func(v string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name == "KUBECONFIG" {
				return v, true
			}
			return noEnv(name)
		}
	}
	good := kubeconfig(t, "one", map[string]string{"one": dead, "two": dead})
	tests := []struct {
		name    string
		opts    []cluster.Option
		wantErr []string
	}{
		{"kubeconfig does not exist", []cluster.Option{cluster.WithKubeconfig("/nonexistent/kubeconfig"), cluster.WithLookupEnv(noEnv)},
			[]string{"kubeconfig /nonexistent/kubeconfig does not exist"}},
		{"no file of $KUBECONFIG exists", []cluster.Option{cluster.WithLookupEnv(withKubeconfigVar("/nonexistent/a:/nonexistent/b"))},
			[]string{"none of the files $KUBECONFIG names exists: /nonexistent/a, /nonexistent/b"}},
		{"no ~/.kube/config", []cluster.Option{cluster.WithLookupEnv(noEnv)},
			[]string{filepath.Join(home, ".kube", "config") + " does not exist"}},
		{"unknown context", []cluster.Option{cluster.WithKubeconfig(good), cluster.WithContext("three")},
			[]string{`context "three" is not in the kubeconfig (it has one, two)`}},
		{"no current context", []cluster.Option{cluster.WithKubeconfig(kubeconfig(t, "", map[string]string{"one": dead}))},
			[]string{"the kubeconfig sets no current-context (it has one)", "target.cluster.context"}},
		{"API server does not answer", []cluster.Option{cluster.WithLookupEnv(withKubeconfigVar("/nonexistent/a:" + good)), cluster.WithContext("two")},
			[]string{"context two, server " + dead, "the API server does not answer GET /version", "kubectl --context two version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env(t)
			target := cluster.New("drill-web-abcdef-c1", tt.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err := target.Preexisting(ctx, e)
			var cu *drills.ClusterUnreachableError
			require.ErrorAs(t, err, &cu)
			for _, w := range tt.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			assert.Less(t, time.Since(start), 15*time.Second, "an unreachable server is found within the /version timeout")

			require.ErrorAs(t, target.Provision(ctx, e), &cu)
			assert.Empty(t, target.Kubeconfig())
			assert.NoFileExists(t, filepath.Join(e.RunDir, "kubeconfig-c1"))
			assert.NoError(t, target.Destroy(ctx, e), "nothing was made")
			left, err := target.Leftovers(ctx, e)
			assert.NoError(t, err)
			assert.Empty(t, left)
		})
	}
}

// drill gc builds a fresh target from the ledger: it has not checked the
// cluster in this process, so its Destroy must reach it and fails when it
// cannot, keeping the ledger entry.
func TestDestroyOfAFreshTargetNeedsTheCluster(t *testing.T) {
	good := kubeconfig(t, "one", map[string]string{"one": "https://" + closedPort(t)})
	err := cluster.New("drill-web-abcdef-c1", cluster.WithKubeconfig(good)).Destroy(context.Background(), env(t))
	var cu *drills.ClusterUnreachableError
	require.ErrorAs(t, err, &cu)
	assert.Contains(t, err.Error(), "delete namespace drill-web-abcdef-c1")
}

// Resolve reads the kubeconfig without the cluster: the files and context
// recorded in the ledger before the namespace is made, the credentials
// redacted from then on, and the outputs.
func TestResolve(t *testing.T) {
	a := kubeconfig(t, "one", map[string]string{"one": "https://one.invalid"})
	b := kubeconfig(t, "two", map[string]string{"two": "https://two.invalid"})
	e := env(t)
	target := cluster.New("drill-web-abcdef-c1", cluster.WithKubeconfig(a+string(filepath.ListSeparator)+b), cluster.WithContext("two"))
	assert.Empty(t, target.Context(), "nothing read yet")
	require.NoError(t, target.Resolve())
	assert.Equal(t, "two", target.Context())
	assert.Equal(t, []string{a, b}, target.KubeconfigFiles())
	assert.Equal(t, []string{"token-of-two"}, target.SensitiveOutputs(), "only the context's own credentials")
	outs, err := target.Outputs(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"KUBECONFIG": filepath.Join(e.RunDir, "kubeconfig-c1"),
		"NAMESPACE":  "drill-web-abcdef-c1",
		"CONTEXT":    "two",
	}, outs)
	assert.Equal(t, "drill-web-abcdef-c1", target.DefaultNamespace())
	assert.Contains(t, target.ScratchScope(), "cluster-scoped objects outlive cycles")
}
