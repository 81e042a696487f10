// Package janitor removes what dead drill runs left behind. It reads each
// run's ledger (results.Ledger), finds the entries created and never
// released, and removes them: processes carrying the run's DRILL_RUN_ID,
// kind clusters, Terraform targets (terraform destroy with the saved
// state) and cycle workdirs. Runs still marked running whose drill process
// is gone are then marked canceled with reason Aborted, so no run stays
// "running" forever.
package janitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/kind"
	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/results"
)

// Janitor cleans up after dead runs in one results folder.
type Janitor struct {
	Store  *results.Store
	Logger *zap.Logger
	// DryRun lists what would be removed without touching anything.
	DryRun bool
	// Grace is how long leftover processes get between SIGTERM and SIGKILL.
	Grace time.Duration
	// Settle is how long a target may keep coming back after it was
	// removed (default 2 minutes): a kind node container whose `docker run`
	// outlived the killed drill survives a delete issued while it starts.
	Settle time.Duration

	log io.Writer // the current run's gc.log
}

// Item is one thing a dead run left, and what became of it.
type Item struct {
	Scenario string              `json:"scenario"`
	RunID    string              `json:"runId"`
	Entry    results.LedgerEntry `json:"entry"`
	// What says, for humans, what the item is.
	What string `json:"what"`
	// Removed is true once the item is gone (never in a dry run).
	Removed bool   `json:"removed"`
	Error   string `json:"error,omitempty"`
}

// Report is the outcome of a collection.
type Report struct {
	Items []Item `json:"items"`
	// Aborted lists the runs marked canceled/Aborted (or, in a dry run, that would be).
	Aborted []string `json:"aborted,omitempty"`
	// Warnings name result documents that could not be read.
	Warnings []string `json:"warnings,omitempty"`
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

// Collect finds dead runs and removes what they left.
func (j *Janitor) Collect(ctx context.Context) (*Report, error) {
	if j.Logger == nil {
		j.Logger = zap.NewNop()
	}
	if j.Grace <= 0 {
		j.Grace = 5 * time.Second
	}
	if j.Settle <= 0 {
		j.Settle = 2 * time.Minute
	}
	rep := &Report{}
	names, err := j.Store.Scenarios()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		runs, warnings, err := j.Store.Runs(name)
		for _, w := range warnings {
			rep.Warnings = append(rep.Warnings, w.Error())
		}
		if err != nil {
			return rep, err
		}
		for _, r := range runs {
			if r.Status == results.StatusRunning && Alive(r) {
				continue // a live drill cleans up after itself
			}
			j.collectRun(ctx, rep, r)
		}
	}
	return rep, nil
}

// Alive reports whether the drill that wrote a running document is still
// there (procs.RunAlive). Runs from another host cannot be judged and count
// as alive.
func Alive(r *results.Run) bool { return procs.RunAlive(r) }

func (j *Janitor) collectRun(ctx context.Context, rep *Report, r *results.Run) {
	ledger := j.Store.Ledger(r.Scenario.Name, r.RunID)
	entries, err := results.ReadLedger(ledger.Path())
	if err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("ledger %s: %v", ledger.Path(), err))
	}
	if len(entries) == 0 && r.Status != results.StatusRunning {
		return
	}
	// What terraform and kind print while cleaning up is evidence too: it
	// goes next to the run's step logs.
	if !j.DryRun {
		logPath := filepath.Join(j.Store.RunDir(r.Scenario.Name, r.RunID), "gc.log")
		if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err == nil {
			if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				defer f.Close()
				j.log = f
			}
		}
	}
	// Processes first (a killed drill's terraform may still hold the state
	// lock), then targets, then the workdirs holding their state.
	sort.SliceStable(entries, func(a, b int) bool { return order(entries[a].Kind) < order(entries[b].Kind) })
	var removed []string
	for _, e := range entries {
		it := Item{Scenario: r.Scenario.Name, RunID: r.RunID, Entry: e, What: Describe(e)}
		if !j.DryRun {
			err := j.remove(ctx, r, e)
			if err == nil {
				it.Removed = true
				removed = append(removed, it.What)
				if lerr := ledger.Release(e.ID); lerr != nil {
					j.Logger.Warn("could not write the ledger", zap.Error(lerr))
				}
			} else {
				it.Error = err.Error()
			}
		}
		if it.Removed || it.Error != "" || j.DryRun {
			rep.Items = append(rep.Items, it)
		}
	}
	if r.Status == results.StatusRunning {
		rep.Aborted = append(rep.Aborted, r.Scenario.Name+"/"+r.RunID)
		if !j.DryRun {
			j.markAborted(r, removed)
		}
	}
}

