// Package scenarios holds the versioned scenario format (apiVersion drill/v1,
// kind Scenario): its Go types, a strict loader that reports every problem of
// a file with its line, column and field path, defaults, validation and
// ${NAME} expansion. The shipped example scenarios and their stacks live in
// this folder too.
package scenarios

import "time"

// APIVersion and Kind of a scenario document.
const (
	APIVersion = "drill/v1"
	Kind       = "Scenario"
)

// Defaults applied when a field is left out.
const (
	DefaultCycles     = 2
	DefaultFreshness  = 24 * time.Hour
	DefaultTimeout    = 10 * time.Minute
	DefaultRetryDelay = 5 * time.Second
	DefaultWithin     = 30 * time.Second
	DefaultInterval   = time.Second
	DefaultWaitReady  = 3 * time.Minute
	// DefaultComposeWait bounds how long a compose target's provision
	// waits for every service to be running (and healthy).
	DefaultComposeWait = 2 * time.Minute
	// DefaultDeleteTimeout is how long the cluster target's destroy waits
	// for the cycle's namespace to be gone.
	DefaultDeleteTimeout = 2 * time.Minute
)

// Scenario is one scripted redeploy.
type Scenario struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`

	// File is the path the scenario was loaded from (not part of the YAML).
	File string `yaml:"-"`
	// SHA256 is the hex digest of the file's bytes.
	SHA256 string `yaml:"-"`

	// idx is where Load found each field, for Pos.
	idx *index
}

// Metadata names and describes a scenario.
type Metadata struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Owner       string            `yaml:"owner"`
	Labels      map[string]string `yaml:"labels"`
}

// Spec is what a drill does.
type Spec struct {
	Cycles    int               `yaml:"cycles"`
	Budget    Duration          `yaml:"budget"`
	Freshness Duration          `yaml:"freshness"`
	Source    Source            `yaml:"source"`
	Env       map[string]string `yaml:"env"`
	PassEnv   []string          `yaml:"passEnv"`
	Secrets   []Secret          `yaml:"secrets"`
	Defaults  StepDefaults      `yaml:"defaults"`
	Target    Target            `yaml:"target"`
	Steps     []Step            `yaml:"steps"`
	Teardown  []Step            `yaml:"teardown"`
	Notify    []Notify          `yaml:"notify"`
}

// Notify is a webhook told when the scenario's state changes (it starts
// failing, stops holding the guideline, goes stale, recovers). URL and
// Secret may use ${NAME} of spec.env, passEnv and secrets: a webhook URL
// carries its token, so it belongs in a secret.
type Notify struct {
	URL string `yaml:"url"`
	// Secret, when set, signs each body with HMAC-SHA256.
	Secret string `yaml:"secret"`
	// Format is json or slack; default slack for hooks.slack.com, else json.
	Format string `yaml:"format"`
}

// Source is where each cycle's workdir comes from, written either as a
// folder (spec.source: ./stack, the default being the scenario's folder),
// copied, or as a git repository (spec.source: {git: URL, ref: REF, path:
// SUBDIR}), cloned: exactly one of Dir and Git is set after Load.
type Source struct {
	// Dir is the folder, absolute with symlinks resolved after Load.
	Dir string
	// Git is the repository each cycle clones.
	Git *GitSource
}

// GitSource is a repository each cycle clones into its fresh workdir: the
// most literal "from scratch", what a fresh clone has.
type GitSource struct {
	// URL is anything `git clone` takes (https://, ssh://, file://, a
	// local path); a token in its user part comes from passEnv or secrets
	// and is redacted.
	URL string `yaml:"git"`
	// Ref is a branch, tag or commit; empty is the remote's default branch.
	Ref string `yaml:"ref"`
	// Path is the folder of the clone the steps run in (the workdir), ""
	// for its top.
	Path string `yaml:"path"`
}

// Secret is a value drill reads from the host and redacts everywhere.
type Secret struct {
	Name     string `yaml:"name"`
	FromEnv  string `yaml:"fromEnv"`
	FromFile string `yaml:"fromFile"`
}

// StepDefaults apply to every step that does not set its own.
type StepDefaults struct {
	Timeout    Duration `yaml:"timeout"`
	Retries    int      `yaml:"retries"`
	RetryDelay Duration `yaml:"retryDelay"`
}

// Target is exactly one of Terraform, Kind, Cluster, Compose or None.
type Target struct {
	Terraform *TerraformTarget `yaml:"terraform"`
	Kind      *KindTarget      `yaml:"kind"`
	Cluster   *ClusterTarget   `yaml:"cluster"`
	Compose   *ComposeTarget   `yaml:"compose"`
	None      *NoneTarget      `yaml:"none"`
}

// TerraformTarget provisions any Terraform configuration.
type TerraformTarget struct {
	Dir      string            `yaml:"dir"`
	Vars     map[string]string `yaml:"vars"`
	VarFiles []string          `yaml:"varFiles"`
	// Idempotent defaults to true: after apply, a plan must show no changes.
	Idempotent *bool `yaml:"idempotent"`
}

// KindTarget provisions a kind cluster.
type KindTarget struct {
	NodeImage  string   `yaml:"nodeImage"`
	Config     string   `yaml:"config"`
	LoadImages []string `yaml:"loadImages"`
	WaitReady  Duration `yaml:"waitReady"`
}

// ComposeTarget brings up a Compose project (docker compose up) from the
// cycle's copy of the source.
type ComposeTarget struct {
	// Files are the compose files, relative to the workdir (default
	// [compose.yaml]); the first one's folder is the project folder.
	Files []string `yaml:"files"`
	// Project is the project name (default drill-<scenario>-<short run
	// id>-c<N>, resolved per cycle by the planner).
	Project string `yaml:"project"`
	// Build defaults to true: up --build rebuilds every service's image
	// from the cycle's copy of the source.
	Build *bool `yaml:"build"`
	// Wait bounds how long up waits until every service is running, and
	// healthy when it has a healthcheck.
	Wait Duration `yaml:"wait"`
}

// ClusterTarget is an existing cluster (minikube, Docker Desktop, a kind
// cluster made elsewhere, a managed cluster); each cycle gets a namespace of
// its own in it.
type ClusterTarget struct {
	// Kubeconfig defaults to $KUBECONFIG, else ~/.kube/config; only read.
	Kubeconfig string `yaml:"kubeconfig"`
	// Context defaults to the kubeconfig's current context.
	Context string `yaml:"context"`
	// Namespace defaults to drill-<scenario>-<short run id>-c<N>.
	Namespace string `yaml:"namespace"`
	// DeleteTimeout is how long destroy waits for the namespace to be gone.
	DeleteTimeout Duration `yaml:"deleteTimeout"`
}

// NoneTarget provisions nothing: the steps bring up the whole stack.
type NoneTarget struct{}

// Step is one deploy, verify or teardown step, with exactly one action.
type Step struct {
	Name       string   `yaml:"name"`
	Phase      string   `yaml:"phase"`
	Timeout    Duration `yaml:"timeout"`
	Retries    *int     `yaml:"retries"`
	RetryDelay Duration `yaml:"retryDelay"`
	Owner      string   `yaml:"owner"`
	Manual     string   `yaml:"manual"` // instructions shown to the operator

	Run   *string      `yaml:"run"`
	HTTP  *HTTPAction  `yaml:"http"`
	Apply *ApplyAction `yaml:"apply"`
	Wait  *WaitAction  `yaml:"wait"`
	Helm  *HelmAction  `yaml:"helm"`

	// Idempotent, false, turns off the step's own idempotency check (a
	// helm step's dry-run upgrade, an apply step's dry-run re-apply).
	// Unset means on.
	Idempotent *bool `yaml:"idempotent"`

	// LoadImages names local Docker images to load into every node of the
	// kind target's cluster (kind target only), typically built by an
	// earlier step from the cycle's source.
	LoadImages []string `yaml:"loadImages"`

	// Line is where the step starts in the file, for messages at run time.
	Line int `yaml:"-"`
}

// HTTPAction polls a URL until the response matches.
type HTTPAction struct {
	URL      string            `yaml:"url"`
	Method   string            `yaml:"method"`
	Headers  map[string]string `yaml:"headers"`
	Status   int               `yaml:"status"`
	Body     string            `yaml:"body"` // a regular expression
	Within   Duration          `yaml:"within"`
	Interval Duration          `yaml:"interval"`
}

// ApplyAction server-side applies manifests to the target cluster.
type ApplyAction struct {
	Path      string `yaml:"path"`
	Namespace string `yaml:"namespace"`
}

// WaitAction waits until resources are ready.
type WaitAction struct {
	Resources []string `yaml:"resources"` // kind/name
	Namespace string   `yaml:"namespace"`
	For       string   `yaml:"for"`
}

// HelmAction installs or upgrades a Helm chart from the workdir.
type HelmAction struct {
	Chart     string `yaml:"chart"`     // a chart folder or .tgz, relative to the workdir
	Release   string `yaml:"release"`   // default: the step's name
	Namespace string `yaml:"namespace"` // default: the target's namespace, else "default"
	// Values are inline values, free-form YAML (any mapping).
	Values      map[string]any    `yaml:"values"`
	ValuesFiles []string          `yaml:"valuesFiles"`
	Set         map[string]string `yaml:"set"` // like helm --set key=value
}

// Duration is a time.Duration written as "30s", "5m", "1h30m" in YAML.
// Zero means "not set".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
