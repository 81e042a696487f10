// Package kube holds what the Kubernetes actions (apply, wait) and the kind
// target share: finding the cycle's kubeconfig, building clients for it, and
// turning "deployment/hello" or an apiVersion+kind into a REST mapping.
//
// Every client is built per step from the kubeconfig file, so a step never
// depends on state left by an earlier step other than the cluster itself.
package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/redeploy-drill/drill/drills"
)

// ErrNoCluster says that a Kubernetes step found no cluster to talk to: the
// target is not a cluster and KUBECONFIG is not set.
var ErrNoCluster = errors.New("no Kubernetes cluster: the target does not provide a kubeconfig and KUBECONFIG is not set")

// KubeconfigPath returns the kubeconfig a Kubernetes step uses: the target's
// (drills.Applier) when it has one, else the step's KUBECONFIG variable. The
// process environment is never consulted: a drill must not silently deploy to
// whatever cluster the operator's shell points at.
func KubeconfigPath(env *drills.Env) (string, error) {
	if a, ok := env.Target.(drills.Applier); ok {
		if p := a.Kubeconfig(); p != "" {
			return p, nil
		}
	}
	if p := env.Vars["KUBECONFIG"]; p != "" {
		return p, nil
	}
	return "", ErrNoCluster
}

// RESTConfig loads a client configuration from a kubeconfig path (a
// colon-separated list is merged like kubectl does). API warnings, such as
// deprecations, are written to warnings so that they end up in the step log
// instead of drill's stderr.
func RESTConfig(kubeconfig string, warnings io.Writer) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	Tune(cfg, warnings)
	return cfg, nil
}

// Tune sets what every client of drill's needs on a client configuration
// however it was loaded: a rate limit that does not throttle a burst of
// discovery, drill's user agent, and API warnings written to warnings (the
// step log) instead of drill's stderr (nil: dropped).
func Tune(cfg *rest.Config, warnings io.Writer) {
	// Discovery of a fresh cluster issues a burst of requests; the client
	// defaults (5 QPS) would make every step wait on its own throttle.
	cfg.QPS = 50
	cfg.Burst = 100
	cfg.UserAgent = "drill"
	if warnings != nil {
		cfg.WarningHandler = rest.NewWarningWriter(warnings, rest.WarningWriterOptions{Deduplicate: true})
	} else {
		cfg.WarningHandler = rest.NoWarnings{}
	}
}

// Labels drill puts on what it creates in a cluster that outlives the run
// (an existing cluster), so that the leftover check and drill gc can tell
// what is the run's, and never touch what is not.
const (
	LabelRun      = "drill.redeploy.dev/run"
	LabelScenario = "drill.redeploy.dev/scenario"
	LabelCycle    = "drill.redeploy.dev/cycle"
)

// RunLabels are the labels of what a cycle creates: its run ID, scenario and
// cycle (label values: run IDs and scenario names are valid as they are).
func RunLabels(env *drills.Env) map[string]string {
	l := map[string]string{}
	if env.RunID != "" {
		l[LabelRun] = env.RunID
	}
	if env.Scenario != "" {
		l[LabelScenario] = env.Scenario
	}
	if env.Cycle > 0 {
		l[LabelCycle] = strconv.Itoa(env.Cycle)
	}
	return l
}

// Namespace returns the namespace a Kubernetes step works in: the one it
// names, else the target's own (drills.NamespaceDefaulter: the cluster
// target's namespace of the cycle), else "default".
func Namespace(env *drills.Env, named string) string {
	if named != "" {
		return named
	}
	if d, ok := env.Target.(drills.NamespaceDefaulter); ok {
		if ns := d.DefaultNamespace(); ns != "" {
			return ns
		}
	}
	return metav1.NamespaceDefault
}

// Clients are the clients of one cluster a step needs.
type Clients struct {
	Config    *rest.Config
	Dynamic   dynamic.Interface
	Core      corev1client.CoreV1Interface
	Discovery discovery.CachedDiscoveryInterfaceWithContext
	// Mapper resolves kinds and resource names (plural, singular and short
	// names such as "deploy") from the cluster's discovery, cached in memory
	// and reset when a kind is not found (a CRD applied a moment ago).
	Mapper meta.ResettableRESTMapperWithContext
}

