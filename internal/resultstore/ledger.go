package resultstore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redeploy-drill/drill/internal/safeio"
)

// LedgerFile is the name of a run's ledger inside its run folder.
const LedgerFile = "ledger.jsonl"

// Kinds of ledger entries: what a run creates that could outlive it.
const (
	// LedgerWorkdir is a cycle's workdir (Path), which also holds a Terraform
	// target's configuration and state.
	LedgerWorkdir = "workdir"
	// LedgerTerraform is a Terraform working folder with state (Terraform).
	LedgerTerraform = "terraform"
	// LedgerKindCluster is a kind cluster (Cluster, Kubeconfig).
	LedgerKindCluster = "kind-cluster"
	// LedgerComposeProject is a Compose project (Project, Images,
	// DockerHost, DockerContext): its containers, networks, volumes and
	// built images, found by the com.docker.compose.project label.
	LedgerComposeProject = "compose-project"
	// LedgerNamespace is a namespace the cluster target creates in an
	// existing cluster (Namespace, Kubeconfig, Context). gc deletes it only
	// when it still carries the run's label.
	LedgerNamespace = "namespace"
	// LedgerProcesses stands for every process whose environment carries
	// DRILL_RUN_ID=<RunID>: steps and whatever they started, detached or not.
	LedgerProcesses = "processes"
	// LedgerHelmRelease is a Helm release a helm step installs (Kubeconfig,
	// Namespace, Release; DeleteNamespace when drill creates the namespace
	// for it), uninstalled at the end of its cycle. gc deletes the
	// namespace only when it still carries the run's labels.
	LedgerHelmRelease = "helm-release"
)

// LedgerEntry records one thing a run is about to create ("create", written
// before it exists) or has removed ("release"). A janitor reads the ledger of
// a dead run and removes every entry created and not released.
type LedgerEntry struct {
	Time  time.Time `json:"time"`
	Op    string    `json:"op"` // create | release
	ID    string    `json:"id"` // unique within the run, e.g. "c1/terraform"
	Kind  string    `json:"kind,omitempty"`
	Cycle int       `json:"cycle,omitempty"`
	// Path is a workdir.
	Path string `json:"path,omitempty"`
	// Terraform is what `terraform destroy` needs: the working folder (with
	// its state), the binary and the variables (secret values redacted).
	Terraform *LedgerTerraformTarget `json:"terraform,omitempty"`
	// Cluster and Kubeconfig name a kind cluster.
	Cluster    string `json:"cluster,omitempty"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Project names a Compose project; Images are the images its services
	// build (their names; label-less classic builds are found by their
	// exact name:tag, and taken for the project's only when created since
	// Time, which is before `up`);
	// DockerHost and DockerContext are the engine it runs on, when the run
	// set DOCKER_HOST or DOCKER_CONTEXT.
	Project       string   `json:"project,omitempty"`
	Images        []string `json:"images,omitempty"`
	DockerHost    string   `json:"dockerHost,omitempty"`
	DockerContext string   `json:"dockerContext,omitempty"`
	// Namespace and Context name a namespace of an existing cluster
	// (LedgerNamespace), with Kubeconfig: the user's kubeconfig file(s)
	// the run read, colon-separated, never a copy holding credentials.
	// Namespace and Release also name a Helm release (LedgerHelmRelease)
	// in the cluster of Kubeconfig; DeleteNamespace says that drill set
	// out to create the namespace for the release (the entry is written
	// before the create), labelled with the run, and deletes it with it
	// only when it still carries the run's labels.
	Namespace       string `json:"namespace,omitempty"`
	Context         string `json:"context,omitempty"`
	Release         string `json:"release,omitempty"`
	DeleteNamespace bool   `json:"deleteNamespace,omitempty"`
	// RunID marks processes (LedgerProcesses).
	RunID string `json:"runId,omitempty"`
	// Pid and Host name the drill process that created the entry, so that
	// drill gc can tell a dead run from a live one even when the run's
	// document is missing or damaged.
	Pid  int    `json:"pid,omitempty"`
	Host string `json:"host,omitempty"`
	// Env is how to rebuild the environment the run gave the tool that
	// removes this entry (terraform destroy), without any secret value.
	Env *LedgerEnv `json:"env,omitempty"`
}

// LedgerTerraformTarget is how to destroy a Terraform target after a crash:
// what `terraform destroy` needs to run exactly as the run's own destroy
// would have. Vars and VarFiles are kept as the scenario wrote them, with
// their ${NAME} references unexpanded: gc expands them again from Env, so a
// secret value never reaches the ledger.
type LedgerTerraformTarget struct {
	// WorkingDir is the configuration folder, holding .terraform and the
	// local state.
	WorkingDir string `json:"workingDir"`
	// Workdir is the cycle's workdir, which relative var files are resolved against.
	Workdir  string            `json:"workdir,omitempty"`
	ExecPath string            `json:"execPath,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
	VarFiles []string          `json:"varFiles,omitempty"`
}

