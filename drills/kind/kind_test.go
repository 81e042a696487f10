package kind_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/wait"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func TestClusterName(t *testing.T) {
	tests := []struct {
		name, scenario, runID, want string
	}{
		{"usual", "local-web", "20261127T071500Z-3f9a1c", "drill-local-web-3f9a1c"},
		{"upper case and dots", "Kind.Web_App", "20261127T071500Z-3F9A1C", "drill-kind-web-app-3f9a1c"},
		{"long scenario shortened", strings.Repeat("a", 80), "20261127T071500Z-3f9a1c", "drill-" + strings.Repeat("a", 37) + "-3f9a1c"},
		{"cut ends on a dash", strings.Repeat("a", 36) + "-bbbb", "x-3f9a1c", "drill-" + strings.Repeat("a", 36) + "-3f9a1c"},
		{"run id without dash", "web", "abcdef", "drill-web-abcdef"},
		{"long run id suffix keeps its end", "web", "x-0123456789abcdef", "drill-web-456789abcdef"},
		{"empty scenario", "", "x-3f9a1c", "drill-3f9a1c"},
		{"empty run id", "web", "", "drill-web-run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kind.ClusterName(tt.scenario, tt.runID)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 50)
			assert.Regexp(t, dnsLabel, got)
		})
	}
}

func TestProvision_dockerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	env, _ := kubetest.NewEnv(t)
	err := kind.New("drill-test-nodocker").Provision(context.Background(), env)
	var tm *drills.ToolMissingError
	require.ErrorAs(t, err, &tm)
	assert.Equal(t, "docker", tm.Tool)
	assert.NotEmpty(t, tm.Hint)
}

func TestProvision_missingImageCreatesNothing(t *testing.T) {
	kubetest.RequireDocker(t)
	env, _ := kubetest.NewEnv(t)
	target := kind.New(kind.ClusterName("test-noimage", env.RunID), kind.WithLoadImages([]string{"drill-test-does-not-exist:never"}))
	err := target.Provision(context.Background(), env)
	var me *kind.MissingImagesError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, []string{"drill-test-does-not-exist:never"}, me.Images)
	assert.Contains(t, err.Error(), "use a loadImages step after the build step", "says how to get an image built in the drill there")
	left, err := target.Leftovers(context.Background(), env)
	require.NoError(t, err)
	assert.Empty(t, left)
}

// TestTarget_lifecycle runs one cluster through what a cycle does: scratch
// check, create with an image loaded, outputs, apply and wait of a workload
// reached through its NodePort from the host, log export, destroy, leftovers.
func TestTarget_lifecycle(t *testing.T) {
	image := kubetest.BuildHello(t)
	ctx := context.Background()

	// The node image comes from env.Vars, as the runner passes it.
	target, env, log := kubetest.Cluster(t, kind.WithLoadImages([]string{image}), kind.WithWaitReady(3*time.Minute))
	assert.Regexp(t, `kind: created cluster \S+ in [0-9.]+s`, log.String())
	assert.Regexp(t, `kind: loaded drill-test-hello:dev into 1 node\(s\) in [0-9.]+s`, log.String())
	assert.Regexp(t, `kind: 1 node\(s\) Ready in [0-9.]+s`, log.String())

	t.Run("outputs", func(t *testing.T) {
		out, err := target.Outputs(ctx, env)
		require.NoError(t, err)
		assert.Equal(t, target.Cluster(), out["CLUSTER"])
		assert.Equal(t, filepath.Join(env.RunDir, "kubeconfig-c1"), out["KUBECONFIG"])
		assert.Equal(t, out["KUBECONFIG"], target.Kubeconfig())
		assert.FileExists(t, out["KUBECONFIG"])
		ip := net.ParseIP(out["CONTROL_PLANE_IP"])
		require.NotNil(t, ip, "CONTROL_PLANE_IP %q", out["CONTROL_PLANE_IP"])
		assert.NotNil(t, ip.To4())
	})

	t.Run("preexisting names the cluster", func(t *testing.T) {
		items, err := target.Preexisting(ctx, env)
		require.NoError(t, err)
		assert.Contains(t, items, "kind cluster "+target.Cluster())
		assert.Contains(t, items, "node container "+target.Cluster()+"-control-plane")
	})

	t.Run("workload from the loaded image answers on its NodePort", func(t *testing.T) {
		dir := filepath.Join(env.Workdir, "manifests")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "hello.yaml"), []byte(kubetest.HelloManifests("hello", image, 30080)), 0o644))

		start := time.Now()
		require.NoError(t, apply.New("manifests", "web").Run(ctx, env))
		t.Logf("apply took %s", time.Since(start).Round(time.Millisecond))
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		start = time.Now()
		require.NoError(t, wait.New(nil, "").Run(wctx, env))
		t.Logf("wait took %s", time.Since(start).Round(time.Millisecond))

		out, err := target.Outputs(ctx, env)
		require.NoError(t, err)
		url := "http://" + out["CONTROL_PLANE_IP"] + ":30080/healthz"
		var body string
		require.Eventually(t, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return resp.StatusCode == http.StatusOK
		}, 30*time.Second, 200*time.Millisecond, "GET %s", url)
		assert.Equal(t, "ok\n", body)
	})

	t.Run("export logs writes files", func(t *testing.T) {
		dir := filepath.Join(env.RunDir, "cluster-logs")
		start := time.Now()
		require.NoError(t, target.ExportLogs(ctx, env, dir))
		t.Logf("export logs took %s", time.Since(start).Round(time.Millisecond))
		assert.FileExists(t, filepath.Join(dir, "kind-version.txt"))
		assert.FileExists(t, filepath.Join(dir, target.Cluster()+"-control-plane", "kubelet.log"))
	})

	t.Run("destroy leaves nothing and is idempotent", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, target.Destroy(ctx, env))
		t.Logf("delete took %s", time.Since(start).Round(time.Millisecond))
		left, err := target.Leftovers(ctx, env)
		require.NoError(t, err)
		assert.Empty(t, left)
		assert.Empty(t, target.Kubeconfig())
		require.NoError(t, target.Destroy(ctx, env))
	})
}

