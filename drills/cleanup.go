package drills

import (
	"context"
	"errors"
	"time"

	"github.com/redeploy-drill/drill/internal/resultstore"
)

// Cleanup is something a step created that must not outlive its cycle, such
// as a Helm release: the runner removes it at the end of the cycle, after the
// teardown steps and before the target's destroy, as a teardown step of its
// own, and drill gc removes it from its ledger entry when the run died first.
// A step hands it to Env.Defer before it creates the thing, so that the
// ledger knows of it first.
type Cleanup struct {
	// Name names the teardown step that removes it ("uninstall web").
	Name string
	// Kind is the kind recorded for that step ("helm").
	Kind string
	// Entry is how drill gc removes the thing after a crash: a ledger entry
	// of a kind the janitor knows, holding references, never secret values.
	// Defer writes it to the run's ledger, giving it its ID and Cycle; the
	// runner releases it once Remove succeeded.
	Entry resultstore.LedgerEntry
	// Remove removes the thing and checks that nothing of it is left.
	// Nothing there is success: the step may have failed before it created
	// anything.
	Remove func(ctx context.Context, env *Env) error
	// Timeout bounds Remove; zero leaves it to the runner (the target's
	// timeout).
	Timeout time.Duration
}

// Deferrer keeps the cleanups of one cycle. The runner gives each cycle's Env
// one that writes the ledger entry first; tests may use their own.
type Deferrer interface {
	Defer(c Cleanup) error
}

// DeferFunc adapts a function to Deferrer.
type DeferFunc func(c Cleanup) error

// Defer calls f.
func (f DeferFunc) Defer(c Cleanup) error { return f(c) }

// ErrNoCleanups says that a step which must clean up after itself runs
// where nothing would run its cleanup: outside a drill cycle.
var ErrNoCleanups = errors.New("this step creates something that must be removed at the end of the cycle, and nothing here would remove it (Env.Cleanups is not set)")

// Defer records c to run at the end of the cycle, newest first. Once it
// returns nil, c.Entry is in the run's ledger: only then may the step create
// what c removes. An error means the cleanup is not recorded, and the step
// must not create anything.
func (e *Env) Defer(c Cleanup) error {
	if e.Cleanups == nil {
		return ErrNoCleanups
	}
	if c.Name == "" || c.Remove == nil || c.Entry.Kind == "" {
		return errors.New("a cleanup needs a name, a Remove function and a ledger entry kind")
	}
	return e.Cleanups.Defer(c)
}
