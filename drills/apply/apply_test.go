package apply_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/apply"
	"github.com/redeploy-drill/drill/drills/internal/kube"
	"github.com/redeploy-drill/drill/drills/internal/kubetest"
)

func names(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetKind() + "/" + o.GetName()
	}
	return out
}

func TestLoad(t *testing.T) {
	tests := []struct {
		path    string
		want    []string
		wantErr string
	}{
		{path: "valid-multidoc.yaml", want: []string{"ConfigMap/first", "ConfigMap/second"}},
		{path: "valid-list.yaml", want: []string{"ConfigMap/one", "Secret/two"}},
		// By file name; sub-folders and other extensions are not read.
		{path: "valid-folder", want: []string{"Namespace/drill-folder", "ConfigMap/from-yml", "ConfigMap/from-json"}},
		// Built by kustomize: prefix applied, generated name hashed.
		{path: "valid-kustomization", want: []string{"ConfigMap/kz-plain", "ConfigMap/kz-generated-"}},
		{path: "invalid-no-name.yaml", wantErr: "ConfigMap has no metadata.name"},
		{path: "invalid-generate-name.yaml", wantErr: "server-side apply needs metadata.name"},
		{path: "invalid-no-kind.yaml", wantErr: "object has no kind"},
		{path: "invalid-syntax.yaml", wantErr: "invalid-syntax.yaml"},
		{path: "empty-folder", wantErr: "no objects in"},
		{path: "missing.yaml", wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			objs, err := apply.Load(filepath.Join("testdata", tt.path))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			got := names(objs)
			require.Len(t, got, len(tt.want))
			for i := range tt.want {
				assert.Contains(t, got[i], tt.want[i])
			}
		})
	}
}

func TestRun_noCluster(t *testing.T) {
	env, _ := kubetest.NewEnv(t)
	err := apply.New("x.yaml", "").Run(context.Background(), env)
	require.ErrorIs(t, err, kube.ErrNoCluster)
}

