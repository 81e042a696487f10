package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/results"
)

// Names of the guideline checks (docs/contract.md section 6.1).
const (
	CheckAutomated         = "automated"
	CheckFromScratch       = "from-scratch"
	CheckRepeatable        = "repeatable"
	CheckIdempotent        = "idempotent"
	CheckCleanTeardown     = "clean-teardown"
	CheckWithinBudget      = "within-budget"
	CheckNotFlaky          = "not-flaky"
	CheckVersionControlled = "version-controlled"
)

// finish sets the run's final status, error and guideline verdict.
func (x *run) finish(plannedCycles int) {
	end := time.Now()
	d := x.doc
	d.FinishedAt = utc(end)
	d.DurationMs = end.Sub(x.started).Milliseconds()
	d.Status, d.Error = x.runOutcome(plannedCycles)
	d.Guideline = x.guideline(plannedCycles)
}

// runOutcome derives the run's status from its cycles. A teardown failure is
// reported even when the deploy passed: something may be left behind.
func (x *run) runOutcome(plannedCycles int) (results.Status, *results.Error) {
	status := results.StatusPassed
	var firstErr, teardownErr *results.Error
	for _, c := range x.doc.Cycles {
		for _, s := range c.Steps {
			if s.Error == nil || s.Status == results.StatusSkipped {
				continue
			}
			if s.Phase == results.PhaseTeardown || s.Phase == results.PhaseDestroy {
				if teardownErr == nil {
					teardownErr = &results.Error{Reason: results.ReasonTeardownFailed,
						Message: fmt.Sprintf("cycle %d, step %s: %s; something may be left behind: run `drill gc`", c.Index, s.Name, s.Error.Message)}
				}
				continue
			}
			if firstErr == nil {
				firstErr = &results.Error{Reason: s.Error.Reason, Message: fmt.Sprintf("cycle %d, step %s: %s", c.Index, s.Name, s.Error.Message)}
			}
		}
		switch c.Status {
		case results.StatusTimedOut:
			status = results.StatusTimedOut
		case results.StatusFailed:
			if status == results.StatusPassed {
				status = results.StatusFailed
			}
		}
	}
	if len(x.leftBehind) > 0 {
		left := strings.Join(x.leftBehind, "; ")
		if teardownErr == nil {
			teardownErr = &results.Error{Reason: results.ReasonTeardownFailed, Message: left}
		} else {
			teardownErr.Message += "; " + left
		}
	}
	var te *drills.TimeoutError
	if x.ctx.Err() != nil && errors.As(context.Cause(x.ctx), &te) {
		// drill run --timeout: the whole invocation ran out of time. That is
		// a failed drill (exit 1), not an operator's interrupt.
		msg := te.Error() + "; teardown ran"
		if teardownErr != nil {
			msg = te.Error() + "; teardown did not pass: " + teardownErr.Message
		}
		return results.StatusTimedOut, &results.Error{Reason: results.ReasonTimeout, Message: msg}
	}
	if x.ctx.Err() != nil {
		// An interrupt is what the operator needs to hear first, but not at
		// the price of claiming a teardown that did not pass.
		msg := "the drill was interrupted; teardown ran"
		switch {
		case teardownErr != nil:
			msg = "the drill was interrupted; teardown did not pass: " + teardownErr.Message
		case len(x.doc.Cycles) == 0:
			msg = "the drill was interrupted before its first cycle"
		}
		return results.StatusCanceled, &results.Error{Reason: results.ReasonCanceled, Message: msg}
	}
	if err := x.resultsFailed(); err != nil {
		msg := fmt.Sprintf("drill could not write its evidence into the results folder %s: %s; free space (or fix the file system) and run again", x.files.Folder(), x.redactor.Redact(err.Error()))
		if teardownErr != nil {
			msg += "; also: " + teardownErr.Message
		}
		return results.StatusFailed, &results.Error{Reason: results.ReasonResultsUnwritable, Message: msg}
	}
	if len(x.doc.Cycles) < plannedCycles && status == results.StatusPassed {
		status = results.StatusFailed
	}
	switch {
	case teardownErr != nil:
		if status == results.StatusPassed {
			status = results.StatusFailed
		}
		return status, teardownErr
	case firstErr != nil:
		return status, firstErr
	}
	return status, nil
}

