// Package kind is the kind target of a drill: a throwaway Kubernetes cluster
// in Docker containers, created from scratch every cycle through kind's Go API
// (sigs.k8s.io/kind/pkg/cluster) and deleted at the end of the cycle.
//
// The cluster's kubeconfig is written into the run's folder
// (<RunDir>/kubeconfig-c<cycle>), never into ~/.kube/config: a drill must not
// change which cluster the operator's kubectl talks to.
//
// kind's Provider.Create takes no context. Provision runs it in a goroutine
// and returns as soon as its context ends, with an error wrapping
// context.Cause; kind keeps going in the background. Destroy then waits for
// that goroutine to finish before its final delete, so an interrupt during
// creation still ends with no cluster left. While it waits, it deletes the
// node containers that exist every second, which makes kind's next step fail:
// kind returns within seconds instead of finishing a cluster nobody wants.
package kind

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/redeploy-drill/drill/drills"
)

// NodeImageVar is the variable (in the step environment or the process
// environment) that names the default node image.
const NodeImageVar = "DRILL_KIND_NODE_IMAGE"

// DefaultWaitReady is how long Provision waits for every node to be Ready
// when WithWaitReady is not given.
const DefaultWaitReady = 3 * time.Minute

// maxClusterName is kind's own limit: longer names make node host names too
// long on some systems.
const maxClusterName = 50

// Target is a kind cluster. Provision, Destroy and ExportLogs of one Target
// are meant to be called one after another (the runner does), not at once.
type Target struct {
	cluster    string
	nodeImage  string
	config     string
	loadImages []string
	waitReady  time.Duration
	logger     *zap.Logger

	// ops counts kind calls that take no context (Create, CollectLogs) and
	// may still run after the method that started them returned.
	ops sync.WaitGroup

	mu         sync.Mutex
	creating   bool   // a Create goroutine is running
	kubeconfig string // set once a cluster was created
}

// Option configures a Target.
type Option func(*Target)

// WithNodeImage sets the node image. Default: $DRILL_KIND_NODE_IMAGE from the
// step environment or the process environment, else kind's default image.
// Like kind's --image, it applies to every node, also those of a config file.
func WithNodeImage(image string) Option { return func(t *Target) { t.nodeImage = image } }

// WithConfig sets a kind cluster config file, relative to the cycle's workdir.
// Its cluster name is ignored: the Target's name wins.
func WithConfig(path string) Option { return func(t *Target) { t.config = path } }

// WithLoadImages names local Docker images to load into every node right
// after creation (what `kind load docker-image` does). They must exist when
// Provision starts; Provision checks that before creating anything.
func WithLoadImages(images []string) Option {
	return func(t *Target) { t.loadImages = dedup(images) }
}

// WithWaitReady sets how long Provision waits for every node to be Ready
// (DefaultWaitReady when d <= 0). kind's own wait only warns when it runs out,
// so drill waits itself and fails.
func WithWaitReady(d time.Duration) Option { return func(t *Target) { t.waitReady = d } }

// WithLogger sets the logger for drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(t *Target) { t.logger = l } }

// New returns a kind target for the named cluster (see ClusterName).
func New(clusterName string, opts ...Option) *Target {
	t := &Target{cluster: clusterName, waitReady: DefaultWaitReady, logger: zap.NewNop()}
	for _, o := range opts {
		o(t)
	}
	if t.waitReady <= 0 {
		t.waitReady = DefaultWaitReady
	}
	if t.logger == nil {
		t.logger = zap.NewNop()
	}
	return t
}

var notDNS = regexp.MustCompile(`[^a-z0-9]+`)

