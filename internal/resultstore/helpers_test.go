package resultstore

import (
	"fmt"
	"time"

	"github.com/redeploy-drill/drill/internal/resultstest"
	. "github.com/redeploy-drill/drill/results"
)

// The shared fixtures, under the names these tests have always used.
var (
	testStart  = resultstest.Start
	testRunID  = resultstest.RunID
	simpleRun  = resultstest.SimpleRun
	summaryNow = resultstest.Now
)

func ptr[T any](v T) *T { return &v }

// fullRun is a run with every field of the document filled, as the runner
// writes it at the end of a drill: cycles × steps steps, the first step of
// the last cycle retried, a failing guideline check and a run error.
func fullRun(scenario string, start time.Time, n, cycles, steps int) *Run {
	s := Open("/results")
	id := testRunID(start, n)
	r := &Run{
		APIVersion:  APIVersion,
		Kind:        KindRun,
		RunID:       id,
		Scenario:    ScenarioRef{Name: scenario, File: "scenarios/" + scenario + ".yaml", Owner: "platform", Labels: map[string]string{"tier": "demo"}, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		Source:      Source{Commit: "abc123", Dirty: true, Git: true},
		Trigger:     "ci",
		Host:        Host{Name: "runner-1", OS: "linux", Arch: "amd64"},
		Tools:       map[string]string{"drill": "v0.1.0", "terraform": "1.11.4", "kind": "v0.33.0"},
		Status:      StatusFailed,
		StartedAt:   start,
		BudgetMs:    300_000,
		FreshnessMs: int64(24 * time.Hour / time.Millisecond),
		Pid:         4242,
		Guideline: &Guideline{Holds: false, Checks: []Check{
			{Name: "automated", OK: true},
			{Name: "not-flaky", OK: false, Detail: "step build needed 2 attempts"},
			{Name: "version-controlled", OK: false, Detail: "local changes"},
		}},
		Error: &Error{Reason: ReasonStepFailed, Message: "step healthy failed in cycle 2", OutputTail: "curl: (7) connection refused"},
	}
	t := start
	for c := 1; c <= cycles; c++ {
		cy := Cycle{Index: c, Status: StatusPassed, StartedAt: t, Workdir: fmt.Sprintf("/tmp/drill-%d", c)}
		for i := range steps {
			name, phase, kind := fmt.Sprintf("step-%02d", i), PhaseDeploy, "run"
			switch {
			case i == 0:
				name, phase, kind = "provision", PhaseProvision, "terraform"
			case i == steps-1:
				name, phase, kind = "destroy", PhaseDestroy, "terraform"
			case i == steps-2:
				phase = PhaseTeardown
			case i%3 == 0:
				phase, kind = PhaseVerify, "http"
			}
			d := time.Duration(100+10*i) * time.Millisecond
			st := Step{
				Name: name, Kind: kind, Phase: phase, Owner: "platform", Status: StatusPassed,
				StartedAt: ptr(t), FinishedAt: ptr(t.Add(d)), DurationMs: d.Milliseconds(),
				TimeoutMs: 600_000, Attempts: 1,
				Log: s.Rel(s.LogPath(scenario, id, c, i, name)),
			}
			if c == cycles && i == 1 {
				st.Attempts, st.Flaky = 2, true
			}
			if c == cycles && i == steps-3 {
				st.Status = StatusFailed
				st.Evidence = s.Rel(s.RunDir(scenario, id)) + "/evidence/kind-logs"
				st.Error = &Error{Reason: ReasonStepFailed, Message: "exit status 1", OutputTail: "boom"}
				cy.Status = StatusFailed
			}
			if i == 2 {
				st.Manual, st.WaitedMs = true, 1500
			}
			switch phase {
			case PhaseProvision:
				cy.Phases.ProvisionMs += st.DurationMs
			case PhaseDeploy:
				cy.Phases.DeployMs += st.DurationMs
			case PhaseVerify:
				cy.Phases.VerifyMs += st.DurationMs
			default:
				cy.Phases.TeardownMs += st.DurationMs
			}
			cy.Steps = append(cy.Steps, st)
			t = t.Add(d)
		}
		cy.FinishedAt = ptr(t)
		cy.DurationMs = t.Sub(cy.StartedAt).Milliseconds()
		r.Cycles = append(r.Cycles, cy)
	}
	r.FinishedAt = ptr(t)
	r.DurationMs = t.Sub(start).Milliseconds()
	return r
}