// TestApply runs every apply case against one kind cluster.
func TestApply(t *testing.T) {
	_, env, log := kubetest.Cluster(t)
	require.NoError(t, os.CopyFS(env.Workdir, os.DirFS("testdata")))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := kube.New(env.Target.(drills.Applier).Kubeconfig(), nil)
	require.NoError(t, err)
	get := func(t *testing.T, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
		t.Helper()
		u, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return u
	}
	configmaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

	t.Run("folder into a namespace that does not exist", func(t *testing.T) {
		env.Applied = nil
		start := time.Now()
		require.NoError(t, apply.New("valid-folder", "drill-apply").Run(ctx, env))
		t.Logf("apply of 3 objects took %s", time.Since(start).Round(time.Millisecond))
		for _, line := range []string{
			"namespace/drill-folder serverside-applied",
			"namespace/drill-apply created",
			"configmap/from-yml serverside-applied",
			"configmap/from-json serverside-applied",
		} {
			assert.Contains(t, log.String(), line+"\n")
		}
		assert.NotContains(t, log.String(), "from-sub-folder")
		assert.Equal(t, []drills.ObjectRef{
			{APIVersion: "v1", Kind: "Namespace", Name: "drill-folder"},
			{APIVersion: "v1", Kind: "Namespace", Name: "drill-apply"},
			{APIVersion: "v1", Kind: "ConfigMap", Namespace: "drill-apply", Name: "from-yml"},
			{APIVersion: "v1", Kind: "ConfigMap", Namespace: "drill-apply", Name: "from-json"},
		}, env.Applied)
		cm := get(t, configmaps, "drill-apply", "from-json")
		require.NotEmpty(t, cm.GetManagedFields())
		assert.Equal(t, apply.FieldManager, cm.GetManagedFields()[0].Manager)
		assert.Equal(t, metav1.ManagedFieldsOperationApply, cm.GetManagedFields()[0].Operation)
	})

	t.Run("kustomization", func(t *testing.T) {
		require.NoError(t, apply.New("valid-kustomization", "drill-apply").Run(ctx, env))
		cm := get(t, configmaps, "drill-apply", "kz-plain")
		assert.Equal(t, "drill-test", cm.GetLabels()["app.kubernetes.io/part-of"])
	})

	t.Run("namespace and CRD first, then a custom resource", func(t *testing.T) {
		require.NoError(t, apply.New("valid-crd-and-namespace-last.yaml", "").Run(ctx, env))
		w := get(t, schema.GroupVersionResource{Group: "drill.test", Version: "v1", Resource: "widgets"}, "drill-order", "w")
		size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size")
		assert.Equal(t, int64(3), size)
		role, err := c.Dynamic.Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}).
			Get(ctx, "drill-test-widget-reader", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Empty(t, role.GetNamespace())
	})

	t.Run("conflicts with another manager are forced", func(t *testing.T) {
		other := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "from-json", "namespace": "drill-apply"},
			"data":     map[string]any{"x": "changed by hand"},
		}}
		_, err := c.Dynamic.Resource(configmaps).Namespace("drill-apply").Apply(ctx, "from-json", other,
			metav1.ApplyOptions{FieldManager: "someone-else", Force: true})
		require.NoError(t, err)
		require.NoError(t, apply.New("valid-folder", "drill-apply").Run(ctx, env))
		cm := get(t, configmaps, "drill-apply", "from-json")
		x, _, _ := unstructured.NestedString(cm.Object, "data", "x")
		assert.Equal(t, "y", x)
	})

	t.Run("KUBECONFIG variable when the target is not a cluster", func(t *testing.T) {
		plain := *env
		plain.Target = nil
		plain.Vars = map[string]string{"KUBECONFIG": env.Target.(drills.Applier).Kubeconfig()}
		require.NoError(t, apply.New("valid-multidoc.yaml", "drill-apply").Run(ctx, &plain))
		get(t, configmaps, "elsewhere", "second")
	})

	t.Run("unknown kind fails naming it", func(t *testing.T) {
		path := filepath.Join(env.Workdir, "unknown.yaml")
		require.NoError(t, os.WriteFile(path, []byte("apiVersion: drill.test/v9\nkind: Gadget\nmetadata: {name: g}\n"), 0o644))
		err := apply.New("unknown.yaml", "").Run(ctx, env)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "gadget.drill.test/g")
	})

	t.Run("idempotent: stable manifests pass", func(t *testing.T) {
		start := time.Now()
		assert.NoError(t, apply.CheckIdempotent(ctx, env, "valid-folder", "drill-apply"))
		assert.NoError(t, apply.CheckIdempotent(ctx, env, "valid-kustomization", "drill-apply"))
		t.Logf("idempotency checks took %s", time.Since(start).Round(time.Millisecond))
		// The step value offers the same check to the runner.
		checker, ok := apply.New("valid-crd-and-namespace-last.yaml", "").(drills.IdempotencyChecker)
		require.True(t, ok)
		assert.NoError(t, checker.CheckIdempotent(ctx, env))
	})

	t.Run("idempotent: a manifest that changes on every render is caught", func(t *testing.T) {
		// A manifest rendered from the clock, as a careless template would.
		render := func() {
			doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stamp}\ndata: {renderedAt: %q, fixed: same}\n",
				time.Now().Format(time.RFC3339Nano))
			require.NoError(t, os.WriteFile(filepath.Join(env.Workdir, "stamp.yaml"), []byte(doc), 0o644))
		}
		render()
		step := apply.New("stamp.yaml", "drill-apply")
		require.NoError(t, step.Run(ctx, env))
		before := get(t, configmaps, "drill-apply", "stamp")
		render()
		err := step.(drills.IdempotencyChecker).CheckIdempotent(ctx, env)
		var ni *drills.NotIdempotentError
		require.ErrorAs(t, err, &ni)
		assert.Equal(t, []string{"configmap/stamp -n drill-apply (data.renderedAt)"}, ni.Changes)
		// The dry run changed nothing.
		after := get(t, configmaps, "drill-apply", "stamp")
		assert.Equal(t, before.GetResourceVersion(), after.GetResourceVersion())
	})

	t.Run("idempotent: an object that is not there is reported", func(t *testing.T) {
		err := apply.CheckIdempotent(ctx, env, "valid-multidoc.yaml", "never-applied")
		var ni *drills.NotIdempotentError
		require.ErrorAs(t, err, &ni)
		assert.Equal(t, []string{"configmap/first -n never-applied (would be created)"}, ni.Changes)
	})
}
