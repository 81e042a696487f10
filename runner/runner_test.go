package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/run"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

const (
	deploy   = results.PhaseDeploy
	verify   = results.PhaseVerify
	teardown = results.PhaseTeardown
)

// mustNotRun is a step that fails the test if the runner runs it.
func mustNotRun(t *testing.T) func(context.Context, *drills.Env) error {
	return func(context.Context, *drills.Env) error {
		t.Errorf("a step that must be skipped ran")
		return errors.New("must not run")
	}
}

func TestRunPassesTwoCyclesInOrderWithExactDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHarness(t)
		h.target.provision = func(context.Context, *drills.Env) error { time.Sleep(5 * time.Second); return nil }
		h.target.destroy = func(context.Context, *drills.Env) error { time.Sleep(6 * time.Second); return nil }
		var (
			workdirs []string
			copied   []string
			vars     []map[string]string
			// what the document on disk says of cycle 1 while cycle 2 runs
			firstCycle results.Cycle
		)
		h.plan.Steps = []runner.Step{
			step("build", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
				data, err := os.ReadFile(filepath.Join(env.Workdir, "app.txt"))
				if err != nil {
					return err
				}
				workdirs = append(workdirs, env.Workdir)
				copied = append(copied, string(data))
				vars = append(vars, maps(env.Vars))
				if env.Cycle == 2 {
					// No synctest.Wait: the end of a cycle is written before the next starts.
					doc, err := results.ReadRun(h.store.RunPath("demo", env.RunID))
					if err != nil {
						return err
					}
					firstCycle = doc.Cycles[0]
				}
				time.Sleep(3 * time.Second)
				return nil
			}),
			step("start", deploy, time.Minute, sleeper(time.Second)),
			step("healthy", verify, time.Minute, sleeper(2*time.Second)),
		}
		h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, sleeper(4*time.Second))}

		doc := h.run(t.Context())

		assert.Equal(t, results.StatusPassed, doc.Status)
		assert.Nil(t, doc.Error)
		assert.Equal(t, "manual", doc.Trigger, "default trigger")
		assert.True(t, doc.StartedAt.Equal(start), "started at %s, want %s", doc.StartedAt, start)
		require.NotNil(t, doc.FinishedAt)
		assert.True(t, doc.FinishedAt.Equal(start.Add(42*time.Second)), "finished at %s", doc.FinishedAt)
		assert.Equal(t, int64(42000), doc.DurationMs)
		require.Len(t, doc.Cycles, 2)
		for i, c := range doc.Cycles {
			assert.Equal(t, i+1, c.Index)
			assert.Equal(t, results.StatusPassed, c.Status)
			assert.Equal(t, []string{"workdir", "provision", "build", "start", "healthy", "stop", "destroy"}, names(c))
			assert.Equal(t, []string{"provision", "provision", "deploy", "deploy", "verify", "teardown", "destroy"}, stepPhases(c))
			assert.Equal(t, []results.Status{"passed", "passed", "passed", "passed", "passed", "passed", "passed"}, statuses(c))
			assert.Equal(t, []int64{0, 5000, 3000, 1000, 2000, 4000, 6000}, durations(c))
			assert.Equal(t, results.Phases{ProvisionMs: 5000, DeployMs: 4000, VerifyMs: 2000, TeardownMs: 10000}, c.Phases)
			assert.Equal(t, int64(21000), c.DurationMs)
			assert.True(t, c.StartedAt.Equal(start.Add(time.Duration(i)*21*time.Second)), "cycle %d started at %s", c.Index, c.StartedAt)
			for _, s := range c.Steps {
				assert.Equal(t, 1, s.Attempts, s.Name)
				assert.False(t, s.Flaky, s.Name)
				assert.Nil(t, s.Error, s.Name)
				assert.Equal(t, "platform", s.Owner, s.Name)
				path, err := h.store.Resolve(s.Log)
				require.NoError(t, err)
				assert.FileExists(t, path, "log of %s", s.Name)
			}
			assert.Equal(t, "fake", stepNamed(t, c, "provision").Kind)
			assert.Equal(t, int64(600000), stepNamed(t, c, "provision").TimeoutMs)
			assert.Equal(t, int64(60000), stepNamed(t, c, "build").TimeoutMs)
		}

		assert.Equal(t, results.StatusPassed, firstCycle.Status)
		assert.Equal(t, int64(21000), firstCycle.DurationMs)
		assert.Len(t, firstCycle.Steps, 7)

		// Each cycle had its own fresh copy of the source, removed afterwards.
		require.Len(t, workdirs, 2)
		assert.NotEqual(t, workdirs[0], workdirs[1])
		assert.Equal(t, []string{"hello\n", "hello\n"}, copied)
		for _, w := range workdirs {
			assert.NoDirExists(t, w)
		}
		// Steps see the plan's environment and DRILL_*, nothing else.
		for i, v := range vars {
			assert.Equal(t, map[string]string{
				"PATH": os.Getenv("PATH"), "APP_PORT": "18080",
				"DRILL_RUN_ID": doc.RunID, "DRILL_SCENARIO": "demo", "DRILL_CYCLE": fmt.Sprint(i + 1),
				"DRILL_WORKDIR": workdirs[i], "DRILL_RESULTS_DIR": h.store.Dir,
			}, v)
		}
		cycleCalls := []string{"preexisting", "provision", "outputs", "idempotent", "destroy", "leftovers"}
		assert.Equal(t, append(append([]string(nil), cycleCalls...), cycleCalls...), h.target.Calls())

		want := allChecksOK()
		want[runner.CheckVersionControlled] = false
		assert.Equal(t, want, checkOK(t, doc))
		assert.Equal(t, "the source is not in a git repository", checks(t, doc)[runner.CheckVersionControlled].Detail)
		assert.Equal(t, "2 of 2 cycles passed", checks(t, doc)[runner.CheckRepeatable].Detail)
		assert.Equal(t, "re-applying right after deploy changes nothing", checks(t, doc)[runner.CheckIdempotent].Detail)
		assert.False(t, doc.Guideline.Holds)
		assert.False(t, doc.Source.Git)

		// The stored document is the finished one, and the run is indexed.
		stored := h.onDisk(doc)
		assert.Equal(t, results.StatusPassed, stored.Status)
		assert.Equal(t, int64(42000), stored.DurationMs)
		assert.Equal(t, doc.Cycles[1].Phases, stored.Cycles[1].Phases)
		latest, err := h.store.Latest("demo")
		require.NoError(t, err)
		assert.Equal(t, doc.RunID, latest.RunID)
	})
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestRunWritesARunningDocumentAndEmitsEventsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		var during *results.Run
		h.plan.Steps = []runner.Step{step("probe", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
			// The runner writes the document in the background: let it finish.
			synctest.Wait()
			doc, err := results.ReadRun(h.store.RunPath("demo", env.RunID))
			during = doc
			time.Sleep(time.Second)
			return err
		})}
		h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, sleeper(0))}
		var events []string
		var finalStatus results.Status
		h.with(runner.WithObserver(func(e runner.Event) {
			line := eventName(e.Kind)
			if e.Step != nil {
				line += " " + e.Step.Name + " " + string(e.Step.Status)
			}
			if e.Kind == runner.RunFinished {
				finalStatus = e.Run.Status
			}
			events = append(events, line)
		}))

		doc := h.run(t.Context())

		require.NotNil(t, during, "the probe step read the document")
		assert.Equal(t, results.StatusRunning, during.Status)
		assert.Nil(t, during.FinishedAt)
		require.Len(t, during.Cycles, 1)
		assert.Equal(t, results.StatusRunning, during.Cycles[0].Status)
		assert.Equal(t, []string{"workdir", "provision", "probe"}, names(during.Cycles[0]))
		require.Equal(t, []results.Status{"passed", "passed", "running"}, statuses(during.Cycles[0]))
		assert.NotNil(t, during.Cycles[0].Steps[2].StartedAt)

		assert.Equal(t, []string{
			"RunStarted", "CycleStarted",
			"StepStarted workdir running", "StepFinished workdir passed",
			"StepStarted provision running", "StepFinished provision passed",
			"StepStarted probe running", "StepFinished probe passed",
			"StepStarted stop running", "StepFinished stop passed",
			"StepStarted destroy running", "StepFinished destroy passed",
			"CycleFinished", "RunFinished",
		}, events)
		assert.Equal(t, results.StatusPassed, finalStatus, "RunFinished carries the final status")

		stored := h.onDisk(doc)
		assert.Equal(t, results.StatusPassed, stored.Status)
		assert.NotNil(t, stored.FinishedAt)
		assert.Equal(t, results.StatusPassed, stored.Cycles[0].Status)
	})
}

