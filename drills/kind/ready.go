package kind

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// waitNodesReady polls the cluster's nodes until every one is Ready, or d
// passes (an error with a *drills.TimeoutError cause naming what was not
// ready). It returns the number of nodes.
func waitNodesReady(ctx context.Context, kubeconfig string, d time.Duration, warnings io.Writer) (int, error) {
	clients, err := kube.New(kubeconfig, warnings)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d, &drills.TimeoutError{What: "waiting for the nodes to be Ready", Timeout: d})
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	state := "no answer from the API server yet"
	for {
		list, err := clients.Core.Nodes().List(ctx, metav1.ListOptions{})
		switch {
		case err != nil:
			state = "API server: " + err.Error()
		case len(list.Items) == 0:
			state = "no nodes registered yet"
		default:
			notReady := notReadyNodes(list.Items)
			if len(notReady) == 0 {
				return len(list.Items), nil
			}
			state = strings.Join(notReady, "; ")
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for nodes Ready (%s): %w", state, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

func notReadyNodes(items []corev1.Node) []string {
	var out []string
	for _, n := range items {
		ready := false
		why := "no Ready condition"
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
				why = strings.TrimSpace(c.Reason + ": " + c.Message)
			}
		}
		if !ready {
			out = append(out, fmt.Sprintf("node %s not Ready (%s)", n.Name, why))
		}
	}
	sort.Strings(out)
	return out
}
