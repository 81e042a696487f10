// Package janitor is drill gc: it removes what dead drill runs left behind.
// It reads each run's ledger (resultstore.Ledger), finds the entries created and
// never released, and removes them: processes carrying the run's
// DRILL_RUN_ID, Helm releases (uninstalled as the run's cleanup would
// have), kind clusters, namespaces of existing clusters (only those
// carrying the run's labels), Compose projects (by their label, without
// the compose file), Terraform targets (terraform destroy with the saved
// state, run exactly as the run ran it) and cycle workdirs. An
// entry is reported removed only once it is gone and verified gone; what
// could not be removed stays in the ledger for the next gc. Runs still
// marked running whose drill process is gone are then marked canceled with
// reason Aborted, so no run stays "running" forever.
package janitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/cluster"
	"github.com/redeploy-drill/drill/drills/helm"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// helmUninstallTimeout bounds the uninstall of one Helm release, which
// waits until nothing of it is left.
const helmUninstallTimeout = 5 * time.Minute

// Janitor cleans up after dead runs in one results folder.
type Janitor struct {
	Store  *resultstore.Store
	Logger *zap.Logger
	// DryRun lists what would be removed without touching anything.
	DryRun bool
	// Grace is how long leftover processes get between SIGTERM and SIGKILL.
	Grace time.Duration
	// Settle is how long a target may keep coming back after it was
	// removed (default 2 minutes): a kind node container whose `docker run`
	// outlived the killed drill survives a delete issued while it starts.
	// It is also how long a namespace of an existing cluster may take to
	// be gone once deleted.
	Settle time.Duration
	// Redactor masks the secrets gc reads to rebuild a run's environment,
	// in gc.log, in terraform's output and in every message. The CLI passes
	// the one its stdout and stderr go through. Nil: a new one.
	Redactor *drills.Redactor
	// LookupEnv reads gc's own environment, where a run's passed variables
	// and secrets are read again (default os.LookupEnv).
	LookupEnv func(string) (string, bool)

	log  io.Writer // the current run's gc.log, redacted
	host string    // this machine, which only removes what was made here
}

// Item is one thing a dead run left, and what became of it.
type Item struct {
	Scenario string                  `json:"scenario"`
	RunID    string                  `json:"runId"`
	Entry    resultstore.LedgerEntry `json:"entry"`
	// What says, for humans, what the item is.
	What string `json:"what"`
	// Removed is true once the item is gone and verified gone (never in a
	// dry run).
	Removed bool   `json:"removed"`
	Error   string `json:"error,omitempty"`
}