func eventName(k runner.EventKind) string {
	return map[runner.EventKind]string{
		runner.RunStarted: "RunStarted", runner.CycleStarted: "CycleStarted",
		runner.StepStarted: "StepStarted", runner.StepFinished: "StepFinished",
		runner.CycleFinished: "CycleFinished", runner.RunFinished: "RunFinished",
		runner.Notice: "Notice",
	}[k]
}

func TestRunStepTimeout(t *testing.T) {
	tests := []struct {
		name     string
		action   func(context.Context, *drills.Env) error
		duration int64
	}{
		{name: "blocks until its deadline", action: blocker, duration: 2000},
		{name: "returns cleanly but too late", action: sleeper(5 * time.Second), duration: 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.plan.Cycles = 1
				stopped := false
				h.plan.Steps = []runner.Step{
					step("hang", deploy, 2*time.Second, tt.action),
					step("after", deploy, time.Minute, mustNotRun(t)),
					step("healthy", verify, time.Minute, mustNotRun(t)),
				}
				h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, func(context.Context, *drills.Env) error {
					stopped = true
					return nil
				})}

				doc := h.run(t.Context())

				require.Len(t, doc.Cycles, 1)
				c := doc.Cycles[0]
				assert.Equal(t, []results.Status{"passed", "passed", "timedOut", "skipped", "skipped", "passed", "passed"}, statuses(c))
				hang := stepNamed(t, c, "hang")
				require.NotNil(t, hang.Error)
				assert.Equal(t, results.ReasonTimeout, hang.Error.Reason)
				assert.Contains(t, hang.Error.Message, "step hang timed out after 2s")
				assert.Equal(t, tt.duration, hang.DurationMs)
				assert.Equal(t, int64(2000), hang.TimeoutMs)
				assert.Equal(t, 1, hang.Attempts)
				for _, name := range []string{"after", "healthy"} {
					s := stepNamed(t, c, name)
					require.NotNil(t, s.Error, name)
					assert.Equal(t, results.ReasonSkipped, s.Error.Reason, name)
					assert.Zero(t, s.DurationMs, name)
				}
				assert.True(t, stopped, "teardown ran")
				assert.Contains(t, h.target.Calls(), "destroy")
				assert.NotContains(t, h.target.Calls(), "idempotent", "no idempotency check of a failed deploy")
				assert.Equal(t, results.StatusTimedOut, c.Status)
				assert.Equal(t, results.StatusTimedOut, doc.Status)
				require.NotNil(t, doc.Error)
				assert.Equal(t, results.ReasonTimeout, doc.Error.Reason)
				assert.Contains(t, doc.Error.Message, "cycle 1, step hang: ")
			})
		})
	}
}

