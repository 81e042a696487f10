package wait_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/internal/kube"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/wait"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// BenchmarkApplyWaitKind measures, on a real kind cluster, the work of the
// README's performance table: a namespace and a 2-replica Deployment
// applied and waited for. Each round applies it into a fresh namespace
// twice, once with drill's apply and wait steps (the code a drill step
// runs) and once with `kubectl apply` + `kubectl rollout status`, in an
// order drawn at random per round, and reports the medians:
//
//   - drill-ms, kubectl-ms and ratio (drill / kubectl, per round);
//   - lag-ms: from the moment an independent watch saw the Deployment
//     ready (kstatus Current) to the moment the wait step returned.
//
// ROUNDS sets the number of rounds (default 10). scripts/bench.sh prints
// these figures with the rest.
func BenchmarkApplyWaitKind(b *testing.B) {
	kubectl := testtools.Need(b, "kubectl", "the benchmark compares drill with kubectl apply + rollout status")
	image := kubetest.BuildHello(b)
	_, env, _ := kubetest.Cluster(b, kind.WithLoadImages([]string{image}))
	kubeconfig, err := kube.KubeconfigPath(env)
	if err != nil {
		b.Fatal(err)
	}
	c, err := kube.New(kubeconfig, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	deployments := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"})
	manifest := func(ns string) string {
		path := filepath.Join(env.Workdir, ns+".yaml")
		if err := os.WriteFile(path, []byte(benchManifests(ns, image)), 0o644); err != nil {
			b.Fatal(err)
		}
		return path
	}
	// readyAt watches the Deployment of ns from before it exists and returns
	// when it saw it Current.
	readyAt := func(ctx context.Context, ns string) <-chan time.Time {
		seen := make(chan time.Time, 1)
		w, err := deployments.Namespace(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=hello"})
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				if res, err := status.Compute(u); err == nil && res.Status == status.CurrentStatus {
					seen <- time.Now()
					return
				}
			}
		}()
		return seen
	}
	ctx := b.Context()
	kubectlRun := func(args ...string) {
		out, err := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	var drillMs, kubectlMs, ratios, lags []float64
	for b.Loop() {
		for r := range rounds {
			var d, k time.Duration
			drillRound := func() {
				ns := fmt.Sprintf("bench-drill-%d", r)
				path := manifest(ns)
				ready := readyAt(ctx, ns)
				start := time.Now()
				if err := apply.New(path, "").Run(ctx, env); err != nil {
					b.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				defer cancel()
				if err := wait.New([]string{"deployment/hello"}, ns).Run(wctx, env); err != nil {
					b.Fatal(err)
				}
				end := time.Now()
				d = end.Sub(start)
				lags = append(lags, float64(end.Sub(<-ready).Microseconds())/1000)
			}
			kubectlRound := func() {
				ns := fmt.Sprintf("bench-kubectl-%d", r)
				path := manifest(ns)
				start := time.Now()
				kubectlRun("apply", "-f", path)
				kubectlRun("rollout", "status", "deployment/hello", "-n", ns, "--timeout", "2m")
				k = time.Since(start)
			}
			if rand.IntN(2) == 0 {
				drillRound()
				kubectlRound()
			} else {
				kubectlRound()
				drillRound()
			}
			drillMs = append(drillMs, float64(d.Microseconds())/1000)
			kubectlMs = append(kubectlMs, float64(k.Microseconds())/1000)
			ratios = append(ratios, float64(d)/float64(k))
			// Not timed: the namespaces go while the next round runs.
			kubectlRun("delete", "namespace", fmt.Sprintf("bench-drill-%d", r), fmt.Sprintf("bench-kubectl-%d", r), "--wait=false")
		}
	}
	b.ReportMetric(median(drillMs), "drill-ms")
	b.ReportMetric(median(kubectlMs), "kubectl-ms")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(lags), "lag-ms")
	b.ReportMetric(float64(rounds), "rounds")
	b.Logf("drill ms %v\nkubectl ms %v\nlag ms %v", drillMs, kubectlMs, lags)
}

// benchManifests is the work the benchmark measures: a namespace and a
// 2-replica Deployment of the hello image, ready when its readiness probe
// answers.
func benchManifests(ns, image string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n", ns) +
		kubetest.HelloDeployment("hello", ns, image, 2)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
