package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// The leftover scan of cluster-scoped objects is bounded: a few lists at a
// time, a few objects per type, and a deadline for the whole scan.
const (
	scanParallel = 8
	scanLimit    = 20
	scanTimeout  = 30 * time.Second
)

// scanSkipped are cluster-scoped types not worth a list: deprecated ones
// whose every list draws an API warning into the step log.
var scanSkipped = map[schema.GroupResource]bool{
	{Resource: "componentstatuses"}: true,
}

// labelledObject is a cluster-scoped object carrying the run's label.
type labelledObject struct {
	gk   schema.GroupKind
	kind string
	name string
	run  string
}

func (o labelledObject) String() string {
	return fmt.Sprintf("%s (labelled %s=%s)", kube.DisplayName(o.gk, o.name), kube.LabelRun, o.run)
}

// labelledClusterObjects lists every cluster-scoped object carrying the
// run's label: discovery of the cluster-scoped types that can be listed,
// then one list with a label selector per type, a few at a time. Groups
// whose discovery fails (an aggregated API that is down) and types this
// user may not list are skipped and said in the step log; any other failed
// list fails the check, which cannot vouch for what it did not see.
func labelledClusterObjects(ctx context.Context, c *kube.Clients, env *drills.Env) ([]labelledObject, error) {
	if env.RunID == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	lists, err := c.Discovery.ServerPreferredResourcesWithContext(ctx)
	if err != nil {
		var failed *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &failed) || len(lists) == 0 {
			return nil, fmt.Errorf("discover cluster-scoped resource types: %w", err)
		}
		for gv, gerr := range failed.Groups {
			fmt.Fprintf(env.Output(), "cluster: the leftover check skips %s: its discovery failed: %v\n", gv, gerr)
		}
	}
	type res struct {
		gvr schema.GroupVersionResource
		gk  schema.GroupKind
	}
	var types []res
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if r.Namespaced || strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") ||
				scanSkipped[schema.GroupResource{Group: gv.Group, Resource: r.Name}] {
				continue
			}
			types = append(types, res{gvr: gv.WithResource(r.Name), gk: schema.GroupKind{Group: gv.Group, Kind: r.Kind}})
		}
	}
	selector := kube.LabelRun + "=" + env.RunID
	var (
		mu    sync.Mutex
		found []labelledObject
		errs  []string
		wg    sync.WaitGroup
		sem   = make(chan struct{}, scanParallel)
	)
	for _, r := range types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := c.Dynamic.Resource(r.gvr).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: scanLimit})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case apierrors.IsForbidden(err), apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
				// A user who may work in namespaces only (a managed
				// cluster) may not list cluster-scoped types: not
				// checked, and said so, rather than a destroy that can
				// never pass.
				fmt.Fprintf(env.Output(), "cluster: the leftover check skips %s: %v\n", r.gvr.GroupResource(), err)
				return
			case err != nil:
				errs = append(errs, fmt.Sprintf("%s: %v", r.gvr.GroupResource(), err))
				return
			}
			for _, o := range got.Items {
				found = append(found, labelledObject{gk: r.gk, kind: r.gk.Kind, name: o.GetName(), run: env.RunID})
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("look for cluster-scoped objects labelled %s: %s", selector, strings.Join(errs, "; "))
	}
	slices.SortFunc(found, func(a, b labelledObject) int { return strings.Compare(a.String(), b.String()) })
	return found, nil
}
