package wait_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/internal/kube"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/wait"
)

func TestRun_noCluster(t *testing.T) {
	env, _ := kubetest.NewEnv(t)
	err := wait.New([]string{"deployment/hello"}, "").Run(context.Background(), env)
	require.ErrorIs(t, err, kube.ErrNoCluster)
}

// timeoutCtx gives a step its timeout the way the runner does.
func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), d, &drills.TimeoutError{What: "step wait", Timeout: d})
	t.Cleanup(cancel)
	return ctx
}

// TestWait runs every wait case against one kind cluster.
func TestWait(t *testing.T) {
	image := kubetest.BuildHello(t)
	_, env, log := kubetest.Cluster(t, kind.WithLoadImages([]string{image}))
	write := func(t *testing.T, name, doc string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(env.Workdir, name), []byte(doc), 0o644))
	}
	write(t, "hello.yaml", kubetest.HelloManifests("hello", image, 30081))
	require.NoError(t, apply.New("hello.yaml", "drill-wait").Run(context.Background(), env))

	t.Run("nothing named waits for what was applied", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, wait.New(nil, "").Run(timeoutCtx(t, 2*time.Minute), env))
		t.Logf("rollout of hello took %s", time.Since(start).Round(time.Millisecond))
		assert.Contains(t, log.String(), "deployment.apps/hello -n drill-wait: Current:")
		assert.Contains(t, log.String(), "3 resource(s) ready in") // namespace, deployment, service
	})

	t.Run("every way of writing the type", func(t *testing.T) {
		for _, r := range []string{"deployment/hello", "Deployment/hello", "deploy/hello", "deployments/hello",
			"deployments.apps/hello", "service/hello", "svc/hello", "Service/hello"} {
			t.Run(r, func(t *testing.T) {
				assert.NoError(t, wait.New([]string{r}, "drill-wait").Run(timeoutCtx(t, 30*time.Second), env))
			})
		}
	})

	t.Run("invalid names fail at once", func(t *testing.T) {
		tests := []struct{ resource, wantErr string }{
			{"hello", "want type/name"},
			{"deployment/", "want type/name"},
			{"gadget/hello", "the cluster has no such type"},
		}
		for _, tt := range tests {
			t.Run(tt.resource, func(t *testing.T) {
				err := wait.New([]string{tt.resource}, "drill-wait").Run(timeoutCtx(t, 30*time.Second), env)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			})
		}
	})

	t.Run("image that cannot be pulled times out with evidence naming it", func(t *testing.T) {
		tests := []struct {
			name, image, policy string
			wantReason          string
		}{
			{"never pulled", "drill-test-missing:none", "Never", `ErrImageNeverPull`},
			{"registry unreachable", "registry.invalid/drill/missing:1", "IfNotPresent", `ErrImagePull|ImagePullBackOff`},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel() // both wait for their timeout; env is copied, the log is safe
				env := *env
				env.Applied = nil
				name := fmt.Sprintf("broken-%d", i)
				file := name + ".yaml"
				write(t, file, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: app, image: %[2]q, imagePullPolicy: %[3]s}]
`, name, tt.image, tt.policy))
				require.NoError(t, apply.New(file, "drill-wait").Run(context.Background(), &env))

				const timeout = 20 * time.Second
				start := time.Now()
				err := wait.New([]string{"deployment/" + name}, "drill-wait").Run(timeoutCtx(t, timeout), &env)
				elapsed := time.Since(start)
				t.Logf("failed after %s", elapsed.Round(time.Millisecond))
				assert.Less(t, elapsed, timeout+25*time.Second, "the wait must end at its timeout, plus evidence")

				var te *drills.TimeoutError
				require.ErrorAs(t, err, &te)
				var ev *drills.EvidenceError
				require.ErrorAs(t, err, &ev)
				assert.Contains(t, err.Error(), "deployment.apps/"+name+" -n drill-wait is InProgress")
				t.Logf("evidence:\n%s", ev.Evidence)
				assert.Contains(t, ev.Evidence, "== status ==\ndeployment.apps/"+name+" -n drill-wait: InProgress")
				assert.Contains(t, ev.Evidence, "== pods of deployment.apps/"+name)
				assert.Regexp(t, `container app \(image `+regexp.QuoteMeta(tt.image)+`\): waiting: (`+tt.wantReason+`)`, ev.Evidence)
				assert.Contains(t, ev.Evidence, "== events of deployment.apps/"+name)
				assert.Regexp(t, `Warning \S+ pod/`+name+`-\S+: .*`+regexp.QuoteMeta(tt.image), ev.Evidence)
			})
		}
	})

	t.Run("a job is ready when it is complete, not when it runs", func(t *testing.T) {
		write(t, "finishing.yaml", fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: finishing}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: app, image: %q, imagePullPolicy: Never, args: [finish]}]
`, image))
		require.NoError(t, apply.New("finishing.yaml", "drill-wait").Run(context.Background(), env))
		require.NoError(t, wait.New([]string{"job/finishing"}, "drill-wait").Run(timeoutCtx(t, 2*time.Minute), env))
		assert.Contains(t, log.String(), "job.batch/finishing -n drill-wait: InProgress: Job in progress.")
		assert.Contains(t, log.String(), "job.batch/finishing -n drill-wait: Current: Job Completed. succeeded: 1/1")
	})

	t.Run("failed job fails fast with its logs", func(t *testing.T) {
		write(t, "job.yaml", fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: failing}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: app, image: %q, imagePullPolicy: Never, args: [fail]}]
