package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// NamespaceGone watches the namespace name until the one of uid is gone:
// deleted, or replaced by a namespace of the same name and another uid
// (ours is gone then too). It returns nil then, context.Cause(ctx) when ctx
// ends first, and the error of a failed list or watch request (the caller
// decides whether an API error is worth waiting through). seen is called
// with each state of the namespace while it is still there, so a caller can
// explain from its latest conditions why it is not gone.
//
// A watch, not a poll: the deletion is noticed as the API server records
// it. A watch the server ends (its timeout) or an error event (410 Gone)
// starts over with a new list.
func NamespaceGone(ctx context.Context, c *Clients, name string, uid types.UID, seen func(*corev1.Namespace)) error {
	nsc := c.Core.Namespaces()
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	for {
		list, err := nsc.List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("list namespace %s: %w", name, err)
		}
		if len(list.Items) == 0 || list.Items[0].UID != uid {
			return nil
		}
		if seen != nil {
			seen(&list.Items[0])
		}
		w, err := nsc.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: list.ResourceVersion})
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("watch namespace %s: %w", name, err)
		}
		gone, err := untilDeleted(ctx, w, uid, seen)
		if gone || err != nil {
			return err
		}
	}
}

// untilDeleted reads w's events until the namespace of uid is deleted or
// replaced (true), w ends (false: list again) or ctx ends (its cause).
func untilDeleted(ctx context.Context, w watch.Interface, uid types.UID, seen func(*corev1.Namespace)) (bool, error) {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			ns, isNS := ev.Object.(*corev1.Namespace)
			switch {
			case ev.Type == watch.Error:
				return false, nil
			case !isNS, ev.Type == watch.Bookmark:
			case ev.Type == watch.Deleted && ns.UID == uid, ns.UID != uid:
				return true, nil
			case seen != nil:
				seen(ns)
			}
		}
	}
}