// Report is the outcome of a collection.
type Report struct {
	Items []Item `json:"items"`
	// Aborted lists the runs marked canceled/Aborted (or, in a dry run, that would be).
	Aborted []string `json:"aborted,omitempty"`
	// Warnings name what could not be read: damaged documents, unreadable
	// ledgers, runs whose liveness cannot be told.
	Warnings []string `json:"warnings,omitempty"`
	// Interrupted is set when ctx ended before everything was tried.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Left reports whether anything is still there after the collection.
func (r *Report) Left() bool {
	for _, it := range r.Items {
		if !it.Removed {
			return true
		}
	}
	return false
}

// Collect finds dead runs and removes what they left. It reads the run
// folders and their ledgers, not only the documents: a run whose document
// is missing, empty or damaged still has its ledger collected, judged dead
// or alive from the pid and host its ledger entries carry. When ctx ends
// (an interrupt), the entry being removed is interrupted cleanly (terraform
// gets SIGINT and saves its state), nothing further is tried, and what was
// not removed stays in the ledger.
func (j *Janitor) Collect(ctx context.Context) (*Report, error) {
	j.defaults()
	rep := &Report{}
	runs, err := j.runs(rep)
	if err != nil {
		return rep, err
	}
	for _, r := range runs {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		j.collectRun(ctx, rep, r)
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	return rep, nil
}

func (j *Janitor) defaults() {
	if j.Logger == nil {
		j.Logger = zap.NewNop()
	}
	if j.Grace <= 0 {
		j.Grace = 5 * time.Second
	}
	if j.Settle <= 0 {
		j.Settle = 2 * time.Minute
	}
	if j.Redactor == nil {
		j.Redactor = drills.NewRedactor()
	}
	if j.LookupEnv == nil {
		j.LookupEnv = os.LookupEnv
	}
	j.host, _ = os.Hostname()
}

// deadRun is a run gc looks at: its document when it could be read, and
// what its ledger still holds.
type deadRun struct {
	scenario, id string
	doc          *results.Run // nil: missing or damaged
	entries      []resultstore.LedgerEntry
}

// runs lists the runs of every scenario folder that may have left
// something: a ledger with outstanding entries, or a document still
// marked running. Anything that cannot be read is a warning, never the end
// of the collection.
func (j *Janitor) runs(rep *Report) ([]deadRun, error) {
	scenarios, err := os.ReadDir(j.Store.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", j.Store.Dir, err)
	}
	warn := func(format string, a ...any) {
		rep.Warnings = append(rep.Warnings, j.Redactor.Redact(fmt.Sprintf(format, a...)))
	}
	var out []deadRun
	for _, s := range scenarios {
		if !s.IsDir() || !plainName(s.Name()) {
			continue
		}
		dir := filepath.Join(j.Store.Dir, s.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			warn("skipped %s: %v", dir, err)
			continue
		}
		ids := map[string]bool{}
		for _, e := range entries {
			name := e.Name()
			switch {
			case e.IsDir() && plainName(name):
				ids[name] = true
			case strings.HasSuffix(name, ".json") && plainName(name) && name != results.LatestFile && name != results.IndexFile:
				ids[strings.TrimSuffix(name, ".json")] = true
			}
		}
		names := make([]string, 0, len(ids))
		for id := range ids {
			names = append(names, id)
		}
		sort.Strings(names)
		for _, id := range names {
			r := deadRun{scenario: s.Name(), id: id}
			docPath := j.Store.RunPath(s.Name(), id)
			doc, derr := results.ReadRun(docPath)
			switch {
			case derr == nil && doc.RunID == id && doc.Scenario.Name == s.Name():
				r.doc = doc
			case derr == nil:
				warn("skipped %s: its runId or scenario does not match its file", docPath)
			case !errors.Is(derr, fs.ErrNotExist):
				warn("%v", derr)
			}
			ledger := j.Store.Ledger(s.Name(), id).Path()
			r.entries, err = resultstore.ReadLedger(ledger)
			if err != nil {
				warn("ledger %s: %v", ledger, err)
			}
			if len(r.entries) == 0 && (r.doc == nil || r.doc.Status != results.StatusRunning) {
				continue // nothing left, nothing to mark
			}
			if alive, known := j.alive(r); alive || !known {
				if !known {
					warn("%s/%s: its document is missing or damaged and its ledger does not say which drill wrote it, so gc cannot tell whether it still runs; left alone", s.Name(), id)
				}
				continue // a live drill cleans up after itself
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// alive tells whether the drill of r may still be running, and whether
// that can be known at all. A finished document means its drill is done
// with it (what its ledger still holds was kept on purpose or left by a
// failed teardown); a running one is judged by its pid; without a document
// the ledger entries' pid and host tell.
func (j *Janitor) alive(r deadRun) (alive, known bool) {
	if r.doc != nil {
		if r.doc.Status.Finished() {
			return false, true
		}
		return procs.RunAliveIn(j.Store)(r.doc), true
	}
	for _, e := range r.entries {
		if e.Pid > 0 {
			return procs.DrillAlive(e.Pid, e.Host, e.Time), true
		}
	}
	return false, false
}

// plainName accepts a visible file name: no dot files (temporary files,
// locks), nothing that could climb out of the results folder.
func plainName(s string) bool {
	return s != "" && !strings.HasPrefix(s, ".") && filepath.IsLocal(s) && !strings.ContainsAny(s, `/\`)
}

func (j *Janitor) collectRun(ctx context.Context, rep *Report, r deadRun) {
	// What terraform and kind print while cleaning up is evidence too: it
	// goes next to the run's step logs, redacted like them.
	if !j.DryRun {
		logPath := filepath.Join(j.Store.RunDir(r.scenario, r.id), "gc.log")
		if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err == nil {
			if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				w := j.Redactor.Writer(f)
				j.log = w
				defer func() {
					_ = w.Close()
					_ = f.Close()
					j.log = nil
					// Whole now: to the bucket, if the results are in one.
					j.Store.Publish(logPath)
				}()
				fmt.Fprintf(w, "--- drill gc (pid %d) at %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
			}
		}
	}
	ledger := j.Store.Ledger(r.scenario, r.id)
	entries := slices.Clone(r.entries)
	// Processes first (a killed drill's terraform may still hold the state
	// lock), then targets, then the workdirs holding their state.
	sort.SliceStable(entries, func(a, b int) bool { return order(entries[a].Kind) < order(entries[b].Kind) })
	remaining := slices.Clone(entries)
	var removed []string
	for _, e := range entries {
		it := Item{Scenario: r.scenario, RunID: r.id, Entry: e, What: e.Describe()}
		switch {
		case j.DryRun:
		case ctx.Err() != nil:
			it.Error = "not tried: drill gc was interrupted"
		case e.Host != "" && e.Host != j.host:
			// Processes, clusters, workdirs and their state live on the
			// machine that made them: from here they cannot be seen, so
			// "removing" them would only lie.
			it.Error = fmt.Sprintf("created on host %s, where it lives: run `drill gc` there", e.Host)
		default:
			err := j.remove(ctx, r, e, remaining)
			if err == nil {
				it.Removed = true
				removed = append(removed, it.What)
				remaining = slices.DeleteFunc(remaining, func(o resultstore.LedgerEntry) bool { return o.ID == e.ID })
				if lerr := ledger.Release(e.ID); lerr != nil {
					j.Logger.Warn("could not write the ledger", zap.Error(lerr))
				}
			} else {
				it.Error = j.Redactor.Redact(err.Error())
				if j.log != nil {
					fmt.Fprintf(j.log, "--- %s: not removed: %s\n", it.What, it.Error)
				}
			}
		}
		rep.Items = append(rep.Items, it)
	}
	if !j.DryRun {
		// A destroy that failed or was interrupted may leave processes it
		// started (a provisioner's script); they carry the run's
		// DRILL_RUN_ID, and no gc leaves a process of its own behind.
		_, _, _ = procs.StopAllWithEnv(scenarios.VarRunID, r.id, j.Grace)
	}
	if r.doc != nil && r.doc.Status == results.StatusRunning && ctx.Err() == nil {
		rep.Aborted = append(rep.Aborted, r.scenario+"/"+r.id)
		if !j.DryRun {
			j.markAborted(r.doc, removed)
		}
	}
}

// order is the order entries are removed in: processes, then what lives
// on a target (Helm releases, uninstalled while their cluster is still
// there), then targets, then the workdirs holding their state.
func order(kind string) int {
	switch kind {
	case resultstore.LedgerProcesses:
		return 0
	case resultstore.LedgerHelmRelease:
		return 1 // before the cluster or namespace it lives in
	case resultstore.LedgerKindCluster, resultstore.LedgerTerraform, resultstore.LedgerComposeProject, resultstore.LedgerNamespace:
		return 2
	}
	return 3
}

// Describe says, for humans, what a ledger entry stands for.
func Describe(e resultstore.LedgerEntry) string { return e.Describe() }

// remove deletes one ledger entry's resource and verifies it is gone;
// nothing there is success. remaining holds the run's entries not removed
// yet, for the rule on workdirs.
func (j *Janitor) remove(ctx context.Context, r deadRun, e resultstore.LedgerEntry, remaining []resultstore.LedgerEntry) error {
	switch e.Kind {
	case resultstore.LedgerProcesses:
		// Scanned again until none is found: a process being stopped may
		// fork a child that carries the same DRILL_RUN_ID.
		_, left, err := procs.StopAllWithEnv(scenarios.VarRunID, e.RunID, j.Grace)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	case resultstore.LedgerKindCluster:
		env := j.baseEnv(r)
		env.Cycle = e.Cycle // names the cycle's kubeconfig in the run folder
		t := kind.New(e.Cluster)
		return j.untilGone(ctx, func() error {
			if err := t.Destroy(ctx, env); err != nil {
				return err
			}
			return leftovers(ctx, t, env)
		})
	case resultstore.LedgerComposeProject:
		// Without the compose file: by the project's label and the image
		// names the ledger recorded, with the plain docker CLI, until the
		// leftover check finds nothing (a `docker compose up` killed with
		// drill may have had a container create in flight).
		env := j.baseEnv(r)
		env.Cycle = e.Cycle
		t := plan.ComposeFromLedger(e, env, j.Logger)
		return j.untilGone(ctx, func() error {
			if err := t.Destroy(ctx, env); err != nil {
				return err
			}
			return leftovers(ctx, t, env)
		})
	case resultstore.LedgerNamespace:
		return j.removeNamespace(ctx, r, e)
	case resultstore.LedgerTerraform:
		return j.destroyTerraform(ctx, r, e)
	case resultstore.LedgerHelmRelease:
		// As the run's own cleanup does: uninstall with foreground
		// deletion, then check that nothing of the release is left. The
		// namespace goes too only when it still carries the run's labels:
		// one of that name made since the run died is not the run's.
		rel, err := helm.FromEntry(e, j.baseEnv(r))
		if err != nil {
			return err
		}
		// Bounded like a run's cleanup: an object a finalizer holds must
		// not keep gc waiting forever.
		uctx, cancel := context.WithTimeout(ctx, helmUninstallTimeout)
		defer cancel()
		return helm.Uninstall(uctx, rel, j.log)
	case resultstore.LedgerWorkdir:
		others := slices.DeleteFunc(slices.Clone(remaining), func(o resultstore.LedgerEntry) bool { return o.ID == e.ID })
		if err := resultstore.MayRemoveWorkdir(e.Path, others); err != nil {
			return err
		}
		if err := os.RemoveAll(e.Path); err != nil {
			return err
		}
		if _, err := os.Lstat(e.Path); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("workdir %s is still there after removing it (%v)", e.Path, err)
		}
		return nil
	}
	return fmt.Errorf("unknown ledger entry kind %q (written by a newer drill?)", e.Kind)
}

// removeNamespace deletes a dead run's namespace of an existing cluster, as
// the run's own destroy would have: through the kubeconfig files and the
// context the ledger names, only when it carries the labels of that run and
// cycle, with foreground propagation, waiting up to Settle until it is gone.
// A namespace of that name without them is left alone (the run's own is
// gone). The cycle's minified kubeconfig in the run folder goes with it.
func (j *Janitor) removeNamespace(ctx context.Context, r deadRun, e resultstore.LedgerEntry) error {
	if e.Namespace == "" {
		return errors.New("ledger entry without a namespace")
	}
	env := j.baseEnv(r)
	env.Cycle = e.Cycle // the labels of the cycle, and its kubeconfig in the run folder
	opts := []cluster.Option{cluster.WithContext(e.Context), cluster.WithDeleteTimeout(j.Settle),
		cluster.WithLogger(j.Logger), cluster.WithLookupEnv(j.LookupEnv)}
	if e.Kubeconfig != "" {
		opts = append(opts, cluster.WithKubeconfig(e.Kubeconfig))
	}
	return cluster.New(e.Namespace, opts...).Destroy(ctx, env)
}

// StateMissingError says that the state of a Terraform target the run
// never released is gone: what it created may still exist, and no tool can
// find it from here. gc reports it and keeps the entry, rather than
// calling a lost state clean.
type StateMissingError struct {
	WorkingDir string
	RunDir     string
	Run        string // scenario/run-id
}

func (e *StateMissingError) Error() string {
	return fmt.Sprintf("the Terraform working folder %s (with its state) is gone, but the run never released it: what it created may still exist and no state records it; look for it by hand (the run's logs are in %s), then `drill gc --forget %s`", e.WorkingDir, e.RunDir, e.Run)
}

// destroyTerraform runs `terraform destroy` on a dead run's state exactly
// as the run's own destroy would have: the same configuration folder, the
// same terraform binary, the same variables and var files expanded from
// the same environment (rebuilt from the ledger's references, secrets read
// again from where the run read them), then checks that the state is
// empty. A state that is missing is an error, not success.
func (j *Janitor) destroyTerraform(ctx context.Context, r deadRun, e resultstore.LedgerEntry) error {
	if e.Terraform == nil {
		return errors.New("ledger entry without Terraform details")
	}
	runDir := j.Store.RunDir(r.scenario, r.id)
	if _, err := os.Stat(e.Terraform.WorkingDir); errors.Is(err, fs.ErrNotExist) {
		return &StateMissingError{WorkingDir: e.Terraform.WorkingDir, RunDir: runDir, Run: r.scenario + "/" + r.id}
	} else if err != nil {
		return err
	}
	recipe := resultstore.LedgerEnv{}
	if e.Env != nil {
		recipe = *e.Env
	}
	vars, secrets, err := plan.ResolveEnv(recipe, j.LookupEnv)
	j.Redactor.Add(secrets...)
	if err != nil {
		return fmt.Errorf("terraform destroy not run, the state is kept: %w", err)
	}
	env := j.baseEnv(r)
	env.Cycle = e.Cycle
	env.Vars = vars
	env.Workdir = e.Terraform.Workdir
	if env.Workdir == "" {
		env.Workdir = filepath.Dir(e.Terraform.WorkingDir)
	}
	t, err := plan.TerraformFromLedger(e.Terraform, env, terraform.WithLogger(j.Logger))
	if err != nil {
		return err
	}
	if err := t.Destroy(ctx, env); err != nil {
		return err
	}
	return leftovers(ctx, t, env)
}

// untilGone runs remove until it succeeds, or Settle passes, or ctx ends;
// it returns the last error. A drill killed during kind's create leaves its
// `docker run` behind: the node container stays "Created" while it starts,
// a `docker rm -f` in that window reports success, and the container is up
// a moment later. Removing again once the start is over removes it.
func (j *Janitor) untilGone(ctx context.Context, remove func() error) error {
	deadline := time.Now().Add(j.Settle)
	for {
		err := remove()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		j.Logger.Debug("not gone yet, trying again", zap.Error(err))
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

func leftovers(ctx context.Context, t drills.LeftoverChecker, env *drills.Env) error {
	left, err := t.Leftovers(ctx, env)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return &drills.LeftoverError{When: "after destroy", Items: left}
	}
	return nil
}

// baseEnv is what a target's Destroy needs outside a run: the run's folder,
// gc's redacted log, and a minimal environment to find its tools.
func (j *Janitor) baseEnv(r deadRun) *drills.Env {
	vars := map[string]string{scenarios.VarRunID: r.id}
	for _, k := range scenarios.HostVars {
		if v, ok := j.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	return &drills.Env{
		RunID: r.id, Scenario: r.scenario,
		RunDir: j.Store.RunDir(r.scenario, r.id),
		Vars:   vars, Logger: j.Logger, Log: j.log, Redactor: j.Redactor,
	}
}

// markAborted finishes the document of a run whose drill died: canceled,
// reason Aborted, with what the janitor removed.
func (j *Janitor) markAborted(r *results.Run, removed []string) {
	now := time.Now().UTC()
	r.Status = results.StatusCanceled
	msg := fmt.Sprintf("drill (pid %d on %s) died before the run finished; drill gc cleaned up", r.Pid, r.Host.Name)
	if len(removed) > 0 {
		msg += ": " + strings.Join(removed, ", ")
	}
	r.Error = &results.Error{Reason: results.ReasonAborted, Message: msg}
	r.FinishedAt = &now
	r.DurationMs = now.Sub(r.StartedAt).Milliseconds()
	for ci := range r.Cycles {
		c := &r.Cycles[ci]
		for si := range c.Steps {
			if s := &c.Steps[si]; s.Status == results.StatusRunning {
				s.Status = results.StatusCanceled
				s.FinishedAt = &now
				s.Error = &results.Error{Reason: results.ReasonAborted, Message: "drill died during this step"}
			}
		}
		if c.Status == results.StatusRunning {
			c.Status = results.StatusCanceled
			c.FinishedAt = &now
		}
	}
	if err := j.Store.FinishRun(r); err != nil {
		j.Logger.Warn("could not mark the run aborted", zap.String("run", r.RunID), zap.Error(err))
	}
}

// Forget releases every outstanding entry of one run without removing
// anything, for what an operator has removed (or found gone) by hand, such
// as the resources of a Terraform state that was lost. It returns what was
// released.
func (j *Janitor) Forget(scenario, runID string) ([]resultstore.LedgerEntry, error) {
	if !plainName(scenario) || !plainName(runID) {
		return nil, fmt.Errorf("forget %s/%s: not a run of this results folder", scenario, runID)
	}
	ledger := j.Store.Ledger(scenario, runID)
	entries, err := resultstore.ReadLedger(ledger.Path())
	if err != nil {
		return nil, fmt.Errorf("forget %s/%s: %w", scenario, runID, err)
	}
	if entries == nil {
		if _, err := os.Stat(ledger.Path()); err != nil {
			return nil, fmt.Errorf("forget %s/%s: no ledger (%w)", scenario, runID, err)
		}
	}
	for _, e := range entries {
		if err := ledger.Release(e.ID); err != nil {
			return nil, fmt.Errorf("forget %s/%s: %w", scenario, runID, err)
		}
	}
	return entries, nil
}