// TestProvision_canceledDuringCreate interrupts kind while it creates the
// cluster: Provision returns at once with the cancellation cause, and
// Destroy, though kind is still running, ends with nothing left.
func TestProvision_canceledDuringCreate(t *testing.T) {
	img := kubetest.NodeImage(t)
	kubetest.Lock(t)
	tests := []struct {
		name string
		// ready says when to cancel, given the node container's name and the step log so far.
		ready func(node string, log *kubetest.Buffer) bool
	}{
		{"when the node container appears", func(node string, _ *kubetest.Buffer) bool { return containerExists(node) }},
		{"while kubeadm starts the control plane", func(_ string, log *kubetest.Buffer) bool {
			return strings.Contains(log.String(), "Starting control-plane")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, log := kubetest.NewEnv(t)
			env.Vars[kind.NodeImageVar] = img
			target := kind.New(kind.ClusterName("test-cancel", env.RunID))
			node := target.Cluster() + "-control-plane"
			t.Cleanup(func() { // in case the test fails before its own Destroy
				_ = target.Destroy(context.Background(), env)
			})

			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			interrupt := errors.New("operator pressed ctrl-c")
			provisioned := make(chan error, 1)
			go func() { provisioned <- target.Provision(ctx, env) }()

			require.Eventually(t, func() bool { return tt.ready(node, log) }, 2*time.Minute, 50*time.Millisecond,
				"the moment to cancel never came")
			canceledAt := time.Now()
			cancel(interrupt)

			var err error
			select {
			case err = <-provisioned:
			case <-time.After(10 * time.Second):
				t.Fatal("Provision did not return within 10s of the cancellation")
			}
			t.Logf("Provision returned %s after the cancellation", time.Since(canceledAt).Round(time.Millisecond))
			require.Error(t, err)
			assert.ErrorIs(t, err, interrupt)

			dctx, dcancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer dcancel()
			start := time.Now()
			require.NoError(t, target.Destroy(dctx, env))
			t.Logf("Destroy during creation took %s", time.Since(start).Round(time.Millisecond))
			left, err := target.Leftovers(dctx, env)
			require.NoError(t, err)
			assert.Empty(t, left)
			assert.False(t, containerExists(node), "container %s still exists", node)
			assert.Empty(t, target.Kubeconfig())
		})
	}
}

// containerExists asks Docker for a container of exactly that name.
func containerExists(name string) bool {
	out, err := exec.Command("docker", "ps", "-a", "--filter", "name=^/"+name+"$", "--format", "{{.Names}}").Output()
	return err == nil && strings.TrimSpace(string(out)) == name
}