// LedgerEnv records how a run built a tool's environment, by reference
// wherever a value could be secret. drill gc resolves it from its own
// environment and fails, naming the variable, when it cannot.
type LedgerEnv struct {
	// Values are variables with literal values that hold no secret:
	// spec.env, DRILL_RUN_ID, DRILL_WORKDIR and the like.
	Values map[string]string `json:"values,omitempty"`
	// Pass names host variables the run passed through (spec.passEnv, and
	// DRILL_* variables whose value holds a secret), read again by gc.
	Pass []string `json:"pass,omitempty"`
	// Secrets say where each secret was read from, never its value.
	Secrets []LedgerSecret `json:"secrets,omitempty"`
}

// LedgerSecret is where a secret comes from: an environment variable or a
// file (an absolute path).
type LedgerSecret struct {
	Name     string `json:"name"`
	FromEnv  string `json:"fromEnv,omitempty"`
	FromFile string `json:"fromFile,omitempty"`
}

// Describe says, for humans, what the entry stands for.
func (e LedgerEntry) Describe() string {
	switch e.Kind {
	case LedgerProcesses:
		return "processes with DRILL_RUN_ID=" + e.RunID
	case LedgerKindCluster:
		return "kind cluster " + e.Cluster
	case LedgerComposeProject:
		return "compose project " + e.Project
	case LedgerNamespace:
		if e.Context != "" {
			return "namespace " + e.Namespace + " (context " + e.Context + ")"
		}
		return "namespace " + e.Namespace
	case LedgerTerraform:
		if e.Terraform != nil {
			return "terraform state in " + e.Terraform.WorkingDir
		}
		return "terraform target"
	case LedgerWorkdir:
		return "workdir " + e.Path
	case LedgerHelmRelease:
		return "helm release " + e.Release + " in namespace " + e.Namespace + " (kubeconfig " + e.Kubeconfig + ")"
	}
	return e.Kind + " " + e.ID
}

// keepsStateIn returns the folder where the thing an entry stands for keeps
// the state needed to remove it (a Terraform working folder), or "".
func (e LedgerEntry) keepsStateIn() string {
	if e.Kind == LedgerTerraform && e.Terraform != nil {
		return e.Terraform.WorkingDir
	}
	return ""
}

// WorkdirInUseError says why a workdir may not be removed yet: it holds the
// state of entries that are not released.
type WorkdirInUseError struct {
	Workdir string
	Holders []LedgerEntry
}

func (e *WorkdirInUseError) Error() string {
	what := make([]string, len(e.Holders))
	for i, h := range e.Holders {
		what[i] = h.Describe()
	}
	return fmt.Sprintf("workdir %s is kept: it holds the state of %s, which is not removed yet", e.Workdir, strings.Join(what, ", "))
}

// MayRemoveWorkdir is the one rule for when state may be deleted: a workdir
// may be removed only when no outstanding entry (created, not released)
// keeps its state inside it. A Terraform target is released only once
// `terraform destroy` succeeded and the state was found empty, so a failed
// destroy keeps its state for drill gc. The runner and drill gc both ask
// this before removing a workdir. It returns a *WorkdirInUseError, or nil.
func MayRemoveWorkdir(workdir string, outstanding []LedgerEntry) error {
	if workdir == "" {
		return nil
	}
	var holders []LedgerEntry
	for _, e := range outstanding {
		if dir := e.keepsStateIn(); dir != "" && within(dir, workdir) {
			holders = append(holders, e)
		}
	}
	if len(holders) > 0 {
		return &WorkdirInUseError{Workdir: workdir, Holders: holders}
	}
	return nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && filepath.IsLocal(rel)
}