func (x *run) guideline(plannedCycles int) *results.Guideline {
	d := x.doc
	var checks []results.Check
	add := func(name string, ok bool, detail string) {
		checks = append(checks, results.Check{Name: name, OK: ok, Detail: detail})
	}

	// automated
	var manual []string
	for _, s := range append(append([]Step(nil), x.plan.Steps...), x.plan.Teardown...) {
		if s.Manual != "" {
			manual = append(manual, s.Name)
		}
	}
	if len(manual) > 0 {
		add(CheckAutomated, false, "manual steps: "+strings.Join(manual, ", ")+" (a human had to act)")
	} else {
		add(CheckAutomated, true, "every step ran unattended with empty stdin")
	}

	// from-scratch
	scope := ""
	if x.scratchScope != "" {
		scope = " (scope: " + x.scratchScope + ")"
	}
	switch {
	case len(x.preexisting) > 0:
		add(CheckFromScratch, false, "found before provisioning: "+strings.Join(x.preexisting, ", ")+scope)
	default:
		add(CheckFromScratch, true, "every cycle started in a fresh copy of the source with no leftover target"+scope)
	}

	// repeatable
	passed := 0
	for _, c := range d.Cycles {
		if c.Status == results.StatusPassed {
			passed++
		}
	}
	switch {
	case plannedCycles < 2:
		add(CheckRepeatable, false, fmt.Sprintf("only %d cycle: a redeploy is proven repeatable with cycles >= 2", plannedCycles))
	case passed == plannedCycles:
		add(CheckRepeatable, true, fmt.Sprintf("%d of %d cycles passed", passed, plannedCycles))
	default:
		add(CheckRepeatable, false, fmt.Sprintf("%d of %d cycles passed", passed, plannedCycles))
	}

	// idempotent
	off := ""
	if len(x.idemOff) > 0 {
		off = "turned off for step " + strings.Join(x.idemOff, ", ") + " (idempotent: false)"
	}
	switch {
	case len(x.notIdempotent) > 0:
		add(CheckIdempotent, false, strings.Join(x.notIdempotent, "; "))
	case !x.plan.Target.Idempotent:
		add(CheckIdempotent, true, "check turned off in the scenario (idempotent: false)")
	case x.idemChecked && off != "":
		add(CheckIdempotent, true, "re-applying right after deploy changes nothing; "+off)
	case x.idemChecked:
		add(CheckIdempotent, true, "re-applying right after deploy changes nothing")
	case off != "":
		add(CheckIdempotent, true, "check "+off)
	default:
		add(CheckIdempotent, true, "not supported by this target and these steps")
	}

	// clean-teardown
	var teardownFailures []string
	for _, c := range d.Cycles {
		for _, s := range c.Steps {
			if (s.Phase == results.PhaseTeardown || s.Phase == results.PhaseDestroy) && s.Status != results.StatusPassed {
				teardownFailures = append(teardownFailures, fmt.Sprintf("cycle %d %s %s", c.Index, s.Name, s.Status))
			}
		}
	}
	switch {
	case len(x.leftovers) > 0:
		add(CheckCleanTeardown, false, "left after destroy: "+strings.Join(x.leftovers, ", "))
	case len(teardownFailures) > 0:
		add(CheckCleanTeardown, false, "teardown did not pass: "+strings.Join(teardownFailures, ", "))
	default:
		add(CheckCleanTeardown, true, "nothing of the target was left after any cycle")
	}

	// within-budget
	switch {
	case d.BudgetMs == 0:
		add(CheckWithinBudget, true, "no budget set")
	case d.DurationMs <= d.BudgetMs:
		add(CheckWithinBudget, true, fmt.Sprintf("took %s of a %s budget", ms(d.DurationMs), ms(d.BudgetMs)))
	default:
		add(CheckWithinBudget, false, fmt.Sprintf("took %s, over the %s budget", ms(d.DurationMs), ms(d.BudgetMs)))
	}

	// not-flaky
	var flaky []string
	for _, c := range d.Cycles {
		for _, s := range c.Steps {
			if s.Flaky {
				flaky = append(flaky, fmt.Sprintf("cycle %d %s (%d attempts)", c.Index, s.Name, s.Attempts))
			}
		}
	}
	if len(flaky) > 0 {
		add(CheckNotFlaky, false, "passed only after a retry: "+strings.Join(flaky, ", "))
	} else {
		add(CheckNotFlaky, true, "no step needed a retry")
	}

	// version-controlled
	switch {
	case d.Source.URL != "" && d.Source.Commit == "":
		add(CheckVersionControlled, false, "the source repository "+d.Source.URL+" could not be cloned")
	case d.Source.URL != "":
		// Holds by construction: each cycle had what a fresh clone has.
		add(CheckVersionControlled, true, "source cloned from "+d.Source.URL+" at "+shortCommit(d.Source.Commit))
	case !d.Source.Git:
		add(CheckVersionControlled, false, "the source is not in a git repository")
	case d.Source.Dirty:
		add(CheckVersionControlled, false, "the source has uncommitted changes at "+shortCommit(d.Source.Commit))
	default:
		add(CheckVersionControlled, true, "source committed at "+shortCommit(d.Source.Commit))
	}

	holds := true
	for _, c := range checks {
		holds = holds && c.OK
	}
	return &results.Guideline{Holds: holds, Checks: checks}
}

func ms(v int64) string { return (time.Duration(v) * time.Millisecond).String() }

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
