package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// NamespaceGone watches the namespace name until the one of uid is gone:
// deleted, or replaced by a namespace of the same name and another uid
// (ours is gone then too). It returns nil then, context.Cause(ctx) when ctx
// ends first, and the error of a failed list or watch request (the caller
// decides whether an API error is worth waiting through). seen is called
// with each state of the namespace while it is still there, so a caller can
// explain from its latest conditions why it is not gone.
//
// A watch, not a poll (WatchNamed): the deletion is noticed as the API
// server records it.
func NamespaceGone(ctx context.Context, c *Clients, name string, uid types.UID, seen func(*corev1.Namespace)) error {
	ri := c.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	return WatchNamed(ctx, ri, name, func(obj *unstructured.Unstructured) bool {
		if obj == nil || obj.GetUID() != uid {
			return true // deleted, or replaced by another of the name
		}
		if seen != nil {
			var ns corev1.Namespace
			if runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &ns) == nil {
				seen(&ns)
			}
		}
		return false
	}, func(op string, err error) error {
		return fmt.Errorf("%s namespace %s: %w", op, name, err)
	})
}