// Ledger appends entries to a run's ledger file. Every entry is written and
// synced before Add returns, and the file is reopened for each entry, so an
// entry survives a kill -9 right after it. A ledger file removed in the
// middle of a run (the results folder deleted by hand or by a cleanup job)
// is recreated with every entry still outstanding, not just the newer ones:
// otherwise a kill -9 after the removal would leave a janitor blind to what
// the run created before it.
type Ledger struct {
	mu   sync.Mutex
	path string
	// publish copies the ledger to the results' object store, if any.
	publish func()
	// open holds the entries created and not released, in order, to write
	// them again into a ledger file that was removed.
	open []LedgerEntry
}

// Ledger returns the ledger of a run.
func (s *Store) Ledger(scenario, runID string) *Ledger {
	path := filepath.Join(s.RunDir(scenario, runID), LedgerFile)
	return &Ledger{path: path, publish: func() { s.Publish(path) }}
}

// Path is the ledger file.
func (l *Ledger) Path() string { return l.path }

// Create records that e is about to be created. The entry is stamped with
// the pid and host of the process creating it, so that drill gc can tell
// whether its run is still alive from the ledger alone.
func (l *Ledger) Create(e LedgerEntry) error {
	e.Op = "create"
	if e.Pid == 0 {
		e.Pid = os.Getpid()
	}
	if e.Host == "" {
		e.Host, _ = os.Hostname()
	}
	return l.append(e)
}

// Release records that the entry with this id is gone.
func (l *Ledger) Release(id string) error {
	return l.append(LedgerEntry{Op: "release", ID: id})
}

func (l *Ledger) append(e LedgerEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Track the entry even when the write fails, so a later write can
	// still record it.
	switch e.Op {
	case "create":
		l.open = append(slices.DeleteFunc(l.open, func(o LedgerEntry) bool { return o.ID == e.ID }), e)
	case "release":
		l.open = slices.DeleteFunc(l.open, func(o LedgerEntry) bool { return o.ID == e.ID })
	}
	lines, err := l.lines(e)
	if err != nil {
		return err
	}
	return l.write(lines)
}

// Outstanding returns the entries this Ledger created and did not release,
// in the order they were created.
func (l *Ledger) Outstanding() []LedgerEntry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.open)
}

// Restore writes the outstanding entries again if the ledger file is gone,
// so that a run that notices its results folder was removed can make itself
// collectable again before anything else happens.
func (l *Ledger) Restore() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := os.Stat(l.path); !errors.Is(err, fs.ErrNotExist) || len(l.open) == 0 {
		return nil
	}
	lines, err := l.lines(LedgerEntry{})
	if err != nil {
		return err
	}
	return l.write(lines)
}

// write appends lines to the ledger file and syncs it. The caller holds l.mu.
func (l *Ledger) write(lines []byte) error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	_, werr := f.Write(lines)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("ledger %s: %w", l.path, err)
	}
	if l.publish != nil {
		l.publish()
	}
	return nil
}

// lines encodes e (unless its Op is empty), preceded by every outstanding
// entry when the ledger file does not exist. The caller holds l.mu.
func (l *Ledger) lines(e LedgerEntry) ([]byte, error) {
	var entries []LedgerEntry
	if _, err := os.Stat(l.path); errors.Is(err, fs.ErrNotExist) {
		for _, o := range l.open {
			if o.ID != e.ID || e.Op != "create" {
				entries = append(entries, o)
			}
		}
	}
	if e.Op != "" {
		entries = append(entries, e)
	}
	var b []byte
	for _, x := range entries {
		line, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		b = append(append(b, line...), '\n')
	}
	return b, nil
}

// ReadLedger returns the entries created and not released, newest first (the
// order to remove them in: processes and clusters before the folders that
// hold their state). A missing ledger has no entries; a torn last line (a
// kill in the middle of a write) is ignored.
func ReadLedger(path string) ([]LedgerEntry, error) {
	f, err := safeio.OpenRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		created  []LedgerEntry
		released = map[string]bool{}
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e LedgerEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch e.Op {
		case "create":
			created = append(created, e)
			delete(released, e.ID)
		case "release":
			released[e.ID] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out []LedgerEntry
	seen := map[string]bool{}
	for i := len(created) - 1; i >= 0; i-- {
		e := created[i]
		if released[e.ID] || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out, nil
}
