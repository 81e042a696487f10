package kube

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// Backoff of WatchNamed after a failed list or watch request: relistDelay,
// doubling up to maxRelistDelay while the API server keeps failing.
const (
	relistDelay    = 100 * time.Millisecond
	maxRelistDelay = 5 * time.Second
)

// WatchNamed follows the object called name in ri: it lists it (by a field
// selector on its name, so the list is also the start of the watch) and
// calls seen with it, nil when there is none; then it watches from the
// list's resource version and calls seen with each change, nil once the
// object is deleted. It returns nil when seen returns true, and
// context.Cause(ctx) when ctx ends first.
//
// A watch, not a poll: a change is seen as the API server records it. A
// watch that ends (the server's timeout, a cut connection) or an error
// event (410 Gone: the resource version is too old) starts over with a new
// list. A failed list or watch request is given to failed: an error it
// returns ends WatchNamed with that error; nil lists again after a backoff.
func WatchNamed(ctx context.Context, ri dynamic.ResourceInterface, name string,
	seen func(*unstructured.Unstructured) (done bool), failed func(op string, err error) error,
) error {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	delay := relistDelay
	for {
		op := "list"
		list, err := ri.List(ctx, metav1.ListOptions{FieldSelector: selector})
		var w watch.Interface
		if err == nil {
			var obj *unstructured.Unstructured
			if len(list.Items) > 0 {
				obj = &list.Items[0]
			}
			if seen(obj) {
				return nil
			}
			op = "watch"
			w, err = ri.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: list.GetResourceVersion(), AllowWatchBookmarks: true})
		}
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if ferr := failed(op, err); ferr != nil {
				return ferr
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return context.Cause(ctx)
			}
			delay = min(2*delay, maxRelistDelay)
			continue
		}
		delay = relistDelay
		if done, err := follow(ctx, w, seen); done || err != nil {
			return err
		}
	}
}

// follow calls seen with the objects of w's events until seen returns true
// (true), w ends or sends an error event (false: list again), or ctx ends
// (its cause).
func follow(ctx context.Context, w watch.Interface, seen func(*unstructured.Unstructured) bool) (bool, error) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if u, isObj := ev.Object.(*unstructured.Unstructured); isObj && seen(u) {
					return true, nil
				}
			case watch.Deleted:
				if seen(nil) {
					return true, nil
				}
			case watch.Error:
				// Most often 410 Gone: the resource version is too old.
				return false, nil
			}
		}
	}
}
