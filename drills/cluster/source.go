package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/internal/kube"
)

// versionTimeout bounds the check that the API server answers: an
// unreachable cluster is reported within seconds, before anything is made.
const versionTimeout = 10 * time.Second

// source is the user's kubeconfig as read for one context: minified to it,
// with the cycle's namespace as the context's default.
type source struct {
	files   []string // the kubeconfig files read, in precedence order
	context string
	server  string
	config  *clientcmdapi.Config
	rest    *rest.Config
}

func (s *source) unreachable(err error, hint string) *drills.ClusterUnreachableError {
	return &drills.ClusterUnreachableError{Kubeconfig: strings.Join(s.files, string(filepath.ListSeparator)),
		Context: s.context, Server: s.server, Err: err, Hint: hint}
}

// write saves the minified kubeconfig for the steps, readable by this user
// only (it holds the context's credentials).
func (s *source) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*s.config, path)
}

// secrets are the credential values of the context.
func (s *source) secrets() []string {
	var out []string
	for _, a := range s.config.AuthInfos {
		for _, v := range []string{a.Token, a.Password, strings.TrimSpace(string(a.ClientKeyData))} {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func (t *Target) source() *source {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.src
}

// Resolve reads the kubeconfig, without contacting the cluster: which files,
// which context, and the configuration of that context alone. It is done
// once (Preexisting and Provision do it too), so that Context and
// KubeconfigFiles can be recorded in the ledger before anything is made. A
// failure is a *drills.ClusterUnreachableError saying what is missing.
func (t *Target) Resolve() error {
	_, err := t.resolve()
	return err
}

func (t *Target) resolve() (*source, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.src == nil && t.srcErr == nil {
		t.src, t.srcErr = t.load()
	}
	return t.src, t.srcErr
}

func (t *Target) home() string {
	if h, ok := t.lookupEnv("HOME"); ok && h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// files lists the kubeconfig files to read: the configured ones (each must
// exist), else those of $KUBECONFIG that exist, else ~/.kube/config.
func (t *Target) files() ([]string, error) {
	abs := func(p string) string {
		if rest, ok := strings.CutPrefix(p, "~"+string(filepath.Separator)); ok {
			p = filepath.Join(t.home(), rest)
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	exists := func(p string) (bool, error) {
		_, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	var paths []string
	if t.kubeconfig != "" {
		for _, p := range filepath.SplitList(t.kubeconfig) {
			if p == "" {
				continue
			}
			p = abs(p)
			ok, err := exists(p)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w", p, err)
			}
			if !ok {
				return nil, fmt.Errorf("kubeconfig %s does not exist (target.cluster.kubeconfig)", p)
			}
			paths = append(paths, p)
		}
		if len(paths) == 0 {
			return nil, errors.New("target.cluster.kubeconfig names no file")
		}
		return paths, nil
	}
	if env, ok := t.lookupEnv(clientcmd.RecommendedConfigPathEnvVar); ok && env != "" {
		var named []string
		for _, p := range filepath.SplitList(env) {
			if p == "" {
				continue
			}
			p = abs(p)
			named = append(named, p)
			ok, err := exists(p)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w", p, err)
			}
			if ok {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("no kubeconfig: none of the files $KUBECONFIG names exists: %s", strings.Join(named, ", "))
		}
		return paths, nil
	}
	p := filepath.Join(t.home(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)
	ok, err := exists(p)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", p, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: target.cluster.kubeconfig and $KUBECONFIG are not set, %s does not exist, and drill is not in a pod with a service account", errNoKubeconfig, p)
	}
	return []string{p}, nil
}

// errNoKubeconfig is files' error when nothing names a kubeconfig; in a pod
// the service account stands in (inCluster).
var errNoKubeconfig = errors.New("no kubeconfig")

// inClusterContext names the context drill makes of a pod's service account.
const inClusterContext = "in-cluster"

// inCluster is the configuration of the cluster drill runs in, from the
// pod's service account (a Job of the drill chart), as a kubeconfig: the
// API server, its CA file and the account's token file, which the kubelet
// rotates and the steps' copy keeps reading. ok is false outside a pod.
func inCluster() (*clientcmdapi.Config, bool) {
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, false
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[inClusterContext] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthority: rc.TLSClientConfig.CAFile}
	cfg.AuthInfos[inClusterContext] = &clientcmdapi.AuthInfo{TokenFile: rc.BearerTokenFile}
	cfg.Contexts[inClusterContext] = &clientcmdapi.Context{Cluster: inClusterContext, AuthInfo: inClusterContext}
	cfg.CurrentContext = inClusterContext
	return cfg, true
}

// load reads the kubeconfig files (merged as kubectl merges them; nothing is
// migrated or written), picks the context and minifies the configuration to
// it.
func (t *Target) load() (*source, error) {
	files, err := t.files()
	if errors.Is(err, errNoKubeconfig) {
		if cfg, ok := inCluster(); ok {
			return t.fromConfig(&source{context: t.context}, cfg)
		}
	}
	if err != nil {
		return nil, &drills.ClusterUnreachableError{Kubeconfig: t.kubeconfig, Context: t.context, Err: err,
			Hint: "set target.cluster.kubeconfig or KUBECONFIG to the kubeconfig of the cluster"}
	}
	src := &source{files: files, context: t.context}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: files}
	cfg, err := rules.Load()
	if err != nil {
		return nil, src.unreachable(fmt.Errorf("read kubeconfig: %w", err), "")
	}
	return t.fromConfig(src, cfg)
}

// fromConfig picks src.context (default: the current one) of cfg and
// minifies cfg to it, with the cycle's namespace as its default.
func (t *Target) fromConfig(src *source, cfg *clientcmdapi.Config) (*source, error) {
	if src.context == "" {
		src.context = cfg.CurrentContext
	}
	names := make([]string, 0, len(cfg.Contexts))
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	known := "it has none"
	if len(names) > 0 {
		known = "it has " + strings.Join(names, ", ")
	}
	if src.context == "" {
		return nil, src.unreachable(fmt.Errorf("the kubeconfig sets no current-context (%s)", known),
			"name one with target.cluster.context")
	}
	kctx, ok := cfg.Contexts[src.context]
	if !ok {
		return nil, src.unreachable(fmt.Errorf("context %q is not in the kubeconfig (%s)", src.context, known), "")
	}
	if cl, ok := cfg.Clusters[kctx.Cluster]; ok {
		src.server = cl.Server
	}
	own := *kctx
	own.Namespace = t.namespace
	cfg.Contexts[src.context] = &own
	cfg.CurrentContext = src.context
	if err := clientcmdapi.MinifyConfig(cfg); err != nil {
		return nil, src.unreachable(fmt.Errorf("context %s: %w", src.context, err), "")
	}
	// No ConfigAccess: client-go has nowhere to write refreshed
	// credentials back (an auth provider's persister), so the user's
	// kubeconfig is never written. NewDefaultClientConfig would hand it the
	// default loading rules, which write to $KUBECONFIG or ~/.kube/config.
	rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, src.context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, src.unreachable(fmt.Errorf("context %s: %w", src.context, err), "")
	}
	src.config, src.rest = cfg, rc
	return src, nil
}

// clients returns clients of the cluster, API warnings going to the step
// log. The first call of a Target checks that the API server answers
// (GET /version, versionTimeout), so an unreachable cluster is a
// *drills.ClusterUnreachableError before anything is created.
func (t *Target) clients(ctx context.Context, env *drills.Env) (*kube.Clients, error) {
	src, err := t.resolve()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	pinged := t.pinged
	t.mu.Unlock()
	if !pinged {
		if err := ping(ctx, src); err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.pinged = true
		t.mu.Unlock()
	}
	cfg := rest.CopyConfig(src.rest)
	kube.Tune(cfg, env.Output())
	return kube.NewForConfig(cfg)
}

// ping asks the API server for its version, within versionTimeout.
func ping(ctx context.Context, src *source) error {
	cfg := rest.CopyConfig(src.rest)
	cfg.Timeout = versionTimeout
	kube.Tune(cfg, nil)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return src.unreachable(err, "")
	}
	cctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	if _, err := dc.RESTClient().Get().AbsPath("/version").Do(cctx).Raw(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("check the API server %s: %w", src.server, context.Cause(ctx))
		}
		return src.unreachable(fmt.Errorf("the API server does not answer GET /version: %w", err),
			fmt.Sprintf("check that the cluster runs and this machine reaches it: kubectl --context %s version", src.context))
	}
	return nil
}
