// Package histgen generates results histories with known answers: run
// documents shaped like the runner's (cycles of provision, deploy, verify,
// teardown and destroy steps, guideline checks, step logs), for the tests
// of report and serve and for the 100,000-run benchmark.
package histgen

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/redeploy-drill/drill/internal/jsonindent"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// Outcome is what one generated run did.
type Outcome struct {
	Status results.Status
	// Holds is the guideline verdict; the failing check is Failing
	// ("repeatable" when empty and the run did not pass).
	Holds   bool
	Failing string
	// DurationMs is the drill's duration; steps share it.
	DurationMs int64
	// Flaky makes the first deploy step pass on its second attempt.
	Flaky bool
	// FailStep is the step that failed (the last deploy step when empty
	// and Status is not passed), with Message as its error message.
	FailStep string
	Message  string
}

// Scenario describes one scenario's generated history.
type Scenario struct {
	Name  string
	Owner string
	// Runs is the number of runs, started Every apart, the newest at Newest.
	Runs   int
	Every  time.Duration
	Newest time.Time
	// Freshness and Budget are recorded in every run (spec.freshness,
	// spec.budget); zero leaves them out.
	Freshness time.Duration
	Budget    time.Duration
	// Cycles per run (default 2).
	Cycles int
	// Outcome decides run i (0 is the oldest); nil makes every run pass in
	// 60 s with the guideline holding.
	Outcome func(i int) Outcome
}

// Options tunes Generate.
type Options struct {
	// Fast writes the documents with plain writes (no fsync, no index
	// updates) and then rebuilds index.json and history.jsonl from them
	// with Store.RebuildIndex, instead of finishing every run through
	// Store.FinishRun. Use it for large histories.
	Fast bool
	// Logs is the number of newest runs per scenario whose step logs are
	// written (the documents always point at them).
	Logs int
}

// stepPlan is the shape of every generated cycle.
var stepPlan = []struct {
	name, phase, kind string
	share             int64 // per mille of the cycle's duration
}{
	{"provision", results.PhaseProvision, "terraform", 250},
	{"build", results.PhaseDeploy, "run", 300},
	{"start", results.PhaseDeploy, "run", 150},
	{"healthy", results.PhaseVerify, "http", 100},
	{"stop", results.PhaseTeardown, "run", 50},
	{"destroy", results.PhaseDestroy, "terraform", 150},
}

