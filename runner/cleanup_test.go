package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// deferring is a deploy step that defers one cleanup per name, each
// checking, when it runs, that its ledger entry is outstanding and that the
// target is still there.
func deferring(t *testing.T, h *harness, removed *[]string, fail map[string]error, names ...string) func(context.Context, *drills.Env) error {
	return func(_ context.Context, env *drills.Env) error {
		for _, name := range names {
			err := env.Defer(drills.Cleanup{
				Name:  "uninstall " + name,
				Kind:  "helm",
				Entry: resultstore.LedgerEntry{Kind: resultstore.LedgerHelmRelease, Release: name, Namespace: "default", Kubeconfig: "/kubeconfig"},
				Remove: func(ctx context.Context, env *drills.Env) error {
					assert.NoError(t, ctx.Err(), "a cleanup runs under a live context")
					destroys := 0
					for _, c := range h.target.Calls() {
						if c == "destroy" {
							destroys++
						}
					}
					assert.Equal(t, env.Cycle-1, destroys, "cleanups run before the cycle's destroy")
					outstanding, err := resultstore.ReadLedger(h.store.Ledger("demo", env.RunID).Path())
					require.NoError(t, err)
					var releases []string
					for _, e := range outstanding {
						if e.Kind == resultstore.LedgerHelmRelease {
							releases = append(releases, e.Release)
						}
					}
					assert.Contains(t, releases, name, "its ledger entry is outstanding while it runs")
					time.Sleep(time.Second)
					*removed = append(*removed, name)
					return fail[name]
				},
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRunDeferredCleanupsRunNewestFirstBeforeDestroy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var removed []string
		h.plan.Steps = []runner.Step{
			step("charts", deploy, time.Minute, deferring(t, h, &removed, nil, "web", "db")),
			step("healthy", verify, time.Minute, sleeper(time.Second)),
		}
		h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, sleeper(time.Second))}

		doc := h.run(t.Context())

		assert.Equal(t, results.StatusPassed, doc.Status)
		for _, c := range doc.Cycles {
			assert.Equal(t, []string{"workdir", "provision", "charts", "healthy", "stop", "uninstall db", "uninstall web", "destroy"}, names(c))
			assert.Equal(t, []string{"provision", "provision", "deploy", "verify", "teardown", "teardown", "teardown", "destroy"}, stepPhases(c))
			assert.Equal(t, []int64{0, 0, 0, 1000, 1000, 1000, 1000, 0}, durations(c))
			assert.Equal(t, "helm", stepNamed(t, c, "uninstall web").Kind)
			assert.Equal(t, int64(600000), stepNamed(t, c, "uninstall web").TimeoutMs, "the target's timeout")
		}
		assert.Equal(t, []string{"db", "web", "db", "web"}, removed)
		assert.True(t, checkOK(t, doc)[runner.CheckCleanTeardown])

		outstanding, err := resultstore.ReadLedger(h.store.Ledger("demo", doc.RunID).Path())
		require.NoError(t, err)
		assert.Empty(t, outstanding, "every cleanup released its entry")
		created := ledgerCreated(t, h, doc)
		assert.Equal(t, []string{"c1/helm-release/1", "c1/helm-release/2", "c2/helm-release/1", "c2/helm-release/2"}, created[resultstore.LedgerHelmRelease])
	})
}

// ledgerCreated returns the IDs of every entry the run created, by kind.
func ledgerCreated(t *testing.T, h *harness, doc *results.Run) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(h.store.Ledger("demo", doc.RunID).Path())
	require.NoError(t, err)
	out := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e resultstore.LedgerEntry
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		if e.Op == "create" {
			out[e.Kind] = append(out[e.Kind], e.ID)
		}
	}
	return out
}