`, image))
		require.NoError(t, apply.New("job.yaml", "drill-wait").Run(context.Background(), env))
		const timeout = 2 * time.Minute
		start := time.Now()
		err := wait.New([]string{"job/failing"}, "drill-wait").Run(timeoutCtx(t, timeout), env)
		elapsed := time.Since(start)
		t.Logf("failed after %s", elapsed.Round(time.Millisecond))
		var ev *drills.EvidenceError
		require.ErrorAs(t, err, &ev)
		var te *drills.TimeoutError
		assert.False(t, errors.As(err, &te), "a Failed job must not wait for the timeout: %v", err)
		assert.Less(t, elapsed, timeout/2)
		assert.Contains(t, err.Error(), "job.batch/failing -n drill-wait is Failed")
		t.Logf("evidence:\n%s", ev.Evidence)
		assert.Contains(t, ev.Evidence, "terminated: Error, exit code 1")
		assert.Contains(t, ev.Evidence, "| hello: failing on purpose")
	})

	t.Run("a watch cut by the network is listed and watched again", func(t *testing.T) {
		// Every connection of this wait goes through a TCP proxy that the
		// test cuts while the wait watches a Deployment that does not
		// exist yet; the Deployment is then created behind the wait's
		// back. The wait must list again, see it and finish.
		kubeconfig, err := kube.KubeconfigPath(env)
		require.NoError(t, err)
		cfg, err := clientcmd.LoadFromFile(kubeconfig)
		require.NoError(t, err)
		p := newCutProxy(t, cfg)
		proxied := filepath.Join(t.TempDir(), "kubeconfig")
		require.NoError(t, clientcmd.WriteToFile(*cfg, proxied))
		out := &kubetest.Buffer{}
		penv := &drills.Env{RunID: env.RunID, Scenario: env.Scenario, Cycle: 1, Workdir: env.Workdir,
			Vars: map[string]string{"KUBECONFIG": proxied}, Log: out}

		done := make(chan error, 1)
		go func() {
			done <- wait.New([]string{"deployment/late"}, "drill-wait").Run(timeoutCtx(t, 2*time.Minute), penv)
		}()
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "deployment.apps/late -n drill-wait: NotFound") },
			30*time.Second, 20*time.Millisecond, "the wait watches the missing Deployment")
		before := p.accepted()
		p.cut()
		write(t, "late.yaml", kubetest.HelloDeployment("late", "", image, 1))
		require.NoError(t, apply.New("late.yaml", "drill-wait").Run(context.Background(), env))
		select {
		case err := <-done:
			require.NoError(t, err, "wait log:\n%s", out.String())
		case <-time.After(2 * time.Minute):
			require.FailNow(t, "the wait did not end", "wait log:\n%s", out.String())
		}
		assert.Contains(t, out.String(), "deployment.apps/late -n drill-wait: Current")
		assert.Greater(t, p.accepted(), before, "the wait connected again after the cut")
	})

	t.Run("resource that never appears", func(t *testing.T) {
		err := wait.New([]string{"deployment/never-created"}, "drill-wait").Run(timeoutCtx(t, 3*time.Second), env)
		var ev *drills.EvidenceError
		require.ErrorAs(t, err, &ev)
		assert.Contains(t, ev.Evidence, "deployment.apps/never-created -n drill-wait: NotFound: not found")
	})
}

// cutProxy forwards TCP connections to the API server of a kubeconfig's
// current context and can cut every one of them at once, as a network
// failure would. It rewrites the kubeconfig's server to itself; TLS passes
// through (kind's serving certificate names 127.0.0.1).
type cutProxy struct {
	mu    sync.Mutex
	conns []net.Conn
	count int
}

func newCutProxy(t *testing.T, cfg *clientcmdapi.Config) *cutProxy {
	t.Helper()
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	u, err := url.Parse(cluster.Server)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	cluster.Server = "https://" + l.Addr().String()
	p := &cutProxy{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", u.Host)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.count++
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

// cut closes every connection made so far.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// accepted is how many connections the proxy forwarded.
func (p *cutProxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}
