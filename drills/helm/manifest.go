package helm

import (
	"fmt"
	"sort"

	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// object is one document of a rendered manifest.
type object struct {
	// ref names it; a document without a namespace is in the release's
	// (those of cluster-scoped kinds lose it once mapped).
	ref drills.ObjectRef
	// name is how messages name it: "deployment.apps/web", with " -n NS"
	// when the document sets its namespace.
	name string
	data map[string]any
}

// manifestObjects parses a release's rendered manifest (Helm's documents
// separated by ---, each headed by a "# Source:" comment), in Helm's order.
func manifestObjects(manifest, namespace string) ([]object, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []object
	for _, k := range keys {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &m); err != nil {
			return nil, fmt.Errorf("rendered manifest: %w", err)
		}
		if len(m) == 0 {
			continue // a template that rendered to nothing but comments
		}
		u := unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("rendered manifest: a document without apiVersion, kind or metadata.name:\n%s", docs[k])
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return nil, fmt.Errorf("rendered manifest: %s: %w", u.GetName(), err)
		}
		o := object{name: kube.DisplayName(gv.WithKind(u.GetKind()).GroupKind(), u.GetName()), data: m}
		ns := u.GetNamespace()
		if ns != "" {
			o.name += " -n " + ns
		} else {
			ns = namespace
		}
		o.ref = drills.ObjectRef{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: ns, Name: u.GetName()}
		out = append(out, o)
	}
	return out, nil
}