// Generate writes the runs of scenarios into store.
func Generate(store *resultstore.Store, scenarios []Scenario, opts Options) error {
	for _, sc := range scenarios {
		for i := range sc.Runs {
			r := Run(sc, i)
			if opts.Logs > 0 && i >= sc.Runs-opts.Logs {
				if err := writeLogs(store, r); err != nil {
					return err
				}
			}
			var err error
			if opts.Fast {
				err = writeFast(store, r)
			} else {
				err = store.FinishRun(r)
			}
			if err != nil {
				return fmt.Errorf("generate %s run %d: %w", sc.Name, i, err)
			}
		}
	}
	if opts.Fast {
		if _, _, err := store.RebuildIndex(); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	return nil
}

// Run returns run i of sc as the runner would have recorded it.
func Run(sc Scenario, i int) *results.Run {
	out := Outcome{Status: results.StatusPassed, Holds: true, DurationMs: 60_000}
	if sc.Outcome != nil {
		out = sc.Outcome(i)
	}
	if out.Status == "" {
		out.Status = results.StatusPassed
	}
	if out.DurationMs <= 0 {
		out.DurationMs = 60_000
	}
	cycles := sc.Cycles
	if cycles <= 0 {
		cycles = 2
	}
	start := sc.Newest.Add(-time.Duration(sc.Runs-1-i) * sc.Every).UTC().Truncate(time.Millisecond)
	id := fmt.Sprintf("%s-%06x", start.Format("20060102T150405Z"), i)
	store := resultstore.Open(".")
	r := &results.Run{
		APIVersion: results.APIVersion,
		Kind:       results.KindRun,
		RunID:      id,
		Scenario: results.ScenarioRef{
			Name: sc.Name, File: "scenarios/" + sc.Name + ".yaml", Owner: sc.Owner,
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		},
		Source:      results.Source{Commit: "0123456789abcdef0123456789abcdef01234567", Git: true},
		Trigger:     "schedule",
		Host:        results.Host{Name: "ci-runner-1", OS: "linux", Arch: "amd64"},
		Tools:       map[string]string{"drill": "v0.1.0", "terraform": "1.11.4"},
		Status:      out.Status,
		StartedAt:   start,
		DurationMs:  out.DurationMs,
		BudgetMs:    sc.Budget.Milliseconds(),
		FreshnessMs: sc.Freshness.Milliseconds(),
	}
	failStep := out.FailStep
	if out.Status != results.StatusPassed && failStep == "" {
		failStep = "start"
	}
	cycleMs := out.DurationMs / int64(cycles)
	t := start
	failed := false
	for c := 1; c <= cycles; c++ {
		cy := results.Cycle{Index: c, Status: results.StatusPassed, StartedAt: t}
		for k, p := range stepPlan {
			d := time.Duration(cycleMs*p.share/1000) * time.Millisecond
			st := results.Step{
				Name: p.name, Kind: p.kind, Phase: p.phase, Owner: sc.Owner,
				Status: results.StatusPassed, DurationMs: d.Milliseconds(), TimeoutMs: 600_000, Attempts: 1,
				Log: store.Rel(store.LogPath(sc.Name, id, c, k, p.name)),
			}
			begin, end := t, t.Add(d)
			st.StartedAt, st.FinishedAt = &begin, &end
			switch {
			case failed && p.phase != results.PhaseTeardown && p.phase != results.PhaseDestroy:
				st.Status, st.DurationMs, st.StartedAt, st.FinishedAt, st.Attempts = results.StatusSkipped, 0, nil, nil, 0
				d = 0
			case c == cycles && p.name == failStep:
				st.Status = out.Status
				msg := out.Message
				if msg == "" {
					msg = "exit status 1"
				}
				reason := results.ReasonStepFailed
				if out.Status == results.StatusTimedOut {
					reason = results.ReasonTimeout
				}
				st.Error = &results.Error{Reason: reason, Message: msg, OutputTail: "+ ./scripts/" + p.name + ".sh\n" + msg}
				cy.Status = out.Status
				failed = true
			case out.Flaky && k == 1:
				st.Attempts, st.Flaky = 2, true
			}
			switch p.phase {
			case results.PhaseProvision:
				cy.Phases.ProvisionMs += st.DurationMs
			case results.PhaseDeploy:
				cy.Phases.DeployMs += st.DurationMs
			case results.PhaseVerify:
				cy.Phases.VerifyMs += st.DurationMs
			default:
				cy.Phases.TeardownMs += st.DurationMs
			}
			cy.Steps = append(cy.Steps, st)
			t = t.Add(d)
		}
		end := t
		cy.FinishedAt = &end
		cy.DurationMs = t.Sub(cy.StartedAt).Milliseconds()
		r.Cycles = append(r.Cycles, cy)
	}
	finished := start.Add(time.Duration(out.DurationMs) * time.Millisecond)
	r.FinishedAt = &finished

	checks := []results.Check{
		{Name: "automated", OK: true}, {Name: "from-scratch", OK: true}, {Name: "repeatable", OK: true},
		{Name: "idempotent", OK: true}, {Name: "clean-teardown", OK: true}, {Name: "within-budget", OK: true},
		{Name: "not-flaky", OK: true}, {Name: "version-controlled", OK: true},
	}
	failing := out.Failing
	if failing == "" && out.Flaky {
		failing = "not-flaky"
	}
	if failing == "" && !out.Holds {
		failing = "repeatable"
	}
	if !out.Holds {
		for k := range checks {
			if checks[k].Name == failing {
				checks[k].OK = false
				checks[k].Detail = failing + " does not hold in run " + id
			}
		}
	}
	r.Guideline = &results.Guideline{Holds: out.Holds, Checks: checks}
	if out.Status != results.StatusPassed {
		r.Error = &results.Error{Reason: results.ReasonStepFailed, Message: fmt.Sprintf("step %s failed in cycle %d: %s", failStep, cycles, out.Message)}
		if out.Status == results.StatusTimedOut {
			r.Error.Reason = results.ReasonTimeout
		}
	}
	return r
}

// writeFast writes r's document without fsync, as the runner would have
// written it (indented, times in UTC).
func writeFast(store *resultstore.Store, r *results.Run) error {
	data, err := jsonindent.Marshal(r)
	if err != nil {
		return err
	}
	path := store.RunPath(r.Scenario.Name, r.RunID)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, append(data, '\n'), 0o644)
	}
	return nil
}