func dnsLabel(s string) string {
	return strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// ClusterName returns the cluster name of a run: drill-<scenario>-<short run
// id>, where the short run ID is the random suffix of the run ID
// ("20261127T071500Z-3f9a1c" → "3f9a1c"), so that concurrent runs never
// collide. The name is a DNS label of at most 50 characters (kind's limit);
// the scenario part is shortened to fit.
func ClusterName(scenario, runID string) string {
	short := runID
	if i := strings.LastIndexByte(runID, '-'); i >= 0 && i < len(runID)-1 {
		short = runID[i+1:]
	}
	short = dnsLabel(short)
	if len(short) > 12 {
		short = strings.Trim(short[len(short)-12:], "-")
	}
	if short == "" {
		short = "run"
	}
	const prefix = "drill-"
	scen := dnsLabel(scenario)
	if room := maxClusterName - len(prefix) - 1 - len(short); len(scen) > room {
		scen = strings.TrimRight(scen[:room], "-")
	}
	if scen == "" {
		return prefix + short
	}
	return prefix + scen + "-" + short
}

// Name implements drills.Target.
func (t *Target) Name() string { return "kind" }

// Cluster returns the cluster name.
func (t *Target) Cluster() string { return t.cluster }

// Kubeconfig returns the path of the cluster's kubeconfig once Provision
// created the cluster, else "". It implements drills.Applier.
func (t *Target) Kubeconfig() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kubeconfig
}

// kubeconfigPath is where the cycle's kubeconfig lives. Destroy computes it
// again rather than trusting Provision ran in this process: kind's delete
// falls back to ~/.kube/config when given no explicit path.
func kubeconfigPath(env *drills.Env) (string, error) {
	dir := env.RunDir
	if dir == "" {
		dir = env.Workdir
	}
	if dir == "" {
		return "", errors.New("kind: the environment has neither a run folder nor a workdir for the kubeconfig")
	}
	return filepath.Join(dir, fmt.Sprintf("kubeconfig-c%d", env.Cycle)), nil
}

func (t *Target) provider(env *drills.Env) *cluster.Provider {
	return cluster.NewProvider(
		cluster.ProviderWithDocker(),
		cluster.ProviderWithLogger(newKindLogger(env.Output())),
	)
}

func (t *Target) resolvedNodeImage(env *drills.Env) string {
	if t.nodeImage != "" {
		return t.nodeImage
	}
	if v := env.Vars[NodeImageVar]; v != "" {
		return v
	}
	return os.Getenv(NodeImageVar)
}

// CheckDocker returns a *drills.ToolMissingError when the docker command is
// missing or its daemon does not answer, since kind needs both.
func CheckDocker(ctx context.Context) error {
	path, err := exec.LookPath("docker")
	if err != nil {
		return &drills.ToolMissingError{Tool: "docker", Err: err,
			Hint: "install Docker (Debian: apt-get install docker.io) and start it; kind runs Kubernetes nodes as Docker containers"}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, path, "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("check docker: %w", context.Cause(ctx))
		}
		return &drills.ToolMissingError{Tool: "docker",
			Err:  fmt.Errorf("docker info: %w: %s", err, strings.TrimSpace(string(out))),
			Hint: "start the Docker daemon and check that this user may use it (docker info)"}
	}
	return nil
}