func TestRunRetries(t *testing.T) {
	tests := []struct {
		name     string
		step     func(calls *int) runner.Step
		status   results.Status
		attempts int
		flaky    bool
		duration int64
		reason   results.Reason
	}{
		{
			name: "fails twice then passes: flaky",
			step: func(calls *int) runner.Step {
				s := step("migrate", deploy, time.Minute, func(context.Context, *drills.Env) error {
					*calls++
					time.Sleep(time.Second)
					if *calls < 3 {
						return errors.New("not yet")
					}
					return nil
				})
				s.Retries, s.RetryDelay = 2, 5*time.Second
				return s
			},
			status: results.StatusPassed, attempts: 3, flaky: true,
			duration: 3*1000 + 2*5000,
		},
		{
			name: "fails every attempt",
			step: func(calls *int) runner.Step {
				s := step("migrate", deploy, time.Minute, func(context.Context, *drills.Env) error {
					*calls++
					time.Sleep(time.Second)
					return errors.New("not yet")
				})
				s.Retries, s.RetryDelay = 1, 5*time.Second
				return s
			},
			status: results.StatusFailed, attempts: 2, duration: 2*1000 + 5000, reason: results.ReasonStepFailed,
		},
		{
			name: "times out every attempt",
			step: func(calls *int) runner.Step {
				s := step("migrate", deploy, 2*time.Second, func(ctx context.Context, env *drills.Env) error {
					*calls++
					return blocker(ctx, env)
				})
				s.Retries, s.RetryDelay = 1, 3*time.Second
				return s
			},
			status: results.StatusTimedOut, attempts: 2, duration: 2*2000 + 3000, reason: results.ReasonTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.plan.Cycles = 1
				calls := 0
				h.plan.Steps = []runner.Step{tt.step(&calls)}

				doc := h.run(t.Context())

				s := stepNamed(t, doc.Cycles[0], "migrate")
				assert.Equal(t, tt.status, s.Status)
				assert.Equal(t, tt.attempts, s.Attempts)
				assert.Equal(t, tt.attempts, calls)
				assert.Equal(t, tt.flaky, s.Flaky)
				assert.Equal(t, tt.duration, s.DurationMs)
				if tt.reason == "" {
					assert.Nil(t, s.Error)
				} else if assert.NotNil(t, s.Error) {
					assert.Equal(t, tt.reason, s.Error.Reason)
				}
				assert.Equal(t, !tt.flaky, checkOK(t, doc)[runner.CheckNotFlaky])
				if tt.flaky {
					assert.Equal(t, results.StatusPassed, doc.Status)
					assert.Equal(t, "passed only after a retry: cycle 1 migrate (3 attempts)", checks(t, doc)[runner.CheckNotFlaky].Detail)
				}
				path, err := h.store.Resolve(s.Log)
				require.NoError(t, err)
				log, err := os.ReadFile(path)
				require.NoError(t, err)
				assert.Contains(t, string(log), "--- attempt 1 failed: ")
				assert.Contains(t, string(log), fmt.Sprintf("--- attempt %d of %d", tt.attempts, tt.attempts))
			})
		})
	}
}

func TestRunFailureInFirstCycleStillTearsDownAndRunsTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		var workdirs []string
		stops := 0
		h.plan.Steps = []runner.Step{
			step("deploy", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
				workdirs = append(workdirs, env.Workdir)
				if env.Cycle == 1 {
					return errors.New("exit status 1")
				}
				return nil
			}),
			step("healthy", verify, time.Minute, func(_ context.Context, env *drills.Env) error {
				if env.Cycle == 1 {
					t.Errorf("verify ran after a failed deploy")
				}
				return nil
			}),
		}
		h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, func(context.Context, *drills.Env) error {
			stops++
			return nil
		})}

		doc := h.run(t.Context())

		require.Len(t, doc.Cycles, 2)
		c1, c2 := doc.Cycles[0], doc.Cycles[1]
		assert.Equal(t, []string{"workdir", "provision", "deploy", "healthy", "stop", "destroy"}, names(c1))
		assert.Equal(t, []results.Status{"passed", "passed", "failed", "skipped", "passed", "passed"}, statuses(c1))
		assert.Equal(t, results.StatusFailed, c1.Status)
		require.NotNil(t, stepNamed(t, c1, "deploy").Error)
		assert.Equal(t, results.ReasonStepFailed, stepNamed(t, c1, "deploy").Error.Reason)
		assert.Equal(t, []results.Status{"passed", "passed", "passed", "passed", "passed", "passed"}, statuses(c2))
		assert.Equal(t, results.StatusPassed, c2.Status)

		assert.Equal(t, 2, stops, "teardown ran in both cycles")
		require.Len(t, workdirs, 2)
		assert.NotEqual(t, workdirs[0], workdirs[1], "the second cycle starts from a new workdir")
		assert.Equal(t, []string{
			"preexisting", "provision", "outputs", "destroy", "leftovers",
			"preexisting", "provision", "outputs", "idempotent", "destroy", "leftovers",
		}, h.target.Calls())

		assert.Equal(t, results.StatusFailed, doc.Status)
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonStepFailed, doc.Error.Reason)
		assert.Equal(t, "cycle 1, step deploy: exit status 1", doc.Error.Message)
		assert.False(t, checkOK(t, doc)[runner.CheckRepeatable])
		assert.Equal(t, "1 of 2 cycles passed", checks(t, doc)[runner.CheckRepeatable].Detail)
		assert.True(t, checkOK(t, doc)[runner.CheckCleanTeardown])
	})
}

func TestRunCanceledMidStepTearsDownAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var teardownCtxErr, destroyCtxErr error
		teardownRan, destroyRan := false, false
		h.target.destroy = func(ctx context.Context, _ *drills.Env) error {
			destroyRan, destroyCtxErr = true, ctx.Err()
			return ctx.Err()
		}
		h.plan.Steps = []runner.Step{
			step("build", deploy, time.Minute, sleeper(time.Second)),
			step("start", deploy, 10*time.Minute, func(ctx context.Context, env *drills.Env) error {
				time.AfterFunc(3*time.Second, cancel) // the operator presses Ctrl-C
				return blocker(ctx, env)
			}),
			step("healthy", verify, time.Minute, mustNotRun(t)),
		}
		h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, func(ctx context.Context, _ *drills.Env) error {
			teardownRan, teardownCtxErr = true, ctx.Err()
			time.Sleep(2 * time.Second)
			return ctx.Err()
		})}

		doc := h.run(ctx)

		require.Len(t, doc.Cycles, 1, "no cycle starts after the cancel")
		c := doc.Cycles[0]
		assert.Equal(t, []string{"workdir", "provision", "build", "start", "healthy", "stop", "destroy"}, names(c))
		assert.Equal(t, []results.Status{"passed", "passed", "passed", "canceled", "skipped", "passed", "passed"}, statuses(c))
		start := stepNamed(t, c, "start")
		require.NotNil(t, start.Error)
		assert.Equal(t, results.ReasonCanceled, start.Error.Reason)
		assert.Equal(t, int64(3000), start.DurationMs)
		assert.True(t, teardownRan)
		assert.NoError(t, teardownCtxErr, "teardown runs under a context the interrupt did not cancel")
		assert.Equal(t, int64(2000), stepNamed(t, c, "stop").DurationMs)
		assert.True(t, destroyRan)
		assert.NoError(t, destroyCtxErr, "destroy runs under a context the interrupt did not cancel")
		assert.Equal(t, results.StatusCanceled, c.Status)

		assert.Equal(t, results.StatusCanceled, doc.Status)
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonCanceled, doc.Error.Reason)
		assert.Contains(t, doc.Error.Message, "teardown ran")
		assert.Equal(t, 1, strings.Count(strings.Join(h.target.Calls(), ","), "provision"))
		assert.Equal(t, results.StatusCanceled, h.onDisk(doc).Status)
	})
}

func TestRunCanceledBeforeTheFirstCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Steps = []runner.Step{step("build", deploy, time.Minute, mustNotRun(t))}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		doc := h.run(ctx)

		assert.Empty(t, doc.Cycles)
		assert.Empty(t, h.target.Calls(), "nothing was provisioned")
		assert.Equal(t, results.StatusCanceled, doc.Status)
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonCanceled, doc.Error.Reason)
		assert.Equal(t, "the drill was interrupted before its first cycle", doc.Error.Message)
		assert.Equal(t, results.StatusCanceled, h.onDisk(doc).Status)
	})
}

func TestRunTeardownTimeout(t *testing.T) {
	tests := []struct {
		name     string
		canceled bool
		stop     func(context.Context, *drills.Env) error
		status   results.Status
		duration int64
		timeout  int64
	}{
		{
			name: "after a cancel, capped by Runner.TeardownTimeout", canceled: true,
			stop: blocker, status: results.StatusTimedOut, duration: 3000, timeout: 3000,
		},
		{
			name: "without a cancel, the step's own timeout", canceled: false,
			stop: sleeper(5 * time.Second), status: results.StatusPassed, duration: 5000, timeout: 600000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.with(runner.WithTeardownTimeout(3 * time.Second))
				h.plan.Cycles = 1
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				h.plan.Steps = []runner.Step{step("start", deploy, time.Minute, func(ctx context.Context, env *drills.Env) error {
					if !tt.canceled {
						return nil
					}
					cancel()
					return blocker(ctx, env)
				})}
				h.plan.Teardown = []runner.Step{step("stop", teardown, 10*time.Minute, tt.stop)}
				if tt.canceled {
					h.target.destroy = blocker
				}

				doc := h.run(ctx)

				c := doc.Cycles[0]
				stop := stepNamed(t, c, "stop")
				assert.Equal(t, tt.status, stop.Status)
				assert.Equal(t, tt.duration, stop.DurationMs)
				assert.Equal(t, tt.timeout, stop.TimeoutMs)
				destroy := stepNamed(t, c, "destroy")
				assert.Equal(t, tt.status == results.StatusPassed, destroy.Status == results.StatusPassed)
				if tt.canceled {
					assert.Equal(t, results.StatusTimedOut, destroy.Status)
					assert.Equal(t, int64(3000), destroy.DurationMs)
					assert.Equal(t, int64(3000), destroy.TimeoutMs)
					assert.Equal(t, results.StatusCanceled, doc.Status)
					require.NotNil(t, doc.Error)
					assert.Equal(t, results.ReasonCanceled, doc.Error.Reason)
					assert.NotContains(t, doc.Error.Message, "teardown ran", "teardown did not pass: do not claim it ran")
					assert.Contains(t, doc.Error.Message, "drill gc")
					assert.False(t, checkOK(t, doc)[runner.CheckCleanTeardown])
				} else {
					assert.Equal(t, results.StatusPassed, doc.Status)
				}
			})
		})
	}
}

func TestRunBudget(t *testing.T) {
	tests := []struct {
		name   string
		budget time.Duration
		ok     bool
		detail string
	}{
		{name: "exceeded", budget: 5 * time.Second, ok: false, detail: "took 8s, over the 5s budget"},
		{name: "kept", budget: 10 * time.Second, ok: true, detail: "took 8s of a 10s budget"},
		{name: "none set", budget: 0, ok: true, detail: "no budget set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.plan.Cycles = 1
				h.plan.Budget = tt.budget
				h.plan.Steps = []runner.Step{step("slow", deploy, time.Minute, sleeper(8*time.Second))}

				doc := h.run(t.Context())

				assert.Equal(t, results.StatusPassed, doc.Status, "a budget overrun is a guideline finding, not a failure")
				assert.Nil(t, doc.Error)
				assert.Equal(t, tt.budget.Milliseconds(), doc.BudgetMs)
				assert.Equal(t, int64(8000), doc.DurationMs)
				got := checks(t, doc)[runner.CheckWithinBudget]
				assert.Equal(t, tt.ok, got.OK)
				assert.Equal(t, tt.detail, got.Detail)
			})
		})
	}
}

