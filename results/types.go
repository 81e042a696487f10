// Package results is drill's wire format: the versioned result documents
// (DrillRun, DrillIndex) and their schemas, reading them, and the summary
// drill status judges a scenario by. It imports only the standard library,
// so dashboards and other tools can import it; writing the results folder
// is drill's internal/resultstore.
package results

import "time"

// APIVersion is the version of every document drill writes.
const APIVersion = "drill/v1"

// Document kinds.
const (
	KindRun   = "DrillRun"
	KindIndex = "DrillIndex"
)

// Status of a run, cycle or step.
type Status string

const (
	StatusRunning  Status = "running"
	StatusPassed   Status = "passed"
	StatusFailed   Status = "failed"
	StatusTimedOut Status = "timedOut"
	StatusCanceled Status = "canceled"
	StatusSkipped  Status = "skipped"
)

// Finished reports whether s is a final status.
func (s Status) Finished() bool { return s != StatusRunning && s != "" }

// Reason is the closed set of error reasons dashboards branch on.
type Reason string

const (
	ReasonStepFailed      Reason = "StepFailed"
	ReasonTimeout         Reason = "Timeout"
	ReasonCanceled        Reason = "Canceled"
	ReasonToolMissing     Reason = "ToolMissing"
	ReasonTeardownFailed  Reason = "TeardownFailed"
	ReasonInvalidScenario Reason = "InvalidScenario"
	ReasonNotAutomated    Reason = "NotAutomated"
	ReasonNotIdempotent   Reason = "NotIdempotent"
	ReasonLeftovers       Reason = "Leftovers"
	ReasonBudgetExceeded  Reason = "BudgetExceeded"
	ReasonSkipped         Reason = "Skipped"
	ReasonAborted         Reason = "Aborted"
	// ReasonResultsUnwritable means drill could not write its own evidence
	// (a step log, the run document): a full disk, a quota, a read-only or
	// failing file system. It is the environment's failure (exit 3), not
	// the runbook's.
	ReasonResultsUnwritable Reason = "ResultsUnwritable"
	// ReasonClusterUnreachable means the existing cluster a scenario names
	// cannot be used: its kubeconfig does not exist, the context is not in
	// it, or the API server does not answer. Nothing was created; like
	// ToolMissing it is the environment's failure (exit 3).
	ReasonClusterUnreachable Reason = "ClusterUnreachable"
	// ReasonSourceUnreachable means the repository of a git source could
	// not be reached (its host not found, the connection refused or timed
	// out): the environment's failure (exit 3), as a retry elsewhere or
	// later may pass. A repository that answers but refuses (no such ref,
	// no such repository, bad credentials) is the scenario's: StepFailed.
	ReasonSourceUnreachable Reason = "SourceUnreachable"
)

// Phases of a step.
const (
	PhaseProvision = "provision"
	PhaseDeploy    = "deploy"
	PhaseVerify    = "verify"
	PhaseTeardown  = "teardown"
	PhaseDestroy   = "destroy"
)

// Run is a DrillRun document: one execution of a scenario.
type Run struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	RunID      string            `json:"runId"`
	Scenario   ScenarioRef       `json:"scenario"`
	Source     Source            `json:"source"`
	Trigger    string            `json:"trigger"`
	Host       Host              `json:"host"`
	Tools      map[string]string `json:"tools"`
	Status     Status            `json:"status"`
	StartedAt  time.Time         `json:"startedAt"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
	DurationMs int64             `json:"durationMs"`
	BudgetMs   int64             `json:"budgetMs,omitempty"`
	// FreshnessMs is spec.freshness, kept so status can judge a scenario from
	// its results alone.
	FreshnessMs int64      `json:"freshnessMs,omitempty"`
	Pid         int        `json:"pid,omitempty"`
	Cycles      []Cycle    `json:"cycles"`
	Guideline   *Guideline `json:"guideline,omitempty"`
	Error       *Error     `json:"error,omitempty"`
	// Warnings tell a reader what the document cannot vouch for although
	// the drill itself went as recorded, such as step logs lost because the
	// results folder was removed during the run.
	Warnings []string `json:"warnings,omitempty"`
}

// ScenarioRef identifies the scenario a run executed.
type ScenarioRef struct {
	Name   string            `json:"name"`
	File   string            `json:"file"`
	Owner  string            `json:"owner,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	SHA256 string            `json:"sha256"`
}