// Provision creates the cluster, loads the images and waits until every node
// is Ready, all from scratch. It fails without creating anything when Docker
// is not usable or an image to load is missing.
func (t *Target) Provision(ctx context.Context, env *drills.Env) error {
	if err := CheckDocker(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	busy := t.creating
	t.mu.Unlock()
	if busy {
		return fmt.Errorf("create kind cluster %s: an earlier creation is still running; destroy the target first", t.cluster)
	}
	kcfg, err := kubeconfigPath(env)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kcfg), 0o755); err != nil {
		return fmt.Errorf("create kind cluster %s: %w", t.cluster, err)
	}
	if err := checkImages(ctx, t.loadImages, hintTargetImages); err != nil {
		return err
	}

	out := env.Output()
	provider := t.provider(env)
	opts := []cluster.CreateOption{
		cluster.CreateWithKubeconfigPath(kcfg),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
		cluster.CreateWithWaitForReady(0), // drill waits itself, and fails when time is up
	}
	if img := t.resolvedNodeImage(env); img != "" {
		opts = append(opts, cluster.CreateWithNodeImage(img))
	}
	if t.config != "" {
		p := t.config
		if !filepath.IsAbs(p) {
			p = filepath.Join(env.Workdir, p)
		}
		opts = append(opts, cluster.CreateWithConfigFile(p))
	}

	start := time.Now()
	done := make(chan error, 1)
	t.mu.Lock()
	t.creating = true
	t.mu.Unlock()
	t.ops.Add(1)
	go func() {
		defer t.ops.Done()
		err := provider.Create(t.cluster, opts...)
		t.mu.Lock()
		t.creating = false
		t.mu.Unlock()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			writeRunErrorOutput(out, err)
			return fmt.Errorf("create kind cluster %s: %w", t.cluster, err)
		}
	case <-ctx.Done():
		fmt.Fprintf(out, "kind: creation of cluster %s interrupted; Destroy deletes it once kind returns\n", t.cluster)
		return fmt.Errorf("create kind cluster %s: interrupted: %w", t.cluster, context.Cause(ctx))
	}
	t.mu.Lock()
	t.kubeconfig = kcfg
	t.mu.Unlock()
	t.phase(env, "create", start, "created cluster %s", t.cluster)

	if len(t.loadImages) > 0 {
		start = time.Now()
		n, err := t.load(ctx, env, provider, t.loadImages)
		if err != nil {
			return err
		}
		t.phase(env, "load", start, "loaded %s into %d node(s)", strings.Join(t.loadImages, ", "), n)
	}

	start = time.Now()
	n, err := waitNodesReady(ctx, kcfg, t.waitReady, out)
	if err != nil {
		return fmt.Errorf("kind cluster %s: %w", t.cluster, err)
	}
	t.phase(env, "waitReady", start, "%d node(s) Ready", n)
	return nil
}

// phase reports how long a part of provisioning took, to the step log (where
// an operator looks) and to drill's debug log.
func (t *Target) phase(env *drills.Env, name string, start time.Time, format string, args ...any) {
	d := time.Since(start)
	fmt.Fprintf(env.Output(), "kind: "+format+" in %.1fs\n", append(args, d.Seconds())...)
	t.logger.Debug("kind "+name, zap.String("cluster", t.cluster), zap.Int64("durationMs", d.Milliseconds()))
}

// writeRunErrorOutput copies the output of the command that made kind fail
// into the step log: kind's error alone says only "command failed".
func writeRunErrorOutput(out interface{ Write([]byte) (int, error) }, err error) {
	if re := kindexec.RunErrorForError(err); re != nil && len(re.Output) > 0 {
		fmt.Fprintf(out, "kind: output of the failed command %q:\n%s\n", re.Command, strings.TrimRight(string(re.Output), "\n"))
	}
}

// Destroy deletes the cluster; nothing there is not an error. When a
// creation interrupted by Provision's context is still running, it waits for
// kind to return (deleting what exists meanwhile, so that kind stops early)
// and then deletes. If its own context ends while waiting, it returns an
// error and the cluster may be left (drill gc removes it).
func (t *Target) Destroy(ctx context.Context, env *drills.Env) error {
	kcfg, err := kubeconfigPath(env)
	if err != nil {
		return err
	}
	provider := t.provider(env)
	idle := make(chan struct{})
	go func() { t.ops.Wait(); close(idle) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for waiting := true; waiting; {
		t.mu.Lock()
		creating := t.creating
		t.mu.Unlock()
		if creating {
			// Deleting the nodes under kind makes its next step fail, so it
			// returns in a second instead of finishing the cluster. A node
			// container kind was still starting can survive one delete,
			// hence the repeat. Errors are races with kind; the final delete
			// below is the one that counts.
			_ = provider.Delete(t.cluster, kcfg)
		}
		select {
		case <-idle:
			waiting = false
		case <-ctx.Done():
			return fmt.Errorf("delete kind cluster %s: still waiting for kind to finish creating it: %w", t.cluster, context.Cause(ctx))
		case <-tick.C:
		}
	}
	start := time.Now()
	if err := t.deleteCluster(ctx, env, provider, kcfg); err != nil {
		return err
	}
	t.mu.Lock()
	t.kubeconfig = ""
	t.mu.Unlock()
	t.phase(env, "delete", start, "deleted cluster %s", t.cluster)
	return nil
}

// deleteAttempts bounds the deletes of one Destroy. Docker now and then
// fails `docker rm -f -v` of a node container (seen in CI: "did not receive
// an exit event", a pod's cgroup v1 freezer left FROZEN inside the node);
// thawing the node's cgroups and deleting again leaves nothing behind.
const deleteAttempts = 4

// deleteCluster deletes the cluster, again after a short pause when Docker
// refuses, until it is gone, the attempts are spent or ctx ends.
func (t *Target) deleteCluster(ctx context.Context, env *drills.Env, provider *cluster.Provider, kcfg string) error {
	for attempt := 1; ; attempt++ {
		err := provider.Delete(t.cluster, kcfg)
		if err == nil {
			return nil
		}
		writeRunErrorOutput(env.Output(), err)
		if attempt == deleteAttempts {
			return fmt.Errorf("delete kind cluster %s (%d attempts): %w", t.cluster, attempt, err)
		}
		fmt.Fprintf(env.Output(), "kind: delete of %s failed (attempt %d of %d); deleting again\n", t.cluster, attempt, deleteAttempts)
		thawNodes(ctx, provider, t.cluster, env.Output())
		pause := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
			pause.Stop()
			return fmt.Errorf("delete kind cluster %s: %w (then: %w)", t.cluster, err, context.Cause(ctx))
		case <-pause.C:
		}
	}
}