func order(kind string) int {
	switch kind {
	case results.LedgerProcesses:
		return 0
	case results.LedgerKindCluster, results.LedgerTerraform:
		return 1
	}
	return 2
}

// Describe says, for humans, what a ledger entry stands for.
func Describe(e results.LedgerEntry) string {
	switch e.Kind {
	case results.LedgerProcesses:
		return "processes with DRILL_RUN_ID=" + e.RunID
	case results.LedgerKindCluster:
		return "kind cluster " + e.Cluster
	case results.LedgerTerraform:
		if e.Terraform != nil {
			return "terraform state in " + e.Terraform.WorkingDir
		}
		return "terraform target"
	case results.LedgerWorkdir:
		return "workdir " + e.Path
	}
	return e.Kind + " " + e.ID
}

// remove deletes one ledger entry's resource; nothing there is success.
func (j *Janitor) remove(ctx context.Context, r *results.Run, e results.LedgerEntry) error {
	switch e.Kind {
	case results.LedgerProcesses:
		ps, err := procs.WithEnv("DRILL_RUN_ID", e.RunID)
		if err != nil {
			return err
		}
		if left := procs.Stop(ps, j.Grace); len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	case results.LedgerKindCluster:
		env := j.env(r, "")
		env.Cycle = e.Cycle // names the cycle's kubeconfig in the run folder
		t := kind.New(e.Cluster)
		return j.untilGone(ctx, func() error {
			if err := t.Destroy(ctx, env); err != nil {
				return err
			}
			return leftovers(ctx, t, env)
		})
	case results.LedgerTerraform:
		if e.Terraform == nil {
			return errors.New("ledger entry without Terraform details")
		}
		if _, err := os.Stat(e.Terraform.WorkingDir); errors.Is(err, os.ErrNotExist) {
			return nil // the workdir is gone, and its state with it
		}
		opts := []terraform.Option{terraform.WithVars(e.Terraform.Vars), terraform.WithVarFiles(e.Terraform.VarFiles), terraform.WithLogger(j.Logger)}
		if e.Terraform.ExecPath != "" {
			if _, err := os.Stat(e.Terraform.ExecPath); err == nil {
				opts = append(opts, terraform.WithExecPath(e.Terraform.ExecPath))
			}
		}
		env := j.env(r, filepath.Dir(e.Terraform.WorkingDir))
		t := terraform.New(e.Terraform.WorkingDir, opts...)
		if err := t.Destroy(ctx, env); err != nil {
			return err
		}
		return leftovers(ctx, t, env)
	case results.LedgerWorkdir:
		return os.RemoveAll(e.Path)
	}
	return fmt.Errorf("unknown ledger entry kind %q", e.Kind)
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
		if err == nil || time.Now().After(deadline) {
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

// env is what a target's Destroy needs outside a run: the run's folder and
// a minimal environment to find its tools.
func (j *Janitor) env(r *results.Run, workdir string) *drills.Env {
	vars := map[string]string{"DRILL_RUN_ID": "gc-" + r.RunID}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	return &drills.Env{
		RunID: r.RunID, Scenario: r.Scenario.Name, Workdir: workdir,
		RunDir: j.Store.RunDir(r.Scenario.Name, r.RunID),
		Vars:   vars, Logger: j.Logger, Log: j.log,
	}
}

// markAborted finishes the document of a run whose drill died: canceled,
// reason Aborted, with what the janitor removed.
func (j *Janitor) markAborted(r *results.Run, removed []string) {
	now := time.Now().UTC()
	r.Status = results.StatusCanceled
	msg := fmt.Sprintf("drill (pid %d on %s) died before the run finished; drill gc cleaned up", r.Pid, r.Host.Name)
	if len(removed) > 0 {
		msg += ": " + fmt.Sprint(removed)
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