// New builds the clients of the cluster a kubeconfig points at. It does not
// contact the cluster.
func New(kubeconfig string, warnings io.Writer) (*Clients, error) {
	cfg, err := RESTConfig(kubeconfig, warnings)
	if err != nil {
		return nil, err
	}
	return NewForConfig(cfg)
}

// NewForConfig builds the clients for a client configuration.
func NewForConfig(cfg *rest.Config) (*Clients, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	cached := memory.NewMemCacheClientWithContext(dc)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("core client: %w", err)
	}
	deferred := restmapper.NewDeferredDiscoveryRESTMapperWithContext(cached)
	mapper := restmapper.NewShortcutExpanderWithContext(deferred, cached, nil)
	return &Clients{
		Config:    cfg,
		Dynamic:   dyn,
		Core:      core,
		Discovery: cached,
		Mapper:    mapper.(meta.ResettableRESTMapperWithContext),
	}, nil
}

// Mapping returns the REST mapping of an apiVersion and kind. When the kind is
// unknown it resets the discovery cache and tries again until retryFor has
// passed, because a CustomResourceDefinition applied a moment ago takes a
// second or two to be served.
func (c *Clients) Mapping(ctx context.Context, gvk schema.GroupVersionKind, retryFor time.Duration) (*meta.RESTMapping, error) {
	deadline := time.Now().Add(retryFor)
	for {
		m, err := c.Mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
		if err == nil {
			return m, nil
		}
		if !meta.IsNoMatchError(err) || !time.Now().Before(deadline) {
			return nil, fmt.Errorf("find resource for %s: %w", gvk, err)
		}
		c.Mapper.ResetWithContext(ctx)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("find resource for %s: %w", gvk, context.Cause(ctx))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// ResolveType maps what a user writes before the slash of "kind/name" to a
// REST mapping: a kind in any case ("Deployment", "deployment": discovery
// registers the lower-case kind as the singular resource name), a plural
// resource name ("deployments"), a short name ("deploy"), each optionally
// qualified by its group ("deployments.apps").
func (c *Clients) ResolveType(ctx context.Context, typ string) (*meta.RESTMapping, error) {
	typ = strings.ToLower(strings.TrimSpace(typ))
	if typ == "" {
		return nil, errors.New("empty resource type")
	}
	var gr schema.GroupResource
	if i := strings.IndexByte(typ, '.'); i >= 0 {
		gr = schema.GroupResource{Resource: typ[:i], Group: typ[i+1:]}
	} else {
		gr = schema.GroupResource{Resource: typ}
	}
	gvk, err := c.Mapper.KindForWithContext(ctx, gr.WithVersion(""))
	if err != nil && meta.IsNoMatchError(err) {
		// The discovery cache may predate a CRD applied a moment ago.
		c.Mapper.ResetWithContext(ctx)
		gvk, err = c.Mapper.KindForWithContext(ctx, gr.WithVersion(""))
	}
	if err != nil {
		return nil, fmt.Errorf("resolve resource type %q: %w", typ, err)
	}
	m, err := c.Mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("resolve resource type %q: %w", typ, err)
	}
	return m, nil
}

// Resource returns the dynamic client for objects of a mapping in a namespace
// (ignored for cluster-scoped resources).
func (c *Clients) Resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(namespace)
	}
	return c.Dynamic.Resource(m.Resource)
}

// Namespaced reports whether objects of a mapping live in a namespace.
func Namespaced(m *meta.RESTMapping) bool {
	return m.Scope.Name() == meta.RESTScopeNameNamespace
}

// DisplayName names an object the way kubectl prints it:
// "deployment.apps/hello", "service/hello".
func DisplayName(gk schema.GroupKind, name string) string {
	s := strings.ToLower(gk.Kind)
	if gk.Group != "" {
		s += "." + gk.Group
	}
	return s + "/" + name
}

// RefName is DisplayName for an ObjectRef, with its namespace when it has one:
// "deployment.apps/hello -n web".
func RefName(ref drills.ObjectRef) string {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	s := DisplayName(gv.WithKind(ref.Kind).GroupKind(), ref.Name)
	if ref.Namespace != "" {
		s += " -n " + ref.Namespace
	}
	return s
}