// Outputs implements drills.Outputter: CLUSTER, KUBECONFIG (the file's path)
// and CONTROL_PLANE_IP, the control-plane container's IPv4 address on kind's
// Docker network, where NodePort services answer from the host.
func (t *Target) Outputs(ctx context.Context, env *drills.Env) (map[string]string, error) {
	kcfg, err := kubeconfigPath(env)
	if err != nil {
		return nil, err
	}
	nodeList, err := t.provider(env).ListNodes(t.cluster)
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: list nodes: %w", t.cluster, err)
	}
	cp, err := nodeutils.BootstrapControlPlaneNode(nodeList)
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: %w", t.cluster, err)
	}
	ip, _, err := cp.IP()
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: address of %s: %w", t.cluster, cp, err)
	}
	return map[string]string{
		"CLUSTER":          t.cluster,
		"KUBECONFIG":       kcfg,
		"CONTROL_PLANE_IP": ip,
	}, nil
}

// Preexisting implements drills.ScratchChecker: the node containers of a
// cluster of this name that exist before Provision.
func (t *Target) Preexisting(ctx context.Context, env *drills.Env) ([]string, error) {
	return t.remains(env)
}

// Leftovers implements drills.LeftoverChecker: what of the cluster is still
// there after Destroy.
func (t *Target) Leftovers(ctx context.Context, env *drills.Env) ([]string, error) {
	return t.remains(env)
}

func (t *Target) remains(env *drills.Env) ([]string, error) {
	provider := t.provider(env)
	var items []string
	clusters, err := provider.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	for _, c := range clusters {
		if c == t.cluster {
			items = append(items, "kind cluster "+c)
		}
	}
	nodeList, err := provider.ListNodes(t.cluster)
	if err != nil {
		return nil, fmt.Errorf("list nodes of kind cluster %s: %w", t.cluster, err)
	}
	for _, n := range nodeList {
		items = append(items, "node container "+n.String())
	}
	return items, nil
}

// ExportLogs implements drills.LogExporter with kind's log collection (node
// journals, kubelet and containerd logs, pod logs, docker inspect) into dir.
// Collection takes no context: if ctx ends first, ExportLogs returns and
// Destroy waits for the collection to finish.
func (t *Target) ExportLogs(ctx context.Context, env *drills.Env, dir string) error {
	provider := t.provider(env)
	done := make(chan error, 1)
	t.ops.Add(1)
	go func() {
		defer t.ops.Done()
		done <- provider.CollectLogs(t.cluster, dir)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("export logs of kind cluster %s: %w", t.cluster, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("export logs of kind cluster %s: %w", t.cluster, context.Cause(ctx))
	}
}