// writeLogs writes a short log for each step of r that ran.
func writeLogs(store *resultstore.Store, r *results.Run) error {
	for _, c := range r.Cycles {
		for _, st := range c.Steps {
			if st.Status == results.StatusSkipped || st.Log == "" {
				continue
			}
			path, err := store.Resolve(st.Log)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			text := fmt.Sprintf("== %s (cycle %d) ==\n+ ./scripts/%s.sh\nok\n", st.Name, c.Index, st.Name)
			if st.Error != nil {
				text += st.Error.OutputTail + "\n"
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Known returns five scenarios whose verdicts at now are known, for tests
// of everything that judges a history:
//
//	web-holds     holds: passes every 6 hours, newest 1 hour ago, 60 s of a 5 min budget
//	db-stale      stale: passed and holds, but newest 30 hours ago (freshness 24 h)
//	queue-flaky   broken: every other run needed a retry, the newest too
//	              (flaky rate 0.5, check not-flaky fails)
//	api-slower    holds and slower: the newest took 120 s, the median 60 s
//	cache-broken  broken: the newest failed, its message full of HTML
//
// Owners: platform (web-holds, queue-flaky, api-slower), data (db-stale,
// cache-broken).
func Known(now time.Time) []Scenario {
	pass := func(ms int64) Outcome {
		return Outcome{Status: results.StatusPassed, Holds: true, DurationMs: ms}
	}
	return []Scenario{
		{Name: "web-holds", Owner: "platform", Runs: 30, Every: 6 * time.Hour, Newest: now.Add(-time.Hour),
			Freshness: 24 * time.Hour, Budget: 5 * time.Minute,
			Outcome: func(i int) Outcome { return pass(int64(58_000 + 100*(i%7))) }},
		{Name: "db-stale", Owner: "data", Runs: 10, Every: 24 * time.Hour, Newest: now.Add(-30 * time.Hour),
			Freshness: 24 * time.Hour,
			Outcome:   func(i int) Outcome { return pass(40_000) }},
		{Name: "queue-flaky", Owner: "platform", Runs: 20, Every: 2 * time.Hour, Newest: now.Add(-30 * time.Minute),
			Freshness: 24 * time.Hour, Budget: 5 * time.Minute,
			Outcome: func(i int) Outcome {
				o := pass(50_000)
				if i%2 == 1 {
					o.Flaky, o.Holds = true, false
				}
				return o
			}},
		{Name: "api-slower", Owner: "platform", Runs: 21, Every: 3 * time.Hour, Newest: now.Add(-time.Hour),
			Freshness: 24 * time.Hour, Budget: 5 * time.Minute,
			Outcome: func(i int) Outcome {
				if i == 20 {
					return pass(120_000)
				}
				return pass(60_000)
			}},
		{Name: "cache-broken", Owner: "data", Runs: 5, Every: 4 * time.Hour, Newest: now.Add(-2 * time.Hour),
			Freshness: 24 * time.Hour,
			Outcome: func(i int) Outcome {
				if i == 4 {
					return Outcome{Status: results.StatusFailed, DurationMs: 20_000, FailStep: "healthy",
						Message: `<script>alert("owned")</script> & "quotes" | pipes`}
				}
				return pass(30_000)
			}},
	}
}

// KnownVerdicts are the verdicts of Known's scenarios.
var KnownVerdicts = map[string]results.Verdict{
	"web-holds":    results.VerdictHolds,
	"db-stale":     results.VerdictStale,
	"queue-flaky":  results.VerdictBroken,
	"api-slower":   results.VerdictHolds,
	"cache-broken": results.VerdictBroken,
}

// known caches the Known history of one test process: generating it through
// Store.FinishRun takes a while, copying it does not.
var known struct {
	sync.Mutex
	now time.Time
	dir string
}

// CopyKnown writes a private copy of the Known history at now into dst (a
// results folder that does not exist yet). The history is generated once
// per process; RemoveKnown deletes that cache at the end of the tests.
func CopyKnown(dst string, now time.Time) (*resultstore.Store, error) {
	known.Lock()
	defer known.Unlock()
	if known.dir == "" || !known.now.Equal(now) {
		dir, err := os.MkdirTemp("", "drill-known-history-")
		if err != nil {
			return nil, err
		}
		if err := Generate(resultstore.Open(dir), Known(now), Options{Logs: 2}); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if known.dir != "" {
			os.RemoveAll(known.dir)
		}
		known.dir, known.now = dir, now
	}
	if err := os.CopyFS(dst, os.DirFS(known.dir)); err != nil {
		return nil, err
	}
	return resultstore.Open(dst), nil
}

// RemoveKnown deletes the cached Known history, if any (call it from TestMain).
func RemoveKnown() {
	known.Lock()
	defer known.Unlock()
	if known.dir != "" {
		os.RemoveAll(known.dir)
		known.dir = ""
	}
}

// WriteRunning writes the document of a run of scenario still under way, as
// the runner writes it when a drill starts: status running, started at
// start, by pid on host. A test makes it aborted with the pid of a process
// that is gone and host = os.Hostname(), or alive with its own pid.
func WriteRunning(store *resultstore.Store, scenario, owner string, start time.Time, pid int, host string) (*results.Run, error) {
	start = start.UTC().Truncate(time.Millisecond)
	r := &results.Run{
		APIVersion:  results.APIVersion,
		Kind:        results.KindRun,
		RunID:       resultstore.NewRunID(start),
		Scenario:    results.ScenarioRef{Name: scenario, File: "scenarios/" + scenario + ".yaml", Owner: owner},
		Trigger:     "schedule",
		Host:        results.Host{Name: host, OS: "linux", Arch: "amd64"},
		Status:      results.StatusRunning,
		StartedAt:   start,
		FreshnessMs: (24 * time.Hour).Milliseconds(),
		Pid:         pid,
		Cycles:      []results.Cycle{{Index: 1, Status: results.StatusRunning, StartedAt: start, Steps: []results.Step{}}},
	}
	if err := store.WriteRun(r); err != nil {
		return nil, err
	}
	return r, nil
}

// DeadPid returns the pid of a process that has exited and been reaped:
// a drill killed with -9, for the liveness checks.
func DeadPid() (int, error) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return cmd.ProcessState.Pid(), nil
}