func TestRunExportsOutputsAndRedactsSecrets(t *testing.T) {
	const (
		planSecret = "plan-secret-123"
		tfSecret   = "tf-secret-456"
	)
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		h.plan.Env["DB_PASSWORD"] = planSecret
		h.plan.Secrets = []string{planSecret}
		h.target.outputs = map[string]string{"app_port": "18080", "db_password": tfSecret, "api-host": "api.local"}
		h.target.sensitive = []string{tfSecret}
		var seen map[string]string
		h.plan.Steps = []runner.Step{step("login", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
			seen = maps(env.Vars)
			out := env.Output()
			fmt.Fprintf(out, "connecting with %s\n", env.Vars["DB_PASSWORD"])
			// A secret split across two writes is still masked.
			fmt.Fprint(out, "token tf-sec")
			fmt.Fprint(out, "ret-456 ok\n")
			fmt.Fprintf(out, "no newline at the end %s", planSecret)
			return fmt.Errorf("login as %s/%s refused", env.Vars["DB_PASSWORD"], env.Vars["DRILL_OUTPUT_DB_PASSWORD"])
		})}

		doc := h.run(t.Context())

		assert.Equal(t, "18080", seen["DRILL_OUTPUT_APP_PORT"])
		assert.Equal(t, tfSecret, seen["DRILL_OUTPUT_DB_PASSWORD"])
		assert.Equal(t, "api.local", seen["DRILL_OUTPUT_API_HOST"], "a Terraform output name with a dash becomes a usable variable name")
		assert.Equal(t, planSecret, seen["DB_PASSWORD"])

		s := stepNamed(t, doc.Cycles[0], "login")
		require.NotNil(t, s.Error)
		assert.Equal(t, "login as ***/*** refused", s.Error.Message)
		assert.Equal(t, "connecting with ***\ntoken *** ok\nno newline at the end ***\n--- attempt 1 failed: login as ***/*** refused", s.Error.OutputTail)
		require.NotNil(t, doc.Error)
		assert.Equal(t, "cycle 1, step login: login as ***/*** refused", doc.Error.Message)
		path, err := h.store.Resolve(s.Log)
		require.NoError(t, err)
		log, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "connecting with ***\ntoken *** ok\nno newline at the end ***\n--- attempt 1 failed: login as ***/*** refused\n", string(log))

		for _, secret := range []string{planSecret, tfSecret} {
			assert.Empty(t, filesContaining(t, h.store.Dir, secret), "files holding %q", secret)
		}
	})
}

func TestRunLeftoversAfterDestroy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		h.target.leftovers = []string{"terraform_data.web"}
		h.plan.Target.Ledger = func(env *drills.Env, _ drills.Target) *resultstore.LedgerEntry {
			return &resultstore.LedgerEntry{Kind: resultstore.LedgerTerraform, Terraform: &resultstore.LedgerTerraformTarget{WorkingDir: env.Workdir}}
		}
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, sleeper(0))}

		doc := h.run(t.Context())

		destroy := stepNamed(t, doc.Cycles[0], "destroy")
		assert.Equal(t, results.StatusFailed, destroy.Status)
		require.NotNil(t, destroy.Error)
		assert.Equal(t, results.ReasonLeftovers, destroy.Error.Reason)
		assert.Equal(t, "left after destroy: terraform_data.web", destroy.Error.Message)
		// The state is never deleted while its target is not released: the
		// workdir that holds it stays, and so do their ledger entries (and
		// the run's processes entry), for drill gc.
		outstanding, err := resultstore.ReadLedger(h.store.Ledger(doc.Scenario.Name, doc.RunID).Path())
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"c1/target", "c1/workdir", "processes"}, ledgerIDs(outstanding))
		assert.DirExists(t, doc.Cycles[0].Workdir, "the workdir holding the state is kept")
		assert.Equal(t, results.StatusPassed, stepNamed(t, doc.Cycles[0], "deploy").Status)

		assert.Equal(t, results.StatusFailed, doc.Status)
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonTeardownFailed, doc.Error.Reason)
		assert.Contains(t, doc.Error.Message, "cycle 1, step destroy: left after destroy: terraform_data.web")
		assert.Contains(t, doc.Error.Message, "left behind: terraform state in "+doc.Cycles[0].Workdir)
		assert.Contains(t, doc.Error.Message, "its workdir "+doc.Cycles[0].Workdir+" is kept")
		assert.Contains(t, doc.Error.Message, "drill gc")
		clean := checks(t, doc)[runner.CheckCleanTeardown]
		assert.False(t, clean.OK)
		assert.Equal(t, "left after destroy: terraform_data.web", clean.Detail)
	})
}

func ledgerIDs(entries []resultstore.LedgerEntry) []string {
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestRunGuidelineFindingsOfAPassingDrill(t *testing.T) {
	notIdempotent := func(context.Context, *drills.Env) error {
		return &drills.NotIdempotentError{Changes: []string{"terraform_data.web"}}
	}
	tests := []struct {
		name  string
		setup func(h *harness)
		check string
		ok    bool
		// detail is a part of the check's detail.
		detail string
		calls  []string
	}{
		{
			name:   "preexisting target: not from scratch",
			setup:  func(h *harness) { h.target.preexisting = []string{"cluster drill-demo-1"} },
			check:  runner.CheckFromScratch,
			detail: "found before provisioning: cluster drill-demo-1",
		},
		{
			name:   "target not idempotent",
			setup:  func(h *harness) { h.target.idempotent = notIdempotent },
			check:  runner.CheckIdempotent,
			detail: "cycle 1: target fake: not idempotent: re-applying would change terraform_data.web",
		},
		{
			name: "deploy step not idempotent",
			setup: func(h *harness) {
				h.plan.Steps[0].Action = idemStep{run: sleeper(0), check: notIdempotent}
			},
			check:  runner.CheckIdempotent,
			detail: "cycle 1: step deploy: not idempotent",
		},
		{
			name: "idempotency check turned off",
			setup: func(h *harness) {
				h.plan.Target.Idempotent = false
				h.target.idempotent = notIdempotent
				h.plan.Steps[0].Action = idemStep{run: sleeper(0), check: notIdempotent}
			},
			check: runner.CheckIdempotent, ok: true,
			detail: "turned off",
			calls:  []string{"preexisting", "provision", "outputs", "destroy", "leftovers"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.plan.Cycles = 1
				h.plan.Steps = []runner.Step{
					step("deploy", deploy, time.Minute, sleeper(time.Second)),
					step("healthy", verify, time.Minute, sleeper(time.Second)),
				}
				tt.setup(h)

				doc := h.run(t.Context())

				assert.Equal(t, results.StatusPassed, doc.Status)
				assert.Nil(t, doc.Error)
				for _, s := range doc.Cycles[0].Steps {
					assert.Equal(t, results.StatusPassed, s.Status, s.Name)
				}
				want := allChecksOK()
				want[runner.CheckVersionControlled] = false
				want[runner.CheckRepeatable] = false // one cycle
				want[tt.check] = tt.ok
				assert.Equal(t, want, checkOK(t, doc))
				assert.Contains(t, checks(t, doc)[tt.check].Detail, tt.detail)
				if tt.calls != nil {
					assert.Equal(t, tt.calls, h.target.Calls())
				}
			})
		})
	}
}