// Source is the version-control state of the scenario's source folder.
type Source struct {
	Commit string `json:"commit,omitempty"`
	Dirty  bool   `json:"dirty"`
	// Git is false when the source is not inside a git repository.
	Git bool `json:"git"`
	// URL, Ref and Path are set for a source each cycle clones
	// (spec.source.git): the repository as written, a token in its user
	// part replaced by ***, the ref as written ("" for the default
	// branch), and the folder of the clone the steps ran in. Commit is then
	// the commit every cycle checked out, resolved by the first.
	URL  string `json:"url,omitempty"`
	Ref  string `json:"ref,omitempty"`
	Path string `json:"path,omitempty"`
}

// Host is the machine a run executed on.
type Host struct {
	Name string `json:"name"`
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// Cycle is one from-scratch pass of a drill.
type Cycle struct {
	Index      int        `json:"index"`
	Status     Status     `json:"status"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	DurationMs int64      `json:"durationMs"`
	Phases     Phases     `json:"phases"`
	Workdir    string     `json:"workdir,omitempty"`
	Steps      []Step     `json:"steps"`
	// Error says why a cycle did not run (status skipped), when it is not
	// the error of one of its steps.
	Error *Error `json:"error,omitempty"`
}

// Phases sums step durations per phase. Destroy counts as teardown.
type Phases struct {
	ProvisionMs int64 `json:"provisionMs"`
	DeployMs    int64 `json:"deployMs"`
	VerifyMs    int64 `json:"verifyMs"`
	TeardownMs  int64 `json:"teardownMs"`
}

// Step is one step of a cycle, including the target's provision and destroy.
type Step struct {
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	Phase      string     `json:"phase"`
	Owner      string     `json:"owner,omitempty"`
	Status     Status     `json:"status"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	DurationMs int64      `json:"durationMs"`
	TimeoutMs  int64      `json:"timeoutMs,omitempty"`
	Attempts   int        `json:"attempts"`
	// Flaky is true when the step passed only after a retry.
	Flaky bool `json:"flaky,omitempty"`
	// Manual is true for a step that needed an operator; WaitedMs is how long
	// drill waited for the confirmation.
	Manual   bool   `json:"manual,omitempty"`
	WaitedMs int64  `json:"waitedMs,omitempty"`
	Log      string `json:"log,omitempty"`
	// Evidence is a path (relative to the results folder) to extra material a
	// failing step left, such as exported cluster logs.
	Evidence string `json:"evidence,omitempty"`
	Error    *Error `json:"error,omitempty"`
}

// Error explains why a run, cycle or step did not pass.
type Error struct {
	Reason     Reason `json:"reason"`
	Message    string `json:"message"`
	OutputTail string `json:"outputTail,omitempty"`
}

// Guideline is the verdict on "automate, and regularly check that we can
// successfully redeploy by following scripts".
type Guideline struct {
	Holds  bool    `json:"holds"`
	Checks []Check `json:"checks"`
}

// Check is one guideline check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Failing returns the checks that are not ok.
func (g *Guideline) Failing() []Check {
	if g == nil {
		return nil
	}
	var out []Check
	for _, c := range g.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Index is the DrillIndex document: the newest run of every scenario.
type Index struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	UpdatedAt  time.Time    `json:"updatedAt"`
	Scenarios  []IndexEntry `json:"scenarios"`
}

// IndexEntry summarizes one scenario's history for dashboards.
type IndexEntry struct {
	Name        string    `json:"name"`
	File        string    `json:"file,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	LatestRunID string    `json:"latestRunId"`
	Status      Status    `json:"status"`
	Holds       bool      `json:"holds"`
	StartedAt   time.Time `json:"startedAt"`
	DurationMs  int64     `json:"durationMs"`
	FreshnessMs int64     `json:"freshnessMs,omitempty"`
	// LastSuccess is the start of the newest run that passed with the guideline holding.
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	Run         string     `json:"run"` // path of the run document, relative to the results folder
}
