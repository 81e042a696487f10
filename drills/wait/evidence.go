package wait

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// Bounds that keep the evidence readable in a result's output tail.
const (
	maxPodsPerResource = 5
	maxEvents          = 25
)

// collect writes what explains the state of items: every resource's status,
// then for each one not ready its pods (phase, conditions, container states,
// log tails) and the recent events about it and its pods. Errors while
// collecting are written into the evidence; they do not hide the rest.
func collect(ctx context.Context, c *kube.Clients, items []*item, logLines int64) string {
	var b strings.Builder
	b.WriteString("== status ==\n")
	for _, it := range items {
		fmt.Fprintf(&b, "%s: %s: %s\n", it.display, it.status, it.message)
	}
	for _, it := range items {
		if it.status == status.CurrentStatus {
			continue
		}
		pods, err := relatedPods(ctx, c, it)
		if err != nil {
			fmt.Fprintf(&b, "\n== pods of %s ==\n(could not list: %v)\n", it.display, err)
		} else if len(pods) > 0 {
			fmt.Fprintf(&b, "\n== pods of %s ==\n", it.display)
			shown := 0
			for i := range pods {
				p := &pods[i]
				if podReady(p) {
					continue
				}
				if shown == maxPodsPerResource {
					fmt.Fprintf(&b, "(more not-ready pods left out)\n")
					break
				}
				shown++
				describePod(ctx, &b, c, p, logLines)
			}
			if shown == 0 {
				fmt.Fprintf(&b, "(all %d pod(s) Ready)\n", len(pods))
			}
		}
		if it.ns != "" {
			writeEvents(ctx, &b, c, it, pods)
		}
	}
	return b.String()
}

// relatedPods lists the pods a resource stands for: the pod itself, or those
// its selector (workloads, jobs, services) matches.
func relatedPods(ctx context.Context, c *kube.Clients, it *item) ([]corev1.Pod, error) {
	if it.ns == "" || it.obj == nil {
		return nil, nil
	}
	gk := it.mapping.GroupVersionKind.GroupKind()
	if gk.Group == "" && gk.Kind == "Pod" {
		p, err := c.Core.Pods(it.ns).Get(ctx, it.name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []corev1.Pod{*p}, nil
	}
	sel, ok, err := selectorOf(it.obj)
	if err != nil || !ok {
		return nil, err
	}
	list, err := c.Core.Pods(it.ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	pods := list.Items
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// selectorOf returns the pod selector of an object: spec.selector as a label
// selector (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job) or as a map
// (Service). ok is false for objects without one.
func selectorOf(u *unstructured.Unstructured) (labels.Selector, bool, error) {
	raw, found, err := unstructured.NestedFieldNoCopy(u.Object, "spec", "selector")
	if err != nil || !found || raw == nil {
		return nil, false, err
	}
	m, isMap := raw.(map[string]any)
	if !isMap || len(m) == 0 {
		return nil, false, nil
	}
	_, hasLabels := m["matchLabels"]
	_, hasExpr := m["matchExpressions"]
	if hasLabels || hasExpr {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
			return nil, false, fmt.Errorf("selector of %s: %w", u.GetName(), err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, false, fmt.Errorf("selector of %s: %w", u.GetName(), err)
		}
		return sel, true, nil
	}
	set := labels.Set{}
	for k, v := range m {
		s, isString := v.(string)
		if !isString {
			return nil, false, nil
		}
		set[k] = s
	}
	return labels.SelectorFromSet(set), true, nil
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// describePod writes a not-ready pod's phase, conditions, container states
// (waiting reasons such as ErrImagePull, ImagePullBackOff, CrashLoopBackOff)
// and the tail of the logs of every container that started.
func describePod(ctx context.Context, b *strings.Builder, c *kube.Clients, p *corev1.Pod, logLines int64) {
	fmt.Fprintf(b, "pod/%s: phase %s", p.Name, p.Status.Phase)
	if p.Spec.NodeName != "" {
		fmt.Fprintf(b, " on node %s", p.Spec.NodeName)
	}
	b.WriteString("\n")
	for _, cond := range p.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			fmt.Fprintf(b, "  condition %s=%s %s %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		fmt.Fprintf(b, "  container %s (image %s): %s", cs.Name, cs.Image, containerState(cs.State))
		if cs.RestartCount > 0 {
			fmt.Fprintf(b, ", %d restart(s), last: %s", cs.RestartCount, containerState(cs.LastTerminationState))
		}
		b.WriteString("\n")
	}
	for _, cs := range statuses {
		started := cs.State.Running != nil || cs.State.Terminated != nil
		previous := cs.RestartCount > 0 && !started
		if !started && !previous {
			continue
		}
		opts := &corev1.PodLogOptions{Container: cs.Name, TailLines: &logLines, Previous: previous}
		data, err := c.Core.Pods(p.Namespace).GetLogs(p.Name, opts).Do(ctx).Raw()
		which := ""
		if previous {
			which = " (previous run)"
		}
		fmt.Fprintf(b, "  --- logs of container %s%s, last %d lines ---\n", cs.Name, which, logLines)
		if err != nil {
			fmt.Fprintf(b, "  (could not read: %v)\n", err)
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			fmt.Fprintf(b, "  | %s\n", line)
		}
	}
}

func containerState(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return strings.TrimSpace("waiting: " + s.Waiting.Reason + ": " + s.Waiting.Message)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated: %s, exit code %d %s", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	case s.Running != nil:
		return "running since " + s.Running.StartedAt.UTC().Format(time.RFC3339)
	}
	return "no state yet"
}

// writeEvents writes the namespace's events about a resource, the objects
// named after it (a Deployment's ReplicaSets "hello-5d8f...") and its pods,
// oldest first, at most maxEvents of them.
func writeEvents(ctx context.Context, b *strings.Builder, c *kube.Clients, it *item, pods []corev1.Pod) {
	list, err := c.Core.Events(it.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(b, "\n== events of %s ==\n(could not list: %v)\n", it.display, err)
		return
	}
	podNames := map[string]bool{}
	for _, p := range pods {
		podNames[p.Name] = true
	}
	var evs []corev1.Event
	for _, e := range list.Items {
		n := e.InvolvedObject.Name
		if n == it.name || podNames[n] || strings.HasPrefix(n, it.name+"-") {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return
	}
	sort.SliceStable(evs, func(i, j int) bool { return eventTime(evs[i]).Before(eventTime(evs[j])) })
	fmt.Fprintf(b, "\n== events of %s ==\n", it.display)
	if len(evs) > maxEvents {
		fmt.Fprintf(b, "(%d older events left out)\n", len(evs)-maxEvents)
		evs = evs[len(evs)-maxEvents:]
	}
	for _, e := range evs {
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (x%d)", e.Count)
		}
		fmt.Fprintf(b, "%s %s %s %s/%s: %s%s\n", eventTime(e).UTC().Format(time.RFC3339), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, strings.TrimSpace(e.Message), count)
	}
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
