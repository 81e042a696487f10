package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// removeWorkdir removes the cycle's workdir (the folder drill made, which
// holds the steps' folder when a git source's path names one inside the
// clone), but only as the ledger's rule
// allows (resultstore.MayRemoveWorkdir): a workdir still holding the state of a
// target whose destroy did not pass is kept, with its ledger entries, so
// that `drill gc` can retry the destroy. What is kept is recorded for the
// run's error message and told to the operator now.
func (x *run) removeWorkdir(c *results.Cycle, env *drills.Env, log *zap.Logger) {
	if c.Workdir == "" {
		return
	}
	if err := resultstore.MayRemoveWorkdir(c.Workdir, x.ledger.Outstanding()); err != nil {
		var inUse *resultstore.WorkdirInUseError
		msg := err.Error()
		if errors.As(err, &inUse) {
			var what []string
			for _, h := range inUse.Holders {
				what = append(what, h.Describe())
			}
			msg = fmt.Sprintf("cycle %d: left behind: %s (its workdir %s is kept); `drill gc --results %s` retries the destroy",
				c.Index, strings.Join(what, ", "), c.Workdir, x.files.Location())
		}
		x.leftBehind = append(x.leftBehind, msg)
		x.keptWorkdirs = append(x.keptWorkdirs, c.Workdir)
		log.Warn("workdir kept: it holds state that was not destroyed", zap.String("workdir", c.Workdir), zap.Error(err))
		x.emit(Event{Kind: Notice, Run: x.doc, Cycle: c, Message: msg})
		return
	}
	if err := os.RemoveAll(c.Workdir); err != nil {
		log.Warn("could not remove the workdir", zap.String("workdir", c.Workdir), zap.Error(err))
		return
	}
	x.ledgerRelease(workdirID(env.Cycle))
}

// stillThere adds to a failed destroy's error what the target says is
// still there (the resources left in the Terraform state), so the operator
// reads what is left, not only that something failed. The check gets a
// short time of its own: the destroy may have used up its timeout.
func (x *run) stillThere(ctx context.Context, env *drills.Env, target drills.Target, err error) error {
	lc, ok := target.(drills.LeftoverChecker)
	if !ok {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	left, lerr := lc.Leftovers(cctx, env)
	if lerr != nil || len(left) == 0 {
		return err
	}
	x.leftovers = append(x.leftovers, left...)
	return fmt.Errorf("%w; still there: %s", err, strings.Join(left, ", "))
}

// skipCycles records cycles from..to as skipped, so the document says why
// a drill planned for more cycles ran fewer.
func (x *run) skipCycles(from, to int, why string) {
	now := time.Now().UTC()
	for i := from; i <= to; i++ {
		x.doc.Cycles = append(x.doc.Cycles, results.Cycle{
			Index: i, Status: results.StatusSkipped, StartedAt: now, FinishedAt: &now, Steps: []results.Step{},
			Error: &results.Error{Reason: results.ReasonSkipped, Message: why},
		})
	}
	x.save()
}

// saveSnapshot writes a snapshot of the running document, and remembers a
// failure to write it as a failure of drill's environment.
func (x *run) saveSnapshot(doc *results.Run) error {
	err := x.rec.Save(doc, resultstore.Snapshot)
	if err != nil {
		x.noteResultsError(err)
	}
	return err
}

// noteResultsError records the first failure to write the run's own
// evidence (a log, a document): a full disk, a quota, a read-only or failing
// file system. It is drill's environment that failed, and the run says so
// (ReasonResultsUnwritable, exit 3) instead of blaming the runbook.
func (x *run) noteResultsError(err error) {
	x.resultsMu.Lock()
	defer x.resultsMu.Unlock()
	if x.resultsErr == nil {
		x.resultsErr = err
	}
}

func (x *run) resultsFailed() error {
	x.resultsMu.Lock()
	defer x.resultsMu.Unlock()
	return x.resultsErr
}

// redactFiles masks secrets in every regular file under dir, in place,
// through the redactor's streaming writer (files of any size, a secret
// split anywhere). Nothing is done when no secret is known.
func redactFiles(dir string, r *drills.Redactor) error {
	if r.Secrets() == 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		tmp, err := os.CreateTemp(filepath.Dir(path), ".redact-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		w := r.Writer(tmp)
		_, cerr := io.Copy(w, in)
		if err := errors.Join(cerr, w.Close(), tmp.Close()); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), path)
	})
}

// cycleCleanups keeps what the steps of one cycle deferred to its end
// (drills.Env.Defer), each already in the ledger with its ID.
type cycleCleanups struct {
	list []drills.Cleanup
}

// cleanups gives env a Deferrer that writes each cleanup's ledger entry
// (c<N>/<kind>/<n>) before the step goes on to create what it removes, and
// keeps the cleanup for the end of the cycle. An entry that cannot be
// written is an error for the step, which must then create nothing.
func (x *run) cleanups(env *drills.Env) *cycleCleanups {
	cc := &cycleCleanups{}
	env.Cleanups = drills.DeferFunc(func(cl drills.Cleanup) error {
		e := cl.Entry
		e.ID = fmt.Sprintf("c%d/%s/%d", env.Cycle, e.Kind, len(cc.list)+1)
		e.Cycle = env.Cycle
		if x.ledger != nil {
			if err := x.ledger.Create(e); err != nil {
				x.log.Warn("could not write the ledger", zap.Error(err))
				return fmt.Errorf("write the ledger: %w", err)
			}
		}
		cl.Entry = e
		cc.list = append(cc.list, cl)
		return nil
	})
	return cc
}
