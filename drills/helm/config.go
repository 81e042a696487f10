package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chartiface "helm.sh/helm/v4/pkg/chart"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// storageDriver is where Helm keeps a release's history: Secrets in the
// release's namespace, Helm's default, so that `helm list` shows what a
// drill installed and the history goes with the namespace.
const storageDriver = "secret"

// configuration is Helm's action configuration for one namespace of the
// cluster a kubeconfig points at. It is built from drill's own client
// settings (kube.RESTConfig: warnings into the step log, no throttling of
// a fresh cluster's discovery), never from the process environment, so
// that Helm cannot deploy to whatever cluster the operator's shell points
// at; its discovery cache is in memory, not in ~/.kube/cache. Helm's own
// warnings (a resource it would not delete, say) go to out.
func configuration(kubeconfig, namespace string, out io.Writer) (*action.Configuration, error) {
	if out == nil {
		out = io.Discard
	}
	rc, err := kube.RESTConfig(kubeconfig, out)
	if err != nil {
		return nil, err
	}
	logs := slog.NewTextHandler(out, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // the step log has its own timeline
			}
			return a
		},
	})
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(logs))
	g := &getter{config: rc, kubeconfig: kubeconfig, namespace: namespace}
	if err := cfg.Init(g, namespace, storageDriver); err != nil {
		return nil, fmt.Errorf("helm configuration: %w", err)
	}
	return cfg, nil
}

// getter is the genericclioptions.RESTClientGetter Helm's clients are made
// from: drill's client configuration, the release's namespace as the
// default one, and discovery cached in memory once per step.
type getter struct {
	config     *rest.Config
	kubeconfig string
	namespace  string

	once   sync.Once
	cached discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	err    error
}

func (g *getter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.config), nil }

func (g *getter) discover() {
	g.once.Do(func() {
		dc, err := discovery.NewDiscoveryClientForConfig(g.config)
		if err != nil {
			g.err = err
			return
		}
		g.cached = memory.NewMemCacheClient(dc)
		g.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(g.cached), g.cached, nil)
	})
}

func (g *getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.discover()
	return g.cached, g.err
}

func (g *getter) ToRESTMapper() (meta.RESTMapper, error) {
	g.discover()
	return g.mapper, g.err
}

// ToRawKubeConfigLoader is the kubeconfig with the release's namespace as
// its default: Helm puts the chart's objects that name no namespace there.
func (g *getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(g.kubeconfig)}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Namespace: g.namespace}})
}

// loadChart reads a chart folder or a packaged chart (.tgz). Dependencies
// must be in its charts/ folder: a drill is offline and from scratch, so
// nothing is downloaded.
func loadChart(path string) (*chartv2.Chart, error) {
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", path, err)
	}
	if deps := ch.Metadata.Dependencies; len(deps) > 0 {
		reqs := make([]chartiface.Dependency, len(deps))
		for i, d := range deps {
			reqs[i] = d
		}
		if err := action.CheckDependencies(ch, reqs); err != nil {
			return nil, fmt.Errorf("chart %s: %w (vendor them into the chart's charts/ folder, for example with `helm dependency build`, and commit them)", path, err)
		}
	}
	return ch, nil
}

// values computes the values a release is installed with, the way the helm
// command line merges them: every values file in order, then the inline
// values (as one more values file), then set (as `--set key=value`), each
// overriding what came before.
func (s Spec) values() (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range s.ValuesFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		v, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		vals = loader.MergeMaps(vals, v)
	}
	if len(s.Values) > 0 {
		// Through JSON, as Helm reads a values file: numbers become
		// float64, exactly what the chart would see from --values.
		data, err := json.Marshal(s.Values)
		if err != nil {
			return nil, fmt.Errorf("values: %w", err)
		}
		var inline map[string]any
		if err := json.Unmarshal(data, &inline); err != nil {
			return nil, fmt.Errorf("values: %w", err)
		}
		vals = loader.MergeMaps(vals, inline)
	}
	keys := make([]string, 0, len(s.Set))
	for k := range s.Set {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a.b before a.b.c, the same every time
	for _, k := range keys {
		if err := strvals.ParseInto(k+"="+s.Set[k], vals); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	return vals, nil
}

// timeout is what is left of ctx's deadline, for Helm's actions that take a
// timeout rather than a context; def without a deadline.
func timeout(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left > 0 {
			return left
		}
		return time.Millisecond
	}
	return def
}