func TestRunManualStep(t *testing.T) {
	approve := runner.Step{Name: "approve", Kind: "manual", Phase: deploy, Timeout: time.Hour, Manual: "press the big red button"}

	t.Run("unattended fails as not automated", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			h.plan.Cycles = 1
			h.plan.Steps = []runner.Step{approve, step("healthy", verify, time.Minute, mustNotRun(t))}

			doc := h.run(t.Context())

			s := stepNamed(t, doc.Cycles[0], "approve")
			assert.Equal(t, results.StatusFailed, s.Status)
			assert.True(t, s.Manual)
			require.NotNil(t, s.Error)
			assert.Equal(t, results.ReasonNotAutomated, s.Error.Reason)
			assert.Equal(t, results.StatusSkipped, stepNamed(t, doc.Cycles[0], "healthy").Status)
			assert.Equal(t, results.StatusFailed, doc.Status)
			require.NotNil(t, doc.Error)
			assert.Equal(t, results.ReasonNotAutomated, doc.Error.Reason)
			assert.False(t, checkOK(t, doc)[runner.CheckAutomated])
			assert.Contains(t, checks(t, doc)[runner.CheckAutomated].Detail, "approve")
		})
	})

	t.Run("confirmed by an operator passes, still not automated", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			h.plan.Cycles = 1
			var asked []string
			h.with(runner.WithPrompter(fakePrompter{confirm: func(_ context.Context, step, instructions string) error {
				asked = append(asked, step+": "+instructions)
				time.Sleep(7 * time.Second) // the operator takes their time
				return nil
			}}))
			h.plan.Steps = []runner.Step{approve, step("healthy", verify, time.Minute, sleeper(time.Second))}

			doc := h.run(t.Context())

			assert.Equal(t, []string{"approve: press the big red button"}, asked)
			s := stepNamed(t, doc.Cycles[0], "approve")
			assert.Equal(t, results.StatusPassed, s.Status)
			assert.True(t, s.Manual)
			assert.Equal(t, int64(7000), s.WaitedMs)
			assert.Equal(t, int64(7000), s.DurationMs)
			assert.Equal(t, 1, s.Attempts)
			assert.Nil(t, s.Error)
			assert.Equal(t, results.StatusPassed, doc.Status)
			assert.False(t, checkOK(t, doc)[runner.CheckAutomated])
		})
	})
}

func TestRunKeepOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 1
		h.with(runner.WithKeepOnFailure(true))
		var notices []string
		h.with(runner.WithObserver(func(e runner.Event) {
			if e.Kind == runner.Notice {
				notices = append(notices, e.Message)
			}
		}))
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, func(context.Context, *drills.Env) error {
			return errors.New("exit status 2")
		})}
		h.plan.Teardown = []runner.Step{step("stop", teardown, time.Minute, mustNotRun(t))}
		h.target.outputs = map[string]string{"COMPOSE_PROJECT": "drill-demo-abc-c1"}

		doc := h.run(t.Context())

		c := doc.Cycles[0]
		assert.Equal(t, []string{"workdir", "provision", "deploy", "stop", "destroy"}, names(c))
		assert.Equal(t, []results.Status{"passed", "passed", "failed", "skipped", "skipped"}, statuses(c))
		for _, name := range []string{"stop", "destroy"} {
			s := stepNamed(t, c, name)
			require.NotNil(t, s.Error, name)
			assert.Equal(t, results.ReasonSkipped, s.Error.Reason, name)
			assert.Contains(t, s.Error.Message, "--keep-on-failure", name)
		}
		assert.NotContains(t, h.target.Calls(), "destroy")
		require.NotEmpty(t, c.Workdir)
		assert.DirExists(t, c.Workdir, "the workdir is kept to debug")
		assert.FileExists(t, filepath.Join(c.Workdir, "app.txt"))
		require.Len(t, notices, 1)
		assert.Contains(t, notices[0], c.Workdir)
		assert.Contains(t, notices[0], "drill gc")
		assert.Contains(t, notices[0], "docker compose -p drill-demo-abc-c1 ps", "how to look at a kept compose project")
		assert.Equal(t, results.StatusFailed, doc.Status)
		assert.False(t, checkOK(t, doc)[runner.CheckCleanTeardown])
	})
}

// git runs git in dir with no user or system configuration.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=drill", "-c", "user.email=drill@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func TestRunGitTrackedSource(t *testing.T) {
	testtools.Need(t, "git", "apt-get install git")
	repo := t.TempDir()
	source := filepath.Join(repo, "scenario")
	require.NoError(t, os.MkdirAll(filepath.Join(source, "scripts"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(source, "scripts", "start.sh"), []byte("echo start\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "elsewhere.txt"), []byte("not the source\n"), 0o644))
	git(t, repo, "init", "-q")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "scenario")
	head := git(t, repo, "rev-parse", "HEAD")
	// Built by hand, never committed: a fresh clone would not have it.
	require.NoError(t, os.WriteFile(filepath.Join(source, "hand-built.bin"), []byte("x"), 0o644))

	// drill runs one cycle of the source and returns the document and the
	// workdir's files with their content.
	drill := func(t *testing.T) (doc *results.Run, files map[string]string) {
		t.Helper()
		files = map[string]string{}
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			h.plan.Cycles = 1
			h.plan.Source = source
			h.plan.Steps = []runner.Step{step("list", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
				return filepath.WalkDir(env.Workdir, func(path string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, err := filepath.Rel(env.Workdir, path)
					if err != nil {
						return err
					}
					data, err := os.ReadFile(path)
					files[filepath.ToSlash(rel)] = string(data)
					return err
				})
			})}
			doc = h.run(t.Context())
			require.Equal(t, results.StatusPassed, doc.Status)
		})
		return doc, files
	}

	doc, files := drill(t)
	assert.Equal(t, map[string]string{"scripts/start.sh": "echo start\n"}, files, "tracked files of the source only")
	assert.Equal(t, results.Source{Git: true, Commit: head, Dirty: false}, doc.Source, "an untracked file does not make the source dirty")
	vc := checks(t, doc)[runner.CheckVersionControlled]
	assert.True(t, vc.OK)
	assert.Equal(t, "source committed at "+head[:12], vc.Detail)

	require.NoError(t, os.WriteFile(filepath.Join(source, "scripts", "start.sh"), []byte("echo changed\n"), 0o755))
	doc, files = drill(t)
	assert.Equal(t, map[string]string{"scripts/start.sh": "echo changed\n"}, files, "the work tree is copied as it is")
	assert.Equal(t, results.Source{Git: true, Commit: head, Dirty: true}, doc.Source)
	vc = checks(t, doc)[runner.CheckVersionControlled]
	assert.False(t, vc.OK)
	assert.Equal(t, "the source has uncommitted changes at "+head[:12], vc.Detail)
}