func TestRunFailedCleanupKeepsItsEntryAndFailsCleanTeardown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		var removed []string
		fail := map[string]error{"web": &drills.LeftoverError{When: "after uninstalling release web", Items: []string{"deployment.apps/web -n default"}}}
		h.plan.Steps = []runner.Step{step("charts", deploy, time.Minute, deferring(t, h, &removed, fail, "web", "db"))}

		doc := h.run(t.Context())

		c := doc.Cycles[0]
		assert.Equal(t, []results.Status{"passed", "passed", "passed", "passed", "failed", "passed"}, statuses(c))
		assert.Equal(t, []string{"db", "web"}, removed, "a failed cleanup does not stop the others nor the destroy")
		web := stepNamed(t, c, "uninstall web")
		require.NotNil(t, web.Error)
		assert.Equal(t, results.ReasonLeftovers, web.Error.Reason)
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonTeardownFailed, doc.Error.Reason)
		assert.Contains(t, doc.Error.Message, "deployment.apps/web -n default")
		assert.False(t, checkOK(t, doc)[runner.CheckCleanTeardown])

		outstanding, err := resultstore.ReadLedger(h.store.Ledger("demo", doc.RunID).Path())
		require.NoError(t, err)
		require.Len(t, outstanding, 1, "only the release still there is left for drill gc")
		assert.Equal(t, "web", outstanding[0].Release)
		assert.Equal(t, 1, outstanding[0].Cycle)
	})
}

func TestRunKeepOnFailureKeepsDeferredCleanups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		h.with(runner.WithKeepOnFailure(true))
		var removed []string
		defer1 := deferring(t, h, &removed, nil, "web")
		h.plan.Steps = []runner.Step{step("chart", deploy, time.Minute, func(ctx context.Context, env *drills.Env) error {
			require.NoError(t, defer1(ctx, env))
			return errors.New("rollout failed")
		})}

		doc := h.run(t.Context())

		c := doc.Cycles[0]
		assert.Equal(t, []string{"workdir", "provision", "chart", "uninstall web", "destroy"}, names(c))
		assert.Equal(t, results.StatusSkipped, stepNamed(t, c, "uninstall web").Status)
		assert.Empty(t, removed)
		outstanding, err := resultstore.ReadLedger(h.store.Ledger("demo", doc.RunID).Path())
		require.NoError(t, err)
		assert.Contains(t, ledgerIDs(outstanding), "c1/helm-release/1", "drill gc uninstalls what was kept")
	})
}

func TestEnvDeferOutsideACycleFails(t *testing.T) {
	env := &drills.Env{}
	err := env.Defer(drills.Cleanup{Name: "uninstall web", Entry: resultstore.LedgerEntry{Kind: resultstore.LedgerHelmRelease},
		Remove: func(context.Context, *drills.Env) error { return nil }})
	require.ErrorIs(t, err, drills.ErrNoCleanups)

	var got []drills.Cleanup
	env.Cleanups = drills.DeferFunc(func(c drills.Cleanup) error { got = append(got, c); return nil })
	assert.Error(t, env.Defer(drills.Cleanup{Name: "no remove", Entry: resultstore.LedgerEntry{Kind: "x"}}))
	assert.Empty(t, got, "an incomplete cleanup is refused before it is recorded")
}

func TestRunStepIdempotencyOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		checked := 0
		off := runner.Step{Name: "chart", Kind: "helm", Phase: deploy, Timeout: time.Minute, IdempotencyOff: true,
			Action: idemStep{run: sleeper(0), check: func(context.Context, *drills.Env) error {
				checked++
				return &drills.NotIdempotentError{Changes: []string{"secret/web"}}
			}}}
		h.plan.Steps = []runner.Step{off}

		doc := h.run(t.Context())

		assert.Zero(t, checked, "the step's check is not run")
		c := checks(t, doc)[runner.CheckIdempotent]
		assert.True(t, c.OK)
		assert.Equal(t, "re-applying right after deploy changes nothing; turned off for step chart (idempotent: false)", c.Detail)
	})
}
