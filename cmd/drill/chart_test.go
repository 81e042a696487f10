//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmkube "helm.sh/helm/v4/pkg/kube"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// stackRepo is a committed repository the chart's drills clone their
// source from (spec.source.git), served read-only over git's dumb HTTP
// protocol on the address of the kind network's gateway, which the pods
// reach; it returns the URL.
func stackRepo(t *testing.T, gateway string) string {
	t.Helper()
	work := t.TempDir()
	files := map[string]string{
		"version.txt": "v1\n",
		"infra/main.tf": `resource "terraform_data" "stack" { input = "v1" }
`,
		"k8s/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: hello}
data: {version: v1}
`,
	}
	for name, content := range files {
		p := filepath.Join(work, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	gitIn(t, work, "init", "-q")
	gitIn(t, work, "add", "-A")
	gitIn(t, work, "commit", "-qm", "stack")
	served := t.TempDir()
	bare := filepath.Join(served, "stack.git")
	gitIn(t, work, "clone", "-q", "--bare", work, bare)
	gitIn(t, bare, "update-server-info")
	l, err := net.Listen("tcp", net.JoinHostPort(gateway, "0"))
	require.NoError(t, err)
	srv := &http.Server{Handler: http.FileServer(http.Dir(served)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/stack.git"
}

// kindGateway is the IPv4 gateway of the kind Docker network: the host's
// address as the nodes (and their pods) see it.
func kindGateway(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}").Output()
	require.NoError(t, err)
	for _, gw := range strings.Fields(string(out)) {
		if ip := net.ParseIP(gw); ip != nil && ip.To4() != nil {
			return gw
		}
	}
	require.FailNow(t, "the kind network has no IPv4 gateway", "%s", out)
	return ""
}

func chartScenario(name, source, target, steps string) string {
	return `apiVersion: drill/v1
kind: Scenario
metadata: {name: ` + name + `}
spec:
  source: {git: "` + source + `"}
  target: ` + target + `
  steps:
` + steps
}

// The chart on a real cluster: a kind cluster with drill's image loaded,
// the chart installed with an Indexed Job of 2 shards over 6 scenarios
// from a ConfigMap, each cloning its source from git: a cluster target on
// the same cluster through the chart's ServiceAccount (no kubeconfig in
// the pod: the in-cluster configuration), a Terraform target, a none
// target, one whose step leaves an orphan that must be reaped (no zombie
// in the pod), and one that fails on purpose. Sorted by name, shard 1 gets
// the failing, none and Terraform ones, shard 2 the cluster and orphan ones:
// the failing drill fails its index only (exit 1, FailIndex, not retried),
// the other index succeeds, every scenario ran exactly once, and nothing
// of the cluster target is left (its namespaces are gone).
func TestChartRunsShardsOnKind(t *testing.T) {
	image := buildImage(t)
	nodeImage := testtools.NeedKind(t)
	testtools.KindLock(t)

	env := &drills.Env{RunID: "e2e", Scenario: "e2e", Cycle: 1, RunDir: t.TempDir(), Workdir: t.TempDir(),
		Vars: map[string]string{kind.NodeImageVar: nodeImage}, Log: &testtools.Buffer{}}
	name := kind.ClusterName("e2e-chart", "x-"+fmt.Sprintf("%06x", time.Now().UnixNano()&0xffffff))
	kt := kind.New(name, kind.WithLoadImages([]string{image}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := kt.Destroy(ctx, env); err != nil {
			t.Errorf("delete the test's kind cluster %s: %v", name, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	require.NoError(t, kt.Provision(ctx, env), "create the test's kind cluster: %s", env.Log)
	gateway := kindGateway(t)
	repo := stackRepo(t, gateway)
	// The results go to a real S3 server the pods reach, and are read
	// back from this machine.
	s3 := testtools.NeedS3On(t, gateway)
	resultsURL := s3.URL("fleet")
	gate := newGate(t, gateway)

	files := map[string]any{
		"fails.yaml": chartScenario("fails", repo, "{none: {}}", "    - {name: broken, run: 'echo this runbook is broken; exit 1'}\n"),
		"none.yaml":  chartScenario("pass-none", repo, "{none: {}}", "    - {name: check, run: 'test \"$(cat version.txt)\" = v1'}\n"),
		"cluster.yaml": chartScenario("pass-cluster", repo, "{cluster: {}}",
			"    - {name: deploy, apply: {path: k8s}}\n    - {name: check, phase: verify, run: 'test \"$(kubectl get configmap hello -o jsonpath={.data.version})\" = v1'}\n"),
		"terraform.yaml": chartScenario("pass-terraform", repo, "{terraform: {dir: infra}}", "    - {name: check, run: 'test \"$(cat version.txt)\" = v1'}\n"),
		// Held open by the test until a second install has tried it.
		"slow.yaml": slowScenario(repo, gate),
		// drill is the pod's PID 1: an orphan a step leaves is adopted by
		// its init and reaped, not left a zombie in the pod.
		"orphans.yaml": chartScenario("pass-orphans", repo, "{none: {}}", `    - name: orphan
      run: |
        m="$TMPDIR/orphan-$DRILL_CYCLE"
        ( sh -c 'echo $$ > "$0"; exec sleep 2' "$m" & )
        until [ -s "$m" ]; do sleep 0.01; done
        pid=$(cat "$m")
        for i in $(seq 500); do [ "$(awk '{print $4}' /proc/$pid/stat)" = 1 ] && break; sleep 0.01; done
        test "$(awk '{print $4}' /proc/$pid/stat)" = 1
        for i in $(seq 1000); do [ -e /proc/$pid ] || exit 0; sleep 0.01; done
        echo "orphan $pid is a zombie: $(cat /proc/$pid/stat)"
        exit 1
`),
	}
	kubeconfig := kt.Kubeconfig()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	ns := "drill"
	flags.Namespace = &ns
	cfg := action.NewConfiguration()
	require.NoError(t, cfg.Init(flags, ns, "secret"))
	chrt, err := loader.Load("../../deploy/helm/drill")
	require.NoError(t, err)
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.CreateNamespace = "drill", ns, true
	install.WaitStrategy = helmkube.HookOnlyStrategy
	repoName, tag, _ := strings.Cut(image, ":")
	values := func(files map[string]any, shards int) map[string]any {
		return map[string]any{
			"image":     map[string]any{"repository": repoName, "tag": tag},
			"scenarios": map[string]any{"files": files},
			"schedules": []any{},
			"fanout":    map[string]any{"enabled": true, "shards": shards},
			"results":   map[string]any{"url": resultsURL},
			"env": []any{
				map[string]any{"name": "AWS_ACCESS_KEY_ID", "value": s3.Access},
				map[string]any{"name": "AWS_SECRET_ACCESS_KEY", "value": s3.Secret},
			},
			// An environment failure (exit 3) is not retried here: a
			// retry after the first install finished would run again.
			"backoffLimit": 0,
		}
	}
	_, err = install.RunWithContext(ctx, chrt, values(files, 2))
	require.NoError(t, err)

	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	admin, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)

	// While the first install runs the slow scenario, a second install of
	// the same scenario, in its own namespace (another runner), is
	// refused by the lock in the bucket: exit 3, and no second run.
	select {
	case <-gate.started:
	case <-ctx.Done():
		require.FailNow(t, "the slow scenario never started", "%s", podLogs(t, admin, ns))
	}
	ns2 := "drill-second"
	flags2 := genericclioptions.NewConfigFlags(false)
	flags2.KubeConfig, flags2.Namespace = &kubeconfig, &ns2
	cfg2 := action.NewConfiguration()
	require.NoError(t, cfg2.Init(flags2, ns2, "secret"))
	install2 := action.NewInstall(cfg2)
	install2.ReleaseName, install2.Namespace, install2.CreateNamespace = "second", ns2, true
	install2.WaitStrategy = helmkube.HookOnlyStrategy
	_, err = install2.RunWithContext(ctx, chrt, values(map[string]any{"slow.yaml": files["slow.yaml"]}, 1))
	require.NoError(t, err)
	second := waitJob(ctx, t, admin, ns2, "second-drill-fanout-1")
	secondPods, err := admin.CoreV1().Pods(ns2).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=fanout"})
	require.NoError(t, err)
	require.Len(t, secondPods.Items, 1, "%+v", second.Status)
	secondLog := podLog(t, admin, ns2, secondPods.Items[0].Name)
	assert.Equal(t, int32(3), secondPods.Items[0].Status.ContainerStatuses[0].State.Terminated.ExitCode, "%s", secondLog)
	assert.Contains(t, secondLog, "scenario slow is already running")
	close(gate.open)

	job := waitJob(ctx, t, admin, ns, "drill-fanout-1")
	logs := podLogs(t, admin, ns)
	t.Logf("pods:\n%s", logs)
	require.NotNil(t, job.Status.FailedIndexes)
	assert.Equal(t, "0", *job.Status.FailedIndexes, "the shard with the failing scenario failed")
	assert.Equal(t, "1", job.Status.CompletedIndexes, "the other shard succeeded")

	pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=fanout"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2, "one pod per index: the failed drill was not retried")
	ran := map[string]int{}
	for _, p := range pods.Items {
		idx := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		code := p.Status.ContainerStatuses[0].State.Terminated.ExitCode
		log := podLog(t, admin, ns, p.Name)
		switch idx {
		case "0":
			assert.Equal(t, int32(1), code, "%s", log)
			assert.Contains(t, log, "drill: shard 1/2: 3 of the 6 scenarios found")
		case "1":
			assert.Equal(t, int32(0), code, "%s", log)
			assert.Contains(t, log, "drill: shard 2/2: 3 of the 6 scenarios found")
		}
		for _, s := range []string{"fails", "pass-none", "pass-cluster", "pass-terraform", "pass-orphans", "slow"} {
			if strings.Contains(log, "drill "+s+": run ") {
				ran[s]++
			}
		}
	}
	assert.Equal(t, map[string]int{"fails": 1, "pass-none": 1, "pass-cluster": 1, "pass-terraform": 1, "pass-orphans": 1, "slow": 1}, ran, "every scenario ran exactly once")

	// This machine reads the pods' results from the bucket.
	st := drill(t, append(s3.Env(), "DRILL_CACHE_DIR="+t.TempDir()), "status", "--results", resultsURL, "-o", "json")
	assert.Equal(t, 1, st.code, "the failing scenario is exit 1")
	got := verdicts(t, st.stdout)
	assert.Equal(t, map[string]string{"fails": "broken", "pass-none": "holds", "pass-cluster": "holds", "pass-terraform": "holds",
		"pass-orphans": "holds", "slow": "holds"}, got)
	for name := range got {
		assert.Len(t, bucketRuns(t, s3, "fleet", name), 1, "%s: one run document in the bucket", name)
	}

	nss, err := admin.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, n := range nss.Items {
		assert.False(t, strings.HasPrefix(n.Name, "drill-pass-cluster-"), "the cluster target's namespace %s is left", n.Name)
	}
}

// waitJob waits for the Job to complete or fail.
func waitJob(ctx context.Context, t *testing.T, admin kubernetes.Interface, ns, name string) *batchv1.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		job, err := admin.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		if finished(job) {
			return job
		}
		require.True(t, time.Now().Before(deadline), "the Job %s/%s did not finish: %+v\n%s", ns, name, job.Status, podLogs(t, admin, ns))
		<-time.After(time.Second) // polling the Job's status
	}
}

// gate is an HTTP endpoint on the kind gateway that a scenario's step
// reports to (/started) and then waits on (/open answers 200 once the test
// closes open).
type gate struct {
	url     string
	started chan struct{}
	open    chan struct{}
}

func newGate(t *testing.T, host string) *gate {
	t.Helper()
	g := &gate{started: make(chan struct{}), open: make(chan struct{})}
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/started", func(w http.ResponseWriter, _ *http.Request) { once.Do(func() { close(g.started) }) })
	mux.HandleFunc("/open", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-g.open:
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	g.url = "http://" + l.Addr().String()
	return g
}

// slowScenario is a scenario named slow whose first cycle waits at the gate.
func slowScenario(repo string, g *gate) string {
	return chartScenario("slow", repo, "{none: {}}", `    - name: hold
      run: |
        curl -sf `+g.url+`/started
        until curl -sf `+g.url+`/open; do sleep 0.2; done
`)
}

func finished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func podLog(t *testing.T, admin kubernetes.Interface, ns, pod string) string {
	t.Helper()
	b, err := admin.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "drill"}).DoRaw(context.Background())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

func podLogs(t *testing.T, admin kubernetes.Interface, ns string) string {
	t.Helper()
	pods, err := admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "== %s (%s)\n%s\n", p.Name, p.Status.Phase, podLog(t, admin, ns, p.Name))
	}
	return b.String()
}