// drill run --timeout ends the whole invocation with a TimeoutError cause:
// the run timed out (exit 1), it was not interrupted by an operator.
func TestRunWholeInvocationTimeoutIsTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		limit := 90 * time.Second
		ctx, cancel := context.WithTimeoutCause(t.Context(), limit, &drills.TimeoutError{What: "drill run (--timeout)", Timeout: limit})
		defer cancel()
		h.plan.Steps = []runner.Step{step("slow", deploy, 10*time.Minute, blocker)}

		doc := h.run(ctx)

		require.Len(t, doc.Cycles, 1)
		assert.Equal(t, results.StatusTimedOut, stepNamed(t, doc.Cycles[0], "slow").Status)
		assert.Equal(t, results.StatusPassed, stepNamed(t, doc.Cycles[0], "destroy").Status, "teardown still ran")
		assert.Equal(t, results.StatusTimedOut, doc.Status)
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonTimeout, doc.Error.Reason)
		assert.Equal(t, "drill run (--timeout) timed out after 1m30s; teardown ran", doc.Error.Message)
	})
}

// --keep-on-failure keeps the failed cycle and provisions nothing more: the
// remaining cycles are recorded as skipped, with the reason.
func TestRunKeepOnFailureStopsAfterTheKeptCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 3
		h.with(runner.WithKeepOnFailure(true))
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, func(context.Context, *drills.Env) error {
			return errors.New("exit status 2")
		})}

		doc := h.run(t.Context())

		require.Len(t, doc.Cycles, 3)
		assert.Equal(t, results.StatusFailed, doc.Cycles[0].Status)
		assert.Equal(t, []string{"preexisting", "provision", "outputs"}, h.target.Calls(), "one target provisioned, none destroyed")
		for _, c := range doc.Cycles[1:] {
			assert.Equal(t, results.StatusSkipped, c.Status, "cycle %d", c.Index)
			assert.Empty(t, c.Steps, "cycle %d", c.Index)
			require.NotNil(t, c.Error, "cycle %d", c.Index)
			assert.Equal(t, results.ReasonSkipped, c.Error.Reason)
			assert.Contains(t, c.Error.Message, "cycle 1 failed and was kept for debugging (--keep-on-failure)")
		}
		assert.Equal(t, results.StatusFailed, doc.Status)
		outstanding, err := resultstore.ReadLedger(h.store.Ledger(doc.Scenario.Name, doc.RunID).Path())
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"c1/workdir", "processes"}, ledgerIDs(outstanding), "drill gc can clean up the kept cycle")
	})
}

// A destroy that fails never deletes the state it could not destroy: the
// workdir holding it stays, its target and workdir stay in the ledger, and
// the run's error says what is left, where, and how to remove it.
func TestRunFailedDestroyKeepsTheStateForGC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 2
		h.target.destroy = func(_ context.Context, env *drills.Env) error {
			if env.Cycle == 1 {
				return errors.New("terraform destroy: provider refused")
			}
			return nil
		}
		h.target.leftovers = nil
		h.plan.Target.Ledger = func(env *drills.Env, _ drills.Target) *resultstore.LedgerEntry {
			return &resultstore.LedgerEntry{Kind: resultstore.LedgerTerraform, Terraform: &resultstore.LedgerTerraformTarget{WorkingDir: filepath.Join(env.Workdir, "infra")}}
		}
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, sleeper(0))}

		doc := h.run(t.Context())

		c1, c2 := doc.Cycles[0], doc.Cycles[1]
		assert.Equal(t, results.StatusFailed, stepNamed(t, c1, "destroy").Status)
		assert.DirExists(t, c1.Workdir, "cycle 1's state is kept")
		assert.NoDirExists(t, c2.Workdir, "cycle 2 destroyed its target: its workdir is gone")
		outstanding, err := resultstore.ReadLedger(h.store.Ledger(doc.Scenario.Name, doc.RunID).Path())
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"c1/target", "c1/workdir", "processes"}, ledgerIDs(outstanding))

		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonTeardownFailed, doc.Error.Reason)
		for _, want := range []string{
			"cycle 1, step destroy: terraform destroy: provider refused",
			"left behind: terraform state in " + filepath.Join(c1.Workdir, "infra"),
			"its workdir " + c1.Workdir + " is kept",
			"`drill gc --results " + h.store.Dir + "` retries the destroy",
		} {
			assert.Contains(t, doc.Error.Message, want)
		}
		assert.False(t, checkOK(t, doc)[runner.CheckCleanTeardown])
	})
}

// When drill cannot write a step's log (the results folder's disk is full,
// here: a file where the logs folder should be), the step's process is not
// disturbed, its output still reaches the tail, and the run records drill's
// environment failing rather than the runbook.
func TestRunUnwritableLogIsAnEnvironmentFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.plan.Cycles = 2
		h.plan.Steps = []runner.Step{
			step("deploy", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
				// Block the logs folder for every later step.
				dir := filepath.Join(env.RunDir, "logs")
				require.NoError(t, os.RemoveAll(dir))
				require.NoError(t, os.WriteFile(dir, nil, 0o644))
				return nil
			}),
			step("fill", deploy, time.Minute, func(_ context.Context, env *drills.Env) error {
				_, _ = io.WriteString(env.Output(), "writing the cache\nno space left on device\n")
				return errors.New("exit status 1")
			}),
		}

		doc := h.run(t.Context())

		require.Len(t, doc.Cycles, 1, "no further cycle once drill cannot record")
		fill := stepNamed(t, doc.Cycles[0], "fill")
		require.NotNil(t, fill.Error)
		assert.Equal(t, results.ReasonResultsUnwritable, fill.Error.Reason)
		assert.Contains(t, fill.Error.Message, "drill could not record this step")
		assert.Contains(t, fill.Error.OutputTail, "no space left on device", "the output still reached the tail")
		assert.Equal(t, results.StatusPassed, stepNamed(t, doc.Cycles[0], "destroy").Status, "teardown still ran")
		require.NotNil(t, doc.Error)
		assert.Equal(t, results.ReasonResultsUnwritable, doc.Error.Reason)
		assert.Contains(t, doc.Error.Message, "drill could not write its evidence into the results folder "+h.store.Dir)
	})
}

// exportingTarget is a target that exports logs after a failure, as kind
// does: files drill did not write itself.
type exportingTarget struct {
	*fakeTarget
	content string
}

func (e exportingTarget) ExportLogs(_ context.Context, _ *drills.Env, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "node"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "node", "kubelet.log"), []byte(e.content), 0o644)
}

// A target's exported logs pass through the redactor like drill's own logs.
func TestRunExportedTargetLogsAreRedacted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const secret = "kubelet-s3cr3t-token"
		h := newHarness(t)
		h.plan.Cycles = 1
		h.plan.Secrets = []string{secret}
		target := exportingTarget{fakeTarget: h.target, content: strings.Repeat("x", 70000) + " pulling with " + secret + "\nline two " + secret}
		h.plan.Target.New = func(*drills.Env) (drills.Target, error) { return target, nil }
		h.plan.Steps = []runner.Step{step("deploy", deploy, time.Minute, func(context.Context, *drills.Env) error { return errors.New("exit status 1") })}

		doc := h.run(t.Context())

		deployed := stepNamed(t, doc.Cycles[0], "deploy")
		require.NotEmpty(t, deployed.Evidence)
		dir, err := h.store.Resolve(deployed.Evidence)
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(dir, "node", "kubelet.log"))
		require.NoError(t, err)
		assert.NotContains(t, string(data), secret)
		assert.Contains(t, string(data), "pulling with ***\nline two ***")
	})
}

// daemonDrill is a one-cycle plan whose deploy step starts a daemon (bash
// in the background, its pid in daemon.pid, carrying the run's
// DRILL_RUN_ID) with onTERM as its SIGTERM trap, and whose teardown stops
// it the way runbooks do: `kill "$(cat daemon.pid)"`, which returns as soon
// as the signal is sent. It returns the harness and the daemon's pid, known
// once the run is over.
func daemonDrill(t *testing.T, onTERM string) (h *harness, daemon func() int) {
	t.Helper()
	testtools.Need(t, "bash", "the process sweep is tested with real bash daemons")
	h = newHarness(t)
	h.plan.Cycles = 1
	h.plan.Steps = []runner.Step{{Name: "start", Kind: "run", Phase: deploy, Timeout: time.Minute, Action: run.New(`
		bash -c 'trap "` + onTERM + `" TERM
			echo $$ > daemon.pid.new && mv daemon.pid.new daemon.pid
			while :; do sleep 0.05; done' >/dev/null 2>&1 </dev/null &
		while [ ! -s daemon.pid ]; do sleep 0.01; done`)}}
	pid := 0
	h.plan.Teardown = []runner.Step{
		// The workdir is removed after the cycle: read the pid now.
		step("read-pid", teardown, time.Minute, func(_ context.Context, env *drills.Env) error {
			data, err := os.ReadFile(filepath.Join(env.Workdir, "daemon.pid"))
			if err != nil {
				return err
			}
			if pid, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
				return err
			}
			t.Cleanup(func() {
				if procs.Alive(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			return nil
		}),
		{Name: "stop", Kind: "run", Phase: teardown, Timeout: time.Minute, Action: run.New(`kill "$(cat daemon.pid)"`)},
	}
	return h, func() int {
		require.NotZero(t, pid, "the teardown read the daemon's pid")
		return pid
	}
}

// A teardown that SIGTERMs a daemon returns before the daemon has exited;
// the daemon is not left behind, it is being stopped, and clean-teardown
// holds.
func TestRunTeardownStoppingADaemonIsCleanTeardown(t *testing.T) {
	t.Parallel()
	h, daemon := daemonDrill(t, "sleep 0.3; exit 0")

	doc := h.run(t.Context())

	pid := daemon()
	assert.Equal(t, results.StatusPassed, doc.Status, "%+v", doc.Error)
	clean := checks(t, doc)[runner.CheckCleanTeardown]
	assert.True(t, clean.OK, clean.Detail)
	assert.Equal(t, results.StatusPassed, stepNamed(t, doc.Cycles[0], "stop").Status)
	assert.False(t, procs.Alive(pid), "the daemon exited on its own SIGTERM")
}

// A daemon that ignores the teardown's SIGTERM is left behind: drill names
// it, fails clean-teardown and stops it.
func TestRunTeardownLeavingADaemonFailsCleanTeardown(t *testing.T) {
	t.Parallel()
	h, daemon := daemonDrill(t, "")

	doc := h.run(t.Context())

	pid := daemon()
	assert.Equal(t, results.StatusPassed, stepNamed(t, doc.Cycles[0], "stop").Status, "kill itself succeeds")
	clean := checks(t, doc)[runner.CheckCleanTeardown]
	assert.False(t, clean.OK)
	assert.Contains(t, clean.Detail, "cycle 1: processes still running after teardown (stopped by drill)")
	assert.Contains(t, clean.Detail, fmt.Sprintf("bash (pid %d)", pid), "the daemon is named")
	assert.False(t, procs.Alive(pid), "drill stopped it")
}
